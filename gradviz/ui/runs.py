"""Running a program for the app: every failure becomes a message, and runs are cached."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st

import gradviz
from gradviz.curve import Overrides, Runner
from gradviz.errors import GradvizError
from gradviz.graph.model import Graph
from gradviz.sandbox.pool import shared_pool

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
) -> Outcome:
    """Run the program (then replay the buttons' ``actions``); never raises.

    A GradvizError is the user's (syntax, refused, limit, error in the program). Anything else
    is a bug in gradviz: reported as an internal error, its traceback only in the server log.
    """
    try:
        shared_pool().warm()  # its start-up is not the program's time
        start = time.perf_counter()
        graph = gradviz.run(source, seed=seed, overrides=overrides, actions=actions)
        return Outcome(graph, seconds=time.perf_counter() - start)
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


# A shared resource, not cache_data: cache_data unpickles a fresh copy on every read, which costs
# about a second per rerun for a 6,000-node graph. Runs are therefore shared between sessions
# and must never be mutated: the panels derive new Graphs (dataclasses.replace) instead.
@st.cache_resource(max_entries=256, show_spinner=False)
def _cached(
    source: str,
    key: tuple[tuple[int, tuple[tuple[int, float], ...]], ...],
    seed: int,
    actions: tuple[str, ...] = (),
) -> Outcome:
    overrides = {seq: dict(values) for seq, values in key} or None
    return execute(source, overrides, seed, actions)


def run_program(
    source: str,
    overrides: Overrides | None = None,
    seed: int = SEED,
    actions: tuple[str, ...] = (),
) -> Outcome:
    """``execute``, cached by (program, overrides, seed, actions). The Outcome is shared:
    read it, never change it."""
    return _cached(source, _key(overrides), seed, actions)


def runner(seed: int = SEED, *, cached: bool = True) -> Runner:
    """A Runner for ``gradviz.curve``: runs that raise GradvizError when they fail.

    Args:
        seed: The program's seed.
        cached: Go through the run cache (the curve's many points are cached as one list
            instead, so they need not fill the cache one Graph each).
    """

    def run(source: str, overrides: Overrides | None) -> Graph:
        outcome = (
            run_program(source, overrides, seed) if cached else execute(source, overrides, seed)
        )
        if outcome.graph is None:
            failure = outcome.failure or Failure("error", "no graph")
            raise GradvizError(failure.message, failure.line, failure.col)
        return outcome.graph

    return run
