"""Checks made before a torch, numpy or math call runs, and the tally of what calls created."""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gradviz.interpreter import guard_tables as tables
from gradviz.interpreter import guards as g
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.policy import MODULE_ATTRIBUTES, MODULES

Args = Sequence[object]
Kwargs = dict[str, Any]
_NO_TF = torch._C.DisableTorchFunction
_LEGACY_TENSORS = frozenset(
    getattr(torch, n)
    for n in "Tensor FloatTensor DoubleTensor LongTensor IntTensor BoolTensor ByteTensor "
    "HalfTensor ShortTensor CharTensor".split()
)
_OPAQUE_OWNERS = (
    torch.nn.Module,
    torch.optim.Optimizer,
    torch.optim.lr_scheduler.LRScheduler,
    torch.optim.lr_scheduler.ReduceLROnPlateau,
)


def _identities() -> dict[int, tuple[object, str, str]]:
    """id -> (object, family, name) for every allowed module attribute and Tensor method."""
    found: dict[int, tuple[object, str, str]] = {}
    for module_name, names in MODULE_ATTRIBUTES.items():
        module = MODULES.get(module_name) or torch.random
        family = module_name.split(".")[0]
        for name in names:
            value = getattr(module, name, None)
            if callable(value) and id(value) not in found:
                found[id(value)] = (value, family, name)
    for name in dir(torch.Tensor):
        value = getattr(torch.Tensor, name, None)
        if callable(value) and id(value) not in found:
            found[id(value)] = (value, "tensor", name)
    return found


_IDS = _identities()


def identify(fn: object) -> tuple[str, str]:
    """(family, name) of a callable: torch, tensor, numpy, ndarray, math, module, opaque, other."""
    entry = _IDS.get(id(fn))
    if entry is not None and entry[0] is fn and not isinstance(fn, type):
        return entry[1], entry[2]
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "") or ""
    if isinstance(owner, torch.Tensor):
        return "tensor", name
    if isinstance(owner, np.ndarray):
        return "ndarray", name
    if isinstance(owner, np.random.Generator | np.random.RandomState):
        return "numpy", name
    if isinstance(fn, type):
        if fn in _LEGACY_TENSORS:
            return "legacy", fn.__name__
        if issubclass(fn, torch.nn.Module):
            return "module", fn.__name__
        if fn is np.ndarray:
            return "numpy", "ndarray"
        if entry is not None and entry[0] is fn:
            return entry[1], entry[2]  # torch.Size, torch.no_grad...: checked by name
        return "other", name
    if isinstance(fn, torch.nn.Module) or isinstance(owner, _OPAQUE_OWNERS):
        return "opaque", name
    return "other", name


class CallGuard:
    """Estimates the size and cost of a call before it runs; counts what it created after."""

    def __init__(self, budget: Budget, dry_run_user: Callable[[object, Args], object]) -> None:
        self.budget = budget
        self.limits = budget.limits
        self.dry_run_user = dry_run_user
        self.counting = True

    # -- before ------------------------------------------------------------------------------
    def before(self, family: str, name: str, fn: object, args: Args, kwargs: Kwargs) -> None:
        owner = getattr(fn, "__self__", None)
        if family in ("tensor", "ndarray") and owner is not None:
            args = (owner, *args)
            if family == "tensor":
                fn = getattr(torch.Tensor, name, fn)  # the unbound method, for the dry run
        if family in ("torch", "tensor"):
            self.torch_call(name, fn, args, kwargs)
        elif family in ("numpy", "ndarray"):
            self.numpy_call(name, args, kwargs)
        elif family == "math":
            self.math_call(name, args)
        elif family == "legacy":
            self._sequences(args)
            self._elements(self._legacy_size(args))
        elif family == "module":
            self.module_ctor(fn, args, kwargs)

    def torch_call(self, name: str, fn: object, args: Args, kwargs: Kwargs) -> None:
        """Check a torch function or Tensor method (unbound, ``args[0]`` is self)."""
        if name in tables.SAFE or (name.endswith("_") and not name.startswith("_")):
            if name == "tolist":
                self.budget.check_length(self._largest(args), "list")
            return
        self._sequences([*args, *kwargs.values()])
        if name in tables.ELEMENTWISE:
            shapes = [s for s in (_tshape(a) for a in [*args, *kwargs.values()]) if s is not None]
            out = g.broadcast_shape(shapes)
            if out is not None:
                self._elements(g.numel(out))
            return
        if name in tables.TORCH_FACTORIES:
            self._elements(self._factory(name, args, kwargs))
            return
        special = _SPECIAL.get(name)
        if special is not None:
            special(self, args, kwargs)
            return
        if name in tables.CUBIC or name.startswith("linalg_"):
            self._cubic(args)
        values = [*args, *kwargs.values()]
        if any(_is_function(a) for a in values):
            return  # never run the program's own functions in a dry run
        if not any(_has_tensor(a) for a in values):
            return  # not a factory and no tensor to grow from
        sizes = g.meta_numels(fn, args, kwargs)  # type: ignore[arg-type]
        if sizes is None:
            ints = [d for a in [*args, *kwargs.values()] for d in (_flat_ints(a))]
            sizes = [max(self._largest(args), 1) * g.numel(ints)]
        for n in sizes:
            self._elements(n)
        if name in tables.PRODUCTS:
            g.check_flops(_product_flops(name, args, kwargs, sum(sizes)), self.limits)

    def operator(self, op: str, a: object, b: object) -> None:
        """A Python operator on tensors or arrays: broadcasting, or a matrix product."""
        sa, sb = g.shape_of(a), g.shape_of(b)
        if sa is None or sb is None:
            return
        if op == "@":
            cost = g.matmul_cost(sa, sb)
            if cost is not None:
                self._elements(cost[0])
                g.check_flops(cost[1], self.limits, "the matrix product")
            return
        out = g.broadcast_shape([sa, sb])
        if out is not None:
            self._elements(g.numel(out))

    def index(self, obj: object, key: object) -> None:
        """Advanced indexing (tensors, lists, bool masks as keys) can grow the result."""
        if type(key) in (int, slice) or not isinstance(obj, torch.Tensor | np.ndarray):
            return
        keys = key if isinstance(key, tuple) else (key,)
        if all(k is None or k is Ellipsis or type(k) in (int, slice, bool) for k in keys):
            return
        self._sequences(keys)
        shape = g.shape_of(obj)
        if shape is not None:
            self._elements(g.index_numel(shape, key), "the indexing result")

    def numpy_call(self, name: str, args: Args, kwargs: Kwargs) -> None:
        self._sequences([*args, *kwargs.values()])
        est = _numpy_estimate(name, args, kwargs)
        if est is not None:
            self._elements(est)
        if name == "dot" or name == "matmul" or name == "inner":
            sa, sb = (g.shape_of(a) for a in [*args, None, None][:2])
            if sa and sb:
                cost = g.matmul_cost(sa, sb) if name == "matmul" else _np_dot(sa, sb)
                if cost is not None:
                    self._elements(cost[0])
                    g.check_flops(cost[1], self.limits)
        if name in tables.NUMPY_CUBIC or name == "svd":
            self._cubic(args)
        if name in tables.NUMPY_ELEMENTWISE:
            shapes = [s for s in (g.shape_of(a) for a in args) if s is not None]
            out = g.broadcast_shape(shapes)
            if out is not None:
                self._elements(g.numel(out))

    def math_call(self, name: str, args: Args) -> None:
        ints = [a for a in args if isinstance(a, int)]
        if name == "factorial" and ints:
            self.budget.check_int_bits(_lgamma_bits(ints[0] + 1))
        elif name in ("comb", "perm") and len(ints) >= 1:
            n = ints[0]
            k = ints[1] if len(ints) > 1 else n
            bits = _lgamma_bits(n + 1) - _lgamma_bits(n - k + 1) if 0 <= k <= n else 1
            if name == "comb" and 0 <= k <= n:
                bits -= _lgamma_bits(k + 1)
            self.budget.check_int_bits(bits)
        elif name == "lcm":
            self.budget.check_int_bits(sum(g.int_bits(i) for i in ints))

    def module_ctor(self, cls: object, args: Args, kwargs: Kwargs) -> None:
        """Build the module on the meta device first and count its parameters."""
        if any(_is_function(a) or isinstance(a, torch.nn.Module) for a in args):
            return
        try:
            with _NO_TF(), torch.no_grad():
                module = cls(*args, **{**kwargs, "device": "meta"})  # type: ignore[operator]
                sizes = [int(t.numel()) for t in _module_tensors(module)]
        except Exception:  # no device argument (no parameters of its own) or bad arguments
            return
        for n in sizes:
            self._elements(n, "a parameter of the module")
        self._elements_total(sum(sizes))

    # -- after --------------------------------------------------------------------------------
    def account(self, result: object, args: Args = ()) -> None:
        """Count the elements of new tensors and arrays towards max_total_elements."""
        if not self.counting:
            return
        if isinstance(result, torch.Tensor):
            if args and result is args[0]:
                return
            with _NO_TF():
                if not result._is_view():
                    self.budget.add_elements(int(result.numel()))
        elif isinstance(result, np.ndarray):
            if result.base is None:
                self.budget.add_elements(int(result.size))
        elif isinstance(result, tuple | list) and len(result) <= 64:
            for item in result:
                if isinstance(item, torch.Tensor | np.ndarray):
                    self.account(item, args)
        elif isinstance(result, torch.nn.Module):
            self.budget.add_elements(sum(int(t.numel()) for t in _module_tensors(result)))

    # -- helpers ------------------------------------------------------------------------------
    def _elements(self, n: int | None, what: str = "the result") -> None:
        if n is not None:
            g.check_elements(n, self.limits, what)
            if n > self.limits.max_total_elements - self.budget.total_elements:
                self.budget.add_elements(n)  # raises with the max_total_elements message

    def _elements_total(self, n: int) -> None:
        if n > self.limits.max_total_elements - self.budget.total_elements:
            self.budget.add_elements(n)

    def _sequences(self, values: Args) -> None:
        """Lists and ranges given to torch/numpy become tensors: check them before."""
        for v in values:
            if isinstance(v, list | tuple | range) and not isinstance(v, torch.Size):
                if len(v) > 16 or (v and isinstance(v[0], list | tuple | range)):
                    self._elements(g.numel(g.sequence_shape(v)), "the data")

    def _largest(self, args: Args) -> int:
        return max((g.tensor_numel(a) for a in args if isinstance(a, torch.Tensor)), default=0)

    def _legacy_size(self, args: Args) -> int:
        if len(args) == 1 and not isinstance(args[0], int):
            if isinstance(args[0], torch.Size):
                return g.numel(args[0])
            return g.numel(g.shape_of(args[0]) or ())
        dims = g.as_dims(list(args)) if args else []
        return g.numel(dims or ())

    def _factory(self, name: str, args: Args, kwargs: Kwargs) -> int | None:
        if name in ("tensor", "as_tensor", "asarray", "new_tensor"):
            data = args[1] if name == "new_tensor" and len(args) > 1 else kwargs.get("data")
            data = args[0] if data is None and args and name != "new_tensor" else data
            return g.numel(g.shape_of(data) or ())
        if name in ("arange", "range"):
            return g.arange_length(args, kwargs)
        if name in ("linspace", "logspace"):
            steps = kwargs.get("steps", args[2] if len(args) > 2 else 100)
            return g.numel(g.as_dims(steps) or ())
        if name in ("eye", "tril_indices", "triu_indices"):
            dims = g.size_from(args, {})
            rows = dims[0] if dims else 0
            cols = dims[1] if dims and len(dims) > 1 else kwargs.get("m", rows)
            return rows * int(cols) * (2 if name != "eye" else 1)
        if name == "vander":
            x = args[0] if args else kwargs.get("x")
            n = kwargs.get("N", args[1] if len(args) > 1 else None)
            length = self._largest([x])
            return length * int(n if n is not None else length)
        if name in ("empty_strided", "new_empty_strided"):
            first = 1 if name.startswith("new") else 0
            size = g.as_dims(args[first] if len(args) > first else kwargs.get("size"))
            stride = g.as_dims(args[first + 1] if len(args) > first + 1 else kwargs.get("stride"))
            return g.strided_storage(size or [], stride or [])
        first = {"full": 0, "randint": 0, "normal": 2, "new": 1}.get(name, 0)
        if name.startswith("new_"):
            first = 1
        if name == "randint":
            seqs = [i for i, a in enumerate(args) if not isinstance(a, int)]
            first = seqs[0] if seqs else len(args)
        if name == "full":
            return g.numel(g.as_dims(args[0] if args else kwargs.get("size")) or ())
        if name == "normal" and "size" not in kwargs and len(args) <= 2:
            return max(self._largest(args), 1)
        dims = g.size_from(args, kwargs, first)
        return g.numel(dims) if dims is not None else None

    def _cubic(self, args: Args) -> None:
        shape = next((s for s in (g.shape_of(a) for a in args) if s and len(s) >= 2), None)
        if shape is not None:
            m, n = shape[-2], shape[-1]
            g.check_flops(g.numel(shape[:-2]) * m * n * min(m, n), self.limits, "the decomposition")
            if len(args) and isinstance(args[0], np.ndarray):
                self._elements(m * m + n * n)


def _tshape(x: object) -> g.Shape | None:
    if isinstance(x, torch.Tensor | np.ndarray):
        return g.shape_of(x)
    return None


def _has_tensor(x: object) -> bool:
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, list | tuple) and len(x) <= 64:
        return any(isinstance(v, torch.Tensor) for v in x)
    return False


def _is_function(x: object) -> bool:
    return (
        isinstance(x, types.FunctionType | types.MethodType) or type(x).__name__ == "UserFunction"
    )


def _flat_ints(x: object) -> list[int]:
    if isinstance(x, bool):
        return []
    if isinstance(x, int):
        return [x]
    if isinstance(x, list | tuple) and len(x) <= g.MAX_DIMS:
        return [i for i in x if isinstance(i, int) and not isinstance(i, bool)]
    return []


def _module_tensors(module: object) -> list[torch.Tensor]:
    if not isinstance(module, torch.nn.Module):
        return []
    return [*module.parameters(), *module.buffers()]


def _lgamma_bits(n: int) -> int:
    return int(math.lgamma(n) / math.log(2)) + 1 if n > 2 else 1


def _np_dot(a: g.Shape, b: g.Shape) -> tuple[int, int] | None:
    if not a or not b:
        return None
    k = a[-1]
    rest_b = b[:-2] + b[-1:] if len(b) >= 2 else ()
    out = g.numel(a[:-1]) * g.numel(rest_b)
    return out, out * k


def _product_flops(name: str, args: Args, kwargs: Kwargs, out: int) -> int:
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


def _numpy_estimate(name: str, args: Args, kwargs: Kwargs) -> int | None:
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
        reps = g.as_dims(args[1]) or [max(_flat_ints(args[1]) or [1])]
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


def _repeat_interleave(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else None
    reps = kwargs.get("repeats", args[1] if len(args) > 1 else None)
    n = guard._largest([x]) if isinstance(x, torch.Tensor) else 1
    if isinstance(reps, torch.Tensor):
        with _NO_TF():
            total = int(reps.sum()) if reps.numel() > 1 else int(reps.max()) * n
    elif isinstance(reps, int):
        total = reps * n
    elif isinstance(x, torch.Tensor) and reps is None:
        with _NO_TF():
            total = int(x.sum())
    else:
        total = n
    guard._elements(total)


def _bincount(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else kwargs.get("input")
    minlength = int(kwargs.get("minlength", args[2] if len(args) > 2 else 0))
    top = 0
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            top = int(x.max()) + 1 if x.numel() else 0
    guard._elements(max(top, minlength))


def _one_hot(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else kwargs.get("tensor")
    classes = int(kwargs.get("num_classes", args[1] if len(args) > 1 else -1))
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            if classes < 0:
                classes = int(x.max()) + 1 if x.numel() else 0
            guard._elements(int(x.numel()) * classes)


def _bins(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    bins = kwargs.get("bins", args[1] if len(args) > 1 else 100)
    guard._elements(g.numel(g.as_dims(bins) or ()))


def _multinomial(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    probs = args[0] if args else kwargs.get("input")
    n = int(kwargs.get("num_samples", args[1] if len(args) > 1 else 1))
    rows = 1
    if isinstance(probs, torch.Tensor):
        shape = g.shape_of(probs) or ()
        rows = g.numel(shape[:-1])
    guard._elements(rows * n)


def _jacobian(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    """Refuse a Jacobian bigger than max_tensor_elements (input numel x output numel)."""
    func = args[0] if args else kwargs.get("func")
    inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
    flat = list(inputs) if isinstance(inputs, tuple | list) else [inputs]
    n_in = sum(g.tensor_numel(t) for t in flat if isinstance(t, torch.Tensor))
    guard._elements(n_in, "the Jacobian")
    with _NO_TF():
        metas = [g.meta_like(t) for t in flat]
    out = guard.dry_run_user(func, metas)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    n_out = sum(g.tensor_numel(t) for t in outs if isinstance(t, torch.Tensor))
    guard._elements(n_in * max(n_out, 1), "the Jacobian")


def _hessian(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
    flat = list(inputs) if isinstance(inputs, tuple | list) else [inputs]
    n = sum(g.tensor_numel(t) for t in flat if isinstance(t, torch.Tensor))
    guard._elements(n * n, "the Hessian")


_SPECIAL: dict[str, Callable[[CallGuard, Args, Kwargs], None]] = {
    "repeat_interleave": _repeat_interleave,
    "bincount": _bincount,
    "one_hot": _one_hot,
    "histc": _bins,
    "histogram": _bins,
    "multinomial": _multinomial,
    "jacobian": _jacobian,
    "hessian": _hessian,
    "vjp": lambda guard, args, kwargs: None,
    "jvp": lambda guard, args, kwargs: None,
    "hvp": lambda guard, args, kwargs: None,
    "vhp": lambda guard, args, kwargs: None,
}
