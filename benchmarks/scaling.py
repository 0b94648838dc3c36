"""Linear time and memory: the cost per node of record()+build, of draw, and of the Python
memory record()+build keeps, on chains of 1,000, 10,000 and 100,000 nodes.

Linear means a flat cost per node: the last row divides the 100,000-node chain's per-node
costs by the 10,000-node chain's (1.0× is linear). Times are medians of a few runs, memory is
the tracemalloc peak of Python allocations (tensor storage is torch's, and the bare work's).
Run: ``python benchmarks/scaling.py``.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from _bench import chain, forward_backward, ms, table

import gradviz
from gradviz.model.graph import Graph

LAYERS = (200, 2_000, 20_000)
"""Five autograd nodes per layer: 1,001 / 10,001 / 100,001 nodes."""
REPEAT = 3
HEADER = (
    "nodes",
    "bare ms",
    "record+build ms",
    "µs/node",
    "draw ms",
    "µs/node",
    "Python MB",
    "KB/node",
)


def _median_seconds(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        gc.collect()  # the last run's graph is freed here, not in the next measurement
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _record(layers: int) -> tuple[Graph, torch.Tensor, dict[str, torch.Tensor]]:
    with gradviz.record() as rec:
        out, params = chain(layers)
        out.backward()
    assert rec.graph is not None
    return rec.graph, out, params


def _draw_seconds(layers: int) -> float:
    """draw() after a plain forward and backward, to its DOT text."""
    out, params = chain(layers)
    out.backward()
    return _median_seconds(lambda: gradviz.draw(out, params=params).source)


def _python_peak_mb(layers: int) -> float:
    gc.collect()
    tracemalloc.start()
    kept = _record(layers)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    del kept
    return peak


def measure(layers: int) -> dict[str, float]:
    return {
        "nodes": float(len(_record(layers)[0].nodes)),  # (also a warm-up)
        "bare": _median_seconds(lambda: forward_backward(layers)),
        "record": _median_seconds(lambda: _record(layers)),
        "draw": _draw_seconds(layers),
        "memory": _python_peak_mb(layers),
    }


def rows() -> list[list[object]]:
    results = [measure(n) for n in LAYERS]
    out: list[list[object]] = []
    for r in results:
        n = r["nodes"]
        out.append(
            [
                f"{int(n):,}",
                ms(r["bare"]),
                ms(r["record"]),
                f"{r['record'] / n * 1e6:.1f}",
                ms(r["draw"]),
                f"{r['draw'] / n * 1e6:.1f}",
                f"{r['memory']:.1f}",
                f"{r['memory'] * 1024 / n:.2f}",
            ]
        )
    small, big = results[-2], results[-1]

    def growth(key: str) -> str:
        per_small, per_big = small[key] / small["nodes"], big[key] / big["nodes"]
        return f"{per_big / per_small:.2f}×"

    out.append(
        [
            "100k / 10k per node",
            growth("bare"),
            growth("record"),
            "",
            growth("draw"),
            "",
            growth("memory"),
            "",
        ]
    )
    return out


def main() -> None:
    title = f"cost per node, chains of {' / '.join(f'{n:,}' for n in LAYERS)} layers"
    print(table(title, HEADER, rows()))


if __name__ == "__main__":
    main()
