"""Run a test's function in a child forked from a warm process that has imported torch.

The warm process (a "zygote") is a fresh interpreter started once per test session: forking
pytest itself would inherit whatever earlier tests did to it, and a child forked after its
parent ran an OpenMP parallel region hangs in its first one (libgomp is not fork-safe).
The zygote imports torch but never runs a parallel op, like the real fork server.

``run(fn, *args)`` sends the function's module and name, the zygote forks, the child runs it
and writes a JSON result back through a pipe (``RESULT_FD`` in the child), then ``os._exit``.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

CANARY = "GRADVIZ_SANDBOX_CANARY"
RESULT_FD = -1  # in the child: the pipe its result goes to
_ROOT = Path(__file__).resolve().parents[2]
_zygote: subprocess.Popen[str] | None = None


def _outcome(fn: Callable[..., Any], args: list[Any]) -> dict[str, Any]:
    try:
        return {"ok": fn(*args)}
    except BaseException as e:
        return {
            "error": type(e).__name__,
            "errno": getattr(e, "errno", None),
            "message": str(e),
            "trace": traceback.format_exc()[-3000:],
        }


def _child(request: dict[str, Any], fd: int) -> None:
    global RESULT_FD
    RESULT_FD = fd
    code = 1
    try:
        module = __import__(request["module"], fromlist=["_"])
        out = _outcome(getattr(module, request["name"]), request["args"])
        os.write(fd, json.dumps(out).encode())
        code = 0
    finally:
        os._exit(code)


def _fork(request: dict[str, Any]) -> dict[str, Any]:
    __import__(request["module"])  # once, in the zygote: children start with it imported
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(request, w)
    os.close(w)
    data, deadline, timed_out = b"", time.monotonic() + request["timeout"], False
    while True:
        ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"timeout": True}
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    if not data:
        return {"exit": os.waitstatus_to_exitcode(status)}
    result: dict[str, Any] = json.loads(data)
    return result


def serve() -> None:
    """The zygote's loop: one JSON request per line on stdin, one reply per line on stdout."""
    import numpy  # noqa: F401
    import torch

    import gradviz.sandbox.confine
    import gradviz.sandbox.probe  # noqa: F401

    torch.ones(2).sum()  # warm, but no parallel region
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # children's prints must not reach the pipe
    for line in sys.stdin:
        out.write(json.dumps(_fork(json.loads(line))) + "\n")
        out.flush()


def _stop() -> None:
    if _zygote is not None and _zygote.poll() is None:
        _zygote.kill()
        _zygote.wait()


def _start() -> subprocess.Popen[str]:
    global _zygote
    if _zygote is None or _zygote.poll() is not None:
        env = {**os.environ, CANARY: "secret-value", "PYTHONPATH": str(_ROOT)}
        code = "from tests.sandbox.forked import serve; serve()"
        _zygote = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_ROOT,
            env=env,
            text=True,
        )
        atexit.register(_stop)
    return _zygote


def run(fn: Callable[..., Any], *args: Any, timeout: float = 60.0) -> dict[str, Any]:
    """Runs ``fn(*args)`` (a module-level function, JSON-able args) in a forked child.

    Returns:
        ``{"ok": value}``, ``{"error": type name, "errno": ..., "message": ...}``,
        ``{"signal": n}`` when the child was killed, ``{"exit": code}`` when it exited
        without a result, or ``{"timeout": True}``.
    """
    zygote = _start()
    assert zygote.stdin is not None and zygote.stdout is not None
    request = {"module": fn.__module__, "name": fn.__name__, "args": list(args), "timeout": timeout}
    zygote.stdin.write(json.dumps(request) + "\n")
    zygote.stdin.flush()
    reply = zygote.stdout.readline()
    if not reply:
        raise RuntimeError("the test zygote died")
    result: dict[str, Any] = json.loads(reply)
    return result


def ok(result: dict[str, Any]) -> Any:
    """The child's value, or a failed assertion showing what happened instead."""
    assert "ok" in result, result.get("trace") or result
    return result["ok"]
