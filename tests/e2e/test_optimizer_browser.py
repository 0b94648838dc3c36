"""The optimizer animation in real Chromium: play it, move its slider, watch the point move."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from playwright.sync_api import Locator, Page, expect

from gradviz.gallery import by_key
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import open_app, settle

pytestmark = pytest.mark.e2e


def sgd_steps() -> list[list[float]]:
    """x at each backward call of the gallery's SGD loop, by torch here."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    values = []
    for _ in range(3):
        opt.zero_grad()
        (x**2).sum().backward()
        values.append(x.detach().tolist())
        opt.step()
    return values


CURRENT = ".slider-group > text.slider-label"
"""Plotly's "step k" text above the slider (the step labels sit in .slider-label-group)."""


def animation(page: Page) -> Locator:
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="loss per step")
    expect(chart.locator(CURRENT)).to_be_visible()
    return chart


def state(chart: Locator) -> dict[str, Any]:
    """What the figure shows now: the slider's text, the current point's data and where its
    marker is drawn."""
    result: dict[str, Any] = chart.locator(".js-plotly-plot").evaluate(
        """gd => {
            const i = gd.data.findIndex(t => t.name.startsWith('step '));
            // the drawn trace of that data (empty traces, the earlier curves, draw nothing)
            const drawn = [...gd.querySelectorAll('.scatterlayer .trace')]
                .find(g => g.__data__?.[0]?.trace?.index === i);
            const point = drawn.querySelector('.point');
            return {
                label: gd.querySelector('.slider-group > text.slider-label').textContent,
                x: gd.data[i].x[0],
                y: gd.data[i].y[0],
                transform: point.getAttribute('transform'),
            };
        }"""
    )
    return result


def wait_for_x(page: Page, x: float) -> None:
    """Until the animation's current point is at ``x`` (a frame is applied asynchronously)."""
    page.wait_for_function(
        """x => [...document.querySelectorAll('.js-plotly-plot')].some(gd => {
            const t = (gd.data || []).find(t => t.name.startsWith('step '));
            const near = t && Math.abs(t.x[0] - x) < 1e-6 * Math.max(1, Math.abs(x));
            return near && !gd._transitioning;
        })""",
        arg=x,
    )


def open_sgd(page: Page, app_url: str) -> Locator:
    open_app(page, app_url)
    example = by_key("sgd")
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    page.get_by_role("option", name=example.title).click()
    settle(page)
    return animation(page)


def test_play_moves_the_point_to_the_last_step(page: Page, app_url: str) -> None:
    chart = open_sgd(page, app_url)
    steps = sgd_steps()
    before = state(chart)
    # The view follows x[3], the element that moved the most.
    assert before["label"] == "step 0" and before["x"] == pytest.approx(steps[0][3])
    chart.locator(".updatemenu-button").filter(has_text="play").click()
    expect(chart.locator(CURRENT)).to_have_text("step 2")
    wait_for_x(page, steps[2][3])
    after = state(chart)
    assert after["x"] == pytest.approx(steps[2][3], rel=1e-6)
    assert after["y"] == pytest.approx(sum(v * v for v in steps[2]), rel=1e-6)
    assert after["transform"] != before["transform"]
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "screenshot-optimizer.png"))


def test_the_slider_picks_a_step(page: Page, app_url: str) -> None:
    chart = open_sgd(page, app_url)
    steps = sgd_steps()
    before = state(chart)
    rail = chart.locator(".slider-rail-touch-rect")
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    label = chart.locator(".slider-label-group text").get_by_text("1", exact=True).bounding_box()
    assert box is not None and label is not None
    # A press on the rail under the label "1" (Plotly snaps to the nearest step).
    rail.click(position={"x": label["x"] + label["width"] / 2 - box["x"], "y": box["height"] / 2})
    expect(chart.locator(CURRENT)).to_have_text("step 1")
    wait_for_x(page, steps[1][3])
    after = state(chart)
    assert after["x"] == pytest.approx(steps[1][3], rel=1e-6)
    assert after["transform"] != before["transform"]
