"""``gradviz.run``: run a program in a sandboxed child process and rebuild its Graph here.

The program runs as real CPython in a child forked from a warm worker (``gradviz.sandbox``);
what comes back is JSON, read as untrusted and validated (``gradviz.model.wire``). This
process never runs the user's text.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gradviz.capture.gc_pause import no_gc
from gradviz.model.errors import (
    GradvizError,
    LimitExceeded,
    ProgramCrashed,
    ProgramError,
    ProgramSyntaxError,
    RefusedError,
    RunCancelled,
    SandboxError,
)
from gradviz.model.graph import Graph
from gradviz.model.wire import WireError, from_wire
from gradviz.sandbox.layers import SandboxReport
from gradviz.sandbox.limits import GIB, Limits
from gradviz.sandbox.pool import Pool, Reply, ServerGone, shared_pool
from gradviz.sandbox.request import Request

_KINDS: dict[str, type[GradvizError]] = {
    "syntax error": ProgramSyntaxError,
    "refused": RefusedError,
    "limit reached": LimitExceeded,
    "error": ProgramError,
}


def _amount(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size / 2**20:g} MB"


def _too_big(limits: Limits) -> str:
    return (
        f"the recorded graph is bigger than the {_amount(limits.result_bytes)} a run may send "
        "back: record fewer steps or smaller tensors"
    )


def _error(data: Any, limits: Limits) -> GradvizError:
    """The child's description of a failure, checked before it is believed."""
    if not isinstance(data, dict):
        return SandboxError("the sandbox sent back a malformed error")
    message, line, col = data.get("message"), data.get("line"), data.get("col")
    if not isinstance(message, str):
        return SandboxError("the sandbox sent back a malformed error")
    line = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None
    col = col if isinstance(col, int) and not isinstance(col, bool) and col > 0 else None
    detail = data.get("detail")
    detail = detail[:4_000] if isinstance(detail, str) else ""
    kind = _KINDS.get(str(data.get("kind")), SandboxError)
    if data.get("memory") is True:
        message = f"the program needed more than {_amount(limits.memory_bytes)} of memory"
    if data.get("too_big") is True:
        message = _too_big(limits)
    return kind(message[:4_000], line, col, detail)


def _ending_error(reply: Reply, limits: Limits) -> GradvizError | None:
    """Why a child that sent no result ended (killed at the deadline, a crash...)."""
    ending = reply.ending
    line = ending.line
    at = f" (line {line})" if line else ""
    if ending.reason == "cancelled":
        return RunCancelled("the run was cancelled")
    if reply.too_big:
        return LimitExceeded(_too_big(limits), line)
    if ending.reason == "deadline":
        return LimitExceeded(f"the program ran longer than {limits.seconds:g} s{at}", line)
    if ending.signal == signal.SIGXCPU:
        return LimitExceeded(f"the program used more CPU time than its limit{at}", line)
    if ending.signal is not None:
        try:
            name = signal.Signals(ending.signal).name
        except ValueError:
            name = f"signal {ending.signal}"
        where = f"at line {line}" if line else "before its first line"
        return ProgramCrashed(f"the program crashed PyTorch {where} ({name})", line)
    if not reply.data:
        return SandboxError(f"the sandboxed process ended without a result (exit {ending.exit})")
    return None


def graph_of(reply: Reply, limits: Limits) -> Graph:
    """The Graph a child sent, or the GradvizError that says why there is none."""
    problem = _ending_error(reply, limits)
    if problem is not None:
        raise problem
    with no_gc():  # hundreds of thousands of small lists: the collector's passes would double it
        try:
            result = json.loads(reply.data)
        except (ValueError, RecursionError):
            raise SandboxError("the sandbox sent back something that is not JSON") from None
        if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
            raise SandboxError("the sandbox sent back an unexpected result")
        if not result["ok"]:
            raise _error(result.get("error"), limits)
        try:
            return from_wire(result.get("graph"))
        except WireError as e:
            raise SandboxError(f"the sandbox sent back an invalid graph: {e}") from None


def run(
    source: str,
    *,
    limits: Limits | None = None,
    seed: int = 0,
    overrides: dict[int, dict[int, float]] | None = None,
    auto_backward: bool = True,
    actions: Sequence[str] = (),
    pool: Pool | None = None,
    on_wait: Callable[[str, float], None] | None = None,
    cancelled: threading.Event | None = None,
    background: bool = False,
) -> Graph:
    """Run a PyTorch program in the sandbox and return what autograd did.

    Args:
        source: The program text: any Python the sandbox allows (classes, custom autograd
            Functions, torch.func, the standard library...). It runs only in a child process.
        limits: Time, memory and result size; defaults to ``Limits()``.
        seed: Seed of torch's, random's and numpy's generators for the run: the same program
            gives the same values, ids and JSON every time.
        overrides: ``{seq: {index: value}}``: set elements of the seq-th tensor created
            (move a point along the curve).
        auto_backward: Run backward on a scalar result if the program never did.
        actions: ``"backward"`` / ``"zero_grad"`` replayed after the program (the app's
            buttons): see ``gradviz.capture.replay``.
        pool: The worker pool (default: the process's shared one).
        on_wait: Called about four times a second while the run waits, with ``"queued"``
            (no free worker yet) or ``"running"`` and the seconds so far; if it raises, the
            run is abandoned and its process killed.
        cancelled: Set it to abandon the run: its process is killed.
        background: A run no one is waiting to see (the app's curve points): it waits while
            any other run is queued.

    Returns:
        The Graph, with the program's printed output, its last value and notes.

    Raises:
        GradvizError: ProgramSyntaxError, RefusedError, LimitExceeded, ProgramError or
            ProgramCrashed, each with the line and column where known.
    """
    limits = limits or Limits()
    if len(source) > limits.source_chars:
        raise LimitExceeded(f"the program is longer than {limits.source_chars:,} characters")
    request = Request(
        source=source,
        seed=seed,
        overrides=overrides or {},
        auto_backward=auto_backward,
        actions=tuple(actions),
        max_elements=limits.max_elements,
        max_nodes=limits.max_nodes,
        result_bytes=limits.result_bytes,
    )
    try:
        reply = (pool or shared_pool()).run(
            request, limits, on_wait=on_wait, cancelled=cancelled, background=background
        )
    except ServerGone as e:
        raise SandboxError(str(e)) from None
    return graph_of(reply, limits)


def sandbox_report(pool: Pool | None = None) -> SandboxReport:
    """The layers each sandboxed child applies here, and where it may read.

    Raises:
        SandboxError: the sandbox's worker could not be started.
    """
    try:
        return (pool or shared_pool()).report()
    except ServerGone as e:
        raise SandboxError(str(e)) from None
