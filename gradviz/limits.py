"""How much a program may do: every limit has a default and can be changed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds on one run of a user's program.

    Each bound is checked before the work it guards is done, so a program that reaches one
    stops with a clear message instead of hanging or exhausting memory.
    """

    max_tensor_elements: int = 4_000_000
    """Elements in any one tensor or array, checked before it is allocated."""
    max_total_elements: int = 60_000_000
    """Elements summed over every tensor the program creates."""
    max_matmul_flops: int = 2_000_000_000
    """Multiply-adds in one matrix product."""
    max_int_bits: int = 4_096
    """Size of a Python int."""
    max_sequence_length: int = 1_000_000
    """Length of a Python str, list, tuple or dict."""
    max_loop_iterations: int = 100_000
    """Iterations of any one loop."""
    max_steps: int = 2_000_000
    """Interpreter steps (statements, expressions, elements consumed by builtins)."""
    max_call_depth: int = 40
    """Nesting of calls to the program's own functions."""
    max_nesting: int = 100
    """Nesting of the program's syntax tree."""
    max_source_chars: int = 100_000
    """Length of the program text."""
    max_seconds: float = 5.0
    """Wall time of the whole run."""
