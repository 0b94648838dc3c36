"""draw() is a drop-in superset of torchviz's make_dot; record() works on trusted code."""

from __future__ import annotations

import re

import graphviz
import pytest
import torch

import gradviz
from tests.optional import present


def mlp() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    out = model(torch.randn(2, 3)).sum()
    return model, out


def test_draw_takes_make_dots_arguments_and_returns_a_digraph() -> None:
    model, out = mlp()
    dot = gradviz.draw(out, params=dict(model.named_parameters()))
    assert isinstance(dot, graphviz.Digraph)
    source = dot.source
    for name, _ in model.named_parameters():
        assert f"<B>{name} (leaf)</B>" in source
    assert "AddmmBackward0" in source
    with_saved = gradviz.draw(out, dict(model.named_parameters()), show_attrs=True, show_saved=True)
    assert "saved " in with_saved.source


def test_draw_shows_at_least_the_nodes_make_dot_shows() -> None:
    torchviz = pytest.importorskip("torchviz")
    model, out = mlp()
    params = dict(model.named_parameters())
    theirs = torchviz.make_dot(out, params=params).source
    ours = gradviz.draw(out, params=params).source
    ops = sorted(re.findall(r"\[label=([A-Za-z]+Backward\d*)\]", theirs))
    assert ops == sorted(re.findall(r"<TD>([A-Za-z]+Backward\d*)</TD>", ours))
    # make_dot draws a leaf twice (AccumulateGrad and the variable); gradviz once, as the leaf.
    assert theirs.count("AccumulateGrad") == len(params) == ours.count("(leaf)</B>")


def test_draw_adds_values_and_leaf_gradients() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    source = gradviz.draw(y, params={"x": x}).source
    assert "value 5<" in source  # the output's value
    assert "grad [2, 4]<" in source  # x.grad


def test_draw_accepts_several_outputs() -> None:
    x = torch.ones(2, requires_grad=True)
    a, b = (x * 2).sum(), (x + 1).sum()
    source = gradviz.draw((a, b)).source
    assert "MulBackward0" in source and "AddBackward0" in source


def test_record_captures_every_backward_call() -> None:
    with gradviz.record() as rec:
        w = torch.ones(3, requires_grad=True)
        for _ in range(3):
            (w * 2).sum().backward()
    graph = rec.graph
    assert graph is not None
    (w_node,) = graph.find("w")
    assert [present(c.leaf_grads[w_node.id]).data for c in graph.backward_calls] == [
        [2.0] * 3,
        [4.0] * 3,
        [6.0] * 3,
    ]
    assert isinstance(rec.digraph(), graphviz.Digraph)
