"""The 2,000-layer chain in real headless Chromium: drawn folded, within the node budget."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import gradviz
from gradviz.gallery import by_key
from gradviz.views.budget import DEFAULT_BUDGET, budget_view
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import (
    drawn_nodes,
    expect_program,
    fresh_page,
    graph_svg,
    graph_text_px,
    open_app,
)

pytestmark = pytest.mark.e2e

READABLE_PX = 16
"""Text this large reads from the back of a lecture hall on a 1280x720 projector."""
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


def test_a_big_model_fitted_whole_zooms_in_to_readable_text(browser: Any, app_url: str) -> None:
    """The transformer block on a 1280x720 projector: whole it is a thumbnail; the wheel
    brings its text to reading size where the pointer is, and hovering shows a node's numbers."""
    example = by_key("transformer_block")
    query = "?present=true&code=" + urllib.parse.quote(example.code)
    context, page = fresh_page(browser, app_url + query, width=1280, height=720)
    try:
        svg = graph_svg(page)
        svg.scroll_into_view_if_needed()
        page.get_by_role("button", name="Fit").click()
        whole = graph_text_px(page)
        assert whole < 9, whole  # fitted whole, its text is too small to read
        box = svg.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
        sizes = [whole]
        while sizes[-1] < READABLE_PX and len(sizes) <= 25:  # each notch zooms by about 1.2
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(150)
            sizes.append(graph_text_px(page))
        assert sizes == sorted(sizes) and sizes[-1] >= READABLE_PX, sizes
        page.mouse.move(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 3 + 30)
        expect(page.locator(".gv-tip")).to_be_visible()  # hovering a node shows its numbers
        page.screenshot(path=str(SCREENSHOTS / "screenshot-big-zoomed.png"))
    finally:
        context.close()
