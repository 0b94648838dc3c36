"""Where tracking stopped: detach(), .data, torch.no_grad() and requires_grad_(False).

Pure data from the Graph: the recorder flags the tensor made without history and draws a
"cut" edge from the tracked tensor it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gradviz.model.graph import Graph, Node
from gradviz.model.names import name_or_title

How = Literal["detach", "data", "no_grad", "requires_grad_off"]


HOW_TEXT: dict[str, str] = {
    "detach": "detach()",
    "data": ".data",
    "no_grad": "inside torch.no_grad()",
    "requires_grad_off": "requires_grad_(False)",
}


@dataclass(frozen=True)
class Cut:
    """One tensor autograd stopped tracking, and why."""

    node: str
    what: str
    """The tensor's name, or what made it when it has none (``detach``)."""
    how: How
    line: int | None
    """Where tracking stopped: the line that made the tensor, or that switched it off."""
    sources: list[str]
    """The tracked tensors it was cut from (none for requires_grad_(False))."""
    shared_storage: bool
    """detach()/.data: the new tensor shares its storage with the tracked one."""

    @property
    def how_text(self) -> str:
        return HOW_TEXT[self.how]

    def note(self) -> str:
        """What the cut means, in PyTorch's terms."""
        origin = " and ".join(f"`{s}`" for s in self.sources) or "the tracked tensor"
        if self.how in ("detach", "data"):
            shared = (
                f"shares storage with {origin}: an in-place change to one changes the other"
                if self.shared_storage
                else f"a copy of {origin}"
            )
            return f"same numbers, no history; {shared}"
        if self.how == "no_grad":
            return f"computed from {origin} but not recorded: a constant to autograd"
        return "a constant from here on: backward() no longer fills its .grad"


def _how(node: Node) -> How | None:
    if "detached" in node.flags:
        return "data" if node.label == "data" else "detach"
    if "no_grad" in node.flags:
        return "no_grad"
    if "requires_grad_off" in node.flags:
        return "requires_grad_off"
    return None


def cuts(graph: Graph) -> list[Cut]:
    """Every tensor whose tracking stopped, in the order the program made them."""
    index = graph.by_id
    sources: dict[str, list[str]] = {}
    for edge in graph.edges:
        if edge.kind == "cut":
            sources.setdefault(edge.dst, []).append(name_or_title(index[edge.src]))
    found = []
    for node in sorted(graph.nodes, key=lambda n: (n.seq is None, n.seq or 0)):
        how = _how(node)
        if how is None:
            continue
        line = node.stopped_line if how == "requires_grad_off" else node.line
        cut_from = sources.get(node.id, [])
        what = name_or_title(node)
        if node.name is None and how in ("detach", "data") and len(cut_from) == 1:
            what = f"{cut_from[0]}{HOW_TEXT[how] if how == 'data' else '.detach()'}"
        found.append(
            Cut(
                node=node.id,
                what=what,
                how=how,
                line=line if line is not None else node.line,
                sources=cut_from,
                shared_storage="shared_storage" in node.flags,
            )
        )
    return found
