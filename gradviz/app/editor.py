"""The program editor (gradviz's own component on Ace) and the example gallery.

The program is ``st.session_state[state.CODE]``: set by Run / Ctrl+Enter in the editor or by
picking an example, and mirrored into the URL (``?code=...``, left out for the default) so a
link opens the same program. Ace (BSD, shipped in ``editor_assets`` with its licence, so a
lecture hall needs no network) gives line numbers, Tab and auto-indent, Python highlighting
and a gutter mark on a failed run's line; the design notes in the README say why Ace.
"""

from __future__ import annotations

import streamlit as st

from gradviz.app import links, state
from gradviz.app.components import component
from gradviz.app.runs import Failure
from gradviz.gallery import DEFAULT, EXAMPLES, Example, by_key, matching

_COMPONENT = component(
    "gradviz_editor",
    html='<div class="gv-editor"></div>',
    folder="editor_assets",
    css="editor.css",
    scripts=("ace.js", "mode-python.js", "theme-tomorrow_night.js", "editor.js"),
)
_EDITOR_KEY = "editor"
_TITLES = {e.key: e.title for e in EXAMPLES}
MIN_LINES, MAX_LINES = 8, 28
"""The editor grows with the program between these heights, then scrolls."""


def program() -> str:
    """The program to run: the last one run here, else the URL's, else the default example."""
    if state.CODE not in st.session_state:
        st.session_state[state.CODE] = st.query_params.get(state.CODE) or DEFAULT.code
    code = str(st.session_state[state.CODE])
    # The URL carries the program, so a shared link opens it (the default needs no link).
    links.to_link(state.CODE, None if code == DEFAULT.code else code)
    return code


def _load_example() -> None:
    """Gallery callback: put the chosen example in the editor (it then runs)."""
    key = st.session_state.get(state.EXAMPLE)
    if key:
        st.session_state[state.CODE] = by_key(key).code


def gallery(example: Example | None) -> None:
    """A select box of the examples, naming ``example`` (the one in the editor, if any);
    picking one replaces the program."""
    # Set before the box is drawn, so it names the loaded example (or none once edited).
    st.session_state[state.EXAMPLE] = example.key if example is not None else None
    st.selectbox(
        "Examples",
        options=[e.key for e in EXAMPLES],
        format_func=lambda key: _TITLES[key],
        placeholder="Open an example…",
        key=state.EXAMPLE,
        on_change=_load_example,
        help="Replaces the program in the editor with the example and runs it.",
    )


def _ran() -> None:
    """Editor callback (Run or Ctrl+Enter): the editor's text becomes the program."""
    text = st.session_state[_EDITOR_KEY].get("run")
    if isinstance(text, str):
        st.session_state[state.CODE] = text


def editor_panel(code: str, failure: Failure | None, *, font_size: int) -> None:
    """The gallery, the editor with its Run button, and what the loaded example shows.

    Args:
        failure: This program's failure, if it failed: its line is marked in the gutter.
    """
    example = matching(code)
    picker, about = st.columns([1, 2])
    with picker:
        gallery(example)
    if example is not None:
        about.caption(f"**{example.title}.** {example.description}")
    error = None
    if failure is not None and failure.line is not None:
        error = {"line": failure.line, "col": failure.col or 1, "message": failure.text()}
    _COMPONENT(
        key=_EDITOR_KEY,
        data={
            "key": _EDITOR_KEY,
            "code": code,
            "error": error,
            "fontSize": font_size,
            "minLines": MIN_LINES,
            "maxLines": MAX_LINES,
        },
        on_run_change=_ran,
    )
