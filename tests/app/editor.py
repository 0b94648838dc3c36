"""The program editor as a test drives it: a run of typed text, and the text the editor shows.

The editor is gradviz's own component; Run and Ctrl+Enter set ``st.session_state["code"]``
(checked in a real browser by tests/e2e/test_editor_browser.py), so an AppTest types by
setting that and running the script.
"""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest


def type_program(at: AppTest, code: str) -> AppTest:
    """What Run does after typing ``code``."""
    at.session_state["code"] = code
    return at.run()


def editor_data(at: AppTest) -> dict[str, Any]:
    """What the editor component was given (``code``, ``error``, ...)."""
    found: list[dict[str, Any]] = [json.loads(e.proto.json) for e in at.get("bidi_component")]
    editors = [d for d in found if "minLines" in d]
    assert len(editors) == 1, f"{len(editors)} editors on the page"
    return editors[0]


def program_text(at: AppTest) -> str:
    """The text in the editor."""
    return str(editor_data(at)["code"])
