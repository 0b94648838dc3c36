"""Every value and gradient gradviz shows equals plain PyTorch's, over a battery of programs."""

from __future__ import annotations

import pytest
import torch

import gradviz
from gradviz.model.graph import Graph, Node
from tests.oracle import OracleRun, run_plain, tensor_of

BATTERY = {
    "polynomial": """
import torch
x = torch.tensor(2.0, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
""",
    "linear_layer": """
import torch
import torch.nn as nn
layer = nn.Linear(3, 2)
x = torch.randn(4, 3)
h = torch.relu(layer(x))
loss = h.pow(2).mean()
loss.backward()
""",
    "mlp_modules": """
import torch
import torch.nn as nn
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
x = torch.randn(5, 2)
target = torch.randn(5, 1)
pred = model(x)
loss = nn.functional.mse_loss(pred, target)
loss.backward()
""",
    "softmax_cross_entropy": """
import torch
import torch.nn.functional as F
logits = torch.randn(3, 4, requires_grad=True)
labels = torch.tensor([0, 3, 1])
probs = F.softmax(logits, dim=1)
loss = F.cross_entropy(logits, labels)
loss.backward()
""",
    "diamond": """
import torch
a = torch.tensor([1.5, -2.0], requires_grad=True)
b = a * 3
c = a.exp()
d = b * c
out = d.sum()
out.backward()
""",
    "loop": """
import torch
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
h = w
for i in range(4):
    h = torch.tanh(h * 1.5 + 0.1)
total = h.sum()
total.backward()
""",
    "no_grad_detach": """
import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
scale = x.detach() * 2
with torch.no_grad():
    shift = x + 1
y = x * scale + shift
s = y.sum()
s.backward()
""",
    "vector_backward": """
import torch
x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
y = x ** 3
v = torch.tensor([0.1, 1.0, 10.0])
y.backward(v)
""",
    "create_graph": """
import torch
x = torch.tensor(1.5, requires_grad=True)
y = x ** 3
dy = torch.autograd.grad(y, x, create_graph=True)[0]
dy.backward()
""",
    "matmul_bias": """
import torch
W = torch.randn(3, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
x = torch.randn(2, 3)
y = torch.sigmoid(x @ W + b)
loss = (y - 0.5).abs().sum()
loss.backward()
""",
}


def _close(shown: torch.Tensor, truth: torch.Tensor) -> None:
    torch.testing.assert_close(shown, truth.detach().double().reshape(shown.shape))


def _oracle_tensor(node: Node, oracle: OracleRun, graph: Graph) -> torch.Tensor | None:
    """The plain-PyTorch tensor a node stands for: by name (the name's last binding, as
    the namespace holds it), else by op class and value."""
    if node.name and "." not in node.name and graph.find(node.name)[-1] is node:
        value = oracle.namespace.get(node.name)
        if isinstance(value, torch.Tensor):
            return value
    if node.kind == "op" and node.value is not None:
        shown = tensor_of(node.value)
        for t in oracle.created:
            same_op = t.grad_fn is not None and type(t.grad_fn).__name__ == node.op
            if same_op and t.shape == shown.shape and torch.allclose(t.double(), shown):
                return t
    return None


def _check(graph: Graph, oracle: OracleRun) -> int:
    checked = 0
    for node in graph.nodes:
        truth = _oracle_tensor(node, oracle, graph)
        if truth is None or node.value is None:
            continue
        _close(tensor_of(node.value), truth)
        oracle_grad = truth.grad
        if oracle_grad is None:
            assert node.grad is None or node.kind != "leaf", node
        elif node.grad is not None:
            _close(tensor_of(node.grad), oracle_grad)
        else:
            pytest.fail(f"{node.id} ({node.name}) shows no gradient; torch has {oracle_grad}")
        checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(BATTERY))
def test_every_value_and_gradient_matches_pytorch(name: str) -> None:
    source = BATTERY[name]
    graph = gradviz.run(source)
    oracle = run_plain(source)
    checked = _check(graph, oracle)
    named = [n for n in graph.nodes if n.name and "." not in n.name]
    assert checked >= len(named) >= 1


def test_module_parameters_are_named_by_path_and_match_named_parameters() -> None:
    graph = gradviz.run(BATTERY["mlp_modules"])
    oracle = run_plain(BATTERY["mlp_modules"])
    model = oracle.namespace["model"]
    shown = {n.name: n for n in graph.nodes if n.kind == "leaf"}
    for path, param in model.named_parameters(prefix="model"):
        assert path in shown
        _close(tensor_of(shown[path].value), param)
        _close(tensor_of(shown[path].grad), param.grad)


def test_diamond_sums_both_paths_into_the_shared_leaf() -> None:
    graph = gradviz.run(BATTERY["diamond"])
    (a,) = graph.find("a")
    a_plain = torch.tensor([1.5, -2.0], requires_grad=True)
    (a_plain * 3 * a_plain.exp()).sum().backward()
    assert a_plain.grad is not None
    _close(tensor_of(a.grad), a_plain.grad)
    consumers = [e.dst for e in graph.edges if e.src == a.id]
    assert len(consumers) == 2


def test_stopped_tracking_is_drawn_as_constants_with_a_cut() -> None:
    graph = gradviz.run(BATTERY["no_grad_detach"])
    (x,) = graph.find("x")
    (shift,) = graph.find("shift")
    assert shift.kind == "constant" and "no_grad" in shift.flags
    cuts = [e for e in graph.edges if e.kind == "cut"]
    assert {(e.src, e.dst) for e in cuts} >= {(x.id, shift.id)}
    detached = [n for n in graph.nodes if "detached" in n.flags]
    assert detached and all(n.kind == "constant" for n in detached)
    assert all("shared_storage" in n.flags for n in detached)


def test_create_graph_gradient_is_an_op_node_with_its_own_graph() -> None:
    graph = gradviz.run(BATTERY["create_graph"])
    (x,) = graph.find("x")
    (dy,) = graph.find("dy")
    assert dy.kind == "op" and "create_graph" in dy.flags
    assert dy.value is not None and dy.value.data == pytest.approx(3 * 1.5**2)
    # d/dx (3x^2) = 6x, accumulated into x.grad by dy.backward()
    assert x.grad is not None and x.grad.data == pytest.approx(6 * 1.5)


def test_vector_backward_records_the_gradient_argument() -> None:
    graph = gradviz.run(BATTERY["vector_backward"])
    (call,) = graph.backward_calls
    assert call.gradient[0] is not None
    assert call.gradient[0].data == pytest.approx([0.1, 1.0, 10.0])
    (x,) = graph.find("x")
    expected = 3 * torch.tensor([1.0, -1.0, 0.5]) ** 2 * torch.tensor([0.1, 1.0, 10.0])
    _close(tensor_of(x.grad), expected)
