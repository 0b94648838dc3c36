"""Guards of calls whose result size depends on their data or on the program's functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from gradviz.interpreter import guards as g

if TYPE_CHECKING:
    from gradviz.interpreter.callguard import CallGuard

Args = Sequence[object]
Kwargs = dict[str, Any]
_NO_TF = torch._C.DisableTorchFunction


def _repeat_interleave(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else None
    reps = kwargs.get("repeats", args[1] if len(args) > 1 else None)
    n = guard.largest([x]) if isinstance(x, torch.Tensor) else 1
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
    guard.elements(total)


def _bincount(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else kwargs.get("input")
    minlength = int(kwargs.get("minlength", args[2] if len(args) > 2 else 0))
    top = 0
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            top = int(x.max()) + 1 if x.numel() else 0
    guard.elements(max(top, minlength))


def _one_hot(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else kwargs.get("tensor")
    classes = int(kwargs.get("num_classes", args[1] if len(args) > 1 else -1))
    if isinstance(x, torch.Tensor):
        with _NO_TF():
            if classes < 0:
                classes = int(x.max()) + 1 if x.numel() else 0
            guard.elements(int(x.numel()) * classes)


def _bins(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    bins = kwargs.get("bins", args[1] if len(args) > 1 else 100)
    guard.elements(g.numel(g.as_dims(bins) or ()))


def _multinomial(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    probs = args[0] if args else kwargs.get("input")
    n = int(kwargs.get("num_samples", args[1] if len(args) > 1 else 1))
    rows = 1
    if isinstance(probs, torch.Tensor):
        shape = g.shape_of(probs) or ()
        rows = g.numel(shape[:-1])
    guard.elements(rows * n)


def _jacobian(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    """Refuse a Jacobian bigger than max_tensor_elements (input numel x output numel)."""
    func = args[0] if args else kwargs.get("func")
    inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
    flat = list(inputs) if isinstance(inputs, tuple | list) else [inputs]
    n_in = sum(g.tensor_numel(t) for t in flat if isinstance(t, torch.Tensor))
    guard.elements(n_in, "the Jacobian")
    with _NO_TF():
        metas = [g.meta_like(t) for t in flat]
    out = guard.dry_run_user(func, metas)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    n_out = sum(g.tensor_numel(t) for t in outs if isinstance(t, torch.Tensor))
    guard.elements(n_in * max(n_out, 1), "the Jacobian")


def _hessian(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
    flat = list(inputs) if isinstance(inputs, tuple | list) else [inputs]
    n = sum(g.tensor_numel(t) for t in flat if isinstance(t, torch.Tensor))
    guard.elements(n * n, "the Hessian")


def _combinations(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    """torch builds all n**r index tuples before keeping the combinations: check that."""
    x = args[0] if args else kwargs.get("input")
    r = kwargs.get("r", args[1] if len(args) > 1 else 2)
    n = guard.largest([x])
    guard.elements(n ** max(int(r), 1) if isinstance(r, int) else n, "the combinations")


def _covariance(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    """cov/corrcoef of (variables, observations) is variables x variables."""
    x = args[0] if args else kwargs.get("input")
    if isinstance(x, torch.Tensor):
        shape = g.shape_of(x) or ()
        rows = shape[0] if len(shape) == 2 else 1
        guard.elements(rows * rows)


def _histogramdd(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    x = args[0] if args else kwargs.get("input")
    bins = kwargs.get("bins", args[1] if len(args) > 1 else 10)
    shape = g.shape_of(x) or (1,)
    dims = g.as_dims(bins) or [10]
    per_dim = dims if len(dims) > 1 else dims * max(shape[-1], 1)
    guard.elements(g.numel(per_dim), "the histogram")


def _attention(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    """Attention builds a (query length x key length) matrix per head, even if not returned."""
    q = args[0] if args else kwargs.get("query")
    k = args[1] if len(args) > 1 else kwargs.get("key")
    sq, sk = g.shape_of(q), g.shape_of(k)
    if not sq or not sk:
        return
    if len(args) > 4 or "num_heads" in kwargs:  # F.multi_head_attention_forward: (L, N, E)
        heads = kwargs.get("num_heads", args[4] if len(args) > 4 else 1)
        batch = sq[1] if len(sq) == 3 else 1
        scores = batch * int(heads) * sq[0] * sk[0]
    else:  # scaled_dot_product_attention: (..., L, E) and (..., S, E)
        scores = g.numel(sq[:-1]) * (sk[-2] if len(sk) >= 2 else 1)
    guard.elements(scores, "the attention scores")
    g.check_flops(scores * sq[-1], guard.limits, "the attention")


def _getitem(guard: CallGuard, args: Args, kwargs: Kwargs) -> None:
    if len(args) >= 2:
        guard.index(args[0], args[1])


SPECIAL: dict[str, Callable[[CallGuard, Args, Kwargs], None]] = {
    "__getitem__": _getitem,
    "combinations": _combinations,
    "scaled_dot_product_attention": _attention,
    "multi_head_attention_forward": _attention,
    "cov": _covariance,
    "corrcoef": _covariance,
    "histogramdd": _histogramdd,
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
