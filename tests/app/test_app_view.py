"""AppTest: what the page shows on opening, the inspector, the output panel, the downloads."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app.editor import type_program
from tests.app.helpers import (
    APP,
    curve_meta,
    inspector,
    markdown_text,
    node_rows,
    open_app,
    open_program,
    pick_node,
    plotly_specs,
)
from tests.oracle import polynomial_in_torch


def test_default_view_shows_63_and_93() -> None:
    at = open_app()
    y, slope = polynomial_in_torch(2.0)
    assert (y, slope) == (63.0, 93.0)
    assert f"value {y:g}" in node_rows(at, "y = add")
    assert f"grad {slope:g}" in node_rows(at, "x (leaf)")
    assert "value 2" in node_rows(at, "x (leaf)")
    meta = curve_meta(at)
    assert (meta["x"], meta["y"], meta["slope"]) == (2.0, y, slope)
    assert meta["fd_slope"] == pytest.approx(slope, rel=1e-3)
    assert not at.error and not at.warning


def test_default_view_tangent_has_slope_93() -> None:
    at = open_app()
    spec = next(s for s in plotly_specs(at) if s["layout"]["meta"]["kind"] == "curve")
    tangent = next(t for t in spec["data"] if t["name"].startswith("tangent"))
    (x1, x2), (y1, y2) = tangent["x"], tangent["y"]
    assert (y2 - y1) / (x2 - x1) == pytest.approx(93.0)
    assert at.metric[0].value == "93"


def test_output_panel_shows_printed_text() -> None:
    at = open_app()
    printed = "\n".join(c.value for c in at.code)
    x = torch.tensor(2.0, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert "y = " + str(y) in printed
    assert "dy/dx = " + str(x.grad) in printed


def test_inspector_defaults_to_the_output_and_shows_torch_numbers() -> None:
    at = open_app()
    picker = inspector(at)
    assert picker.format_func(picker.value) == "y = add"  # the name, never an internal id
    text = markdown_text(at)
    assert "`63`" in text and "AddBackward0" in text


def test_inspector_leaf_value_and_grad() -> None:
    at = open_app()
    pick_node(at, "x (leaf)")
    _, slope = polynomial_in_torch(2.0)
    text = markdown_text(at)
    assert "`2`" in text and f"`{slope:g}`" in text
    assert "a leaf" in text


def test_inspector_heatmap_for_2d_gradient_matches_torch() -> None:
    at = open_app()
    at.selectbox(key="example").set_value("multistep").run()
    pick_node(at, "x (leaf)")
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    (2 * (3 * x + 2) ** 2).mean().backward()
    assert x.grad is not None
    heatmaps = {
        s["layout"]["meta"]["title"]: s
        for s in plotly_specs(at)
        if s["layout"]["meta"]["kind"] == "heatmap"
    }
    assert heatmaps["Value"]["data"][0]["z"] == x.tolist()
    assert heatmaps["Gradient (.grad)"]["data"][0]["z"] == x.grad.tolist()


def test_inspector_chain_rule_ratio_for_mul() -> None:
    at = open_app()
    at.selectbox(key="example").set_value("diamond").run()
    pick_node(at, "b = mul")
    text = markdown_text(at)
    # d(a*2)/da = 2: the gradient sent to a divided by the gradient arriving at b.
    assert "gradient sent `2`" in text
    assert "(gradient sent to this input) ÷ (gradient arriving), elementwise: `2`" in text
    assert "MulBackward0" in text


def test_inspector_gives_no_ratio_for_a_matrix_product_as_the_step_through_does() -> None:
    """A matmul mixes elements: the Inspector says why there is no local derivative instead
    of showing a ratio that is none (the step-through says the same)."""
    source = (
        "import torch\nW = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)\n"
        "x = torch.tensor([[1.0, -1.0]])\ny = (x @ W).sum()\ny.backward()\n"
    )
    at = open_program(source)
    pick_node(at, "mm")
    captions = "\n".join(c.value for c in at.caption)
    assert "local derivative: not computed" in captions and "mixes" in captions
    assert "÷ (gradient arriving), elementwise" not in markdown_text(at)


def test_inspector_saved_tensors() -> None:
    at = open_app()
    pick_node(at, "pow")
    text = markdown_text(at)
    assert "Saved for backward" in text and "`exponent`" in text


def test_downloads_present() -> None:
    at = open_app()
    labels = [b.proto.label for b in at.get("download_button")]
    assert "DOT" in labels and "JSON" in labels
    from gradviz.render.svg import svg_engine

    assert ("SVG" in labels) == (svg_engine() is not None)


def test_inspector_says_where_a_returned_gradient_came_from() -> None:
    at = open_app()
    at.selectbox(key="example").set_value("autograd_grad").run()
    pick_node(at, "w (leaf)")
    assert "Returned by autograd.grad (.grad stays None)" in markdown_text(at)
    assert any("grad_not_accumulated" in c.value for c in at.caption)


def test_the_inspector_says_what_a_tensor_without_readable_values_is() -> None:
    at = open_app()
    type_program(
        at, "import torch\nm = torch.empty(3, device='meta', requires_grad=True)\nk = m * 2\n"
    )
    assert not at.exception
    pick_node(at, "m (leaf)")
    assert any("values not readable: meta tensor" in c.value for c in at.caption)


def test_the_inspected_node_is_in_the_link() -> None:
    at = open_app()
    assert "node" not in at.query_params  # the default node keeps the link plain
    pick_node(at, "x (leaf)")
    assert at.query_params["node"] == "n0"
    shared = AppTest.from_file(APP, default_timeout=60)
    shared.query_params["node"] = "n0"
    shared.run()
    assert not shared.exception
    assert inspector(shared).value == "n0"
    assert "Gradient (.grad)" in markdown_text(shared)
