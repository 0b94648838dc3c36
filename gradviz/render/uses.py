"""A tensor that feeds many ops (a weight every layer of a long chain uses) drawn again at each
use, so the drawing has no fan of arrows from one box.

Why: dot is slow on a node with many edges out of it, and draws them as a fan of long crossing
arrows nobody can follow. The 2,000-layer chain's group opened to 300 nodes (``W`` and ``b``
each feed 99 ops) takes 0.7-0.9 s to lay out, 0.10 s with a copy per use; opened to 600, 7 s
and 0.19 s (``benchmarks/layout_uses.py``). Below ``MANY_USES`` one box with an arrow per use
stays: it shows what the lesson on accumulation teaches, that the tensor's gradient sums over
every use.

A copy is drawn under an id of its own (``{id}#use{k}``); ``aliases`` maps each copy's id, and
the id of each edge drawn from it, back to the real ones, so hover, click and the
step-through's marks treat a copy as the tensor it stands for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gradviz.model.graph import Graph

MANY_USES = 30
"""Uses from which a tensor is drawn again at each (the chain's group at 150 nodes: 49 uses)."""


@dataclass(frozen=True)
class Copy:
    """One more drawing of a tensor, at one of its uses."""

    of: str
    """The id of the node it stands for."""
    at: str
    """The op it feeds (the edge's ``dst``)."""
    use: int
    """Which use it is drawn at, from 2 (the first is the node itself)."""
    uses: int
    """Its uses in the graph drawn (a folded chain counts as one)."""


@dataclass(frozen=True)
class DrawnUses:
    """Where each edge is drawn from, and the copies drawn for that."""

    starts: tuple[str, ...] = ()
    """Per edge of the graph (in order), the id of the box it starts from: its ``src`` or a
    copy of it. Empty when nothing is copied."""
    copies: Mapping[str, Copy] = field(default_factory=dict)
    """Copy id -> the copy, in drawing order."""

    def start(self, index: int, src: str) -> str:
        """The box edge number ``index`` (whose source is ``src``) starts from."""
        return self.starts[index] if self.starts else src

    def aliases(self, graph: Graph) -> dict[str, str]:
        """The drawn id of each copy and of each edge from one -> the real node's or edge's."""
        found = {copy_id: copy.of for copy_id, copy in self.copies.items()}
        for index, edge in enumerate(graph.edges):
            start = self.start(index, edge.src)
            if start != edge.src:
                found[f"{start}->{edge.dst}"] = f"{edge.src}->{edge.dst}"
        return found


NOTHING_COPIED = DrawnUses()


def drawn_uses(graph: Graph, many: int = MANY_USES) -> DrawnUses:
    """Copies for each node with no inputs (a leaf, a constant) that feeds at least ``many``
    ops (``many`` = 0: none). Its first use keeps the node; each later use gets a copy."""
    if many <= 0:
        return NOTHING_COPIED
    consumers = graph.consumers
    sources = graph.sources
    copied = {
        node_id for node_id, uses in consumers.items() if len(uses) >= many and not sources[node_id]
    }
    if not copied:
        return NOTHING_COPIED
    taken = set(graph.by_id)
    seen: dict[str, int] = {}
    starts: list[str] = []
    copies: dict[str, Copy] = {}
    for edge in graph.edges:
        if edge.src not in copied:
            starts.append(edge.src)
            continue
        use = seen[edge.src] = seen.get(edge.src, 0) + 1
        copy_id = f"{edge.src}#use{use}"
        if use == 1 or copy_id in taken:  # an id the graph already has: drawn from the node
            starts.append(edge.src)
            continue
        copies[copy_id] = Copy(edge.src, edge.dst, use, len(consumers[edge.src]))
        starts.append(copy_id)
    return DrawnUses(tuple(starts), copies)
