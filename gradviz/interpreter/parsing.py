"""Parse a program and check it statically before any of it runs.

``ast.parse`` only builds the tree; nothing is compiled or executed. The checks here refuse
what can be seen without running: unsupported statements, internal names, imports of other
modules, and trees nested too deeply for the evaluator to walk safely.
"""

from __future__ import annotations

import ast

from gradviz.errors import GradvizError, LimitExceeded, ProgramSyntaxError, RefusedError
from gradviz.interpreter import policy
from gradviz.limits import Limits

_REFUSED: dict[type[ast.AST], str] = {
    ast.ClassDef: "class definitions are not supported: build models with nn.Sequential "
    "(or nn.ModuleList / nn.ModuleDict) and functions instead",
    ast.AsyncFunctionDef: "async functions are not supported",
    ast.AsyncFor: "async loops are not supported",
    ast.AsyncWith: "async with is not supported",
    ast.Await: "await is not supported",
    ast.Yield: "generators (yield) are not supported: build a list and return it",
    ast.YieldFrom: "generators (yield from) are not supported: build a list and return it",
    ast.Global: "'global' is not supported: pass values as arguments and return results",
    ast.Nonlocal: "'nonlocal' is not supported: pass values as arguments and return results",
    ast.Match: "match statements are not supported: use if/elif",
    ast.TryStar: "except* is not supported",
}
_LOOPS = (ast.For, ast.While)
_FUNCTIONS = (ast.FunctionDef, ast.Lambda)
_Place = tuple[int, int]


def parse_program(source: str, limits: Limits) -> ast.Module:
    """Parse ``source`` and run the static checks; the tree is safe to hand to the evaluator.

    Raises:
        ProgramSyntaxError: The text is not valid Python.
        RefusedError: It uses something gradviz does not run.
        LimitExceeded: It is too long or nests too deeply.
    """
    if len(source) > limits.max_source_chars:
        raise LimitExceeded(
            f"the program has {len(source)} characters, more than {limits.max_source_chars} "
            "(limit max_source_chars)",
            1,
            1,
        )
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as e:
        line, col = e.lineno or 1, e.offset or 1
        if "too many nested" in (e.msg or ""):
            raise LimitExceeded(_too_deep(limits), line, col) from None
        raise ProgramSyntaxError(f"{type(e).__name__}: {e.msg}", line, col) from None
    except (RecursionError, MemoryError):
        raise LimitExceeded(_too_deep(limits), 1, 1) from None
    except ValueError as e:  # e.g. null bytes on older Pythons
        raise ProgramSyntaxError(f"SyntaxError: {e}", 1, 1) from None
    _check(tree, limits)
    return tree


def _too_deep(limits: Limits) -> str:
    return f"the program nests deeper than {limits.max_nesting} levels (limit max_nesting)"


def _check(tree: ast.Module, limits: Limits) -> None:
    """Walk the tree with an explicit stack (no recursion), checking every node."""
    stack: list[tuple[ast.AST, int, bool, bool, _Place]] = [(tree, 0, False, False, (1, 1))]
    while stack:
        node, depth, in_loop, in_func, place = stack.pop()
        if isinstance(node, (ast.stmt, ast.expr, ast.excepthandler, ast.arg, ast.keyword)):
            place = (node.lineno, node.col_offset + 1)
        if depth > limits.max_nesting:
            raise LimitExceeded(_too_deep(limits), *place)
        try:
            _check_node(node, in_loop, in_func, place, limits)
        except GradvizError as e:
            raise e.located(*place) from None
        children = []
        for field, value in ast.iter_fields(node):
            loop, func = _context(node, field, in_loop, in_func)
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    children.append((child, depth + 1, loop, func, place))
        stack.extend(reversed(children))  # so that problems are found in source order


def _context(node: ast.AST, field: str, in_loop: bool, in_func: bool) -> tuple[bool, bool]:
    """Whether the children in ``field`` are inside a loop body / a function body."""
    if isinstance(node, _FUNCTIONS) and field == "body":
        return False, True
    if isinstance(node, _LOOPS) and field == "body":
        return True, in_func
    return in_loop, in_func


def _check_node(node: ast.AST, in_loop: bool, in_func: bool, place: _Place, limits: Limits) -> None:
    refused = _REFUSED.get(type(node))
    if refused is not None:
        raise RefusedError(refused, *place)
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise RefusedError(policy.underscore_message(node.attr), *place)
    if isinstance(node, ast.Name):
        _check_name(node.id, place)
    elif isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
        word = "break" if isinstance(node, ast.Break) else "continue"
        raise ProgramSyntaxError(f"SyntaxError: '{word}' outside loop", *place)
    elif isinstance(node, ast.Return) and not in_func:
        raise ProgramSyntaxError("SyntaxError: 'return' outside function", *place)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        _check_import(node, place)
    elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
        _check_arguments(node.args, place)
        if isinstance(node, ast.FunctionDef):
            _check_name(node.name, place)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        _check_name(node.name, place)
    elif isinstance(node, ast.keyword) and node.arg:
        _check_name(node.arg, place)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        if node.value.bit_length() > limits.max_int_bits:
            raise LimitExceeded(
                f"the integer literal has {node.value.bit_length()} bits, more than "
                f"{limits.max_int_bits} (limit max_int_bits)",
                *place,
            )


def _check_name(name: str, place: _Place) -> None:
    if name.startswith("__"):
        raise RefusedError(
            f"name '{name}' is not available: names starting with '__' are internal", *place
        )


def _check_arguments(args: ast.arguments, place: _Place) -> None:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    seen: set[str] = set()
    for a in every:
        _check_name(a.arg, (a.lineno, a.col_offset + 1))
        if a.arg in seen:
            raise ProgramSyntaxError(
                f"SyntaxError: duplicate argument '{a.arg}' in function definition",
                a.lineno,
                a.col_offset + 1,
            )
        seen.add(a.arg)


def _check_import(node: ast.Import | ast.ImportFrom, place: _Place) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            policy.check_import(alias.name)
            if alias.asname:
                _check_name(alias.asname, place)
        return
    if node.level:
        raise RefusedError("relative imports are not allowed", *place)
    module = node.module or ""
    policy.check_import(module)
    for alias in node.names:
        if alias.name == "*":
            raise RefusedError(f"'from {module} import *' is not allowed: import the names you use")
        policy.check_from_import(module, alias.name)
        if alias.asname:
            _check_name(alias.asname, place)
