"""gradviz's own Streamlit components (components v2): each one's HTML, CSS and scripts read
from its asset folder, with the scripts every component shares (``components_common.js``)
in front of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).parent


def component(
    name: str, *, html: str, folder: str, css: str, scripts: tuple[str, ...]
) -> Callable[..., Any]:
    """Register a component whose files are in ``gradviz/app/<folder>``; ``scripts`` in the
    order they load, the component's own last.

    Its elements live in the page's DOM, not a shadow root: the tests and benchmarks query
    them like any element, and Ace puts its stylesheet in the document's head (every class
    here starts with gv-).
    """
    assets = _HERE / folder
    files = [
        *(assets / s for s in scripts[:-1]),
        _HERE / "components_common.js",
        assets / scripts[-1],
    ]
    return st.components.v2.component(
        name,
        html=html,
        css=(assets / css).read_text(),
        js="\n".join(path.read_text() for path in files),
        isolate_styles=False,
    )
