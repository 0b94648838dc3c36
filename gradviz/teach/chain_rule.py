"""The chain rule for one element of a leaf, written out with the actual local derivatives.

Each factor is a local derivative read off a backward step (``stepper.ratios``), so the
product over a path, summed over paths, is what autograd computed: the page shows both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gradviz.model.format import index_text, number, shape_text
from gradviz.model.graph import BackwardCall, Graph, Node, NodeStep
from gradviz.model.names import short, title
from gradviz.model.values import TensorValue, elements, finite_number
from gradviz.teach.stepper import (
    arriving_grad,
    derivative_kind,
    no_local_reason,
    ratios,
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


def _autograd(call: BackwardCall, steps: dict[str, NodeStep], leaf: str) -> TensorValue | None:
    if leaf in steps:
        return arriving_grad(steps[leaf])
    if leaf in call.inputs:
        return call.results[call.inputs.index(leaf)] if call.results else None
    return None


def _value_at(value: TensorValue | None, index: int) -> float | None:
    items = elements(value)
    if not items:
        return None
    return finite_number(items[index] if len(items) > 1 else items[0])


def leaves_of(graph: Graph, call_index: int) -> list[str]:
    """The leaves (and autograd.grad inputs) a call computed a gradient for."""
    call = graph.backward_calls[call_index]
    ran = {s.node for s in call.steps}
    targets = [n.id for n in graph.nodes if n.kind == "leaf" and n.id in ran]
    return targets + [i for i in call.inputs if i is not None and i not in targets]


@dataclass(frozen=True)
class Unavailable:
    """Why a chain rule cannot be written out as products of numbers here."""

    reason: str


def explain_chain_rule(
    graph: Graph, leaf: str, index: int = 0, call_index: int = -1, max_paths: int = 8
) -> ChainRule | Unavailable:
    """The chain rule for one element of a leaf with the actual local derivatives, or why it
    cannot be written as products of numbers.

    Works where every op between root and leaf is elementwise or a full sum/mean (the
    tutorials' programs). A matmul, a reshape or a sum over one dim mixes elements, so there
    is no single product of numbers to show.
    """
    call = graph.backward_calls[call_index]
    steps: dict[str, NodeStep] = {s.node: s for s in call.steps}
    nodes = graph.by_id
    if call.root is None or call.root not in steps or leaf not in nodes:
        return Unavailable("this call has no recorded root")
    target = nodes[leaf]
    if leaf not in steps and leaf not in call.inputs:
        return Unavailable(f"this call computed no gradient for {short(target)}")
    inputs = graph.grad_inputs
    reaching = _reaching(graph, leaf)
    start: list[ChainTerm] = []
    given = arriving_grad(steps[call.root])
    if given is not None and not (given.numel == 1 and _value_at(given, 0) == 1.0):
        if not _fits(given, target):
            return Unavailable("the gradient given to the root does not line up element by element")
        factor = _value_at(given, index)
        if factor is None:
            return Unavailable("the gradient given to the root is not a finite number there")
        start.append(ChainTerm(call.root, "gradient given", factor))
    paths: list[list[ChainTerm]] = []
    stack: list[tuple[str, list[ChainTerm]]] = [(call.root, start)]
    budget = 10_000  # partial paths explored: a deep DAG has too many paths to write out
    while stack:
        budget -= 1
        if budget < 0:
            return Unavailable("there are too many paths from the root to this leaf to write out")
        node_id, path = stack.pop()
        if node_id == leaf:
            paths.append(path)
            if len(paths) > max_paths:
                return Unavailable(
                    f"there are more than {max_paths} paths from the root to this leaf"
                )
            continue
        step = steps.get(node_id)
        if step is None:
            continue
        node = nodes[node_id]
        arriving = arriving_grad(step)
        for pos, sent in enumerate(step.grad_out):
            to = inputs.get((node_id, pos))
            if to is None or to not in reaching or sent is None or arriving is None:
                continue
            if derivative_kind(node.op, sent, arriving) is None:
                reason = no_local_reason(node.op, sent, arriving)
                return Unavailable(f"the path goes through {node.label} ({node.op}): {reason}")
            if not _fits(sent, target):
                return Unavailable(
                    f"the path goes through a {shape_text(sent.shape)} tensor (into "
                    f"{node.label}) whose elements do not line up one to one with "
                    f"{short(target)}'s ({shape_text(target.shape)}): the chain rule there "
                    "is a sum over many elements, not one product"
                )
            values, why = ratios(sent, arriving)
            factor = _element(values, index) if values is not None else None
            if factor is None:
                return Unavailable(
                    why or f"the gradient arriving at {node.label} is 0 at this element"
                )
            stack.append((to, [*path, ChainTerm(node_id, title(node), factor, to)]))
    if not paths:
        return Unavailable("no gradient flowed from the root to this leaf")
    total = math.fsum(math.prod(t.factor for t in p) for p in paths)
    root = nodes[call.root]
    return ChainRule(
        leaf,
        index,
        paths[::-1],
        total,
        _value_at(_autograd(call, steps, leaf), index),
        root_name=short(root),
        leaf_name=short(target),
        element=index_text(target.shape, index),
        stored=_value_at(call.leaf_grads.get(leaf), index) if leaf in steps else None,
    )


def chain_rule(
    graph: Graph, leaf: str, index: int = 0, call_index: int = -1, max_paths: int = 8
) -> ChainRule | None:
    """``explain_chain_rule``, None where there is no product of numbers to show."""
    rule = explain_chain_rule(graph, leaf, index, call_index, max_paths)
    return rule if isinstance(rule, ChainRule) else None
