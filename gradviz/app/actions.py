"""The "backward again" / "zero grad" presses, kept per session and tied to the program text.

They are replayed after the program (``gradviz.run(..., actions=...)``), never written into
it. Editing the program or loading an example drops them: they belong to one program text.
"""

from __future__ import annotations

import streamlit as st

from gradviz.app import links, state
from gradviz.capture.replay import ACTIONS, MAX_ACTIONS


def actions_for(source: str) -> tuple[str, ...]:
    """The presses on this program (none, and forgotten, if they were on another text); a
    link's presses apply to the program it opens with."""
    linked = links.from_link(links.PRESSES)
    if linked is not None and state.GRAD_ACTIONS not in st.session_state:
        presses = tuple(a for a in links.split(linked) if a in ACTIONS)[:MAX_ACTIONS]
        st.session_state[state.GRAD_ACTIONS] = (source, presses)
    stored = st.session_state.get(state.GRAD_ACTIONS)
    if stored is not None and stored[0] != source:
        del st.session_state[state.GRAD_ACTIONS]
        stored = None
    done = () if stored is None else tuple(stored[1])
    links.to_link(links.PRESSES, ",".join(done))
    return done


def press(source: str, action: str) -> None:
    """Button callback: one more action on this program."""
    done = actions_for(source)
    if len(done) < MAX_ACTIONS:
        st.session_state[state.GRAD_ACTIONS] = (source, (*done, action))


def reset() -> None:
    """Button callback: back to the program as written."""
    st.session_state.pop(state.GRAD_ACTIONS, None)
