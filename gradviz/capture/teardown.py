"""Let deep autograd graphs that gradviz has looked at be freed without a crash.

Once Python has seen an autograd Node (``grad_fn``, ``next_functions``), torch ties a Python
object to it for the Node's whole life, and frees such Nodes recursively, one C stack frame
group per Node: a chain of ~30,000 of them overflows the C stack when it is let go. Nodes
freed one at a time, each while its inputs are still held from elsewhere, never recurse.

So for a big graph one list holds all its Nodes (oldest first: a list lets go of its items
from the end, so consumers go before their inputs). The list hangs off a do-nothing pre-hook
on every root Node, which makes a reference cycle through each root: the garbage collector
breaks it once nothing but the cycle holds the roots, and the list's release then frees the
graph one Node at a time.
"""

from __future__ import annotations

from typing import Any

DEEP_GRAPH_NODES = 10_000
"""Graphs with fewer Nodes than this cannot be deep enough to overflow the stack: they are
left alone (no hook is added to the program's graph)."""


class _Keeper:
    """Holds Nodes; called as a pre-hook, it leaves the gradients as they are."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list[Any]) -> None:
        self.nodes = nodes

    def __call__(self, grad_outputs: tuple[Any, ...]) -> None:
        return None


def _creation_order(node: Any) -> int:
    return int(node._sequence_nr())


def keep_until_unused(nodes: list[Any], roots: list[Any]) -> None:
    """Have ``nodes`` (autograd Nodes, ``roots`` among them: those no other of them
    consumes) freed one at a time once the program no longer holds any of the roots."""
    if len(nodes) < DEEP_GRAPH_NODES or not roots:
        return
    keeper = _Keeper(sorted(nodes, key=_creation_order))
    for root in roots:
        root.register_prehook(keeper)
