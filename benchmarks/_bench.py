"""Shared by the benchmark scripts: the chain models, median timing, and tables."""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch

REPEAT = 7
"""Each measurement is taken this many times (at least 5) and the median reported."""
SIZES = (400, 2000)

# torchviz recurses once per node; 2,000 layers are ~6,000 frames deep.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))


def chain(layers: int, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``y = tanh(y @ W_i + b_i)`` ``layers`` times, each layer with its own leaves W_i (4×4)
    and b_i (4), y from 1×4: five autograd nodes per layer (mm, add, tanh and two
    AccumulateGrad), so 400 and 2,000 layers are about 2,000 and 10,000 nodes. Returns the
    scalar output and the leaves by name (forward only)."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.randn(1, 4, generator=generator)
    params: dict[str, torch.Tensor] = {}
    for i in range(layers):
        W = (torch.randn(4, 4, generator=generator) * 0.5).requires_grad_()
        b = torch.randn(4, generator=generator).requires_grad_()
        params[f"W{i}"], params[f"b{i}"] = W, b
        y = torch.tanh(y @ W + b)
    return y.sum(), params


def forward_backward(layers: int) -> None:
    """The bare work: build the chain and run backward."""
    out, _ = chain(layers)
    out.backward()


def median_times(fns: dict[str, Callable[[], object]], repeat: int = REPEAT) -> dict[str, float]:
    """Median seconds per function; the functions take turns so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned columns."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ms(seconds: float) -> float:
    return seconds * 1000.0
