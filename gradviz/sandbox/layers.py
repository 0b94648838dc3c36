"""Which kernel layers a sandboxed child applies: plain data the host can read anywhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layers:
    """The layers that hold: Landlock's ABI (None when not applied) and the others' switches."""

    landlock: int | None
    seccomp: bool
    rlimits: bool
    audit: bool


@dataclass(frozen=True)
class SandboxReport:
    """What the fork server found at its start: the layers each child applies, and where its
    children may read."""

    layers: Layers
    readable: tuple[str, ...]
