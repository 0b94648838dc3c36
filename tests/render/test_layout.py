"""The graph laid out on the server: bounded in time, cached, and what the component is given
(ids, tooltips with torch's numbers, the step's overlay)."""

from __future__ import annotations

import re
import time

import pytest
import torch

import gradviz
from gradviz.app.graph_panel import laid_out
from gradviz.render.dot import RenderOptions, to_dot
from gradviz.render.interactive import Overlay, edge_tips, node_tip, payload
from gradviz.render.layout import LayoutTooSlow, forget_layouts, lay_out
from tests.app.drawing import parse
from tests.graphs import chain_opened

PROGRAM = (
    "import torch\n"
    "x = torch.tensor(3.0, requires_grad=True)\n"
    "y = x * x\n"
    "z = y.sin()\n"
    "z.backward()\n"
)


@pytest.fixture(autouse=True)
def no_layouts_yet() -> None:
    """Another test in this process may have laid the same graph out (the cache is global)."""
    forget_layouts()


def test_the_svg_has_every_node_and_edge_titled_by_id_and_no_fixed_size() -> None:
    graph = gradviz.run(PROGRAM)
    svg = lay_out(to_dot(graph, RenderOptions(legend=False)))
    drawn = parse(payload(graph, svg, RenderOptions()))
    assert set(drawn.nodes) == {n.id for n in graph.nodes}
    assert drawn.edges == {(e.src, e.dst) for e in graph.edges}
    assert svg.startswith("<svg") and not re.search(r"<svg[^>]*\bwidth=", svg)


def test_a_layout_is_cached_and_a_slow_one_is_refused_and_remembered() -> None:
    # W and b drawn as one box each, with an arrow per use: slow for dot.
    dot = to_dot(chain_opened(300), RenderOptions(legend=False, draw_each_use_from=0))
    start = time.perf_counter()
    with pytest.raises(LayoutTooSlow):
        lay_out(dot, seconds=0.2)
    assert time.perf_counter() - start < 5  # the engine was stopped, not waited for
    start = time.perf_counter()
    with pytest.raises(LayoutTooSlow):
        lay_out(dot, seconds=0.2)  # remembered: not tried again
    assert time.perf_counter() - start < 0.1
    with pytest.raises(LayoutTooSlow):
        lay_out(dot, seconds=0.3)  # more time: tried again
    small = to_dot(gradviz.run(PROGRAM), RenderOptions(legend=False))
    assert lay_out(small) is lay_out(small)


def test_a_graph_too_slow_to_lay_out_is_shown_collapsed_further_with_a_note() -> None:
    graph = chain_opened(300)
    one_box = RenderOptions(draw_each_use_from=0)  # W and b: one box each, slow for dot
    shown, _, svg, note = laid_out(graph, one_box, seconds=0.3)
    assert len(shown.nodes) < len(graph.nodes)
    assert note is not None and f"shown as {len(shown.nodes):,} nodes" in note
    assert set(parse(payload(shown, svg, one_box)).nodes) == {n.id for n in shown.nodes}
    assert laid_out(gradviz.run(PROGRAM), RenderOptions())[3] is None  # a small graph: as it is


def test_tooltips_show_torchs_value_and_gradient_and_the_gradient_each_edge_carried() -> None:
    graph = gradviz.run(PROGRAM)
    x = torch.tensor(3.0, requires_grad=True)
    y = x * x
    y.retain_grad()
    z = y.sin()
    z.backward()
    assert x.grad is not None
    tips = {n.name: node_tip(n) for n in graph.nodes if n.name}
    assert f"value {x.item():g}" in tips["x"] and f"grad {x.grad.item():.4g}" in tips["x"]
    assert f"value {y.item():g}" in tips["y"] and "MulBackward0" in tips["y"]
    ids = {n.name: n.id for n in graph.nodes if n.name}
    carried = edge_tips(graph)
    assert y.grad is not None
    assert f"{y.grad.item():.4g}" in carried[f"{ids['y']}->{ids['z']}"]  # sin sent back cos(y)
    both = carried[f"{ids['x']}->{ids['y']}"]  # x * x: each use of x got half of x.grad
    assert both.count(f"{x.grad.item() / 2:.4g}") == 2 and "2 edges" in both


def test_the_payload_carries_the_steps_overlay_not_a_new_layout() -> None:
    graph = gradviz.run(PROGRAM)
    svg = lay_out(to_dot(graph, RenderOptions(legend=False)))
    ids = [n.id for n in graph.nodes]
    first = payload(graph, svg, RenderOptions(), Overlay(current=ids[-1]))
    later = payload(
        graph, svg, RenderOptions(), Overlay(current=ids[0], no_grad=frozenset(ids[1:2]))
    )
    assert first["key"] == later["key"] and first["svg"] == later["svg"]
    assert parse(later).current == ids[0]
    assert "grad" not in parse(later).nodes[ids[1]] and "grad" in parse(first).nodes[ids[1]]
