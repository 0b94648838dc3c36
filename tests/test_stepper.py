"""Backward step by step, the chain rule with numbers, forward order, gradient history."""

from __future__ import annotations

import itertools

import pytest
import torch

import gradviz
from gradviz.teach.stepper import backward_steps, chain_rule, forward_order, grad_history

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
    assert [s.node for s in steps] == call.order
    assert steps[0].node == call.root and steps[0].grad_in.data == 1.0
    assert len(steps[-1].traversed) == len([e for e in graph.edges if e.kind == "grad"])
    assert all(a.traversed <= b.traversed for a, b in itertools.pairwise(steps))


def test_each_step_sends_what_torch_computes() -> None:
    graph = gradviz.run(MULTISTEP)
    (x,) = graph.find("x")
    (z,) = graph.find("z")
    step = next(s for s in backward_steps(graph) if s.node == z.id)
    x_t = torch.tensor([[1.0, 2, 3], [3, 2, 1]])
    # z = 2 * p where p = y**2: the local derivative towards p is the constant 2.
    assert step.sends[0].local.data == [[2.0] * 3] * 2
    torch.testing.assert_close(
        torch.tensor(step.sends[0].grad.data), torch.full((2, 3), 2 / 6), check_dtype=False
    )
    last = backward_steps(graph)[-1]
    assert last.node == x.id and last.sends == []
    y_t = 3 * x_t + 2
    pow_step = next(s for s in backward_steps(graph) if graph.node(s.node).label == "pow")
    torch.testing.assert_close(torch.tensor(pow_step.sends[0].local.data), (2 * y_t).float())


def test_chain_rule_for_the_tutorials_out_is_10_at_x_1() -> None:
    graph = gradviz.run(MULTISTEP)
    (x,) = graph.find("x")
    rule = chain_rule(graph, x.id, index=0)
    assert rule is not None
    assert rule.total == pytest.approx(10.0) and rule.autograd == pytest.approx(10.0)
    factors = [t.factor for t in rule.paths[0]]
    # mean: 1/6, z = 2p: 2, p = y²: 2y = 10, y = 3x + 2: 1 (add) and 3 (mul)
    assert factors == pytest.approx([1 / 6, 2.0, 10.0, 1.0, 3.0])
    assert rule.text(3) == "0.167 · 2 · 10 · 1 · 3 = 10"
    assert chain_rule(graph, x.id, index=2).total == pytest.approx(22.0)


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
    assert [h[3].data for h in history] == [[2.0, 2.0], [4.0, 4.0], [6.0, 6.0], [0.0, 0.0]]
    assert history[-1][2] == 5
