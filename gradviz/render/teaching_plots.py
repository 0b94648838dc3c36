"""Plotly figures for the tutorials' ideas: Jacobian/Hessian heatmaps, vᵀJ, an optimizer's path.

Each takes plain data from the Graph (no live tensors) and returns a ``plotly`` figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from gradviz.graph.model import FunctionalCall, Graph
from gradviz.render.format import number
from gradviz.values import TensorValue, flatten


def _numel(shape: Sequence[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _index_labels(shape: Sequence[int], name: str) -> list[str]:
    """``x[0,1]``-style labels for every element of a tensor of this shape, in flat order."""
    labels = []
    for flat in range(_numel(shape)):
        idx, rest = [], flat
        for size in reversed(shape):
            idx.append(rest % size)
            rest //= size
        labels.append(f"{name}[{','.join(str(i) for i in reversed(idx))}]" if shape else name)
    return labels


def matrix_of(value: TensorValue, out_shape: Sequence[int]) -> list[list[float]]:
    """A Jacobian-like tensor (out dims × in dims) as rows (one per output element)."""
    flat = flatten(value.data)
    rows = max(_numel(out_shape), 1)
    cols = len(flat) // rows
    return [flat[r * cols : (r + 1) * cols] for r in range(rows)]


def heatmap(
    matrix: list[list[float]],
    row_labels: list[str],
    col_labels: list[str],
    title: str,
    precision: int = 3,
) -> go.Figure:
    """An annotated heatmap: every cell shows its number."""
    text = [[number(v, precision) for v in row] for row in matrix]
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=col_labels,
            y=row_labels,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=0,
            hovertemplate="%{y} / %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_layout(title=title, yaxis={"autorange": "reversed"}, height=420)
    return figure


def functional_heatmap(call: FunctionalCall, precision: int = 3) -> go.Figure:
    """The Jacobian (output element × input element) or Hessian (input × input)."""
    if call.result is None or call.result.data is None or not call.inputs:
        raise ValueError("this call's result was too large to keep in full")
    in_shape = call.inputs[0].shape
    out_shape = call.result.shape[: len(call.result.shape) - len(in_shape)]
    matrix = matrix_of(call.result, out_shape)
    x_labels = _index_labels(in_shape, "x")
    if call.kind == "hessian":
        rows = _index_labels(in_shape, "x")
        title = f"Hessian of {call.function}: ∂²f / ∂xᵢ∂xⱼ"
        axis_rows = "input element"
    else:
        rows = _index_labels(out_shape, f"{call.function}(x)")
        title = f"Jacobian of {call.function}: ∂ output / ∂ input"
        axis_rows = "output element"
    figure = heatmap(matrix, rows, x_labels, title, precision)
    figure.update_layout(xaxis_title="input element", yaxis_title=axis_rows)
    return figure


@dataclass
class OptimizerPath:
    """Where one scalar input was at each backward call, and the loss there."""

    leaf: str
    index: int
    xs: list[float]
    losses: list[float]
    grads: list[float]


def optimizer_path(graph: Graph, leaf: str, index: int = 0) -> OptimizerPath | None:
    """The point (x, loss) and slope at every backward call of a training loop."""
    xs, losses, grads = [], [], []
    for call in graph.backward_calls:
        value, grad = call.leaf_values.get(leaf), call.leaf_grads.get(leaf)
        root = call.root_value
        if value is None or value.data is None or root is None or root.data is None:
            continue
        if _numel(root.shape) != 1:
            continue
        xs.append(flatten(value.data)[index])
        losses.append(flatten(root.data)[0])
        grads.append(flatten(grad.data)[index] if grad and grad.data is not None else 0.0)
    if len(xs) < 2:
        return None
    return OptimizerPath(leaf, index, xs, losses, grads)


def optimizer_animation(
    path: OptimizerPath,
    curve_x: Sequence[float] | None = None,
    curve_y: Sequence[float] | None = None,
    x_label: str = "x",
) -> go.Figure:
    """The point moving along the curve with its tangent at each step, and the loss per step.

    Args:
        path: From ``optimizer_path``.
        curve_x, curve_y: The loss as a function of this input (from re-running), if known.
        x_label: Name of the input for the axis.
    """
    span = (max(path.xs) - min(path.xs)) or 1.0

    def tangent(k: int) -> tuple[list[float], list[float]]:
        x0, y0, g = path.xs[k], path.losses[k], path.grads[k]
        left, right = x0 - span / 2, x0 + span / 2
        return [left, right], [y0 + g * (left - x0), y0 + g * (right - x0)]

    def traces(k: int) -> list[go.Scatter]:
        tx, ty = tangent(k)
        return [
            go.Scatter(
                x=path.xs[: k + 1],
                y=path.losses[: k + 1],
                mode="lines+markers",
                name="steps",
                line={"dash": "dot"},
            ),
            go.Scatter(x=tx, y=ty, mode="lines", name=f"tangent, slope {number(path.grads[k])}"),
            go.Scatter(
                x=[path.xs[k]],
                y=[path.losses[k]],
                mode="markers",
                name="current",
                marker={"size": 14},
            ),
        ]

    base = []
    if curve_x is not None and curve_y is not None:
        base = [go.Scatter(x=list(curve_x), y=list(curve_y), mode="lines", name="loss(x)")]
    frames = [go.Frame(data=base + traces(k), name=str(k)) for k in range(len(path.xs))]
    figure = go.Figure(data=base + traces(0), frames=frames)
    slider = {
        "currentvalue": {"prefix": "step "},
        "steps": [
            {
                "label": str(k),
                "method": "animate",
                "args": [[str(k)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}],
            }
            for k in range(len(path.xs))
        ],
    }
    play = {
        "type": "buttons",
        "buttons": [
            {
                "label": "▶ play",
                "method": "animate",
                "args": [None, {"frame": {"duration": 600, "redraw": True}}],
            }
        ],
    }
    figure.update_layout(
        sliders=[slider],
        updatemenus=[play],
        xaxis_title=x_label,
        yaxis_title="loss",
        title="The optimizer on the curve",
    )
    return figure


def loss_per_step(path: OptimizerPath) -> go.Figure:
    figure = go.Figure(
        go.Scatter(
            x=list(range(len(path.losses))), y=path.losses, mode="lines+markers", name="loss"
        )
    )
    figure.update_layout(xaxis_title="step", yaxis_title="loss", title="Loss per step", height=300)
    return figure
