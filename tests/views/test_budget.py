"""budget_view: a view within the node budget, shaped by the user's choices, that loses no
dependency (its edges are exactly the full graph's edges carried onto the view)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from gradviz.model.graph import Edge, Graph
from gradviz.views.budget import BudgetView, budget_view, fit_budget
from gradviz.views.collapse import effective_modules
from tests.graphs import (
    assert_acyclic,
    chain_graph,
    edge_set,
    make_node,
)


def star_graph(n: int) -> Graph:
    """n leaves, each through its own exp, all stacked: nothing to collapse or fold."""
    nodes = [make_node(i, "leaf", "leaf") for i in range(n)]
    nodes += [make_node(n + i, label="exp") for i in range(n)]
    nodes.append(make_node(2 * n, label="stack"))
    edges = [Edge(f"n{i}", f"n{n + i}") for i in range(n)]
    edges += [Edge(f"n{n + i}", f"n{2 * n}", position=i) for i in range(n)]
    return Graph(nodes=tuple(nodes), edges=tuple(edges), outputs=(f"n{2 * n}",))


def assert_contraction(graph: Graph, view: BudgetView) -> None:
    """The view's nodes and edges are the full graph's, carried through ``rep``."""
    rep = view.rep
    assert set(rep) == {n.id for n in graph.nodes}
    assert {n.id for n in view.graph.nodes} == set(rep.values())
    carried = {(rep[e.src], rep[e.dst]) for e in graph.edges if rep[e.src] != rep[e.dst]}
    if view.graph is graph:  # x * x: two edges from x to mul, one per input
        assert {(e.src, e.dst) for e in graph.edges} == carried
    else:
        assert edge_set(view.graph) == carried
    assert_acyclic(view.graph)
    assert view.graph.outputs == tuple(dict.fromkeys(rep[o] for o in graph.outputs))


def assert_groups_are_what_they_say(graph: Graph, view: BudgetView) -> None:
    """Module groups hold nodes of that module; folds are paths of ops; merged sources are
    leaves or constants that feed the same view nodes."""
    mods = effective_modules(graph)
    index = graph.by_id
    after: dict[str, set[str]] = {}
    for e in graph.edges:
        after.setdefault(e.src, set()).add(e.dst)
    for group in view.groups:
        assert {view.rep[m] for m in group.members} == {group.id}
        if group.kind == "module":
            path = group.key[2:]
            assert all(
                str(mods[m]) == path or str(mods[m]).startswith(path + ".") for m in group.members
            )
        elif group.kind == "chain":
            ops = [index[m] for m in group.members]
            assert all(op.kind == "op" for op in ops)
            for a, b in zip(group.members, group.members[1:], strict=False):
                assert after[a] == {b}  # each feeds only the next
        else:
            feeds = {frozenset(view.rep[d] for d in after.get(m, ())) for m in group.members}
            assert len(feeds) == 1
            assert all(index[m].kind != "op" for m in group.members)


CHOICES = [
    {},
    {"opened": ["m:model.layers.1"]},
    {"opened": ["m:model.layers.0.self_attn", "m:model.layers.2"]},
    {"collapsed": ["model.layers.0"]},
    {"keep": ["__deep__"]},
]


@pytest.mark.parametrize("budget", [300, 60, 25, 8])
@pytest.mark.parametrize("choice", range(len(CHOICES)))
def test_every_view_fits_and_is_exactly_the_contraction(
    stack: tuple[nn.Module, Graph], budget: int, choice: int
) -> None:
    _, graph = stack
    kwargs = dict(CHOICES[choice])
    if "keep" in kwargs:  # an op deep inside the last layer's attention
        deep = [k for k, m in effective_modules(graph).items() if m == "model.layers.2.self_attn"]
        kwargs["keep"] = [deep[len(deep) // 2]]
    view = budget_view(graph, budget, **kwargs)  # type: ignore[arg-type]
    assert len(view.graph.nodes) <= budget
    if not view.partial:
        assert_contraction(graph, view)
    assert_groups_are_what_they_say(graph, view)
    for kept in kwargs.get("keep", []):
        assert view.rep[kept] == kept
    if len(graph.nodes) <= budget and not kwargs.get("collapsed"):
        assert view.graph is graph and view.text is None


def test_an_opened_module_shows_its_parts(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    closed = budget_view(graph, 60)
    shut = [g for g in closed.groups if g.kind == "module"]
    assert shut
    target = next(g for g in shut if g.key == "m:model.layers.2")
    opened = budget_view(graph, 60, opened=[target.key])
    assert target.key not in {g.key for g in opened.groups}
    assert len(opened.graph.nodes) <= 60
    # its members are now shown by themselves or by groups of its submodules
    shown = {opened.rep[m] for m in target.members}
    assert len(shown) > 1 and all(
        s in target.members or s.startswith("m:model.layers.2.") for s in shown
    )
    # too big to open: skipped, the view stays within the budget
    tight = budget_view(graph, 25, opened=["m:model.layers.1"])
    assert tight.skipped == ("m:model.layers.1",) and len(tight.graph.nodes) <= 25


def test_collapsing_a_module_of_a_small_graph(stack: tuple[nn.Module, Graph]) -> None:
    model, graph = stack
    view = budget_view(graph, 1000, collapsed=["model.layers.1.self_attn"])
    assert [g.id for g in view.groups] == ["m:model.layers.1.self_attn"]
    assert view.text is not None and "1 module collapsed" in view.text
    assert_contraction(graph, view)
    node = view.graph.node("m:model.layers.1.self_attn")
    assert node.op is not None and node.op.startswith("in ") and "→ out 1×5×8" in node.op
    # the gradient norm through it is torch's: d loss / d (attention output), plain torch
    outputs: list[torch.Tensor] = []

    def keep_output(_: nn.Module, __: object, out: tuple[torch.Tensor, ...]) -> None:
        out[0].retain_grad()
        outputs.append(out[0])

    hook = model.get_submodule("layers.1.self_attn").register_forward_hook(keep_output)
    try:
        x = torch.randn(1, 5, 8, generator=torch.Generator().manual_seed(1))
        model(x).pow(2).mean().backward()
    finally:
        hook.remove()
    (attended,) = outputs
    assert attended.grad is not None
    assert node.op.endswith(f"grad norm {float(attended.grad.norm()):.4g}")
    # a kept node inside wins over the collapse
    inside = view.groups[0].members[3]
    again = budget_view(graph, 1000, collapsed=["model.layers.1.self_attn"], keep=[inside])
    assert again.groups == ()


def test_a_folded_chain_opens_from_its_start_as_far_as_the_budget_allows() -> None:
    graph = chain_graph(1000)
    view = budget_view(graph, 50)
    assert [n.id for n in view.graph.nodes] == ["n0", "n1", "f:n2", "n999"]
    (fold,) = view.groups
    assert fold.members == tuple(f"n{i}" for i in range(2, 999))
    opened = budget_view(graph, 50, opened=["f:n2"])
    ids = [n.id for n in opened.graph.nodes]
    assert len(ids) == 50 and ids[:2] == ["n0", "n1"] and ids[-1] == "n999"
    assert ids[2:48] == [f"n{i}" for i in range(2, 48)] and ids[48] == "f:n48"
    assert_contraction(graph, opened)
    # opening the rest too: no room left, so it is skipped
    more = budget_view(graph, 50, opened=["f:n2", "f:n48"])
    assert more.skipped == ("f:n48",) and len(more.graph.nodes) == 50
    # a kept node splits the fold
    split = budget_view(graph, 50, keep=["n500"])
    assert [n.id for n in split.graph.nodes] == ["n0", "n1", "f:n2", "n500", "f:n501", "n999"]
    assert_contraction(graph, split)


def test_fold_labels_show_a_repeating_pattern_and_the_gradient_norm() -> None:
    chain = chain_graph(14)
    labels = [chain.nodes[0].label] + [("mm", "add", "tanh")[i % 3] for i in range(1, 14)]
    graph = replace(
        chain, nodes=tuple(replace(n, label=k) for n, k in zip(chain.nodes, labels, strict=True))
    )
    view = budget_view(graph, 4)
    (fold,) = [n for n in view.graph.nodes if n.id.startswith("f:")]
    assert fold.label == "… ×11 ops: (tanh → mm → add) ×3, then tanh, mm"


def test_leaves_feeding_the_same_nodes_merge_when_nothing_else_fits() -> None:
    leaves = [replace(make_node(i, "leaf", "leaf"), name=f"w{i}") for i in range(10)]
    nodes = (*leaves, make_node(10, label="stack"))
    edges = tuple(Edge(f"n{i}", "n10", i) for i in range(10))
    graph = Graph(nodes=nodes, edges=edges, outputs=("n10",))
    view = budget_view(graph, 5)
    assert [n.id for n in view.graph.nodes] == ["s:n0", "n10"]
    merged = view.graph.node("s:n0")
    assert merged.kind == "leaf" and merged.label == "×10 leaves: w0, w1, w2, …"
    assert_contraction(graph, view)
    kept = budget_view(graph, 5, keep=["n4"])
    assert [n.id for n in kept.graph.nodes] == ["n4", "s:n0", "n10"]  # a group sits at its last


def test_a_graph_that_cannot_fit_is_shown_partially_and_says_so() -> None:
    graph = star_graph(100)
    view = budget_view(graph, 50)
    assert view.partial and len(view.graph.nodes) == 50
    assert "n200" in view.graph.by_id  # the output, and the nodes nearest it
    assert view.text is not None and "only the nearest nodes are shown" in view.text
    ids = view.graph.by_id
    assert edge_set(view.graph) == {
        (e.src, e.dst) for e in graph.edges if e.src in ids and e.dst in ids
    }
    near = budget_view(graph, 50, keep=["n7"])
    assert "n7" in near.graph.by_id and len(near.graph.nodes) == 50


def test_fit_budget_is_the_view_with_no_choices(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    view, text = fit_budget(graph, 40)
    same = budget_view(graph, 40)
    assert view.to_json() == same.graph.to_json() and text == same.text
    assert fit_budget(graph, 1000) == (graph, None)


def test_views_are_deterministic(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    before = graph.to_json()
    first = budget_view(graph, 25, opened=["m:model.layers.2"], keep=["n40"])
    second = budget_view(graph, 25, opened=["m:model.layers.2"], keep=["n40"])
    assert first.graph.to_json() == second.graph.to_json() and first.groups == second.groups
    assert graph.to_json() == before


def test_a_leaf_is_a_node_not_a_module(stack: tuple[nn.Module, Graph]) -> None:
    """Parameters stay outside their module's group: a module called twice shares them, and
    putting them inside would join its two calls into one node (a cycle)."""
    _, graph = stack
    view = budget_view(graph, 1000, collapsed=["model.layers.0"])
    params = [n for n in graph.nodes if n.kind == "leaf"]
    assert params and all(view.rep[n.id] == n.id for n in params)
