"""Non-scalar outputs: v, J and vᵀJ for each call given a vector, checked against what autograd
produced, and a Jacobian filled in one call at a time by one-hot vectors."""

from __future__ import annotations

from typing import Any

import streamlit as st

from gradviz.app import state
from gradviz.app.figures import show_figure
from gradviz.app.options import Display
from gradviz.model.format import number, shape_text, tensor_text
from gradviz.model.graph import Graph
from gradviz.model.values import TensorValue, numel
from gradviz.render.plots import heatmap_figure, transpose
from gradviz.teach.vjp import JacobianFill, Vjp, jacobian_fills, vjps

COLUMNS_OF_JT = "columns of Jᵀ"
ROWS_OF_J = "rows of J"


def applies(graph: Graph) -> bool:
    return bool(vjps(graph))


def nested(flat: list[float], shape: tuple[int, ...]) -> TensorValue:
    """A flat list back in its tensor's shape, to be written like any tensor."""
    data: Any = list(flat)
    for size in reversed(shape[1:]):
        data = [data[i : i + size] for i in range(0, len(data), size)]
    return TensorValue(shape=shape, dtype="float64", data=data if shape else flat[0])


def text_of(flat: list[float] | None, shape: tuple[int, ...], precision: int) -> str:
    """``[[2], [-1]]``: the numbers in the tensor's shape, or "—" when not known."""
    if flat is None or len(flat) != numel(shape):
        return "—"
    return tensor_text(nested(flat, shape), precision, max_items=8)


def _choose(items: list[Vjp], precision: int) -> Vjp:
    if len(items) == 1:
        return items[0]
    options = list(range(len(items)))
    if st.session_state.get(state.VJP_CALL) not in options:
        st.session_state[state.VJP_CALL] = 0

    def option(i: int) -> str:  # calls in a loop share a line: number them, show their v
        item = items[i]
        return f"{i + 1}. {item.title} · v = {text_of(item.v, item.ends.root_shape, precision)}"

    chosen = st.selectbox("Call", options, format_func=option, key=state.VJP_CALL)
    return items[chosen or 0]


def _first_element_sum(item: Vjp, precision: int) -> str | None:
    """(vᵀJ)[0] written out: v₀·J₀₀ + v₁·J₁₀ + … (for a few rows only)."""
    if item.v is None or item.jacobian is None or item.product is None or len(item.v) > 6:
        return None
    terms = " + ".join(
        f"{number(v, precision)}·{number(row[0], precision)}"
        for v, row in zip(item.v, item.jacobian, strict=True)
    )
    return f"first element: {terms} = {number(item.product[0], precision)}"


def vjp_view(item: Vjp, display: Display) -> None:
    """v, J (heatmap), vᵀJ, and autograd's own result beside it."""
    precision = display.render.precision
    ends = item.ends
    st.markdown(f"**{item.title}**")
    st.markdown(
        f"v = `{text_of(item.v, ends.root_shape, precision)}` — one weight per element of "
        f"`{ends.root_label}` ({shape_text(ends.root_shape)})"
    )
    if item.jacobian is not None:
        rows, cols = ends.element_labels()
        figure = heatmap_figure(
            [list(row) for row in item.jacobian],
            row_labels=rows,
            col_labels=cols,
            colorbar=False,
            title=f"J = ∂{ends.root_label} / ∂{ends.leaf_label}",
            meta={
                "kind": "vjp",
                "call": item.call,
                "leaf": ends.leaf,
                "v": item.v,
                "jacobian": item.jacobian,
                "product": item.product,
                "autograd": item.autograd,
                "matches": item.matches,
            },
            precision=precision,
            font_size=display.font_size,
        )
        show_figure(figure, display, theme=None, key=f"vjp_{item.call}_{ends.leaf}")
        st.markdown(f"vᵀJ = `{text_of(item.product, ends.leaf_shape, precision)}`")
        worked = _first_element_sum(item, precision)
        if worked:
            st.caption(worked)
    else:
        st.caption(
            f"J ({shape_text(ends.root_shape)} by {shape_text(ends.leaf_shape)}) is too large "
            "to show; autograd never builds it either: it computes vᵀJ directly."
        )
    what = (
        "returned by autograd.grad"
        if item.kind == "grad"
        else f"added to `{ends.leaf_label}.grad` by backward()"
    )
    st.markdown(f"autograd: `{text_of(item.autograd, ends.leaf_shape, precision)}` ({what})")
    if item.matches is True:
        st.success("vᵀJ equals what autograd produced.", icon=":material/check:")
    elif item.matches is False:
        st.warning("vᵀJ and autograd's result differ.", icon=":material/warning:")


def fill_view(fill: JacobianFill, position: int, display: Display) -> None:
    """The matrix after the first k calls (a slider), one row of J (column of Jᵀ) per call."""
    precision = display.render.precision
    ends = fill.ends
    count = len(fill.calls)
    st.markdown(
        f"**Building ∂{ends.root_label}/∂{ends.leaf_label} one call at a time** — {count} "
        "calls, each with a one-hot v (a single 1, at element i): vᵀJ is then row i of J, "
        "which the program can store as column i of Jᵀ."
    )
    step_key = f"{state.JACOBIAN_FILL}_step_{position}"
    current = st.session_state.get(step_key)
    if not isinstance(current, int) or not 1 <= current <= count:
        st.session_state[step_key] = count
    left, right = st.columns([2, 1])
    with left:
        shown = st.slider("After call", 1, count, key=step_key)
    with right:
        layout = st.radio(
            "Show as",
            [COLUMNS_OF_JT, ROWS_OF_J],
            horizontal=True,
            key=f"{state.JACOBIAN_FILL}_layout_{position}",
        )
    matrix = fill.matrix_after(shown)
    rows, cols = ends.element_labels()
    last = fill.filled[shown - 1]
    if layout == COLUMNS_OF_JT:
        figure_matrix, row_labels, col_labels = transpose(matrix), cols, rows
        title, highlight = f"Jᵀ after call {shown} of {count}", {"highlight_col": last}
    else:
        figure_matrix, row_labels, col_labels = matrix, rows, cols
        title, highlight = f"J after call {shown} of {count}", {"highlight_row": last}
    figure = heatmap_figure(
        figure_matrix,
        row_labels=row_labels,
        col_labels=col_labels,
        colorbar=False,
        title=title,
        meta={
            "kind": "jacobian_fill",
            "layout": "columns" if layout == COLUMNS_OF_JT else "rows",
            "count": shown,
            "matrix": figure_matrix,
            "reference": fill.reference,
        },
        precision=precision,
        font_size=display.font_size,
        **highlight,
    )
    show_figure(figure, display, theme=None, key=f"jacobian_fill_{position}")
    lines = []
    for k in range(shown):
        where = f"line {fill.lines[k]}" if fill.lines[k] is not None else "button"
        row = text_of(fill.rows[k], ends.leaf_shape, precision)
        i = fill.filled[k]
        lines.append(
            f"- call {k + 1} ({where}): v = 1 at `{rows[i]}`, 0 elsewhere → `{row}` (row {i} of J)"
        )
    st.markdown("\n".join(lines))
    if shown == count and fill.matches is True:
        message = "complete" if fill.complete else "the rows filled so far"
        st.success(
            f"Filled rows equal J computed beside the calls ({message}).",
            icon=":material/check:",
        )


def vjp_panel(graph: Graph, display: Display) -> None:
    """The chosen call's vᵀJ, then any Jacobian built by one-hot calls."""
    st.caption(
        "A non-scalar output has no single gradient: backward(gradient=v) and "
        "autograd.grad(..., grad_outputs=v) compute the vector-Jacobian product vᵀJ without "
        "ever building J. Here J is built beside them (where small) to show the product."
    )
    fills = jacobian_fills(graph)
    for position, fill in enumerate(fills):
        fill_view(fill, position, display)
    if fills:
        st.markdown("**One call in detail**")
    vjp_view(_choose(vjps(graph), display.render.precision), display)
