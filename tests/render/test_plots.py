"""Plotly figures from plain numbers: the curve, its tangent (slope from torch), heatmaps."""

from __future__ import annotations

import json

import pytest
import torch

from gradviz.render.plots import curve_figure, heatmap_figure, tangent_points


def poly(x: torch.Tensor) -> torch.Tensor:
    return 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1


def polynomial_figure(x0: float = 2.0):  # type: ignore[no-untyped-def]
    xs = [x0 - 2 + i * 0.5 for i in range(9)]
    ys = [float(poly(torch.tensor(x))) for x in xs]
    t = torch.tensor(x0, requires_grad=True)
    y = poly(t)
    y.backward()
    assert t.grad is not None
    slope = float(t.grad)
    fig = curve_figure(
        xs, ys, x=x0, y=y.item(), slope=slope, fd_slope=slope - 1e-3, x_label="x", y_label="y"
    )
    return fig, xs, ys, y.item(), slope


def test_curve_tangent_and_point() -> None:
    fig, xs, ys, y, slope = polynomial_figure()
    assert (y, slope) == (63.0, 93.0)
    curve, tangent, point = fig.data
    assert list(curve.x) == xs and list(curve.y) == ys
    (x1, x2), (y1, y2) = tangent.x, tangent.y
    assert (y2 - y1) / (x2 - x1) == pytest.approx(93.0)
    assert y1 + 93.0 * (2.0 - x1) == pytest.approx(63.0)  # the tangent touches at (2, 63)
    assert (point.x[0], point.y[0]) == (2.0, 63.0)
    assert "autograd slope 93" in tangent.name
    meta = fig.layout.meta
    assert meta["kind"] == "curve" and meta["slope"] == 93.0 and meta["y"] == 63.0
    assert meta["fd_slope"] == 93.0 - 1e-3


def test_figure_is_json_and_y_range_fits_the_curve() -> None:
    fig, _, ys, _, _ = polynomial_figure()
    spec = json.loads(fig.to_json())
    lo, hi = spec["layout"]["yaxis"]["range"]
    assert lo < min(ys) and hi > max(ys)


def test_no_tangent_without_slope_and_gaps_are_kept() -> None:
    fig = curve_figure([0.0, 1.0, 2.0], [1.0, None, 3.0], x=0.0, y=1.0, slope=None)
    assert len(fig.data) == 2  # curve and point, no tangent
    assert list(fig.data[0].y) == [1.0, None, 3.0]
    fig = curve_figure([0.0, 1.0], [None, None], x=0.0, y=None, slope=2.0)
    assert len(fig.data) == 1


def test_tangent_points() -> None:
    assert tangent_points([0.0, 4.0], 2.0, 63.0, 93.0) == ([0.0, 4.0], [-123.0, 249.0])


def test_heatmap_of_a_gradient() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    (2 * (3 * x + 2) ** 2).mean().backward()
    assert x.grad is not None
    data = x.grad.tolist()
    fig = heatmap_figure(data, meta={"kind": "heatmap", "title": "x.grad"}, precision=3)
    heat = fig.data[0]
    assert [list(r) for r in heat.z] == data
    assert [list(r) for r in heat.text] == [["10", "16", "22"], ["22", "16", "10"]]
    assert heat.texttemplate == "%{text}"  # written in the cells
    assert fig.layout.meta["kind"] == "heatmap"
    assert not fig.layout.title.text  # one title: the page's, above the figure


def test_a_wide_heatmap_keeps_its_numbers_for_hover_and_its_ticks_few() -> None:
    g = torch.randn(3, 40, generator=torch.Generator().manual_seed(0))
    fig = heatmap_figure(g.tolist(), precision=4)
    heat = fig.data[0]
    assert heat.texttemplate == ""  # 40 numbers would not fit across
    assert [float(v) for v in heat.customdata[2]] == pytest.approx(g[2].tolist(), rel=1e-3)
    assert fig.layout.xaxis.dtick == 4 and fig.layout.yaxis.dtick == 1  # ten labels, not 40
    narrow = heatmap_figure([[0.123456, -7.654321]], precision=6).data[0]
    assert [list(r) for r in narrow.text] == [["0.123", "-7.65"]]  # fits a cell
    assert [list(r) for r in narrow.customdata] == [["0.123456", "-7.65432"]]  # on hover


def test_heatmap_of_non_finite_values() -> None:
    fig = heatmap_figure([[1.0, "nan"], ["inf", -2.0]])
    assert [list(r) for r in fig.data[0].z] == [[1.0, None], [None, -2.0]]
    assert [list(r) for r in fig.data[0].text] == [["1", "nan"], ["inf", "-2"]]
