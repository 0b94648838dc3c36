"""A tensor's data as the Graph carries it: plain numbers, in full up to a size, else a
summary. No torch here: ``gradviz.capture.snapshot`` makes these from live tensors, and the
host rebuilds them from the sandbox's JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def numel(shape: Sequence[int]) -> int:
    """Elements of a tensor of this shape (1 for a 0-d one)."""
    return math.prod(shape)


Nested = Any
"""A nested list of numbers (or a bare number for a 0-d tensor). Non-finite numbers are the
strings "nan", "inf" and "-inf" so that the JSON stays standard."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What is shown of a tensor too large to carry in full."""

    min: float | str
    max: float | str
    mean: float | str
    head: tuple[float | str, ...]
    """The first few elements, flattened."""


@dataclass(frozen=True, slots=True)
class TensorValue:
    """A snapshot of a tensor's data: in full up to a size, else a summary."""

    shape: tuple[int, ...]
    dtype: str
    data: Nested | None = None
    """Nested lists, shared by every reader: never changed once made."""
    summary: Summary | None = None
    note: str | None = None
    """What the data is when it is not the tensor's elements as they are (a sparse tensor
    shown dense, a complex one by its real parts), or why there is none (with neither
    ``data`` nor ``summary``: "values not readable: meta tensor")."""

    @property
    def numel(self) -> int:
        return numel(self.shape)


def flatten(data: Nested) -> list[Any]:
    """Nested lists (or a bare number) as one flat list, in row-major order, without recursion."""
    out: list[Any] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


SUMMARY_HEAD = 8


def finite_number(item: Any) -> float | None:
    """An element of snapshot data as a float; None for the "nan"/"inf" markers and non-numbers."""
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return None
    number = float(item)
    return number if math.isfinite(number) else None


def finite_or_text(x: float) -> float | str:
    """A float JSON can carry: non-finite numbers become "nan", "inf", "-inf"."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def summarize(data: Nested) -> Summary:
    """The Summary of snapshot data already taken (a nan anywhere makes min, max and mean nan,
    as torch's would be)."""
    numbers = [float(v) for v in flatten(data)]  # the markers "nan", "inf" read as floats too
    if not numbers:
        return Summary(min="nan", max="nan", mean="nan", head=())
    nan = any(map(math.isnan, numbers))
    return Summary(
        min="nan" if nan else finite_or_text(min(numbers)),
        max="nan" if nan else finite_or_text(max(numbers)),
        mean=finite_or_text(sum(numbers) / len(numbers)),
        head=tuple(finite_or_text(v) for v in numbers[:SUMMARY_HEAD]),
    )


def elements(value: TensorValue | None) -> list[Any] | None:
    """A snapshot's elements in row-major order (None if only a summary was kept)."""
    if value is None or value.data is None:
        return None
    return flatten(value.data)


def element(value: TensorValue | None, index: int) -> float | None:
    """One element as a finite float, or None."""
    items = elements(value)
    if items is None or index >= len(items):
        return None
    return finite_number(items[index])
