"""An optimizer on the curve: where a parameter was at each backward call, and the loss there.

A training loop (``torch.optim.SGD``, Adam, or updates by hand) calls backward once per step.
Each call recorded the leaves' values at that moment, the loss (the call's root) and the
gradient it delivered to each leaf, so the path of one parameter element is plain data. The
curve under the path comes from re-running the program with the parameter set to the step's
values and one element moved (the loss the first step's code computes there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gradviz.model.errors import GradvizError
from gradviz.model.format import index_text
from gradviz.model.graph import BackwardCall, Graph
from gradviz.model.names import short_labels
from gradviz.model.values import element, elements, numel
from gradviz.teach.curve import Overrides, Runner

MAX_ELEMENTS = 64
"""Elements of one parameter offered as a choice."""


@dataclass(frozen=True)
class ParameterChoice:
    """One element of a leaf whose value changed between backward calls."""

    node_id: str
    seq: int
    index: int
    label: str


@dataclass(frozen=True)
class OptimizerPath:
    """Where one parameter element was at each step, the loss there and its slope."""

    leaf: str
    index: int
    calls: list[int]
    """The backward calls (indices) the steps are."""
    xs: list[float]
    losses: list[float]
    grads: list[float]
    """The gradient each call itself delivered to the element (not the accumulated .grad)."""
    values: list[list[float]]
    """Every element of the parameter at each step (for re-running the loss there)."""


def _delivered(call: BackwardCall, leaf: str, index: int) -> float | None:
    """The gradient this call sent into the leaf's element (0 if it did not reach it)."""
    step = next((s for s in call.steps if s.node == leaf), None)
    if step is None:
        return 0.0 if leaf in call.leaf_values else None
    return element(step.grad_in[0], index) if step.grad_in else None


def _steps(graph: Graph, leaf: str) -> list[tuple[int, BackwardCall]]:
    """The program's own backward() calls on a one-element loss that saw this leaf."""
    out = []
    for i, call in enumerate(graph.backward_calls):
        if call.kind != "backward" or call.origin is not None or leaf not in call.leaf_values:
            continue
        if call.root_value is None or call.root_value.numel != 1 or len(call.roots) != 1:
            continue
        out.append((i, call))
    return out


def optimizer_path(graph: Graph, leaf: str, index: int = 0) -> OptimizerPath | None:
    """The point (x, loss) and slope at every backward call of a training loop.

    None when fewer than two steps have the numbers, or the element never moved.
    """
    calls, xs, losses, grads, values = [], [], [], [], []
    for i, call in _steps(graph, leaf):
        every = elements(call.leaf_values[leaf])
        x, loss = element(call.leaf_values[leaf], index), element(call.root_value, 0)
        grad = _delivered(call, leaf, index)
        if every is None or x is None or loss is None or grad is None:
            continue
        calls.append(i)
        xs.append(x)
        losses.append(loss)
        grads.append(grad)
        values.append([float(v) for v in every])
    if len(xs) < 2 or min(xs) == max(xs):
        return None
    return OptimizerPath(leaf, index, calls, xs, losses, grads, values)


def parameter_choices(graph: Graph) -> list[ParameterChoice]:
    """Elements of leaves that moved between the program's backward calls, in creation order."""
    names = short_labels(graph)
    index = graph.by_id
    out = []
    for node in graph.nodes:
        if node.kind != "leaf" or node.seq is None:
            continue
        steps = _steps(graph, node.id)
        if len(steps) < 2:
            continue
        snapshots = [elements(call.leaf_values[node.id]) for _, call in steps]
        if any(s is None for s in snapshots):
            continue
        for i in range(min(numel(index[node.id].shape), MAX_ELEMENTS)):
            seen = {s[i] for s in snapshots if s is not None}
            if len(seen) > 1:
                label = names[node.id] + index_text(node.shape, i)
                out.append(ParameterChoice(node.id, node.seq, i, label))
    return out


def grid(path: OptimizerPath, points: int = 21) -> list[float]:
    """Evenly spaced xs over the path, with a quarter of its span on either side."""
    lo, hi = min(path.xs), max(path.xs)
    pad = 0.25 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    return [lo + (hi - lo) * i / (points - 1) for i in range(points)]


def step_overrides(path: OptimizerPath, seq: int, step: int, x: float) -> Overrides:
    """The parameter as it was at ``step``, with the chosen element set to ``x``."""
    values = {i: v for i, v in enumerate(path.values[step])}
    values[path.index] = x
    return {seq: values}


def loss_at(source: str, path: OptimizerPath, overrides: Overrides, run: Runner) -> float | None:
    """The loss the first step's backward call sees, in a run with these overrides."""
    try:
        graph = run(source, overrides)
    except GradvizError:
        return None
    first = path.calls[0]
    if first >= len(graph.backward_calls):
        return None
    return element(graph.backward_calls[first].root_value, 0)


@dataclass(frozen=True)
class StepCurve:
    """The loss against the element, the other elements held where they were at one step."""

    xs: list[float]
    ys: list[float | None]


def loss_curves(
    source: str, path: OptimizerPath, seq: int, xs: Sequence[float], run: Runner, *, shared: bool
) -> list[StepCurve] | None:
    """The loss as the element moves, for each step (or one curve for all, if ``shared``).

    Each step's own x is added to its curve, and the run there must give back the loss that
    step recorded: if it does not (the loss changes from step to step, say with new data
    each time), there is no single curve to draw and the answer is None.

    Args:
        source: The program.
        path: From ``optimizer_path``.
        seq: Creation index of the parameter (what overrides address).
        xs: Where to evaluate.
        run: Runs the program with overrides.
        shared: The parameter has one element: the same curve serves every step.
    """
    steps = [0] if shared else list(range(len(path.xs)))
    curves = []
    for step in steps:
        own = [path.xs[k] for k in (range(len(path.xs)) if shared else [step])]
        points = sorted(set(xs) | set(own))
        ys = [loss_at(source, path, step_overrides(path, seq, step, x), run) for x in points]
        for k in range(len(path.xs)) if shared else [step]:
            y = ys[points.index(path.xs[k])]
            if y is None or not math.isclose(y, path.losses[k], rel_tol=1e-4, abs_tol=1e-6):
                return None
        curves.append(StepCurve(points, ys))
    return curves * len(path.xs) if shared else curves
