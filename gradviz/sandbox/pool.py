"""The host's side of the sandbox: one fork server, a bounded pool of runs, a deadline each.

``Pool.run`` hands a request to the fork server (``gradviz.sandbox.server``) and waits for
its child's result: at most ``workers`` children run at once, the rest wait in a queue (the
caller hears about it through ``on_wait``). The result comes back through a pipe as JSON,
never pickle, at most ``Limits.result_bytes`` of it; the host reads nothing else from the
child. A run the caller abandons (``cancelled`` set, or an exception from its ``on_wait``) is
killed, and a dead fork server is started again.

No user text ever runs in this process: it only moves bytes and reads JSON.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gradviz.sandbox.layers import Layers, SandboxReport
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.request import END, Request
from gradviz.sandbox.slots import Slots

_F_SETPIPE_SZ = 1031
WAIT_TICK = 0.25
"""Seconds between progress reports (and checks for an abandoned run) while a run waits."""
START_SECONDS = 120.0
"""How long the fork server may take to import torch and warm up (a busy machine is slow)."""
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass
class Ending:
    """How a child ended, as the fork server saw it."""

    exit: int | None = None
    signal: int | None = None
    reason: str | None = None
    """``deadline`` or ``cancelled`` when the server killed it."""
    line: int | None = None
    """The program line running when it ended (from the page the child writes)."""
    seconds: float = 0.0


@dataclass
class Reply:
    """What came back from one run: the child's JSON (if any) and how it ended."""

    data: bytes
    ending: Ending
    too_big: bool = False
    queued_seconds: float = 0.0


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    ending: Ending | None = None


class ServerGone(RuntimeError):
    """The fork server died or could not start."""


def _clean_environment() -> dict[str, str]:
    """The fork server's whole environment: none of the host's variables (secrets among
    them) ever reach a child, not even in the memory it inherits."""
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "PYTHONPATH": _PACKAGE_ROOT,
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
    }


class _Server:
    """One running fork server and the thread that reads its messages."""

    def __init__(self) -> None:
        host, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = host
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gradviz.sandbox.server", str(child.fileno())],
            pass_fds=[child.fileno()],
            env=_clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd="/",
        )
        child.close()
        self.lock = threading.Lock()
        self.pending: dict[int, _Pending] = {}
        self.next_id = 0
        self.alive = True
        host.settimeout(START_SECONDS)
        try:
            ready = json.loads(host.recv(65_536) or b"{}")
        except (OSError, ValueError) as e:
            self.close()
            raise ServerGone(f"the sandbox's worker did not start: {e}") from None
        if not ready.get("ready"):
            self.close()
            raise ServerGone("the sandbox's worker did not start (see the server log)")
        self.report = SandboxReport(Layers(**ready["layers"]), tuple(ready["readable"]))
        host.settimeout(None)
        threading.Thread(target=self._listen, name="gradviz-sandbox", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(65_536)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self.lock:
                pending = self.pending.get(message["id"])
            if pending is None:
                continue
            if "pid" in message:
                pending.started.set()
            else:
                fields = {k: message.get(k) for k in ("exit", "signal", "reason", "line")}
                pending.ending = Ending(**fields, seconds=float(message.get("seconds", 0.0)))
                pending.started.set()
                pending.done.set()
        self.alive = False
        with self.lock:
            for pending in self.pending.values():
                pending.started.set()
                pending.done.set()

    def submit(
        self, limits: Limits, request_bytes: int, fds: list[int], audit: bool
    ) -> tuple[int, _Pending]:
        with self.lock:
            run_id, self.next_id = self.next_id, self.next_id + 1
            pending = self.pending[run_id] = _Pending()
        message = {
            "op": "run",
            "id": run_id,
            "seconds": limits.seconds,
            "cpu_seconds": int(limits.seconds) + 5,
            "memory_bytes": limits.memory_bytes,
            "result_bytes": limits.result_bytes,
            "request_bytes": request_bytes,
            "audit": audit,
        }
        socket.send_fds(self.sock, [json.dumps(message).encode()], fds)
        return run_id, pending

    def cancel(self, run_id: int) -> None:
        try:
            self.sock.send(json.dumps({"op": "cancel", "id": run_id}).encode())
        except OSError:
            pass

    def forget(self, run_id: int) -> None:
        with self.lock:
            self.pending.pop(run_id, None)

    def close(self) -> None:
        """Stop the fork server (its children are killed)."""
        self.alive = False
        try:
            # shutdown, not only close: the listening thread, blocked in recv on this socket,
            # keeps it open: the server saw no end of input, and was killed after the 10 s wait.
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        finally:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Pool:
    """Runs programs in sandboxed children, at most ``workers`` at once.

    Args:
        workers: Children running at once (default: the number of cores).
        audit: Install the audit hook in each child (its clear refusals). Only tests turn it
            off, to show that the kernel layers hold on their own.
    """

    def __init__(self, workers: int | None = None, *, audit: bool = True) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.audit = audit
        self._slots = Slots(self.workers)
        self._server: _Server | None = None
        self._start_lock = threading.Lock()
        self.running = 0
        """Children running now (for tests and the page's queue notice)."""
        self.most_running = 0

    def server(self) -> _Server:
        with self._start_lock:
            if self._server is None or not self._server.alive:
                if self._server is not None:
                    self._server.close()
                self._server = _Server()
            return self._server

    def warm(self) -> None:
        """Start the fork server now rather than at the first run."""
        self.server()

    def report(self) -> SandboxReport:
        """The kernel layers the children apply (starts the fork server if needed)."""
        return self.server().report

    def close(self) -> None:
        """Stop the fork server; a later run starts a new one."""
        with self._start_lock:
            if self._server is not None:
                self._server.close()
                self._server = None

    def run(
        self,
        request: Request,
        limits: Limits,
        *,
        on_wait: Callable[[str, float], None] | None = None,
        cancelled: threading.Event | None = None,
        background: bool = False,
    ) -> Reply:
        """Run one request; blocks until its child has ended (or the run was abandoned).

        Args:
            on_wait: Called about every WAIT_TICK seconds while the run waits, with
                ``"queued"`` or ``"running"`` and the seconds so far. If it raises (a page
                that has moved on, say), the run is abandoned: its child is killed.
            cancelled: Set it to abandon the run the same way.
            background: Wait behind every run not in the background (see ``slots``).

        Raises:
            ServerGone: the fork server could not be started or died during the run.
        """
        waited = time.monotonic()

        def tick(state: str) -> bool:
            """Report progress; True when the run is to be abandoned."""
            if on_wait is not None:
                on_wait(state, time.monotonic() - waited)
            return cancelled is not None and cancelled.is_set()

        abandoned = Reply(b"", Ending(reason="cancelled"))
        self._slots.enter_queue(background)
        try:
            while not self._slots.acquire(background, timeout=WAIT_TICK):
                if tick("queued"):
                    return abandoned
        finally:
            self._slots.leave_queue(background)
        try:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            queued = time.monotonic() - waited
            reply = self._run(request, limits, lambda: tick("running"))
            reply.queued_seconds = queued
            return reply
        except _Abandoned:
            return abandoned
        finally:
            self.running -= 1
            self._slots.release()

    def _run(self, request: Request, limits: Limits, abandon: Callable[[], bool]) -> Reply:
        server = self.server()
        payload = json.dumps(request.to_dict()).encode()
        request_r, request_w = os.pipe()
        result_r, result_w = os.pipe()
        try:
            fcntl.fcntl(request_w, _F_SETPIPE_SZ, min(max(len(payload), 65_536), 1 << 20))
        except OSError:
            pass  # a smaller pipe only means the write waits for the child to read
        try:
            run_id, pending = server.submit(limits, len(payload), [request_r, result_w], self.audit)
        except OSError as e:
            for fd in (request_r, request_w, result_r, result_w):
                os.close(fd)
            server.alive = False
            raise ServerGone(f"the sandbox's worker stopped: {e}") from None
        os.close(request_r)
        os.close(result_w)
        finished = False
        try:
            try:
                os.write(request_w, payload)  # the child reads it as soon as it starts
            except BrokenPipeError:
                pass  # the child died first: its ending says why
            finally:
                os.close(request_w)
            data, too_big = _read(result_r, limits.result_bytes, abandon, server)
            if too_big:
                server.cancel(run_id)
            elif data.endswith(END):  # complete: how the child then ends changes nothing
                finished = True
                return Reply(data[: -len(END)], Ending(exit=0), too_big)
            if not pending.done.wait(timeout=30.0):
                raise ServerGone("the sandbox's worker did not report the run's end")
            if pending.ending is None:
                raise ServerGone("the sandbox's worker stopped during the run")
            finished = True
            return Reply(data, pending.ending, too_big)
        finally:
            if not finished:  # abandoned, or an exception from on_wait: kill the child
                server.cancel(run_id)
            os.close(result_r)
            server.forget(run_id)


class _Abandoned(Exception):
    """The caller gave the run up while it was reading the result."""


def _read(fd: int, limit: int, abandon: Callable[[], bool], server: _Server) -> tuple[bytes, bool]:
    """The child's result up to its end of the pipe (EOF), or (b"", True) past ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        ready, _, _ = select.select([fd], [], [], WAIT_TICK)
        if not ready:
            if abandon():
                raise _Abandoned
            if not server.alive:
                return b"".join(parts), False
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(parts), False
        size += len(chunk)
        if size > limit:
            return b"", True
        parts.append(chunk)


_shared: Pool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> Pool:
    """The process's one Pool (workers from ``GRADVIZ_WORKERS``, default the core count)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            workers = os.environ.get("GRADVIZ_WORKERS")
            _shared = Pool(int(workers) if workers else None)
        return _shared
