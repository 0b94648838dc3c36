"""The interactive graph: gradviz's own Streamlit component (components v2).

The server lays the graph out (``render.layout``, bounded in time) and sends the SVG with
tooltips and the step's overlay (``render.interactive``); the browser only draws it, pans and
zooms it (svg-pan-zoom, shipped in ``graph_assets`` with its licence, so a lecture hall needs
no network), and reports a click on a node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from gradviz.app import state
from gradviz.app.components import component
from gradviz.app.options import page_is_dark

_COMPONENT = component(
    "gradviz_graph",
    html='<div class="gv"></div>',
    folder="graph_assets",
    css="graph_view.css",
    scripts=("svg-pan-zoom.min.js", "graph_view.js"),
)


def graph_view(
    data: dict[str, Any],
    *,
    key: str,
    on_select: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> None:
    """Mount the graph with ``data`` (``render.interactive.payload``).

    Args:
        on_select: Called with a node's id when the user clicks it (before the rerun).
        on_step: Called with +1 or -1 when the user presses an arrow key in the step-through.
    """

    def selected() -> None:
        node = st.session_state[key].get("selected")
        if on_select is not None and isinstance(node, str):
            on_select(node)

    def themed() -> None:
        dark = st.session_state[key].get("pageDark")
        if isinstance(dark, bool):
            st.session_state[state.PAGE_DARK] = dark  # the graph follows the page's theme

    def stepped() -> None:
        delta = st.session_state[key].get("step")
        if on_step is not None and delta in (-1, 1):
            on_step(int(delta))

    _COMPONENT(
        key=key,
        data={**data, "pageDark": page_is_dark()},
        default={"selected": None},
        on_selected_change=selected,
        on_step_change=stepped,
        on_pageDark_change=themed,
    )
