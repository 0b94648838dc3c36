"""The "backward again" / "zero grad" presses, kept per session and tied to the program text.

They are replayed after the program (``gradviz.run(..., actions=...)``), never written into
it. Editing the program or loading an example drops them: they belong to one program text.
"""

from __future__ import annotations

import streamlit as st

from gradviz.replay import MAX_ACTIONS
from gradviz.ui import state


def actions_for(source: str) -> tuple[str, ...]:
    """The presses on this program (none, and forgotten, if they were on another text)."""
    stored = st.session_state.get(state.GRAD_ACTIONS)
    if stored is None:
        return ()
    if stored[0] != source:
        del st.session_state[state.GRAD_ACTIONS]
        return ()
    return tuple(stored[1])


def press(source: str, action: str) -> None:
    """Button callback: one more action on this program."""
    done = actions_for(source)
    if len(done) < MAX_ACTIONS:
        st.session_state[state.GRAD_ACTIONS] = (source, (*done, action))


def reset() -> None:
    """Button callback: back to the program as written."""
    st.session_state.pop(state.GRAD_ACTIONS, None)
