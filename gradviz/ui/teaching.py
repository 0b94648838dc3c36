"""The teaching views below the graph, each shown when the program does what it explains.

(Skeleton: the views land one by one.)
"""

from __future__ import annotations

import streamlit as st

from gradviz.graph.model import Graph
from gradviz.ui import error_view, functional_panel, higher_order_panel, optimizer_panel
from gradviz.ui.options import Display


def teaching_panels(source: str, graph: Graph, display: Display) -> None:
    """Every view that applies to this program, each under its own heading."""
    if functional_panel.applies(graph):
        st.subheader("Jacobian and Hessian")
        with error_view.guarded("the Jacobian and Hessian"):
            functional_panel.functional_panel(graph, display)
    if higher_order_panel.applies(graph):
        st.subheader("Higher order: the gradient's own graph")
        with error_view.guarded("the higher-order view"):
            higher_order_panel.higher_order_panel(source, graph, display)
    if optimizer_panel.applies(graph):
        st.subheader("The optimizer on the curve")
        with error_view.guarded("the optimizer's steps"):
            optimizer_panel.optimizer_panel(source, graph, display)
