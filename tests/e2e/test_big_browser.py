"""The 2,000-layer chain in real headless Chromium: drawn folded, within the node budget."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

import gradviz
from gradviz.examples import by_key
from gradviz.graph.budget import DEFAULT_BUDGET, budget_view
from tests.e2e.helpers import drawn_nodes, expect_program, graph_svg, open_app

pytestmark = pytest.mark.e2e

SANE_SECONDS = 45.0
"""Gallery choice to drawn graph: the run takes 2-5 s on a loaded 2-core machine; the
in-browser layout of the folded view well under one."""


def test_the_2000_layer_chain_is_drawn_within_the_budget(page: Page, app_url: str) -> None:
    example = by_key("deep_chain")
    graph = gradviz.run(example.code)
    view = budget_view(graph, DEFAULT_BUDGET)
    assert len(graph.nodes) > 6000 and len(view.graph.nodes) <= DEFAULT_BUDGET
    open_app(page, app_url)
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    started = time.monotonic()
    page.get_by_role("option", name=example.title).click()
    expect(graph_svg(page)).to_contain_text("×1,999")  # the fold, laid out by the browser
    elapsed = time.monotonic() - started
    expect_program(page, example.code)
    assert sorted(drawn_nodes(page)) == sorted(n.id for n in view.graph.nodes)
    assert elapsed < SANE_SECONDS
    caption = f"{len(graph.nodes):,} nodes: showing {len(view.graph.nodes)}"
    expect(page.get_by_text(caption)).to_be_visible()
