"""The chain rule at one node: what arrived, what was sent to each input, and their ratio.

Pure logic (no Streamlit). For the last backward call that passed through a node, the
gradient sent to input i divided elementwise by the gradient arriving is the local derivative
d(node)/d(input i) for elementwise operations; for others it is only a ratio, and it is
labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz.model.graph import BackwardCall, Graph, Node, NodeStep
from gradviz.model.values import TensorValue
from gradviz.teach.stepper import ratios as ratio


@dataclass(frozen=True)
class LocalDerivative:
    """The ratio for one input edge, or why there is none."""

    input_id: str
    position: int
    sent: TensorValue | None
    ratio: list[float | None] | None
    """Flat, row-major; None at elements where the arriving gradient is 0."""
    shape: list[int]
    reason: str | None = None


@dataclass(frozen=True)
class ChainStep:
    """A node's part in the last backward call that reached it."""

    call_index: int
    arriving: TensorValue | None
    inputs: list[LocalDerivative]


def last_step(graph: Graph, node_id: str) -> tuple[int, BackwardCall, NodeStep] | None:
    """The last backward call with a step at this node, and that step."""
    for index in range(len(graph.backward_calls) - 1, -1, -1):
        call = graph.backward_calls[index]
        for step in call.steps:
            if step.node == node_id:
                return index, call, step
    return None


def chain_step(graph: Graph, node: Node) -> ChainStep | None:
    """The node's step in the last backward call that reached it (None: never reached)."""
    found = last_step(graph, node.id)
    if found is None:
        return None
    index, _, step = found
    arriving = step.grad_in[0] if step.grad_in else None
    inputs = []
    for edge in graph.edges:
        if edge.dst != node.id or edge.kind != "grad":
            continue
        sent = step.grad_out[edge.position] if edge.position < len(step.grad_out) else None
        shape: list[int] = sent.shape if sent else []
        if sent is None:
            inputs.append(
                LocalDerivative(edge.src, edge.position, None, None, shape, "no gradient sent")
            )
            continue
        if arriving is None:
            why = "no gradient arrived at this node"
            inputs.append(LocalDerivative(edge.src, edge.position, sent, None, shape, why))
            continue
        values, reason = ratio(sent, arriving)
        inputs.append(LocalDerivative(edge.src, edge.position, sent, values, shape, reason))
    return ChainStep(index, arriving, inputs)
