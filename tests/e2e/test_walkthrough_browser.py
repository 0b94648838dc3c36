"""The backward step-through in real Chromium: the outlined node in the drawn SVG moves on."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

import gradviz
from gradviz.gallery import by_key
from gradviz.render.dot import PALETTES
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import graph_svg, open_app, settle

pytestmark = pytest.mark.e2e

HIGHLIGHTED = """(colour) => [
    ...document.querySelector('.gv-canvas svg').querySelectorAll('g.node')
].filter(g => [...g.querySelectorAll('path, polygon')].some(shape => {
        const style = getComputedStyle(shape);
        return style.stroke === colour && parseFloat(style.strokeWidth) >= 4;
    }))
    .map(g => g.dataset.gvId)"""


def rgb(hex_colour: str) -> str:
    """``#f59e0b`` as the browser's computed style writes it."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


COLOUR = rgb(PALETTES["light"].highlight)


def highlighted(page: Page) -> list[str]:
    """Ids of the nodes whose border is drawn, on screen, in the highlight colour."""
    found: list[str] = page.evaluate(HIGHLIGHTED, rgb(PALETTES["light"].highlight))
    return found


def test_stepping_moves_the_outline_to_the_next_node_the_engine_ran(
    page: Page, app_url: str
) -> None:
    open_app(page, app_url)
    example = by_key("multistep")
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    page.get_by_role("option", name=example.title).click()  # gallery: two clicks
    expect(graph_svg(page)).to_contain_text("value 140")
    settle(page)
    page.get_by_test_id("stButtonGroup").get_by_text("Backward, step by step").click()  # third
    order = gradviz.run(example.code).backward_calls[0].order
    expect(page.get_by_text("Step 1 of 6")).to_be_visible()
    settle(page)
    page.wait_for_function(f"() => ({HIGHLIGHTED})('{COLOUR}').length == 1")
    assert highlighted(page) == [order[0]]
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Step 2 of 6")).to_be_visible()
    settle(page)
    page.wait_for_function(f"() => ({HIGHLIGHTED})('{COLOUR}').join() == '{order[1]}'")
    assert highlighted(page) == [order[1]] and order[1] != order[0]
    page.keyboard.press("PageDown")  # what a presenter's clicker sends
    expect(page.get_by_text("Step 3 of 6")).to_be_visible()
    page.wait_for_function(f"() => ({HIGHLIGHTED})('{COLOUR}').join() == '{order[2]}'")
    assert "walk=" in page.url  # the mode is in the address, so a link opens the step-through
    page.screenshot(path=str(SCREENSHOTS / "screenshot-step-through.png"))
