"""Accumulation and the replayed buttons (backward again, zero grad), against PyTorch."""

from __future__ import annotations

import torch

import gradviz
from gradviz.gallery import by_key
from gradviz.model.graph import Graph
from gradviz.model.values import TensorValue
from gradviz.teach.accumulation import accumulation, can_repeat
from tests.oracle import accumulate_in_torch, polynomial_refused_again, run_plain
from tests.teach.helpers import TUTORIALS, assert_same, line_of


def grads_of(graph: Graph, name: str) -> list[TensorValue | None]:
    (leaf,) = graph.find(name)
    table = accumulation(graph)
    return [row.grads.get(leaf.id) for row in table.rows]


# -- accumulation ---------------------------------------------------------------------------
def test_accumulate_example_rows_are_2_4_6_then_0() -> None:
    source = by_key("accumulate").code
    graph = gradviz.run(source)
    _, _, expected = accumulate_in_torch()
    shown = grads_of(graph, "w")
    assert len(shown) == len(expected) == 4
    for got, want in zip(shown, expected, strict=True):
        assert_same(got, want)
    rows = accumulation(graph).rows
    backward_line = line_of(source, "total.backward(")
    assert [r.label for r in rows] == [f"line {backward_line} · backward()"] * 3 + [
        f"line {line_of(source, 'w.grad.zero_()')} · zero grad"
    ]
    assert not any(r.button for r in rows)


def test_leaves_sharing_a_name_are_told_apart_by_line_never_by_id() -> None:
    source = """import torch
w = torch.ones(2, requires_grad=True)
(w * 2).sum().backward()
first = w
w = torch.ones(2, requires_grad=True)
(w * 3).sum().backward()
"""
    graph = gradviz.run(source)
    leaves = accumulation(graph).leaves
    assert [leaf.label for leaf in leaves] == ["w, line 2", "w, line 5"]
    assert [graph.node(leaf.node).line for leaf in leaves] == [2, 5]


def test_button_actions_add_rows_after_the_program_like_torch() -> None:
    source = by_key("accumulate").code
    graph = gradviz.run(source, actions=("backward", "backward", "zero_grad", "backward"))
    w = torch.randn(4, requires_grad=True)
    total = (2 * w).sum()
    for _ in range(3):
        total.backward(retain_graph=True)
    assert w.grad is not None
    w.grad.zero_()
    expected = []
    for action in ("backward", "backward", "zero_grad", "backward"):
        if action == "backward":
            total.backward(retain_graph=True)
        else:
            w.grad.zero_()
        expected.append(w.grad.clone())
    rows = accumulation(graph).rows
    assert [r.button for r in rows] == [False] * 4 + [True] * 4
    assert [r.label for r in rows[4:]] == [
        "button · backward again",
        "button · backward again",
        "button · zero grad",
        "button · backward again",
    ]
    for got, want in zip(grads_of(graph, "w")[4:], expected, strict=True):
        assert_same(got, want)
    (leaf,) = graph.find("w")
    assert_same(leaf.grad, w.grad)  # the drawn graph shows .grad after the presses
    assert [c.origin for c in graph.backward_calls] == [None] * 3 + ["button"] * 3
    assert all(c.line is None for c in graph.backward_calls[3:])
    assert not graph.notes


def test_tutorial_accumulation_1_2_3_4_then_zero() -> None:
    source = (TUTORIALS / "t002a_accumulate.py").read_text()
    graph = gradviz.run(source)
    w = run_plain(source).namespace["w"]
    ones = torch.ones_like(w)
    expected = [ones * k for k in (1, 2, 3, 4)] + [torch.zeros_like(w)]
    for got, want in zip(grads_of(graph, "w"), expected, strict=True):
        assert_same(got, want)


def test_optimizer_zero_grad_shows_none_between_backwards() -> None:
    source = by_key("sgd").code
    graph = gradviz.run(source)
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    expected: list[torch.Tensor | None] = []
    for _ in range(3):
        had = x.grad is not None
        opt.zero_grad()
        if had:
            expected.append(x.grad)  # None: set_to_none is the default
        (x**2).sum().backward()
        expected.append(None if x.grad is None else x.grad.clone())
        opt.step()
    shown = grads_of(graph, "x")
    assert len(shown) == len(expected)
    for got, want in zip(shown, expected, strict=True):
        if want is None:
            assert got is None
        else:
            assert_same(got, want)


def test_refused_backward_keeps_the_graph_and_says_why() -> None:
    source = by_key("polynomial").code
    plain = gradviz.run(source)
    pressed = gradviz.run(source, actions=("backward",))
    x, reason = polynomial_refused_again()
    (note,) = [n for n in pressed.notes if n.kind == "button"]
    assert reason in note.text and "retain_graph=True" in note.text
    assert x.grad is not None
    assert_same(pressed.find("x")[0].grad, x.grad)
    # Everything but the note is the graph of the program as written.
    kept, before = pressed.to_dict(), plain.to_dict()
    assert kept.pop("notes") == [*before.pop("notes"), {"kind": "button", "text": note.text}]
    assert kept == before


PARTIAL = """
import torch
x = torch.tensor([1.0, 2.0], requires_grad=True)
a = (x * 3).sum()
b = (x ** 2).sum()
loss = a + b
loss.backward()
"""


def test_refused_backward_leaves_no_partial_accumulation() -> None:
    graph = gradviz.run(PARTIAL, actions=("backward", "zero_grad"))
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * 3).sum() + (x**2).sum()
    loss.backward()
    once = x.grad.clone() if x.grad is not None else None
    assert once is not None
    shown = grads_of(graph, "x")
    assert len(shown) == 2  # the program's backward, then the zeroing; the refusal added none
    assert_same(shown[0], once)
    assert_same(shown[1], torch.zeros(2))
    assert any(n.kind == "button" for n in graph.notes)


def test_backward_again_repeats_the_given_gradient() -> None:
    source = """
import torch
x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
z = x * torch.tensor([2.0, 3.0, 4.0])
z.backward(torch.tensor([1.0, 0.1, 0.01]), retain_graph=True)
"""
    graph = gradviz.run(source, actions=("backward",))
    x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    z = x * torch.tensor([2.0, 3.0, 4.0])
    v = torch.tensor([1.0, 0.1, 0.01])
    z.backward(v, retain_graph=True)
    z.backward(v, retain_graph=True)
    assert x.grad is not None
    assert_same(grads_of(graph, "x")[-1], x.grad)


def test_auto_backward_then_button_keeps_the_auto_label() -> None:
    source = "import torch\nx = torch.tensor([3.0, 4.0], requires_grad=True)\ny = x.sum()\n"
    graph = gradviz.run(source, actions=("backward", "zero_grad"))
    assert [c.kind for c in graph.backward_calls] == ["auto", "backward"]
    assert [r.label for r in accumulation(graph).rows] == [
        "auto · backward()",
        "button · backward again",
        "button · zero grad",
    ]
    x = torch.tensor([3.0, 4.0], requires_grad=True)
    y = x.sum()
    y.backward()
    y.backward()  # sum saves no tensor: a second pass needs no retained graph
    assert x.grad is not None
    assert_same(grads_of(graph, "x")[1], x.grad)


def test_autograd_grad_only_has_nothing_to_repeat() -> None:
    graph = gradviz.run(by_key("autograd_grad").code, actions=("backward",))
    assert not can_repeat(graph)
    assert accumulation(graph).rows == []
    assert any(n.kind == "button" and "no backward() call" in n.text for n in graph.notes)
