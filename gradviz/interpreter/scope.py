"""Scopes of names, the program's own functions, and control-flow signals."""

from __future__ import annotations

import ast
from typing import Any, Protocol

_MISSING: Any = object()
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class Scope:
    """Names of the module, of one call of a function, or of one comprehension.

    A function scope knows its local names (assigned anywhere in its body), so reading one
    before it is assigned is an UnboundLocalError, as in Python; other names are looked up
    in the enclosing scopes, then in the builtins.
    """

    __slots__ = ("kind", "local_names", "parent", "vars")

    def __init__(
        self,
        kind: str,
        values: dict[str, Any],
        parent: Scope | None = None,
        local_names: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self.vars = values
        self.parent = parent
        self.local_names = local_names

    def lookup(self, name: str, builtins: dict[str, Any]) -> Any:
        scope: Scope | None = self
        while scope is not None:
            value = scope.vars.get(name, _MISSING)
            if value is not _MISSING:
                return value
            if scope is self and name in scope.local_names:
                raise UnboundLocalError(
                    f"cannot access local variable '{name}' where it is not associated with a value"
                )
            scope = scope.parent
        value = builtins.get(name, _MISSING)
        if value is _MISSING:
            raise NameError(f"name '{name}' is not defined")
        return value

    def binding_scope(self) -> Scope:
        """Where ``:=`` binds: the nearest function or module scope."""
        scope = self
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        return scope


class Caller(Protocol):
    def call_from_outside(
        self, fn: UserFunction, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any: ...


class UserFunction:
    """A ``def`` or ``lambda`` of the program: callable by torch, run by the interpreter."""

    __slots__ = ("caller", "defaults", "kw_defaults", "local_names", "name", "node", "scope")

    def __init__(
        self,
        name: str,
        node: ast.FunctionDef | ast.Lambda,
        defaults: list[Any],
        kw_defaults: dict[str, Any],
        scope: Scope,
        caller: Caller,
        names: frozenset[str],
    ) -> None:
        self.name = name
        self.node = node
        self.defaults = defaults
        self.kw_defaults = kw_defaults
        self.scope = scope
        self.caller = caller
        self.local_names = names

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.caller.call_from_outside(self, args, kwargs)

    @property
    def __name__(self) -> str:  # read by torch and functools.wraps, never by the program
        return self.name

    def __repr__(self) -> str:
        return f"<function {self.name}>"


def local_names(node: ast.FunctionDef | ast.Lambda) -> frozenset[str]:
    """Parameters and names assigned in the body (not in nested functions/comprehensions)."""
    a = node.args
    names = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if p}
    body = node.body if isinstance(node.body, list) else [node.body]
    stack: list[ast.AST] = list(body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
            names.add(n.id)
        elif isinstance(n, ast.FunctionDef):
            names.add(n.name)
            stack.extend(n.args.defaults + [d for d in n.args.kw_defaults if d])
            stack.extend(n.decorator_list)
            continue
        elif isinstance(n, ast.Lambda):
            stack.extend(n.args.defaults + [d for d in n.args.kw_defaults if d])
            continue
        elif isinstance(n, _COMPREHENSIONS):
            stack.append(n.generators[0].iter)
            continue
        elif isinstance(n, ast.alias):
            names.add((n.asname or n.name).split(".")[0])
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        stack.extend(ast.iter_child_nodes(n))
    return frozenset(names)


class Signal:
    """What a block of statements asks of the loop or function around it."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any = None) -> None:
        self.kind = kind
        self.value = value


BREAK = Signal("break")
CONTINUE = Signal("continue")
