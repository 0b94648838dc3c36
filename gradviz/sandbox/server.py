"""The fork server: a warm process that forks one sandboxed child per run.

Started by the host (``gradviz.sandbox.pool``) with a scrubbed environment and one socket, it
imports torch, numpy and gradviz once, runs a small program to warm torch's lazy imports,
then waits. Each ``run`` message brings two pipe ends (the request to read, the result to
write); the server forks, the child confines itself (``confine``), runs the program
(``program.run_request``), writes its result as JSON and exits. The server supervises: it
kills a child at its deadline or when the host cancels it, reaps it through a pidfd, and
tells the host how it ended and which line was running (a shared page the child writes).

The server itself runs only gradviz's code; user text exists only in the children.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import mmap
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import gradviz.sandbox.preload
from gradviz.sandbox.confine import Confinement, confine, default_readable
from gradviz.sandbox.layers import Layers
from gradviz.sandbox.probe import probe
from gradviz.sandbox.program import run_request
from gradviz.sandbox.request import END, Request

MESSAGE_BYTES = 65_536
"""Largest control message (the program text travels through a pipe, not here)."""
_PR_SET_PDEATHSIG = 1
READABLE = default_readable()
"""Where children may read, found once here (the server runs from /, outside any project)."""
LAYERS = Layers(landlock=None, seccomp=False, rlimits=False, audit=False)
"""The layers this kernel offers (``probe`` at start): every child applies all of them."""


@dataclass
class _Child:
    id: int
    pid: int
    pidfd: int
    deadline: float
    started: float
    progress: mmap.mmap
    reason: str | None = None
    """``deadline`` or ``cancelled`` when the server killed it."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _read_all(fd: int, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _die_with_parent() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_main(message: dict[str, Any], request_fd: int, result_fd: int, progress: Any) -> None:
    """In the forked child: read the request, confine, run, write the result. Never returns."""
    code = 70
    try:
        _die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        data = _read_all(request_fd, message["request_bytes"])
        os.close(request_fd)
        request = Request.from_dict(json.loads(data))
        limits = Confinement(
            memory_bytes=int(message["memory_bytes"]),
            cpu_seconds=max(1, int(message["cpu_seconds"])),
            readable=READABLE,
            landlock=LAYERS.landlock is not None,
            seccomp=LAYERS.seccomp,
            rlimits=LAYERS.rlimits,
            audit=bool(message["audit"]),
        )
        try:
            confine(limits, keep_fds=[result_fd], workdir=message["workdir"])
        except Exception as e:  # never run a program in a half-confined process
            failure = {"ok": False, "error": _internal(f"the sandbox could not be set up: {e}")}
            _write_all(result_fd, json.dumps(failure).encode() + END)
            raise
        result = run_request(request, memoryview(progress).cast("i"), request.limits())
        try:
            out = json.dumps(result, allow_nan=False, separators=(",", ":")).encode()
        except MemoryError:
            failure = {"ok": False, "error": {**_limit("memory"), "memory": True}}
            out = json.dumps(failure).encode()
        except (ValueError, TypeError, RecursionError) as e:
            failure = {"ok": False, "error": _internal(f"result not plain JSON: {e}")}
            out = json.dumps(failure).encode()
        if len(out) > int(message["result_bytes"]):  # the host words the message
            too_big = {**_limit(f"{len(out):,} bytes"), "too_big": True}
            out = json.dumps({"ok": False, "error": too_big}).encode()
        _write_all(result_fd, out + END)
        os.close(result_fd)  # the host has it all now, before this process's slow teardown
        code = 0
    finally:
        os._exit(code)


def _internal(message: str) -> dict[str, Any]:
    return {"kind": "internal error", "message": message, "line": None, "col": None}


def _limit(message: str) -> dict[str, Any]:
    return {"kind": "limit reached", "message": message, "line": None, "col": None}


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.children: dict[int, _Child] = {}
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)
        self.workdir = tempfile.mkdtemp(prefix="gradviz-run-")
        """An empty working directory for the children (Landlock keeps it empty)."""

    def start(self, message: dict[str, Any], fds: list[int]) -> None:
        request_fd, result_fd = fds
        progress = mmap.mmap(-1, mmap.PAGESIZE)  # shared with the child: the line running
        message["workdir"] = self.workdir
        pid = os.fork()
        if pid == 0:
            self.sock.close()
            child_main(message, request_fd, result_fd, progress)
        os.close(request_fd)
        os.close(result_fd)
        pidfd = os.pidfd_open(pid)
        now = time.monotonic()
        child = _Child(message["id"], pid, pidfd, now + float(message["seconds"]), now, progress)
        self.children[pidfd] = child
        self.selector.register(pidfd, selectors.EVENT_READ)
        send(self.sock, {"id": child.id, "pid": pid})

    def reap(self, child: _Child) -> None:
        self.selector.unregister(child.pidfd)
        del self.children[child.pidfd]
        _, status = os.waitpid(child.pid, 0)
        os.close(child.pidfd)
        line = memoryview(child.progress).cast("i")[0]
        child.progress.close()
        send(
            self.sock,
            {
                "id": child.id,
                "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "reason": child.reason,
                "line": line or None,
                "seconds": time.monotonic() - child.started,
            },
        )

    def kill(self, child: _Child, reason: str) -> None:
        if child.reason is None:
            child.reason = reason
            try:
                signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def handle(self) -> bool:
        """One control message from the host; False when the host has gone."""
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MESSAGE_BYTES, 2)
        except ConnectionResetError:  # the host stopped mid-message (a server being stopped)
            return False
        if not data:
            return False
        message = json.loads(data)
        if message["op"] == "run":
            self.start(message, fds)
        elif message["op"] == "cancel":
            for child in self.children.values():
                if child.id == message["id"]:
                    self.kill(child, "cancelled")
        return True

    def serve(self) -> None:
        layers = dataclasses.asdict(LAYERS)
        ready = {"ready": True, "pid": os.getpid(), "layers": layers, "readable": READABLE}
        send(self.sock, ready)
        while True:
            now = time.monotonic()
            deadlines = [c.deadline for c in self.children.values() if c.reason is None]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.sock:
                    if not self.handle():
                        self.shutdown()
                        return
                else:
                    child = self.children.get(key.fd)
                    if child is not None:
                        self.reap(child)
            now = time.monotonic()
            for child in list(self.children.values()):
                if child.reason is None and now >= child.deadline:
                    self.kill(child, "deadline")

    def shutdown(self) -> None:
        for child in list(self.children.values()):
            self.kill(child, "cancelled")
            os.waitpid(child.pid, 0)


def main() -> None:
    global LAYERS
    sock = socket.socket(fileno=int(sys.argv[1]))
    LAYERS = probe()  # before any thread or warm-up: a clean fork
    gradviz.sandbox.preload.warm_up()
    gc.freeze()  # the children share these objects: their collections skip them
    Server(sock).serve()


if __name__ == "__main__":
    main()
