"""Which graph to show: this program's run, or, after a failure, the last good one (stale)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gradviz.app import state
from gradviz.app.about import remote_refusal
from gradviz.app.actions import actions_for
from gradviz.app.runs import Failure, run_program
from gradviz.model.graph import Graph


@dataclass(frozen=True)
class View:
    """What the page shows for the program in the editor."""

    source: str
    """The program the graph came from (the last good one when stale)."""
    graph: Graph | None
    failure: Failure | None
    stale: bool


def resolve(source: str) -> View:
    """Run the program (cached), replaying this session's button presses on it; on failure
    fall back to this session's last good run."""
    refusal = remote_refusal()
    if refusal is not None:
        return View(source, None, Failure("refused", refusal), False)
    slot = st.empty()

    def waiting(state: str, seconds: float) -> None:
        # Also Streamlit's chance to stop this script when the page has moved on (a new
        # Run, a closed tab): the exception it raises here abandons the run.
        if state == "queued":
            slot.caption(f"Queued: waiting for a free worker ({seconds:.0f} s)…")
        elif seconds >= 0.5:
            slot.caption(f"Running your program… {seconds:.1f} s")

    outcome = run_program(source, actions=actions_for(source), on_wait=waiting)
    slot.empty()
    if outcome.graph is not None:
        st.session_state[state.LAST_GOOD] = (source, outcome.graph)
        return View(source, outcome.graph, None, False)
    good = st.session_state.get(state.LAST_GOOD)
    if good is not None:
        return View(good[0], good[1], outcome.failure, True)
    return View(source, None, outcome.failure, False)
