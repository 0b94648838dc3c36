"""The app in real headless Chromium: what a lecturer and a student actually see and do."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import torch
from playwright.sync_api import Page, expect

import gradviz
from gradviz.gallery import DEFAULT, by_key
from gradviz.model.format import number
from gradviz.render.svg import svg_engine
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import (
    drawn_nodes,
    expect_program,
    graph_svg,
    open_app,
    program_text,
    settle,
    type_and_run,
)

pytestmark = pytest.mark.e2e

TYPED = """import torch
w = torch.tensor([1.5, -2.0], requires_grad=True)
h = w * w
s = h.sum() * 3
s.backward()
print(w.grad)
"""


def test_default_view_shows_the_polynomial(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    x = torch.tensor(2.0, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    svg = graph_svg(page)
    expect(svg).to_contain_text(f"value {number(y.item())}")  # 63
    expect(svg).to_contain_text(f"grad {number(x.grad.item())}")  # 93
    expect(page.get_by_test_id("stMetric").first).to_contain_text("93")
    expect(page.get_by_test_id("stPlotlyChart").first).to_contain_text("autograd slope 93")
    assert len(drawn_nodes(page)) == len(gradviz.run(DEFAULT.code).nodes)
    assert program_text(page) == DEFAULT.code
    page.set_viewport_size({"width": 1440, "height": 1200})
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "screenshot-default.png"))


def test_type_a_program_and_run_it(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    type_and_run(page, TYPED)
    expected = gradviz.run(TYPED)
    w = torch.tensor([1.5, -2.0], requires_grad=True)
    (3 * (w * w).sum()).backward()
    assert w.grad is not None
    expect(graph_svg(page)).to_contain_text(
        f"grad [{number(w.grad[0].item())}, {number(w.grad[1].item())}]"
    )
    expect(page.get_by_test_id("stCode").first).to_contain_text(str(w.grad))
    assert len(drawn_nodes(page)) == len(expected.nodes)
    assert sorted(drawn_nodes(page)) == sorted(n.id for n in expected.nodes)


NET = """import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 2)
        self.fc2 = nn.Linear(2, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

net = Net()
loss = net(torch.ones(4, 3)).pow(2).mean()
loss.backward()
"""


def test_a_class_typed_in_the_editor_is_drawn_with_its_parameter_names(
    page: Page, app_url: str
) -> None:
    open_app(page, app_url)
    type_and_run(page, NET)
    torch.manual_seed(0)  # the run's own seed
    fc1, fc2 = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    loss = fc2(torch.relu(fc1(torch.ones(4, 3)))).pow(2).mean()
    loss.backward()
    svg = graph_svg(page)
    for name in ("net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias", "loss"):
        expect(svg).to_contain_text(name)
    expect(svg).to_contain_text(f"value {number(loss.item())}")
    assert fc2.bias.grad is not None
    expect(svg).to_contain_text(f"grad [{number(fc2.bias.grad[0].item())}]")


def test_gallery_example_draws_every_node(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    example = by_key("stop_tracking")
    page.get_by_test_id("stSelectbox").filter(has_text="Examples").click()
    page.get_by_role("option", name=example.title).click()
    expect_program(page, example.code)
    expect(graph_svg(page)).to_contain_text("loss = sum")
    settle(page)
    assert len(drawn_nodes(page)) == len(gradviz.run(example.code).nodes)


def test_move_the_tangent_point(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    slider = page.get_by_role("slider", name=re.compile("Move the point"))
    slider.focus()
    for _ in range(5):  # the step is 0.04: x = 2.2
        slider.press("ArrowRight")
    x = torch.tensor(2.2, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    slope = number(x.grad.item())
    expect(page.get_by_test_id("stMetric").first).to_contain_text(slope)
    expect(graph_svg(page)).to_contain_text(f"value {number(y.item())}")
    expect(graph_svg(page)).to_contain_text(f"grad {slope}")
    expect(page.get_by_test_id("stPlotlyChart").first).to_contain_text(f"autograd slope {slope}")


def test_download_dot_and_json(page: Page, app_url: str, tmp_path: Path) -> None:
    open_app(page, app_url)
    settle(page)
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="DOT").click()
    dot = Path(info.value.path()).read_text()
    assert dot.startswith("digraph gradviz {") and "value 63" in dot
    assert dot == gradviz.to_dot(gradviz.run(DEFAULT.code))
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="JSON").click()
    data: dict[str, Any] = json.loads(Path(info.value.path()).read_text())
    x = next(n for n in data["nodes"] if n["name"] == "x")
    assert (x["value"], x["grad"]) == (2.0, 93.0)
    svg_button = page.get_by_test_id("stDownloadButton").filter(has_text="SVG")
    if svg_engine() is None:
        expect(svg_button).to_have_count(0)
        return
    with page.expect_download() as info:
        svg_button.click()
    svg = Path(info.value.path()).read_text()
    assert "<svg" in svg and "value 63" in svg


def test_shared_link_opens_the_same_view(page: Page, app_url: str) -> None:
    program = by_key("diamond").code
    query = "?" + urllib.parse.urlencode({"code": program, "direction": "left-right"})
    open_app(page, app_url, query)
    expect_program(page, program)
    expect(graph_svg(page)).to_contain_text("grad 8")
    settle(page)
    assert len(drawn_nodes(page)) == len(gradviz.run(program).nodes)
    # ...and the address bar follows the widgets, so the view can be handed on.
    page.get_by_test_id("stRadio").filter(has_text="Graph theme").get_by_text("dark").click()
    expect(page).to_have_url(re.compile(r"theme=dark"))
    assert "direction=left-right" in page.url and "code=" in page.url


def test_error_is_shown_and_the_last_graph_stays(page: Page, app_url: str) -> None:
    open_app(page, app_url)
    bad = DEFAULT.code.replace("y = 2*x**4", "y = 2*x**4 +* 1")
    type_and_run(page, bad)
    alert = page.get_by_test_id("stAlert").filter(has_text="Syntax error")
    expect(alert).to_contain_text(re.compile(r"\d+:\d+: "))
    expect(page.get_by_text("Showing the last good run (stale)")).to_be_visible()
    expect(graph_svg(page)).to_contain_text("value 63")
    expect_program(page, bad)
    assert "Traceback" not in page.content()
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "screenshot-error.png"))


def test_presentation_and_dark_screenshots(page: Page, app_url: str) -> None:
    open_app(page, app_url, "?present=true")
    expect(graph_svg(page)).to_contain_text("value 63")
    size = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert size == "22px"
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "screenshot-presentation.png"))
    open_app(
        page,
        app_url,
        "?" + urllib.parse.urlencode({"code": by_key("multistep").code, "theme": "dark"}),
    )
    expect(graph_svg(page)).to_contain_text("value 140")
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "screenshot-dark.png"))


def test_heatmap_cells_show_their_numbers(page: Page, app_url: str) -> None:
    """The Jacobian's cells, as drawn by Plotly in the page, hold torch's numbers."""
    example = by_key("jacobian_hessian")
    open_app(page, app_url, "?code=" + urllib.parse.quote(example.code))
    p = torch.tensor([0.5, 1.0, 2.0])
    jacobian = torch.autograd.functional.jacobian(torch.log, p)
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="Jacobian of elementwise_log")
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".main-svg").first).to_be_visible()
    cells = chart.evaluate(
        "c => [...c.querySelectorAll('.heatmaplayer text, g.textpoint text')]"
        ".map(t => t.textContent)"
    )
    want = [number(v, 3) for v in jacobian.flatten().tolist()]
    assert cells == want, cells  # each cell, row by row
