"""Plotly figures from plain numbers: the curve with its tangent, and tensor heatmaps.

No Streamlit here: the figures are plain ``plotly.graph_objects.Figure`` objects, usable in a
notebook as well as in the app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from gradviz.model.format import number
from gradviz.model.values import finite_number

CURVE_COLOR = "#2563eb"
TANGENT_COLOR = "#ea580c"
POINT_COLOR = "#dc2626"


def tangent_points(
    xs: Sequence[float], x: float, y: float, slope: float
) -> tuple[list[float], list[float]]:
    """The tangent line at (x, y) with ``slope``, as two points at the ends of ``xs``."""
    ends = [min(xs), max(xs)] if xs else [x - 1.0, x + 1.0]
    return ends, [y + slope * (e - x) for e in ends]


def _y_range(values: Sequence[float]) -> list[float] | None:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    lo, hi = min(finite), max(finite)
    pad = 0.08 * (hi - lo) if hi > lo else max(1.0, abs(hi)) * 0.5
    return [lo - pad, hi + pad]


def curve_figure(
    xs: Sequence[float],
    ys: Sequence[float | None],
    *,
    x: float,
    y: float | None,
    slope: float | None,
    fd_slope: float | None = None,
    x_label: str = "x",
    y_label: str = "f(x)",
    precision: int = 4,
    font_size: int = 13,
) -> go.Figure:
    """The output against one input: the curve, the tangent at the point, and the point.

    Args:
        xs, ys: The curve (None in ``ys`` leaves a gap).
        x, y: The current point (y None when the program gave no number there).
        slope: The autograd slope at x: the tangent's slope (None: no tangent).
        fd_slope: The finite-difference slope (kept in ``layout.meta``; the app shows it
            beside the autograd one).
        x_label, y_label: What the axes are (``x[0, 1]``, ``sum of z``).
        precision: Significant digits of numbers in labels.
        font_size: Base font size (larger for a projector).

    Returns:
        A Figure whose ``layout.meta`` holds the numbers (point, slopes) for tests and tools.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=list(xs),
            y=list(ys),
            mode="lines",
            name=f"{y_label} as {x_label} varies",
            line={"color": CURVE_COLOR, "width": 3},
            connectgaps=False,
        )
    )
    shown = [v for v in ys if v is not None]
    if y is not None and slope is not None:
        tx, ty = tangent_points(xs, x, y, slope)
        fig.add_trace(
            go.Scatter(
                x=tx,
                y=ty,
                mode="lines",
                name=f"tangent: autograd slope {number(slope, precision)}",
                line={"color": TANGENT_COLOR, "width": 2, "dash": "dash"},
            )
        )
    if y is not None:
        shown.append(y)
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name=f"{x_label} = {number(x, precision)}, {y_label} = {number(y, precision)}",
                marker={"color": POINT_COLOR, "size": 12, "line": {"width": 1, "color": "#fff"}},
            )
        )
    fig.update_layout(
        xaxis_title=x_label,
        yaxis_title=y_label,
        yaxis_range=_y_range(shown),
        font={"size": font_size},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        hovermode="closest",
        meta={
            "kind": "curve",
            "x": x,
            "y": y,
            "slope": slope,
            "fd_slope": fd_slope,
            "x_label": x_label,
            "y_label": y_label,
        },
    )
    return fig


CELL_TEXT_COLUMNS = 8
"""Widest matrix whose numbers are written in its cells (wider ones show them on hover)."""
CELL_DIGITS = 3
"""Significant digits written in a cell: more do not fit its width."""


def heatmap_figure(
    matrix: Sequence[Sequence[Any]],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    meta: dict[str, Any] | None = None,
    precision: int = 4,
    font_size: int = 13,
    highlight_row: int | None = None,
    highlight_col: int | None = None,
    colorbar: bool = True,
) -> go.Figure:
    """A matrix as a heatmap (the Inspector's 2-D tensors, Jacobians and Hessians, a VJP's J),
    its numbers in the cells when they fit, on hover always.

    Cells hold ``CELL_DIGITS`` digits up to ``CELL_TEXT_COLUMNS`` columns; hover shows
    ``precision`` digits. Non-numbers (``"nan"``, ``"inf"`` from JSON-safe snapshots) are left
    blank in the colours and written out; None (not computed yet) is blank. The colour scale
    is diverging and centred on zero, so signs read at a glance. Rows and columns are indexed
    (about ten ticks an axis) unless labelled; one row or column can be outlined.
    ``title`` is drawn when given (a page that heads the figure itself leaves it out).
    """
    z = [[finite_number(v) for v in row] for row in matrix]
    full = [["" if v is None else number(v, precision) for v in row] for row in matrix]
    digits = min(precision, CELL_DIGITS)
    cell = [["" if v is None else number(v, digits) for v in row] for row in matrix]
    rows, cols = len(z), max((len(r) for r in z), default=0)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(col_labels) if col_labels is not None else None,
            y=list(row_labels) if row_labels is not None else None,
            # Plotly writes a heatmap's cells from text (its texttemplate knows no customdata);
            # hover reads the full numbers from customdata.
            text=cell,
            customdata=full,
            texttemplate="%{text}" if cols <= CELL_TEXT_COLUMNS else "",
            textfont={"size": font_size},
            colorscale="RdBu",
            zmid=0,
            hovertemplate="%{y} / %{x}: %{customdata}<extra></extra>",
            showscale=colorbar,
        )
    )
    outline = {"type": "rect", "xref": "x", "yref": "y", "line": {"width": 4, "color": "black"}}
    if highlight_row is not None:
        box = {"x0": -0.5, "x1": cols - 0.5, "y0": highlight_row - 0.5, "y1": highlight_row + 0.5}
        fig.add_shape(**outline, **box)
    if highlight_col is not None:
        box = {"x0": highlight_col - 0.5, "x1": highlight_col + 0.5, "y0": -0.5, "y1": rows - 0.5}
        fig.add_shape(**outline, **box)

    def axis(labels: Sequence[str] | None, count: int) -> dict[str, Any]:
        return {"type": "category"} if labels is not None else {"dtick": _tick_step(count)}

    top = 90 if title else 30
    fig.update_layout(
        title={"text": title} if title else None,
        font={"size": font_size},
        yaxis={"autorange": "reversed", **axis(row_labels, rows)},
        xaxis={"side": "top", **axis(col_labels, cols)},
        height=max(200, min(700, top + 40 + (24 + font_size) * rows)),
        # Labelled rows need Plotly's own left margin (it fits their text); indices do not.
        margin={"t": top, "b": 10, **({} if row_labels is not None else {"l": 10, "r": 10})},
        meta=meta if meta is not None else {"kind": "heatmap", "title": title},
    )
    return fig


def transpose(matrix: list[list[Any]]) -> list[list[Any]]:
    """Rows as columns (Jᵀ drawn from J)."""
    return [list(col) for col in zip(*matrix, strict=True)] if matrix else []


def _tick_step(count: int) -> int:
    """An index tick every so many rows or columns: at most about ten labels on an axis."""
    return max(1, math.ceil(count / 10))
