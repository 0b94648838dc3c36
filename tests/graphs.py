"""Small graphs and models the graph-view tests build: a chain made by hand, a transformer
recorded by gradviz, and checks every view must pass (no duplicate edge, no cycle)."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

import gradviz
from gradviz.gallery import by_key
from gradviz.model.graph import Edge, Graph, Node
from gradviz.views.budget import budget_view


def make_node(i: int, kind: str = "op", label: str = "mul", module: str | None = None) -> Node:
    return Node(
        id=f"n{i}",
        kind=kind,  # type: ignore[arg-type]
        name=None,
        op=None if kind != "op" else f"{label.title()}Backward0",
        label=label,
        shape=(1,),
        dtype="float32",
        requires_grad=True,
        module=module,
    )


def chain_graph(n: int) -> Graph:
    """x -> mul -> mul -> ... (n nodes), built directly."""
    nodes = [make_node(0, "leaf", "leaf")] + [make_node(i) for i in range(1, n)]
    edges = [Edge(f"n{i - 1}", f"n{i}") for i in range(1, n)]
    nodes[-1] = replace(nodes[-1], flags=("output",))
    return Graph(nodes=tuple(nodes), edges=tuple(edges), outputs=(f"n{n - 1}",))


def transformer(layers: int) -> nn.Module:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True
    )
    return nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)


def record_model(model: nn.Module, x: torch.Tensor) -> Graph:
    with gradviz.record() as rec:
        rec.recording.bind("model", model)  # name modules before their forward runs
        loss = model(x).pow(2).mean()
        loss.backward()
    assert rec.graph is not None
    return rec.graph


def recorded_stack() -> tuple[nn.Module, Graph]:
    """A 3-layer transformer encoder and its recorded graph, on a seeded input."""
    model = transformer(3)
    x = torch.randn(1, 5, 8, generator=torch.Generator().manual_seed(1))
    return model, record_model(model, x)


def chain_opened(nodes: int) -> Graph:
    """The gallery's 2,000-layer chain with its fold opened as far as ``nodes`` allow (``W``
    and ``b`` each feed a third of the ops)."""
    graph = gradviz.run(by_key("deep_chain").code)
    fold = [n.id for n in budget_view(graph, nodes).graph.nodes if n.id.startswith("f:")]
    return budget_view(graph, nodes, opened=fold).graph


def edge_set(graph: Graph) -> set[tuple[str, str]]:
    pairs = [(e.src, e.dst) for e in graph.edges]
    assert len(pairs) == len(set(pairs)), "duplicate edges"
    return set(pairs)


def assert_acyclic(graph: Graph) -> None:
    indegree = {n.id: 0 for n in graph.nodes}
    for e in graph.edges:
        indegree[e.dst] += 1
    ready = [k for k, v in indegree.items() if v == 0]
    done = 0
    after: dict[str, list[str]] = {}
    for e in graph.edges:
        after.setdefault(e.src, []).append(e.dst)
    while ready:
        done += 1
        for nxt in after.get(ready.pop(), []):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    assert done == len(graph.nodes), "the view has a cycle"
