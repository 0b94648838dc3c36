"""Whether a view can afford to re-run the program many times (a curve needs dozens of runs)."""

from __future__ import annotations

from gradviz.app.runs import run_program

BUDGET = 8.0
"""Seconds a view's reruns may take on a first draw; slower programs get no such view."""


def seconds_per_run(source: str) -> float:
    """How long one run of the program takes: the cached run's own time (the sandbox's
    start-up is not counted: ``runs.execute`` waits for it before timing)."""
    return run_program(source).seconds


def affordable(source: str, runs: int, budget: float = BUDGET) -> bool:
    """``runs`` runs of the program fit in the budget."""
    return seconds_per_run(source) * runs <= budget
