"""Walk a backward call step by step, and write the chain rule out with its numbers.

Everything here reads the Graph only: the engine's real execution order, the gradient that
arrived at each node and the gradient it sent to each input were captured by hooks.

The local derivative of an operation towards one input is read off as (gradient sent) ÷
(gradient arriving), elementwise. That ratio *is* the derivative only where each output element
depends on the matching input element alone (add, mul, exp, …) or the output is one number
(a full sum or mean); for a matrix product or a transpose it is just a ratio, so those are
named and left out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gradviz.curve import index_text
from gradviz.graph.model import BackwardCall, Graph, Node, NodeStep
from gradviz.render.dot import title
from gradviz.render.format import number, shape_text
from gradviz.values import TensorValue, flatten

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


def _number(item: Any) -> float | None:
    if isinstance(item, bool) or not isinstance(item, (int, float)):
        return None  # "nan"/"inf" markers of JSON-safe snapshots
    return float(item)


def _flat(value: TensorValue | None) -> list[Any] | None:
    if value is None or value.data is None:
        return None
    return flatten(value.data)


def ratios(
    sent: TensorValue, arriving: TensorValue
) -> tuple[list[float | None] | None, str | None]:
    """Flat, row-major sent ÷ arriving (None where arriving is 0), or None and why not.

    The shapes must match, or the arriving gradient be one number.
    """
    top, bottom = _flat(sent), _flat(arriving)
    if top is None or bottom is None:
        return None, "the tensors are too large to carry in full"
    if len(bottom) == 1:
        bottom = bottom * len(top)
    elif sent.shape != arriving.shape:
        return None, (
            f"shapes differ (arriving {arriving.shape}, sent {sent.shape}): the operation "
            "broadcasts or reduces, so there is no elementwise ratio"
        )
    out: list[float | None] = []
    for a, b in zip(top, bottom, strict=True):
        x, y = _number(a), _number(b)
        out.append(None if x is None or y is None or y == 0 else x / y)
    if all(v is None for v in out):
        return None, "the arriving gradient is zero everywhere, so the ratio is undefined"
    return out, None


def _nest(values: list[Any], shape: list[int]) -> Any:
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
    return TensorValue(shape=list(sent.shape), dtype="float64", data=_nest(values, sent.shape))


def _no_local_reason(op: str | None, sent: TensorValue, arriving: TensorValue | None) -> str:
    if arriving is None:
        return "no gradient arrived at this node"
    if derivative_kind(op, sent, arriving) is None:
        if op_family(op) in ELEMENTWISE_OPS:
            return (
                f"{op_family(op)} broadcast this input (shape {sent.shape} to "
                f"{arriving.shape}): one input element feeds several outputs, so the gradient "
                "sent sums over them"
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


def input_edges(graph: Graph) -> dict[tuple[str, int], str]:
    """(consumer, input position) -> input node, over autograd edges."""
    return {(e.dst, e.position): e.src for e in graph.edges if e.kind == "grad"}


def _arriving(step: NodeStep) -> TensorValue | None:
    return step.grad_in[0] if step.grad_in else None


def _sends(
    nodes: dict[str, Node], step: NodeStep, inputs: dict[tuple[str, int], str]
) -> list[Send]:
    node = nodes.get(step.node)
    op = node.op if node is not None else None
    arriving = _arriving(step)
    sends = []
    for pos, grad in enumerate(step.grad_out):
        local = local_derivative(grad, arriving, op) if op else None
        reason = None if local is not None or grad is None else _no_local_reason(op, grad, arriving)
        sends.append(Send(inputs.get((step.node, pos)), pos, grad, local, reason))
    return sends


def _carried(step: NodeStep, inputs: dict[tuple[str, int], str]) -> set[tuple[str, str]]:
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
    inputs = input_edges(graph)
    traversed: set[tuple[str, str]] = set()
    for earlier in steps[: index + 1]:
        traversed |= _carried(earlier, inputs)
    step = steps[index]
    sends = _sends(graph.index(), step, inputs)
    return BackwardStep(index, step.node, _arriving(step), sends, frozenset(traversed))


def backward_steps(graph: Graph, call_index: int = -1) -> list[BackwardStep]:
    """The steps of one backward call, in the order the autograd engine ran them."""
    call = graph.backward_calls[call_index]
    inputs, nodes = input_edges(graph), graph.index()
    out: list[BackwardStep] = []
    traversed: set[tuple[str, str]] = set()
    for i, step in enumerate(call.steps):
        traversed |= _carried(step, inputs)
        sends = _sends(nodes, step, inputs)
        out.append(BackwardStep(i, step.node, _arriving(step), sends, frozenset(traversed)))
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
    arrived = {s.node: _arriving(s) for s in call.steps[: index + 1]}
    if call.kind == "grad" and index == len(call.steps) - 1:
        # autograd.grad runs no AccumulateGrad: its inputs get the returned gradients.
        for node_id, result in zip(call.inputs, call.results, strict=False):
            if node_id is not None:
                arrived.setdefault(node_id, result)
    nodes = [replace(n, grad=arrived.get(n.id)) for n in graph.nodes]
    return replace(graph, nodes=nodes)


def forward_order(graph: Graph) -> list[str]:
    """Node ids in the order the program computed them (unrecorded ones after their inputs)."""
    # graph.nodes is in post-order (inputs first), and sorted() is stable.
    return [n.id for n in sorted(graph.nodes, key=lambda n: (n.seq is None, n.seq or 0))]


def graph_upto(graph: Graph, order: list[str], count: int) -> Graph:
    """The nodes computed first (``count`` of them, in ``order``) and the edges among them."""
    shown = set(order[:count])
    return replace(
        graph,
        nodes=[n for n in graph.nodes if n.id in shown],
        edges=[e for e in graph.edges if e.src in shown and e.dst in shown],
        outputs=[o for o in graph.outputs if o in shown],
    )


def fraction_text(x: float, precision: int = 4) -> str:
    """A factor as a lecturer writes it: ``1/6`` for the mean over six, else ``number``."""
    if 0 < abs(x) < 1:
        k = round(1 / abs(x))
        if 2 <= k <= 1000 and abs(1 / abs(x) - k) < 1e-5 * k:
            return f"{'-' if x < 0 else ''}1/{k}"
    return number(x, precision)


@dataclass
class ChainTerm:
    node: str
    """The operation (or, first, the root given a gradient)."""
    label: str
    factor: float
    to: str | None = None
    """The input the factor is a derivative towards."""


@dataclass
class ChainRule:
    """∂root/∂leaf[index] as a sum over paths of products of local derivatives."""

    leaf: str
    index: int
    paths: list[list[ChainTerm]]
    total: float
    autograd: float | None
    """What autograd computed for that element in this call, to show the two agree."""
    root_name: str = "root"
    leaf_name: str = "leaf"
    element: str = ""
    """The element as text: ``[0, 1]`` (empty for a scalar leaf)."""
    stored: float | None = None
    """The leaf's .grad after the call: differs from ``autograd`` when gradients add up."""

    def formula(self, precision: int = 4) -> str:
        """``1/6 (mean) · 2 (mul) · … = 10``."""
        parts = [
            " · ".join(f"{fraction_text(t.factor, precision)} ({t.label})" for t in path)
            for path in self.paths
        ]
        joined = " + ".join(f"({p})" if len(self.paths) > 1 else p for p in parts)
        return f"{joined} = {number(self.total, precision)}"

    def text(self, precision: int = 4) -> str:
        """``∂out/∂x[0, 0] = 1/6 (mean) · 2 (mul) · … = 10``."""
        return f"∂{self.root_name}/∂{self.leaf_name}{self.element} = {self.formula(precision)}"


def _element(values: list[float | None], index: int) -> float | None:
    return values[index] if len(values) > 1 else values[0]


def _reaching(graph: Graph, target: str) -> set[str]:
    """Nodes from which ``target`` is reached by walking to inputs (target included)."""
    consumers: dict[str, list[str]] = {}
    for e in graph.edges:
        if e.kind == "grad":
            consumers.setdefault(e.src, []).append(e.dst)
    seen, todo = {target}, [target]
    while todo:
        for dst in consumers.get(todo.pop(), []):
            if dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def _fits(value: TensorValue, leaf: Node) -> bool:
    """Element i of the leaf is element i of this tensor (or the tensor is one number)."""
    return value.numel == 1 or value.shape == leaf.shape


def _name(node: Node) -> str:
    return node.name or node.label


def _autograd(call: BackwardCall, steps: dict[str, NodeStep], leaf: str) -> TensorValue | None:
    if leaf in steps:
        return _arriving(steps[leaf])
    if leaf in call.inputs:
        return call.results[call.inputs.index(leaf)] if call.results else None
    return None


def _value_at(value: TensorValue | None, index: int) -> float | None:
    items = _flat(value)
    if not items:
        return None
    return _number(items[index] if len(items) > 1 else items[0])


def leaves_of(graph: Graph, call_index: int) -> list[str]:
    """The leaves (and autograd.grad inputs) a call computed a gradient for."""
    call = graph.backward_calls[call_index]
    ran = {s.node for s in call.steps}
    targets = [n.id for n in graph.nodes if n.kind == "leaf" and n.id in ran]
    return targets + [i for i in call.inputs if i is not None and i not in targets]


def explain_chain_rule(
    graph: Graph, leaf: str, index: int = 0, call_index: int = -1, max_paths: int = 8
) -> ChainRule | str:
    """The chain rule for one element of a leaf with the actual local derivatives, or why it
    cannot be written as products of numbers.

    Works where every op between root and leaf is elementwise or a full sum/mean (the
    tutorials' programs). A matmul, a reshape or a sum over one dim mixes elements, so there
    is no single product of numbers to show.
    """
    call = graph.backward_calls[call_index]
    steps: dict[str, NodeStep] = {s.node: s for s in call.steps}
    nodes = graph.index()
    if call.root is None or call.root not in steps or leaf not in nodes:
        return "this call has no recorded root"
    target = nodes[leaf]
    if leaf not in steps and leaf not in call.inputs:
        return f"this call computed no gradient for {_name(target)}"
    inputs = input_edges(graph)
    reaching = _reaching(graph, leaf)
    start: list[ChainTerm] = []
    given = _arriving(steps[call.root])
    if given is not None and not (given.numel == 1 and _value_at(given, 0) == 1.0):
        if not _fits(given, target):
            return "the gradient given to the root does not line up element by element"
        factor = _value_at(given, index)
        if factor is None:
            return "the gradient given to the root is not a finite number there"
        start.append(ChainTerm(call.root, "gradient given", factor))
    paths: list[list[ChainTerm]] = []
    stack: list[tuple[str, list[ChainTerm]]] = [(call.root, start)]
    budget = 10_000  # partial paths explored: a deep DAG has too many paths to write out
    while stack:
        budget -= 1
        if budget < 0:
            return "there are too many paths from the root to this leaf to write out"
        node_id, path = stack.pop()
        if node_id == leaf:
            paths.append(path)
            if len(paths) > max_paths:
                return f"there are more than {max_paths} paths from the root to this leaf"
            continue
        step = steps.get(node_id)
        if step is None:
            continue
        node = nodes[node_id]
        arriving = _arriving(step)
        for pos, sent in enumerate(step.grad_out):
            to = inputs.get((node_id, pos))
            if to is None or to not in reaching or sent is None or arriving is None:
                continue
            if derivative_kind(node.op, sent, arriving) is None:
                reason = _no_local_reason(node.op, sent, arriving)
                return f"the path goes through {node.label} ({node.op}): {reason}"
            if not _fits(sent, target):
                return (
                    f"the path goes through a {shape_text(sent.shape)} tensor (into "
                    f"{node.label}) whose elements do not line up one to one with "
                    f"{_name(target)}'s ({shape_text(target.shape)}): the chain rule there "
                    "is a sum over many elements, not one product"
                )
            values, why = ratios(sent, arriving)
            factor = _element(values, index) if values is not None else None
            if factor is None:
                return why or f"the gradient arriving at {node.label} is 0 at this element"
            stack.append((to, [*path, ChainTerm(node_id, title(node), factor, to)]))
    if not paths:
        return "no gradient flowed from the root to this leaf"
    total = math.fsum(math.prod(t.factor for t in p) for p in paths)
    root = nodes[call.root]
    return ChainRule(
        leaf,
        index,
        paths[::-1],
        total,
        _value_at(_autograd(call, steps, leaf), index),
        root_name=_name(root),
        leaf_name=_name(target),
        element=index_text(target.shape, index),
        stored=_value_at(call.leaf_grads.get(leaf), index) if leaf in steps else None,
    )


def chain_rule(
    graph: Graph, leaf: str, index: int = 0, call_index: int = -1, max_paths: int = 8
) -> ChainRule | None:
    """``explain_chain_rule``, None where there is no product of numbers to show."""
    rule = explain_chain_rule(graph, leaf, index, call_index, max_paths)
    return rule if isinstance(rule, ChainRule) else None


def grad_history(graph: Graph, leaf: str) -> list[tuple[int, str, int | None, TensorValue | None]]:
    """(event index, kind, line, the leaf's .grad after it) for every event touching grads."""
    return [
        (i, e.kind, e.line, e.leaf_grads.get(leaf))
        for i, e in enumerate(graph.events)
        if leaf in e.leaf_grads
    ]
