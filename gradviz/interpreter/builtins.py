"""The builtins a program may call, each charging one step per element it consumes.

Anything that consumes an iterable checks its length (when it has one) against
max_sequence_length and the steps left BEFORE consuming it, so ``sum(range(10**12))`` stops
at once. The lazy ones (zip, map, enumerate...) return iterators that charge per element,
so whoever consumes them, the program or torch, is bounded too.
"""

from __future__ import annotations

import builtins
import io
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gradviz.errors import RefusedError
from gradviz.interpreter import formatting
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.guards import int_bits, pow_bits
from gradviz.interpreter.policy import EXCEPTIONS

_MISSING: Any = object()
_PLAIN = (
    abs, bool, callable, chr, divmod, float, int, isinstance, len, ord, range, repr, round, slice,
    str, complex, hex, bin, oct,
)  # fmt: skip
_REFUSED = {
    name: "it could reach the interpreter's internals"
    for name in "getattr setattr delattr hasattr eval exec compile globals vars locals type dir "
    "__import__ breakpoint memoryview help exit quit object super classmethod staticmethod "
    "property id".split()
} | {"open": "gradviz programs cannot read or write files", "input": "there is no keyboard"}


class ChargedIterator:
    """Wraps a lazy iterator so that every element taken from it costs one step."""

    __slots__ = ("_budget", "_it")

    def __init__(self, it: Iterator[Any], budget: Budget) -> None:
        self._it = it
        self._budget = budget

    def __iter__(self) -> ChargedIterator:
        return self

    def __next__(self) -> Any:
        self._budget.tick()
        return next(self._it)

    def __repr__(self) -> str:
        return "<iterator>"


def charge_sort(n: int, budget: Budget) -> None:
    """Sorting costs about n*log2(n) comparisons (tensor comparisons are slow ones)."""
    budget.charge(n * max(n.bit_length(), 1))


def materialize(values: Iterable[Any], budget: Budget, what: str = "list") -> list[Any]:
    """``list(values)``, checking its length before (when known) and charging per element."""
    if not isinstance(values, Iterator):
        try:
            n = len(values)  # type: ignore[arg-type]
        except TypeError:
            n = -1
        if n >= 0:
            budget.check_length(n, what, charge=False)
            budget.charge(n)
            return list(values)
    out: list[Any] = []
    limit = budget.limits.max_sequence_length
    for item in values:
        budget.tick()
        out.append(item)
        if len(out) > limit:
            budget.check_length(len(out), what)
    return out


class SafeBuiltins:
    """The builtins namespace of one run: print writes to ``stdout``."""

    def __init__(self, budget: Budget, add: Callable[[Any, Any], Any]) -> None:
        self.budget = budget
        self.stdout = io.StringIO()
        self.quiet = False
        self._add = add

    def namespace(self) -> dict[str, object]:
        names: dict[str, object] = {f.__name__: f for f in _PLAIN}
        names.update(EXCEPTIONS)
        for name in (
            "print sum min max sorted list tuple set frozenset dict any all zip enumerate map "
            "filter reversed pow format"
        ).split():
            names[name] = getattr(self, name)
        return names

    def refusal(self, name: str) -> str | None:
        why = _REFUSED.get(name)
        return None if why is None else f"the builtin '{name}' is not available: {why}"

    def _items(self, values: Iterable[Any], what: str = "list") -> list[Any]:
        return materialize(values, self.budget, what)

    def print(self, *args: Any, sep: str | None = " ", end: str | None = "\n", **kw: Any) -> None:
        if set(kw) - {"flush"}:
            raise RefusedError("print() may only take sep= and end=: output goes to the page")
        if self.quiet:
            return
        start = self.stdout.tell()
        builtins.print(*args, sep=sep, end=end, file=self.stdout)
        self.budget.charge_size(self.stdout.tell() - start)

    def sum(self, values: Iterable[Any], start: Any = 0) -> Any:
        items = self._items(values)
        if all(type(x) in (int, float, bool) for x in items) and type(start) in (int, float):
            return builtins.sum(items, start)
        total = start
        for item in items:
            total = self._add(total, item)
        return total

    def min(self, *args: Any, key: Any = None, default: Any = _MISSING) -> Any:
        items = self._items(args[0]) if len(args) == 1 else list(args)
        if default is _MISSING:
            return builtins.min(items, key=key)
        return builtins.min(items, key=key, default=default)

    def max(self, *args: Any, key: Any = None, default: Any = _MISSING) -> Any:
        items = self._items(args[0]) if len(args) == 1 else list(args)
        if default is _MISSING:
            return builtins.max(items, key=key)
        return builtins.max(items, key=key, default=default)

    def sorted(self, values: Iterable[Any], key: Any = None, reverse: bool = False) -> list[Any]:
        items = self._items(values)
        charge_sort(len(items), self.budget)
        return builtins.sorted(items, key=key, reverse=reverse)

    def list(self, values: Iterable[Any] = ()) -> list[Any]:
        return self._items(values)

    def tuple(self, values: Iterable[Any] = ()) -> tuple[Any, ...]:
        return builtins.tuple(self._items(values, "tuple"))

    def set(self, values: Iterable[Any] = ()) -> set[Any]:
        return builtins.set(self._items(values, "set"))

    def frozenset(self, values: Iterable[Any] = ()) -> frozenset[Any]:
        return builtins.frozenset(self._items(values, "set"))

    def dict(self, values: Any = (), **kwargs: Any) -> dict[Any, Any]:
        if hasattr(values, "keys"):
            self.budget.check_length(len(values), "dict")
            return builtins.dict(values, **kwargs)
        return builtins.dict(self._items(values, "dict"), **kwargs)

    def any(self, values: Iterable[Any]) -> bool:
        return builtins.any(ChargedIterator(iter(values), self.budget))

    def all(self, values: Iterable[Any]) -> bool:
        return builtins.all(ChargedIterator(iter(values), self.budget))

    def zip(self, *its: Iterable[Any], strict: bool = False) -> ChargedIterator:
        return ChargedIterator(builtins.zip(*its, strict=strict), self.budget)

    def enumerate(self, values: Iterable[Any], start: int = 0) -> ChargedIterator:
        return ChargedIterator(builtins.enumerate(values, start), self.budget)

    def map(self, fn: Callable[..., Any], *its: Iterable[Any]) -> ChargedIterator:
        return ChargedIterator(builtins.map(fn, *its), self.budget)

    def filter(self, fn: Callable[[Any], Any] | None, values: Iterable[Any]) -> ChargedIterator:
        return ChargedIterator(builtins.filter(fn, values), self.budget)

    def reversed(self, values: Any) -> ChargedIterator:
        return ChargedIterator(builtins.reversed(values), self.budget)

    def pow(self, base: Any, exp: Any, mod: Any = None) -> Any:
        if mod is None and type(base) is int and type(exp) is int:
            self.budget.check_int_bits(pow_bits(base, exp))
        return builtins.pow(base, exp, mod)

    def format(self, value: Any, spec: str = "") -> str:
        return formatting.format_value(value, spec, self.budget)


def math_wrappers(budget: Budget) -> dict[int, Callable[..., Any]]:
    """Replacements for math functions that consume iterables: id(original) -> wrapper."""

    def prod(values: Iterable[Any], *, start: Any = 1) -> Any:
        items = materialize(values, budget)
        budget.check_int_bits(sum(int_bits(x) for x in [start, *items] if type(x) is int))
        return math.prod(items, start=start)

    def fsum(values: Iterable[Any]) -> float:
        return math.fsum(materialize(values, budget))

    return {id(math.prod): prod, id(math.fsum): fsum}
