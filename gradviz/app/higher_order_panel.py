"""Higher order: the gradient's own graph beside the original, and f, f′, f″ along x.

Shown when the program calls ``torch.autograd.grad(..., create_graph=True)`` itself.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from gradviz.app.figures import show_figure
from gradviz.app.graph_panel import draw_small
from gradviz.app.options import Display
from gradviz.app.rerun_time import affordable
from gradviz.app.runs import SEED, runner
from gradviz.model.format import number
from gradviz.model.graph import Graph
from gradviz.model.names import short_labels
from gradviz.render.dot import RenderOptions
from gradviz.render.teaching_plots import derivatives_figure
from gradviz.teach.curve import window
from gradviz.teach.higher_order import (
    DerivativeChain,
    GradientGraph,
    create_graph_calls,
    derivative_chain,
    derivative_curves,
    derivative_values,
    gradient_graphs,
    order_name,
)

MAX_PAIRS = 3
"""Gradient graphs drawn (one per returned gradient of a create_graph call)."""
CURVE_RUNS = 26
"""Runs behind the plot of f, f′, f″: one per point."""


def applies(graph: Graph) -> bool:
    """The program asked autograd.grad for a gradient with a graph of its own."""
    return bool(create_graph_calls(graph))


def _chart(graph: Graph, render: RenderOptions, key: str) -> None:
    plain = replace(render, legend=False, highlight=None, traversed=frozenset())
    draw_small(graph, plain, key=key)


def _pair(graph: Graph, pair: GradientGraph, display: Display) -> None:
    names = short_labels(graph)
    call = graph.backward_calls[pair.call]
    root = ", ".join(f"`{names[r]}`" for r in call.roots)
    result = f"`{names[pair.result]}`"
    st.markdown(
        f"`autograd.grad` of {root} with create_graph=True (line {call.line}) returned "
        f"{result}: a tensor with a graph of its own, which can be differentiated again."
    )
    if display.presentation:  # on a projector the graphs need the full width
        left, right = st.container(), st.container()
    else:
        left, right = st.columns(2, gap="large")
    with left:
        st.markdown(f"**What was differentiated:** {root}")
        _chart(pair.original, display.render, f"higher_order_{pair.call}_original")
    with right:
        st.markdown(f"**The gradient's own graph:** {result}")
        _chart(pair.gradient, display.render, f"higher_order_{pair.call}_{pair.result}")
    made = [names[n] for n in pair.made_by_backward]
    if made:
        st.caption(
            "Made by the backward pass, not by a line of the program: "
            + ", ".join(f"`{m}`" for m in made)
            + ". In the graph above they are the nodes without a name, between the leaf and "
            f"{result}."
        )


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(
    source: str, seed: int, chain: DerivativeChain, xs: tuple[float, ...]
) -> list[list[float | None]]:
    return derivative_curves(source, chain, xs, runner(seed, cached=False, background=True))


def _plot(source: str, graph: Graph, chain: DerivativeChain, display: Display) -> None:
    at = derivative_values(graph, chain)
    x = graph.backward_calls[chain.links[0].call].leaf_values.get(chain.leaf)
    x0 = None
    if x is not None and isinstance(x.data, (int, float)):
        x0 = float(x.data)
    if x0 is None:
        node = graph.by_id[chain.leaf]
        x0 = float(node.value.data) if node.value and isinstance(node.value.data, float) else None
    if x0 is None:
        st.caption("No plot: the input has no value to start from.")
        return
    if not affordable(source, CURVE_RUNS):
        st.caption("No plot along x: the program takes too long to re-run at every point.")
        return
    xs = sorted(set(window(x0)) | {x0})
    rows = _curves(source, SEED, chain, tuple(xs))
    orders = len(chain.links) + 1
    series = [[row[k] for row in rows] for k in range(orders)]
    names = [order_name(k) for k in range(orders)]
    figure = derivatives_figure(
        xs,
        series,
        names,
        x=x0,
        at=at,
        x_label=chain.leaf_label,
        precision=display.render.precision,
        font_size=display.font_size,
    )
    show_figure(figure, display, key="higher_order_plot")
    values = ", ".join(
        f"{n}({number(x0, display.render.precision)}) = "
        + ("—" if v is None else number(v, display.render.precision))
        for n, v in zip(names, at, strict=True)
    )
    st.caption(
        f"Every point is the program's own run with {chain.leaf_label} set there: "
        f"{', '.join(names[1:])} are what its autograd.grad calls returned. At the program's "
        f"{chain.leaf_label}: {values}."
    )
    if orders == 2:
        st.caption(
            "To see f″ too, differentiate the gradient again: "
            "`torch.autograd.grad(dy, x)[0]` on the tensor returned with create_graph=True."
        )


def higher_order_panel(source: str, graph: Graph, display: Display) -> None:
    """The gradient graphs of the program's create_graph calls, then f, f′, f″ along x.

    Args:
        source: The program (re-run along x for the plot).
        graph: Its run.
        display: For the graphs' look, precision and font size.
    """
    pairs = gradient_graphs(graph)
    for pair in pairs[:MAX_PAIRS]:
        _pair(graph, pair, display)
    chain = derivative_chain(graph)
    if chain is None:
        st.caption(
            "The plot of f, f′ and f″ needs a one-element f and a one-element leaf x "
            "(here f or x has several elements)."
        )
        return
    _plot(source, graph, chain, display)
