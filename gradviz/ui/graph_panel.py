"""The graph: DOT from the renderer, laid out in the browser by st.graphviz_chart.

The legend is drawn as a row of chips under the chart rather than inside it: inside, it sits
beside the graph's first rank and can double the drawing's width, which shrinks every node
when the chart is scaled to fit the column. Downloads keep the legend in the DOT.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

import streamlit as st

from gradviz.graph.model import Graph
from gradviz.render.dot import PALETTES, RenderOptions, to_dot
from gradviz.ui.big_graph import big_graph_view
from gradviz.ui.options import chosen_budget

LARGE_GRAPH = 800
"""Past this many nodes, say that the in-browser layout takes a while (about 2 s per 1,000)."""
LEGEND = (
    ("leaf", "leaf (requires grad)"),
    ("op", "operation (grad_fn)"),
    ("constant", "constant"),
    ("output", "output"),
    ("stopped", "tracking stopped"),
)


def legend_html(render: RenderOptions) -> str:
    """The legend as HTML chips in the theme's colours (text and gradient colour included)."""
    palette = PALETTES[render.theme]
    chips = []
    for key, text in LEGEND:
        fill, border = palette.fills[key]
        style = "dashed" if key == "constant" else "solid"
        chips.append(
            f'<span style="background:{fill};border:1.5px {style} {border};color:{palette.text};'
            'border-radius:6px;padding:1px 8px;margin-right:6px;white-space:nowrap">'
            f"{escape(text)}</span>"
        )
    chips.append(f'<span style="color:{palette.grad};font-weight:600">grad = gradient</span>')
    return (
        f'<div style="background:{palette.background};padding:6px 8px;border-radius:6px;'
        f'line-height:2">{"".join(chips)}</div>'
    )


@dataclass(frozen=True)
class Drawn:
    """What the panel drew: the graph as drawn (a collapsed view of a big one) and its DOT
    with the legend (for the downloads)."""

    graph: Graph
    dot: str


def graph_panel(
    graph: Graph, render: RenderOptions, *, stale: bool = False, budget: int | None = None
) -> Drawn:
    """Draw the graph, or above ``budget`` nodes a collapsed view of it (the Display option's
    budget by default)."""
    if stale:
        st.caption(":orange[**stale** — showing the last good run]")
    if not graph.nodes:
        st.info("Nothing to draw: the program made no tensors that autograd tracks.")
        return Drawn(graph, to_dot(graph, render))
    graph, render = big_graph_view(graph, render, chosen_budget() if budget is None else budget)
    if len(graph.nodes) > LARGE_GRAPH:
        st.caption(
            f"{len(graph.nodes)} nodes: the browser lays the graph out itself, which can take "
            "several seconds at this size."
        )
    st.graphviz_chart(to_dot(graph, replace(render, legend=False)), width="content")
    if render.legend:
        st.markdown(legend_html(render), unsafe_allow_html=True)
    return Drawn(graph, to_dot(graph, render))
