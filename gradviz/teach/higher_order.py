"""Higher-order derivatives: the gradient's own graph, and f, f′, f″ along x.

``torch.autograd.grad(f, x, create_graph=True)`` returns f′ as a tensor with a graph of its
own, built by the backward pass; differentiating that graph again gives f″. Everything here
reads Graphs: which calls form the chain f → f′ → f″, the sub-graph that computes each
derivative, and (by re-running the program with x overridden, like ``gradviz.teach.curve``) each
derivative's value at many x, every one of them computed by autograd in the program's run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gradviz.model.errors import GradvizError
from gradviz.model.graph import BackwardCall, Graph, Node
from gradviz.model.names import short_labels
from gradviz.model.values import element, numel
from gradviz.teach.curve import Runner

PRIMES = ("f", "f′", "f″", "f‴")
"""Names of the derivatives by order (beyond: f⁽ⁿ⁾)."""


def order_name(order: int) -> str:
    """``f``, ``f′``, ``f″``, ``f‴``, then ``f⁽⁴⁾``."""
    if order < len(PRIMES):
        return PRIMES[order]
    digits = str(order).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"f⁽{digits}⁾"


@dataclass(frozen=True)
class Link:
    """One derivative of the chain: which call computed it, and where its value is."""

    call: int
    """Index into ``graph.backward_calls``."""
    position: int
    """For autograd.grad: the input's position in ``inputs``/``results``; -1 for backward()
    (the value is then the gradient that call delivered to the leaf)."""
    node: str | None
    """The graph node of the returned gradient (create_graph), else None."""


@dataclass(frozen=True)
class DerivativeChain:
    """f (a one-element tensor) of a one-element leaf x, and f′, f″, … as the program made
    them: each call differentiates the previous call's result, created with create_graph."""

    leaf: str
    leaf_seq: int
    leaf_label: str
    root: str
    """The node of f."""
    links: tuple[Link, ...]
    """f′, f″, …: ``links[n - 1]`` is the n-th derivative."""


def _own_create_graph(call: BackwardCall) -> bool:
    """A create_graph call the program made itself (jacobian/hessian make their own)."""
    return call.create_graph and call.origin is None and call.kind == "grad"


def create_graph_calls(graph: Graph) -> list[int]:
    """Indices of the program's own ``autograd.grad(..., create_graph=True)`` calls."""
    return [i for i, c in enumerate(graph.backward_calls) if _own_create_graph(c)]


def _scalar_leaf(node: Node | None) -> bool:
    return (
        node is not None
        and node.kind == "leaf"
        and node.seq is not None
        and numel(node.shape) == 1
        and node.dtype.startswith(("float", "bfloat"))
    )


def _next_link(graph: Graph, start: int, root: str, leaf: str) -> Link | None:
    """The first call after ``start`` that differentiates ``root`` with respect to ``leaf``."""
    for j in range(start + 1, len(graph.backward_calls)):
        call = graph.backward_calls[j]
        if call.origin is not None or call.roots != (root,):
            continue
        if call.kind == "grad" and leaf in call.inputs:
            k = call.inputs.index(leaf)
            node = (
                call.result_nodes[k] if call.create_graph and k < len(call.result_nodes) else None
            )
            return Link(j, k, node)
        if call.kind == "backward" and any(s.node == leaf for s in call.steps):
            return Link(j, -1, None)
    return None


def derivative_chain(graph: Graph) -> DerivativeChain | None:
    """The first chain f → f′ (→ f″ …) of a scalar f and a scalar leaf, if the program has one."""
    index = graph.by_id
    names = short_labels(graph)
    for i in create_graph_calls(graph):
        call = graph.backward_calls[i]
        if call.root is None or len(call.roots) != 1 or call.root_value is None:
            continue
        if call.root_value.numel != 1:
            continue
        for k, leaf in enumerate(call.inputs):
            node = index.get(leaf) if leaf else None
            if node is None or not _scalar_leaf(node) or node.seq is None:
                continue
            first = Link(i, k, call.result_nodes[k] if k < len(call.result_nodes) else None)
            links = [first]
            while links[-1].node is not None:
                following = _next_link(graph, links[-1].call, links[-1].node, node.id)
                if following is None:
                    break
                links.append(following)
            return DerivativeChain(node.id, node.seq, names[node.id], call.root, tuple(links))
    return None


def _link_value(graph: Graph, chain: DerivativeChain, link: Link) -> float | None:
    if link.call >= len(graph.backward_calls):
        return None
    call = graph.backward_calls[link.call]
    if link.position >= 0:
        if call.kind != "grad" or link.position >= len(call.results):
            return None
        if call.inputs[link.position] != chain.leaf:
            return None
        return element(call.results[link.position], 0)
    step = next((s for s in call.steps if s.node == chain.leaf), None)
    if step is None or not step.grad_in:
        return None
    return element(step.grad_in[0], 0)


def derivative_values(graph: Graph, chain: DerivativeChain) -> list[float | None]:
    """[f, f′, f″, …] in this run of the program (None where a value is missing).

    ``graph`` may be a rerun with x overridden: the calls are found by their index and
    checked to still be the same calls (the same root and input).
    """
    calls = graph.backward_calls
    first = chain.links[0].call
    if first >= len(calls) or calls[first].root != chain.root:
        return [None] * (len(chain.links) + 1)
    values = [element(calls[first].root_value, 0)]
    values += [_link_value(graph, chain, link) for link in chain.links]
    return values


def derivative_curves(
    source: str, chain: DerivativeChain, xs: Sequence[float], run: Runner
) -> list[list[float | None]]:
    """[f, f′, f″, …] at each x: the program re-run with the leaf set to x.

    Returns:
        One list per x (all None where the program failed there).
    """
    out: list[list[float | None]] = []
    for x in xs:
        try:
            graph = run(source, {chain.leaf_seq: {0: x}})
        except GradvizError:
            out.append([None] * (len(chain.links) + 1))
            continue
        out.append(derivative_values(graph, chain))
    return out


def subgraph(graph: Graph, keep: set[str]) -> Graph:
    """The nodes in ``keep`` and the edges between them (calls left out)."""
    return replace(graph.restricted(keep), backward_calls=(), events=(), functional_calls=())


@dataclass(frozen=True)
class GradientGraph:
    """What one create_graph call differentiated, and the graph autograd built for its result."""

    call: int
    original: Graph
    """The nodes the differentiated tensor was computed from."""
    gradient: Graph
    """The nodes the returned gradient was computed from (built by the backward pass, plus
    forward tensors it reads)."""
    made_by_backward: list[str]
    """Ids of the gradient's nodes that no line of the program made: the backward pass did."""
    result: str
    """The node of the returned gradient."""


def gradient_graphs(graph: Graph) -> list[GradientGraph]:
    """One entry per returned gradient of the program's own create_graph calls."""
    out = []
    for i in create_graph_calls(graph):
        call = graph.backward_calls[i]
        original: set[str] = set()
        for root in call.roots:
            original |= graph.ancestors(root)
        for result in call.result_nodes:
            if result is None:
                continue
            keep = graph.ancestors(result)
            gradient = replace(subgraph(graph, keep), outputs=(result,))
            made = [
                n.id
                for n in gradient.nodes
                if "internal" in n.flags or (n.id not in original and n.line is None)
            ]
            out.append(GradientGraph(i, subgraph(graph, original), gradient, made, result))
    return out
