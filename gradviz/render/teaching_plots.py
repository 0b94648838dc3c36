"""Plotly figures for the tutorials' ideas: Jacobian/Hessian heatmaps, f with its derivatives,
an optimizer moving along its loss curve.

Each takes plain data (a FunctionalCall, lists of numbers) and returns a ``plotly`` figure
whose ``layout.meta`` holds the numbers it shows (``kind`` says which figure it is).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gradviz.model.format import element_labels, number
from gradviz.model.graph import FunctionalCall
from gradviz.model.values import TensorValue, flatten, numel
from gradviz.render.plots import CURVE_COLOR, POINT_COLOR, TANGENT_COLOR, heatmap_figure

SERIES_COLORS = (CURVE_COLOR, TANGENT_COLOR, "#16a34a", "#9333ea", "#0891b2")


def matrix_of(value: TensorValue, out_shape: Sequence[int]) -> list[list[Any]]:
    """A Jacobian-like tensor (out dims × in dims) as rows (one per output element)."""
    flat = flatten(value.data)
    rows = max(numel(out_shape), 1)
    cols = len(flat) // rows
    return [flat[r * cols : (r + 1) * cols] for r in range(rows)]


def functional_heatmap(call: FunctionalCall, precision: int = 3, font_size: int = 13) -> go.Figure:
    """The Jacobian (output element × input element) or Hessian (input × input).

    Raises:
        ValueError: The result was not kept in full (too large, or a tuple of tensors).
    """
    if call.result is None or call.result.data is None or len(call.inputs) != 1:
        raise ValueError("this call's result was not kept in full")
    in_shape = call.inputs[0].shape
    out_shape = call.result.shape[: len(call.result.shape) - len(in_shape)]
    matrix = matrix_of(call.result, out_shape)
    cols = element_labels(in_shape, "x")
    if call.kind == "hessian":
        rows = element_labels(in_shape, "x")
        title = f"Hessian of {call.function}: ∂²f / ∂xᵢ∂xⱼ"
        axis_rows = "input element"
    else:
        rows = element_labels(out_shape, f"{call.function}(x)")
        title = f"Jacobian of {call.function}: ∂ output / ∂ input"
        axis_rows = "output element"
    figure = heatmap_figure(
        matrix,
        row_labels=rows,
        col_labels=cols,
        title=title,
        precision=precision,
        font_size=font_size,
    )
    figure.update_layout(
        xaxis_title="input element",
        yaxis_title=axis_rows,
        meta={
            "kind": call.kind,
            "function": call.function,
            "rows": rows,
            "cols": cols,
            "matrix": matrix,
            "input": call.inputs[0].data,
        },
    )
    return figure


def derivatives_figure(
    xs: Sequence[float],
    series: Sequence[Sequence[float | None]],
    names: Sequence[str],
    *,
    x: float,
    at: Sequence[float | None],
    x_label: str = "x",
    precision: int = 4,
    font_size: int = 13,
) -> go.Figure:
    """f, f′, f″ … over a range of x, each with its value at the program's x marked.

    Args:
        xs: Where the functions were evaluated.
        series: One list of values per order (None leaves a gap).
        names: ``f``, ``f′``, ``f″`` …
        x: The program's own x.
        at: Each series' value at ``x``.
        x_label: The input's name.
        precision: Significant digits in the legend.
        font_size: Base font size (larger for a projector).
    """
    figure = go.Figure()
    for k, (ys, name) in enumerate(zip(series, names, strict=True)):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        value = at[k]
        shown = "—" if value is None else number(value, precision)
        figure.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines",
                name=f"{name}({x_label}); {name}({number(x, precision)}) = {shown}",
                line={"color": color, "width": 3 if k == 0 else 2, "dash": _DASHES[k % 3]},
                connectgaps=False,
            )
        )
        if value is not None:
            figure.add_trace(
                go.Scatter(
                    x=[x],
                    y=[value],
                    mode="markers",
                    showlegend=False,
                    marker={"color": color, "size": 11, "line": {"width": 1, "color": "#fff"}},
                    hovertemplate=f"{name}: %{{y}}<extra></extra>",
                )
            )
    figure.add_hline(y=0, line={"color": "#9ca3af", "width": 1})
    figure.add_vline(x=x, line={"color": POINT_COLOR, "width": 1, "dash": "dot"})
    figure.update_layout(
        xaxis_title=x_label,
        font={"size": font_size},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        hovermode="x unified",
        meta={
            "kind": "derivatives",
            "x": x,
            "x_label": x_label,
            "xs": list(xs),
            "names": list(names),
            "series": [list(s) for s in series],
            "at": list(at),
        },
    )
    return figure


_DASHES = ("solid", "dash", "dashdot")


def _range(values: Sequence[float | None], pad: float = 0.08) -> list[float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    margin = pad * (hi - lo) if hi > lo else max(1.0, abs(hi)) * 0.5
    return [lo - margin, hi + margin]


def optimizer_animation(
    xs: Sequence[float],
    losses: Sequence[float],
    grads: Sequence[float],
    curves: Sequence[tuple[Sequence[float], Sequence[float | None]]] | None = None,
    *,
    x_label: str = "x",
    precision: int = 4,
    font_size: int = 13,
) -> go.Figure:
    """The point moving along the loss curve with its tangent, and the loss per step.

    One Plotly frame per step, driven by a slider and a play button. Left: the loss against
    the parameter (the curve, if given), the steps taken so far, the tangent whose slope is the
    gradient, the current point. Right: the loss per step with the current step marked.

    Args:
        xs: The parameter element at each step.
        losses: The loss at each step.
        grads: The gradient of the loss with respect to the element at each step.
        curves: For each step, the loss as the element moves (the other elements held where
            they were at that step); None: no curve.
        x_label: The element's name (``w``, ``x[0]``).
        precision: Significant digits in labels.
        font_size: Base font size (larger for a projector).
    """
    steps = len(xs)
    x_range = _range([*xs, *(v for c in curves or [] for v in c[0])], 0.04)
    width = x_range[1] - x_range[0]
    y_values: list[float | None] = list(losses)
    for cx, cy in curves or []:
        y_values += [y for x, y in zip(cx, cy, strict=True) if x_range[0] <= x <= x_range[1]]
    y_range = _range(y_values)

    def tangent(k: int) -> tuple[list[float], list[float]]:
        x0, y0, g = xs[k], losses[k], grads[k]
        left, right = x0 - width / 5, x0 + width / 5
        return [left, right], [y0 + g * (left - x0), y0 + g * (right - x0)]

    # With more than one parameter the curve moves between steps (the others move too), so an
    # earlier step's point lies on that step's curve, not on today's: those curves stay drawn,
    # faint, under the current one (one trace slot per step, as every frame needs as many).
    moving = curves is not None and any(list(c[1]) != list(curves[0][1]) for c in curves)

    def earlier(k: int) -> list[go.Scatter]:
        out = []
        for j in range(steps if moving and curves is not None else 0):
            cx, cy = curves[j] if curves is not None and j < k else ([], [])
            out.append(
                go.Scatter(
                    x=list(cx),
                    y=list(cy),
                    mode="lines",
                    name="earlier steps' curves",
                    legendgroup="earlier",
                    showlegend=j == 0,
                    hoverinfo="skip",
                    line={"color": "#cbd5e1", "width": 1.5},
                )
            )
        return out

    def traces(k: int) -> list[go.Scatter]:
        tx, ty = tangent(k)
        out = earlier(k)
        if curves is not None:
            cx, cy = curves[k]
            out.append(
                go.Scatter(
                    x=list(cx),
                    y=list(cy),
                    mode="lines",
                    name=f"loss as {x_label} moves",
                    line={"color": CURVE_COLOR, "width": 3},
                )
            )
        out += [
            go.Scatter(
                x=list(xs[: k + 1]),
                y=list(losses[: k + 1]),
                mode="lines+markers",
                name="steps so far",
                line={"dash": "dot", "color": "#6b7280"},
                marker={"size": 7, "color": "#6b7280"},
            ),
            go.Scatter(
                x=tx,
                y=ty,
                mode="lines",
                name=f"tangent: slope {number(grads[k], precision)}",
                line={"color": TANGENT_COLOR, "width": 2, "dash": "dash"},
            ),
            go.Scatter(
                x=[xs[k]],
                y=[losses[k]],
                mode="markers",
                name=f"step {k}: {x_label} = {number(xs[k], precision)}",
                marker={"color": POINT_COLOR, "size": 14, "line": {"width": 1, "color": "#fff"}},
            ),
            go.Scatter(
                x=list(range(steps)),
                y=list(losses),
                mode="lines+markers",
                name="loss per step",
                line={"color": CURVE_COLOR},
                xaxis="x2",
                yaxis="y2",
                showlegend=False,
            ),
            go.Scatter(
                x=[k],
                y=[losses[k]],
                mode="markers",
                name=f"loss {number(losses[k], precision)}",
                marker={"color": POINT_COLOR, "size": 14},
                xaxis="x2",
                yaxis="y2",
                showlegend=False,
            ),
        ]
        return out

    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.1,
        subplot_titles=(f"loss against {x_label}", "loss per step"),
    )
    figure.add_traces(traces(0))
    figure.frames = [go.Frame(data=traces(k), name=str(k)) for k in range(steps)]
    transition = {"duration": 250, "easing": "cubic-in-out"}
    slider = {
        "active": 0,
        "currentvalue": {"prefix": "step ", "font": {"size": font_size}},
        "pad": {"t": 40},
        "steps": [
            {
                "label": str(k),
                "method": "animate",
                "args": [
                    [str(k)],
                    {"mode": "immediate", "frame": {"duration": 0, "redraw": True}},
                ],
            }
            for k in range(steps)
        ],
    }
    play = {
        "type": "buttons",
        "direction": "left",
        "x": 0,
        "y": 0,
        "xanchor": "right",
        "yanchor": "top",
        "pad": {"t": 55, "r": 10},
        "buttons": [
            {
                "label": "▶ play",
                "method": "animate",
                "args": [
                    None,
                    {
                        "frame": {"duration": 700, "redraw": True},
                        "fromcurrent": True,
                        "transition": transition,
                    },
                ],
            }
        ],
    }
    figure.update_layout(
        sliders=[slider],
        updatemenus=[play],
        font={"size": font_size},
        height=460 + 4 * font_size,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0},
        hovermode="closest",
        meta={
            "kind": "optimizer",
            "x_label": x_label,
            "xs": list(xs),
            "losses": list(losses),
            "grads": list(grads),
            "curve": curves is not None,
        },
    )
    figure.update_xaxes(title_text=x_label, range=x_range, row=1, col=1)
    figure.update_yaxes(title_text="loss", range=y_range, row=1, col=1)
    figure.update_xaxes(
        title_text="step", range=[-0.5, steps - 0.5], dtick=1 if steps <= 20 else None, row=1, col=2
    )
    figure.update_yaxes(range=_range(list(losses)), row=1, col=2)
    return figure
