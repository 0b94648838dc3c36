"""A view of a big graph that fits a node budget, shaped by the user's choices.

A graph of thousands of nodes is unreadable and slow to lay out (the server's layout is
bounded at 2 s), so a big graph is shown as a smaller view. Each stage is a contraction of
the one before (collapse.py), so no dependency is lost:

1. modules: collapsed from the top level down, opening while the view fits;
2. chains: runs of a chain's inner ops folded into one node, the longest first;
3. sources: leaves or constants that feed exactly the same nodes merged into one node;
4. if the view is still over the budget, only the nodes nearest the kept nodes and the
   outputs are shown, and the view says it is partial.

The user can open groups (``m:<path>`` a module, ``f:<id>`` a folded run from node ``id``
on, ``s:<id>`` merged sources), collapse modules even when the graph fits, and name nodes
that must stay visible (a search hit, the step-through's current node).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from gradviz.model.format import shape_text
from gradviz.model.graph import Graph, Node
from gradviz.model.paths import common_module, enclosing_paths, parent
from gradviz.views.collapse import (
    effective_modules,
    fold_runs,
    module_contraction,
    short_label,
    subtree_counts,
)
from gradviz.views.contract import contract, group_node, groups, op_chains
from gradviz.views.group_id import GroupId, GroupKind
from gradviz.views.union_find import UnionFind

DEFAULT_BUDGET = 300
"""Visible nodes: about 300 are still readable and usually laid out in well under 2 s."""
MAX_NAMED = 4
"""Up to budget / MAX_NAMED named tensors (each name's latest) stay out of folds."""


@dataclass(frozen=True)
class Group:
    """One node of the view that stands for several nodes of the full graph."""

    id: str
    kind: GroupKind
    key: str
    """What ``opened`` takes to open it: ``m:<path>``, ``f:<first id>`` or ``s:<first id>``."""
    title: str
    members: tuple[str, ...]
    """Ids of the full graph's nodes inside, in graph order."""


@dataclass(frozen=True)
class BudgetView:
    """What to draw, and how it relates to the full graph."""

    graph: Graph
    rep: Mapping[str, str]
    """Each full-graph node id -> the view node showing it (absent: hidden, partial view)."""
    groups: tuple[Group, ...]
    total: int
    """Nodes in the full graph."""
    text: str | None
    """What the view hides, in a sentence (None when it is the full graph)."""
    skipped: tuple[str, ...] = ()
    """Opened keys that did not fit in the budget."""
    partial: bool = False
    """Even collapsed the graph was over the budget: only its nearest nodes are shown."""


def budget_view(
    graph: Graph,
    budget: int = DEFAULT_BUDGET,
    *,
    opened: Sequence[str] = (),
    collapsed: Collection[str] = (),
    keep: Collection[str] = (),
    classes: Mapping[str, str] | None = None,
) -> BudgetView:
    """A view of at most ``budget`` nodes (partial, and saying so, when nothing else fits).

    Args:
        graph: The full graph (not modified).
        budget: Most nodes to show.
        opened: Group keys to open, in the order the user opened them; each opens only if
            the view still fits (a folded run opens as far as it fits).
        collapsed: Module paths to collapse even when the graph fits the budget.
        keep: Node ids that must stay visible (their modules open, their chains split).
        classes: Class name per module path, for the collapsed nodes' labels.
    """
    total = len(graph.nodes)
    ids = graph.by_id
    hard = {k for k in keep if k in ids}
    if total <= budget and not collapsed:
        return BudgetView(graph, {n.id: n.id for n in graph.nodes}, (), total, None)
    classes = classes if classes is not None else _classes(graph)
    mods = effective_modules(graph)
    forced = {m for k in hard if (m := mods[k]) is not None}
    modules, skipped = _choose_modules(graph, mods, budget, opened, collapsed, forced)
    view, rep = graph, {n.id: n.id for n in graph.nodes}
    if modules:
        view, step = module_contraction(graph, modules, classes, mods)
        rep = _compose(rep, step)
    pins = {rep[k] for k in hard}
    folded: list[list[Node]] = []
    if len(view.nodes) > budget:
        soft = _latest_named(view, budget // MAX_NAMED)
        folded, late = _choose_runs(view, budget, pins, soft, opened)
        skipped += late
        if folded:
            view, step = fold_runs(view, folded)
            rep = _compose(rep, step)
    merged: list[list[Node]] = []
    if len(view.nodes) > budget:
        merged = _choose_sources(view, budget, {rep[k] for k in hard}, opened)
        if merged:
            view, step = _merge_sources(view, merged)
            rep = _compose(rep, step)
    partial = len(view.nodes) > budget
    if partial:
        view = _nearest(view, budget, [rep[k] for k in hard])
        shown = {n.id for n in view.nodes}
        rep = {k: v for k, v in rep.items() if v in shown}
    text = _describe(total, view, modules, folded, merged, partial, budget)
    return BudgetView(view, rep, _groups(view, rep), total, text, tuple(skipped), partial)


def fit_budget(
    graph: Graph, budget: int = DEFAULT_BUDGET, classes: Mapping[str, str] | None = None
) -> tuple[Graph, str | None]:
    """``budget_view`` with no choices made: the view and what it hides (None if nothing)."""
    view = budget_view(graph, budget, classes=classes)
    return view.graph, view.text


# -- stage 1: modules ------------------------------------------------------------------------
def _choose_modules(
    graph: Graph,
    mods: Mapping[str, str | None],
    budget: int,
    opened: Sequence[str],
    collapsed: Collection[str],
    forced: set[str],
) -> tuple[list[str], list[str]]:
    """Module paths to collapse, and the opened ``m:`` keys that did not fit."""
    direct = Counter(m for m in mods.values() if m)
    tree = subtree_counts(direct)
    must_open = {a for m in forced for a in enclosing_paths(m)}
    fixed = [p for p in collapsed if p in tree and p not in must_open]
    total = len(graph.nodes)
    if total <= budget or not tree:
        return fixed, []
    parts = _part_counts(graph, mods)
    kids: dict[str | None, list[str]] = {}
    for p in tree:
        kids.setdefault(parent(p), []).append(p)
    chosen = dict.fromkeys(kids[None])
    count = total - sum(tree[p] - parts[p] for p in chosen)

    def cost(path: str) -> int:
        return direct[path] + sum(parts[k] for k in kids.get(path, [])) - parts[path]

    def steps_to(path: str) -> list[str] | None:
        """The collapsed modules to open, top down, so that ``path`` is open."""
        line = enclosing_paths(path)
        first = next((i for i, a in enumerate(line) if a in chosen), None)
        steps = [] if first is None else line[first:]
        return None if any(s in fixed for s in steps) else steps

    def open_all(steps: list[str]) -> None:
        nonlocal count
        for step in steps:
            del chosen[step]
            chosen.update(dict.fromkeys(kids.get(step, [])))
            count += cost(step)

    for path in sorted(must_open, key=lambda p: p.count(".")):  # visible whatever the cost
        open_all(steps_to(path) or [])
    skipped = []
    for key in opened:
        group = GroupId.parse(key)
        wanted = group.target if group is not None and group.kind == "module" else None
        if wanted is None or wanted not in tree:
            continue
        steps = steps_to(wanted)
        if steps is None or count + sum(map(cost, steps)) > budget:
            skipped.append(key)
        else:
            open_all(steps)
    queue = deque(chosen)
    while queue:
        path = queue.popleft()
        if path in chosen and path not in fixed and count + cost(path) <= budget:
            open_all([path])
            queue.extend(kids.get(path, []))
    return list(chosen), skipped


def _part_counts(graph: Graph, mods: Mapping[str, str | None]) -> dict[str, int]:
    """Per module path, how many unconnected parts its nodes form (nodes per collapsed call)."""
    parts_of: UnionFind[tuple[str, str]] = UnionFind()
    for e in graph.edges:
        a, b = mods.get(e.src), mods.get(e.dst)
        if a is None or b is None:
            continue
        shared = set(enclosing_paths(a)) & set(enclosing_paths(b))
        for path in shared:
            parts_of.join((path, e.src), (path, e.dst))
    parts: Counter[str] = Counter()
    for node_id, module in mods.items():
        for path in enclosing_paths(module) if module else []:
            if parts_of.find((path, node_id)) == (path, node_id):
                parts[path] += 1
    return dict(parts)


# -- stage 2: chains -------------------------------------------------------------------------
def _latest_named(view: Graph, most: int) -> set[str]:
    """The latest op bound to each variable name (``y`` after a loop), if there are few."""
    latest = {n.name: n.id for n in view.nodes if n.name and n.kind == "op"}
    return set(latest.values()) if len(latest) <= most else set()


def _choose_runs(
    view: Graph, budget: int, hard: set[str], soft: set[str], opened: Sequence[str]
) -> tuple[list[list[Node]], list[str]]:
    """Runs of inner chain ops to fold (the fewest, longest first, that fit the budget), cut
    at kept nodes, then opened as the user asked; and the opened ``f:`` keys that did not fit.
    """
    pins = hard | soft
    runs: list[list[Node]] = []
    for chain in op_chains(view):
        run: list[Node] = []
        for node in chain[1:-1]:
            if node.id in pins:
                runs.append(run)
                run = []
            else:
                run.append(node)
        runs.append(run)
    runs = [run for run in runs if len(run) >= 2]
    count = len(view.nodes)
    folded: list[list[Node]] = []
    for run in sorted(runs, key=len, reverse=True):
        if count <= budget:
            break
        folded.append(run)
        count -= len(run) - 1
    skipped = []
    for key in opened:
        group = GroupId.parse(key)
        if group is None or group.kind != "chain":
            continue
        where = {n.id: (i, j) for i, run in enumerate(folded) for j, n in enumerate(run)}
        if group.target not in where:
            continue  # shown already, or not in this graph
        i, j = where[group.target]
        before, rest = folded[i][:j], folded[i][j:]
        base = count - 1 + (1 if before else 0)
        shown = len(rest) if base + len(rest) <= budget else budget - base - 1
        if shown <= 0:
            skipped.append(key)
            continue
        after = rest[shown:]
        folded[i : i + 1] = [r for r in (before, after) if len(r) >= 2]
        count = base + shown + (1 if after else 0)
    position = {n.id: i for i, n in enumerate(view.nodes)}
    return sorted(folded, key=lambda r: position[r[0].id]), skipped


# -- stage 3: sources ------------------------------------------------------------------------
def _choose_sources(
    view: Graph, budget: int, hard: set[str], opened: Sequence[str]
) -> list[list[Node]]:
    """Sets of two or more leaves (or constants) feeding exactly the same nodes, the largest
    first, merged until the view fits; opened sets are merged last."""
    users = view.consumers
    outputs = set(view.outputs)
    buckets: dict[tuple[str, tuple[str, ...]], list[Node]] = {}
    for n in view.nodes:
        if n.kind != "op" and n.id not in hard and n.id not in outputs:
            buckets.setdefault((n.kind, tuple(sorted(set(users[n.id])))), []).append(n)
    wanted = set(opened)
    sets = sorted(
        (b for b in buckets.values() if len(b) >= 2),
        key=lambda b: (str(GroupId("sources", b[0].id)) in wanted, -len(b)),
    )
    count, chosen = len(view.nodes), []
    for members in sets:
        if count <= budget:
            break
        chosen.append(members)
        count -= len(members) - 1
    return chosen


def _merge_sources(view: Graph, sets: Iterable[list[Node]]) -> tuple[Graph, dict[str, str]]:
    rep = {n.id: str(GroupId("sources", members[0].id)) for members in sets for n in members}
    made: dict[str, Node] = {}
    for gid, (members, _, outs) in groups(view, rep).items():
        kind = members[0].kind
        what = ("leaves" if kind == "leaf" else "constants") if len(members) > 1 else kind
        names = [n.name or n.label for n in members]
        more = ", …" if len(names) > 3 else ""
        label = f"×{len(members)} {what}: {', '.join(names[:3])}{more}"
        node = group_node(gid, label, members, [], outs, ("merged",))
        shapes = [shape_text(n.shape) for n in members]
        made[gid] = replace(
            node,
            kind=kind,
            value=None,  # many tensors: their names and shapes are shown instead
            grad=None,
            saved={"names": ", ".join(names)},
            op="shapes " + ", ".join(shapes[:8]) + (", …" if len(shapes) > 8 else ""),
            module=common_module([n.module for n in members]),
        )
    return contract(view, rep, made), rep


# -- stage 4: a partial view -----------------------------------------------------------------
def _nearest(view: Graph, budget: int, keep: list[str]) -> Graph:
    """The ``budget`` nodes nearest (edges either way) to the kept nodes and the outputs."""
    near: dict[str, list[str]] = {n.id: [] for n in view.nodes}
    for e in view.edges:
        near[e.src].append(e.dst)
        near[e.dst].append(e.src)
    starts = list(dict.fromkeys([*keep, *view.outputs, *(n.id for n in view.nodes[-1:])]))
    seen = dict.fromkeys(starts[:budget])
    queue = deque(seen)
    while queue and len(seen) < budget:
        for other in near[queue.popleft()]:
            if other not in seen and len(seen) < budget:
                seen[other] = None
                queue.append(other)
    return view.restricted(seen)


# -- helpers ---------------------------------------------------------------------------------
def _compose(rep: dict[str, str], step: Mapping[str, str]) -> dict[str, str]:
    return {k: step.get(v, v) for k, v in rep.items()}


def _groups(view: Graph, rep: Mapping[str, str]) -> tuple[Group, ...]:
    members: dict[str, list[str]] = {}
    for node_id, shown in rep.items():
        if node_id != shown:
            members.setdefault(shown, []).append(node_id)
    out = []
    for n in view.nodes:
        group = GroupId.parse(n.id)
        if group is not None and group.kind != "repeats" and n.id in members:
            out.append(Group(n.id, group.kind, group.key, n.label, tuple(members[n.id])))
    return tuple(out)


def _describe(
    total: int,
    view: Graph,
    modules: list[str],
    folded: list[list[Node]],
    merged: list[list[Node]],
    partial: bool,
    budget: int,
) -> str:
    done = []
    if modules:
        done.append(f"{len(modules)} module{'s' if len(modules) != 1 else ''} collapsed")
    if folded:
        labels = "/".join(dict.fromkeys(short_label(n) for run in folded for n in run[:12]))
        many = "s" if len(folded) != 1 else ""
        done.append(f"{len(folded)} chain{many} of {labels} folded")
    if merged:
        many = "s" if len(merged) != 1 else ""
        done.append(f"{len(merged)} set{many} of leaves or constants merged")
    text = f"{total:,} nodes: showing {len(view.nodes):,}"
    if done:
        text += " — " + ", ".join(done)
    if partial:
        text += f"; still over the budget of {budget:,}, so only the nearest nodes are shown"
    return text


def _classes(graph: Graph) -> dict[str, str]:
    """The class of each module path, as the recording stored it."""
    return dict(graph.module_classes)
