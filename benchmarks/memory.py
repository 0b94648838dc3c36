"""Peak memory of record()+build on the 2,000-layer chain vs the bare forward/backward.

Two measures, in fresh processes: the peak of Python allocations (tracemalloc; tensor storage
allocated by torch's C++ is not in it) and how far the peak resident set (``getrusage``
maxrss) rises during the work. Importing torch peaks higher than the work itself, so the peak
is first reset to the current RSS (Linux: ``/proc/self/clear_refs``).
Run: ``python benchmarks/memory.py``.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import chain, table

LAYERS = 2000
REPEAT = 5
"""Fresh processes per peak-RSS measure (tracemalloc repeats in one process)."""
HEADER = ("measure", "bare MB", "record+build MB", "record/bare")


def work(mode: str) -> object:
    """The measured work; the returned objects stay alive until the peak is read."""
    if mode == "bare":
        out, params = chain(LAYERS)
        out.backward()
        return out, params
    import gradviz

    with gradviz.record() as rec:
        out, params = chain(LAYERS)
        out.backward()
    return rec.graph, out, params


def _maxrss_mb() -> float:
    """The peak RSS of this process: ``getrusage`` maxrss, or on Linux VmHWM (the same peak,
    but of this address space only: after exec, maxrss never reports less than the parent's
    RSS at the fork, so a big parent would hide the child's peak)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak() -> bool:
    """Give free heap pages back (glibc), then lower maxrss to the current RSS (Linux 4.0+);
    False where that is not possible."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def child(mode: str, what: str) -> float:
    """In a fresh process: the peak in MB of ``mode`` (median of REPEAT for tracemalloc)."""
    import gradviz  # noqa: F401  (imports are part of the baseline, not of the measure)

    chain(10)[0].backward()  # warm up torch's lazy initialisation
    if what == "rss":
        gc.collect()
        if not _reset_peak():
            return float("nan")
        base = _maxrss_mb()
        kept = work(mode)
        return _maxrss_mb() - base
    peaks = []
    for _ in range(REPEAT):
        tracemalloc.start()
        kept = work(mode)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
        del kept
    return statistics.median(peaks)


def measured(mode: str, what: str) -> float:
    """Median over REPEAT fresh processes (one for tracemalloc, which repeats inside)."""
    peaks = []
    for _ in range(1 if what == "trace" else REPEAT):
        cmd = [sys.executable, __file__, "--child", mode, what]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        peaks.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(peaks)


def profile() -> None:
    """Which lines allocated the Python memory that record()+build keeps (top 12)."""
    tracemalloc.start(1)
    kept = work("record")
    stats = tracemalloc.take_snapshot().statistics("lineno")
    tracemalloc.stop()
    for stat in stats[:12]:
        print(stat)
    del kept


def rows() -> list[list[object]]:
    out: list[list[object]] = []
    for what, name in (
        ("trace", "Python objects (tracemalloc peak)"),
        ("rss", "peak RSS rise (maxrss)"),
    ):
        bare, recorded = measured("bare", what), measured("record", what)
        ratio = f"{recorded / bare:.1f}×" if bare >= 1.0 else f"+{recorded - bare:.1f} MB"
        out.append([name, bare, recorded, ratio])
    return out


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        print(child(sys.argv[i + 1], sys.argv[i + 2]))
        return
    title = f"memory, {LAYERS:,}-layer chain (median of {REPEAT})"
    print(table(title, HEADER, rows()))
    if "--profile" in sys.argv:
        profile()


if __name__ == "__main__":
    main()
