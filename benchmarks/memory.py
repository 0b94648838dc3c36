"""Peak memory of record()+build on the 2,000-layer chain vs the bare forward/backward.

Two measures, each in fresh processes: the peak of Python allocations (tracemalloc; tensor
storage allocated by torch's C++ is not in it) and the growth of the peak resident set
(``resource.getrusage`` maxrss) over the same process right after its imports.
Run: ``python benchmarks/memory.py``.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPEAT, chain, table  # noqa: E402

LAYERS = 2000
HEADER = ("measure", "bare MB", "record+build MB", "record/bare")


def work(mode: str) -> object:
    """The measured work; the returned objects stay alive until the peak is read."""
    if mode == "bare":
        out, W, b = chain(LAYERS)
        out.backward()
        return out, W, b
    import gradviz

    with gradviz.record() as rec:
        out, W, b = chain(LAYERS)
        out.backward()
    return rec.graph, out


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, what: str) -> dict[str, float]:
    """In a fresh process: the peak for one run of ``mode``."""
    import gradviz  # noqa: F401  (imports are part of the baseline, not of the measure)

    chain(10)[0].backward()  # warm up torch's lazy initialisation
    if what == "rss":
        base = _maxrss_mb()
        kept = work(mode)
        peak = _maxrss_mb() - base
        del kept
        return {"peak": peak}
    tracemalloc.start()
    kept = work(mode)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return {"peak": peak / 2**20}


def measured(mode: str, what: str) -> float:
    """Median over REPEAT fresh processes."""
    peaks = []
    for _ in range(REPEAT):
        cmd = [sys.executable, __file__, "--child", mode, what]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        peaks.append(json.loads(done.stdout.strip().splitlines()[-1])["peak"])
    return statistics.median(peaks)


def rows() -> list[list[object]]:
    out: list[list[object]] = []
    for what, name in (("trace", "Python objects (tracemalloc peak)"), ("rss", "peak RSS growth")):
        bare, recorded = measured("bare", what), measured("record", what)
        out.append([name, bare, recorded, f"{recorded / bare:.1f}×"])
    return out


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        print(json.dumps(child(sys.argv[i + 1], sys.argv[i + 2])))
        return
    title = f"memory, {LAYERS:,}-layer chain (median of {REPEAT} fresh processes)"
    print(table(title, HEADER, rows()))


if __name__ == "__main__":
    main()
