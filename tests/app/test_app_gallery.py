"""AppTest: every gallery entry loads, runs without error, and its numbers are torch's."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
import torch
from streamlit.testing.v1 import AppTest

from gradviz.capture.snapshot import snapshot
from gradviz.gallery import EXAMPLES, Example
from gradviz.model.format import tensor_lines
from tests.app.editor import program_text
from tests.app.helpers import APP, dot_text
from tests.oracle import run_plain


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    return at


def expected_rows(namespace: dict[str, Any]) -> list[str]:
    """What the graph must show, by plain torch: the value of every named tensor autograd
    tracks, and the .grad of every leaf, formatted as the graph formats them."""
    rows = []
    for value in namespace.values():
        tensors = [value] if isinstance(value, torch.Tensor) else []
        if isinstance(value, torch.nn.Module):
            tensors = list(value.parameters())
        for t in tensors:
            if t.grad_fn is not None or (t.is_leaf and t.requires_grad):
                rows.append("value " + tensor_lines(snapshot(t))[0])
            if t.is_leaf and t.grad is not None:
                rows.append("grad " + tensor_lines(snapshot(t.grad))[0])
    return rows


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.key)
def test_gallery_entry(app: AppTest, example: Example) -> None:
    app.selectbox(key="example").set_value(example.key).run()
    assert not app.exception and not app.error
    assert program_text(app) == example.code
    assert app.selectbox(key="example").value == example.key  # the box names it
    assert any(example.title in c.value for c in app.caption)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = run_plain(example.code).namespace
    shown = "\n".join(c.value for c in app.code)
    if printed.getvalue().strip():
        assert printed.getvalue().rstrip("\n") in shown
    text = " ".join(dot_text(app).split())
    rows = expected_rows(namespace)
    for row in rows:
        assert " ".join(row.split()) in text, f"{example.key}: {row!r} not in the graph"
    assert rows or printed.getvalue()
