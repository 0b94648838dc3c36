"""The error raised when a requested confinement layer cannot be applied."""

from __future__ import annotations


class SandboxUnavailable(RuntimeError):
    """This kernel or process cannot apply a confinement layer that was asked for."""
