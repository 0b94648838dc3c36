"""State of one run and the two dispatchers: ``eval`` for expressions, ``exec`` for statements."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gradviz.errors import GradvizError, LimitExceeded, ProgramError, RefusedError
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.builtins import SafeBuiltins, math_wrappers
from gradviz.interpreter.callguard import CallGuard
from gradviz.interpreter.operators import Operators
from gradviz.interpreter.scope import Scope, Signal
from gradviz.limits import Limits

_PLACE = "_gradviz_place"


@dataclass
class InterpreterHooks:
    """Callbacks of the runner into one run of a program."""

    on_bind: Callable[[str, object], None] | None = None
    """Called after a name is bound in the module or a function, with the new value."""
    on_line: Callable[[int], None] | None = None
    """Called before each statement runs, with its 1-based line."""
    substitutions: Mapping[object, Callable[..., object]] = field(default_factory=dict)
    """Allowed callables replaced by the runner's own (looked up by identity/equality)."""


def mark(e: BaseException, node: ast.AST) -> None:
    """Remember where an exception first went through the program (innermost node): a
    GradvizError keeps it as its line and column, any other exception in an attribute."""
    if isinstance(e, GradvizError):
        e.located(getattr(node, "lineno", None), getattr(node, "col_offset", 0) + 1)
    elif getattr(e, _PLACE, None) is None:
        try:
            setattr(e, _PLACE, (getattr(node, "lineno", None), getattr(node, "col_offset", 0) + 1))
        except (AttributeError, TypeError):
            pass


def program_error(e: BaseException) -> GradvizError:
    """The GradvizError a user's program sees for an exception raised while it ran."""
    line, col = getattr(e, _PLACE, None) or (None, None)
    if isinstance(e, GradvizError):
        return e
    if isinstance(e, RecursionError):
        return LimitExceeded(
            "the program nests calls too deeply for Python (limit max_call_depth)", line, col
        )
    if isinstance(e, MemoryError) or "can't allocate memory" in str(e):
        return LimitExceeded("the program ran out of memory (limit max_tensor_elements)", line, col)
    lines: list[str] = []
    for text in str(e).splitlines():
        if text.startswith(("Exception raised from", "Traceback", "  File ")):
            break
        if text.strip():
            lines.append(text.rstrip())
        if len(lines) == 3:
            break
    message = "\n".join(lines)[:600]
    name = type(e).__name__.lstrip("_")
    return ProgramError(f"{name}: {message}" if message else name, line, col)


class Core:
    """What every part of the evaluator shares: limits, counters, scopes and dispatch."""

    def __init__(self, limits: Limits, hooks: InterpreterHooks | None) -> None:
        hooks = hooks or InterpreterHooks()
        self.limits = limits
        self.on_bind = hooks.on_bind
        self.on_line = hooks.on_line
        self.substitutions = dict(hooks.substitutions)
        self.budget = Budget(limits)
        self.guard = CallGuard(self.budget, self.dry_run_user)
        self.ops = Operators(self.budget, self.guard)
        self.safe = SafeBuiltins(self.budget, self.ops.add)
        self.builtins = self.safe.namespace()
        self.module_wrappers = math_wrappers(self.budget)
        self.module_scope = Scope("module", {})
        self.scope = self.module_scope
        self.depth = 0
        self.quiet = False
        self.running = False
        self.pending: GradvizError | None = None
        self.handling: list[BaseException] = []
        self.local_names: dict[int, frozenset[str]] = {}
        self.expressions: dict[type[ast.AST], Callable[[Any], Any]] = {}
        self.statements: dict[type[ast.AST], Callable[[Any], Signal | None]] = {}

    # -- dispatch -------------------------------------------------------------------------------
    def eval(self, node: ast.expr) -> Any:
        """Evaluate one expression node: one step, then its handler."""
        try:
            self.budget.tick()
            handler = self.expressions.get(type(node))
            if handler is None:
                raise RefusedError(f"{type(node).__name__} expressions are not supported")
            return handler(node)
        except Exception as e:  # a GradvizError too: mark gives it its place
            mark(e, node)
            raise

    def exec(self, node: ast.stmt) -> Signal | None:
        """Run one statement: one step, the on_line hook, then its handler."""
        try:
            self.budget.tick()
            if self.on_line is not None and not self.quiet:
                self.on_line(node.lineno)
            handler = self.statements.get(type(node))
            if handler is None:
                raise RefusedError(f"{type(node).__name__} statements are not supported")
            return handler(node)
        except Exception as e:  # a GradvizError too: mark gives it its place
            mark(e, node)
            raise

    def exec_block(self, body: list[ast.stmt]) -> Signal | None:
        for stmt in body:
            signal = self.exec(stmt)
            if signal is not None:
                return signal
        return None

    # -- names ------------------------------------------------------------------------------------
    def bind(self, name: str, value: Any, scope: Scope | None = None) -> None:
        scope = scope or self.scope
        scope.vars[name] = value
        if self.on_bind is not None and scope.kind != "comprehension" and not self.quiet:
            self.on_bind(name, value)

    def loop_limit(self, count: int) -> None:
        if count > self.limits.max_loop_iterations:
            raise LimitExceeded(
                f"loop ran past {self.limits.max_loop_iterations} iterations "
                "(limit max_loop_iterations)"
            )

    # -- implemented by the mixins ----------------------------------------------------------------
    def call(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def assign(self, target: ast.expr, value: Any) -> None:
        raise NotImplementedError

    def dry_run_user(self, fn: object, args: Any) -> object:
        raise NotImplementedError
