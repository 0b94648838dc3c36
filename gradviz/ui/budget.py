"""Whether a view can afford to re-run the program many times (a curve needs dozens of runs)."""

from __future__ import annotations

from gradviz.ui.runs import execute, run_program

BUDGET = 8.0
"""Seconds a view's reruns may take on a first draw."""


def seconds_per_run(source: str, runs: int, budget: float = BUDGET) -> float:
    """How long one run of the program takes, timed again when the cached run looks too slow.

    The first run in a process pays one-time costs that later runs do not (creating the first
    torch.optim optimizer imports for about 2 s), so a slow first timing is checked once more.
    """
    seconds = run_program(source).seconds
    if seconds * runs > budget:
        seconds = min(seconds, execute(source).seconds)
    return seconds


def affordable(source: str, runs: int, budget: float = BUDGET) -> bool:
    """``runs`` runs of the program fit in the budget."""
    return seconds_per_run(source, runs, budget) * runs <= budget
