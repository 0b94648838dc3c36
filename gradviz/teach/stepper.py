"""Walk a backward call step by step, and write the chain rule out with its numbers.

Everything here reads the Graph only: the engine's real execution order, the gradient that
arrived at each node and the gradient it sent to each input were captured by hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from gradviz.graph.model import BackwardCall, Graph, NodeStep
from gradviz.render.format import number
from gradviz.values import TensorValue


@dataclass
class Send:
    """A gradient a node sent to one of its inputs."""

    to: str | None
    position: int
    grad: TensorValue | None
    local: TensorValue | None
    """Gradient sent ÷ gradient arriving, elementwise, where that ratio is the local
    derivative (same shape, or a scalar arriving); None where it is not."""


@dataclass
class BackwardStep:
    index: int
    node: str
    grad_in: TensorValue | None
    sends: list[Send]
    traversed: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """Edges (input, consumer) a gradient has flowed along, up to and including this step."""


def _tensor(value: TensorValue | None) -> torch.Tensor | None:
    if value is None or value.data is None:
        return None
    try:
        return torch.tensor(value.data, dtype=torch.float64)
    except (TypeError, ValueError):  # "nan"/"inf" markers
        return None


def _value(t: torch.Tensor) -> TensorValue:
    return TensorValue(shape=list(t.shape), dtype="float64", data=t.tolist())


def local_derivative(sent: TensorValue | None, arriving: TensorValue | None) -> TensorValue | None:
    """sent ÷ arriving, elementwise, when the op is elementwise (same shapes) or a reduction
    (scalar arriving) and nothing arriving is zero; else None."""
    s, a = _tensor(sent), _tensor(arriving)
    if s is None or a is None:
        return None
    if a.shape != s.shape and a.numel() != 1:
        return None
    if bool((a == 0).any()):
        return None
    return _value(s / a)


def input_edges(graph: Graph) -> dict[tuple[str, int], str]:
    """(consumer, input position) -> input node, over autograd edges."""
    return {(e.dst, e.position): e.src for e in graph.edges if e.kind == "grad"}


def backward_steps(graph: Graph, call_index: int = -1) -> list[BackwardStep]:
    """The steps of one backward call, in the order the autograd engine ran them."""
    call = graph.backward_calls[call_index]
    inputs = input_edges(graph)
    traversed: set[tuple[str, str]] = set()
    steps: list[BackwardStep] = []
    for i, step in enumerate(call.steps):
        arriving = step.grad_in[0] if step.grad_in else None
        sends = []
        for pos, grad in enumerate(step.grad_out):
            to = inputs.get((step.node, pos))
            if to is not None and grad is not None:
                traversed.add((to, step.node))
            sends.append(Send(to, pos, grad, local_derivative(grad, arriving)))
        steps.append(BackwardStep(i, step.node, arriving, sends, frozenset(traversed)))
    return steps


def forward_order(graph: Graph) -> list[str]:
    """Node ids in the order the program computed them (unrecorded ones after their inputs)."""
    position = {n.id: i for i, n in enumerate(graph.nodes)}  # post-order: inputs first
    return sorted(position, key=lambda nid: (graph.node(nid).seq is None, graph.node(nid).seq or 0))


@dataclass
class ChainTerm:
    node: str
    label: str
    factor: float


@dataclass
class ChainRule:
    """∂root/∂leaf[index] as a sum over paths of products of local derivatives."""

    leaf: str
    index: int
    paths: list[list[ChainTerm]]
    total: float
    autograd: float | None
    """The gradient autograd stored for that element, to show the two agree."""

    def text(self, precision: int = 4) -> str:
        parts = [" · ".join(number(t.factor, precision) for t in path) for path in self.paths]
        joined = " + ".join(f"({p})" if len(self.paths) > 1 else p for p in parts)
        return f"{joined} = {number(self.total, precision)}"


def _element(value: TensorValue | None, index: int) -> float | None:
    t = _tensor(value)
    if t is None:
        return None
    flat = t.reshape(-1)
    return float(flat[index if flat.numel() > 1 else 0])


def chain_rule(
    graph: Graph, leaf: str, index: int = 0, call_index: int = -1, max_paths: int = 8
) -> ChainRule | None:
    """The chain rule for one element of a leaf, with the actual local derivatives.

    Works where every op between root and leaf is elementwise or a reduction to a scalar
    (the tutorials' programs); returns None otherwise (a matmul mixes elements, so there
    is no single product of numbers to show).
    """
    call: BackwardCall = graph.backward_calls[call_index]
    steps: dict[str, NodeStep] = {s.node: s for s in call.steps}
    inputs = input_edges(graph)
    if call.root is None or leaf not in steps:
        return None
    paths: list[list[ChainTerm]] = []
    stack: list[tuple[str, list[ChainTerm]]] = [(call.root, [])]
    budget = 10_000  # partial paths explored: a deep DAG has too many paths to write out
    while stack:
        budget -= 1
        if budget < 0:
            return None
        node_id, path = stack.pop()
        if node_id == leaf:
            paths.append(path)
            if len(paths) > max_paths:
                return None
            continue
        step = steps.get(node_id)
        if step is None:
            continue
        arriving = step.grad_in[0] if step.grad_in else None
        for pos, sent in enumerate(step.grad_out):
            to = inputs.get((node_id, pos))
            if to is None or to not in steps:
                continue
            local = local_derivative(sent, arriving)
            if local is None:
                return None
            factor = _element(local, index)
            if factor is None:
                return None
            label = graph.node(node_id).label
            stack.append((to, [*path, ChainTerm(node_id, label, factor)]))
    if not paths:
        return None
    total = sum(_product(p) for p in paths)
    node = graph.node(leaf)
    return ChainRule(leaf, index, paths[::-1], total, _element(node.grad, index))


def _product(path: list[ChainTerm]) -> float:
    out = 1.0
    for term in path:
        out *= term.factor
    return out


def grad_history(graph: Graph, leaf: str) -> list[tuple[int, str, int | None, TensorValue | None]]:
    """(event index, kind, line, the leaf's .grad after it) for every event touching grads."""
    return [
        (i, e.kind, e.line, e.leaf_grads.get(leaf))
        for i, e in enumerate(graph.events)
        if leaf in e.leaf_grads
    ]
