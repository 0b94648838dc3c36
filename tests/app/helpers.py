"""What the AppTests share: opening the page (on a URL, an example or a typed program), and
reading what it shows as a user would (the graph's labels, the plots, the Inspector).

The drawn graph is read by ``tests/app/drawing.py`` and the editor driven by
``tests/app/editor.py``; the browser tests have their own, ``tests/e2e/helpers.py``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Selectbox

import gradviz
from gradviz.gallery import by_key
from gradviz.model.graph import Graph
from tests.app.drawing import drawing

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 180
"""Seconds a script run may take (the big examples' runs, on a loaded 2-core machine)."""


def open_app(**query: str) -> AppTest:
    """The page on the URL with these query parameters (none: the built-in example)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def open_example(key: str, *, budget: int | None = None, presentation: bool = False) -> AppTest:
    """The page with the gallery's example ``key`` picked (optionally with another node
    budget, or in presentation mode)."""
    at = open_app(**({"budget": str(budget)} if budget is not None else {}))
    if presentation:
        at.toggle(key="present").set_value(True).run()
    at.selectbox(key="example").set_value(key).run()
    assert not at.exception and not at.error
    return at


def open_program(source: str) -> AppTest:
    """The page opened on ``source`` as if typed and run (the editor's text)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["code"] = source
    at.run()
    assert not at.exception and not at.error
    return at


def reopened(at: AppTest) -> AppTest:
    """A fresh session on the URL ``at``'s page shows now (a shared link)."""
    return open_app(**dict(at.query_params.items()))


@cache
def full(key: str) -> Graph:
    """The example's whole graph, as ``gradviz.run`` records it."""
    return gradviz.run(by_key(key).code)


def dot_text(at: AppTest) -> str:
    """Every label shown on the graph: ``value 63``, ``grad 93``."""
    return drawing(at).text()


def drawn(at: AppTest) -> dict[str, str]:
    """Node id -> its label's text, as drawn (with a space before and after)."""
    return {k: f" {v} " for k, v in drawing(at).nodes.items()}


def drawn_edges(at: AppTest) -> set[tuple[str, str]]:
    return drawing(at).edges


def node_rows(at: AppTest, title: str) -> str:
    """The label text of the node whose heading is ``title`` (``y = add``, ``x (leaf)``)."""
    for text in drawing(at).nodes.values():
        if text.startswith(f"{title} "):
            return text
    raise AssertionError(f"no node {title!r}")


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def plotly_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def plot_metas(at: AppTest, kind: str) -> list[dict[str, Any]]:
    """The ``meta`` of each plot of this kind (``curve``, ``heatmap``, ...)."""
    specs = plotly_specs(at)
    return [s["layout"]["meta"] for s in specs if s["layout"].get("meta", {}).get("kind") == kind]


def curve_meta(at: AppTest) -> dict[str, Any]:
    """What the curve plot was drawn from (its input, output, point and slopes)."""
    metas = plot_metas(at, "curve")
    assert metas, "no curve plot"
    return metas[0]


def inspector(at: AppTest) -> Selectbox[Any]:
    """The Inspector's node picker (its key changes with the graph)."""
    return next(s for s in at.selectbox if s.label == "Inspect a node")


def pick_node(at: AppTest, prefix: str) -> AppTest:
    """Inspect the node whose listed label starts with ``prefix`` (``b = mul``)."""
    options = inspector(at).options
    label = next(o for o in options if o.startswith(prefix))
    return inspector(at).select_index(options.index(label)).run()


def accumulation_table(at: AppTest) -> Any:
    """The accumulation table (a pandas DataFrame): first column ``after``."""
    return next(d.value for d in at.dataframe if d.value.columns[0] == "after")
