"""A failed run, shown at its place: the message, the line, and a caret under the column."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from gradviz.app.runs import Failure

_log = logging.getLogger(__name__)
_TITLES = {
    "syntax error": "Syntax error",
    "refused": "Not allowed",
    "limit reached": "Limit reached",
    "error": "Error",
    "internal error": "Internal error",
    "crashed": "PyTorch crashed",
    "cancelled": "Cancelled",
}


def pointer(source: str, line: int | None, col: int | None) -> str | None:
    """The offending line with a caret under the column, or None when the place is unknown.

    Tabs before the column are kept in the caret line, so the caret lines up however tabs are
    drawn.
    """
    lines = source.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    before = text[: max(0, (col or 1) - 1)]
    pad = "".join("\t" if ch == "\t" else " " for ch in before)
    gutter = f"{line} | "
    return f"{gutter}{text}\n{' ' * len(gutter)}{pad}^"


def traceback_text(detail: str) -> str:
    """The user's frames as Python prints them, without the program's internal file name."""
    return detail.replace('File "<program>", ', "").rstrip("\n")


def show_failure(failure: Failure, source: str, *, stale: bool) -> None:
    """The failure as an error box (kind, ``line:col``, message) and the pointed line."""
    title = _TITLES.get(failure.kind, failure.kind.capitalize())
    st.error(f"**{title}** — {failure.text()}", icon=":material/error:")
    # Through the program's own functions: Python's traceback of the user's frames.
    if failure.detail.count('File "<program>"') > 1:
        shown: str | None = traceback_text(failure.detail)
    else:
        shown = pointer(source, failure.line, failure.col)
    if shown is not None:
        st.code(shown, language=None)
    if stale:
        st.warning(
            "Showing the last good run (stale): the graph below is from the last program that "
            "ran. Your text is kept in the editor.",
            icon=":material/history:",
        )


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Run a panel; a bug in it becomes one line on the page (details in the server log)."""
    try:
        yield
    except Exception:  # a gradviz bug: never a traceback on the page
        _log.exception("internal error while drawing %s", what)
        st.error(f"**Internal error** — gradviz could not draw {what}. This is a bug in gradviz.")
