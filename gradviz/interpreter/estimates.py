"""Estimates of a call's result from its arguments: products, numpy sizes, signatures."""

from __future__ import annotations

import math
import types
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gradviz.interpreter import guard_tables as tables
from gradviz.interpreter import guards as g

Args = Sequence[object]
Kwargs = dict[str, Any]
_NO_TF = torch._C.DisableTorchFunction


def tshape(x: object) -> g.Shape | None:
    if isinstance(x, torch.Tensor | np.ndarray):
        return g.shape_of(x)
    return None


_MATMULS = frozenset({"matmul", "mm", "bmm", "mv", "__matmul__", "__rmatmul__", "linalg_matmul"})


def plain_product(name: str, args: Args) -> tuple[int, int] | None:
    """(elements, multiply-adds) of matmul-like calls and linear, from shapes alone."""
    if len(args) < 2 or not all(isinstance(a, torch.Tensor) for a in args[:2]):
        return None
    a, b = g.shape_of(args[0]) or (), g.shape_of(args[1]) or ()
    if name in _MATMULS:
        return g.matmul_cost(b, a) if name == "__rmatmul__" else g.matmul_cost(a, b)
    if name == "linear" and a and len(b) == 2 and a[-1] == b[1]:
        out = g.numel(a[:-1]) * b[0]
        return out, out * b[1]
    return None


def signature(fn: object, args: Args, kwargs: Kwargs) -> tuple[object, ...] | None:
    """A hashable summary of a call (function, tensor shapes and dtypes, plain values)."""
    parts: list[object] = [id(fn)]
    for value in [*args, *sorted(kwargs.items())]:
        part = _part(value)
        if part is None:
            return None
        parts.append(part)
    return tuple(parts)


def _part(value: object, depth: int = 0) -> object:
    if isinstance(value, torch.Tensor):
        with _NO_TF():
            return ("T", tuple(value.shape), value.dtype)
    if value is None or isinstance(value, bool | int | float | str | torch.dtype):
        return ("V", type(value), value)
    if isinstance(value, tuple | list) and depth < 2 and len(value) <= 16:
        items = [_part(v, depth + 1) for v in value]
        return None if any(i is None for i in items) else ("S", type(value), tuple(items))
    return None


def has_tensor(x: object) -> bool:
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, list | tuple) and len(x) <= 64:
        return any(isinstance(v, torch.Tensor) for v in x)
    return False


def is_function(x: object) -> bool:
    return (
        isinstance(x, types.FunctionType | types.MethodType) or type(x).__name__ == "UserFunction"
    )


def flat_ints(x: object) -> list[int]:
    if isinstance(x, bool):
        return []
    if isinstance(x, int):
        return [x]
    if isinstance(x, list | tuple) and len(x) <= g.MAX_DIMS:
        return [i for i in x if isinstance(i, int) and not isinstance(i, bool)]
    return []


def module_tensors(module: object) -> list[torch.Tensor]:
    if not isinstance(module, torch.nn.Module):
        return []
    return [*module.parameters(), *module.buffers()]


def lgamma_bits(n: int) -> int:
    return int(math.lgamma(n) / math.log(2)) + 1 if n > 2 else 1


def np_dot(a: g.Shape, b: g.Shape) -> tuple[int, int] | None:
    if not a or not b:
        return None
    k = a[-1]
    rest_b = b[:-2] + b[-1:] if len(b) >= 2 else ()
    out = g.numel(a[:-1]) * g.numel(rest_b)
    return out, out * k


def product_flops(name: str, args: Args, kwargs: Kwargs, out: int) -> int:
    shapes = [g.shape_of(a) or () for a in args if isinstance(a, torch.Tensor)]
    if name in ("addmm", "addbmm", "baddbmm", "addmv") and len(shapes) >= 3:
        cost = g.matmul_cost(shapes[1], shapes[2])
        return cost[1] if cost else out
    if name == "__rmatmul__" and len(shapes) >= 2:
        shapes = [shapes[1], shapes[0]]
    if (
        name
        in (
            "matmul",
            "mm",
            "bmm",
            "mv",
            "dot",
            "vdot",
            "__matmul__",
            "__rmatmul__",
            "__imatmul__",
            "linalg_matmul",
        )
        and len(shapes) >= 2
    ):
        cost = g.matmul_cost(shapes[0], shapes[1])
        return cost[1] if cost else out
    if name == "einsum" and args and isinstance(args[0], str):
        ops = args[1] if len(args) == 2 and isinstance(args[1], list | tuple) else args[1:]
        return g.einsum_flops(args[0], [g.shape_of(o) or () for o in ops], out)
    if name in ("linear", "inner", "cdist") and shapes:
        return (
            out * (shapes[-1 if name == "cdist" else 1 if name == "linear" else 0][-1:] or (1,))[0]
        )
    if name.startswith("conv") and len(shapes) >= 2:
        return out * g.numel(shapes[1][1:])
    if name == "bilinear" and len(shapes) >= 3:
        return out * g.numel(shapes[2][1:])
    if name == "tensordot" and len(shapes) >= 2 and out:
        both = g.numel(shapes[0]) * g.numel(shapes[1])
        return out * max(1, math.isqrt(both // out))
    return out


def numpy_estimate(name: str, args: Args, kwargs: Kwargs) -> int | None:
    size = g.shape_of
    if name in ("zeros", "ones", "empty", "full", "ndarray"):
        return g.numel(g.as_dims(args[0] if args else kwargs.get("shape")) or ())
    if name == "arange":
        return g.arange_length(args, kwargs)
    if name in ("linspace", "logspace"):
        return g.numel(g.as_dims(kwargs.get("num", args[2] if len(args) > 2 else 50)) or ())
    if name in ("eye", "tri", "identity"):
        dims = g.size_from(args[:2], {})
        n = dims[0] if dims else 0
        return n * (dims[1] if dims and len(dims) > 1 and name != "identity" else n)
    if name in ("rand", "randn"):
        return g.numel(g.size_from(args, {}) or ())
    if name in tables.NUMPY_RANDOM_SIZE:
        i = tables.NUMPY_RANDOM_SIZE[name]
        s = kwargs.get("size", args[i] if len(args) > i else None)
        return g.numel(g.as_dims(s) or ()) if s is not None else None
    if name == "permutation" and args and isinstance(args[0], int):
        return args[0]
    shapes = [size(a) or () for a in args]
    if name in ("outer", "kron") and len(shapes) >= 2:
        return g.numel(shapes[0]) * g.numel(shapes[1])
    if name == "tile" and len(args) >= 2:
        return g.numel(shapes[0]) * g.numel(g.as_dims(args[1]) or ())
    if name == "repeat" and len(args) >= 2:
        reps = g.as_dims(args[1]) or [max(flat_ints(args[1]) or [1])]
        return g.numel(shapes[0]) * max(reps or [1])
    if name == "broadcast_to" and len(args) >= 2:
        return g.numel(g.as_dims(args[1]) or ())
    if name == "diag" and shapes and len(shapes[0]) == 1:
        return (shapes[0][0] + abs(int(kwargs.get("k", args[1] if len(args) > 1 else 0)))) ** 2
    if name == "meshgrid":
        return g.numel(g.numel(s) for s in shapes) * len(shapes)
    if name in ("concatenate", "stack", "vstack", "hstack", "column_stack") and args:
        parts = args[0] if isinstance(args[0], list | tuple) else []
        return sum(g.numel(size(p) or ()) for p in parts)
    return None
