"""Big graphs and modules in the app: the view within the node budget, and its controls.

Above the budget the graph panel draws ``budget_view``'s view (modules collapsed, chains
folded) and says what it hides; the user can expand a group (and collapse it again), collapse
a module even when the graph fits, and find a node by name, which keeps it visible and
highlights it. The browser never gets more than ``budget`` nodes to lay out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import streamlit as st

from gradviz.app import links, state
from gradviz.model.format import shape_text
from gradviz.model.graph import Graph
from gradviz.model.names import numbered, title
from gradviz.model.paths import enclosing_paths
from gradviz.render.dot import RenderOptions
from gradviz.views.budget import BudgetView, Group, budget_view
from gradviz.views.collapse import (
    effective_modules,
    fold_repeats,
    module_tree,
    search,
)
from gradviz.views.group_id import GroupId

# Session-state keys of this panel (not URL-bound: they name nodes of one program's graph).
OPENED = "big_opened"
"""Keys of the groups the user expanded, in order (also the "Expanded" multiselect)."""
OPENED_TITLES = "big_opened_titles"
"""What each expanded group was called when the user chose it (the multiselect's chips)."""
COLLAPSED = "big_collapsed"
"""Module paths the user collapsed (multiselect)."""
EXPAND = "big_expand"
"""The "Expand a group" select box; reset after each choice."""
FIND = "big_find"
"""Search text."""
FOLD_REPEATS = "big_fold_repeats"
"""Whether identical sibling blocks (``layers.0``, ``layers.1``, …) are folded into one ×N."""
FOUND = "big_found"
"""The chosen search hit: a node id, kept visible and highlighted."""
MAX_HITS = 200
"""Search hits listed at most (the select box stays quick)."""


Shrink = Callable[[int], tuple[Graph, RenderOptions]]
"""The same view within a smaller budget (for a layout that would take too long)."""


def big_graph_view(
    graph: Graph, render: RenderOptions, budget: int
) -> tuple[Graph, RenderOptions, Shrink]:
    """The controls for modules and big graphs; returns the graph to draw, its options, and
    how to show it within a smaller budget with the same choices.

    A graph within the budget that has no modules is drawn as it is, with no controls.
    """
    tree = module_tree(graph)
    if len(graph.nodes) <= budget and not tree:

        def plain(smaller: int) -> tuple[Graph, RenderOptions]:
            view = budget_view(graph, smaller, keep=[render.highlight] if render.highlight else [])
            return view.graph, _mapped(render, view, None)

        for param in (links.EXPANDED, links.COLLAPSED):
            links.to_link(param, None)
        return graph, render, plain
    over = len(graph.nodes) > budget
    for key, param in ((OPENED, links.EXPANDED), (COLLAPSED, links.COLLAPSED)):
        linked = links.from_link(param)  # a shared link opens with the same groups
        if linked is not None and key not in st.session_state:
            st.session_state[key] = links.split(linked)
    _forget_other_graphs(graph, tree)
    heading = st.container()
    with st.expander("Modules, groups and search", expanded=over):
        left, right = st.columns(2)
        with right:
            focus = _find(graph)
        with left:
            graph = _fold_repeats_box(graph)
            collapsed = _collapse_box(tree)
            opened = [k for k in st.session_state.get(OPENED, []) if isinstance(k, str)]
            keep = [k for k in (focus, render.highlight) if k is not None]
            view = budget_view(graph, budget, opened=opened, collapsed=collapsed, keep=keep)
            links.to_link(links.EXPANDED, ",".join(opened))
            links.to_link(links.COLLAPSED, ",".join(collapsed))
            _expand_box(view.groups, collapsed)
            if opened:
                st.multiselect(
                    "Expanded groups",
                    options=opened,
                    format_func=lambda key: _opened_title(key, graph),
                    key=OPENED,
                    help="Remove a group to collapse it again.",
                )
    with heading:
        _say_what_is_shown(view, budget)

    def shrink(smaller: int) -> tuple[Graph, RenderOptions]:
        view = budget_view(graph, smaller, opened=opened, collapsed=collapsed, keep=keep)
        return view.graph, _mapped(render, view, focus)

    return view.graph, _mapped(render, view, focus), shrink


def _fold_repeats_box(graph: Graph) -> Graph:
    """Offer to fold runs of identical blocks (only when the graph has some); the graph to show."""
    folded = fold_repeats(graph, graph.module_classes)
    if len(folded.nodes) == len(graph.nodes):
        return graph
    runs = [n.label for n in folded.nodes if _kind(n.id) == "repeats"]
    st.checkbox(
        "Fold repeated blocks (×N)",
        key=FOLD_REPEATS,
        bind="query-params",
        help="Identical sibling blocks, each feeding the next, drawn as one node: "
        + "; ".join(runs),
    )
    return folded if st.session_state.get(FOLD_REPEATS) else graph


def _kind(node_id: str) -> str | None:
    group = GroupId.parse(node_id)
    return group.kind if group is not None else None


def _forget_other_graphs(graph: Graph, tree: dict[str, int]) -> None:
    """Drop choices that name modules or nodes this graph does not have (another program)."""
    ids = graph.by_id

    def here(key: object) -> bool:
        group = GroupId.parse(key) if isinstance(key, str) else None
        if group is None:
            return False
        return group.target in (tree if group.kind == "module" else ids)

    for name, valid in ((OPENED, here), (COLLAPSED, tree.__contains__)):
        chosen = st.session_state.get(name)
        if isinstance(chosen, list) and not all(valid(k) for k in chosen):
            st.session_state[name] = [k for k in chosen if valid(k)]


def _collapse_box(tree: dict[str, int]) -> list[str]:
    """The modules the user collapsed (a multiselect of the graph's modules, if any)."""
    if not tree:
        return []
    chosen = st.multiselect(
        "Collapse modules",
        options=list(tree),
        format_func=lambda p: f"{p} ({tree[p]} node{'s' if tree[p] != 1 else ''})",
        key=COLLAPSED,
        help="Draw a module as one node: its input and output shapes and the gradient norm "
        "through it. Remove it here (or expand it) to see its operations again.",
    )
    return list(chosen)


def _say_what_is_shown(view: BudgetView, budget: int) -> None:
    if view.text is not None:
        st.caption(f"**{view.text}.** Expand a group or find a node below.")
    if view.skipped:
        st.caption(
            f":orange[{len(view.skipped)} expanded group(s) do not fit in the budget of "
            f"{budget:,} nodes]: raise the node budget under Display, or collapse another group."
        )
    if view.partial:
        st.warning(
            f"Even collapsed, this graph has more than {budget:,} nodes: only the nodes nearest "
            "the output (or the node you found) are drawn. Raise the node budget or find a node."
        )


def _expand_box(groups: tuple[Group, ...], collapsed: list[str]) -> None:
    """A select box of the view's groups; choosing one expands it."""
    named = {g.key: g.title for g in groups}
    titles = {g.key: f"{g.title} — {len(g.members):,} nodes" for g in groups}
    st.selectbox(
        f"Expand a group ({len(titles)} collapsed)",
        options=list(titles),
        index=None,
        format_func=titles.__getitem__,
        placeholder="Choose a collapsed module or folded chain…",
        key=EXPAND,
        on_change=_expand,
        args=(collapsed, named),
        disabled=not titles,
        help="Shows what the group stands for, as far as the node budget allows "
        "(a long chain opens from its start; the rest stays folded).",
    )


def _expand(collapsed: list[str], named: dict[str, str]) -> None:
    """Callback: undo the user's own collapse, or add the group to the expanded ones."""
    key = st.session_state.get(EXPAND)
    st.session_state[EXPAND] = None
    if not isinstance(key, str):
        return
    st.session_state.setdefault(OPENED_TITLES, {})[key] = named.get(key, key)
    group = GroupId.parse(key)
    if group is not None and group.kind == "module" and group.target in collapsed:
        st.session_state[COLLAPSED] = [p for p in collapsed if p != group.target]
        return
    opened = list(st.session_state.get(OPENED, []))
    if key not in opened:
        st.session_state[OPENED] = [*opened, key]


def _opened_title(key: str, graph: Graph) -> str:
    """An expanded group as the user knew it: its title when chosen, else (a shared link)
    its module path or the node it starts from."""
    chosen = st.session_state.get(OPENED_TITLES, {}).get(key)
    if isinstance(chosen, str):
        return chosen
    group = GroupId.parse(key)
    if group is None:
        return key
    if group.kind == "module":
        return group.target
    first = graph.by_id.get(group.target)
    what = "chain" if group.kind == "chain" else "inputs"
    return f"{what} from {title(first)}" if first is not None else what


def _find(graph: Graph) -> str | None:
    """Search by name, op or module; returns the chosen hit's node id."""
    text = st.text_input(
        "Find a node",
        key=FIND,
        placeholder="a name, an op or a module, e.g. model.0.weight",
        help="Choosing a match keeps it visible (its module and chain open), highlights it "
        "and shows it in the inspector.",
    )
    if not text:
        return None
    hits = search(graph, text)
    if not hits:
        st.caption("No node matches.")
        return None
    index = graph.by_id
    mods = effective_modules(graph)
    found_as = {}
    for node_id in hits[:MAX_HITS]:
        node = index[node_id]
        where = f" in {mods[node_id]}" if mods[node_id] else ""
        line = f" · line {node.line}" if node.line is not None else ""
        found_as[node_id] = f"{title(node)} {shape_text(node.shape)}{where}{line}"
    labels = numbered(found_as)
    more = f" (first {MAX_HITS})" if len(hits) > MAX_HITS else ""
    found = st.selectbox(
        f"{len(hits):,} match{'es' if len(hits) != 1 else ''}{more}",
        options=list(labels),
        index=None,
        format_func=labels.__getitem__,
        placeholder="Show and highlight…",
        key=FOUND,
        on_change=_reveal,
        args=({k: mods[k] for k in labels},),
    )
    return found if isinstance(found, str) and found in index else None


def _reveal(mods: dict[str, str | None]) -> None:
    """Callback: a found node's modules are no longer collapsed by the user, and the
    inspector shows it."""
    found = st.session_state.get(FOUND)
    if isinstance(found, str):
        st.session_state[state.NODE] = found
    module = mods.get(str(found))
    if module:
        around = set(enclosing_paths(module))
        kept = [p for p in st.session_state.get(COLLAPSED, []) if p not in around]
        st.session_state[COLLAPSED] = kept


def _mapped(render: RenderOptions, view: BudgetView, focus: str | None) -> RenderOptions:
    """The options with the highlighted node and traversed edges moved onto the view."""
    rep = view.rep
    wanted = render.highlight or focus
    traversed = frozenset(
        (rep[a], rep[b]) for a, b in render.traversed if a in rep and b in rep and rep[a] != rep[b]
    )
    highlight = rep.get(wanted) if wanted is not None else None
    return replace(render, highlight=highlight, traversed=traversed)
