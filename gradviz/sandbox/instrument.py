"""The program text as real Python, with calls that tell the recorder its names and lines.

The text is parsed with ``ast`` and rewritten before it is compiled (in the sandboxed child):

- before each statement, ``__gradviz__.at(line)``: every torch call knows its line;
- after each binding (assignment, augmented and annotated assignment, ``for`` and ``with``
  targets, ``:=``, attributes such as ``model.w = ...``), ``__gradviz__.bind(name, value, top)``:
  tensors are named after the variable, modules' parameters after their path;
- each top-level bare expression becomes ``__gradviz__.echo(line, value, last)``, shown like a
  notebook's ``Out``;
- a function's body restores the caller's line when it returns, so ``y = f(x) * 2`` records
  its multiplication at its own line, not at f's last one.

Nothing is taken away: the program runs as CPython runs it; the child's sandbox, not this
rewrite, is what keeps it in bounds.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Iterable

FILENAME = "<program>"
"""The program's filename in code objects and tracebacks: frames with it are the user's."""
HOOKS = "__gradviz__"
"""The program's global through which the rewritten code reaches the recorder."""
_CALLER = "__gradviz_caller_line__"
"""A function's local holding its caller's line, restored when the function returns."""
_NOT_NAMES = frozenset({"data", "grad", "requires_grad"})
"""Attributes whose assignment changes a tensor rather than naming one (``x.data = ...``)."""


def _hook(method: str, *args: ast.expr) -> ast.expr:
    func = ast.Attribute(ast.Name(HOOKS, ast.Load()), method, ast.Load())
    return ast.Call(func, list(args), [])


def _statement(method: str, *args: ast.expr) -> ast.stmt:
    return ast.Expr(_hook(method, *args))


def _const(value: str | int | bool | None) -> ast.expr:
    return ast.Constant(value)


def target_names(target: ast.expr) -> list[tuple[str, ast.expr]]:
    """(name to record, expression reading it back) for each name a target binds."""
    if isinstance(target, ast.Name):
        return [(target.id, ast.Name(target.id, ast.Load()))]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [pair for item in target.elts for pair in target_names(item)]
    if isinstance(target, ast.Attribute) and target.attr not in _NOT_NAMES:
        base = _dotted(target.value)
        if base is not None:
            read = ast.Attribute(_reader(target.value), target.attr, ast.Load())
            return [(f"{base}.{target.attr}", read)]
    return []


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _reader(node: ast.expr) -> ast.expr:
    """A Load-context copy of a dotted-name expression."""
    if isinstance(node, ast.Attribute):
        return ast.Attribute(_reader(node.value), node.attr, ast.Load())
    assert isinstance(node, ast.Name)
    return ast.Name(node.id, ast.Load())


def _binds(targets: Iterable[ast.expr], top: bool) -> list[ast.stmt]:
    return [
        _statement("bind", _const(name), read, _const(top))
        for target in targets
        for name, read in target_names(target)
    ]


def _parameters(args: ast.arguments) -> list[ast.expr]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return [ast.Name(a.arg, ast.Store()) for a in every]


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


class _Rewrite(ast.NodeTransformer):
    """Adds the hooks' calls; ``top`` is True in the module's own body (not in functions or
    classes), where a name the user binds wins over names inside functions."""

    def __init__(self) -> None:
        self.top = True

    def body(self, statements: list[ast.stmt], *, module: bool = False) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for i, stmt in enumerate(statements):
            if i == 0 and _is_docstring(stmt):
                out.append(stmt)
                continue
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                out.append(stmt)
                continue
            out.append(ast.copy_location(_statement("at", _const(stmt.lineno)), stmt))
            out.extend(self.statement(stmt, module, last=module and i == len(statements) - 1))
        return out

    def statement(self, stmt: ast.stmt, module: bool, last: bool) -> list[ast.stmt]:
        if module and isinstance(stmt, ast.Expr):
            value = self.visit(stmt.value)
            echo = _hook("echo", _const(stmt.lineno), value, _const(last))
            return [ast.copy_location(ast.Expr(echo), stmt)]
        new = self.visit(stmt)
        after: list[ast.stmt] = []
        if isinstance(stmt, ast.Assign):
            after = _binds(stmt.targets, self.top)
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and (
            not isinstance(stmt, ast.AnnAssign) or stmt.value is not None
        ):
            after = _binds([stmt.target], self.top)
        for extra in after:
            ast.copy_location(extra, stmt)
        return [new, *after]

    # -- blocks ---------------------------------------------------------------------------
    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                if field == "body" and isinstance(node, (ast.For, ast.AsyncFor)):
                    entry = _binds([node.target], self.top)
                elif field == "body" and isinstance(node, (ast.With, ast.AsyncWith)):
                    entry = _binds(
                        [i.optional_vars for i in node.items if i.optional_vars], self.top
                    )
                else:
                    entry = []
                for extra in entry:
                    ast.copy_location(extra, node)
                setattr(node, field, entry + self.body(block))
        for field, value in ast.iter_fields(node):
            if field in ("body", "orelse", "finalbody") and isinstance(value, list):
                continue
            if isinstance(value, list):
                setattr(node, field, [self._visit_item(v) for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, self.visit(value))
        return node

    def _visit_item(self, value: object) -> object:
        if isinstance(value, ast.ExceptHandler):
            value.body = self.body(value.body)
            return value
        if isinstance(value, ast.match_case):
            value.body = self.body(value.body)
            return value
        return self.visit(value) if isinstance(value, ast.AST) else value

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = self.body(node.body, module=True)
        return node

    def _nested(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        top, self.top = self.top, False
        try:
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
            if isinstance(node, ast.ClassDef):
                node.bases = [self.visit(b) for b in node.bases]
                node.body = self.body(node.body)
                return node
            node.args = self.visit(node.args)
            docstring = node.body[:1] if _is_docstring(node.body[0]) else []
            parameters = _binds(_parameters(node.args), top=False)
            body = parameters + (self.body(node.body[len(docstring) :]) or [ast.Pass()])
            save = ast.Assign([ast.Name(_CALLER, ast.Store())], _hook("line"))
            restore = _statement("at", ast.Name(_CALLER, ast.Load()))
            guarded = ast.Try(body=body, handlers=[], orelse=[], finalbody=[restore])
            for extra in (save, guarded, restore, *parameters):
                ast.copy_location(extra, node.body[0])
            node.body = [*docstring, save, guarded]
            return node
        finally:
            self.top = top

    visit_FunctionDef = _nested
    visit_AsyncFunctionDef = _nested
    visit_ClassDef = _nested

    def visit_NamedExpr(self, node: ast.NamedExpr) -> ast.expr:
        value = self.visit(node.value)
        node.value = value
        call = _hook("bound", _const(node.target.id), node, _const(self.top))
        return ast.copy_location(call, node)


def instrument(source: str) -> types.CodeType:
    """The program compiled with the recorder's hooks; raises SyntaxError as Python would."""
    tree = ast.parse(source, FILENAME)
    tree = _Rewrite().visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, FILENAME, "exec", dont_inherit=True)
