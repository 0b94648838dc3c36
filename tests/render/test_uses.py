"""A leaf feeding many ops is drawn again at each use: every edge still drawn and mapped back to
the real node (for hover, click and the step's marks), the node itself in full with torch's
numbers, and below the threshold one box with an arrow per use (what accumulation teaches)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
import torch

import gradviz
from gradviz.render.dot import PALETTES, RenderOptions, legend_entries, to_dot
from gradviz.render.interactive import Overlay, payload
from gradviz.render.layout import forget_layouts, lay_out
from gradviz.render.uses import MANY_USES, drawn_uses
from tests.app.drawing import Drawing, parse
from tests.graphs import chain_opened

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def no_layouts_yet() -> None:
    forget_layouts()


def used(times: int, through_an_op: bool = False) -> str:
    """w (or h = w * 2) used ``times`` times."""
    feed = "h = w * 2\n" if through_an_op else "h = w\n"
    return (
        "import torch\n"
        "w = torch.tensor(0.5, requires_grad=True)\n"
        f"{feed}"
        f"loss = sum(h * k for k in range({times}))\n"
        "loss.backward()\n"
    )


def drawn(graph: gradviz.Graph, render: RenderOptions | None = None) -> Drawing:
    render = render or RenderOptions()
    svg = lay_out(to_dot(graph, replace(render, legend=False)))
    return parse(payload(graph, svg, render))


def torch_grad_of_w(times: int) -> float:
    w = torch.tensor(0.5, requires_grad=True)
    loss = sum((w * k for k in range(times)), torch.tensor(0.0))
    loss.backward()
    assert w.grad is not None
    return w.grad.item()


def leaf_named(graph: gradviz.Graph, name: str) -> str:
    return next(n.id for n in graph.nodes if n.name == name and n.kind == "leaf")


def test_from_many_uses_on_a_leaf_is_drawn_again_at_each_and_every_edge_maps_back() -> None:
    graph = gradviz.run(used(MANY_USES))
    w = leaf_named(graph, "w")
    assert len(graph.consumers[w]) == MANY_USES
    drawing = drawn(graph)
    assert set(drawing.nodes) == {n.id for n in graph.nodes}
    assert drawing.edges == {(e.src, e.dst) for e in graph.edges}
    labels = drawing.copies[w]
    assert labels == [f"w (leaf) use {k} of {MANY_USES}" for k in range(2, MANY_USES + 1)]
    # The node itself is drawn once in full, with torch's gradient, and keeps one arrow.
    assert f"grad {torch_grad_of_w(MANY_USES):g}" in drawing.nodes[w]
    titles = [t.text or "" for t in ET.fromstring(drawing.data["svg"]).iter(f"{SVG}title")]
    assert sum(t.startswith(f"{w}->") for t in titles) == 1
    # Each copy's edge carries the real edge's tooltip: the gradient sent back to w there.
    aliases = drawing.data["aliases"]
    copied_edges = [real for drawn_id, real in aliases.items() if "->" in drawn_id]
    assert len(copied_edges) == MANY_USES - 1
    assert all(real in drawing.data["edges"] for real in copied_edges)


def test_below_many_uses_one_box_keeps_an_arrow_per_use() -> None:
    graph = gradviz.run(used(MANY_USES - 1))
    drawing = drawn(graph)
    assert drawing.copies == {} and drawing.data["aliases"] == {}
    w = leaf_named(graph, "w")
    assert sum(src == w for src, _ in drawing.edges) == MANY_USES - 1
    assert "dotted" not in to_dot(graph)


def test_an_op_used_many_times_is_not_copied_since_its_inputs_would_be_lost() -> None:
    graph = gradviz.run(used(MANY_USES + 5, through_an_op=True))
    assert drawn(graph).copies == {}


def test_the_chains_weights_get_one_box_per_use_and_can_be_turned_off() -> None:
    graph = chain_opened(300)
    drawing = drawn(graph)
    for name in ("W", "b"):
        node = leaf_named(graph, name)
        assert len(graph.consumers[node]) > MANY_USES
        assert len(drawing.copies[node]) == len(graph.consumers[node]) - 1
    assert drawing.edges == {(e.src, e.dst) for e in graph.edges}
    one_box = RenderOptions(draw_each_use_from=0)
    assert drawn(graph, one_box).copies == {} and "#use" not in to_dot(graph, one_box)


def test_the_step_marks_every_copy_and_the_legend_names_the_look() -> None:
    graph = chain_opened(300)
    w = leaf_named(graph, "W")
    marked = to_dot(graph, RenderOptions(highlight=w, legend=False))
    color = PALETTES[RenderOptions().theme].highlight
    assert marked.count(f'color="{color}"') == len(graph.consumers[w])  # W and each copy
    assert parse(payload(graph, lay_out(marked), RenderOptions(), Overlay(current=w))).current == w
    dotted = [e for e in legend_entries(graph, RenderOptions()) if e.dotted]
    assert [e.text for e in dotted] == ["same tensor, another use (grad sums all uses)"]
    assert not any(e.dotted for e in legend_entries(graph, RenderOptions(draw_each_use_from=0)))
    assert drawn_uses(graph, 0).aliases(graph) == {}
