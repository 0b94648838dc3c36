"""On a projector (1280x720) everything is large and nothing is cut off, in real Chromium."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest
from playwright.sync_api import expect

from gradviz.gallery import by_key
from tests.e2e.helpers import GRAPH_TEXT_PX, fresh_page

pytestmark = pytest.mark.e2e

BODY_TEXT_PX = "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"
"""The page's body text size: Streamlit's text is 1rem."""
TICKS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .xtick text')]
  .map(t => [parseFloat(getComputedStyle(t).fontSize), getComputedStyle(t).fill])"""

CLIPPED = """() => {
  // Text that does not fit its box: wider than its element (cut or ellipsed), or past the
  // right edge of the window.
  const found = [];
  const check = (what, el) => {
    if (!el.offsetParent) return;
    const box = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || box.right > window.innerWidth + 1)
      found.push(`${what}: ${el.textContent.slice(0, 50)}`);
  };
  for (const el of document.querySelectorAll('[data-testid="stButtonGroup"] button'))
    check("Show", el);
  for (const el of document.querySelectorAll('[data-testid="stCode"] pre')) check("code", el);
  for (const el of document.querySelectorAll('[data-testid="stMetricValue"]')) check("metric", el);
  for (const legend of document.querySelectorAll('.gv-legend')) {
    const right = legend.getBoundingClientRect().right;
    for (const chip of legend.children)
      if (chip.getBoundingClientRect().right > right + 1) found.push(`legend: ${chip.textContent}`);
  }
  return found;
}"""


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_on_a_projector_graph_text_is_as_large_as_the_body_text(
    browser: Any, app_url: str, direction: str
) -> None:
    context, page = fresh_page(browser, f"{app_url}?present=true&direction={direction}")
    try:
        body = page.evaluate(BODY_TEXT_PX)
        assert body >= 20  # presentation type
        page.wait_for_function(f"() => ({GRAPH_TEXT_PX})() >= {body} - 0.5")
        page.wait_for_function(f"() => ({TICKS})().length > 0")  # the curve is drawn
        ticks = page.evaluate(TICKS)
        assert all(size >= 20 and fill == "rgb(17, 17, 17)" for size, fill in ticks), ticks
    finally:
        context.close()


def test_the_presentation_switch_is_the_first_control(browser: Any, app_url: str) -> None:
    context, page = fresh_page(browser, app_url)
    try:
        switch = page.get_by_test_id("stSidebar").get_by_text("Presentation mode")
        expect(switch).to_be_in_viewport()
        switch.click()
        expect(page).to_have_url(re.compile("present=true"))
    finally:
        context.close()


@pytest.mark.parametrize("example", ["accumulate", "linear_mse", "stop_tracking"])
@pytest.mark.parametrize("present", [False, True])
def test_nothing_is_cut_off_at_1280(
    browser: Any, app_url: str, example: str, present: bool
) -> None:
    query = {"code": by_key(example).code} | ({"present": "true"} if present else {})
    context, page = fresh_page(browser, f"{app_url}?{urllib.parse.urlencode(query)}")
    try:
        expect(page.get_by_test_id("stCode").first).to_be_visible()
        expect(page.locator(".gv-legend")).to_be_visible()
        assert page.evaluate(CLIPPED) == []
    finally:
        context.close()
