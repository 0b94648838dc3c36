"""The Graph walk: deterministic ids, no recursion limit, JSON version 2, values vs torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import gradviz
from gradviz.api import record
from gradviz.capture.snapshot import FULL_VALUE_LIMIT
from gradviz.model.values import TensorValue
from tests.optional import present

POLY = """
import torch
x = torch.tensor(2.0, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
"""


def test_same_program_gives_same_ids_dot_and_json() -> None:
    first, second = gradviz.run(POLY), gradviz.run(POLY)
    assert first.to_json() == second.to_json()
    assert gradviz.to_dot(first) == gradviz.to_dot(second)
    random_program = "import torch\nw = torch.randn(3, requires_grad=True)\ns = (w * 2).sum()\n"
    assert gradviz.run(random_program).to_json() == gradviz.run(random_program).to_json()


def test_json_version_1_fields() -> None:
    data = json.loads(gradviz.run(POLY).to_json())
    assert data["version"] == 2
    assert set(data) >= {"nodes", "edges", "outputs", "backward_calls", "stdout"}
    ids = {n["id"] for n in data["nodes"]}
    for node in data["nodes"]:
        assert node["kind"] in ("leaf", "op", "constant")
        assert isinstance(node["shape"], list) and isinstance(node["flags"], list)
        assert isinstance(node["requires_grad"], bool) and isinstance(node["dtype"], str)
    for edge in data["edges"]:
        assert edge["src"] in ids and edge["dst"] in ids
    assert set(data["outputs"]) <= ids
    (call,) = data["backward_calls"]
    assert call["root"] in ids and set(call["order"]) <= ids
    x = next(n for n in data["nodes"] if n["name"] == "x")
    assert x["value"] == 2.0 and x["grad"] == 93.0
    assert call["leaf_grads"][x["id"]] == 93.0


def test_edges_point_forward_from_input_to_consumer() -> None:
    graph = gradviz.run(POLY)
    (x,) = graph.find("x")
    (y,) = graph.find("y")
    assert all(e.dst != x.id for e in graph.edges)
    assert all(e.src != y.id for e in graph.edges)
    assert graph.outputs == (y.id,)


CHAIN = """
import gc, torch
from gradviz.api import record
with record() as rec:
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
g = rec.graph
print(len(g.nodes), len(g.edges), g.nodes[0].kind, g.outputs == (g.nodes[-1].id,), flush=True)
# torch frees Nodes that Python has seen recursively: letting go of this chain used to
# overflow the C stack. gradviz.capture.teardown has it freed one Node at a time.
del rec, g, y, x
gc.collect()
print("freed", flush=True)
"""


def test_a_100000_node_chain_builds_without_recursion_and_is_freed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHAIN], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["100001", "100000", "leaf", "True", "freed"], done.stderr


DEEP_BACKWARD = """
import gc, torch
import gradviz
x = torch.tensor(0.5, requires_grad=True)
y = x
for _ in range(100_000):
    y = torch.tanh(y)
with gradviz.record() as rec:
    y.backward()
steps = len(rec.graph.backward_calls[0].steps)
del rec, y
gc.collect()
print(steps, x.grad is not None, flush=True)
"""


def test_a_deep_graph_seen_by_backward_hooks_is_freed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DEEP_BACKWARD], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["100001", "True"], done.stderr


def test_large_tensors_carry_a_summary_instead_of_their_value() -> None:
    with record() as rec:
        big = torch.arange(FULL_VALUE_LIMIT + 1, dtype=torch.float32).requires_grad_()
        total = big.sum()
        total.backward()
    graph = rec.graph
    assert graph is not None
    (node,) = graph.find("big")
    value = node.value
    assert value is not None
    assert value.data is None and value.summary is not None
    assert value.summary.max == FULL_VALUE_LIMIT
    assert value.summary.mean == pytest.approx(big.detach().double().mean().item())
    data = json.loads(graph.to_json())
    entry = next(n for n in data["nodes"] if n["name"] == "big")
    assert entry["value"] is None and entry["value_summary"]["summary"]["min"] == 0


def test_non_finite_values_stay_standard_json() -> None:
    with record() as rec:
        x = torch.tensor([0.0, 1.0], requires_grad=True)
        y = torch.log(x)
        y.sum().backward()
    graph = rec.graph
    assert graph is not None
    text = graph.to_json()
    assert "NaN" not in text and "Infinity" not in text
    (y_node,) = graph.find("y")
    assert present(y_node.value).data == ["-inf", 0.0]


def test_record_names_tensors_after_the_callers_variables() -> None:
    layer = torch.nn.Linear(2, 1)
    with record() as rec:
        inp = torch.ones(3, 2)
        out = layer(inp).sum()
        out.backward()
    graph = rec.graph
    assert graph is not None
    names = {n.name for n in graph.nodes}
    assert {"inp", "out", "layer.weight", "layer.bias"} <= names
    weight = graph.find("layer.weight")[0]
    torch.testing.assert_close(torch.tensor(present(weight.grad).data), layer.weight.grad)


def test_constant_tensors_feeding_the_graph_are_nodes() -> None:
    graph = gradviz.run(
        "import torch\nw = torch.ones(2, requires_grad=True)\nc = torch.tensor([3.0, 4.0])\n"
        "y = (w * c).sum()\ny.backward()\n"
    )
    (c,) = graph.find("c")
    assert c.kind == "constant" and present(c.value).data == [3.0, 4.0]
    assert any(e.src == c.id and e.kind == "constant" for e in graph.edges)


def test_auto_backward_on_a_scalar_says_so() -> None:
    graph = gradviz.run("import torch\nx = torch.tensor(3.0, requires_grad=True)\ny = x * x\n")
    assert present(graph.find("x")[0].grad).data == 6.0
    assert graph.backward_calls[0].kind == "auto"
    assert "never called backward" in graph.notes[0].text


def test_non_scalar_output_gets_no_invented_gradient() -> None:
    graph = gradviz.run("import torch\nx = torch.ones(3, requires_grad=True)\ny = x * 2\n")
    assert graph.backward_calls == ()
    assert graph.find("x")[0].grad is None
    assert "not a scalar" in graph.notes[0].text and "gradient" in graph.notes[0].text
    assert present(graph.find("y")[0].value).data == [2.0, 2.0, 2.0]


def test_saved_tensors_are_captured_before_backward_frees_them() -> None:
    graph = gradviz.run(POLY)
    pow_nodes = [n for n in graph.nodes if n.op == "PowBackward0"]
    assert pow_nodes and all("self" in n.saved for n in pow_nodes)
    saved = pow_nodes[0].saved["self"]
    assert isinstance(saved, TensorValue) and saved.data == 2.0


def test_backward_order_is_the_engines_and_covers_every_node() -> None:
    graph = gradviz.run(POLY)
    (call,) = graph.backward_calls
    assert call.order[0] == call.root
    assert set(call.order) == {n.id for n in graph.nodes}
    steps = {s.node: s for s in call.steps}
    (x,) = graph.find("x")
    assert present(steps[x.id].grad_in[0]).data == pytest.approx(93.0)


def test_a_grad_bound_to_a_name_is_the_leaf_s_gradient_not_a_second_output() -> None:
    program = (
        "import torch\na = torch.tensor([1.0, 2.0], requires_grad=True)\nb = (a * a).sum()\n"
        "b.backward()\ng = a.grad\nprint(g)\n"
    )
    graph = gradviz.run(program)
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    (a * a).sum().backward()
    assert a.grad is not None
    assert [n.name for n in graph.nodes if n.kind != "op"] == ["a"]  # no floating `g`
    assert [graph.node(o).name for o in graph.outputs] == ["b"]
    (leaf,) = graph.find("a")
    assert leaf.grad is not None and leaf.grad.data == a.grad.tolist()
    assert graph.stdout == f"{a.grad}\n"  # the program still read it
