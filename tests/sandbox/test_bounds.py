"""What a run sends back is bounded: elements in full, nodes and JSON size, each set by
``Limits`` (run in this process through the child's own ``run_request``)."""

from __future__ import annotations

import json

from gradviz.capture.snapshot import element_budget, snapshot
from gradviz.model.wire import loads
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.program import run_request
from gradviz.sandbox.request import Request

LEAVES = (
    "import torch\nxs = [torch.ones(100, requires_grad=True) for _ in range(50)]\n"
    "y = sum(x.sum() for x in xs)\ny.backward()\n"
)
WIDE = (
    "import torch\nxs = [torch.linspace(0, 1, 2_000, requires_grad=True) for _ in range(10)]\n"
    "y = sum((x * x).sum() for x in xs)\ny.backward()\n"
)
"""Few nodes, many elements: its JSON is mostly numbers."""
CHAIN = (
    "import torch\nx = torch.ones(1, requires_grad=True)\ny = x\n"
    "for _ in range(500):\n    y = y + 1\ny.backward()\n"
)


def _run(source: str, limits: Limits) -> tuple[dict[str, object], int]:
    result = run_request(Request(source=source), limits=limits)
    assert result["ok"], result
    text = json.dumps(result["graph"], allow_nan=False, separators=(",", ":"))
    loads(text)  # the host's checks pass
    return result["graph"], len(text.encode())


def _full_elements(wire: object) -> int:
    graph = loads(json.dumps(wire))
    values = [v for n in graph.nodes for v in (n.value, n.grad) if v is not None]
    return sum(v.numel for v in values if v.data is not None)


def test_the_element_budget_turns_the_rest_into_summaries() -> None:
    with element_budget(250) as budget:
        values = [snapshot(__import__("torch").ones(100)) for _ in range(4)]
    assert [v.data is not None for v in values] == [True, True, False, False]
    assert budget.refused == 2 and budget.spent == 200


def test_elements_in_full_stay_within_max_elements() -> None:
    wire, _ = _run(LEAVES, Limits(max_elements=1_000))
    assert _full_elements(wire) <= 1_000
    assert any("Limits.max_elements" in n["text"] for n in wire["notes"])  # type: ignore[attr-defined]
    unbounded, _ = _run(LEAVES, Limits())
    assert _full_elements(unbounded) >= 50 * 100 * 2  # every leaf's value and grad


def test_nodes_stay_within_max_nodes_nearest_the_outputs() -> None:
    wire, _ = _run(CHAIN, Limits(max_nodes=100))
    graph = loads(json.dumps(wire))
    assert len(graph.nodes) == 100
    assert graph.outputs and graph.by_id[graph.outputs[0]].name == "y"
    assert any("Limits.max_nodes" in n.text for n in graph.notes)
    assert len(loads(json.dumps(_run(CHAIN, Limits())[0])).nodes) == 501  # x and 500 adds


def test_json_over_result_bytes_is_summarized_then_refused() -> None:
    _, size = _run(WIDE, Limits())
    wire, smaller = _run(WIDE, Limits(result_bytes=size // 2))
    assert smaller <= size // 2 and _full_elements(wire) == 0
    assert any("Limits.result_bytes" in n["text"] for n in wire["notes"])  # type: ignore[attr-defined]
    refused = run_request(Request(source=WIDE), limits=Limits(result_bytes=1_000))
    assert not refused["ok"]
    error = refused["error"]
    assert error["kind"] == "limit reached" and "Limits.result_bytes" in error["message"]


def test_the_limits_given_to_gradviz_run_reach_the_sandboxed_child() -> None:
    import gradviz

    graph = gradviz.run(CHAIN, limits=Limits(max_nodes=100, max_elements=50))
    assert len(graph.nodes) == 100
    assert any("Limits.max_nodes" in n.text for n in graph.notes)
    assert any("Limits.max_elements" in n.text for n in graph.notes)
    assert len(gradviz.run(CHAIN).nodes) == 501
