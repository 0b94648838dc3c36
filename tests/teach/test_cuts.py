"""Where tracking stopped (no_grad, detach, requires_grad_(False), .data), line by line."""

from __future__ import annotations

import torch

import gradviz
from gradviz.gallery import by_key
from gradviz.teach.cuts import cuts
from tests.teach.helpers import TUTORIALS, line_of


# -- cuts -----------------------------------------------------------------------------------
def test_stop_tracking_example_lists_each_cut_at_its_line() -> None:
    source = by_key("stop_tracking").code
    found = cuts(gradviz.run(source))
    assert [(c.how, c.line) for c in found] == [
        ("detach", line_of(source, "x.detach()")),
        ("no_grad", line_of(source, "quiet = x * 2")),
        ("requires_grad_off", line_of(source, "b.requires_grad_(False)")),
    ]
    detach, quiet, b = found
    # Plain PyTorch: detach shares storage; neither no_grad's result nor b is tracked.
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.detach().data_ptr() == x.data_ptr()
    assert detach.shared_storage and "shares storage with `x`" in detach.note()
    assert detach.sources == ["x"] and detach.what == "x.detach()"
    with torch.no_grad():
        assert not (x * 2).requires_grad
    assert quiet.what == "quiet" and quiet.sources == ["x"] and not quiet.shared_storage
    assert b.what == "b" and b.sources == []


def test_tutorial_stop_tracking_cuts() -> None:
    source = (TUTORIALS / "t003b_stop_tracking.py").read_text()
    found = cuts(gradviz.run(source))
    assert [(c.what, c.how, c.line) for c in found] == [
        ("x", "requires_grad_off", line_of(source, "x.requires_grad_(False)")),
        ("x_new", "detach", line_of(source, "x.detach()")),
        ("y", "no_grad", line_of(source, "y = x*2")),
    ]


def test_attribute_switch_and_data_are_cuts_too() -> None:
    source = """
import torch
w = torch.ones(2, requires_grad=True)
w.requires_grad = False
x = torch.ones(2, requires_grad=True)
d = x.data
"""
    found = cuts(gradviz.run(source))
    assert [(c.what, c.how, c.line) for c in found] == [
        ("w", "requires_grad_off", line_of(source, "w.requires_grad = False")),
        ("d", "data", line_of(source, "d = x.data")),
    ]
    x = torch.ones(2, requires_grad=True)
    assert x.data.data_ptr() == x.data_ptr() and found[1].shared_storage


def test_no_cuts_in_a_fully_tracked_program() -> None:
    assert cuts(gradviz.run(by_key("diamond").code)) == []
