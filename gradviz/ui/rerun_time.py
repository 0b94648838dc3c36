"""Whether a view can afford to re-run the program many times (a curve needs dozens of runs)."""

from __future__ import annotations

from gradviz.ui.runs import run_program

BUDGET = 8.0
"""Seconds a view's reruns may take on a first draw; slower programs get no such view."""


def seconds_per_run(source: str) -> float:
    """How long one run of the program takes: the cached run's own time.

    A first run in a process can be trusted: the one-time cost that made it slow (the first
    torch.optim optimizer importing torch._dynamo, 2-3 s) is paid when ``runs`` is imported,
    and a first run of any gallery example now costs at most 0.06 s more than the next.
    """
    return run_program(source).seconds


def affordable(source: str, runs: int, budget: float = BUDGET) -> bool:
    """``runs`` runs of the program fit in the budget."""
    return seconds_per_run(source) * runs <= budget
