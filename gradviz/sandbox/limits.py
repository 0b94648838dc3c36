"""How much one run of a program may use: every limit has a default and can be changed."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30


@dataclass(frozen=True)
class Limits:
    """Bounds on one run of a user's program in its sandboxed child process.

    The kernel enforces the program's (an address-space rlimit, a CPU-time rlimit, the
    host's deadline), so a program that reaches one stops with a clear message and the
    server goes on. The child itself keeps what it sends back within the others, so a big
    graph comes back smaller rather than not at all.
    """

    seconds: float = 10.0
    """Wall-clock deadline of the run: past it the child is killed."""
    memory_bytes: int = 2 * GIB
    """Memory the program may allocate (address space beyond the warm worker's own)."""
    result_bytes: int = 256 * 2**20
    """Size of the JSON a run may send back: past it the child sends the graph with every
    value summarized, then with fewer nodes, before it gives up with a message."""
    max_elements: int = 2_000_000
    """Tensor elements a run copies in full, values and gradients together: past it, the
    rest are summaries (min, max, mean, first elements), with a note."""
    max_nodes: int = 20_000
    """Nodes a run sends back: past it, the ones nearest the outputs, with a note (the app
    folds what it draws to its own, smaller budget)."""
    source_chars: int = 200_000
    """Length of the program text."""
