"""The interactive graph in real Chromium: zoom and drag, a click selects a node in the
Inspector, hover shows its numbers, no node moves between steps, the projector fits, a big
graph never freezes the page, and the phone's sidebar stays out of the way."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from playwright.sync_api import Page, expect

import gradviz
from gradviz.gallery import by_key
from gradviz.model.names import distinct
from gradviz.render.dot import PALETTES
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import RUN_BUTTON, SET_PROGRAM, after_frames, graph_svg, open_app, settle

pytestmark = pytest.mark.e2e

VIEWPORT = (
    "() => document.querySelector('.gv-canvas .svg-pan-zoom_viewport').getAttribute('transform')"
)
POSITIONS = """() => Object.fromEntries(
    [...document.querySelector('.gv-canvas svg').querySelectorAll('g.node')].map(g => {
        const box = g.getBBox();
        return [g.dataset.gvId, [box.x, box.y, box.width, box.height].map(v => v.toFixed(2))];
    }))"""

BOXES_PER_NODE = """() => {
    const boxes = {};
    for (const g of document.querySelectorAll('.gv-canvas g.node'))
        boxes[g.dataset.gvId] = (boxes[g.dataset.gvId] || 0) + 1;
    return boxes;
}"""

SHOWN_COPY = """(id) => {
    const canvas = document.querySelector('.gv-canvas').getBoundingClientRect();
    const boxes = [...document.querySelectorAll('.gv-canvas g.node')]
        .filter(g => g.dataset.gvId === id).slice(1);  // the first is the node itself
    for (const g of boxes) {
        const r = g.getBoundingClientRect();
        if (r.left >= canvas.left && r.right <= canvas.right &&
            r.top >= canvas.top && r.bottom <= canvas.bottom)
            return [r.left + r.width / 2, r.top + r.height / 2, g.textContent];
    }
    return null;
}"""

NODES_ON_CANVAS = """() => {
    const canvas = document.querySelector('.gv-canvas').getBoundingClientRect();
    return [...document.querySelectorAll('.gv-canvas g.node')].filter(g => {
        const r = g.getBoundingClientRect();
        return r.right > canvas.left && r.left < canvas.right &&
            r.bottom > canvas.top && r.top < canvas.bottom;
    }).length;
}"""


def polynomial_x() -> tuple[float, float]:
    x = torch.tensor(2.0, requires_grad=True)
    (2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1).backward()
    assert x.grad is not None
    return x.item(), x.grad.item()


def matrix(transform: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-\d.e]+", transform)]


def viewport(page: Page) -> list[float]:
    """The drawing's transform matrix, once the last move is applied."""
    after_frames(page)
    return matrix(page.evaluate(VIEWPORT))


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'.gv-canvas g.node[data-gv-id="{node_id}"]')


def test_the_wheel_zooms_and_a_drag_pans(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    settle(page)
    before = viewport(page)
    box = graph_svg(page).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(3):
        page.mouse.wheel(0, -300)  # zoom in
        page.wait_for_timeout(200)
    zoomed = viewport(page)
    assert zoomed[0] > before[0] * 1.3, (before, zoomed)  # the scale grew
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 80, steps=8)
    page.mouse.up()
    dragged = viewport(page)
    assert dragged[0] == pytest.approx(zoomed[0])  # same scale
    assert dragged[4] - zoomed[4] == pytest.approx(100, abs=5)  # moved with the mouse
    assert dragged[5] - zoomed[5] == pytest.approx(60, abs=5)
    page.get_by_role("button", name="Fit").click()
    assert viewport(page)[0] == pytest.approx(before[0], rel=0.02)


def test_clicking_x_shows_its_value_and_grad_in_the_inspector_and_hover_shows_them(
    page: Page, app_url: str
) -> None:
    value, grad = polynomial_x()
    open_app(page, app_url)
    settle(page)
    x = node(page, "n0")
    x.hover()
    tip = page.locator(".gv-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(f"grad {grad:g}")
    expect(tip).to_contain_text(f"value {value:g}")
    x.click()
    inspector = page.get_by_test_id("stSelectbox").filter(has_text="Inspect a node")
    expect(inspector.get_by_role("combobox")).to_have_value(re.compile(r"^x \(leaf\)"))
    expect(page.get_by_test_id("stMarkdown").filter(has_text=f"{grad:g}").last).to_be_visible()
    # The Inspector redraws for x after the click's rerun: wait for its numbers.
    expect(page.get_by_text(re.compile(rf"^{grad:g}(\.0*)?\s+\(float32\)$")).first).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{value:g}(\.0*)?\s+\(float32\)$")).first).to_be_visible()


def test_no_node_moves_between_backward_steps(page: Page, app_url: str) -> None:
    open_app(page, app_url, "?walk=Backward%2C+step+by+step")
    expect(page.get_by_text("Step 1 of")).to_be_visible()
    settle(page)
    first = page.evaluate(POSITIONS)
    for step in (2, 3):
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text(f"Step {step} of")).to_be_visible()
        settle(page)
        assert page.evaluate(POSITIONS) == first


def test_on_a_projector_the_current_node_and_next_stay_on_screen(
    browser: Any, app_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(f"{app_url}?present=true&walk=Backward%2C+step+by+step")
        expect(graph_svg(page)).to_be_visible()
        expect(page.get_by_text("Step 1 of")).to_be_visible()
        settle(page)
        for step in (2, 3):
            page.keyboard.press("PageDown")
            expect(page.get_by_text(f"Step {step} of")).to_be_visible()
            settle(page)
        current = page.locator(".gv-canvas g.node.gv-current")
        expect(current).to_have_count(1)
        expect(current).to_be_in_viewport()
        expect(page.get_by_role("button", name="Next")).to_be_in_viewport()
        page.screenshot(path=str(SCREENSHOTS / "screenshot-projector.png"))
    finally:
        context.close()


def test_expanding_the_chains_group_keeps_the_page_responsive(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    page.get_by_role("option", name=by_key("deep_chain").title).click()
    expect(graph_svg(page)).to_contain_text("×1,999")
    settle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Expand a group").click()
    page.get_by_role("option").first.click()
    settle(page)
    drawn = page.locator(".gv-canvas g.node")
    expect(drawn.nth(99)).to_be_attached()  # at least a hundred nodes of the chain
    # The page answers at once: the main thread is free (no layout in the browser).
    assert page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(true)))")
    # Too long to read fitted whole, it starts at actual size, from its inputs: nodes on
    # screen, not the space between them.
    scale = viewport(page)[0]
    assert page.evaluate(NODES_ON_CANVAS) > 0
    page.locator(".gv-canvas").evaluate("canvas => canvas.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(SCREENSHOTS / "screenshot-chain-expanded.png"))
    # W feeds every layer: drawn again at each use, and each copy is W to hover and click.
    boxes: dict[str, int] = page.evaluate(BOXES_PER_NODE)
    weight, times = max(boxes.items(), key=lambda item: item[1])
    assert times > 30
    for _ in range(2):  # the copies sit beside the chain: zoomed out, the width fits
        page.get_by_role("button", name="−").click()
    after_frames(page)
    shown = page.evaluate(SHOWN_COPY, weight)
    assert shown is not None, "no copy of W on screen"
    x, y, label = shown
    assert "use " in label
    page.mouse.move(x, y)
    tip = page.locator(".gv-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(re.compile(r"^W\b.*\ngrad ", re.S))
    page.mouse.click(x, y)
    inspector = page.get_by_test_id("stSelectbox").filter(has_text="Inspect a node")
    expect(inspector.get_by_role("combobox")).to_have_value(re.compile(r"^W\b"))
    settle(page)
    page.get_by_role("button", name="Fit").click()
    fitted = f"() => parseFloat(({VIEWPORT})().match(/[-\\d.e]+/)[0]) < {scale}"
    page.wait_for_function(fitted)  # Fit shows it whole: smaller than actual size


def test_on_a_phone_the_sidebar_opens_and_closes_without_covering_the_page(
    browser: Any, app_url: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        page.goto(app_url)
        expect(graph_svg(page)).to_be_visible()
        sidebar = page.get_by_test_id("stSidebar")
        main = page.get_by_test_id("stMain")
        if sidebar.get_attribute("data-collapsed") == "false":
            page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        closed = sidebar.bounding_box()
        assert closed is None or closed["x"] + closed["width"] <= 1  # nothing left on screen
        page.get_by_test_id("stExpandSidebarButton").click()
        expect(sidebar).to_have_attribute("data-collapsed", "false")
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        box = main.bounding_box()
        assert box is not None and box["x"] <= 1 and box["width"] >= 380
    finally:
        context.close()


def touch(session: Any, kind: str, points: list[tuple[float, float]]) -> None:
    """A touch event as a phone's screen sends it (Chrome's DevTools protocol)."""
    where = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
    session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": where})


def test_on_a_phone_two_fingers_zoom_and_one_finger_pans(browser: Any, app_url: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        open_app(page, app_url)
        graph_svg(page).scroll_into_view_if_needed()
        box = graph_svg(page).bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        before = viewport(page)
        screen = page.context.new_cdp_session(page)
        touch(screen, "touchStart", [(cx - 20, cy), (cx + 20, cy)])
        for spread in range(30, 90, 10):  # the fingers move apart: 40 px to 160 px
            touch(screen, "touchMove", [(cx - spread, cy), (cx + spread, cy)])
        touch(screen, "touchEnd", [])
        pinched = viewport(page)
        assert pinched[0] == pytest.approx(before[0] * 4, rel=0.1), (before, pinched)
        touch(screen, "touchStart", [(cx, cy)])
        for step in range(1, 6):
            touch(screen, "touchMove", [(cx + 10 * step, cy + 6 * step)])
        touch(screen, "touchEnd", [])
        panned = viewport(page)
        assert panned[0] == pytest.approx(pinched[0])  # a finger pans without zooming
        assert panned[4] - pinched[4] == pytest.approx(50, abs=5)
        assert panned[5] - pinched[5] == pytest.approx(30, abs=5)
    finally:
        context.close()


def test_the_inspector_names_the_new_programs_node_after_picking_another_example(
    page: Page, app_url: str
) -> None:
    open_app(page, app_url)
    settle(page)
    example = by_key("jacobian_hessian")
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    page.get_by_role("option", name=example.title).click()
    expect(graph_svg(page)).to_contain_text("J (detach)")  # the new program's graph is drawn
    settle(page)
    labels = distinct(gradviz.run(example.code)).values()
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Inspect a node")
    shown = re.compile("^(" + "|".join(re.escape(label) for label in labels) + ")$")
    expect(picker.get_by_role("combobox")).to_have_value(shown)


def test_a_dark_page_gets_the_dark_graph_unless_the_user_chose_light(
    page: Page, app_url: str
) -> None:
    dark_page = "?embed=true&embed_options=dark_theme"
    background = """() => document.querySelector('.gv-canvas svg g.graph > polygon')
                      ?.getAttribute('fill')"""
    page.goto(app_url + dark_page)
    page.wait_for_function(f"() => ({background})() === '{PALETTES['dark'].background}'")
    expect(page.locator(".gv-editor .ace_editor.ace-tomorrow-night")).to_have_count(1)
    page.goto(app_url + dark_page + "&theme=light")
    expect(graph_svg(page)).to_be_visible()
    settle(page)
    assert page.evaluate(background) == PALETTES["light"].background


def test_a_graph_drawn_while_its_canvas_has_no_size_is_fitted_once_it_has_one(
    page: Page, app_url: str
) -> None:
    """A graph that arrives while its canvas is not laid out (a hidden or collapsed column;
    seen after quick program switches) is drawn, not an error, and fitted when shown."""
    open_app(page, app_url)
    page.add_style_tag(content=".gv-canvas { display: none !important; }")
    code = by_key("diamond").code
    page.evaluate(SET_PROGRAM, code)
    page.locator(RUN_BUTTON).click()
    want = len(gradviz.run(code).nodes)
    page.wait_for_function(
        "(want) => document.querySelectorAll('.gv-canvas svg g.node').length === want", arg=want
    )
    settle(page)
    page.evaluate(
        "() => document.querySelectorAll('style').forEach(s => "
        "s.textContent.includes('.gv-canvas { display: none') && s.remove())"
    )
    expect(graph_svg(page)).to_be_visible()
    expect(page.get_by_text("BidiComponent Error")).to_have_count(0)
    # fitted: the whole drawing inside the canvas
    page.wait_for_function(
        """() => {
          const group = document.querySelector('.gv-canvas .svg-pan-zoom_viewport');
          if (!group) return false;  // svg-pan-zoom starts once the canvas has a size
          const canvas = document.querySelector('.gv-canvas').getBoundingClientRect();
          const drawn = group.getBoundingClientRect();
          return drawn.width > 20 && drawn.left >= canvas.left - 1 &&
                 drawn.right <= canvas.right + 1 && drawn.bottom <= canvas.bottom + 1;
        }"""
    )
