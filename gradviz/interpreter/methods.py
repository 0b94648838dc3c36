"""Methods of str, list, set and dict that can build big results, wrapped with size checks.

Reading ``s.ljust`` or ``lst.extend`` gives the program one of these wrappers instead of the
real bound method: the wrapper checks the result's length (or charges per element consumed)
and then calls the real method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gradviz.interpreter import formatting
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.builtins import charge_sort, materialize

Method = Callable[..., Any]


def _str_method(s: str, name: str, b: Budget) -> Method | None:
    if name in ("ljust", "rjust", "center", "zfill"):

        def pad(width: int, *args: Any) -> str:
            b.check_length(width, "str")
            return getattr(s, name)(width, *args)  # type: ignore[no-any-return]

        return pad
    if name == "expandtabs":

        def expandtabs(tabsize: int = 8) -> str:
            b.check_length(len(s) + s.count("\t") * max(tabsize, 0), "str")
            return s.expandtabs(tabsize)

        return expandtabs
    if name == "replace":

        def replace(old: str, new: str, count: int = -1) -> str:
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                times = s.count(old) if old else len(s) + 1
                times = times if count < 0 else min(times, count)
                b.check_length(len(s) + times * (len(new) - len(old)), "str")
            return s.replace(old, new, count)

        return replace
    if name == "join":

        def join(values: Iterable[Any]) -> str:
            items = materialize(values, b)
            lengths = sum(len(x) for x in items if isinstance(x, str))
            b.check_length(lengths + len(s) * max(len(items) - 1, 0), "str")
            return s.join(items)

        return join
    if name == "format":
        return lambda *args, **kwargs: formatting.safe_format(s, args, kwargs, b)
    if name == "format_map":
        return lambda mapping: formatting.safe_format(s, (), mapping, b)
    return None


_SET_ITERABLES = frozenset(
    "update union intersection difference symmetric_difference issubset issuperset isdisjoint "
    "intersection_update difference_update symmetric_difference_update".split()
)


def _list_method(lst: list[Any], name: str, b: Budget) -> Method | None:
    if name == "sort":

        def sort(*, key: Any = None, reverse: bool = False) -> None:
            charge_sort(len(lst), b)
            lst.sort(key=key, reverse=reverse)

        return sort
    if name == "extend":

        def extend(values: Iterable[Any]) -> None:
            items = materialize(values, b)
            b.check_length(len(lst) + len(items), "list")
            lst.extend(items)

        return extend
    return None


def _set_method(st: set[Any] | frozenset[Any], name: str, b: Budget) -> Method | None:
    if name in _SET_ITERABLES:
        method = getattr(st, name)

        def consume(*iterables: Iterable[Any]) -> Any:
            lists = [materialize(it, b, "set") for it in iterables]
            b.check_length(len(st) + sum(len(x) for x in lists), "set")
            return method(*lists)

        return consume
    return None


def _dict_method(d: dict[Any, Any], name: str, b: Budget) -> Method | None:
    if name == "update":

        def update(other: Any = (), **kwargs: Any) -> None:
            pairs = other if hasattr(other, "keys") else materialize(other, b, "dict")
            b.check_length(len(d) + len(pairs) + len(kwargs), "dict")
            d.update(pairs, **kwargs)

        return update
    if name == "fromkeys":

        def fromkeys(keys: Iterable[Any], value: Any = None) -> dict[Any, Any]:
            return dict.fromkeys(materialize(keys, b, "dict"), value)

        return fromkeys
    return None


def guarded_method(obj: object, name: str, budget: Budget) -> Method | None:
    """A checked replacement for ``obj.name`` when that method can build big results."""
    if isinstance(obj, str):
        return _str_method(obj, name, budget)
    if isinstance(obj, list):
        return _list_method(obj, name, budget)
    if isinstance(obj, set | frozenset):
        return _set_method(obj, name, budget)
    if isinstance(obj, dict):
        return _dict_method(obj, name, budget)
    return None
