"""Walk a backward call step by step, and forward in the order nodes were computed.

Everything here reads the Graph only: the engine's real execution order, the gradient that
arrived at each node and the gradient it sent to each input were captured by hooks.

The local derivative of an operation towards one input is read off as (gradient sent) ÷
(gradient arriving), elementwise. That ratio *is* the derivative only where each output element
depends on the matching input element alone (add, mul, exp, …) or the output is one number
(a full sum or mean); for a matrix product or a transpose it is just a ratio, so those are
named and left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gradviz.model.graph import Graph, Node, NodeStep
from gradviz.model.values import TensorValue, elements, finite_number

ELEMENTWISE_OPS = frozenset(
    """Abs Acos Acosh Add Addcdiv Addcmul Alias Asin Asinh Atan Atan2 Atanh Ceil Clamp ClampMax
    ClampMin Clone Cos Cosh Div Elu Erf Erfc Exp Exp2 Expm1 Floor Frac Gelu Hardsigmoid Hardswish
    Hardtanh LeakyRelu Lerp Log Log10 Log1p Log2 Logit Maximum Minimum Mish Mul Neg Pow
    Reciprocal Relu Round Rsqrt Rsub Sgn Sigmoid Sign Silu Sin Sinh Softplus Sqrt Sub Tan Tanh
    Threshold ToCopy Trunc Where Xlogy""".split()
)
"""grad_fn names (without ``BackwardN``) whose output element i depends on input element i only."""
FULL_REDUCTIONS = frozenset(
    """SumBackward0 MeanBackward0 MseLossBackward0 L1LossBackward0 SmoothL1LossBackward0
    HuberLossBackward0 BinaryCrossEntropyBackward0 BinaryCrossEntropyWithLogitsBackward0
    SoftMarginLossBackward0""".split()
)
"""Ops whose scalar output sums (or averages) one term per input element: a full sum or mean
(the dim= forms are SumBackward1/MeanBackward1) and the elementwise losses reduced to one
number."""

DerivativeKind = Literal["elementwise", "reduction"]


def op_family(op: str | None) -> str:
    """``MulBackward0`` -> ``Mul``."""
    return re.sub(r"Backward\d*$", "", op or "")


def derivative_kind(
    op: str | None, sent: TensorValue | None, arriving: TensorValue | None
) -> DerivativeKind | None:
    """Whether sent ÷ arriving is this op's local derivative towards the input (and how)."""
    if op is None or sent is None or arriving is None:
        return None
    if op in FULL_REDUCTIONS and arriving.numel == 1:
        return "reduction"
    elementwise = op_family(op) in ELEMENTWISE_OPS or op in FULL_REDUCTIONS  # reduction="none"
    if elementwise and sent.shape == arriving.shape:
        return "elementwise"
    return None


def ratios(
    sent: TensorValue, arriving: TensorValue
) -> tuple[list[float | None] | None, str | None]:
    """Flat, row-major sent ÷ arriving (None where arriving is 0), or None and why not.

    The shapes must match, or the arriving gradient be one number.
    """
    top, bottom = elements(sent), elements(arriving)
    if top is None or bottom is None:
        return None, "the tensors are too large to carry in full"
    if len(bottom) == 1:
        bottom = bottom * len(top)
    elif sent.shape != arriving.shape:
        return None, (
            f"shapes differ (arriving {list(arriving.shape)}, sent {list(sent.shape)}): the "
            "operation broadcasts or reduces, so there is no elementwise ratio"
        )
    out: list[float | None] = []
    for a, b in zip(top, bottom, strict=True):
        x, y = finite_number(a), finite_number(b)
        out.append(None if x is None or y is None or y == 0 else x / y)
    if all(v is None for v in out):
        return None, "the arriving gradient is zero everywhere, so the ratio is undefined"
    return out, None


def _nest(values: list[Any], shape: Sequence[int]) -> Any:
    """Flat row-major values back into nested lists of ``shape``."""
    if not shape:
        return values[0] if values else None
    if len(shape) == 1:
        return list(values)
    size = len(values) // shape[0] if shape[0] else 0
    return [_nest(values[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def local_derivative(
    sent: TensorValue | None, arriving: TensorValue | None, op: str | None = None
) -> TensorValue | None:
    """∂(this)/∂(input) as sent ÷ arriving, where that ratio is the derivative (see the module
    note; ``op`` None checks shapes only) and defined at every element; else None."""
    if sent is None or arriving is None:
        return None
    if op is not None and derivative_kind(op, sent, arriving) is None:
        return None
    values, _ = ratios(sent, arriving)
    if values is None or any(v is None for v in values):
        return None
    return TensorValue(shape=sent.shape, dtype="float64", data=_nest(values, sent.shape))


def no_local_reason(op: str | None, sent: TensorValue, arriving: TensorValue | None) -> str:
    if arriving is None:
        return "no gradient arrived at this node"
    if derivative_kind(op, sent, arriving) is None:
        if op_family(op) in ELEMENTWISE_OPS:
            return (
                f"{op_family(op)} broadcast this input (shape {list(sent.shape)} to "
                f"{list(arriving.shape)}): one input element feeds several outputs, so the "
                "gradient sent sums over them"
            )
        return (
            f"{op_family(op) or 'this operation'} mixes elements (each output depends on several "
            "inputs), so the gradient sent is arriving × a Jacobian, not an elementwise product"
        )
    _, why = ratios(sent, arriving)
    return why or "the arriving gradient is 0 at some elements, so the ratio is undefined there"


@dataclass
class Send:
    """A gradient a node sent to one of its inputs."""

    to: str | None
    position: int
    grad: TensorValue | None
    local: TensorValue | None
    """∂(node)/∂(this input), elementwise, where it can be read off (see ``local_derivative``)."""
    reason: str | None = None
    """Why ``local`` is None (when a gradient was sent)."""


@dataclass
class BackwardStep:
    index: int
    node: str
    grad_in: TensorValue | None
    sends: list[Send]
    traversed: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """Edges (input, consumer) a gradient has flowed along, up to and including this step."""


def arriving_grad(step: NodeStep) -> TensorValue | None:
    return step.grad_in[0] if step.grad_in else None


def _sends(
    nodes: Mapping[str, Node], step: NodeStep, inputs: Mapping[tuple[str, int], str]
) -> list[Send]:
    node = nodes.get(step.node)
    op = node.op if node is not None else None
    arriving = arriving_grad(step)
    sends = []
    for pos, grad in enumerate(step.grad_out):
        local = local_derivative(grad, arriving, op) if op else None
        reason = None if local is not None or grad is None else no_local_reason(op, grad, arriving)
        sends.append(Send(inputs.get((step.node, pos)), pos, grad, local, reason))
    return sends


def _carried(step: NodeStep, inputs: Mapping[tuple[str, int], str]) -> set[tuple[str, str]]:
    """The edges (input, node) this step sent a gradient along."""
    edges = set()
    for pos, grad in enumerate(step.grad_out):
        to = inputs.get((step.node, pos))
        if to is not None and grad is not None:
            edges.add((to, step.node))
    return edges


def backward_step(graph: Graph, call_index: int, index: int) -> BackwardStep:
    """Step ``index`` (0-based) of one backward call: what arrived, what was sent where."""
    steps = graph.backward_calls[call_index].steps
    inputs = graph.grad_inputs
    traversed: set[tuple[str, str]] = set()
    for earlier in steps[: index + 1]:
        traversed |= _carried(earlier, inputs)
    step = steps[index]
    sends = _sends(graph.by_id, step, inputs)
    return BackwardStep(index, step.node, arriving_grad(step), sends, frozenset(traversed))


def last_step_at(graph: Graph, node_id: str) -> tuple[int, int] | None:
    """(backward call, step) of the last call whose engine ran this node; None if none did."""
    for call_index in range(len(graph.backward_calls) - 1, -1, -1):
        for index, step in enumerate(graph.backward_calls[call_index].steps):
            if step.node == node_id:
                return call_index, index
    return None


def backward_steps(graph: Graph, call_index: int = -1) -> list[BackwardStep]:
    """The steps of one backward call, in the order the autograd engine ran them."""
    call = graph.backward_calls[call_index]
    inputs, nodes = graph.grad_inputs, graph.by_id
    out: list[BackwardStep] = []
    traversed: set[tuple[str, str]] = set()
    for i, step in enumerate(call.steps):
        traversed |= _carried(step, inputs)
        sends = _sends(nodes, step, inputs)
        out.append(BackwardStep(i, step.node, arriving_grad(step), sends, frozenset(traversed)))
    return out


def call_label(graph: Graph, call_index: int, numbered: bool = True) -> str:
    """How a backward call is listed: ``2. backward() at line 6``."""
    call = graph.backward_calls[call_index]
    what = {"backward": "backward()", "grad": "autograd.grad()", "auto": "automatic backward()"}
    text = f"{call_index + 1}. " if numbered else ""
    text += what[call.kind]
    if call.origin:
        text += f" inside {call.origin}()"
    if call.line is not None:
        text += f" at line {call.line}"
    return text


def graph_at_step(graph: Graph, call_index: int, index: int) -> Graph:
    """The graph as it stands after step ``index`` of a call: each node that has run shows the
    gradient that arrived at it in this call (d root / d node); the others show none yet."""
    call = graph.backward_calls[call_index]
    arrived = {s.node: arriving_grad(s) for s in call.steps[: index + 1]}
    if call.kind == "grad" and index == len(call.steps) - 1:
        # autograd.grad runs no AccumulateGrad: its inputs get the returned gradients.
        for node_id, result in zip(call.inputs, call.results, strict=False):
            if node_id is not None:
                arrived.setdefault(node_id, result)
    return replace(graph, nodes=tuple(replace(n, grad=arrived.get(n.id)) for n in graph.nodes))


def forward_order(graph: Graph) -> list[str]:
    """Node ids in the order the program computed them (unrecorded ones after their inputs)."""
    # graph.nodes is in post-order (inputs first), and sorted() is stable.
    return [n.id for n in sorted(graph.nodes, key=lambda n: (n.seq is None, n.seq or 0))]


def graph_upto(graph: Graph, order: list[str], count: int) -> Graph:
    """The nodes computed first (``count`` of them, in ``order``) and the edges among them."""
    return graph.restricted(set(order[:count]))


def grad_history(graph: Graph, leaf: str) -> list[tuple[int, str, int | None, TensorValue | None]]:
    """(event index, kind, line, the leaf's .grad after it) for every event touching grads."""
    return [
        (i, e.kind, e.line, e.leaf_grads.get(leaf))
        for i, e in enumerate(graph.events)
        if leaf in e.leaf_grads
    ]
