"""Execution of statement nodes and assignment to targets."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from typing import Any

from gradviz.errors import GradvizError, ProgramSyntaxError, RefusedError
from gradviz.interpreter import policy
from gradviz.interpreter.builtins import materialize
from gradviz.interpreter.expressions import Expressions
from gradviz.interpreter.operators import BINARY
from gradviz.interpreter.scope import BREAK, CONTINUE, Signal

_CM_NAMES = (
    "torch.no_grad(), torch.enable_grad(), torch.set_grad_enabled(flag), torch.inference_mode()"
)


_KEEP_GOING = object()
"""A loop iteration ended normally (or by continue): go on to the next."""


class Statements(Expressions):
    """Handlers for every supported statement node; registered in ``statement_table``."""

    def statement_table(self) -> dict[type[ast.AST], Callable[[Any], Signal | None]]:
        return {
            ast.Expr: self.exec_expr,
            ast.Assign: self.exec_assign,
            ast.AugAssign: self.exec_augassign,
            ast.AnnAssign: self.exec_annassign,
            ast.For: self.exec_for,
            ast.While: self.exec_while,
            ast.If: self.exec_if,
            ast.With: self.exec_with,
            ast.FunctionDef: self.exec_def,
            ast.Return: self.exec_return,
            ast.Pass: lambda node: None,
            ast.Break: lambda node: BREAK,
            ast.Continue: lambda node: CONTINUE,
            ast.Raise: self.exec_raise,
            ast.Assert: self.exec_assert,
            ast.Try: self.exec_try,
            ast.Delete: self.exec_delete,
            ast.Import: self.exec_import,
            ast.ImportFrom: self.exec_importfrom,
        }

    def exec_expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def exec_assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.assign(target, value)

    def exec_annassign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, self.eval(node.value))

    def assign(self, target: ast.expr, value: Any) -> None:
        kind = type(target)
        if kind is ast.Name:
            self.bind(target.id, value)  # type: ignore[attr-defined]
        elif kind is ast.Tuple or kind is ast.List:
            self._unpack(target.elts, value)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            assert isinstance(target, ast.Attribute)
            self.set_attribute(self.eval(target.value), target.attr, value)
        elif kind is ast.Subscript:
            assert isinstance(target, ast.Subscript)
            obj = self.eval(target.value)
            self.set_item(obj, self.eval(target.slice), value)
        else:
            raise ProgramSyntaxError(f"SyntaxError: cannot assign to {kind.__name__}")

    def _unpack(self, targets: list[ast.expr], value: Any) -> None:
        stars = [i for i, t in enumerate(targets) if type(t) is ast.Starred]
        n = len(targets)
        if len(stars) > 1:
            raise ProgramSyntaxError("SyntaxError: multiple starred expressions in assignment")
        if not stars:
            self.budget.charge(n + 1)
            items = list(itertools.islice(iter(value), n + 1))
            if len(items) > n:
                raise ValueError(f"too many values to unpack (expected {n})")
            if len(items) < n:
                raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
            for t, item in zip(targets, items, strict=True):
                self.assign(t, item)
            return
        items = materialize(value, self.budget)
        s = stars[0]
        after = n - s - 1
        if len(items) < n - 1:
            raise ValueError(
                f"not enough values to unpack (expected at least {n - 1}, got {len(items)})"
            )
        for t, item in zip(targets[:s], items[:s], strict=True):
            self.assign(t, item)
        starred = targets[s]
        assert isinstance(starred, ast.Starred)
        self.assign(starred.value, items[s : len(items) - after])
        for t, item in zip(targets[s + 1 :], items[len(items) - after :], strict=True):
            self.assign(t, item)

    def exec_augassign(self, node: ast.AugAssign) -> None:
        target, op = node.target, type(node.op)
        if isinstance(target, ast.Name):
            old = self.eval_name(ast.Name(target.id, ast.Load()))
            self.bind(target.id, self.ops.binary(op, old, self.eval(node.value), inplace=True))
        elif isinstance(target, ast.Attribute):
            obj = self.eval(target.value)
            old = self.get_attribute(obj, target.attr)
            new = self.ops.binary(op, old, self.eval(node.value), inplace=True)
            self.set_attribute(obj, target.attr, new)
        elif isinstance(target, ast.Subscript):
            obj = self.eval(target.value)
            key = self.eval(target.slice)
            old = self.get_item(obj, key)
            self.set_item(obj, key, self.ops.binary(op, old, self.eval(node.value), inplace=True))
        else:
            raise ProgramSyntaxError(f"SyntaxError: '{BINARY[op][0]}=' cannot assign to this")

    # -- control flow -----------------------------------------------------------------------------
    def exec_for(self, node: ast.For) -> Signal | None:
        count = 0
        for item in self.eval(node.iter):
            count += 1
            self.loop_limit(count)
            self.assign(node.target, item)
            outcome = self._iteration(node.body)
            if outcome is not _KEEP_GOING:
                return outcome  # type: ignore[return-value]
        return self.exec_block(node.orelse) if node.orelse else None

    def exec_while(self, node: ast.While) -> Signal | None:
        count = 0
        while self.eval(node.test):
            count += 1
            self.loop_limit(count)
            outcome = self._iteration(node.body)
            if outcome is not _KEEP_GOING:
                return outcome  # type: ignore[return-value]
        return self.exec_block(node.orelse) if node.orelse else None

    def _iteration(self, body: list[ast.stmt]) -> object:
        """One pass of a loop body: _KEEP_GOING, or what the loop returns (None on break)."""
        signal = self.exec_block(body)
        if signal is None or signal is CONTINUE:
            return _KEEP_GOING
        return None if signal is BREAK else signal

    def exec_if(self, node: ast.If) -> Signal | None:
        return self.exec_block(node.body if self.eval(node.test) else node.orelse)

    def exec_with(self, node: ast.With) -> Signal | None:
        entered: list[Any] = []
        try:
            for item in node.items:
                manager = self.eval(item.context_expr)
                if type(manager) not in policy.CONTEXT_MANAGERS:
                    raise RefusedError(
                        f"'with' is only available for {_CM_NAMES}, "
                        f"not for {type(manager).__name__} objects"
                    )
                value = type(manager).__enter__(manager)
                entered.append(manager)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, value)
            signal = self.exec_block(node.body)
        except BaseException as e:
            for manager in reversed(entered):
                type(manager).__exit__(manager, type(e), e, e.__traceback__)
            raise
        for manager in reversed(entered):
            type(manager).__exit__(manager, None, None, None)
        return signal

    def exec_def(self, node: ast.FunctionDef) -> None:
        decorators = [self.eval(d) for d in node.decorator_list]
        fn: Any = self.make_function(node.name, node)
        for decorator in reversed(decorators):
            fn = self.call(decorator, (fn,), {})
        self.bind(node.name, fn)

    def exec_return(self, node: ast.Return) -> Signal:
        return Signal("return", self.eval(node.value) if node.value else None)

    # -- exceptions -------------------------------------------------------------------------------
    def exec_raise(self, node: ast.Raise) -> None:
        if node.exc is None:
            if self.handling:
                raise self.handling[-1]
            raise RuntimeError("No active exception to reraise")
        exc = self.eval(node.exc)
        if isinstance(exc, type) and exc in policy.EXCEPTION_TYPES:
            exc = exc()
        if not isinstance(exc, Exception) or isinstance(exc, GradvizError):
            names = ", ".join(policy.EXCEPTIONS)
            raise RefusedError(f"only these exceptions can be raised: {names}")
        if node.cause is not None:
            cause = self.eval(node.cause)
            exc.__cause__ = cause if isinstance(cause, BaseException) else None
        raise exc

    def exec_assert(self, node: ast.Assert) -> None:
        if not self.eval(node.test):
            raise AssertionError(self.eval(node.msg)) if node.msg else AssertionError()

    def _catchable(self, e: BaseException) -> bool:
        """The program may catch errors of Python and torch, never a limit or a refusal."""
        if self.pending is not None or isinstance(e, GradvizError):
            return False
        return isinstance(e, Exception) and not isinstance(e, RecursionError | MemoryError)

    def _matches(self, e: BaseException, handler: ast.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        wanted = self.eval(handler.type)
        classes = wanted if isinstance(wanted, tuple) else (wanted,)
        for cls in classes:
            if not (isinstance(cls, type) and issubclass(cls, Exception)):
                raise RefusedError("except takes exception classes such as ValueError")
        return isinstance(e, classes)

    def exec_try(self, node: ast.Try) -> Signal | None:
        try:
            try:
                signal = self.exec_block(node.body)
            except BaseException as e:
                if not self._catchable(e):
                    raise
                for handler in node.handlers:
                    if self._matches(e, handler):
                        return self._handle(e, handler)
                raise
            if signal is None and node.orelse:
                return self.exec_block(node.orelse)
            return signal
        finally:
            if node.finalbody:
                final = self.exec_block(node.finalbody)
                if final is not None:
                    return final  # noqa: B012 - as in Python, finally's return wins

    def _handle(self, e: BaseException, handler: ast.ExceptHandler) -> Signal | None:
        if handler.name:
            self.bind(handler.name, e)
        self.handling.append(e)
        try:
            return self.exec_block(handler.body)
        finally:
            self.handling.pop()
            if handler.name:
                self.scope.vars.pop(handler.name, None)

    # -- del and imports --------------------------------------------------------------------------
    def exec_delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                if target.id not in self.scope.vars:
                    raise NameError(f"name '{target.id}' is not defined")
                del self.scope.vars[target.id]
            elif isinstance(target, ast.Subscript):
                obj = self.eval(target.value)
                del obj[self.eval(target.slice)]
            else:
                raise RefusedError("only names and items can be deleted (del x, del d[key])")

    def exec_import(self, node: ast.Import) -> None:
        for alias in node.names:
            policy.check_import(alias.name)
            if alias.asname:
                self.bind(alias.asname, policy.MODULES[alias.name])
            else:
                top = alias.name.split(".")[0]
                self.bind(top, policy.MODULES[top])

    def exec_importfrom(self, node: ast.ImportFrom) -> None:
        module_name = node.module or ""
        for alias in node.names:
            policy.check_from_import(module_name, alias.name)
            value = self.get_attribute(policy.MODULES[module_name], alias.name)
            self.bind(alias.asname or alias.name, value)
