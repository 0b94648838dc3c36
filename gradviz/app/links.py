"""The rest of what decides the view, in the URL: the program, presses of Backward again /
Zero grad, expanded and collapsed groups, and the curve's input, output and point.

Widgets bound with ``bind="query-params"`` keep themselves in the URL; these are session state
that no single widget owns. A link is read once per session, the first time the page needs
the value; from then on the page writes it, so the address bar always reproduces the view.
"""

from __future__ import annotations

import streamlit as st

_READ = "links_read"
"""Parameters whose link value this session has already taken."""

PRESSES = "presses"
EXPANDED = "expanded"
COLLAPSED = "collapsed"
POINT = "x"
INPUT = "input"
OUTPUT = "output"


def from_link(param: str) -> str | None:
    """The opening link's value of ``param``, the first time it is asked for (else None)."""
    read = st.session_state.setdefault(_READ, set())
    if param in read:
        return None
    read.add(param)
    value = st.query_params.get(param)
    return value or None


def to_link(param: str, value: str | None) -> None:
    """Keep ``param`` in the URL (left out when None or empty: the plain view)."""
    if not value:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value


def split(value: str | None) -> list[str]:
    """``a,b`` -> ``["a", "b"]`` (a link's list)."""
    return [part for part in (value or "").split(",") if part]
