"""What confinement this kernel offers, found in a short-lived forked child.

The child applies each layer to itself, checks it bites, reports over a pipe and exits; the
calling process is not changed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Sequence

from gradviz.sandbox import landlock, rlimits, seccomp_filter
from gradviz.sandbox.confine import default_readable
from gradviz.sandbox.layers import Layers

_TIMEOUT = 10.0
_NOTHING = Layers(landlock=None, seccomp=False, rlimits=False, audit=False)


def _try_layers() -> dict[str, object]:
    """In the child: each layer, applied and then shown to hold."""
    found: dict[str, object] = {"landlock": None, "seccomp": False, "rlimits": False}
    try:
        rlimits.apply(2**40, 3600, 1024)
        found["rlimits"] = True
    except (OSError, ValueError):
        pass
    try:
        applied = landlock.restrict([sys.prefix])
        try:
            with open("/proc/self/status", "rb"):
                pass  # still readable: Landlock did not hold
        except PermissionError:
            found["landlock"] = applied
    except (OSError, RuntimeError):
        pass
    try:
        seccomp_filter.install()
        try:
            socket.socket().close()
        except PermissionError:
            found["seccomp"] = True
    except (OSError, RuntimeError):
        pass
    return found


def _child(fd: int) -> None:
    code = 1
    try:
        os.write(fd, json.dumps(_try_layers()).encode())
        code = 0
    finally:
        os._exit(code)


def _read(fd: int, pid: int) -> bytes:
    data = b""
    deadline = time.monotonic() + _TIMEOUT
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk
    os.kill(pid, signal.SIGKILL)
    return data


def probe() -> Layers:
    """The layers this kernel and process can apply (the caller itself is left as it was)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(w)
    os.close(w)
    try:
        data = _read(r, pid)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    try:
        found = json.loads(data)
    except ValueError:
        return _NOTHING
    abi = found.get("landlock")
    return Layers(
        landlock=abi if isinstance(abi, int) else None,
        seccomp=found.get("seccomp") is True,
        rlimits=found.get("rlimits") is True,
        audit=hasattr(sys, "addaudithook"),
    )


def complete(report: Layers) -> bool:
    """Whether every layer holds: Landlock (any ABI), seccomp, rlimits and the audit hook."""
    return report.landlock is not None and report.seccomp and report.rlimits and report.audit


def describe(report: Layers, readable: Sequence[str] | None = None) -> list[str]:
    """Lines a person reads: what each layer does here, then what is missing."""
    lines: list[str] = []
    missing: list[str] = []
    if report.landlock is not None:
        under = ", ".join(default_readable() if readable is None else readable)
        text = (
            f"Landlock ABI {report.landlock}: files readable only under {under}, writable nowhere"
        )
        if report.landlock >= 4:
            text += "; no TCP bind or connect"
        if report.landlock >= 6:
            text += "; no signals or abstract unix sockets outside the sandbox"
        lines.append(text)
    else:
        missing.append("Landlock (files outside the Python installation can be read)")
    if report.seccomp:
        lines.append(
            "seccomp: no sockets, no exec, no new processes, no file writes, no signals to "
            "other processes, no mounts, namespaces, ptrace or io_uring"
        )
    else:
        missing.append("seccomp (sockets, exec and new processes are not stopped by the kernel)")
    if report.rlimits:
        lines.append("rlimits: memory, CPU time and open files bounded; no file output, no cores")
    else:
        missing.append("rlimits (memory and CPU time are not bounded)")
    if report.audit:
        lines.append("audit hook: refused operations are reported with a clear message")
    else:
        missing.append("audit hook (refusals show as bare PermissionErrors)")
    if missing:
        lines.append("missing: " + "; ".join(missing))
    return lines
