"""What the program printed and the value of its last expression, like a notebook cell."""

from __future__ import annotations

import streamlit as st

from gradviz.model.graph import Graph


def output_panel(graph: Graph) -> None:
    """Notes, printed output, then ``Out`` for each bare expression (the last one last)."""
    for note in graph.notes:
        st.info(note.text, icon=":material/info:")
    if graph.stdout:
        st.markdown("**Printed**")
        st.code(graph.stdout.rstrip("\n"), language=None, wrap_lines=True)
    echoes = [(line, text) for line, text in graph.echoes if text != "None"]
    for line, text in echoes:
        st.markdown(f"**Out** (line {line})")
        st.code(text, language=None, wrap_lines=True)
    if graph.result is not None and not echoes and graph.result != "None":
        st.markdown("**Out**")
        st.code(graph.result, language=None, wrap_lines=True)
    if not (graph.notes or graph.stdout or echoes or graph.result not in (None, "None")):
        st.caption("The program printed nothing.")
