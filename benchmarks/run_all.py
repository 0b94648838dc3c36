"""Run every benchmark and print one table of ratios (``make bench``).

Each row is measured side by side in this one run (median of repeated measurements); the
detailed tables of each benchmark follow. Tests never assert on these numbers.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import draw_vs_torchviz
import layout_uses
import load
import memory
import record_overhead
import sandbox_boundary
import scaling
import torch
import vs_torchlens
from _bench import table

TARGETS = {"draw": 1.0, "record": 3.0}


def main() -> None:
    start = time.perf_counter()
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}")
    mem = memory.rows()  # first: its fresh processes are the least disturbed then
    draw = draw_vs_torchviz.rows()
    record = record_overhead.rows()
    scale = scaling.rows()
    layouts = layout_uses.rows()
    boundary, split = sandbox_boundary.tables()
    lens = vs_torchlens.rows()
    users = load.rows()  # last: its browser pages load the whole machine
    summary: list[list[object]] = []
    for row in draw:
        ratio = float(str(row[5]).rstrip("×"))
        what = f"draw / make_dot, {row[0]:,} layers, after {row[1]}"
        summary.append([what, row[5], f"≤ {TARGETS['draw']:.1f}×", _ok(ratio, TARGETS["draw"])])
    for row in record:
        for i, kind in ((4, "recording only"), (5, "recording + build")):
            ratio = float(str(row[i]).rstrip("×"))
            what = f"record / bare, {row[0]:,} layers, {kind}"
            summary.append([what, row[i], f"≤ {TARGETS['record']:.1f}×", _ok(ratio, 3.0)])
    for row in mem:
        summary.append([f"memory record+build / bare: {row[0]}", row[3], "", ""])
    growth = scale[-1]  # per-node cost at 100,000 nodes / at 10,000 (1.0×: linear)
    for what, i in (("record+build time", 2), ("draw time", 4), ("Python memory", 6)):
        summary.append([f"per node, 100k / 10k nodes: {what}", growth[i], "", ""])
    for row in layouts:
        what = f"layout, one box / a box per use of W, {row[0]} nodes"
        summary.append([what, row[4], "", ""])
    summary += sandbox_boundary.summary(boundary)
    summary += vs_torchlens.summary(lens)
    summary += load.summary(users)
    print(table("summary", ("measure", "ratio", "target", ""), summary))
    print()
    print(table("draw vs make_dot", draw_vs_torchviz.HEADER, draw))
    print()
    print(table("record() overhead", record_overhead.HEADER, record))
    print()
    print(table("memory, 2,000-layer chain", memory.HEADER, mem))
    print()
    print(table("cost per node (scaling)", scaling.HEADER, scale))
    print()
    print(table("layout of a tensor used by every layer", layout_uses.HEADER, layouts))
    print()
    print(table("sandbox boundary: run() vs in-process", sandbox_boundary.HEADER, boundary))
    print()
    print(table("where the boundary goes (ms)", sandbox_boundary.SPLIT_HEADER, split))
    print()
    print(table("gradviz vs TorchLens", vs_torchlens.HEADER, lens))
    print()
    print(table("concurrent users (s)", load.HEADER, users))
    print(f"\n({time.perf_counter() - start:.0f} s)")


def _ok(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "over"


if __name__ == "__main__":
    main()
