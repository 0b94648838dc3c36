"""The sandboxed interpreter vs plain Python on the same program, without recording.

The program is ``y = tanh(y @ W + b)`` for 2,000 layers of 64×64 (forward and backward):
gradviz's own interpreter walks its syntax tree, the plain side is the same code as a Python
function. Run: ``python benchmarks/interpreter_overhead.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from _bench import median_times, ms, table

from gradviz.interpreter.evaluator import interpret
from gradviz.limits import Limits

LAYERS = 2000
PROGRAM = f"""
import torch
torch.manual_seed(0)
W = torch.randn(64, 64) * 0.1
W.requires_grad_()
b = torch.zeros(64, requires_grad=True)
y = torch.randn(1, 64)
for _ in range({LAYERS}):
    y = torch.tanh(y @ W + b)
y.sum().backward()
"""
HEADER = ("program", "plain ms", "interpreted ms", "interpreted/plain")


def plain() -> None:
    """PROGRAM, as a Python function."""
    torch.manual_seed(0)
    W = torch.randn(64, 64) * 0.1
    W.requires_grad_()
    b = torch.zeros(64, requires_grad=True)
    y = torch.randn(1, 64)
    for _ in range(LAYERS):
        y = torch.tanh(y @ W + b)
    y.sum().backward()


def rows() -> list[list[object]]:
    limits = Limits(max_seconds=60.0)
    times = median_times({"plain": plain, "interpreted": lambda: interpret(PROGRAM, limits=limits)})
    ratio = times["interpreted"] / times["plain"]
    name = f"{LAYERS:,} layers of tanh(y @ W + b), 64×64"
    return [[name, ms(times["plain"]), ms(times["interpreted"]), f"{ratio:.2f}×"]]


def main() -> None:
    print(table("interpreter vs plain Python (median of 7, no recording)", HEADER, rows()))


if __name__ == "__main__":
    main()
