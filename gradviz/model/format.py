"""Numbers and tensors as short text for labels: ``63``, ``[10, 10]``, ``[[1, 2], [3, 4]]``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradviz.model.values import TensorValue, flatten, numel

_SPECS = {p: f".{p}g" for p in range(1, 18)}
"""Format specs by precision, made once: a label of a big graph formats ~100,000 numbers."""


def _spec(precision: int) -> str:
    return _SPECS.get(precision) or f".{precision}g"


def number(x: Any, precision: int = 4) -> str:
    """A number with ``precision`` significant digits and no trailing zeros (63, 0.97, 1e-05)."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        text = format(x, _spec(precision))
        return "0" if text == "-0" else text
    return str(x)  # "nan", "inf" from JSON-safe snapshots


def shape_text(shape: Sequence[int]) -> str:
    """``[2, 3]`` -> ``2×3``; a 0-d tensor is a ``scalar``."""
    return "×".join(map(str, shape)) if shape else "scalar"


def _flat_row(values: list[Any], precision: int, max_items: int) -> str:
    spec = _spec(precision)
    # number(), inlined for floats: a big graph's labels hold ~100,000 of them.
    items = [
        format(v, spec) if type(v) is float else number(v, precision) for v in values[:max_items]
    ]
    if "-0" in items:
        items = ["0" if item == "-0" else item for item in items]
    if len(values) > max_items:
        items.append("…")
    return "[" + ", ".join(items) + "]"


def tensor_lines(value: TensorValue, precision: int = 4, max_items: int = 6) -> list[str]:
    """A tensor as a few lines of text: scalars bare, vectors in one line, matrices by row.

    Args:
        value: The snapshot to show.
        precision: Significant digits.
        max_items: Elements per row (and rows) before an ellipsis.
    """
    if value.summary is not None:
        s = value.summary
        return [
            f"min {number(s.min, precision)}  max {number(s.max, precision)}",
            f"mean {number(s.mean, precision)}",
        ]
    data = value.data
    if not isinstance(data, list):
        return [number(data, precision)]
    if not data or not isinstance(data[0], list):
        return [_flat_row(data, precision, max_items)]
    if len(value.shape) == 2:
        rows = [_flat_row(r, precision, max_items) for r in data[:max_items]]
        if len(data) > max_items:
            rows.append("…")
        rows[0] = "[" + rows[0]
        rows[-1] = rows[-1] + "]"
        return rows
    flat = flatten(data)
    return [_flat_row(flat, precision, max_items) + f" ({len(value.shape)}-d)"]


def tensor_text(value: TensorValue | None, precision: int = 4, max_items: int = 6) -> str:
    """``tensor_lines`` joined on one line; "—" when there is no value."""
    if value is None:
        return "—"
    return " ".join(tensor_lines(value, precision, max_items))


def tensor_block(value: TensorValue | None, precision: int = 4, max_items: int = 6) -> str:
    """A tensor as torch prints one: a matrix one row per line, rows ending in commas."""
    if value is None:
        return "—"
    return ",\n ".join(tensor_lines(value, precision, max_items))


def is_matrix(value: TensorValue | None) -> bool:
    """A tensor whose text takes more than one line (a 2-D one with its numbers)."""
    return value is not None and value.summary is None and len(value.shape) == 2


def element_labels(shape: Sequence[int], name: str) -> list[str]:
    """``x[0,1]``-style labels for every element of a tensor of this shape, row-major."""
    labels = []
    for flat in range(numel(shape)):
        index, rest = [], flat
        for size in reversed(shape):
            index.append(rest % size)
            rest //= size
        labels.append(f"{name}[{','.join(str(i) for i in reversed(index))}]" if shape else name)
    return labels


def index_text(shape: Sequence[int], index: int) -> str:
    """Flat index -> ``[1, 2]`` for a tensor of that shape; ``""`` for a scalar."""
    if not shape:
        return ""
    parts = []
    for size in reversed(shape):
        parts.append(index % size)
        index //= size
    return "[" + ", ".join(str(p) for p in reversed(parts)) + "]"
