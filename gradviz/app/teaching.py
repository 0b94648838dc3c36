"""The teaching views below the graph, each shown when the program does what it explains.

A view appears by itself when its example is loaded (no extra click): gradients adding up,
where tracking stopped, vector-Jacobian products, Jacobian/Hessian heatmaps, the gradient's
own graph, an optimizer on its loss curve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from gradviz.app import (
    accumulation_panel,
    cuts_panel,
    error_view,
    functional_panel,
    higher_order_panel,
    optimizer_panel,
    vjp_panel,
)
from gradviz.app.options import Display
from gradviz.model.graph import Graph


@dataclass(frozen=True)
class TeachingView:
    heading: str
    what: str
    """Named in the message if the view fails (``error_view.guarded``)."""
    applies: Callable[[Graph], bool]
    show: Callable[[str, Graph, Display], None]


VIEWS = (
    TeachingView(
        "Gradients accumulate",
        "the accumulation table",
        accumulation_panel.applies,
        accumulation_panel.accumulation_panel,
    ),
    TeachingView(
        "Where tracking stopped",
        "the list of cuts",
        cuts_panel.applies,
        lambda source, graph, display: cuts_panel.cuts_panel(graph),
    ),
    TeachingView(
        "Vector-Jacobian products",
        "the vector-Jacobian view",
        vjp_panel.applies,
        lambda source, graph, display: vjp_panel.vjp_panel(graph, display),
    ),
    TeachingView(
        "Jacobian and Hessian",
        "the Jacobian and Hessian",
        functional_panel.applies,
        lambda source, graph, display: functional_panel.functional_panel(graph, display),
    ),
    TeachingView(
        "Higher order: the gradient's own graph",
        "the higher-order view",
        higher_order_panel.applies,
        higher_order_panel.higher_order_panel,
    ),
    TeachingView(
        "The optimizer on the curve",
        "the optimizer's steps",
        optimizer_panel.applies,
        optimizer_panel.optimizer_panel,
    ),
)


def teaching_panels(source: str, graph: Graph, display: Display) -> None:
    """Every view that applies to this program, each under its own heading."""
    for view in VIEWS:
        with error_view.guarded(view.what):
            if view.applies(graph):
                st.subheader(view.heading)
                view.show(source, graph, display)
