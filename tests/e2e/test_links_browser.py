"""A link copied from the address bar opens the same view in a fresh browser."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import pytest
from playwright.sync_api import expect

from gradviz.gallery import by_key
from tests.e2e.helpers import fresh_page, settle

pytestmark = pytest.mark.e2e

VIEW = """() => ({
  step: [...document.querySelectorAll('[data-testid="stMarkdownContainer"] p')]
          .map(p => p.textContent).find(t => t.startsWith('Step ')) || null,
  current: document.querySelector('.gv-canvas g.node.gv-current')?.dataset.gvId || null,
  table: document.querySelector('[data-testid="stDataFrame"]')?.innerText.length || 0,
  nodes: [...document.querySelectorAll('.gv-canvas g.node:not(.gv-hidden)')].length,
})"""


def test_a_copied_link_restores_the_step_and_the_presses(browser: Any, app_url: str) -> None:
    query = urllib.parse.urlencode({"code": by_key("accumulate").code})
    first, page = fresh_page(browser, f"{app_url}?{query}", height=900)
    try:
        page.get_by_role("button", name="Backward again").click()
        expect(page).to_have_url(re.compile(r"presses=backward"))
        settle(page)
        page.get_by_test_id("stButtonGroup").get_by_text("Backward, step by step").click()
        expect(page.get_by_text("Step 1 of")).to_be_visible()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("Step 2 of")).to_be_visible()
        settle(page)
        page.wait_for_function("() => document.querySelector('.gv-canvas g.node.gv-current')")
        shown = page.evaluate(VIEW)
        link = page.url
    finally:
        first.close()
    second, again = fresh_page(browser, link, height=900)
    try:
        expect(again.get_by_text("Step 2 of")).to_be_visible()
        again.wait_for_function("() => document.querySelector('.gv-canvas g.node.gv-current')")
        assert again.evaluate(VIEW) == shown
        expect(again.get_by_text("1 press replayed after the program")).to_be_visible()
    finally:
        second.close()
