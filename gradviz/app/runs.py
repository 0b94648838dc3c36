"""Running a program for the app: every failure becomes a message, and runs are cached."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import gradviz
from gradviz.model.errors import GradvizError
from gradviz.model.graph import Graph
from gradviz.sandbox.pool import shared_pool
from gradviz.teach.curve import Overrides, Runner

# The fork server imports torch and warms up (several seconds): start it with the app, so the
# first page load overlaps with it.
threading.Thread(target=shared_pool().warm, name="gradviz-warm", daemon=True).start()

SEED = 0
"""Seed of the program's own random generator: a shared link shows the same numbers."""
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why a run gave no graph, in the user's terms (never a traceback)."""

    kind: str
    """``syntax error``, ``refused``, ``limit reached``, ``error`` or ``internal error``."""
    message: str
    line: int | None = None
    col: int | None = None
    detail: str = ""
    """The program's own frames as Python prints them (source lines and carets)."""

    @property
    def place(self) -> str:
        """``line:col`` (``""`` when the place is unknown)."""
        return "" if self.line is None else f"{self.line}:{self.col or 1}"

    def text(self) -> str:
        """``line:col: message``, like ``str()`` of a GradvizError."""
        return f"{self.place}: {self.message}" if self.place else self.message


@dataclass(frozen=True)
class Outcome:
    """A run's Graph, or why there is none."""

    graph: Graph | None
    failure: Failure | None = None
    seconds: float = 0.0
    """How long the run took (the curve needs a few dozen of them)."""


def execute(
    source: str,
    overrides: Overrides | None = None,
    seed: int = SEED,
    actions: tuple[str, ...] = (),
    on_wait: Callable[[str, float], None] | None = None,
    background: bool = False,
) -> Outcome:
    """Run the program (then replay the buttons' ``actions``); never raises a gradviz error.

    A GradvizError is the user's (syntax, refused, limit, error in the program). Anything else
    is a bug in gradviz: reported as an internal error, its traceback only in the server log.
    Streamlit's own rerun and stop signals, raised from ``on_wait`` when the page moves on,
    pass through (they are BaseExceptions): the run is then abandoned and its process killed.
    """
    queued = 0.0

    def waiting(state: str, seconds: float) -> None:
        nonlocal queued
        if state == "queued":  # waiting for a worker is not the program's time either
            queued = seconds
        if on_wait is not None:
            on_wait(state, seconds)

    try:
        shared_pool().warm()  # its start-up is not the program's time
        start = time.perf_counter()
        graph = gradviz.run(
            source,
            seed=seed,
            overrides=overrides,
            actions=actions,
            on_wait=waiting,
            background=background,
        )
        return Outcome(graph, seconds=time.perf_counter() - start - queued)
    except GradvizError as err:
        return Outcome(None, Failure(err.kind, err.message, err.line, err.col, err.detail))
    except Exception as err:  # a gradviz bug: never a traceback on the page
        _log.exception("internal error while running a program")
        message = (
            f"gradviz failed on this program ({type(err).__name__}). This is a bug in "
            "gradviz, not in your program."
        )
        return Outcome(None, Failure("internal error", message))


def _key(overrides: Overrides | None) -> tuple[tuple[int, tuple[tuple[int, float], ...]], ...]:
    if not overrides:
        return ()
    return tuple(sorted((seq, tuple(sorted(v.items()))) for seq, v in overrides.items()))


_Key = tuple[str, tuple[tuple[int, tuple[tuple[int, float], ...]], ...], int, tuple[str, ...]]


class _Runs:
    """Outcomes of recent runs, shared by every session (a run is a process: repeating one
    for each student who opens the same example would be waste). Plain, not st.cache_*:
    the page reports a run's progress while it waits, which a cached function may not do,
    and cache_data would unpickle a fresh copy per read (a second for a 6,000-node graph).
    Sharing is safe by construction: an Outcome and its Graph are frozen values."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.outcomes: OrderedDict[_Key, Outcome] = OrderedDict()

    def get(self, key: _Key) -> Outcome | None:
        with self.lock:
            outcome = self.outcomes.get(key)
            if outcome is not None:
                self.outcomes.move_to_end(key)
            return outcome

    def put(self, key: _Key, outcome: Outcome) -> None:
        if outcome.failure is not None and outcome.failure.kind in _NOT_KEPT:
            return
        with self.lock:
            self.outcomes[key] = outcome
            self.outcomes.move_to_end(key)
            while len(self.outcomes) > self.size:
                self.outcomes.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.outcomes.clear()


_NOT_KEPT = frozenset({"cancelled", "internal error"})
"""Failures that say nothing about the program: the next run tries again."""
RUNS = _Runs()


def run_program(
    source: str,
    overrides: Overrides | None = None,
    seed: int = SEED,
    actions: tuple[str, ...] = (),
    on_wait: Callable[[str, float], None] | None = None,
) -> Outcome:
    """``execute``, remembered by (program, overrides, seed, actions); the Outcome is shared
    by every session that asks for the same run."""
    key: _Key = (source, _key(overrides), seed, actions)
    outcome = RUNS.get(key)
    if outcome is None:
        outcome = execute(source, overrides, seed, actions, on_wait)
        RUNS.put(key, outcome)
    return outcome


def runner(seed: int = SEED, *, cached: bool = True, background: bool = False) -> Runner:
    """A Runner for ``gradviz.teach.curve``: runs that raise GradvizError when they fail.

    Args:
        seed: The program's seed.
        cached: Go through the run cache (the curve's many points are cached as one list
            instead, so they need not fill the cache one Graph each).
        background: Queue behind the runs users wait to see (``gradviz.run``'s).
    """

    def run(source: str, overrides: Overrides | None) -> Graph:
        if cached:
            outcome = run_program(source, overrides, seed)
        else:
            outcome = execute(source, overrides, seed, background=background)
        if outcome.graph is None:
            failure = outcome.failure or Failure("error", "no graph")
            raise GradvizError(failure.message, failure.line, failure.col)
        return outcome.graph

    return run
