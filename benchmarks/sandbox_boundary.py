"""What the process boundary costs ``gradviz.run``: fork, confinement, the pipe, JSON.

For each lecture example of the gallery and the 2,000-layer chain, side by side in one run:
(a) ``gradviz.run(source)`` end to end on a warm pool (the fork server started and one
untimed run first), and (b) the same work without the boundary: ``run_request`` in a plain
process, ``json.dumps`` of its result as the child writes it, then ``json.loads`` and
``from_wire`` as the host reads it. boundary = (a) - (b). (b) runs in a worker process of its
own, started like the fork server (its environment, warm-up and frozen heap), because
``run_request`` is meant for a fresh process; the two take turns, so drift hits both alike.

The second table splits the boundary: a pristine copy of the fork server's state (a second
worker, warmed up the same way, that never runs a program itself) forks a child per run that
does what the server's child does (confine, run, encode, write the pipe, exit), with
timestamps on both sides (``perf_counter`` is the system-wide monotonic clock). What (a)
costs beyond that emulation is the pool's and the server's messaging ("rest").

Targets: boundary <= 50 ms for a lecture example, <= 15% of the run for the 2,000-layer
chain. Run: ``python benchmarks/sandbox_boundary.py [--quick]``.
"""

from __future__ import annotations

import gc
import json
import mmap
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPEAT, ms, table

from gradviz.gallery import EXAMPLES, by_key

CHAIN_REPEAT = 5
"""The chain's runs take seconds: five each (the minimum) keep the script to a few minutes."""
PROGRAMS: dict[str, str] = {e.key: e.code for e in EXAMPLES if not e.big}
PROGRAMS["deep_chain"] = by_key("deep_chain").code
SPLIT = ("polynomial", "deep_chain")
"""The programs whose boundary is split into its pieces."""
LECTURE_TARGET_MS = 50.0
CHAIN_TARGET = 0.15
HEADER = (
    "program",
    "nodes",
    "JSON KB",
    "(a) run() ms",
    "(b) in-process ms",
    "of (b): JSON ms",
    "boundary ms",
    "boundary %",
    "target",
)
SPLIT_HEADER = (
    "program",
    "fork",
    "confine",
    "run extra",
    "encode extra",
    "pipe",
    "host decode extra",
    "rest",
    "boundary",
)
"""Milliseconds, medians; the pieces add up to the boundary. fork: to the child's first line;
confine: ``confine()``; run extra: ``run_request`` in the confined child minus in the plain
process; encode extra: ``json.dumps`` in the child minus in the plain process; pipe: writing
the JSON while the host reads it, until the child closes its end (as the server's child does,
before its slow exit, which the host no longer waits for); host decode extra:
``runner.graph_of`` (``json.loads`` and
``from_wire``) in this process, the real host, minus the same in the plain process; rest:
what ``run()`` costs beyond all that (the pool's and the server's messages, threads)."""


def _repeat(key: str) -> int:
    return CHAIN_REPEAT if key == "deep_chain" else REPEAT


# --- the workers (separate processes, started like the fork server) -------------------------


def _warm_worker() -> None:
    """What the fork server does before serving: import, warm up, freeze the heap."""
    import gradviz.sandbox.preload as preload

    preload.warm_up()
    gc.freeze()


def _in_process(source: str) -> dict[str, Any]:
    """(b): record+build, encode as the child does, decode and validate as the host does."""
    from gradviz.capture.gc_pause import no_gc
    from gradviz.model.wire import from_wire
    from gradviz.sandbox.program import run_request
    from gradviz.sandbox.request import Request

    gc.collect()
    t0 = time.perf_counter()
    result = run_request(Request(source))
    t1 = time.perf_counter()
    data = json.dumps(result, allow_nan=False, separators=(",", ":")).encode()
    t2 = time.perf_counter()
    with no_gc():  # as runner.graph_of decodes
        loaded = json.loads(data)
        t3 = time.perf_counter()
        graph = from_wire(loaded["graph"])
        t4 = time.perf_counter()
    return {
        "total": t4 - t0,
        "run": t1 - t0,
        "encode": t2 - t1,
        "decode": t3 - t2,
        "from_wire": t4 - t3,
        "nodes": len(graph.nodes),
        "bytes": len(data),
    }


def _forked(source: str, workdir: str) -> dict[str, Any]:
    """One run as the fork server's child does it (gradviz/sandbox/server.py child_main),
    timed on both sides of the fork."""
    from gradviz.capture.gc_pause import no_gc
    from gradviz.model.wire import from_wire
    from gradviz.sandbox.confine import Confinement, confine, default_readable
    from gradviz.sandbox.limits import Limits
    from gradviz.sandbox.program import run_request
    from gradviz.sandbox.request import Request

    limits = Limits()
    readable = default_readable()  # found once in the worker, as the server does
    payload = json.dumps(Request(source).to_dict()).encode()
    stamps = mmap.mmap(-1, mmap.PAGESIZE)
    result_r, result_w = os.pipe()
    sys.stdout.flush()
    gc.collect()
    before = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            marks = [time.perf_counter()]
            os.close(result_r)
            request = Request.from_dict(json.loads(payload))
            config = Confinement(
                memory_bytes=limits.memory_bytes,
                cpu_seconds=int(limits.seconds) + 5,
                readable=readable,
            )
            confine(config, keep_fds=[result_w], workdir=workdir)
            marks.append(time.perf_counter())
            result = run_request(request)
            marks.append(time.perf_counter())
            out = json.dumps(result, allow_nan=False, separators=(",", ":")).encode()
            marks.append(time.perf_counter())
            stamps[: 8 * 4] = struct.pack("4d", *marks)
            view = memoryview(out)
            while view:
                view = view[os.write(result_w, view) :]
            os.close(result_w)  # the host has it all: the exit's teardown is off the path
            code = 0
        finally:
            os._exit(code)
    os.close(result_w)
    parts = []
    while chunk := os.read(result_r, 1 << 20):
        parts.append(chunk)
    eof = time.perf_counter()
    os.close(result_r)
    data = b"".join(parts)
    with no_gc():  # as runner.graph_of decodes
        loaded = json.loads(data)
        decoded = time.perf_counter()
        if loaded.get("ok"):
            from_wire(loaded["graph"])
        done = time.perf_counter()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not loaded.get("ok"):
        raise RuntimeError(f"the emulated child failed (status {status}): {data[:300]!r}")
    started, confined, ran, encoded = struct.unpack("4d", stamps[: 8 * 4])
    stamps.close()
    return {
        "total": done - before,
        "fork": started - before,
        "confine": confined - started,
        "run": ran - confined,
        "encode": encoded - ran,
        "pipe": eof - encoded,
        "decode": decoded - eof,
        "from_wire": done - decoded,
    }


def worker() -> None:
    """A worker's loop: one JSON request a line on stdin, one JSON answer a line on stdout."""
    _warm_worker()
    workdir = tempfile.mkdtemp(prefix="gradviz-bench-run-")
    answer = sys.stdout
    answer.write(json.dumps({"ready": True}) + "\n")
    answer.flush()
    for line in sys.stdin:
        message = json.loads(line)
        source = PROGRAMS[message["key"]]
        if message["op"] == "in_process":
            reply = _in_process(source)
        else:
            reply = _forked(source, workdir)
        answer.write(json.dumps(reply) + "\n")
        answer.flush()
    os.rmdir(workdir)


class Worker:
    """A worker process, environment and working directory as the fork server's."""

    def __init__(self) -> None:
        from gradviz.sandbox.pool import _clean_environment

        command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_clean_environment(),
            cwd="/",
            text=True,
        )
        ready = self._line()
        if not ready.get("ready"):
            raise RuntimeError(f"the benchmark worker did not start: {ready}")

    def _line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark worker died (see its stderr above)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, op: str, key: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, "key": key}) + "\n")
        self.process.stdin.flush()
        return self._line()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the measurement ------------------------------------------------------------------------


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def measure(keys: list[str]) -> tuple[list[list[object]], list[list[object]]]:
    """Both tables' rows: (a), (b) and, for SPLIT, the emulated child and the host's decode
    of a real reply, taking turns."""
    import gradviz
    from gradviz.sandbox.limits import Limits
    from gradviz.sandbox.pool import shared_pool
    from gradviz.sandbox.request import Request
    from gradviz.sandbox.run import graph_of

    pool = shared_pool()
    pool.warm()
    plain, pristine = Worker(), Worker()
    rows: list[list[object]] = []
    split: list[list[object]] = []
    try:
        for key in keys:
            source = PROGRAMS[key]
            graph = gradviz.run(source)  # untimed: the first run of each program
            plain.ask("in_process", key)  # untimed, likewise
            reply = pool.run(Request(source), Limits()) if key in SPLIT else None
            runs: list[float] = []
            inside: list[dict[str, Any]] = []
            forked: list[dict[str, Any]] = []
            host: list[float] = []
            for _ in range(_repeat(key)):
                gc.collect()
                start = time.perf_counter()
                gradviz.run(source)
                runs.append(time.perf_counter() - start)
                inside.append(plain.ask("in_process", key))
                if reply is not None:
                    forked.append(pristine.ask("forked", key))
                    gc.collect()
                    start = time.perf_counter()
                    graph_of(reply, Limits())
                    host.append(time.perf_counter() - start)
            a, b = statistics.median(runs), _median(inside, "total")
            json_s = statistics.median(s["encode"] + s["decode"] + s["from_wire"] for s in inside)
            boundary = a - b
            if key == "deep_chain":
                ok = boundary <= CHAIN_TARGET * a
                target = f"<= {CHAIN_TARGET:.0%}: " + ("ok" if ok else "over")
            else:
                ok = ms(boundary) <= LECTURE_TARGET_MS
                target = f"<= {LECTURE_TARGET_MS:.0f} ms: " + ("ok" if ok else "over")
            kilobytes = round(inside[0]["bytes"] / 1024)
            share = f"{boundary / a:.0%}"
            sizes = [key, len(graph.nodes), kilobytes]
            rows.append([*sizes, ms(a), ms(b), ms(json_s), ms(boundary), share, target])
            if forked:
                split.append([key, *_pieces(a, boundary, inside, forked, host)])
    finally:
        plain.close()
        pristine.close()
    return rows, split


def _pieces(
    a: float,
    boundary: float,
    inside: list[dict[str, Any]],
    forked: list[dict[str, Any]],
    host: list[float],
) -> list[float]:
    """SPLIT_HEADER's numbers (ms): each piece's median, the rest to make up the boundary."""
    decode_b = statistics.median(s["decode"] + s["from_wire"] for s in inside)
    pieces = [
        _median(forked, "fork"),
        _median(forked, "confine"),
        _median(forked, "run") - _median(inside, "run"),
        _median(forked, "encode") - _median(inside, "encode"),
        _median(forked, "pipe"),
        statistics.median(host) - decode_b,
    ]
    return [ms(p) for p in pieces] + [ms(boundary - sum(pieces)), ms(boundary)]


def tables(quick: bool = False) -> tuple[list[list[object]], list[list[object]]]:
    """Both tables (HEADER's rows, SPLIT_HEADER's rows) from one measurement."""
    return measure(_keys(quick))


def rows(quick: bool = False) -> list[list[object]]:
    """The boundary per program (``tables`` gives the split too)."""
    return tables(quick)[0]


def _keys(quick: bool) -> list[str]:
    return list(SPLIT) if quick else list(PROGRAMS)


def summary(boundary_rows: list[list[object]]) -> list[list[object]]:
    """run_all's rows: the worst lecture example and the chain, against their targets."""
    lecture = [r for r in boundary_rows if r[0] != "deep_chain"]
    out: list[list[object]] = []
    if lecture:
        worst = max(lecture, key=lambda r: float(str(r[6])))
        median = statistics.median(float(str(r[6])) for r in lecture)
        out.append(
            [
                f"sandbox boundary, lecture examples (median {median:.0f} ms; worst {worst[0]})",
                f"{float(str(worst[6])):.0f} ms",
                f"<= {LECTURE_TARGET_MS:.0f} ms",
                "ok" if float(str(worst[6])) <= LECTURE_TARGET_MS else "over",
            ]
        )
    for r in boundary_rows:
        if r[0] == "deep_chain":
            share = float(str(r[7]).rstrip("%")) / 100
            out.append(
                [
                    "sandbox boundary / run(), 2,000-layer chain",
                    r[7],
                    f"<= {CHAIN_TARGET:.0%}",
                    "ok" if share <= CHAIN_TARGET else "over",
                ]
            )
    return out


def main() -> None:
    if "--worker" in sys.argv:
        worker()
        return
    quick = "--quick" in sys.argv
    boundary, split = tables(quick)
    title = f"gradviz.run() vs the same work in-process (median of {REPEAT}, chain {CHAIN_REPEAT})"
    print(table(title, HEADER, boundary))
    print()
    print(table("where the boundary goes (ms, medians; emulated child)", SPLIT_HEADER, split))


if __name__ == "__main__":
    main()
