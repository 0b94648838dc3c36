"""Jacobian and Hessian: each torch.autograd.functional call as an annotated heatmap."""

from __future__ import annotations

import streamlit as st

from gradviz.app.figures import show_figure
from gradviz.app.options import Display
from gradviz.model.format import shape_text
from gradviz.model.graph import Graph
from gradviz.render.teaching_plots import functional_heatmap

_READING = {
    "jacobian": (
        "Row i, column j: ∂ output[i] / ∂ input[j]. An elementwise function only has a "
        "diagonal; a reduction has one row."
    ),
    "hessian": (
        "Row i, column j: ∂²f / ∂x[i]∂x[j], the Jacobian of the gradient. It is symmetric for a "
        "smooth f."
    ),
}


def applies(graph: Graph) -> bool:
    """The program called torch.autograd.functional.jacobian or hessian."""
    return bool(graph.functional_calls)


def functional_panel(graph: Graph, display: Display) -> None:
    """One heatmap per jacobian/hessian call, in program order.

    Args:
        graph: The run.
        display: For precision and font size.
    """
    for i, call in enumerate(graph.functional_calls):
        shape = " × ".join(shape_text(v.shape) for v in call.inputs)
        result = shape_text(call.result.shape) if call.result is not None else "?"
        st.markdown(
            f"**{call.kind}** of `{call.function}` at an input of shape {shape}: a {result} "
            "tensor, drawn as a matrix of "
            + ("output element × input element." if call.kind == "jacobian" else "input × input.")
        )
        try:
            figure = functional_heatmap(call, display.render.precision, display.font_size)
        except ValueError as err:
            st.caption(f"No heatmap: {err}.")
            continue
        show_figure(figure, display, key=f"functional_{i}")
        st.caption(_READING[call.kind])
