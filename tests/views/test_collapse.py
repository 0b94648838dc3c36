"""Collapsed and folded views: contractions of the full graph that lose no dependency."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace

import pytest
import torch
from torch import nn

import gradviz
from gradviz.model.graph import Edge, Graph
from gradviz.views.budget import budget_view, fit_budget
from gradviz.views.collapse import (
    collapse_modules,
    effective_modules,
    fold_chains,
    fold_repeats,
    module_tree,
    search,
)
from gradviz.views.group_id import GroupId
from tests.graphs import (
    assert_acyclic,
    chain_graph,
    edge_set,
    make_node,
    record_model,
    recorded_stack,
    transformer,
)

# -- graphs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tanh_chain() -> Graph:
    with gradviz.record() as rec:
        torch.manual_seed(0)
        W = torch.randn(4, 4, requires_grad=True)
        b = torch.randn(4, requires_grad=True)
        y = torch.randn(1, 4)
        for _ in range(2000):
            y = torch.tanh(y @ W + b)
        y.sum().backward()
    assert rec.graph is not None
    return rec.graph


# -- a reference contraction, written independently ------------------------------------------
def reference_rep(graph: Graph, modules: set[str]) -> dict[str, str]:
    """rep(n): "m:<outermost collapsed ancestor of n's module>", or n itself."""
    rep = {}
    for node_id, module in effective_modules(graph).items():
        rep[node_id] = node_id
        parts = (module or "").split(".")
        for i in range(1, len(parts) + 1):
            if module and ".".join(parts[:i]) in modules:
                rep[node_id] = "m:" + ".".join(parts[:i])
                break
    return rep


def contracted(graph: Graph, rep: dict[str, str]) -> set[tuple[str, str]]:
    return {(rep[e.src], rep[e.dst]) for e in graph.edges if rep[e.src] != rep[e.dst]}


def reach(graph: Graph, start: str) -> set[str]:
    after: dict[str, list[str]] = {}
    for e in graph.edges:
        after.setdefault(e.src, []).append(e.dst)
    seen, todo = {start}, [start]
    while todo:
        for nxt in after.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# -- collapse_modules ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "modules",
    [
        {"model"},
        {"model.layers.0"},
        {"model.layers.1.self_attn", "model.layers.2.linear1", "model.layers.2.norm2"},
        {"model.layers.0", "model.layers.0.self_attn", "model.layers.2"},
    ],
)
def test_collapse_is_exactly_the_contraction(
    stack: tuple[nn.Module, Graph], modules: set[str]
) -> None:
    _, graph = stack
    view = collapse_modules(graph, modules)
    rep = reference_rep(graph, modules)
    assert edge_set(view) == contracted(graph, rep)
    assert [n.id for n in view.nodes if n.id.startswith("m:")] == sorted(
        {r for r in rep.values() if r.startswith("m:")}, key=[n.id for n in view.nodes].index
    )
    assert {n.id for n in view.nodes} == set(rep.values())
    assert_acyclic(view)
    sources = [n.id for n in graph.nodes if n.kind != "op"]
    for s in sources:
        for o in reach(graph, s) & set(graph.outputs):
            assert rep[o] in reach(view, rep[s])
    assert view.outputs == tuple(rep[o] for o in graph.outputs)


def test_collapsed_node_carries_output_value_grad_and_inputs(
    stack: tuple[nn.Module, Graph],
) -> None:
    model, graph = stack
    classes = {p: type(m).__name__ for p, m in model.named_modules(prefix="model")}
    view = collapse_modules(graph, {"model.layers.1"}, classes)
    node = next(n for n in view.nodes if n.id == "m:model.layers.1")
    assert node.label.startswith("model.layers.1 (TransformerEncoderLayer ×")
    assert node.flags == ("collapsed",) and node.kind == "op"
    assert node.shape == (1, 5, 8)
    mods = effective_modules(graph)
    consumers = {e.dst for e in view.edges if e.src == node.id}
    assert consumers and all(str(mods[c]).startswith("model.layers.2") for c in consumers)
    assert node.value is not None and node.grad is not None
    assert node.value.shape == (1, 5, 8)
    flat = torch.tensor(node.grad.data).flatten()
    assert node.saved["grad_norm"] == f"{float(flat.norm()):.4g}"
    assert "1×5×8" in str(node.saved["inputs"])


def test_module_paths_match_named_modules(stack: tuple[nn.Module, Graph]) -> None:
    model, graph = stack
    named = {p for p, _ in model.named_modules(prefix="model")}
    tree = module_tree(graph)
    assert set(tree) <= named and "model.layers.2.self_attn" in tree
    view = collapse_modules(graph, set(tree))
    paths = {n.id[2:] for n in view.nodes if n.id.startswith("m:")}
    assert paths and paths <= named
    assert all(n.label.split(" ")[0] in named for n in view.nodes if n.id.startswith("m:"))


def test_module_tree_counts(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    tree = module_tree(graph)
    mods = effective_modules(graph)
    assert tree["model"] == sum(1 for m in mods.values() if m)
    assert tree["model.layers"] == sum(tree[f"model.layers.{i}"] for i in range(3))
    assert list(tree).index("model.layers.2") < list(tree).index("model.layers.2.linear1")


def test_internal_ops_join_their_consumers_module(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    # build_graph stores each node's effective module: effective_modules has nothing to add.
    mods = effective_modules(graph)
    assert all(mods[n.id] == n.module for n in graph.nodes)
    (x,) = [n for n in graph.nodes if n.label == "input"]  # the model's input, made outside it
    assert x.kind == "constant" and x.module is None
    t_ops = [n for n in graph.nodes if n.label == "t"]
    assert t_ops and all("internal" in n.flags for n in t_ops)
    assert all(n.module and n.module.startswith("model.layers.") for n in t_ops)


def test_a_module_called_twice_apart_gives_two_nodes() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    with gradviz.record() as rec:
        rec.recording.bind("model", model)
        h = torch.tanh(model(torch.ones(1, 2)))
        out = model(h).sum()
        out.backward()
    assert rec.graph is not None
    view = collapse_modules(rec.graph, {"model.0"})
    assert [n.id for n in view.nodes if n.id.startswith("m:")] == ["m:model.0", "m:model.0#2"]
    assert_acyclic(view)


def test_views_are_pure_and_deterministic(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    before = graph.to_json()
    first = [
        collapse_modules(graph, {"model.layers.1"}),
        fold_repeats(graph),
        fit_budget(graph, 40)[0],
    ]
    assert graph.to_json() == before
    _, again = recorded_stack()
    second = [
        collapse_modules(again, {"model.layers.1"}),
        fold_repeats(again),
        fit_budget(again, 40)[0],
    ]
    assert [v.to_json() for v in first] == [v.to_json() for v in second]


def test_backward_calls_refer_to_view_nodes(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    view = collapse_modules(graph, {"model"})
    ids = {n.id for n in view.nodes}
    (call,) = view.backward_calls
    assert call.order and set(call.order) <= ids and call.order[0] == call.root
    assert tuple(s.node for s in call.steps) == call.order
    assert set(call.leaf_grads) <= ids


def test_collapsed_views_render_to_valid_dot(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    view = fold_chains(fold_repeats(collapse_modules(graph, {"model.layers.0.self_attn"})), 3)
    assert any(":" in n.id for n in view.nodes)
    dot = gradviz.to_dot(view)
    for node_id in (n.id for n in view.nodes):
        bare = node_id.isidentifier() and f"  {node_id} [" in dot
        assert bare or f'  "{node_id}" [' in dot, node_id
    binary = shutil.which("graphviz-pure")
    if binary:
        done = subprocess.run([binary, "-Tsvg"], input=dot.encode(), capture_output=True)
        assert done.returncode == 0 and b"unrecognized" not in done.stderr


# -- folding ---------------------------------------------------------------------------------
def test_a_100k_chain_folds_to_three_nodes_and_its_input() -> None:
    graph = chain_graph(100_000)
    view = fold_chains(graph, 10)
    assert [n.id for n in view.nodes] == ["n0", "n1", "f:n2", "n99999"]
    folded = view.nodes[2]
    assert folded.flags == ("folded",) and folded.label == "… ×99997 ops (mul)"
    rep = {n.id: n.id for n in graph.nodes} | {f"n{i}": "f:n2" for i in range(2, 99999)}
    assert edge_set(view) == contracted(graph, rep)


def test_short_chains_and_branches_stay() -> None:
    graph = chain_graph(8)
    assert fold_chains(graph, 8).to_json() == graph.to_json()
    nodes, edges = (*graph.nodes, make_node(8, label="exp")), (*graph.edges, Edge("n3", "n8"))
    view = fold_chains(replace(graph, nodes=nodes, edges=edges), 2)  # n3: two consumers
    assert [n.id for n in view.nodes] == ["n0", "n1", "n2", "n3", "n4", "f:n5", "n7", "n8"]


def test_an_output_stays_visible_inside_a_chain() -> None:
    graph = chain_graph(10)
    graph = replace(graph, outputs=("n5", *graph.outputs))  # a result although n6 consumes it
    view = fold_chains(graph, 2)
    assert [n.id for n in view.nodes] == ["n0", "n1", "f:n2", "n5", "n6", "f:n7", "n9"]
    assert view.outputs == ("n5", "n9")


def test_fit_budget_folds_a_2000_layer_chain(tanh_chain: Graph) -> None:
    assert len(tanh_chain.nodes) > 6000
    view, text = fit_budget(tanh_chain)
    assert len(view.nodes) <= 300
    assert text is not None and text.startswith(f"{len(tanh_chain.nodes):,} nodes: showing")
    assert "1 chain of" in text and "tanh" in text and "folded" in text
    rep = {n.id: n.id for n in tanh_chain.nodes}
    for n in view.nodes:
        if n.id.startswith("f:"):
            first, last = str(n.saved["span"]).split(" … ")
            ids = [m.id for m in tanh_chain.nodes]
            for m in ids[ids.index(first) : ids.index(last) + 1]:
                rep[m] = n.id
    assert edge_set(view) == contracted(tanh_chain, rep)


def test_fit_budget_collapses_a_transformer(stack: tuple[nn.Module, Graph]) -> None:
    model = transformer(8)
    graph = record_model(model, torch.randn(1, 5, 8))
    assert len(graph.nodes) > 300
    view, text = fit_budget(graph)
    assert 100 < len(view.nodes) <= 300
    assert text is not None and "modules collapsed" in text
    small, text = fit_budget(stack[1], 40)
    assert len(small.nodes) <= 40 and text is not None
    collapsed = {n.id[2:] for n in small.nodes if "collapsed" in n.flags}
    assert collapsed <= {p for p, _ in stack[0].named_modules(prefix="model")}
    assert fit_budget(stack[1], 1000) == (stack[1], None)


def test_fold_repeats_folds_identical_layers(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    view = fold_repeats(graph)
    (node,) = [n for n in view.nodes if "repeated" in n.flags]
    assert node.id == "r:model.layers.0" and "×3" in node.label
    assert node.label.startswith("model.layers.0\u20132")
    rep = {
        k: ("r:model.layers.0" if m and m.startswith("model.layers.") else k)
        for k, m in effective_modules(graph).items()
    }
    assert edge_set(view) == contracted(graph, rep)
    assert_acyclic(view)


def test_different_siblings_are_not_folded() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3), nn.Tanh())
    graph = record_model(model, torch.ones(2, 3))
    assert fold_repeats(graph).to_json() == graph.to_json()


# -- search ----------------------------------------------------------------------------------
def test_search_is_case_insensitive(stack: tuple[nn.Module, Graph]) -> None:
    _, graph = stack
    found = search(graph, "NORM1")
    assert found and all(
        "norm1" in (graph.node(i).module or graph.node(i).name or "") for i in found
    )
    assert search(graph, "AddMM") == [n.id for n in graph.nodes if n.label == "addmm"]
    assert search(graph, "addmmbackward0") == search(graph, "AddmmBackward0") != []
    assert search(graph, "  ") == [] and search(graph, "no such thing") == []


@pytest.mark.parametrize(
    "group",
    [
        GroupId("module", "encoder.layers.0", 3),
        GroupId("module", "a#b"),
        GroupId("chain", "n17"),
        GroupId("repeats", "layers"),
        GroupId("sources", "n0"),
    ],
)
def test_a_group_id_reads_back_as_itself(group: GroupId) -> None:
    assert GroupId.parse(str(group)) == group
    assert GroupId.parse(group.key) == GroupId(group.kind, group.target)


@pytest.mark.parametrize("node_id", ["n3", "x:n3", "m:", "leaf"])
def test_an_ordinary_node_id_is_no_group(node_id: str) -> None:
    assert GroupId.parse(node_id) is None


def test_the_views_group_ids_are_read_by_group_id(stack: tuple[nn.Module, Graph]) -> None:
    """Every group node a view makes parses, and names what it holds."""
    _, graph = stack
    view = budget_view(graph, 40)
    ids = {n.id for n in graph.nodes}
    groups = [GroupId.parse(n.id) for n in view.graph.nodes if n.id not in ids]
    assert groups and all(g is not None for g in groups)
    for g in groups:
        assert g is not None
        assert g.target in ids or g.target.startswith("model")
