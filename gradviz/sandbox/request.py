"""What the host and a sandboxed child send each other: plain data, as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradviz.sandbox.limits import Limits

END = b"\n"
"""Ends a child's complete result (JSON never holds a raw newline): the host need not wait
for the child's exit to trust it."""


@dataclass(frozen=True)
class Request:
    """What to run: the program text and how (all plain data, from the host)."""

    source: str
    seed: int = 0
    overrides: dict[int, dict[int, float]] = field(default_factory=dict)
    auto_backward: bool = True
    actions: tuple[str, ...] = ()
    max_elements: int = Limits.max_elements
    max_nodes: int = Limits.max_nodes
    result_bytes: int = Limits.result_bytes
    """The bounds the child keeps what it sends back within (see ``Limits``)."""

    def limits(self) -> Limits:
        """The child's side of the run's Limits (the kernel and the host enforce the rest)."""
        return Limits(
            max_elements=self.max_elements,
            max_nodes=self.max_nodes,
            result_bytes=self.result_bytes,
        )

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Request:
        overrides = {
            int(seq): {int(i): float(v) for i, v in values.items()}
            for seq, values in (data.get("overrides") or {}).items()
        }
        return Request(
            source=str(data["source"]),
            seed=int(data.get("seed", 0)),
            overrides=overrides,
            auto_backward=bool(data.get("auto_backward", True)),
            actions=tuple(str(a) for a in data.get("actions", ())),
            **{k: int(data[k]) for k in _BOUNDS if k in data},
        )

    def to_dict(self) -> dict[str, Any]:
        overrides = {str(s): {str(i): v for i, v in vs.items()} for s, vs in self.overrides.items()}
        return {
            "source": self.source,
            "seed": self.seed,
            "overrides": overrides,
            "auto_backward": self.auto_backward,
            "actions": list(self.actions),
            **{k: getattr(self, k) for k in _BOUNDS},
        }


_BOUNDS = ("max_elements", "max_nodes", "result_bytes")
