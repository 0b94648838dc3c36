"""Export: the graph as DOT and JSON, and as SVG where a layout engine is installed."""

from __future__ import annotations

import streamlit as st

from gradviz.model.graph import Graph
from gradviz.render.svg import NO_ENGINE_MESSAGE, svg_engine, to_svg


def downloads_panel(graph: Graph, dot: str, svg: str | None = None) -> None:
    """Download buttons; JSON and SVG are made only when clicked. ``svg``: the drawing on
    screen, which the SVG download then is (else it is laid out from ``dot``)."""
    left, middle, right = st.columns(3)
    with left:
        st.download_button(
            "DOT",
            dot,
            file_name="gradviz.dot",
            mime="text/vnd.graphviz",
            key="dl_dot",
            icon=":material/download:",
            on_click="ignore",
        )
    with middle:
        st.download_button(
            "JSON",
            lambda: graph.to_json(indent=2),
            file_name="gradviz.json",
            mime="application/json",
            key="dl_json",
            icon=":material/download:",
            on_click="ignore",
        )
    with right:
        if svg is not None or svg_engine() is not None:
            st.download_button(
                "SVG",
                svg if svg is not None else lambda: to_svg(dot),
                file_name="gradviz.svg",
                mime="image/svg+xml",
                key="dl_svg",
                icon=":material/download:",
                on_click="ignore",
            )
        else:
            st.caption(NO_ENGINE_MESSAGE)
