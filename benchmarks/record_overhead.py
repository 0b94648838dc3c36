"""gradviz.record() around forward+backward of the chain models vs the bare work.

"recording only": the ``with`` block's body under recording (enter included); "recording +
build": until the block has exited, which builds the Graph. Run:
``python benchmarks/record_overhead.py [--profile]``.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import SIZES, chain, forward_backward, median_times, ms, table

import gradviz

HEADER = ("layers", "bare ms", "recording ms", "+ build ms", "recording/bare", "total/bare")


def recorded(layers: int, marks: list[float]) -> None:
    """forward+backward in a record() block; appends the time the body ended."""
    with gradviz.record():
        out, _ = chain(layers)
        out.backward()
        marks.append(time.perf_counter())


def measure(layers: int) -> list[object]:
    starts: list[float] = []
    ends: list[float] = []

    def record_run() -> None:
        starts.append(time.perf_counter())
        recorded(layers, ends)

    times = median_times({"bare": lambda: forward_backward(layers), "record": record_run})
    body = sorted(e - s for s, e in zip(starts, ends, strict=True))[len(starts) // 2]
    bare, total = times["bare"], times["record"]
    return [layers, ms(bare), ms(body), ms(total), f"{body / bare:.2f}×", f"{total / bare:.2f}×"]


def rows() -> list[list[object]]:
    return [measure(n) for n in SIZES]


def profile(layers: int = 2000) -> None:
    """Where record() spends its time, body and build (cProfile, top by own time)."""
    profiler = cProfile.Profile()
    profiler.enable()
    recorded(layers, [])
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    title = "gradviz.record() around forward+backward vs bare (median of 7)"
    print(table(title, HEADER, rows()))
    if "--profile" in sys.argv:
        profile()


if __name__ == "__main__":
    main()
