"""The id of a node that stands for several: a collapsed module call, a folded chain, a run
of repeated blocks, or merged leaves.

Group ids are node ids like any other in a view's Graph (the DOT, the SVG and the URL carry
them as text: ``m:encoder.0#2``, ``f:n17``), so they are made and read here only, never
taken apart by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GroupKind = Literal["module", "chain", "repeats", "sources"]
_PREFIX: dict[GroupKind, str] = {"module": "m", "chain": "f", "repeats": "r", "sources": "s"}
_KIND: dict[str, GroupKind] = {p: k for k, p in _PREFIX.items()}


@dataclass(frozen=True)
class GroupId:
    kind: GroupKind
    target: str
    """The module path (module, repeats) or the id of the first node inside (chain, sources)."""
    call: int = 1
    """Which call of the module this is, when it ran more than once."""

    def __str__(self) -> str:
        text = f"{_PREFIX[self.kind]}:{self.target}"
        return text + (f"#{self.call}" if self.call > 1 else "")

    @property
    def key(self) -> str:
        """What opens it (``budget_view(opened=...)``): a module opens in all its calls."""
        return str(GroupId(self.kind, self.target)) if self.kind == "module" else str(self)

    @staticmethod
    def parse(node_id: str) -> GroupId | None:
        """The group a node id names, or None for an ordinary node's id."""
        prefix, colon, rest = node_id.partition(":")
        kind = _KIND.get(prefix)
        if not colon or kind is None or not rest:
            return None
        if kind == "module":
            path, hash_, call = rest.rpartition("#")
            if hash_ and call.isdigit():
                return GroupId(kind, path, int(call))
        return GroupId(kind, rest)
