"""Smaller views of big graphs: collapse modules, fold chains and repeated blocks.

Every function is pure (a new Graph; the input is untouched) and deterministic. A view is a
contraction: each node maps to itself or to one new node, and each edge (u, v) of the full
graph becomes (rep(u), rep(v)) minus self-loops and duplicates, so no dependency is lost.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from gradviz.model.graph import Flag, Graph, Node
from gradviz.model.paths import common_module, enclosing_paths, parent, path_key
from gradviz.views.contract import (
    contract,
    flow_text,
    grad_norm,
    group_node,
    groups,
    op_chains,
)
from gradviz.views.group_id import GroupId
from gradviz.views.union_find import UnionFind

_INDEX = re.compile(r"^(.*)\.(\d+)$")


def effective_modules(graph: Graph) -> dict[str, str | None]:
    """Each node's module; autograd-internal ops (``t`` of a Linear's weight) take their
    consumers' common module, and tensors made elsewhere that were first seen as a module's
    input have none. Assumes inputs come before consumers (``build_graph`` order)."""
    mods = {n.id: None if n.label == "input" and n.kind != "op" else n.module for n in graph.nodes}
    if not any(n.module is None and "internal" in n.flags for n in graph.nodes):
        return mods
    users = graph.consumers
    for n in reversed(graph.nodes):
        if n.module is None and n.kind == "op" and "internal" in n.flags:
            mods[n.id] = common_module([mods[u] for u in users[n.id]])
    return mods


def module_tree(graph: Graph) -> dict[str, int]:
    """Node counts per module path, each node counted in its module and every ancestor."""
    return subtree_counts(Counter(m for m in effective_modules(graph).values() if m))


def collapse_modules(
    graph: Graph, modules: Iterable[str], classes: Mapping[str, str] | None = None
) -> Graph:
    """One node per collapsed module (``m:<path>``) for all nodes at or under its path.

    A module whose nodes form several unconnected parts (called twice with other work in
    between) gets one node per part (``m:<path>#2``), so the view stays acyclic.
    """
    return module_contraction(graph, modules, classes)[0]


def module_contraction(
    graph: Graph,
    modules: Iterable[str],
    classes: Mapping[str, str] | None = None,
    mods: Mapping[str, str | None] | None = None,
) -> tuple[Graph, dict[str, str]]:
    """``collapse_modules`` and its map from each hidden node to its ``m:`` node."""
    targets = set(modules)
    found: dict[str, str | None] = {}
    mods = effective_modules(graph) if mods is None else mods
    path_of: dict[str, str] = {}
    for node_id, module in mods.items():
        if module is not None:
            if module not in found:
                found[module] = next((p for p in enclosing_paths(module) if p in targets), None)
            if found[module] is not None:
                path_of[node_id] = found[module]  # type: ignore[assignment]
    calls_of: UnionFind[str] = UnionFind()
    pos = {n.id: i for i, n in enumerate(graph.nodes)}
    for e in graph.edges:
        if e.src in path_of and path_of[e.src] == path_of.get(e.dst):
            a, b = sorted((calls_of.find(e.src), calls_of.find(e.dst)), key=pos.__getitem__)
            calls_of.join(a, b)  # the earlier node stands for the call
    rep: dict[str, str] = {}
    parts: dict[tuple[str, str], str] = {}
    titles: dict[str, tuple[str, int]] = {}
    calls: Counter[str] = Counter()
    for n in graph.nodes:
        if n.id in path_of:
            path, key = path_of[n.id], (path_of[n.id], calls_of.find(n.id))
            if key not in parts:
                calls[path] += 1
                k = calls[path]
                parts[key] = str(GroupId("module", path, k))
                titles[parts[key]] = (path, k)
            rep[n.id] = parts[key]
    made: dict[str, Node] = {}
    for gid, (members, inputs, outs) in groups(graph, rep).items():
        path, k = titles[gid]
        cls = (classes or {}).get(path) or _class_from_path(path)
        ops = sum(1 for m in members if m.kind == "op")
        what = f"{cls} ×{ops} ops" if cls else f"×{ops} ops"
        name = path + (f" #{k}" if k > 1 else "")
        label = f"{name} ({what})"
        made[gid] = group_node(gid, label, members, inputs, outs, ("collapsed",), parent(path))
    return contract(graph, rep, made), rep


def fold_chains(graph: Graph, min_length: int) -> Graph:
    """Fold the inside of each op chain longer than ``min_length`` into one ``f:`` node.

    A chain links op u to op v when v is u's only consumer and u is v's only op input
    (leaves and constants may feed v too); the chain's first and last nodes stay.
    """
    return _fold(graph, op_chains(graph), min_length)


def _fold(graph: Graph, chains: list[list[Node]], min_length: int) -> Graph:
    runs = [chain[1:-1] for chain in chains if len(chain) > max(min_length, 3)]
    return fold_runs(graph, runs)[0]


def fold_runs(graph: Graph, runs: Iterable[list[Node]]) -> tuple[Graph, dict[str, str]]:
    """Fold each run (consecutive inner ops of one chain) into one ``f:<first id>`` node that
    shows the gradient norm at the run's first and last op; also the map to the folds."""
    rep: dict[str, str] = {}
    for run in runs:
        rep.update((n.id, str(GroupId("chain", run[0].id))) for n in run)
    made: dict[str, Node] = {}
    for gid, (inner, inputs, outs) in groups(graph, rep).items():
        node = group_node(gid, fold_label(inner), inner, inputs, outs, ("folded",))
        saved = {k: v for k, v in node.saved.items() if k != "grad_norm"}
        saved["span"] = f"{inner[0].id} … {inner[-1].id}"
        norms = (grad_norm(inner[0].grad), grad_norm(inner[-1].grad))
        if norms[0] is not None and norms[1] is not None:
            saved["grad_norm"] = f"{norms[0]} … {norms[1]}"
        made[gid] = replace(
            node,
            value=None,  # a run has no one value: its ends' gradient norms are shown instead
            grad=None,
            saved=saved,
            op=flow_text(saved, node.shape),
            module=common_module([n.module for n in inner]),
        )
    return contract(graph, rep, made), rep


def fold_label(inner: list[Node]) -> str:
    """``… ×5997 ops: (add → tanh → mm) ×1,999`` for a repeating run, else the first labels."""
    labels = [short_label(n) for n in inner]
    period = _period(labels, 8)
    if period is None or period == 1:
        names = list(dict.fromkeys(labels))
        text = ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
        return f"… ×{len(inner)} ops ({text})"
    times, rest = divmod(len(labels), period)
    text = f"… ×{len(inner)} ops: ({' → '.join(labels[:period])}) ×{times:,}"
    return text + (f", then {', '.join(labels[len(labels) - rest :])}" if rest else "")


def short_label(node: Node) -> str:
    """A node's label, or for a collapsed module just its path (``model.0``)."""
    return node.label.split(" (")[0] if "collapsed" in node.flags else node.label


def fold_repeats(graph: Graph, classes: Mapping[str, str] | None = None) -> Graph:
    """Fold runs of sibling blocks (``layers.0``, ``layers.1``, …) with the same submodules and
    kinds of ops, each feeding only the next, into one ``r:`` node labelled ×N."""
    mods = effective_modules(graph)
    block: dict[str, str] = {}
    for node_id, module in mods.items():
        for path in enclosing_paths(module) if module else []:
            if _INDEX.match(path):
                block[node_id] = path
                break
    members: dict[str, list[Node]] = {}
    for n in graph.nodes:
        if n.id in block:
            members.setdefault(block[n.id], []).append(n)
    feeds: dict[str, set[str]] = {p: set() for p in members}
    for e in graph.edges:
        src = block.get(e.src)
        if src is not None and block.get(e.dst) != src:
            feeds[src].add(block.get(e.dst, e.dst))
    sig = {p: _signature(p, ms, mods) for p, ms in members.items()}
    rep: dict[str, str] = {}
    runs: dict[str, list[str]] = {}
    for path in members:
        if _joins(_step(path, -1), path, feeds, sig):
            continue  # the middle of a run
        run = [path]
        while _joins(run[-1], _step(run[-1], 1), feeds, sig):
            run.append(_step(run[-1], 1))
        if len(run) > 1:
            runs[str(GroupId("repeats", path))] = run
            rep.update((n.id, str(GroupId("repeats", path))) for p in run for n in members[p])
    made: dict[str, Node] = {}
    for gid, (inner, inputs, outs) in groups(graph, rep).items():
        run = runs[gid]
        cls = (classes or {}).get(run[0]) or _class_from_path(run[0]) or "block"
        ops = sum(1 for n in members[run[0]] if n.kind == "op")
        last = run[-1].rsplit(".", 1)[1]
        label = f"{run[0]}\u2013{last} ({cls} ×{len(run)}, {ops} ops each)"
        flags: tuple[Flag, ...] = ("collapsed", "repeated")
        made[gid] = group_node(gid, label, inner, inputs, outs, flags, parent(run[0]))
    return contract(graph, rep, made)


def search(graph: Graph, text: str) -> list[str]:
    """Ids of nodes whose name, label, op or module contains ``text`` (any case)."""
    needle = text.strip().lower()
    if not needle:
        return []
    fields = ("name", "label", "op", "module")
    return [
        n.id for n in graph.nodes if any(needle in (getattr(n, f) or "").lower() for f in fields)
    ]


# -- helpers ---------------------------------------------------------------------------------
def _period(labels: list[str], longest: int) -> int | None:
    """The shortest cycle (up to ``longest``) the labels repeat at least twice, if any."""
    for p in range(1, min(longest, len(labels) // 2) + 1):
        if all(labels[i] == labels[i - p] for i in range(p, len(labels))):
            return p
    return None


def subtree_counts(direct: Mapping[str, int]) -> dict[str, int]:
    """Node counts per module path from counts per own module, in natural path order."""
    counts: Counter[str] = Counter()
    for module, k in direct.items():
        for path in enclosing_paths(module):
            counts[path] += k
    return {p: counts[p] for p in sorted(counts, key=path_key)}


def _step(path: str, by: int) -> str:
    head, index = path.rsplit(".", 1)
    return f"{head}.{int(index) + by}"


def _signature(path: str, members: list[Node], mods: Mapping[str, str | None]) -> object:
    """What a block is made of: its submodules' relative paths and its kinds of ops (the first
    block of a stack may lack a few ops, such as a view of its input)."""
    ops = [n for n in members if n.kind == "op"]
    return sorted({(mods[n.id] or "")[len(path) :] for n in ops}), sorted({n.label for n in ops})


def _joins(a: str, b: str, feeds: Mapping[str, set[str]], sig: Mapping[str, object]) -> bool:
    """Block ``a`` feeds only block ``b``, which does the same ops."""
    return a in feeds and b in feeds and feeds[a] == {b} and sig[a] == sig[b]


def _class_from_path(path: str) -> str | None:
    """Recordings that never learned a module's name call it by class (``Sequential.Linear``)."""
    last = path.rsplit(".", 1)[-1]
    return last if last[:1].isupper() else None
