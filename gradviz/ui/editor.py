"""The sidebar's program editor and example gallery."""

from __future__ import annotations

import streamlit as st

from gradviz.examples import DEFAULT, EXAMPLES, by_key, matching
from gradviz.ui import state

_TITLES = {e.key: e.title for e in EXAMPLES}


def _load_example() -> None:
    """Gallery callback: put the chosen example in the editor (it then runs)."""
    key = st.session_state.get(state.EXAMPLE)
    if key:
        st.session_state[state.CODE] = by_key(key).code
    st.session_state[state.EXAMPLE] = None


def gallery() -> None:
    """A select box of the examples; picking one replaces the program in the editor."""
    st.selectbox(
        "Examples",
        options=[e.key for e in EXAMPLES],
        index=None,
        format_func=lambda key: _TITLES[key],
        placeholder="Open an example…",
        key=state.EXAMPLE,
        on_change=_load_example,
        help="Replaces the program in the editor with the example and runs it.",
    )


def editor() -> str:
    """The program editor with its Run button; returns the program text.

    The text is bound to the URL (``?code=...``), so a link opens the same program. The
    program runs whenever the text changes (Ctrl+Enter or leaving the editor) and on Run.
    """
    code = st.text_area(
        "Program",
        value=DEFAULT.code,
        height=300,
        key=state.CODE,
        bind="query-params",
        help="Python with torch. Ctrl+Enter runs it.",
    )
    st.button("Run", key=state.RUN, type="primary", icon=":material/play_arrow:")
    example = matching(code or "")
    if example is not None:
        st.caption(f"**{example.title}.** {example.description}")
    return code or ""


def sidebar() -> str:
    """Gallery, then editor; returns the program."""
    gallery()
    return editor()
