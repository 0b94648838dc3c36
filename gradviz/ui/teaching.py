"""The teaching views below the graph, each shown when the program does what it explains.

(Skeleton: the views land one by one.)
"""

from __future__ import annotations

import streamlit as st

from gradviz.graph.model import Graph
from gradviz.ui import accumulation_panel, cuts_panel, error_view, vjp_panel
from gradviz.ui.options import Display


def teaching_panels(source: str, graph: Graph, display: Display) -> None:
    """Every view that applies to this program, each under its own heading."""
    if accumulation_panel.applies(graph):
        st.subheader("Gradients accumulate")
        with error_view.guarded("the accumulation table"):
            accumulation_panel.accumulation_panel(source, graph, display)
    if cuts_panel.applies(graph):
        st.subheader("Where tracking stopped")
        with error_view.guarded("the list of cuts"):
            cuts_panel.cuts_panel(graph)
    if vjp_panel.applies(graph):
        st.subheader("Vector-Jacobian products")
        with error_view.guarded("the vector-Jacobian view"):
            vjp_panel.vjp_panel(graph, display)
