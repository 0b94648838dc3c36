"""Snapshots of tensor data as plain data: in full up to a size, else a summary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from gradviz.gc_pause import no_gc

Nested = Any
"""A nested list of numbers (or a bare number for a 0-d tensor). Non-finite numbers are the
strings "nan", "inf" and "-inf" so that the JSON stays standard."""


@dataclass(slots=True)
class Summary:
    """What is shown of a tensor too large to carry in full."""

    min: float | str
    max: float | str
    mean: float | str
    head: list[float | str]
    """The first few elements, flattened."""


@dataclass(slots=True)
class TensorValue:
    """A snapshot of a tensor's data: in full up to a size, else a summary."""

    shape: list[int]
    dtype: str
    data: Nested | None = None
    summary: Summary | None = None

    @property
    def numel(self) -> int:
        n = 1
        for size in self.shape:
            n *= size
        return n


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


FULL_VALUE_LIMIT = 10_000
"""Tensors up to this many elements are carried in full; larger ones as a Summary."""
SUMMARY_HEAD = 8
SMALL_TENSOR = 64
"""Tensors up to this many elements take the fast path of ``snapshot``: most tensors of a
teaching graph are this small, and a graph has thousands of them."""

_DTYPE_NAMES: dict[torch.dtype, str] = {}
_FAST_DTYPES: dict[torch.dtype, tuple[str, bool]] = {}
"""dtype -> (name, floating): the dtypes whose small tensors take the fast path."""


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``float32``."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
    return name


def _fast_dtype(dtype: torch.dtype) -> tuple[str, bool] | None:
    info = _FAST_DTYPES.get(dtype)
    if info is None and not dtype.is_complex:
        info = _FAST_DTYPES[dtype] = (dtype_name(dtype), dtype.is_floating_point)
    return info


def _fast_path(tensor: torch.Tensor, limit: int) -> tuple[str, bool] | None:
    """(dtype name, floating) when ``tensor`` is small, strided, on the CPU and of a real
    dtype, and ``limit`` keeps such tensors in full; None otherwise."""
    if tensor.is_cpu and tensor.numel() <= SMALL_TENSOR <= limit:
        if tensor.layout == torch.strided:
            return _fast_dtype(tensor.dtype)
    return None


def finite_number(item: Any) -> float | None:
    """An element of snapshot data as a float; None for the "nan"/"inf" markers and non-numbers."""
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return None
    number = float(item)
    return number if math.isfinite(number) else None


def tensors_in(value: object) -> list[torch.Tensor]:
    """The tensors a call returned: the value itself, or those in a returned list or tuple."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


def finite_or_text(x: float) -> float | str:
    """A float JSON can carry: non-finite numbers become "nan", "inf", "-inf"."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _clean(data: Any) -> Any:
    if isinstance(data, list):
        return [_clean(d) for d in data]
    if isinstance(data, float):
        return finite_or_text(data)
    return data


def _all_finite(data: Nested) -> bool:
    """Whether the floats of ``tolist()`` output are all finite: their sum minus itself is 0
    exactly then (nan and ±inf give nan). A sum that overflows says False: that only sends
    the data through ``_clean``, which leaves finite numbers as they are."""
    if type(data) is not list:
        total = data
    elif not data or type(data[0]) is not list:
        total = sum(data)
    elif not data[0] or type(data[0][0]) is not list:
        total = sum(map(sum, data))
    else:
        total = sum(flatten(data))
    return bool(total - total == 0.0)


def snapshot(tensor: torch.Tensor, limit: int = FULL_VALUE_LIMIT) -> TensorValue:
    """Copy a tensor's data out as plain Python (detached, on the CPU).

    Args:
        tensor: Any tensor; complex tensors are shown by their real part.
        limit: Largest element count carried in full.

    Returns:
        A TensorValue with ``data`` (nested lists) or, past ``limit``, a ``summary``.
    """
    fast = _fast_path(tensor, limit)
    if fast is not None:
        # Most tensors of a graph: tolist() needs neither no_grad nor detach, and a
        # finiteness check on the Python floats is cheaper than torch.isfinite here.
        data = tensor.tolist()
        if fast[1] and not _all_finite(data):
            data = _clean(data)
        return TensorValue(list(tensor.shape), fast[0], data)
    with torch.no_grad():
        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.is_complex():
            t = t.real
        shape = list(t.shape)
        if t.numel() <= limit:
            data = t.tolist()
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                data = _clean(data)
            return TensorValue(shape=shape, dtype=dtype_name(tensor.dtype), data=data)
        flat = t.reshape(-1)
        as_float = flat.double() if not t.dtype.is_floating_point else flat
        summary = Summary(
            min=finite_or_text(float(as_float.min())),
            max=finite_or_text(float(as_float.max())),
            mean=finite_or_text(float(as_float.mean())),
            head=[finite_or_text(float(v)) for v in as_float[:SUMMARY_HEAD].tolist()],
        )
        return TensorValue(shape=shape, dtype=dtype_name(tensor.dtype), summary=summary)


class _Copies:
    """Small tensors of one dtype and shape, copied into one tensor together (``torch.stack``)
    and turned into Python lists together, the first time any of them is read."""

    __slots__ = ("finite", "lists", "stacked", "tensors")

    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self.stacked: torch.Tensor | None = None
        self.finite = True
        self.lists: list[Nested] | None = None

    def copy(self) -> None:
        with torch.no_grad(), torch._C.DisableTorchFunction():  # gradviz's copy, not the program's
            # One strided tensor (an expanded gradient, say) sends torch.stack down a slow path.
            stacked = torch.stack(
                [t if t.is_contiguous() else t.contiguous() for t in self.tensors]
            )
            if stacked.is_floating_point():
                self.finite = bool(torch.isfinite(stacked).all())
        self.stacked, self.tensors = stacked, []

    def rows(self) -> list[Nested]:
        lists = self.lists
        if lists is None:  # two threads may both convert: the same lists, harmlessly
            if self.stacked is None:
                raise RuntimeError("a snapshot was read before its batch was closed")
            with no_gc():  # many small lists at once: no collector passes in between
                lists = self.stacked.tolist()
                if not self.finite:
                    lists = [_clean(row) for row in lists]
            self.lists = lists
        return lists


_DATA_SLOT: Any = TensorValue.__dict__["data"]
"""TensorValue's own storage for ``data`` (a slot), which _CopiedValue fills on first read."""


class _CopiedValue(TensorValue):
    """A TensorValue whose data was copied with others (see SnapshotBatch) and becomes nested
    lists on first read: a big graph's values cost a tensor copy when recorded, and lists
    only for what is looked at."""

    __slots__ = ("_copies", "_index")
    _copies: _Copies | None
    _index: int

    @property
    def data(self) -> Nested | None:
        copies = self._copies
        if copies is not None:
            _DATA_SLOT.__set__(self, copies.rows()[self._index])
            self._copies = None
        return _DATA_SLOT.__get__(self)

    @data.setter
    def data(self, value: Nested | None) -> None:
        _DATA_SLOT.__set__(self, value)
        self._copies = None

    def __eq__(self, other: object) -> bool:  # equal to the plain TensorValue it stands for
        if not isinstance(other, TensorValue):
            return NotImplemented
        return (self.shape, self.dtype, self.data, self.summary) == (
            other.shape,
            other.dtype,
            other.data,
            other.summary,
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as the plain TensorValue it stands for
        return (TensorValue, (self.shape, self.dtype, self.data, self.summary))


class SnapshotBatch:
    """``snapshot`` for many tensors at once: small ones are grouped by dtype and shape and
    copied with one ``torch.stack`` per group in ``close``, the rest are snapshotted at once.

    The values ``take`` returns may be read only after ``close``; they hold the data as it
    was when ``close`` ran, so nothing may change the tensors in between.
    """

    def __init__(self, limit: int = FULL_VALUE_LIMIT) -> None:
        self.limit = limit
        self._groups: dict[tuple[torch.dtype, torch.Size], _Copies] = {}

    def take(self, tensor: torch.Tensor) -> TensorValue:
        fast = _fast_path(tensor, self.limit)
        if fast is None:
            return snapshot(tensor, self.limit)
        shape = tensor.shape
        key = (tensor.dtype, shape)
        copies = self._groups.get(key)
        if copies is None:
            copies = self._groups[key] = _Copies()
        value = object.__new__(_CopiedValue)
        value.shape, value.dtype, value.summary = list(shape), fast[0], None
        value._copies, value._index = copies, len(copies.tensors)
        copies.tensors.append(tensor)
        return value

    def close(self) -> None:
        """Copy every tensor taken so far."""
        for copies in self._groups.values():
            if copies.tensors:
                copies.copy()
        self._groups = {}


def snapshots(tensors: list[torch.Tensor], limit: int = FULL_VALUE_LIMIT) -> list[TensorValue]:
    """``snapshot`` of each tensor, copied in groups (see SnapshotBatch)."""
    batch = SnapshotBatch(limit)
    values = [batch.take(t) for t in tensors]
    batch.close()
    return values


def maybe_snapshot(tensor: object) -> TensorValue | None:
    """``snapshot`` for tensors, None for anything else (a missing gradient, say)."""
    return snapshot(tensor) if isinstance(tensor, torch.Tensor) else None
