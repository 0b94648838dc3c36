"""What a person reads for a node: its name and what made it, never an internal id.

Node ids (``n3``) key the graph; people are shown ``y = add``, and where two nodes would
read the same, the program line that made each one (``y = add, line 5``), then their order
(``tanh, line 12 #3``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from gradviz.model.graph import Graph, Node


def title(node: Node) -> str:
    """The heading of a node: its name and what made it (``y = mul``, ``x (leaf)``)."""
    what = node.label if node.kind == "op" else ("leaf" if node.kind == "leaf" else node.label)
    if node.name:
        return f"{node.name} = {what}" if node.kind == "op" else f"{node.name} ({what})"
    return what


def name_or_title(node: Node) -> str:
    """What the teaching views call a node: its variable (``x``), else its heading (``mul``)."""
    return node.name or title(node)


def short(node: Node) -> str:
    """A node's variable (``x``), else what made it (``pow``): for axes and table columns."""
    return node.name or node.label


def distinct(graph: Graph, base: Callable[[Node], str] = title) -> dict[str, str]:
    """Node id -> ``base(node)``, told apart where two nodes would read the same."""
    return distinct_among(graph.nodes, base)


def distinct_among(nodes: Sequence[Node], base: Callable[[Node], str] = title) -> dict[str, str]:
    """``distinct`` for some of a graph's nodes (told apart from one another only)."""
    names = {node.id: base(node) for node in nodes}
    repeated = _repeats(names)
    for node in nodes:
        if names[node.id] in repeated and node.line:
            names[node.id] += f", line {node.line}"
    return numbered(names)


def numbered(names: dict[str, str]) -> dict[str, str]:
    """``names`` with ``#1``, ``#2``... after each that repeats, in their order."""
    repeated = _repeats(names)
    seen: dict[str, int] = {}
    out = {}
    for key, name in names.items():
        if name in repeated:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} #{seen[name]}"
        out[key] = name
    return out


def _repeats(names: dict[str, str]) -> set[str]:
    return {name for name, count in Counter(names.values()).items() if count > 1}


def short_labels(graph: Graph) -> dict[str, str]:
    """A short, unique label per node for axes and pickers: its name, else what made it
    (``x``, ``pow``), with the line (and order) where two would read the same."""
    return distinct(graph, short)
