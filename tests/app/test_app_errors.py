"""AppTest: every way a run can fail is a message at its line and column, never a traceback.

The user's text stays in the editor, and the last good graph stays, marked stale.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import gradviz
from gradviz.gallery import DEFAULT
from tests.app.drawing import payloads
from tests.app.editor import program_text, type_program
from tests.app.helpers import APP, open_app

CASES = {
    "syntax": (
        "import torch\nx = torch.ones(2, requires_grad=True)\ny = (x *\n",
        "Syntax error",
        3,
    ),
    "process": ("import torch\nimport os\nos.system('ls')\n", "Not allowed", 3),
    "file": ("import torch\nx = torch.ones(2)\nopen('x.txt', 'w').write('x')\n", "Not allowed", 3),
    "infinite loop": ("import torch\nwhile True:\n    pass\n", "Limit reached", None),
    "shape mismatch": (
        "import torch\na = torch.ones(2, 3)\nb = torch.ones(4, 5)\nc = a @ b\n",
        "Error",
        4,
    ),
}


def page_text(at: AppTest) -> str:
    parts = [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [c.value for c in at.code] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def graph_spec(at: AppTest) -> str:
    charts = payloads(at)
    return str(charts[0]["svg"]) if charts else ""


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_failure_is_shown_at_its_place_and_the_last_graph_stays(case: str) -> None:
    source, title, line = CASES[case]
    at = open_app()
    good = graph_spec(at)
    type_program(at, source)
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert title in message
    if line is not None:
        assert f"— {line}:" in message  # line:col: message
        pointed = next(c.value for c in at.code if c.value.startswith(f"{line} | "))
        text_line, caret_line = pointed.splitlines()
        assert text_line == f"{line} | {source.splitlines()[line - 1]}"
        assert caret_line.strip() == "^"
    assert program_text(at) == source  # the text is never lost
    assert graph_spec(at) == good  # the last good graph is still drawn...
    assert "Showing the last good run (stale)" in page_text(at)  # ...marked stale
    assert "Traceback" not in page_text(at)


def test_caret_under_the_column() -> None:
    at = open_app()
    type_program(at, "import torch\nx = torch.ones(2)\ny = x +* 2\n")
    message = at.error[0].value
    col = int(message.split("— 3:")[1].split(":")[0])
    pointed = next(c.value for c in at.code if c.value.startswith("3 | "))
    caret = pointed.splitlines()[1]
    assert caret.index("^") == len("3 | ") + col - 1


def test_failure_on_first_load_shows_no_graph_and_keeps_text() -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["code"] = "import torch\nx = = 1\n"
    at.run()
    assert not at.exception
    assert "Syntax error" in at.error[0].value and "2:" in at.error[0].value
    assert not payloads(at)
    assert program_text(at) == "import torch\nx = = 1\n"
    assert "stale" not in page_text(at)


def test_recovery_clears_the_error() -> None:
    at = open_app()
    type_program(at, "import torch\nx = (\n")
    assert at.error
    type_program(at, DEFAULT.code)
    assert not at.error and "stale" not in page_text(at)


def test_internal_error_has_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything that is not a GradvizError is a gradviz bug: "internal error", no details."""

    def broken(*args: object, **kwargs: object) -> gradviz.Graph:
        raise ValueError("a secret detail")

    at = open_app()
    monkeypatch.setattr(gradviz, "run", broken)
    type_program(at, "import torch\n# internal error case\n")
    assert not at.exception
    message = at.error[0].value
    assert "Internal error" in message and "bug in gradviz" in message
    assert "secret detail" not in page_text(at) and "Traceback" not in page_text(at)
    assert "Showing the last good run (stale)" in page_text(at)


def test_a_bug_in_a_panel_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradviz.app import plot_panel

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("panel detail")

    monkeypatch.setattr(plot_panel, "curve_panel", broken)
    at = open_app()
    assert "could not draw the curve" in at.error[0].value
    assert "panel detail" not in page_text(at)
    assert payloads(at)  # the rest of the page is there


def test_a_typed_program_replaces_the_graph() -> None:
    at = open_app()
    type_program(
        at, "import torch\nq = torch.tensor(5.0, requires_grad=True)\nr = q * q\nr.backward()\n"
    )
    assert "q (leaf)" in graph_spec(at) and "grad 10" in graph_spec(at).replace("</FONT>", "")


def test_without_a_layout_engine_the_page_says_so_and_keeps_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradviz.render import svg

    monkeypatch.setattr(svg, "svg_engine", lambda: None)
    at = open_app()
    type_program(
        at, "import torch\nlone = torch.tensor(7.0, requires_grad=True)\n(lone * 3).backward()\n"
    )
    assert not at.exception
    assert any(
        "could not be laid out" in e.value and svg.NO_ENGINE_MESSAGE in e.value for e in at.error
    )
    assert "Traceback" not in page_text(at)
