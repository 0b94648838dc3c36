"""Accumulation, replayed button actions, cuts and vector-Jacobian products, against PyTorch."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.autograd.functional import jacobian

import gradviz
from gradviz.gallery import by_key
from gradviz.model.graph import Graph
from gradviz.model.values import TensorValue
from gradviz.teach.accumulation import accumulation, can_repeat
from gradviz.teach.cuts import cuts
from gradviz.teach.vjp import jacobian_fills, one_hot, vjps
from tests.oracle import accumulate_in_torch, polynomial_refused_again, run_plain

TUTORIALS = Path(__file__).parents[1] / "programs" / "tutorials"


def line_of(source: str, text: str) -> int:
    """The 1-based line of the program holding ``text`` (so tests never hard-code it)."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def as_tensor(value: TensorValue | list[float] | None) -> torch.Tensor:
    assert value is not None
    data = value.data if isinstance(value, TensorValue) else value
    return torch.tensor(data, dtype=torch.float64)


def grads_of(graph: Graph, name: str) -> list[TensorValue | None]:
    (leaf,) = graph.find(name)
    table = accumulation(graph)
    return [row.grads.get(leaf.id) for row in table.rows]


def assert_same(shown: TensorValue | list[float] | None, expected: torch.Tensor) -> None:
    got = as_tensor(shown)
    torch.testing.assert_close(got.reshape(expected.shape), expected.double())


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
    assert_same(grads_of(graph, "x")[1], x.grad)


def test_autograd_grad_only_has_nothing_to_repeat() -> None:
    graph = gradviz.run(by_key("autograd_grad").code, actions=("backward",))
    assert not can_repeat(graph)
    assert accumulation(graph).rows == []
    assert any(n.kind == "button" and "no backward() call" in n.text for n in graph.notes)


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


# -- vector-Jacobian products -----------------------------------------------------------------
def test_vector_backward_v_j_and_vtj_are_torchs() -> None:
    graph = gradviz.run(by_key("vector_backward").code)
    (item,) = vjps(graph)
    x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    weights = torch.tensor([1.0, 0.1, 0.01])
    J = jacobian(lambda t: 2 * (t + 2) ** 2, x.detach())
    z = 2 * (x + 2) ** 2
    z.backward(weights)
    assert_same(item.v, weights)
    assert_same(item.jacobian, J)  # type: ignore[arg-type]
    assert_same(item.product, weights @ J)
    assert_same(item.autograd, x.grad)
    assert item.matches is True
    line = line_of(by_key("vector_backward").code, "z.backward(weights)")
    assert item.title == f"line {line} · z.backward(gradient=v) → x.grad"


def test_grad_outputs_example_both_calls() -> None:
    graph = gradviz.run(by_key("grad_outputs").code)
    first, second = vjps(graph)
    x = torch.tensor([[1.0], [2.0]], requires_grad=True)
    W = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    J = jacobian(lambda t: W @ t, x.detach()).reshape(2, 2)
    y = W @ x
    for item, v in ((first, torch.tensor([[1.0], [0.0]])), (second, torch.ones(2, 1))):
        (expected,) = torch.autograd.grad(y, x, grad_outputs=v, retain_graph=True)
        assert_same(item.v, v.reshape(-1))
        assert_same(item.jacobian, J)  # type: ignore[arg-type]
        assert_same(item.product, v.reshape(-1) @ J)
        assert_same(item.autograd, expected.reshape(-1))
        assert item.matches is True and item.kind == "grad"


def test_second_backward_with_v_compares_the_increase_of_grad() -> None:
    source = (TUTORIALS / "t003a_vector_backward.py").read_text()
    graph = gradviz.run(source)
    (item,) = vjps(graph)
    x = run_plain(source).namespace["x"]
    x0 = x.detach()
    J = jacobian(lambda t: (t + 2) ** 2 * 2, x0)
    assert_same(item.jacobian, J)  # type: ignore[arg-type]
    assert_same(item.product, torch.ones(3) @ J)
    # What the second backward added: x.grad after it minus after the first.
    first = torch.autograd.grad(((x0.requires_grad_() + 2) ** 2 * 2).mean(), x0)[0]
    assert_same(item.autograd, x.grad - first)
    assert item.matches is True


def test_matrix_and_vector_leaves_each_get_their_jacobian() -> None:
    source = """
import torch
W = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
x = torch.tensor([0.5, -1.0], requires_grad=True)
y = W @ x
y.backward(torch.tensor([1.0, 2.0]))
"""
    items = {item.ends.leaf_label: item for item in vjps(gradviz.run(source))}
    W0, x0, v = (
        torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
        torch.tensor([0.5, -1.0]),
        torch.tensor([1.0, 2.0]),
    )
    J_W = jacobian(lambda w: w @ x0, W0).reshape(2, 4)
    J_x = jacobian(lambda t: W0 @ t, x0)
    assert_same(items["W"].jacobian, J_W)  # type: ignore[arg-type]
    assert_same(items["x"].jacobian, J_x)  # type: ignore[arg-type]
    assert_same(items["W"].autograd, (v @ J_W))
    assert_same(items["x"].autograd, (v @ J_x))
    assert items["W"].matches is True and items["x"].matches is True


def test_no_vjp_for_scalar_backward() -> None:
    assert vjps(gradviz.run(by_key("multistep").code)) == []


def test_one_hot_detection() -> None:
    def value(data: list[float]) -> TensorValue:
        return TensorValue(shape=[len(data)], dtype="float32", data=data)

    assert one_hot(value([0.0, 1.0, 0.0])) == 1
    assert one_hot(value([1.0])) == 0
    assert one_hot(value([1.0, 1.0])) is None
    assert one_hot(value([0.0, 0.5])) is None
    assert one_hot(value([0.0, 0.0])) is None


def test_tutorial_jacobian_columns_fill_jacobian_rows_in_order() -> None:
    source = (TUTORIALS / "t002e_jacobian_columns.py").read_text()
    graph = gradviz.run(source)
    (fill,) = jacobian_fills(graph)
    space = run_plain(source).namespace
    w1, x = space["w1"], space["x"].detach()
    J = jacobian(lambda t: w1 @ t, x).reshape(2, 2)
    assert fill.filled == [0, 1] and fill.complete and fill.matches is True
    assert fill.ends.root_label == "y" and fill.ends.leaf_label == "x"
    after_one = fill.matrix_after(1)
    assert_same(after_one[0], J[0])  # type: ignore[arg-type]
    assert after_one[1] == [None, None]
    assert_same(fill.matrix_after(2), J)  # type: ignore[arg-type]
    # The program's own jacT holds the same numbers as columns: Jᵀ.
    torch.testing.assert_close(space["jacT"], J.T)


def test_backward_loop_with_zeroing_fills_the_jacobian_too() -> None:
    source = """
import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x ** 2 + x.sum()
for i in range(3):
    e = torch.zeros(3)
    e[i] = 1.0
    y.backward(e, retain_graph=True)
    print(x.grad)
    x.grad.zero_()
"""
    (fill,) = jacobian_fills(gradviz.run(source))
    J = jacobian(lambda t: t**2 + t.sum(), torch.tensor([1.0, 2.0, 3.0]))
    assert fill.filled == [0, 1, 2] and fill.complete and fill.matches is True
    assert_same(fill.matrix_after(3), J)  # type: ignore[arg-type]


def test_a_single_one_hot_call_is_no_fill() -> None:
    assert jacobian_fills(gradviz.run(by_key("grad_outputs").code)) == []
