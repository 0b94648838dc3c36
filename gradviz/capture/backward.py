"""Capture one backward()/autograd.grad call: the engine's order and every node's gradients.

Hooks go on every node reachable from the roots just before the call and come off right
after, so nothing of gradviz stays attached to the user's graph.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch

from gradviz.capture.identity import identity
from gradviz.capture.recording import LiveCall, Recording
from gradviz.capture.snapshot import snapshot
from gradviz.capture.teardown import keep_until_unused
from gradviz.model.graph import FUNCTIONAL_ORIGINS, CallOrigin

SAVED_TENSORS_MAX_NODES = 5_000
"""Saved tensors are read only on graphs up to this size: reading them costs about as much as
recording the node, and a graph this big is read through summaries anyway."""

ACCUMULATE_GRAD: Any = torch._C._functions.AccumulateGrad  # type: ignore[attr-defined]
"""The class of a leaf's autograd Node (its ``variable`` is the leaf)."""
_SAVED_NAMES: dict[type, list[tuple[str, str, str | None]]] = {}
_SAVES_RESULT: dict[type, bool] = {}


def is_accumulate(node: Any) -> bool:
    """Whether an autograd Node is a leaf's AccumulateGrad (its ``variable`` is the leaf)."""
    return type(node) is ACCUMULATE_GRAD


def is_backward_call(func: Callable[..., Any]) -> bool:
    return (
        func is torch.Tensor.backward
        or func is torch.autograd.backward
        or (func is torch.autograd.grad)
    )


def walk_nodes(roots: list[Any]) -> Iterator[Any]:
    """Every autograd Node reachable from ``roots`` (each once), without recursion."""
    seen: set[int] = set()
    stack = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if identity(node) in seen:
            continue
        seen.add(identity(node))
        yield node
        for child, _ in node.next_functions:
            if child is not None and identity(child) not in seen:
                stack.append(child)


SCRATCH: dict[str, frozenset[str]] = {
    "MkldnnRnnLayerBackward0": frozenset({"result3"}),  # oneDNN's workspace
    "CudnnRnnBackward0": frozenset({"result3"}),  # cuDNN's reserve space
    "MiopenRnnBackward0": frozenset({"result3"}),  # MIOpen's reserve space
    "CudnnBatchNormBackward0": frozenset({"result3"}),  # cuDNN's reserve space
}
"""Saved outputs that are a library's scratch memory, partly never written: their numbers
mean nothing and change from run to run, so they are shown as ``SCRATCH_TEXT``."""
SCRATCH_TEXT = "workspace (scratch memory)"


def _saved_names(node: Any) -> list[tuple[str, str, str | None]]:
    """(key, attribute, raw attribute or None) of each thing ``node``'s type saves; the
    attribute is "" for scratch memory (see SCRATCH)."""
    attrs = set(dir(node))
    scratch = SCRATCH.get(type(node).__name__, frozenset())
    names = [
        (a[7:], "", None)
        if a[7:] in scratch
        else (a[7:], a, "_raw" + a if "_raw" + a in attrs else None)
        for a in sorted(attrs)
        if a.startswith("_saved_")
    ]
    _SAVED_NAMES[type(node)] = names
    return names


def saved_of(node: Any) -> dict[str, Any]:
    """What autograd saved on ``node`` for its backward, as torch gives it (tensors, sizes,
    scalars); "freed" where an earlier backward without retain_graph released it.

    Only references: turning them into text and snapshots is left to the Graph's build.
    """
    names = _SAVED_NAMES.get(type(node))
    if names is None:
        names = _saved_names(node)
    out: dict[str, Any] = {}
    for key, attr, raw in names:
        if not attr:
            out[key] = SCRATCH_TEXT
            continue
        if raw is not None:
            # The stored tensor itself: no unpacking, so no new tensor tied to ``node``.
            # None means freed or an absent optional tensor: the attribute tells which.
            data = getattr(getattr(node, raw), "data", None)
            if isinstance(data, torch.Tensor):
                out[key] = data
                continue
        try:
            out[key] = getattr(node, attr)
        except RuntimeError:  # freed by an earlier backward without retain_graph
            out[key] = "freed"
    return out


def saved_result(node: Any) -> torch.Tensor | None:
    """The output autograd saved on ``node`` (tanh, exp, sigmoid... keep theirs), if it is
    still there. Cheap: no exception when it was freed, nor for types that save none."""
    kind = type(node)
    saves = _SAVES_RESULT.get(kind)
    if saves is None:
        saves = _SAVES_RESULT[kind] = hasattr(node, "_raw_saved_result")
    if not saves:
        return None
    raw = getattr(node, "_raw_saved_result", None)
    data = getattr(raw, "data", None)
    return data if isinstance(data, torch.Tensor) else None


def saved_text(value: object, limit: int = 60) -> str:
    """A short text for a saved argument that is not a tensor."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _origin() -> CallOrigin | None:
    """``jacobian``/``hessian``/... if torch.autograd.functional is making this call."""
    frame = sys._getframe(2)
    found = None
    depth = 0
    while frame is not None and depth < 60:
        code = frame.f_code
        if code.co_name in FUNCTIONAL_ORIGINS and code.co_filename.endswith(
            ("autograd/functional.py", "autograd\\functional.py")
        ):
            found = code.co_name  # keep the outermost: hessian calls jacobian
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    return found


_PARAMETERS = {
    "tensor": ("self", "gradient", "retain_graph", "create_graph", "inputs"),
    "backward": (
        "tensors",
        "grad_tensors",
        "retain_graph",
        "create_graph",
        "grad_variables",
        "inputs",
    ),
    "grad": (
        "outputs",
        "inputs",
        "grad_outputs",
        "retain_graph",
        "create_graph",
        "only_inputs",
        "allow_unused",
        "is_grads_batched",
        "materialize_grads",
    ),
}
"""Parameters of Tensor.backward, autograd.backward and autograd.grad, in order. Written out
rather than read with inspect.signature: another library (TorchLens) may have replaced the
functions with ``(*args, **kwargs)`` wrappers."""


def _bind(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**dict(zip(_PARAMETERS[kind], args, strict=False)), **kwargs}


def capture_backward(
    recording: Recording, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``func`` (a backward entry point) with hooks that record what the engine did."""
    if func is torch.Tensor.backward:
        params = _bind("tensor", args, kwargs)
        kind, roots, grads = "backward", [params["self"]], _as_list(params.get("gradient"))
    elif func is torch.autograd.backward:
        params = _bind("backward", args, kwargs)
        kind, roots = "backward", _as_list(params["tensors"])
        grads = _as_list(params.get("grad_tensors"))
    else:
        params = _bind("grad", args, kwargs)
        kind, roots = "grad", _as_list(params["outputs"])
        grads = _as_list(params.get("grad_outputs"))
    create_graph = bool(params.get("create_graph", False))
    retain = params.get("retain_graph")
    call = LiveCall(
        kind=kind,
        line=recording.line,
        roots=[r for r in roots if isinstance(r, torch.Tensor)],
        gradients=[g if isinstance(g, torch.Tensor) else None for g in grads],
        inputs=[t for t in _as_list(params.get("inputs")) if isinstance(t, torch.Tensor)],
        create_graph=create_graph,
        retain_graph=bool(create_graph if retain is None else retain),
        origin=_origin(),
    )
    for t in call.roots + call.inputs:
        recording.track(t, "input")
    root_fns = [r.grad_fn for r in call.roots if r.grad_fn is not None]
    nodes = list(walk_nodes(root_fns))
    keep_until_unused([n for n in nodes if not is_accumulate(n)], root_fns)  # see teardown
    leaves = [recording.track(n.variable, "leaf").tensor for n in nodes if is_accumulate(n)]
    call.root_values = [snapshot(r) for r in call.roots]
    call.leaf_values = recording.leaf_values()
    if any(g is not None for g in call.gradients):
        _small_jacobians(recording, call, call.inputs or leaves)
    # Saved tensors this call frees are read in the hook, after the node ran and before the
    # engine releases them; the ones it keeps are read when the Graph is built.
    read_saved = not call.retain_graph and len(nodes) <= SAVED_TENSORS_MAX_NODES
    op_ran, leaf_reached = _step_hooks(call, recording.saved, read_saved)
    handles = [
        node.register_prehook(leaf_reached) if is_accumulate(node) else node.register_hook(op_ran)
        for node in nodes
    ]
    try:
        result = func(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()

    if kind == "grad":
        call.results = [r if isinstance(r, torch.Tensor) else None for r in _as_list(result)]
        for r in call.results:
            if r is not None and r.grad_fn is not None:
                rec = recording.track(r, "grad")
                rec.flag("create_graph")
    call.leaf_grads = recording.leaf_grads()
    recording.calls.append(call)
    # Backward changes gradients only: the values taken before the call still hold.
    recording.add_event(kind, len(recording.calls) - 1, call.leaf_values, call.leaf_grads)
    return result


JACOBIAN_MAX_ROWS = 16
JACOBIAN_MAX_ELEMENTS = 1_024


def _small_jacobians(recording: Recording, call: LiveCall, wrt: list[torch.Tensor]) -> None:
    """J = d root / d t for each small t, so a call given a vector v can be shown as vᵀJ.

    Uses extra autograd.grad passes with retain_graph before the real call; nothing is
    accumulated into .grad and the user's call runs as it would have.
    """
    if len(call.roots) != 1 or call.roots[0].grad_fn is None:
        return
    root = call.roots[0]
    small = [t for t in wrt if root.numel() * t.numel() <= JACOBIAN_MAX_ELEMENTS]
    if root.numel() > JACOBIAN_MAX_ROWS or not small:
        return
    rows: list[list[torch.Tensor]] = [[] for _ in small]
    for i in range(root.numel()):
        onehot = torch.zeros(root.numel(), dtype=root.dtype).reshape(root.shape)
        onehot.view(-1)[i] = 1
        grads = torch.autograd.grad(root, small, onehot, retain_graph=True, allow_unused=True)
        for k, (t, g) in enumerate(zip(small, grads, strict=True)):
            rows[k].append(torch.zeros_like(t) if g is None else g)
    for t, row in zip(small, rows, strict=True):
        jac = torch.stack(row).reshape(*root.shape, *t.shape)
        call.jacobians[recording.track(t, "input").seq] = snapshot(jac)


def _step_hooks(
    call: LiveCall, saved: dict[Any, dict[str, Any]], read_saved: bool
) -> tuple[Callable[[tuple[Any, ...], tuple[Any, ...]], None], Callable[[tuple[Any, ...]], None]]:
    """A post-hook for every op node (it gets both the gradients arriving at the node and the
    ones it sends on) and a pre-hook for every leaf's AccumulateGrad; both ask the engine which
    node is running.

    A leaf's is a pre-hook so that the step holds the arriving gradient before AccumulateGrad
    runs: AccumulateGrad then copies it into ``.grad`` rather than taking the tensor itself
    (a sum of several paths nobody else holds), which the next backward's accumulation or a
    ``grad.zero_()`` would rewrite in place.
    """
    steps = call.steps
    current_node = torch._C._current_autograd_node

    def op_ran(grad_inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> None:
        node = current_node()
        steps.append((node, grad_outputs, grad_inputs))
        if read_saved and node not in saved:
            saved[node] = saved_of(node)

    def leaf_reached(grad_outputs: tuple[Any, ...]) -> None:
        steps.append((current_node(), grad_outputs, ()))  # an AccumulateGrad sends nothing on

    return op_ran, leaf_reached
