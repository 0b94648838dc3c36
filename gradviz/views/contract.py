"""Contraction: map nodes to group nodes and carry edges, outputs and calls across; and
the op chains that folding contracts.

Each node maps to itself or to one group; each edge (u, v) becomes (rep(u), rep(v)) minus
self-loops and duplicates (the first keeps its position and kind).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from gradviz.capture.gc_pause import no_gc
from gradviz.model.format import shape_text
from gradviz.model.graph import BackwardCall, Edge, Flag, Graph, Node, NodeStep
from gradviz.model.values import TensorValue

V = TypeVar("V")


def groups(
    graph: Graph, rep: Mapping[str, str]
) -> dict[str, tuple[list[Node], list[Node], list[Node]]]:
    """Per group: members, outside inputs, and members used outside (or outputs)."""
    index = graph.by_id
    out: dict[str, tuple[list[Node], list[Node], list[Node]]] = {}
    for n in graph.nodes:
        if n.id in rep:
            out.setdefault(rep[n.id], ([], [], []))[0].append(n)
    used = {o for o in graph.outputs if o in rep}
    seen: set[tuple[str, str]] = set()
    for e in graph.edges:
        gs, gd = rep.get(e.src), rep.get(e.dst)
        if gs == gd:
            continue
        if gs is not None:
            used.add(e.src)
        if gd is not None and (gd, e.src) not in seen:
            seen.add((gd, e.src))
            out[gd][1].append(index[e.src])
    for members, _, outs in out.values():
        outs.extend(m for m in members if m.id in used)
    return out


def group_node(
    gid: str,
    label: str,
    members: list[Node],
    inputs: list[Node],
    outs: list[Node],
    flags: tuple[Flag, ...],
    module: str | None = None,
) -> Node:
    """One node standing for ``members``: the value, gradient and shape of its (last) output,
    its inputs' shapes and gradient norm in ``saved``, and a summary of them as its ``op``.

    A group has no grad_fn of its own; its ``op`` row, drawn under the title, says what flows
    through it (``in 16×4 → out 16×8, grad norm 0.3``)."""
    out = (outs or members)[-1]
    saved: dict[str, str | TensorValue] = {}
    if inputs:
        more = ", …" if len(inputs) > 8 else ""
        saved["inputs"] = ", ".join(shape_text(n.shape) for n in inputs[:8]) + more
    if len(outs) > 1:
        more = ", …" if len(outs) > 8 else ""
        saved["outputs"] = ", ".join(shape_text(n.shape) for n in outs[:8]) + more
    norm = grad_norm(out.grad)
    if norm is not None:
        saved["grad_norm"] = norm
    return Node(
        id=gid,
        kind="op",
        name=None,
        op=flow_text(saved, out.shape),
        label=label,
        shape=out.shape,
        dtype=out.dtype,
        requires_grad=out.requires_grad,
        value=out.value,
        grad=out.grad,
        saved=saved,
        flags=flags,
        module=module,
        seq=out.seq,
        line=min((m.line for m in members if m.line is not None), default=None),
    )


def contract(graph: Graph, rep: Mapping[str, str], made: Mapping[str, Node]) -> Graph:
    """The contracted Graph; each new node sits where its last member was."""
    with no_gc():
        return _contract(graph, rep, made)


def _contract(graph: Graph, rep: Mapping[str, str], made: Mapping[str, Node]) -> Graph:
    last = {rep[n.id]: i for i, n in enumerate(graph.nodes) if n.id in rep}
    nodes = []
    for i, n in enumerate(graph.nodes):
        gid = rep.get(n.id)
        if gid is None:
            nodes.append(n)  # a Node is a value: the view shares it
        elif last[gid] == i:
            nodes.append(made[gid])
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for e in graph.edges:
        key = (rep.get(e.src, e.src), rep.get(e.dst, e.dst))
        if key[0] != key[1] and key not in seen:
            seen.add(key)
            edges.append(Edge(key[0], key[1], e.position, e.kind, e.label))
    return replace(
        graph,
        nodes=tuple(nodes),
        edges=tuple(edges),
        outputs=unique(rep.get(o, o) for o in graph.outputs),
        backward_calls=tuple(_map_call(c, rep) for c in graph.backward_calls),
        events=tuple(
            replace(e, leaf_grads=_keys(e.leaf_grads, rep), leaf_values=_keys(e.leaf_values, rep))
            for e in graph.events
        ),
    )


def _map_call(call: BackwardCall, rep: Mapping[str, str]) -> BackwardCall:
    steps, seen = [], set()
    for s in call.steps:  # a group's first step is its output's: the gradient arriving
        node = rep.get(s.node, s.node)
        if node not in seen:
            seen.add(node)
            steps.append(s if node == s.node else NodeStep(node, s.grad_in, s.grad_out))
    return replace(
        call,
        root=None if call.root is None else rep.get(call.root, call.root),
        roots=unique(rep.get(r, r) for r in call.roots),
        order=unique(rep.get(o, o) for o in call.order),
        steps=tuple(steps),
        inputs=tuple(None if i is None else rep.get(i, i) for i in call.inputs),
        result_nodes=tuple(None if i is None else rep.get(i, i) for i in call.result_nodes),
        leaf_grads=_keys(call.leaf_grads, rep),
        leaf_values=_keys(call.leaf_values, rep),
        jacobians=_keys(call.jacobians, rep),
    )


def _keys(values: Mapping[str, V], rep: Mapping[str, str]) -> dict[str, V]:
    out: dict[str, V] = {}
    for k, v in values.items():
        out.setdefault(rep.get(k, k), v)
    return out


def op_chains(graph: Graph) -> list[list[Node]]:
    """Maximal op chains: u links to v when v is u's only consumer and u is v's only op
    input (leaves and constants may feed v too); outputs end a chain."""
    index, users = graph.by_id, graph.consumers
    op_inputs = {
        n.id: [s for s in dict.fromkeys(graph.sources[n.id]) if index[s].kind == "op"]
        for n in graph.nodes
    }
    outputs = set(graph.outputs)
    nxt: dict[str, str] = {}
    for n in graph.nodes:
        after = set(users[n.id])
        if n.kind == "op" and n.id not in outputs and len(after) == 1:
            (v,) = after
            if index[v].kind == "op" and op_inputs[v] == [n.id]:
                nxt[n.id] = v
    linked = set(nxt.values())
    chains = []
    for n in graph.nodes:
        if n.id in nxt and n.id not in linked:
            chain = [n]
            while chain[-1].id in nxt:
                chain.append(index[nxt[chain[-1].id]])
            chains.append(chain)
    return chains


def flow_text(saved: Mapping[str, str | TensorValue], shape: Sequence[int]) -> str:
    """``in <input shapes> → out <output shapes>, grad norm <norm>`` from a group's ``saved``."""
    outs = saved.get("outputs")
    text = f"out {outs if isinstance(outs, str) else shape_text(shape)}"
    ins = saved.get("inputs")
    if isinstance(ins, str):
        text = f"in {ins} → {text}"
    norm = saved.get("grad_norm")
    return text + (f", grad norm {norm}" if isinstance(norm, str) else "")


def grad_norm(value: TensorValue | None) -> str | None:
    """The L2 norm of a gradient carried in full, as text (None when summarized)."""
    if value is None or value.data is None:
        return None
    total, stack = 0.0, [value.data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            total += float(item) ** 2
    return f"{math.sqrt(total):.4g}"


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
