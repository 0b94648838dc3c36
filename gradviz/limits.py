"""How much one run of a program may use: every limit has a default and can be changed."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30


@dataclass(frozen=True)
class Limits:
    """Bounds on one run of a user's program in its sandboxed child process.

    The kernel enforces them (an address-space rlimit, a CPU-time rlimit, the host's
    deadline), so a program that reaches one stops with a clear message and the server
    goes on.
    """

    seconds: float = 10.0
    """Wall-clock deadline of the run: past it the child is killed."""
    memory_bytes: int = 2 * GIB
    """Memory the program may allocate (address space beyond the warm worker's own)."""
    result_bytes: int = 256 * 2**20
    """Size of the JSON a run may send back."""
    source_chars: int = 200_000
    """Length of the program text."""
