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
    with error_view.guarded("the Jacobian and Hessian"):
        if functional_panel.applies(graph):
            st.subheader("Jacobian and Hessian")
            functional_panel.functional_panel(graph, display)
    with error_view.guarded("the higher-order view"):
        if higher_order_panel.applies(graph):
            st.subheader("Higher order: the gradient's own graph")
            higher_order_panel.higher_order_panel(source, graph, display)
    with error_view.guarded("the optimizer's steps"):
        if optimizer_panel.applies(graph):
            st.subheader("The optimizer on the curve")
            optimizer_panel.optimizer_panel(source, graph, display)
