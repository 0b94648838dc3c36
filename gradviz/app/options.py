"""Display options (what the graph shows, layout, theme, presentation mode) and page style."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import streamlit as st

from gradviz.app import state
from gradviz.render.dot import RenderOptions
from gradviz.views.budget import DEFAULT_BUDGET

DIRECTIONS = {"TB": "top-down", "LR": "left-right"}
THEMES = {"page": "as the page", "light": "light", "dark": "dark"}
BUDGET = "budget"
"""Widget key (and query parameter) of the node budget."""
MAX_BUDGET = 1_000
"""Past this a graph is no longer readable, and its layout on the server often passes the
2 s bound anyway (then it is shown smaller)."""


@dataclass(frozen=True)
class Display:
    """The chosen options: how to draw the graph, and whether a projector is in use."""

    render: RenderOptions
    presentation: bool
    budget: int = DEFAULT_BUDGET
    """Most nodes the graph panel sends the browser; bigger graphs are shown collapsed."""

    @property
    def font_size(self) -> int:
        """Base font size of figures."""
        return 20 if self.presentation else 13


def options_panel() -> Display:
    """The display options; each one is bound to the URL so a shared link keeps it."""
    st.subheader("Display")
    # First, where a lecturer looks for it.
    presentation = st.toggle(
        "Presentation mode",
        value=False,
        key="present",
        bind="query-params",
        help="For a projector: large type and high contrast in the graph and on the page.",
    )
    left, right = st.columns(2)
    with left:
        values = st.checkbox("Values", value=True, key="values", bind="query-params")
        grads = st.checkbox("Gradients", value=True, key="grads", bind="query-params")
        legend = st.checkbox("Legend", value=True, key="legend", bind="query-params")
    with right:
        shapes = st.checkbox("Shapes", value=True, key="shapes", bind="query-params")
        saved = st.checkbox("Saved tensors", value=False, key="saved", bind="query-params")
    precision = st.slider("Significant digits", 1, 8, 4, key="precision", bind="query-params")
    direction = st.radio(
        "Direction",
        list(DIRECTIONS),
        format_func=DIRECTIONS.__getitem__,
        horizontal=True,
        key="direction",
        bind="query-params",
    )
    theme = st.radio(
        "Graph theme",
        list(THEMES),
        format_func=THEMES.__getitem__,
        horizontal=True,
        key="theme",
        bind="query-params",
    )
    budget = st.number_input(
        "Node budget",
        min_value=10,
        max_value=MAX_BUDGET,
        value=DEFAULT_BUDGET,
        step=50,
        key=BUDGET,
        bind="query-params",
        help="Most nodes drawn at once. A bigger graph is shown with modules collapsed and "
        "long chains folded; expand parts of it above the graph.",
    )
    render = RenderOptions(
        show_values=values,
        show_grads=grads,
        show_shapes=shapes,
        show_saved=saved,
        precision=int(precision),
        direction=cast(Literal["TB", "LR"], direction or "TB"),
        theme="projector" if presentation else _graph_theme(theme),
        legend=legend,
    )
    return Display(render=render, presentation=presentation, budget=int(budget or DEFAULT_BUDGET))


def page_is_dark() -> bool:
    """Whether the page has a dark theme: as the graph saw it in the browser, else as
    Streamlit infers it (which can be wrong on a session's first run)."""
    seen = st.session_state.get(state.PAGE_DARK)
    if isinstance(seen, bool):
        return seen
    return bool(st.context.theme.type == "dark")


def _graph_theme(choice: str | None) -> Literal["light", "dark"]:
    """The graph's theme: the user's choice, or by default the page's."""
    if choice in ("light", "dark"):
        return cast(Literal["light", "dark"], choice)
    return "dark" if page_is_dark() else "light"


def chosen_budget() -> int:
    """The node budget set in the Display options (the default before they are drawn)."""
    value = st.session_state.get(BUDGET)
    return int(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_BUDGET


_BASE_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
</style>
"""

_PRESENTATION_CSS = """
<style>
html { font-size: 22px; }
.stMarkdown p, .stMarkdown li, .stCaption, label, textarea, code { font-size: 1.1rem !important; }
h1 { font-size: 2.4rem !important; } h2 { font-size: 1.9rem !important; }
h3 { font-size: 1.5rem !important; }
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
</style>
"""


def apply_style(display: Display) -> None:
    """Page CSS: a monospace editor; large type in presentation mode."""
    st.markdown(_BASE_CSS, unsafe_allow_html=True)
    if display.presentation:
        st.markdown(_PRESENTATION_CSS, unsafe_allow_html=True)
