"""Vector-Jacobian products and Jacobians filled call by call, against PyTorch."""

from __future__ import annotations

import torch
from torch.autograd.functional import jacobian

import gradviz
from gradviz.gallery import by_key
from gradviz.model.values import TensorValue
from gradviz.teach.vjp import jacobian_fills, one_hot, vjps
from tests.oracle import run_plain
from tests.teach.helpers import TUTORIALS, assert_same, line_of


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
    assert x.grad is not None
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
        return TensorValue(shape=(len(data),), dtype="float32", data=data)

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
