"""Size and cost estimates made BEFORE torch or numpy allocates anything.

Every function here works on shapes and argument values only. Tensor metadata is read with
torch functions disabled, so an active TorchFunctionMode (the recorder) never sees it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch

from gradviz.errors import LimitExceeded
from gradviz.limits import Limits
from gradviz.values import tensors_in

Shape = tuple[int, ...]
_NO_TF = torch._C.DisableTorchFunction
MAX_DIMS = 64


def numel(shape: Iterable[int]) -> int:
    return math.prod(shape)


def shape_of(x: object) -> Shape | None:
    """The shape of a tensor, array, scalar or nested list; None for anything else."""
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            return tuple(x.shape)
    if isinstance(x, np.ndarray | np.generic):
        return tuple(x.shape)
    if isinstance(x, (bool, int, float, complex)):
        return ()
    if isinstance(x, (list, tuple, range)):
        return tuple(sequence_shape(x))
    return None


def tensor_numel(x: torch.Tensor) -> int:
    with _NO_TF():
        return int(x.numel())


def sequence_shape(data: object) -> list[int]:
    """Shape that torch.tensor / np.array would give ``data``, read from first elements.

    torch sizes its result from the first element at each level before filling it, so this
    is exactly what it would allocate; ragged data fails later, inside torch.
    """
    shape: list[int] = []
    x = data
    while isinstance(x, (list, tuple, range)):
        n = len(x)
        shape.append(n)
        if len(shape) > MAX_DIMS:
            raise LimitExceeded(f"the data nests deeper than {MAX_DIMS} levels")
        if n == 0:
            return shape
        x = x[0]
    if isinstance(x, torch.Tensor | np.ndarray):
        extra = shape_of(x) or ()
        shape.extend(extra)
    return shape


def broadcast_shape(shapes: Sequence[Shape]) -> Shape | None:
    """numpy/torch broadcasting of ``shapes``; None when they do not broadcast."""
    if len(shapes) == 2:  # the usual case: same shapes, or one side a scalar
        a, b = shapes
        if a == b or not b:
            return a
        if not a:
            return b
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        offset = ndim - len(s)
        for i, d in enumerate(s):
            o = out[offset + i]
            if o == 1:
                out[offset + i] = d
            elif d not in (1, o):
                return None
    return tuple(out)


def matmul_cost(a: Shape, b: Shape) -> tuple[int, int] | None:
    """(result elements, multiply-adds) of ``a @ b``; None when the shapes do not match."""
    if not a or not b:
        return None
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    n, k = a2[-2], a2[-1]
    k2, m = b2[-2], b2[-1]
    if k != k2:
        return None
    batch = broadcast_shape([a2[:-2], b2[:-2]])
    if batch is None:
        return None
    rows = n if len(a) > 1 else 1
    cols = m if len(b) > 1 else 1
    out = numel(batch) * rows * cols
    return out, out * k


def as_dims(value: object) -> list[int] | None:
    """A size argument as a list of ints: an int, a sequence of ints or a torch.Size."""
    if isinstance(value, torch.Tensor):
        with _NO_TF():
            if value.dim() == 0:
                return [operator.index(value)]
            return None
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_DIMS:
            raise LimitExceeded(f"a size with {len(value)} dimensions (at most {MAX_DIMS})")
        dims = []
        for v in value:
            d = _as_int(v)
            if d is None:
                return None
            dims.append(d)
        return dims
    d = _as_int(value)
    return None if d is None else [d]


def _as_int(v: object) -> int | None:
    if isinstance(v, bool):
        return int(v)
    try:
        return operator.index(v)  # type: ignore[arg-type]
    except TypeError:
        return None


def size_from(args: Sequence[object], kwargs: dict[str, Any], first: int = 0) -> list[int] | None:
    """The size of a factory call: ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if "size" in kwargs:
        return as_dims(kwargs["size"])
    rest = args[first:]
    if rest and not isinstance(rest[0], bool | int | float):
        return as_dims(rest[0])  # a sequence or torch.Size, maybe followed by a fill value
    dims: list[int] = []
    for a in rest:
        d = _as_int(a) if not isinstance(a, float) else None
        if d is None:
            break
        dims.append(d)
    return dims


def _real(x: object, default: float) -> float:
    if x is None:
        return default
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            return float(x.item()) if x.numel() == 1 else default
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.inf


def arange_length(args: Sequence[object], kwargs: dict[str, Any]) -> int:
    """Elements of arange(end) / arange(start, end, step) for torch or numpy."""
    pos = list(args[:3])
    names = ("start", "end", "step") if len(pos) >= 2 else ("end",)
    params = dict(zip(names, pos, strict=False))
    for key in ("start", "end", "stop", "step"):
        if key in kwargs:
            params["end" if key == "stop" else key] = kwargs[key]
    start = _real(params.get("start"), 0.0)
    end = _real(params.get("end"), 0.0)
    step = _real(params.get("step"), 1.0)
    if step == 0 or math.isnan(start + end + step):
        return 0
    span = (end - start) / step
    if math.isinf(span):
        return 2**62
    return max(0, math.ceil(span))


def strided_storage(size: Sequence[int], stride: Sequence[int]) -> int:
    """Elements of storage that empty_strided needs (strides can make it far larger)."""
    if any(s == 0 for s in size):
        return 0
    return 1 + sum((s - 1) * abs(st) for s, st in zip(size, stride, strict=False))


def index_numel(shape: Shape, key: object) -> int:
    """Upper bound of the elements of ``x[key]`` for advanced (tensor/list/bool) indexing."""
    keys = key if isinstance(key, tuple) else (key,)
    used = sum(_index_dims(k) for k in keys if k is not None and k is not Ellipsis)
    kept: list[int] = []
    adv: list[Shape] = []
    dim = 0
    for k in keys:
        if k is None:
            continue
        if k is Ellipsis:
            skip = max(0, len(shape) - used)
            kept.extend(shape[dim : dim + skip])
            dim += skip
            continue
        size = shape[dim] if dim < len(shape) else 1
        ks = shape_of(k) if not isinstance(k, (int, slice)) else None
        if isinstance(k, slice) or ks is None:
            kept.append(size if isinstance(k, slice) else 1)
            dim += 1
        elif _is_bool(k):
            n = _index_dims(k)
            adv.append((numel(shape[dim : dim + n]),))
            dim += n
        else:
            adv.append(ks)
            dim += 1
    kept.extend(shape[dim:])
    index = broadcast_shape(adv) if adv else ()
    return numel(kept) * numel(index or (max((numel(s) for s in adv), default=1),))


def _is_bool(k: object) -> bool:
    if isinstance(k, torch.Tensor):
        return bool(k.dtype == torch.bool)
    if isinstance(k, np.ndarray):
        return bool(k.dtype == np.bool_)
    x = k
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, bool) and x is not k


def _index_dims(k: object) -> int:
    if _is_bool(k):
        s = shape_of(k)
        return len(s) if s else 1
    return 1


def einsum_flops(equation: str, shapes: Sequence[Shape], out_numel: int) -> int:
    """Multiply-adds of an einsum: the output times every summed-over index."""
    eq = equation.replace(" ", "")
    inputs, _, output = eq.partition("->")
    terms = inputs.split(",")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=False):
        letters = [c for c in term.replace("...", "") if c.isalpha()]
        tail = shape[len(shape) - len(letters) :] if "..." in term else shape
        for c, d in zip(letters, tail, strict=False):
            sizes[c] = max(sizes.get(c, 1), d)
    if not _:
        once = [c for c in sizes if inputs.count(c) == 1]
        output = "".join(once)
    summed = [d for c, d in sizes.items() if c not in output]
    return out_numel * numel(summed)


def meta_like(value: object, depth: int = 0) -> object:
    """A stand-in on the "meta" device: same shape and dtype, no data."""
    if isinstance(value, torch.Tensor):
        return torch.empty(tuple(value.shape), dtype=value.dtype, device="meta")
    if depth < 2 and isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        items = [meta_like(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def meta_numels(
    fn: Callable[..., object], args: Sequence[object], kwargs: dict[str, Any]
) -> list[int] | None:
    """Elements of each tensor ``fn`` would return, from a dry run on meta tensors.

    None when the function cannot run on meta (data-dependent sizes, missing kernels).
    Runs with torch functions disabled and autograd off: invisible, and it allocates nothing.
    """
    try:
        with _NO_TF(), torch.no_grad():
            margs = [meta_like(a) for a in args]
            mkwargs = {k: meta_like(v) for k, v in kwargs.items()}
            out = fn(*margs, **mkwargs)
            return [int(t.numel()) for t in tensors_in(out)]
    except Exception:  # the dry run is only an estimate: any failure means "unknown"
        return None


def check_elements(n: int, limits: Limits, what: str = "the result") -> None:
    """Refuse a single tensor or array of ``n`` elements past max_tensor_elements."""
    if n > limits.max_tensor_elements:
        raise LimitExceeded(
            f"{what} would have {n} elements, more than {limits.max_tensor_elements} "
            "(limit max_tensor_elements)"
        )


def check_flops(n: int, limits: Limits, what: str = "the product") -> None:
    """Refuse a product of ``n`` multiply-adds past max_matmul_flops."""
    if n > limits.max_matmul_flops:
        raise LimitExceeded(
            f"{what} would take {n} multiply-adds, more than {limits.max_matmul_flops} "
            "(limit max_matmul_flops)"
        )


def int_bits(x: int) -> int:
    return max(1, abs(x).bit_length())


def pow_bits(base: int, exp: int) -> int:
    """About the bits of ``base ** exp`` for ints (1 when the result stays small or is a float)."""
    if exp <= 0 or abs(base) <= 1:
        return 1
    return int(math.log2(abs(base)) * exp) + 1
