"""Checks made before a torch, numpy or math call runs, and the tally of what calls created."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from gradviz.errors import RefusedError
from gradviz.interpreter import guard_tables as tables
from gradviz.interpreter import guards as g
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.estimates import (
    flat_ints,
    has_tensor,
    is_function,
    lgamma_bits,
    module_tensors,
    np_dot,
    numpy_estimate,
    plain_product,
    product_flops,
    signature,
    tshape,
)
from gradviz.interpreter.identify import identify
from gradviz.interpreter.special_calls import SPECIAL

Args = Sequence[object]
Kwargs = dict[str, Any]
_NO_TF = torch._C.DisableTorchFunction
_UNINITIALIZED = frozenset({"empty", "empty_like", "new_empty", "empty_strided"})

__all__ = ["CallGuard", "identify"]


class CallGuard:
    """Estimates the size and cost of a call before it runs; counts what it created after."""

    def __init__(self, budget: Budget, dry_run_user: Callable[[object, Args], object]) -> None:
        self.budget = budget
        self.limits = budget.limits
        self.dry_run_user = dry_run_user
        self.counting = True
        self._dry_runs: dict[tuple[object, ...], list[int]] = {}

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
            self.elements(self._legacy_size(args))
        elif family == "module":
            self.module_ctor(fn, args, kwargs)

    def torch_call(self, name: str, fn: object, args: Args, kwargs: Kwargs) -> None:
        """Check a torch function or Tensor method (unbound, ``args[0]`` is self)."""
        if name in tables.SAFE or (name.endswith("_") and not name.startswith("_")):
            if name == "tolist":
                self.budget.check_length(self.largest(args), "list")
            return
        self._sequences([*args, *kwargs.values()])
        if name in tables.ELEMENTWISE:
            shapes = [s for s in (tshape(a) for a in [*args, *kwargs.values()]) if s is not None]
            out = g.broadcast_shape(shapes)
            if out is not None:
                self.elements(g.numel(out))
            return
        if name in tables.TORCH_FACTORIES:
            self.elements(self._factory(name, args, kwargs))
            return
        special = SPECIAL.get(name)
        if special is not None:
            special(self, args, kwargs)
            return
        if name in tables.CUBIC or name.startswith("linalg_"):
            self._cubic(args)
        product = plain_product(name, args)
        if product is not None:  # the common products: no dry run needed
            self.elements(product[0])
            g.check_flops(product[1], self.limits)
            return
        values = [*args, *kwargs.values()]
        if any(is_function(a) for a in values):
            return  # never run the program's own functions in a dry run
        if not any(has_tensor(a) for a in values):
            return  # not a factory and no tensor to grow from
        sizes = self._dry_run(fn, args, kwargs)
        for n in sizes:
            self.elements(n)
        if name in tables.PRODUCTS:
            g.check_flops(product_flops(name, args, kwargs, sum(sizes)), self.limits)

    def _dry_run(self, fn: object, args: Args, kwargs: Kwargs) -> list[int]:
        """Result sizes from a meta dry run, remembered per call signature (loops repeat)."""
        key = signature(fn, args, kwargs)
        sizes = self._dry_runs.get(key) if key is not None else None
        if sizes is None:
            sizes = g.meta_numels(fn, args, kwargs)  # type: ignore[arg-type]
            if sizes is None:
                ints = [d for a in [*args, *kwargs.values()] for d in (flat_ints(a))]
                sizes = [max(self.largest(args), 1) * g.numel(ints)]
            if key is not None and len(self._dry_runs) < 4096:
                self._dry_runs[key] = sizes
        return sizes

    def operator(self, op: str, a: object, b: object) -> None:
        """A Python operator on tensors or arrays: broadcasting, or a matrix product."""
        sa, sb = g.shape_of(a), g.shape_of(b)
        if sa is None or sb is None:
            return
        if op == "@":
            cost = g.matmul_cost(sa, sb)
            if cost is not None:
                self.elements(cost[0])
                g.check_flops(cost[1], self.limits, "the matrix product")
            return
        out = g.broadcast_shape([sa, sb])
        if out is not None:
            self.elements(g.numel(out))

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
            self.elements(g.index_numel(shape, key), "the indexing result")

    def numpy_call(self, name: str, args: Args, kwargs: Kwargs) -> None:
        if name == "ndarray":
            raise RefusedError(
                "np.ndarray(...) is not available: use np.zeros, np.ones or np.array"
            )
        self._sequences([*args, *kwargs.values()])
        if name == "tolist" and args and isinstance(args[0], np.ndarray):
            self.budget.check_length(int(args[0].size), "list")
        est = numpy_estimate(name, args, kwargs)
        if est is not None:
            self.elements(est)
        if name == "dot" or name == "matmul" or name == "inner":
            sa, sb = (g.shape_of(a) for a in [*args, None, None][:2])
            if sa and sb:
                cost = g.matmul_cost(sa, sb) if name == "matmul" else np_dot(sa, sb)
                if cost is not None:
                    self.elements(cost[0])
                    g.check_flops(cost[1], self.limits)
        if name in tables.NUMPY_CUBIC or name == "svd":
            self._cubic(args)
        if name in tables.NUMPY_ELEMENTWISE:
            shapes = [s for s in (g.shape_of(a) for a in args) if s is not None]
            out = g.broadcast_shape(shapes)
            if out is not None:
                self.elements(g.numel(out))

    def math_call(self, name: str, args: Args) -> None:
        ints = [a for a in args if isinstance(a, int)]
        if name == "factorial" and ints:
            self.budget.check_int_bits(lgamma_bits(ints[0] + 1))
        elif name in ("comb", "perm") and len(ints) >= 1:
            n = ints[0]
            k = ints[1] if len(ints) > 1 else n
            bits = lgamma_bits(n + 1) - lgamma_bits(n - k + 1) if 0 <= k <= n else 1
            if name == "comb" and 0 <= k <= n:
                bits -= lgamma_bits(k + 1)
            self.budget.check_int_bits(bits)
        elif name == "lcm":
            self.budget.check_int_bits(sum(g.int_bits(i) for i in ints))

    def module_ctor(self, cls: object, args: Args, kwargs: Kwargs) -> None:
        """Build the module on the meta device first and count its parameters."""
        if any(is_function(a) or isinstance(a, torch.nn.Module) for a in args):
            return
        try:
            with _NO_TF(), torch.no_grad():
                module = cls(*args, **{**kwargs, "device": "meta"})  # type: ignore[operator]
                sizes = [int(t.numel()) for t in module_tensors(module)]
        except Exception:  # no device argument (no parameters of its own) or bad arguments
            return
        for n in sizes:
            self.elements(n, "a parameter of the module")
        self._elements_total(sum(sizes))

    # -- after --------------------------------------------------------------------------------
    def scrub(self, family: str, name: str, args: Args, result: object) -> None:
        """Zero "uninitialized" results: their memory may hold another program's old data."""
        fresh = name in _UNINITIALIZED and family in ("torch", "tensor", "numpy")
        if family == "legacy" or name == "new":
            sizes = args[1:] if name == "new" else args
            fresh = all(isinstance(a, int) for a in sizes) or (
                len(sizes) == 1 and isinstance(sizes[0], torch.Size)
            )
        if not fresh:
            return
        if isinstance(result, torch.Tensor):
            with _NO_TF(), torch.no_grad():
                result.zero_()
        elif isinstance(result, np.ndarray):
            result.fill(0)

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
            self.budget.add_elements(sum(int(t.numel()) for t in module_tensors(result)))

    # -- helpers ------------------------------------------------------------------------------
    def elements(self, n: int | None, what: str = "the result") -> None:
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
                    self.elements(g.numel(g.sequence_shape(v)), "the data")

    def largest(self, args: Args) -> int:
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
            length = self.largest([x])
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
            return max(self.largest(args), 1)
        dims = g.size_from(args, kwargs, first)
        return g.numel(dims) if dims is not None else None

    def _cubic(self, args: Args) -> None:
        shape = next((s for s in (g.shape_of(a) for a in args) if s and len(s) >= 2), None)
        if shape is not None:
            m, n = shape[-2], shape[-1]
            g.check_flops(g.numel(shape[:-2]) * m * n * min(m, n), self.limits, "the decomposition")
            if len(args) and isinstance(args[0], np.ndarray):
                self.elements(m * m + n * n)
