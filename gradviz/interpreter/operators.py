"""Python operators with their size checks: int bit growth, sequence repetition, tensors."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gradviz.interpreter import formatting
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.callguard import CallGuard
from gradviz.interpreter.guards import int_bits, pow_bits

_Op = Callable[[Any, Any], Any]
BINARY: dict[type[ast.operator], tuple[str, _Op, _Op]] = {
    ast.Add: ("+", operator.add, operator.iadd),
    ast.Sub: ("-", operator.sub, operator.isub),
    ast.Mult: ("*", operator.mul, operator.imul),
    ast.MatMult: ("@", operator.matmul, operator.imatmul),
    ast.Div: ("/", operator.truediv, operator.itruediv),
    ast.FloorDiv: ("//", operator.floordiv, operator.ifloordiv),
    ast.Mod: ("%", operator.mod, operator.imod),
    ast.Pow: ("**", operator.pow, operator.ipow),
    ast.LShift: ("<<", operator.lshift, operator.ilshift),
    ast.RShift: (">>", operator.rshift, operator.irshift),
    ast.BitOr: ("|", operator.or_, operator.ior),
    ast.BitXor: ("^", operator.xor, operator.ixor),
    ast.BitAnd: ("&", operator.and_, operator.iand),
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
}
COMPARE: dict[type[ast.cmpop], tuple[str, _Op]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
}
_ARRAYS = (torch.Tensor, np.ndarray)
_SEQUENCES = (str, list, tuple, bytes)
_SCALARS = frozenset({int, float, bool})


class Operators:
    """Applies operators after checking that their results stay within the limits."""

    def __init__(self, budget: Budget, guard: CallGuard) -> None:
        self.budget = budget
        self.guard = guard

    def binary(self, op: type[ast.operator], a: Any, b: Any, inplace: bool = False) -> Any:
        symbol, plain, augmented = BINARY[op]
        fn = augmented if inplace else plain
        if type(b) in _SCALARS and isinstance(a, torch.Tensor) and symbol != "@":
            result = fn(a, b)  # same size as ``a``: nothing to check before
            self.guard.account(result, (a,))
            return result
        if isinstance(a, _ARRAYS) or isinstance(b, _ARRAYS):
            if isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES):
                self._sequence(symbol, a, b)  # [0] * torch.tensor(10**9) repeats the list
            self.guard.operator(symbol, a, b)
            result = fn(a, b)
            self.guard.account(result, (a,) if inplace else ())
            return result
        ta, tb = type(a), type(b)
        if ta in (int, bool) and tb in (int, bool):
            self._int(symbol, a, b)
        elif ta in _SEQUENCES or tb in _SEQUENCES:
            if symbol == "%" and ta is str:
                return formatting.percent_format(a, b, self.budget)
            self._sequence(symbol, a, b)
        return fn(a, b)

    def add(self, a: Any, b: Any) -> Any:
        return self.binary(ast.Add, a, b)

    def compare(self, symbol: str, fn: _Op, a: Any, b: Any) -> Any:
        if isinstance(a, _ARRAYS) or isinstance(b, _ARRAYS):
            if symbol not in ("is", "is not", "in", "not in"):
                self.guard.operator(symbol, a, b)
        return fn(a, b)

    def _int(self, symbol: str, a: int, b: int) -> None:
        if symbol == "**":
            self.budget.check_int_bits(pow_bits(a, b))
        elif symbol == "*":
            self.budget.check_int_bits(int_bits(a) + int_bits(b))
        elif symbol == "<<" and b > 0:
            self.budget.check_int_bits(int_bits(a) + b)

    def _sequence(self, symbol: str, a: Any, b: Any) -> None:
        if symbol == "*":
            seq, count = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
            try:
                n = operator.index(count)
            except TypeError:
                return  # Python raises its own TypeError
            self.budget.check_length(len(seq) * max(n, 0), type(seq).__name__)
        elif symbol == "+" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.budget.check_length(len(a) + len(b), type(a).__name__)
        elif symbol == "+" and isinstance(a, list):
            try:
                n = len(b)
            except TypeError:
                return
            self.budget.check_length(len(a) + n, "list")
