"""Whether a view can afford to re-run the program many times (a curve needs dozens of runs)."""

from __future__ import annotations

import streamlit as st

from gradviz.ui.runs import execute, run_program

BUDGET = 8.0
"""Seconds a view's reruns may take on a first draw; slower programs get no such view."""


@st.cache_data(max_entries=256, show_spinner=False)
def _timed_again(source: str) -> float:
    """One more, uncached run's time: cached itself, so a slow program is re-timed once, not
    on every rerun of the page."""
    return execute(source).seconds


def seconds_per_run(source: str, runs: int, budget: float = BUDGET) -> float:
    """How long one run of the program takes, timed again when the cached run looks too slow.

    The first run in a process pays one-time costs that later runs do not (creating the first
    torch.optim optimizer imports for about 2 s), so a slow first timing is checked once more.
    """
    seconds = run_program(source).seconds
    if seconds * runs > budget:
        seconds = min(seconds, _timed_again(source))
    return seconds


def affordable(source: str, runs: int, budget: float = BUDGET) -> bool:
    """``runs`` runs of the program fit in the budget."""
    return seconds_per_run(source, runs, budget) * runs <= budget
