"""The wire format: every field of real recorded Graphs survives JSON; anything else is refused
with a WireError that says where."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, fields, is_dataclass, replace
from typing import Any

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings

import gradviz
from gradviz.capture.snapshot import FULL_VALUE_LIMIT, _CopiedValue, snapshot
from gradviz.model.graph import FunctionalCall, Graph, Note
from gradviz.model.values import TensorValue
from gradviz.model.wire import WireError, WireLimits, from_wire, loads, to_wire


def _recorded(program: Callable[[], None]) -> Graph:
    with gradviz.record() as rec:
        program()
    assert rec.graph is not None
    return rec.graph


def polynomial() -> Graph:
    def program() -> None:
        x = torch.tensor(2.0, requires_grad=True)
        y = x**3 - 2 * x + 1
        y.backward()

    return _recorded(program)


def matrix_retain_graph() -> Graph:
    def program() -> None:
        W = torch.randn(3, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
        v = torch.tensor([1.0, -2.0, 0.5])
        y = torch.tanh(W @ v)  # a non-scalar root given a gradient: a Jacobian per leaf
        y.backward(torch.ones(3), retain_graph=True)
        y.backward(torch.ones(3))

    return _recorded(program)


def mlp_with_optimizer() -> Graph:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradviz.record() as rec:  # inline: record() names the caller's modules
        x = torch.randn(5, 3)
        for _ in range(2):
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
    assert rec.graph is not None
    return rec.graph


def grad_create_graph() -> Graph:
    def program() -> None:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        (g,) = torch.autograd.grad((x**3).sum(), x, create_graph=True)
        g.sum().backward()

    return _recorded(program)


def summarized() -> Graph:
    def program() -> None:
        a = torch.linspace(-1, 1, FULL_VALUE_LIMIT + 5_000).requires_grad_()
        (a * 2).sum().backward()

    return _recorded(program)


def non_finite() -> Graph:
    def program() -> None:
        x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
        y = torch.log(x) * torch.tensor([0.0, 1.0, 1.0])  # -inf, and -inf * 0 = nan
        y.sum().backward()

    return _recorded(program)


def unusual_tensors() -> Graph:
    """Values with a note: a complex leaf (real parts shown), a sparse one (shown dense) and a
    meta one (not readable at all)."""

    def program() -> None:
        z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)
        s = torch.eye(2).to_sparse().requires_grad_()
        m = torch.ones(2, device="meta", requires_grad=True)
        (z.abs().sum() + torch.sparse.sum(s)).backward()
        (m * 2).sum()

    return _recorded(program)


def by_hand(graph: Graph) -> Graph:
    """Set the fields record() leaves at their defaults (the runner fills some of them)."""
    value = snapshot(torch.tensor([[1.0, float("inf")], [0.5, -2.0]]))
    call = replace(graph.backward_calls[0], kind="auto", line=5, origin="button")
    node = replace(graph.nodes[0], line=2, stopped_line=3, num_outputs=2)
    return replace(
        graph,
        nodes=(node, *graph.nodes[1:]),
        edges=(replace(graph.edges[0], label="x²"), *graph.edges[1:]),
        backward_calls=(call, *graph.backward_calls[1:]),
        stdout="tensor(4.)\nline 2 ✓\n",
        result="tensor([0., 1.])",
        echoes=((3, "tensor(4.)"), (7, "'text'")),
        notes=(Note("program", "backward() was run on `y` automatically."),),
        functional_calls=(
            FunctionalCall("jacobian", "f", (value,), value, line=4),
            FunctionalCall("hessian", "g", (value, value), None),
        ),
        module_classes=graph.module_classes or {"model": "Sequential"},
        version=7,
    )


PROGRAMS = {
    f.__name__: f
    for f in (
        polynomial,
        matrix_retain_graph,
        mlp_with_optimizer,
        grad_create_graph,
        summarized,
        non_finite,
        unusual_tensors,
    )
}


@functools.cache
def graphs() -> dict[str, Graph]:
    out = {name: make() for name, make in PROGRAMS.items()}
    out["by_hand"] = by_hand(polynomial())
    return out


def through_json(graph: Graph) -> Graph:
    return from_wire(json.loads(json.dumps(to_wire(graph), allow_nan=False)))


def instances(graph: Graph) -> Iterator[Any]:
    """Every dataclass instance in the graph (not looking inside tensor data)."""
    stack: list[Any] = [graph]
    while stack:
        obj = stack.pop()
        if is_dataclass(obj) and not isinstance(obj, type):
            yield obj
            if isinstance(obj, TensorValue):
                stack.append(obj.summary)
            else:
                stack.extend(getattr(obj, f.name) for f in fields(obj))
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())


# -- round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*PROGRAMS, "by_hand"])
def test_round_trip_through_json_keeps_every_field(name: str) -> None:
    graph = graphs()[name]
    back = through_json(graph)
    assert back == graph
    assert json.dumps(to_wire(back)) == json.dumps(to_wire(graph))  # deterministic too
    assert from_wire(to_wire(graph)) == graph  # also without JSON in between


def test_the_programs_exercise_every_field_of_every_dataclass() -> None:
    changed: dict[tuple[str, str], bool] = {}
    for graph in graphs().values():
        for obj in instances(graph):
            cls = TensorValue if isinstance(obj, TensorValue) else type(obj)
            for f in fields(obj):
                default: Any = f.default
                if f.default_factory is not MISSING:
                    default = f.default_factory()
                key = (cls.__name__, f.name)
                changed[key] = changed.get(key, False) or getattr(obj, f.name) != default
    assert {"Summary", "FunctionalCall", "NodeStep", "Event"} <= {c for c, _ in changed}
    assert [key for key, seen in changed.items() if not seen] == []


def test_what_the_programs_recorded() -> None:
    made = graphs()
    kinds = {e.kind for e in made["mlp_with_optimizer"].events}
    assert {"backward", "step", "zero_grad"} <= kinds
    calls = made["matrix_retain_graph"].backward_calls
    assert calls[0].retain_graph and calls[0].jacobians
    assert any(v for n in made["matrix_retain_graph"].nodes for v in n.saved.values())
    grad_call = made["grad_create_graph"].backward_calls[0]
    assert grad_call.kind == "grad" and grad_call.create_graph and grad_call.result_nodes
    big = [n for n in made["summarized"].nodes if n.value is not None and n.value.summary]
    assert big and big[0].value is not None and big[0].value.data is None
    text = json.dumps(to_wire(made["non_finite"]), allow_nan=False)
    assert '"-inf"' in text and '"nan"' in text


def test_equality_holds_with_copied_values_on_one_side() -> None:
    graph = mlp_with_optimizer()
    copied = [v for v in instances(graph) if isinstance(v, _CopiedValue)]
    assert copied  # record() copies small tensors in batches
    back = through_json(graph)
    assert back == graph and graph == back
    assert {type(v) for v in instances(back) if isinstance(v, TensorValue)} == {TensorValue}


def test_loads_reads_bytes_and_text() -> None:
    graph = non_finite()
    text = json.dumps(to_wire(graph), allow_nan=False)
    assert loads(text) == loads(text.encode()) == graph


# -- rejections ----------------------------------------------------------------------------
def wire() -> dict[str, Any]:
    """A valid wire dict, fresh each time: the polynomial with every field set."""
    data: dict[str, Any] = json.loads(json.dumps(to_wire(by_hand(polynomial()))))
    return data


def refused(data: object, where: str, limits: WireLimits | None = None) -> str:
    with pytest.raises(WireError) as info:
        from_wire(data, limits or WireLimits())
    message = str(info.value)
    assert message.startswith(f"{where}: "), message
    return message


def test_refuses_a_missing_key() -> None:
    data = wire()
    del data["nodes"][1]["shape"]
    assert "missing key 'shape'" in refused(data, "nodes[1]")
    del data["stdout"]
    assert "missing key 'stdout'" in refused(data, "wire")


def test_refuses_an_extra_key() -> None:
    data = wire()
    data["edges"][0]["weight"] = 1
    assert "unexpected key 'weight'" in refused(data, "edges[0]")
    data = wire()
    data["backward_calls"][0]["steps"][0]["grad_in"][0]["extra"] = None
    refused(data, "backward_calls[0].steps[0].grad_in[0]")


@pytest.mark.parametrize("version", [2, 0, True, "1", 1.0, None])
def test_refuses_another_wire_version(version: object) -> None:
    data = wire()
    data["wire"] = version
    assert "expected wire version 1" in refused(data, "wire")
    del data["wire"]
    refused(data, "wire")


@pytest.mark.parametrize("bad", [True, 1.0, -1, 2**63, "1", None])
def test_refuses_what_is_not_an_int_where_an_int_is_expected(bad: object) -> None:
    data = wire()
    data["edges"][0]["position"] = bad
    assert "expected an int" in refused(data, "edges[0].position")


def test_refuses_wrong_types_and_kinds() -> None:
    data = wire()
    data["nodes"][0]["name"] = 5
    assert "expected a str, got an int" in refused(data, "nodes[0].name")
    data = wire()
    data["nodes"][0]["kind"] = "tensor"
    assert "leaf, op, constant" in refused(data, "nodes[0].kind")
    data = wire()
    data["nodes"][0]["requires_grad"] = 1
    refused(data, "nodes[0].requires_grad")
    data = wire()
    data["nodes"][0]["shape"] = [2.0]
    refused(data, "nodes[0].shape")
    data = wire()
    data["nodes"][0]["shape"] = [-1]
    refused(data, "nodes[0].shape")
    data = wire()
    data["echoes"][1] = [7]
    refused(data, "echoes[1]")
    data = wire()
    data["events"][0]["kind"] = "Backward"
    refused(data, "events[0].kind")
    data = wire()
    data["nodes"][1]["saved"]["self"] = 3
    refused(data, "nodes[1].saved['self']")


def test_refuses_a_nan_float() -> None:
    data = wire()
    data["nodes"][0]["value"]["data"] = float("nan")
    assert "non-finite float" in refused(data, "nodes[0].value.data")
    data = wire()
    data["functional_calls"][0]["result"]["data"][1][0] = float("inf")
    refused(data, "functional_calls[0].result.data")
    data = wire()
    data["backward_calls"][0]["root_value"] = {
        "shape": [2],
        "dtype": "float32",
        "data": None,
        "summary": {"min": float("nan"), "max": 1.0, "mean": 0.0, "head": []},
    }
    refused(data, "backward_calls[0].root_value.summary.min")
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(WireError, match=rf"^wire: {constant} is not JSON"):
            loads(json.dumps(wire()).replace('"data": 2.0', f'"data": {constant}', 1))
    with pytest.raises(WireError, match=r"^nodes\[0\]\.value\.data: non-finite float"):
        loads(json.dumps(wire()).replace('"data": 2.0', '"data": 1e400', 1))


@pytest.mark.parametrize(
    ("shape", "data"),
    [
        ([2], [1.0]),
        ([], [1.0]),
        ([1], 1.0),
        ([2, 2], [[1.0, 2.0], [3.0]]),
        ([2, 2], [[1.0, 2.0], 3.0]),
        ([2], [[1.0], [2.0]]),
        ([2], [1.0, "1.0"]),
        ([2], [1.0, None]),
        ([1], [2**64]),
        ([0, 2], [[]]),
    ],
)
def test_refuses_data_inconsistent_with_its_shape(shape: list[int], data: object) -> None:
    wire_data = wire()
    wire_data["nodes"][0]["value"] = {
        "shape": shape,
        "dtype": "float32",
        "data": data,
        "summary": None,
    }
    refused(wire_data, "nodes[0].value.data")


def test_accepts_data_of_every_element_kind_and_empty_shapes() -> None:
    data = wire()
    values = [
        ([0], []),
        ([2, 0], [[], []]),
        ([0, 3], []),
        ([3], [True, False, True]),
        ([2], [-(2**63), 2**64 - 1]),
        ([2, 1], [["nan"], ["-inf"]]),
        ([1, 2], [[1, 2.5]]),
        ([], "inf"),
    ]
    data["functional_calls"][0]["inputs"] = [
        {"shape": s, "dtype": "float64", "data": d, "summary": None} for s, d in values
    ]
    graph = from_wire(data)
    assert [(list(v.shape), v.data) for v in graph.functional_calls[0].inputs] == values


def test_refuses_a_value_with_both_or_neither_of_data_and_summary() -> None:
    data = wire()
    data["nodes"][0]["value"]["data"] = None
    assert "exactly one of data and summary" in refused(data, "nodes[0].value")


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (("edges", 0, "dst"), "edges[0].dst"),
        (("edges", 0, "src"), "edges[0].src"),
        (("outputs", 0), "outputs[0]"),
        (("backward_calls", 0, "root"), "backward_calls[0].root"),
        (("backward_calls", 0, "order", 1), "backward_calls[0].order[1]"),
        (("backward_calls", 0, "steps", 0, "node"), "backward_calls[0].steps[0].node"),
    ],
)
def test_refuses_a_reference_to_an_unknown_node(path: tuple[Any, ...], where: str) -> None:
    data = wire()
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "n999"
    assert "unknown node 'n999'" in refused(data, where)


def test_refuses_unknown_nodes_as_keys_duplicate_ids_and_missing_calls() -> None:
    data = wire()
    data["backward_calls"][0]["leaf_grads"]["n999"] = None
    assert "unknown node 'n999'" in refused(data, "backward_calls[0].leaf_grads['n999']")
    data = wire()
    data["events"][0]["leaf_values"]["n999"] = data["nodes"][0]["value"]
    refused(data, "events[0].leaf_values['n999']")
    data = wire()
    data["nodes"][1]["id"] = data["nodes"][0]["id"]
    assert "duplicate id" in refused(data, "nodes[1].id")
    data = wire()
    data["events"][0]["call"] = 5
    refused(data, "events[0].call")


def test_refuses_what_passes_each_limit() -> None:
    data, graph = wire(), by_hand(polynomial())
    assert "max_nodes" in refused(data, "nodes", WireLimits(max_nodes=len(graph.nodes) - 1))
    assert "max_edges" in refused(data, "edges", WireLimits(max_edges=len(graph.edges) - 1))
    refused(data, "nodes[0].id", WireLimits(max_string=1))
    refused(data, "stdout", WireLimits(max_output=5))
    long_name = wire()
    long_name["nodes"][0]["name"] = "x" * 200
    refused(long_name, "nodes[0].name", WireLimits(max_string=100))
    refused(data, "functional_calls[0].inputs[0].shape", WireLimits(max_depth=1))
    text = json.dumps(data)
    with pytest.raises(WireError, match="max_bytes"):
        loads(text, WireLimits(max_bytes=len(text) - 1))
    assert loads(text, WireLimits(max_bytes=len(text))) == graph


def sum_elements(graph: Graph) -> int:
    total = 0
    for v in instances(graph):
        if isinstance(v, TensorValue):
            total += len(v.summary.head) if v.summary else v.numel
    return total


def test_the_element_limit_counts_the_whole_graph() -> None:
    graph = by_hand(polynomial())
    data = wire()
    limit = sum_elements(graph)
    assert from_wire(data, WireLimits(max_elements=limit)) == graph
    with pytest.raises(WireError, match=rf"over max_elements \({limit - 1}\)"):
        from_wire(data, WireLimits(max_elements=limit - 1))


def test_refuses_json_nested_100_000_deep() -> None:
    with pytest.raises(WireError, match=r"^wire: JSON nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WireError, match=r"^wire: JSON nested too deeply"):
        loads('{"wire": 1, "notes": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_deeply_nested_python_data_is_refused_without_recursion() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    data = wire()
    data["nodes"][0]["value"] = {"shape": [1], "dtype": "float32", "data": deep, "summary": None}
    refused(data, "nodes[0].value.data")
    data = wire()
    data["notes"] = deep
    assert "got a list" in refused(data, "notes[0]")


@pytest.mark.parametrize("top", [[], "graph", 1, None, True, 1.5])
def test_refuses_a_top_level_that_is_not_an_object(top: object) -> None:
    assert "expected an object" in refused(top, "wire")
    with pytest.raises(WireError, match=r"^wire: expected an object"):
        loads(json.dumps(top))


@pytest.mark.parametrize("text", ["", "{", "{'wire': 1}", b"\xff\xfe", "1" * 5_000, "[1] [2]"])
def test_loads_refuses_what_is_not_json(text: str | bytes) -> None:
    with pytest.raises(WireError, match=r"^wire: "):
        loads(text)


def test_messages_stay_short_whatever_the_value() -> None:
    data = wire()
    data["nodes"][0]["kind"] = "k" * 100_000
    data["nodes"][0][("x" * 100_000)] = 1
    message = refused(data, "nodes[0]")
    assert len(message) < 200


# -- hypothesis: anything given either makes a Graph or a WireError -----------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
SLOW_MACHINES = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
BASES = [json.loads(json.dumps(to_wire(g))) for g in (by_hand(polynomial()), grad_create_graph())]


def graph_or_wire_error(data: object) -> None:
    try:
        graph = from_wire(data)
    except WireError as e:
        assert re.match(r"^\S.*: ", str(e)), str(e)
        event("WireError")
        return
    event("a Graph")
    # What is accepted goes through the wire again unchanged.
    assert from_wire(json.loads(json.dumps(to_wire(graph), allow_nan=False))) == graph


@SLOW_MACHINES
@given(json_values)
def test_any_json_value_makes_a_graph_or_a_wire_error(data: object) -> None:
    graph_or_wire_error(data)


@SLOW_MACHINES
@given(st.fixed_dictionaries({key: json_values for key in BASES[0]}))
def test_any_values_under_the_right_keys_make_a_graph_or_a_wire_error(data: dict[str, Any]) -> None:
    data["wire"] = 1
    graph_or_wire_error(data)


def paths(data: object) -> list[tuple[Any, ...]]:
    """Every place in a wire dict, containers included."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        out.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return out


BASE_PATHS = [paths(base) for base in BASES]


@settings(SLOW_MACHINES, max_examples=400)
@given(st.data())
def test_mutations_of_a_valid_wire_make_a_graph_or_a_wire_error(data: st.DataObject) -> None:
    which = data.draw(st.sampled_from(range(len(BASES))))
    wire_data = copy.deepcopy(BASES[which])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(BASE_PATHS[which]))
        parent: Any = wire_data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if path:
                parent[path[-1]]  # still there after an earlier mutation
        except (KeyError, IndexError, TypeError):
            continue
        action = data.draw(st.sampled_from(["replace", "delete", "add", "copy"]))
        if not path or action == "replace":
            if not path:
                wire_data = data.draw(json_values)
                break
            parent[path[-1]] = data.draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=6))] = data.draw(json_values)
        elif action == "add":
            parent.insert(path[-1], data.draw(json_values))
        else:  # another valid part in this place: a node where an edge was, say
            other = data.draw(st.sampled_from(BASE_PATHS[which]))
            source: Any = BASES[which]
            for key in other:
                source = source[key]
            parent[path[-1]] = copy.deepcopy(source)
    graph_or_wire_error(wire_data)
