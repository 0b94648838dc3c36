"""AppTest: big graphs within the node budget, modules collapsed and expanded, node search.

Every number checked here is recomputed with plain torch.nn modules and autograd.
"""

from __future__ import annotations

import re

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from gradviz.app.big_graph import MAX_HITS
from gradviz.model.format import number
from gradviz.model.names import distinct
from tests.app.drawing import drawing
from tests.app.helpers import captions, drawn, drawn_edges, full, inspector, open_example

INTERNAL_ID = re.compile(r"\bn\d+\b")
"""What an internal node id looks like (``n12``): never in what a person reads."""


def grad_norms(label: str) -> list[float]:
    """The numbers after ``grad norm`` in a collapsed node's label (one, or first … last)."""
    match = re.search(r"grad norm ([-+.\de]+)(?: … ([-+.\de]+))?", label)
    assert match, label
    return [float(x) for x in match.groups() if x is not None]


# -- plain torch -------------------------------------------------------------------------------
def mlp_first_layer_grad_norms() -> list[float]:
    """The MLP example in plain torch: the norm of d loss / d (output of model[0]) per step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(16, 4)
    target = x.sum(dim=1, keepdim=True)
    norms = []
    for _ in range(3):
        optimizer.zero_grad()
        hidden = model[0](x)
        hidden.retain_grad()
        loss = ((model[2](model[1](hidden)) - target) ** 2).mean()
        loss.backward()
        assert hidden.grad is not None
        norms.append(float(hidden.grad.norm()))
        optimizer.step()
    return norms


def chain_pre_activation_grad_norms() -> tuple[float, float]:
    """The 2,000-layer chain in plain torch: |d loss / d (y @ W + b)| at the first and the
    last layer (the fold runs from the first add to the last one)."""
    torch.manual_seed(0)
    W = (torch.randn(4, 4) * 0.5).requires_grad_()
    b = torch.zeros(4, requires_grad=True)
    y = torch.randn(1, 4)
    sums = []
    for _ in range(2000):
        z = y @ W + b
        z.retain_grad()
        sums.append(z)
        y = torch.tanh(z)
    y.sum().backward()
    first, last = sums[0].grad, sums[-1].grad
    assert first is not None and last is not None
    return float(first.norm()), float(last.norm())


def transformer_parameter_paths() -> list[str]:
    block = nn.ModuleDict(
        {
            "norm1": nn.LayerNorm(8),
            "attn": nn.MultiheadAttention(8, num_heads=2, batch_first=True),
            "norm2": nn.LayerNorm(8),
            "mlp": nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8)),
        }
    )
    return [name for name, _ in block.named_parameters(prefix="block")]


# -- tests -------------------------------------------------------------------------------------
def test_the_2000_layer_chain_is_drawn_within_the_budget() -> None:
    at = open_example("deep_chain")
    graph = full("deep_chain")
    nodes = drawn(at)
    assert len(graph.nodes) > 6000 and 0 < len(nodes) <= 300
    assert f"{len(graph.nodes):,} nodes: showing {len(nodes)}" in captions(at)
    (fold,) = [label for node_id, label in nodes.items() if node_id.startswith("f:")]
    assert "(add → tanh → mm) ×1,999" in fold
    first, last = chain_pre_activation_grad_norms()
    assert grad_norms(fold) == [pytest.approx(first, rel=1e-3), pytest.approx(last, rel=1e-3)]
    # what is visible is the full graph's: its nodes and, between them, exactly its edges
    visible = set(nodes) & {n.id for n in graph.nodes}
    inner = {(e.src, e.dst) for e in graph.edges if e.src in visible and e.dst in visible}
    assert {e for e in drawn_edges(at) if set(e) <= visible} == inner


def test_the_inspector_of_a_big_graph_lists_the_nodes_drawn() -> None:
    at = open_example("deep_chain")
    graph = full("deep_chain")
    real = {n.id for n in graph.nodes}
    inspect = inspector(at)
    names = distinct(graph)
    listed = [i for i in drawn(at) if i in real]  # groups left out
    assert sorted(inspect.options) == sorted(names[i] for i in listed)
    assert len(set(inspect.options)) == len(listed)  # one label per node...
    assert not [o for o in inspect.options if INTERNAL_ID.search(o)]  # ...and no internal id
    assert 0 < len(listed) < len(graph.nodes)
    assert inspect.value == graph.backward_calls[0].root
    assert f"Listing the {len(listed):,} nodes drawn of {len(graph.nodes):,}" in captions(at)
    # a node found by search is drawn, and the inspector shows it
    at.text_input(key="big_find").input("tanh").run()
    found = at.selectbox(key="big_found")
    hits = [n.id for n in graph.nodes if n.label == "tanh"][: len(found.options)]
    assert len(found.options) == min(len(hits), MAX_HITS) and len(set(found.options)) == len(hits)
    assert all(o.startswith("y = tanh 1×4 · line 8 #") for o in found.options)
    assert not [o for o in found.options if INTERNAL_ID.search(o)]
    hidden = [h for h in hits if h not in listed]
    assert hidden
    found.set_value(hidden[-1]).run()
    assert not at.exception
    assert inspector(at).value == hidden[-1]  # the inspector shows what was found


def test_expanding_the_fold_adds_exactly_its_members() -> None:
    at = open_example("deep_chain")
    graph = full("deep_chain")
    ids = [n.id for n in graph.nodes]
    before = set(drawn(at))
    hidden_before = set(ids) - before
    (key,) = [i for i in before if i.startswith("f:")]  # a folded run opens by its id
    (option,) = at.selectbox(key="big_expand").options
    assert option.startswith("… ×5998 ops") and option.endswith(f"{len(hidden_before):,} nodes")
    at.selectbox(key="big_expand").set_value(key).run()
    after = set(drawn(at))
    # As much of the chain as the budget allows, or as its layout allows within 2 s (a
    # weight feeding all 150 layers makes 300 nodes slow to lay out on a busy machine).
    assert len(after) == 300 or (
        len(after) >= 100 and f"shown as {len(after):,} nodes instead" in captions(at)
    )
    assert at.multiselect(key="big_opened").value == [key]
    # its chip names the group as the user chose it, not its internal key
    assert at.multiselect(key="big_opened").options == [option.split(" — ")[0]]
    shown = after - before
    (rest,) = [i for i in shown if i.startswith("f:")]  # the rest of the chain, still folded
    revealed = shown - {rest}
    assert before - after == {key}
    # the nodes revealed are the fold's first members, in the full graph's order
    order = [i for i in ids if i in hidden_before]
    assert [i for i in order if i in revealed] == order[: len(revealed)]
    assert rest == f"f:{order[len(revealed)]}"
    visible = after & set(ids)
    inner = {(e.src, e.dst) for e in graph.edges if e.src in visible and e.dst in visible}
    assert {e for e in drawn_edges(at) if set(e) <= visible} == inner
    # collapsing it again gives the first view back
    at.multiselect(key="big_opened").set_value([]).run()
    assert set(drawn(at)) == before


def test_a_module_collapses_below_the_budget_and_expands_again() -> None:
    at = open_example("mlp_training")
    at.segmented_control(key="iterations").set_value("all").run()  # the three steps' graphs
    graph = full("mlp_training")
    everything = set(drawn(at))
    assert everything == {n.id for n in graph.nodes}
    at.multiselect(key="big_collapsed").set_value(["model.0"]).run()
    nodes = drawn(at)
    groups = sorted(i for i in nodes if i.startswith("m:"))
    assert groups == ["m:model.0", "m:model.0#2", "m:model.0#3"]
    hidden = everything - set(nodes)
    # what model.0 did, by the full graph: its linear ops and the transposes of its weight
    weight = {n.id for n in graph.nodes if n.name == "model.0.weight"}
    linear = {n.id for n in graph.nodes if n.module == "model.0"}
    transposes = {e.dst for e in graph.edges if e.src in weight and graph.node(e.dst).label == "t"}
    assert hidden == linear | transposes and len(hidden) == 6
    # each collapsed call shows its input and output shapes and torch's gradient norm
    norms = mlp_first_layer_grad_norms()
    for group, norm in zip(groups, norms, strict=True):
        assert "in 8×4, 8, 16×4 → out 16×8" in nodes[group]
        assert grad_norms(nodes[group]) == [pytest.approx(norm, rel=1e-3)]
    # expanding the group brings back exactly its members
    at.selectbox(key="big_expand").set_value("m:model.0").run()
    assert set(drawn(at)) == everything
    assert at.multiselect(key="big_collapsed").value == []
    assert drawn_edges(at) == {(e.src, e.dst) for e in graph.edges}


def test_search_finds_a_parameter_by_its_path_and_highlights_it() -> None:
    at = open_example("transformer_block", budget=12)
    graph = full("transformer_block")
    paths = transformer_parameter_paths()
    assert "block.attn.in_proj_weight" in paths
    nodes = drawn(at)
    assert len(nodes) <= 12
    hidden = [p for p in paths if not any(label.startswith(f" {p} ") for label in nodes.values())]
    assert hidden  # merged with other parameters at this budget
    for path in hidden[:2]:
        at.text_input(key="big_find").input(path).run()
        found = at.selectbox(key="big_found")
        (node,) = [n for n in graph.nodes if n.name == path]
        assert any(o.startswith(f"{path} (leaf) ") for o in found.options)
        found.set_value(node.id).run()
        nodes = drawn(at)
        assert node.id in nodes and len(nodes) <= 12
        assert drawing(at).current == node.id  # the highlight


def test_changing_the_budget_changes_the_view() -> None:
    at = open_example("transformer_block")
    graph = full("transformer_block")
    assert set(drawn(at)) == {n.id for n in graph.nodes}  # 61 nodes: within 300
    at.number_input(key="budget").set_value(40).run()
    nodes = drawn(at)
    assert len(nodes) <= 40 and "m:block.attn" in nodes
    assert f"{len(graph.nodes)} nodes: showing {len(nodes)}" in captions(at)
    at.number_input(key="budget").set_value(20).run()
    assert len(drawn(at)) <= 20 and "m:block.attn" not in drawn(at)


def walkthrough_page() -> None:
    """The graph panel as the step-through calls it: the full graph, a node highlighted and
    the edges the gradient has already travelled (node and edges taken from the session)."""
    from dataclasses import replace

    import streamlit as st

    import gradviz
    from gradviz.app.graph_panel import graph_panel
    from gradviz.gallery import by_key
    from gradviz.render.dot import RenderOptions

    graph = gradviz.run(by_key("deep_chain").code)
    render = replace(
        RenderOptions(),
        highlight=st.session_state["step_node"],
        traversed=frozenset(st.session_state["step_edges"]),
    )
    graph_panel(graph, render, stale=False)


def test_the_step_throughs_node_stays_visible_and_highlighted() -> None:
    graph = full("deep_chain")
    tanhs = [n.id for n in graph.nodes if n.label == "tanh"]
    node = tanhs[1000]
    edges = [(e.src, e.dst) for e in graph.edges if node in (e.src, e.dst)]
    at = AppTest.from_function(walkthrough_page, default_timeout=180)
    at.session_state["step_node"] = node
    at.session_state["step_edges"] = edges
    at.run()
    assert not at.exception
    shown = drawing(at)
    assert node in shown.nodes and len(shown.nodes) <= 300
    assert shown.current == node
    # its edges, to and from the folds on either side, are drawn as travelled
    travelled = [e for e in shown.edges if node in e]
    assert len(travelled) == 2 and set(travelled) <= shown.traversed


def stacked_blocks_torch() -> tuple[nn.Sequential, torch.Tensor]:
    """The stacked_blocks example in plain torch, with the same seed and init order."""
    torch.manual_seed(0)
    layers = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(6)])
    x = torch.randn(4, 8)
    loss = layers(x).pow(2).mean()
    loss.backward()
    return layers, loss


def test_identical_blocks_fold_into_one_node_and_unfold_again() -> None:
    at = open_example("stacked_blocks")
    unfolded = drawn(at)
    assert len(unfolded) == len(full("stacked_blocks").nodes)
    at.checkbox(key="big_fold_repeats").check().run()
    folded = drawn(at)
    (run,) = [label for node_id, label in folded.items() if node_id.startswith("r:")]
    assert "×6" in run
    # Each block is a Linear (addmm + its transpose) and a Tanh: 6 blocks' ops become 1 node.
    layers, loss = stacked_blocks_torch()
    ops_per_block = 3
    assert len(unfolded) - len(folded) == len(layers) * ops_per_block - 1
    # The loss drawn is the loss plain torch computes: nothing outside the fold changed.
    assert any(f"value {number(loss.item())}" in t for t in folded.values())
    at.checkbox(key="big_fold_repeats").uncheck().run()
    assert drawn(at).keys() == unfolded.keys()
