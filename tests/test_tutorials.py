"""The tutorials' programs, as printed, give the tutorials' numbers in the Graph."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.model.graph import Graph, Node
from tests.optional import present
from tests.oracle import tensor_of

PROGRAMS = Path(__file__).parent / "programs" / "tutorials"


def program(name: str) -> str:
    return (PROGRAMS / name).read_text()


def last(graph: Graph, name: str) -> Node:
    found = graph.find(name)
    assert found, f"no node named {name}"
    return found[-1]


def data(value: object) -> torch.Tensor:
    return tensor_of(value)


def test_t000_o_is_20_and_x_grad_is_10() -> None:
    graph = gradviz.run(program("t000_gradients.py"))
    assert present(last(graph, "o").value).data == pytest.approx(20.0)
    assert present(last(graph, "x").grad).data == pytest.approx([10.0, 10.0])
    assert "True\nTrue\nTrue\n" in graph.stdout


def test_t001a_polynomial_63_and_93() -> None:
    graph = gradviz.run(program("t001a_polynomial.py"))
    assert present(last(graph, "y").value).data == pytest.approx(63.0)
    assert present(last(graph, "x").grad).data == pytest.approx(93.0)
    assert graph.stdout == "tensor(63., grad_fn=<AddBackward0>)\ntensor(93.)\n"


def test_t001b_multistep_140() -> None:
    graph = gradviz.run(program("t001b_multistep.py"))
    assert present(last(graph, "out").value).data == pytest.approx(140.0)
    assert present(last(graph, "x").grad).data == [[10, 16, 22], [22, 16, 10]]


def test_t002a_accumulation_1_2_3_4_then_zeros() -> None:
    graph = gradviz.run(program("t002a_accumulate.py"))
    (w,) = graph.find("w")
    backward = [e for e in graph.events if e.kind == "backward"]
    assert [present(e.leaf_grads[w.id]).data for e in backward] == [
        [float(k)] * 5 for k in (1, 2, 3, 4)
    ]
    zeroing = [e for e in graph.events if e.kind == "zero_grad"]
    assert len(zeroing) == 1 and present(zeroing[0].leaf_grads[w.id]).data == [0.0] * 5
    assert graph.events[-1].kind == "zero_grad"


def test_t002b_autograd_grad_shows_the_result_without_accumulating() -> None:
    graph = gradviz.run(program("t002b_autograd_grad.py"))
    (w,) = graph.find("w")
    (call,) = graph.backward_calls
    assert call.kind == "grad" and call.inputs == (w.id,)
    assert present(call.results[0]).data == pytest.approx([1.0] * 5)
    assert "grad_not_accumulated" in w.flags
    assert w.grad is None  # as torch's: the returned gradient is the call's result, not .grad
    assert graph.result is not None and graph.result.startswith("(tensor([1., 1., 1., 1., 1.])")


def test_t002c_jacobian_of_log_and_hessian_of_sqrt_sum() -> None:
    graph = gradviz.run(program("t002c_jacobian_hessian.py"))
    inputs = [n for n in graph.nodes if n.name == "inputs"]
    assert len(inputs) == 2
    first, second = (data(n.value) for n in inputs)
    jac_text = graph.echoes[0][1]
    expected_jac = torch.diag((1 / first).flatten()).reshape(2, 2, 2, 2)
    jac = torch.autograd.functional.jacobian(torch.log, first)
    torch.testing.assert_close(jac, expected_jac)
    assert jac_text == repr(jac.float())
    hess = torch.autograd.functional.hessian(lambda t: torch.sqrt(t).sum(), second.float())
    expected_hess = torch.diag((-(second**-1.5) / 4).flatten()).reshape(2, 2, 2, 2)
    torch.testing.assert_close(hess.double(), expected_hess, rtol=1e-4, atol=1e-5)
    assert graph.result == repr(hess)


def test_t002d_typo_is_a_syntax_error_at_line_5() -> None:
    with pytest.raises(gradviz.ProgramSyntaxError) as caught:
        gradviz.run(program("t002d_jacobian_columns_typo.py"))
    assert caught.value.line == 5
    assert str(caught.value).startswith("5:")


def test_t002e_jacobian_columns_make_w1_transposed() -> None:
    graph = gradviz.run(program("t002e_jacobian_columns.py"))
    w1 = data(last(graph, "w1").value)
    jac_t = data(last(graph, "jacT").value)
    torch.testing.assert_close(jac_t, w1.T)  # column i is the gradient of y[i]: row i of J
    grads = [c for c in graph.backward_calls if c.kind == "grad"]
    assert [present(c.gradient[0]).data for c in grads] == [[[1.0], [0.0]], [[0.0], [1.0]]]


def test_t002f_grad_outputs_with_create_graph() -> None:
    graph = gradviz.run(program("t002f_grad_outputs_create_graph.py"))
    w1 = data(last(graph, "w1").value)
    (call,) = graph.backward_calls
    assert call.create_graph
    torch.testing.assert_close(data(call.results[0]), w1.sum(0).reshape(2, 1))
    assert call.result_nodes[0] is not None


def test_t003a_vector_backward_accumulates_into_x_grad() -> None:
    graph = gradviz.run(program("t003a_vector_backward.py"))
    x = data(last(graph, "x").value)
    expected = 4 * (x + 2) / 3 + 4 * (x + 2)
    torch.testing.assert_close(data(last(graph, "x").grad), expected, rtol=1e-5, atol=1e-5)
    assert [c.kind for c in graph.backward_calls] == ["backward", "backward"]


def test_t003b_stopped_tracking() -> None:
    graph = gradviz.run(program("t003b_stop_tracking.py"))
    flags = {f for n in graph.nodes for f in n.flags}
    assert {"requires_grad_off", "detached", "no_grad"} <= flags
    assert graph.find("x_new")[0].kind == "constant"
    assert graph.find("y")[0].kind == "constant"


def test_t003c_accumulate_loop_prints_threes_and_zeroes() -> None:
    graph = gradviz.run(program("t003c_accumulate_loop.py"))
    assert graph.stdout == "tensor([3., 3., 3., 3.])\n" * 3
    kinds = [e.kind for e in graph.events]
    assert kinds == ["backward", "zero_grad"] * 3


def test_t003d_sgd_steps_1_097_094_091() -> None:
    graph = gradviz.run(program("t003d_sgd.py"))
    (x,) = graph.find("x")
    steps = [e for e in graph.events if e.kind == "step"]
    assert [present(e.leaf_values[x.id].data)[0] for e in steps] == pytest.approx(
        [0.97, 0.94, 0.91]
    )
    calls = [c for c in graph.backward_calls]
    assert [present(c.leaf_values[x.id].data)[0] for c in calls] == pytest.approx([1.0, 0.97, 0.94])
    assert "x: tensor([0.9100, 0.9100, 0.9100, 0.9100], requires_grad=True)" in graph.stdout
