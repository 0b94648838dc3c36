"""Backward step by step, the chain rule with numbers, forward order, gradient history."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import torch

import gradviz
from gradviz.gallery import EXAMPLES, by_key
from gradviz.model.values import TensorValue
from gradviz.teach.chain_rule import (
    ChainRule,
    Unavailable,
    chain_rule,
    explain_chain_rule,
    leaves_of,
)
from gradviz.teach.stepper import (
    backward_steps,
    forward_order,
    grad_history,
    graph_at_step,
    graph_upto,
)
from tests.optional import present

MULTISTEP = """
import torch
x = torch.tensor([[1.,2,3],[3,2,1]], requires_grad=True)
y = 3*x + 2
z = 2*y**2
out = z.mean()
out.backward()
"""


def test_steps_follow_the_engine_and_colour_edges_as_they_go() -> None:
    graph = gradviz.run(MULTISTEP)
    steps = backward_steps(graph)
    (call,) = graph.backward_calls
    assert tuple(s.node for s in steps) == call.order
    assert steps[0].node == call.root and present(steps[0].grad_in).data == 1.0
    assert len(steps[-1].traversed) == len([e for e in graph.edges if e.kind == "grad"])
    assert all(a.traversed <= b.traversed for a, b in itertools.pairwise(steps))


def test_each_step_sends_what_torch_computes() -> None:
    graph = gradviz.run(MULTISTEP)
    (x,) = graph.find("x")
    (z,) = graph.find("z")
    step = next(s for s in backward_steps(graph) if s.node == z.id)
    x_t = torch.tensor([[1.0, 2, 3], [3, 2, 1]])
    # z = 2 * p where p = y**2: the local derivative towards p is the constant 2.
    assert present(step.sends[0].local).data == [[2.0] * 3] * 2
    torch.testing.assert_close(
        torch.tensor(present(step.sends[0].grad).data), torch.full((2, 3), 2 / 6), check_dtype=False
    )
    last = backward_steps(graph)[-1]
    assert last.node == x.id and last.sends == []
    y_t = 3 * x_t + 2
    pow_step = next(s for s in backward_steps(graph) if graph.node(s.node).label == "pow")
    torch.testing.assert_close(
        torch.tensor(present(pow_step.sends[0].local).data), (2 * y_t).float()
    )


def test_chain_rule_for_the_tutorials_out_is_10_at_x_1() -> None:
    graph = gradviz.run(MULTISTEP)
    (x,) = graph.find("x")
    rule = chain_rule(graph, x.id, index=0)
    assert rule is not None
    assert rule.total == pytest.approx(10.0) and rule.autograd == pytest.approx(10.0)
    factors = [t.factor for t in rule.paths[0]]
    # mean: 1/6, z = 2p: 2, p = y²: 2y = 10, y = 3x + 2: 1 (add) and 3 (mul)
    assert factors == pytest.approx([1 / 6, 2.0, 10.0, 1.0, 3.0])
    assert rule.text(3) == (
        "∂out/∂x[0, 0] = 1/6 (out = mean) · 2 (z = mul) · 10 (pow) · 1 (y = add) · 3 (mul) = 10"
    )
    third = chain_rule(graph, x.id, index=2)
    assert third is not None
    assert third.total == pytest.approx(22.0)


def test_chain_rule_sums_over_the_two_paths_of_a_diamond() -> None:
    graph = gradviz.run(
        "import torch\na = torch.tensor(0.5, requires_grad=True)\nb = a * 3\nc = a.exp()\n"
        "d = b * c\nd.backward()\n"
    )
    (a,) = graph.find("a")
    rule = chain_rule(graph, a.id)
    assert rule is not None and len(rule.paths) == 2
    a_t = torch.tensor(0.5, requires_grad=True)
    (a_t * 3 * a_t.exp()).backward()
    assert a_t.grad is not None
    assert rule.total == pytest.approx(a_t.grad.item())


def test_forward_order_is_creation_order() -> None:
    graph = gradviz.run(MULTISTEP)
    order = [graph.node(i).name for i in forward_order(graph)]
    named = [n for n in order if n]
    assert named == ["x", "y", "z", "out"]


def test_grad_history_shows_accumulation_then_zeroing() -> None:
    graph = gradviz.run(
        "import torch\nw = torch.ones(2, requires_grad=True)\nfor i in range(3):\n"
        "    (w * 2).sum().backward()\nw.grad.zero_()\n"
    )
    (w,) = graph.find("w")
    history = grad_history(graph, w.id)
    assert [h[1] for h in history] == ["backward"] * 3 + ["zero_grad"]
    assert [present(h[3]).data for h in history] == [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0], [0.0, 0.0]]
    assert history[-1][2] == 5


def _recorder(order: list[str], name: str) -> Callable[[object], None]:
    return lambda _: order.append(name)


def _engine_order(root: torch.Tensor) -> list[str]:
    """grad_fn class names in the order plain PyTorch's engine runs them (its own hooks)."""
    assert root.grad_fn is not None
    order: list[str] = []
    seen: set[torch.autograd.graph.Node] = set()
    todo: list[torch.autograd.graph.Node | None] = [root.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        node.register_prehook(_recorder(order, type(node).__name__))
        todo.extend(n for n, _ in node.next_functions)
    root.backward()
    return order


def test_step_order_is_the_order_torchs_engine_reports() -> None:
    graph = gradviz.run(DIAMOND)
    a = torch.tensor([1.5, -2.0], requires_grad=True)
    expected = _engine_order((a * 3 * a.exp()).sum())
    assert [graph.node(s.node).op or "AccumulateGrad" for s in backward_steps(graph)] == expected


DIAMOND = """
import torch
a = torch.tensor([1.5, -2.0], requires_grad=True)
b = a * 3
c = a.exp()
d = (b * c).sum()
d.backward()
"""


def test_local_derivatives_are_each_ops_own_derivative() -> None:
    graph = gradviz.run(DIAMOND)
    a = torch.tensor([1.5, -2.0], dtype=torch.float64)
    b, c = (a * 3).requires_grad_(), a.exp().requires_grad_()
    # Each op alone, differentiated by torch at the program's values.
    d_bc = torch.autograd.grad((b * c).sum(), [b, c])
    a_ = a.clone().requires_grad_()
    expected = {
        ("mul", None, 0): d_bc[0],
        ("mul", None, 1): d_bc[1],
        ("mul", "b", 0): torch.autograd.grad((a_ * 3).sum(), a_)[0],
        ("exp", "c", 0): torch.autograd.grad(a_.exp().sum(), a_)[0],
        ("sum", "d", 0): torch.ones(2, dtype=torch.float64),
    }
    shown = {
        (graph.node(step.node).label, graph.node(step.node).name, send.position): send.local
        for step in backward_steps(graph)
        for send in step.sends
        if send.grad is not None
    }
    assert shown.keys() == expected.keys()
    for key, truth in expected.items():
        torch.testing.assert_close(tensor_of(shown[key]), truth, rtol=1e-6, atol=1e-6)


def test_a_matrix_product_gets_no_elementwise_derivative_and_no_chain_rule() -> None:
    graph = gradviz.run(
        "import torch\nW = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
        "x = torch.tensor([[0.5, -1.], [2., 1.]], requires_grad=True)\n"
        "loss = (x @ W).sum() + (x * x).sum()\nloss.backward()\n"
    )
    mm = next(s for s in backward_steps(graph) if graph.node(s.node).op == "MmBackward0")
    # Square shapes: the ratio exists but is not a derivative, so it is not offered.
    assert all(s.local is None and "mixes elements" in (s.reason or "") for s in mm.sends)
    (W,) = graph.find("W")
    (x,) = graph.find("x")
    assert "mixes elements" in unavailable(explain_chain_rule(graph, W.id))
    assert "mixes elements" in unavailable(explain_chain_rule(graph, x.id))  # x also feeds mm


def test_chain_rule_ignores_branches_that_do_not_reach_the_leaf() -> None:
    graph = gradviz.run(
        "import torch\nW = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
        "b = torch.tensor([0.5, -1.], requires_grad=True)\n"
        "loss = (W @ W).sum() + (b * b).mean()\nloss.backward()\n"
    )
    (b,) = graph.find("b")
    b_t = torch.tensor([0.5, -1.0], requires_grad=True)
    W_t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ((W_t @ W_t).sum() + (b_t * b_t).mean()).backward()
    assert b_t.grad is not None
    for i in range(2):
        rule = chain_rule(graph, b.id, index=i)
        assert rule is not None and len(rule.paths) == 2  # b * b: two paths
        assert rule.total == pytest.approx(b_t.grad[i].item())
        assert rule.autograd == pytest.approx(b_t.grad[i].item())


def test_chain_rule_starts_from_the_gradient_given_to_a_vector_root() -> None:
    graph = gradviz.run(
        "import torch\nx = torch.tensor([1., -1., .5], requires_grad=True)\ny = x ** 3\n"
        "y.backward(torch.tensor([0.1, 1., 10.]))\n"
    )
    (x,) = graph.find("x")
    x_t = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    v = torch.tensor([0.1, 1.0, 10.0])
    (x_t**3).backward(v)
    assert x_t.grad is not None
    for i in range(3):
        rule = chain_rule(graph, x.id, index=i)
        assert rule is not None
        assert rule.paths[0][0].label == "gradient given"
        assert rule.paths[0][0].factor == pytest.approx(v[i].item())
        assert rule.total == pytest.approx(x_t.grad[i].item())


def test_chain_rule_for_autograd_grad_compares_with_the_returned_gradient() -> None:
    graph = gradviz.run(
        "import torch\nw = torch.tensor([0.5, 2.], requires_grad=True)\n"
        "s = (w ** 2).sum()\ng = torch.autograd.grad(s, w)[0]\n"
    )
    (w,) = graph.find("w")
    w_t = torch.tensor([0.5, 2.0], requires_grad=True)
    (g_t,) = torch.autograd.grad((w_t**2).sum(), w_t)
    assert leaves_of(graph, 0) == [w.id]
    rule = chain_rule(graph, w.id, index=1)
    assert rule is not None and rule.stored is None
    assert rule.total == pytest.approx(g_t[1].item()) and rule.autograd == rule.total


def test_recorded_gradients_are_not_changed_by_later_accumulation_or_zero_grad() -> None:
    graph = gradviz.run(
        "import torch\nw = torch.tensor([1., 2.], requires_grad=True)\n"
        "total = (3 * w).sum()\nfor i in range(2):\n    total.backward(retain_graph=True)\n"
        "w.grad.zero_()\n"
    )
    (w,) = graph.find("w")
    w_t = torch.tensor([1.0, 2.0], requires_grad=True)
    (3 * w_t).sum().backward()
    assert w_t.grad is not None
    for call in range(2):
        leaf_step = backward_steps(graph, call)[-1]
        assert leaf_step.node == w.id
        torch.testing.assert_close(tensor_of(leaf_step.grad_in), w_t.grad.double())
        sender = backward_steps(graph, call)[-2].sends[0]
        torch.testing.assert_close(tensor_of(sender.grad), w_t.grad.double())
    assert present(graph.backward_calls[1].leaf_grads[w.id]).data == (2 * w_t.grad).tolist()


def test_graph_at_step_shows_only_what_has_arrived_so_far() -> None:
    graph = gradviz.run(MULTISTEP)
    (call,) = graph.backward_calls
    x = torch.tensor([[1.0, 2, 3], [3, 2, 1]], requires_grad=True)
    y = 3 * x + 2
    y.retain_grad()
    (2 * y**2).mean().backward()
    (y_node,) = graph.find("y")
    at = call.order.index(y_node.id)
    before = graph_at_step(graph, 0, at - 1).by_id
    after = graph_at_step(graph, 0, at).by_id
    assert before[y_node.id].grad is None
    assert y.grad is not None
    torch.testing.assert_close(tensor_of(after[y_node.id].grad), y.grad.double())
    assert sum(n.grad is not None for n in after.values()) == at + 1


def test_graph_upto_keeps_the_first_k_nodes_and_their_edges() -> None:
    graph = gradviz.run(MULTISTEP)
    order = forward_order(graph)
    for k in range(1, len(order) + 1):
        part = graph_upto(graph, order, k)
        assert [n.id for n in part.nodes] == [n for n in order[:k]]
        assert len(part.edges) == k - 1  # a chain: each new node hangs on the previous one
        assert part.backward_calls == graph.backward_calls  # the calls stay for the details


@pytest.mark.parametrize("key", [e.key for e in EXAMPLES])
def test_every_gallery_step_is_consistent_and_every_chain_rule_agrees(key: str) -> None:
    graph = gradviz.run(by_key(key).code)
    for call in range(len(graph.backward_calls)):
        for step in backward_steps(graph, call):
            for send in step.sends:
                if send.local is None or step.grad_in is None:
                    continue  # sent = arriving × local wherever the local derivative is given
                arriving = tensor_of(step.grad_in)
                torch.testing.assert_close(
                    tensor_of(send.local) * arriving, tensor_of(send.grad), rtol=1e-5, atol=1e-6
                )
        for leaf in leaves_of(graph, call):
            rule = explain_chain_rule(graph, leaf, 0, call)
            if isinstance(rule, ChainRule):
                assert rule.autograd is not None
                assert rule.total == pytest.approx(rule.autograd, rel=1e-4, abs=1e-6)


def unavailable(rule: ChainRule | Unavailable) -> str:
    """Why no chain rule is written out (failing if one is)."""
    assert isinstance(rule, Unavailable), rule
    return rule.reason


def tensor_of(value: TensorValue | None) -> torch.Tensor:
    assert value is not None and value.data is not None
    return torch.tensor(value.data, dtype=torch.float64)


def test_a_broadcast_says_so_instead_of_mixing() -> None:
    graph = gradviz.run(
        "import torch\nb = torch.tensor([0.5, -1., 2.], requires_grad=True)\n"
        "x = torch.ones(2, 3)\nloss = (x + b).sum()\nloss.backward()\n"
    )
    (b,) = graph.find("b")
    add = next(s for s in backward_steps(graph) if graph.node(s.node).op == "AddBackward0")
    (to_b,) = [s for s in add.sends if s.to == b.id]
    assert to_b.local is None and "broadcast this input (shape [3] to [2, 3])" in str(to_b.reason)
    assert "do not line up one to one with b's (3)" in unavailable(explain_chain_rule(graph, b.id))
