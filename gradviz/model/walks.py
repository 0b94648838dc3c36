"""Walks over a Graph's edges, iterative (a 6,000-node chain would pass Python's recursion
limit)."""

from __future__ import annotations

from collections.abc import Iterable

from gradviz.model.graph import Graph


def ancestors(graph: Graph, roots: str | Iterable[str]) -> set[str]:
    """The ``roots`` and every node they were computed from."""
    inputs: dict[str, list[str]] = {}
    for edge in graph.edges:
        inputs.setdefault(edge.dst, []).append(edge.src)
    stack = [roots] if isinstance(roots, str) else list(roots)
    seen = set(stack)
    while stack:
        for src in inputs.get(stack.pop(), []):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen
