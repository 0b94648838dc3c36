"""Snapshots of live tensors as plain data (``model.values``): in full up to a size, else a
summary.

Any tensor torch can make is snapshotted without raising: exotic dtypes (float8, complex32,
quantized, the bit-width shells uint1-7) and layouts (sparse, mkldnn) are converted to a
plain strided tensor first, and what cannot be read (a meta tensor, a nested one) is kept as
its shape and dtype with a note saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

from gradviz.capture.gc_pause import no_gc
from gradviz.model.values import (
    SUMMARY_HEAD,
    Nested,
    Summary,
    TensorValue,
    finite_or_text,
    flatten,
)

FULL_VALUE_LIMIT = 10_000
"""Tensors up to this many elements are carried in full; larger ones as a Summary."""
SMALL_TENSOR = 64
"""Tensors up to this many elements take the fast path of ``snapshot``: most tensors of a
teaching graph are this small, and a graph has thousands of them."""

READABLE_DTYPES = frozenset(
    {
        torch.bool,
        *(torch.uint8, torch.uint16, torch.uint32, torch.uint64),
        *(torch.int8, torch.int16, torch.int32, torch.int64),
        *(torch.float16, torch.bfloat16, torch.float32, torch.float64),
    }
)
"""The dtypes ``tolist()`` reads as they are; others are converted first (see _plain_dtype)."""
_NO_MIN_MAX = frozenset({torch.uint16, torch.uint32, torch.uint64})
"""Readable dtypes torch has no min/max kernels for on the CPU: summarized as float64."""
_RAW_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
"""By item size: how a dtype without kernels (uint3, bits8, float4) shows its raw bits."""

_DTYPE_NAMES: dict[torch.dtype, str] = {}
_FAST_DTYPES: dict[torch.dtype, tuple[str, bool]] = {}
"""dtype -> (name, floating): the dtypes whose small tensors take the fast path."""


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``float32``."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
    return name


class ElementBudget:
    """Elements a run may copy in full, shared by all its snapshots: past it, summaries."""

    __slots__ = ("elements", "left", "refused")

    def __init__(self, elements: int) -> None:
        self.elements = self.left = elements
        self.refused = 0
        """Snapshots made summaries because the budget was spent."""

    @property
    def spent(self) -> int:
        return self.elements - self.left

    def take(self, n: int) -> bool:
        """Spend ``n`` elements if that many are left."""
        if n <= self.left:
            self.left -= n
            return True
        self.refused += 1
        return False


_BUDGET: ContextVar[ElementBudget | None] = ContextVar("gradviz_element_budget", default=None)


@contextmanager
def element_budget(elements: int) -> Iterator[ElementBudget]:
    """Within the block, at most ``elements`` tensor elements in total are snapshotted in full
    (values and gradients alike); the rest become summaries."""
    budget = ElementBudget(elements)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _in_full(numel: int, limit: int) -> bool:
    """Whether a tensor of ``numel`` elements is carried in full (and charged to the budget)."""
    if numel > limit:
        return False
    budget = _BUDGET.get()
    return budget is None or budget.take(numel)


def _fast_dtype(dtype: torch.dtype) -> tuple[str, bool] | None:
    info = _FAST_DTYPES.get(dtype)
    if info is None and dtype in READABLE_DTYPES:
        info = _FAST_DTYPES[dtype] = (dtype_name(dtype), dtype.is_floating_point)
    return info


def _fast_path(tensor: torch.Tensor, limit: int) -> tuple[str, bool] | None:
    """(dtype name, floating) when ``tensor`` is small, strided, on the CPU and of a readable
    dtype, and ``limit`` keeps such tensors in full; None otherwise."""
    if tensor.is_cpu and tensor.numel() <= SMALL_TENSOR <= limit:
        if tensor.layout == torch.strided and not (tensor.is_quantized or tensor.is_nested):
            return _fast_dtype(tensor.dtype)
    return None


def tensors_in(value: object) -> list[torch.Tensor]:
    """The tensors a call returned: the value itself, or those in a returned list or tuple."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


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


def shape_of(tensor: torch.Tensor) -> tuple[int, ...]:
    """A tensor's sizes; a nested tensor's is its number of tensors (the rest can be ragged)."""
    if tensor.is_nested:
        return (int(tensor.size(0)),)
    return tuple(tensor.shape)


def _sizes_text(shape: torch.Size | list[int]) -> str:
    return "×".join(map(str, shape)) if len(shape) else "scalar"


def _unreadable_reason(tensor: torch.Tensor) -> str | None:
    """Why a tensor's elements cannot be copied out at all, or None if they can."""
    if tensor.is_meta:
        return "meta tensor"
    if tensor.is_nested:
        parts = [_sizes_text(t.shape) for t in tensor.unbind()]
        listed = ", ".join(parts[:SUMMARY_HEAD]) + (", …" if len(parts) > SUMMARY_HEAD else "")
        return f"nested tensor of {len(parts)} tensors ({listed})"
    return None


def _strided(t: torch.Tensor, full: bool) -> tuple[torch.Tensor, str]:
    """A tensor of another layout as a strided one: dense when it is carried in full, else
    only its stored elements (a sparse tensor's dense form can be vast)."""
    layout = str(t.layout).removeprefix("torch.")
    if t.is_sparse or t.layout in _COMPRESSED:
        stored = t.coalesce().values() if t.is_sparse else t.values()
        what = f"{layout} layout, {stored.numel():,} stored elements"
        if full:
            return t.to_dense(), f"{what}, shown dense"
        return stored, f"{what}: summary of the stored elements"
    return t.to_dense(), f"{layout} layout, shown dense"


_COMPRESSED = frozenset({torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc})


def _plain_dtype(t: torch.Tensor) -> tuple[torch.Tensor, str | None]:
    """``t`` in a dtype ``tolist()`` reads, and a note when that is not its values as they are."""
    if t.dtype in READABLE_DTYPES:
        return t, None
    if t.is_quantized:
        return t.dequantize(), f"quantized ({str(t.qscheme()).removeprefix('torch.')}), dequantized"
    if t.is_complex():
        return _plain_dtype(t.real)[0], "complex: real parts shown"
    try:  # float8 and the like convert exactly
        return t.to(torch.float32 if t.is_floating_point() else torch.int64), None
    except (RuntimeError, NotImplementedError):  # a dtype without kernels: its bits
        raw = _RAW_BITS[t.dtype.itemsize]
        note = f"no arithmetic for {dtype_name(t.dtype)}: raw bits as {dtype_name(raw)}"
        return t.view(raw), note


def _head(t: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` elements in row-major order, without copying the rest (an expanded
    tensor can be far bigger than its storage)."""
    if t.is_contiguous():
        return t.reshape(-1)[:n]
    index = torch.unravel_index(torch.arange(min(n, t.numel())), t.shape)
    return t[index]


def _summary(t: torch.Tensor) -> Summary:
    if t.dtype in _NO_MIN_MAX:
        t = t.double()
    if t.numel() == 0:
        return Summary(min="nan", max="nan", mean="nan", head=())
    mean = float(t.sum(dtype=torch.float64)) / t.numel()
    return Summary(
        min=finite_or_text(float(t.min())),
        max=finite_or_text(float(t.max())),
        mean=finite_or_text(mean),
        head=tuple(finite_or_text(float(v)) for v in _head(t, SUMMARY_HEAD).tolist()),
    )


def _as_lists(t: torch.Tensor) -> Nested:
    data = t.tolist()
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        data = _clean(data)
    return data


def snapshot(tensor: torch.Tensor, limit: int = FULL_VALUE_LIMIT) -> TensorValue:
    """Copy a tensor's data out as plain Python (detached, on the CPU); never raises.

    Args:
        tensor: Any tensor torch can make: complex ones are shown by their real part, other
            dtypes and layouts converted (and noted), a meta tensor kept without values.
        limit: Largest element count carried in full (less once a run's element_budget is
            spent).

    Returns:
        A TensorValue with ``data`` (nested lists) or, past ``limit``, a ``summary``; with
        neither, and a ``note`` saying why, when the values cannot be read.
    """
    fast = _fast_path(tensor, limit)
    if fast is not None:
        if not _in_full(tensor.numel(), limit):
            return snapshot(tensor, 0)  # the run's budget is spent: a summary
        # Most tensors of a graph: tolist() needs neither no_grad nor detach, and a
        # finiteness check on the Python floats is cheaper than torch.isfinite here.
        data = tensor.tolist()
        if fast[1] and not _all_finite(data):
            data = _clean(data)
        return TensorValue(tuple(tensor.shape), fast[0], data)
    try:
        with torch.no_grad(), torch._C.DisableTorchFunction():  # gradviz's copy
            return _snapshot(tensor, limit)
    except Exception as e:  # torch has more kinds of tensor than any list: say what failed
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        return _unreadable(tensor, f"{type(e).__name__}: {reason}".rstrip(": "))


def _snapshot(tensor: torch.Tensor, limit: int) -> TensorValue:
    shape, dtype = shape_of(tensor), dtype_name(tensor.dtype)
    reason = _unreadable_reason(tensor)
    if reason is not None:
        return TensorValue(shape, dtype, note=f"values not readable: {reason}")
    t, notes = tensor.detach(), []
    full = _in_full(t.numel(), limit)
    if t.layout != torch.strided:
        t, layout_note = _strided(t, full)
        notes.append(layout_note)
    if t.device.type != "cpu":
        t = t.cpu()
    t, dtype_note = _plain_dtype(t)
    if dtype_note:
        notes.append(dtype_note)
    joined = "; ".join(notes) or None
    if full:
        return TensorValue(shape, dtype, _as_lists(t), note=joined)
    return TensorValue(shape, dtype, summary=_summary(t), note=joined)


def _unreadable(tensor: torch.Tensor, reason: str) -> TensorValue:
    try:
        shape = shape_of(tensor)
    except Exception:  # even its sizes are out of reach
        shape = ()
    return TensorValue(shape, dtype_name(tensor.dtype), note=f"values not readable: {reason}")


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

    def __init__(self, shape: tuple[int, ...], dtype: str, copies: _Copies, index: int) -> None:
        super().__init__(shape, dtype)
        # Set after __init__, whose data=None clears _copies through the property below; with
        # object's setattr, as the frozen dataclass's own refuses (and these are not fields).
        object.__setattr__(self, "_copies", copies)
        object.__setattr__(self, "_index", index)

    @property
    def data(self) -> Nested | None:
        copies = self._copies
        if copies is not None:
            _DATA_SLOT.__set__(self, copies.rows()[self._index])
            object.__setattr__(self, "_copies", None)
        return _DATA_SLOT.__get__(self)

    @data.setter
    def data(self, value: Nested | None) -> None:
        _DATA_SLOT.__set__(self, value)
        object.__setattr__(self, "_copies", None)

    def __eq__(self, other: object) -> bool:  # equal to the plain TensorValue it stands for
        if not isinstance(other, TensorValue):
            return NotImplemented
        return (self.shape, self.dtype, self.data, self.summary, self.note) == (
            other.shape,
            other.dtype,
            other.data,
            other.summary,
            other.note,
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as the plain TensorValue it stands for
        return (TensorValue, (self.shape, self.dtype, self.data, self.summary, self.note))


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
        if not _in_full(tensor.numel(), self.limit):
            return snapshot(tensor, 0)  # the run's budget is spent: a summary
        shape = tensor.shape
        key = (tensor.dtype, shape)
        copies = self._groups.get(key)
        if copies is None:
            copies = self._groups[key] = _Copies()
        value = _CopiedValue(tuple(shape), fast[0], copies, len(copies.tensors))
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
