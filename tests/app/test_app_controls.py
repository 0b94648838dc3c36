"""AppTest: display options change the DOT; the point moves; the URL carries the view."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gradviz.gallery import by_key
from gradviz.render.interactive import drawing_size
from tests.app.drawing import drawing
from tests.app.editor import program_text
from tests.app.helpers import curve_meta, open_app
from tests.oracle import polynomial_in_torch

BACKGROUND = '<polygon fill="{}" stroke="none"'
"""The first shape Graphviz draws: the page's background."""


def svg(at: AppTest) -> str:
    return str(drawing(at).data["svg"])


def spaced_labels(at: AppTest) -> str:
    """Every label shown, space-separated (with a space before and after)."""
    return f" {' '.join(drawing(at).text().split())} "


# -- display options -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "present_before", "absent_after"),
    [
        ("values", "value 63", "value 63"),
        ("grads", "grad 93", "grad 93"),
        ("shapes", "scalar float32", "scalar float32"),
    ],
)
def test_checkbox_turns_a_part_off(key: str, present_before: str, absent_after: str) -> None:
    at = open_app()
    assert present_before in spaced_labels(at)
    at.checkbox(key=key).uncheck().run()
    assert absent_after not in spaced_labels(at)


def test_legend_under_the_graph() -> None:
    at = open_app()
    assert "legend_" not in svg(at)  # chips under the chart: the drawing stays narrow
    assert any("leaf (requires grad)" in m.value for m in at.markdown)
    assert not any("result without grad" in m.value for m in at.markdown)  # none drawn
    at.selectbox(key="example").set_value("vector_backward").run()
    assert any("result without grad" in m.value for m in at.markdown)  # `weights`
    at.checkbox(key="legend").uncheck().run()
    assert not any("leaf (requires grad)" in m.value for m in at.markdown)


def test_saved_tensors_on() -> None:
    at = open_app()
    assert "saved " not in spaced_labels(at)
    at.checkbox(key="saved").check().run()
    assert "saved exponent: 4" in spaced_labels(at)


def test_precision() -> None:
    at = open_app()
    at.selectbox(key="example").set_value("softmax_ce").run()
    probs = torch.softmax(torch.tensor([[2.0, 0.5, -1.0]]), dim=1)[0, 0].item()
    assert f"{probs - 1:.4g}" in spaced_labels(at)  # the gradient of the first logit
    at.slider(key="precision").set_value(2).run()
    assert f"{probs - 1:.2g}" in spaced_labels(at)
    assert f"{probs - 1:.4g}" not in spaced_labels(at)


def test_direction_theme_and_presentation() -> None:
    at = open_app()
    width, height = drawing_size(svg(at))
    assert height > width and BACKGROUND.format("#ffffff") in svg(at)  # top to bottom
    at.radio(key="direction").set_value("LR").run()
    width, height = drawing_size(svg(at))
    assert width > height
    at.radio(key="theme").set_value("dark").run()
    assert BACKGROUND.format("#0e1117") in svg(at)
    at.toggle(key="present").set_value(True).run()
    assert 'font-size="18.00"' in svg(at)  # the projector palette: large type, black on white
    assert BACKGROUND.format("#ffffff") in svg(at)
    assert any("html { font-size: 22px; }" in m.value for m in at.markdown)


# -- the point on the curve ------------------------------------------------------------------
def test_moving_the_point_reruns_and_the_tangent_follows() -> None:
    at = open_app()
    at.slider(key="point").set_value(3.0).run()
    y, slope = polynomial_in_torch(3.0)
    assert (y, slope) == (232.0, 266.0)
    meta = curve_meta(at)
    assert meta["x"] == 3.0 and meta["y"] == y and meta["slope"] == slope
    assert meta["fd_slope"] == pytest.approx(slope, rel=1e-3)
    text = spaced_labels(at)
    assert f"value {y:g}" in text and f"grad {slope:g}" in text and "value 3 " in text
    at.button(key="point_reset").click().run()
    assert curve_meta(at)["slope"] == 93.0
    assert "value 63" in spaced_labels(at)


def test_point_between_grid_points() -> None:
    at = open_app()
    at.slider(key="point").set_value(0.52).run()
    x0 = float(torch.tensor(0.52))
    y, slope = polynomial_in_torch(x0)
    meta = curve_meta(at)
    assert meta["x"] == pytest.approx(x0) and meta["slope"] == pytest.approx(slope, rel=1e-6)
    assert meta["y"] == pytest.approx(y, rel=1e-6)


def test_choosing_an_element_of_a_non_scalar_output() -> None:
    at = open_app()
    at.selectbox(key="example").set_value("multistep").run()
    assert at.selectbox(key="plot_output").value == "out"
    at.selectbox(key="plot_input").set_value("x[0, 1]").run()
    at.selectbox(key="plot_output").set_value("z[0, 1]").run()
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    z = 2 * (3 * x + 2) ** 2
    (g,) = torch.autograd.grad(z[0, 1], x, retain_graph=True)
    meta = curve_meta(at)
    assert meta["y_label"] == "z[0, 1]" and meta["x_label"] == "x[0, 1]"
    assert meta["y"] == z[0, 1].item() and meta["slope"] == g[0, 1].item()
    at.selectbox(key="plot_output").set_value("sum of z").run()
    z.sum().backward()
    assert x.grad is not None
    meta = curve_meta(at)
    assert meta["y_label"] == "sum of z" and meta["slope"] == x.grad[0, 1].item()


def test_no_curve_for_a_slow_program(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradviz.app import plot_panel

    monkeypatch.setattr(plot_panel, "CURVE_BUDGET", 0.0)
    at = open_app()
    assert not at.get("plotly_chart")
    assert any("No curve: each run of this program takes" in c.value for c in at.caption)
    assert "value 63" in spaced_labels(at)


def test_no_curve_without_a_leaf() -> None:
    at = open_app(code="import torch\nprint(torch.ones(2) * 3)\n")
    assert not at.get("plotly_chart")
    assert any("No curve to plot" in c.value for c in at.caption)


# -- sharing ---------------------------------------------------------------------------------
def test_shared_link_opens_the_same_view() -> None:
    """A link with the program and options in its query string opens that view.

    (AppTest does not write widget changes back to the URL; the e2e suite checks that the
    browser's address bar follows the widgets.)
    """
    at = open_app()
    at.selectbox(key="example").set_value("diamond").run()
    at.radio(key="direction").set_value("LR").run()
    at.checkbox(key="shapes").uncheck().run()
    at.slider(key="precision").set_value(3).run()
    at.radio(key="theme").set_value("dark").run()
    link = {
        "code": by_key("diamond").code,
        "direction": "left-right",
        "shapes": "false",
        "precision": "3",
        "theme": "dark",
    }
    other = open_app(**link)
    assert program_text(other) == by_key("diamond").code
    assert other.radio(key="direction").value == "LR"
    assert other.checkbox(key="shapes").value is False
    assert svg(other) == svg(at)
    width, height = drawing_size(svg(other))
    assert "grad 8" in spaced_labels(other) and width > height  # left to right


def test_presentation_link() -> None:
    at = open_app(present="true", values="false")
    assert at.toggle(key="present").value is True
    assert 'font-size="18.00"' in svg(at) and "value 63" not in spaced_labels(at)


def test_default_link_is_clean() -> None:
    at = open_app()
    assert "code" not in at.query_params
