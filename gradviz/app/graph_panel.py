"""The graph: DOT from the renderer, laid out on the server, drawn by gradviz's component.

The legend is drawn as a row of chips under the chart rather than inside it: inside, it sits
beside the graph's first rank and can double the drawing's width, which shrinks every node
when the chart is scaled to fit the column. Downloads keep the legend in the DOT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape

import streamlit as st

from gradviz.app import state
from gradviz.app.big_graph import Shrink, big_graph_view
from gradviz.app.graph_view import graph_view
from gradviz.app.options import chosen_budget
from gradviz.model.graph import Graph
from gradviz.render.dot import PALETTES, RenderOptions, legend_entries, to_dot
from gradviz.render.interactive import NO_OVERLAY, Overlay, payload
from gradviz.render.layout import LAYOUT_SECONDS, LayoutTooSlow, lay_out
from gradviz.views.budget import budget_view


def legend_html(graph: Graph, render: RenderOptions) -> str:
    """The legend as HTML chips in the theme's colours: one per look this graph has, then the
    gradient's colour."""
    palette = PALETTES[render.theme]
    chips = []
    for entry in legend_entries(graph, render):
        if entry.look == "cut":
            fill, border, color = palette.background, palette.cut, palette.cut
        else:
            (fill, border), color = palette.fills[entry.look], palette.text
        border_style = "dashed" if entry.dashed else "dotted" if entry.dotted else "solid"
        line = "double 4px" if entry.double else f"1.5px {border_style}"
        chips.append(
            f'<span style="background:{fill};border:{line} {border};color:{color};'
            'border-radius:6px;padding:1px 8px;margin-right:6px;white-space:nowrap">'
            f"{escape(entry.text)}</span>"
        )
    if render.show_grads:
        chips.append(
            f'<span style="color:{palette.grad};font-weight:600;white-space:nowrap">'
            "grad = gradient</span>"
        )
    return (
        f'<div class="gv-legend" style="background:{palette.background};padding:6px 8px;'
        f'border-radius:6px;line-height:2">{"".join(chips)}</div>'
    )


@dataclass(frozen=True)
class Drawn:
    """What the panel drew: the graph as drawn (a collapsed view of a big one), its DOT with
    the legend (for the downloads) and the SVG on screen."""

    graph: Graph
    dot: str
    svg: str | None = None


def _layout_options(render: RenderOptions) -> RenderOptions:
    """What the layout depends on: the step's marks are an overlay, not part of it."""
    return replace(render, legend=False, highlight=None, traversed=frozenset())


def laid_out(
    graph: Graph,
    render: RenderOptions,
    shrink: Shrink | None = None,
    seconds: float = LAYOUT_SECONDS,
) -> tuple[Graph, RenderOptions, str, str | None]:
    """The graph, its options, its SVG and a note: shown within half the nodes each time
    (``shrink``, by default a plain budget view) while its layout takes longer than
    ``LAYOUT_SECONDS``.

    Raises:
        LayoutTooSlow: not even the most collapsed view can be laid out in time.
        RuntimeError: no layout engine is installed.
    """
    full = len(graph.nodes)
    while True:
        try:
            svg = lay_out(to_dot(graph, _layout_options(render)), seconds)
        except LayoutTooSlow:
            budget = len(graph.nodes) // 2
            smaller, render = (
                shrink(budget) if shrink else (budget_view(graph, budget).graph, render)
            )
            if len(smaller.nodes) >= len(graph.nodes) or budget < 2:
                raise
            graph = smaller
            continue
        if len(graph.nodes) == full:
            return graph, render, svg, None
        note = (
            f"Laying out these {full:,} nodes would take longer than {seconds:g} s: "
            f"shown as {len(graph.nodes):,} nodes instead."
        )
        return graph, render, svg, note


def draw_small(graph: Graph, render: RenderOptions, *, key: str) -> None:
    """A graph drawn as it is, without the big-graph controls (the teaching views' graphs)."""
    try:
        _, _, svg, note = laid_out(graph, render)
    except LayoutTooSlow:
        st.caption(f"Too big to lay out within {LAYOUT_SECONDS:g} s.")
        return
    except RuntimeError as e:  # no engine, or it failed: say so, never a traceback
        st.caption(f"The graph could not be laid out: {e}")
        return
    if note:
        st.caption(note)
    graph_view(payload(graph, svg, render), key=key, on_select=_select)


def _select(node_id: str) -> None:
    st.session_state[state.NODE] = node_id  # the Inspector shows the clicked node


def graph_panel(
    graph: Graph,
    render: RenderOptions,
    overlay: Overlay = NO_OVERLAY,
    *,
    stale: bool = False,
    budget: int | None = None,
    fill: bool = False,
    on_step: Callable[[int], None] | None = None,
    key: str = "graph",
) -> Drawn:
    """Draw the graph, or above ``budget`` nodes a collapsed view of it (the Display option's
    budget by default), with ``overlay`` (the step-through's marks) on it.

    Args:
        fill: Size it to the screen (presentation mode).
        on_step: What the arrow keys do on the graph (the step-through's Back and Next).
    """
    if stale:
        st.caption(":orange[**stale** — showing the last good run, faded]")
    if not graph.nodes:
        st.info("Nothing to draw: the program made no tensors that autograd tracks.")
        return Drawn(graph, to_dot(graph, render))
    graph, render, shrink = big_graph_view(
        graph, render, chosen_budget() if budget is None else budget
    )
    try:
        graph, render, svg, note = laid_out(graph, render, shrink)
    except LayoutTooSlow:
        st.warning(
            f"This graph cannot be laid out within {LAYOUT_SECONDS:g} s even collapsed: "
            "collapse more modules above, or download its DOT."
        )
        return Drawn(graph, to_dot(graph, render))
    except RuntimeError as e:  # no engine, or it failed: say so, never a traceback
        st.error(f"The graph could not be laid out: {e}. Its DOT and JSON can be downloaded.")
        return Drawn(graph, to_dot(graph, render))
    if note:
        st.caption(note)
    marks = replace(overlay, current=render.highlight, traversed=render.traversed)
    data = payload(graph, svg, render, marks, stale=stale, fill=fill, stepping=on_step is not None)
    graph_view(data, key=key, on_select=_select, on_step=on_step)
    if render.legend:
        st.markdown(legend_html(graph, render), unsafe_allow_html=True)
    return Drawn(graph, to_dot(graph, render), svg)
