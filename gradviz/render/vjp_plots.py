"""Plotly figures for vector-Jacobian products: J as a heatmap, and J filled in call by call.

Each figure carries the numbers it shows in ``layout.meta`` (with a ``kind``), so tests can
check them against PyTorch.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from gradviz.model.format import number


def transpose(matrix: list[list[Any]]) -> list[list[Any]]:
    return [list(col) for col in zip(*matrix, strict=True)] if matrix else []


def matrix_figure(
    matrix: list[list[float | None]],
    row_labels: list[str],
    col_labels: list[str],
    *,
    title: str,
    meta: dict[str, Any],
    precision: int = 4,
    font_size: int = 13,
    highlight_row: int | None = None,
    highlight_col: int | None = None,
) -> go.Figure:
    """An annotated heatmap; None cells (not computed yet) are blank, and one row or column
    can be outlined (the one the last call filled)."""
    text = [["" if v is None else number(v, precision) for v in row] for row in matrix]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=col_labels,
            y=row_labels,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=0,
            hovertemplate="%{y} / %{x}: %{text}<extra></extra>",
            showscale=False,
        )
    )
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    outline = {"type": "rect", "xref": "x", "yref": "y", "line": {"width": 4, "color": "black"}}
    if highlight_row is not None:
        box = {"x0": -0.5, "x1": cols - 0.5, "y0": highlight_row - 0.5, "y1": highlight_row + 0.5}
        figure.add_shape(**outline, **box)
    if highlight_col is not None:
        box = {"x0": highlight_col - 0.5, "x1": highlight_col + 0.5, "y0": -0.5, "y1": rows - 0.5}
        figure.add_shape(**outline, **box)
    figure.update_layout(
        title={"text": title},
        font={"size": font_size},
        xaxis={"side": "top", "type": "category"},
        yaxis={"autorange": "reversed", "type": "category"},
        height=min(160 + 48 * rows, 640),
        margin={"t": 110},
        meta=meta,
    )
    return figure
