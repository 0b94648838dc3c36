"""Where tracking stopped: each cut drawn in the graph (✂), with its line and what it means."""

from __future__ import annotations

import streamlit as st

from gradviz.model.graph import Graph
from gradviz.teach.cuts import Cut, cuts


def applies(graph: Graph) -> bool:
    return bool(cuts(graph))


def cut_line(cut: Cut) -> str:
    """``line 5 · `x.detach()` — detach() of `x`: same numbers, no history; shares …``."""
    where = f"line {cut.line}" if cut.line is not None else "no line"
    source = f" of {', '.join(f'`{s}`' for s in cut.sources)}" if cut.sources else ""
    return f"**{where}** · `{cut.what}` — {cut.how_text}{source}: {cut.note()}"


def cuts_panel(graph: Graph) -> None:
    """One line per cut, in the order the program made them."""
    st.caption(
        "Tensors made without history are constants to autograd (dashed boxes); the dashed "
        "✂ edge marks where tracking stopped. Values still flow forward, gradients do not "
        "flow back."
    )
    st.markdown("\n".join(f"- {cut_line(cut)}" for cut in cuts(graph)))
