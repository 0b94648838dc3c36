"""What the browser tests share: opening the app and waiting for it, reading the drawn graph,
a page in a fresh context, and driving the program editor (Ace, in gradviz's component)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

GRAPH_TEXT_PX = """() => {
  const texts = [...document.querySelectorAll('.gv-canvas g.node:not(.gv-hidden) text')];
  const sizes = texts.map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a);
  return Math.min(...sizes);
}"""
"""Script: the on-screen size in pixels of the graph's smallest text."""


def after_frames(page: Page) -> None:
    """Wait two animation frames: svg-pan-zoom applies a zoom or pan on the next one, so read
    at once after a click, the drawing still shows the view from before it."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def graph_text_px(page: Page) -> float:
    """GRAPH_TEXT_PX once the last zoom is applied."""
    after_frames(page)
    px: float = page.evaluate(GRAPH_TEXT_PX)
    return px


def expect_no_alert(page: Page) -> None:
    """No error, warning or info box on the page (failing, say what they are)."""
    alerts = page.get_by_test_id("stAlert")
    try:
        expect(alerts).to_have_count(0)
    except AssertionError:
        raise AssertionError(f"alerts shown: {alerts.all_inner_texts()}") from None


def graph_svg(page: Page) -> Locator:
    return page.locator(".gv-canvas svg").first


def settle(page: Page) -> None:
    """Wait until the script run is over (the running indicator is gone) and the curve is
    drawn."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    # Every chart on the page is drawn (none, after a rerun that removed the last program's).
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(chart => chart.querySelector('.main-svg'))"""
    )


def drawn_nodes(page: Page) -> list[str]:
    """Ids of the nodes drawn in the SVG, each once (a tensor drawn again at each of its many
    uses is one node), legend entries left out."""
    titles: list[str] = page.evaluate(
        """() => [...document.querySelector('.gv-canvas svg').querySelectorAll('g.node')]
                 .filter(g => !g.classList.contains('gv-hidden'))
                 .map(g => g.dataset.gvId)"""
    )
    return [t for t in dict.fromkeys(titles) if not t.startswith("legend_")]


def open_app(page: Page, url: str, query: str = "") -> None:
    page.goto(url + query)
    expect(graph_svg(page)).to_be_visible()
    settle(page)  # the curve, if the program's runs are quick enough to plot one, is drawn


EDITOR = ".gv-editor"
_ACE = f"document.querySelector('{EDITOR}')?.gvEditor"
SET_PROGRAM = f"t => {_ACE}.setValue(t, -1)"
"""Script for ``page.evaluate(SET_PROGRAM, text)``: the text in the editor, as a paste (the
benchmarks type this way too)."""
RUN_BUTTON = f"{EDITOR} button.gv-editor-run"


def editor(page: Page) -> Locator:
    """The editor component (its Run button, status line and Ace)."""
    return page.locator(EDITOR)


def editor_input(page: Page) -> Locator:
    """The text box Ace types through (focus it to type or press keys)."""
    return editor(page).locator("textarea.ace_text-input")


def program_text(page: Page) -> str:
    """The text in the editor now."""
    return str(page.evaluate(f"() => {_ACE}.getValue()"))


def expect_program(page: Page, text: str, timeout: float = 60_000) -> None:
    """Wait until the editor holds ``text``."""
    page.wait_for_function(f"t => {_ACE}?.getValue() === t", arg=text, timeout=timeout)


def set_program(page: Page, text: str) -> None:
    """Replace the editor's text, as a paste would (nothing runs yet)."""
    editor(page).locator(".ace_content").wait_for()
    page.evaluate(SET_PROGRAM, text)


def run_button(page: Page) -> Locator:
    return page.locator(RUN_BUTTON)


def type_and_run(page: Page, program: str) -> None:
    set_program(page, program)
    run_button(page).click()


def fresh_page(browser: Any, url: str, width: int = 1280, height: int = 720) -> tuple[Any, Page]:
    """``url`` in a new browser context (no state shared with other pages), once its graph is
    drawn and the page has settled; close the context when done."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(url)
    expect(graph_svg(page)).to_be_visible()
    settle(page)
    return context, page
