"""What the bounds of a run cost and save: the two programs of issue 15 run through the
child's ``run_request`` in a fresh process each (no sandbox, so nothing kills them), with
today's ``Limits`` and with bounds too large to matter (what gradviz did before them).
Run: ``python benchmarks/bounds.py`` (about three minutes; the unbounded leaves peak ~8 GB).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import table

PROGRAMS = {
    "5,000 leaves × 10,000": (
        "import torch\nxs = [torch.ones(10_000, requires_grad=True) for _ in range(5_000)]\n"
        "y = sum(x.sum() for x in xs)\ny.backward()\n"
    ),
    "99,000-op chain": (
        "import torch\nx = torch.ones(1, requires_grad=True)\ny = x\n"
        "for _ in range(99_000):\n    y = y + 1\ny.sum().backward()\n"
    ),
}
HEADER = ("program", "bounds", "seconds", "peak RSS MB", "JSON MB", "nodes")
UNBOUNDED = {"max_elements": 10**12, "max_nodes": 10**9, "result_bytes": 2**62}


def measure(source: str, bounded: bool) -> list[object]:
    """In this process: run, write the JSON, report time, peak RSS, JSON size and nodes."""
    from gradviz.sandbox.limits import Limits
    from gradviz.sandbox.program import run_request
    from gradviz.sandbox.request import Request

    limits = Limits() if bounded else Limits(**UNBOUNDED)
    start = time.perf_counter()
    result = run_request(Request(source=source), limits=limits)
    size = len(json.dumps(result, allow_nan=False, separators=(",", ":")))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    nodes = len(result["graph"]["nodes"]) if result["ok"] else 0
    return [seconds, peak, size / 1e6, nodes]


def rows() -> list[list[object]]:
    out: list[list[object]] = []
    for name in PROGRAMS:
        for bounded in (False, True):
            done = subprocess.run(
                [sys.executable, __file__, "--one", name, str(bounded)],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds, peak, size, nodes = json.loads(done.stdout.splitlines()[-1])
            label = "Limits()" if bounded else "none"
            out.append([name, label, seconds, round(peak), size, int(nodes)])
    return out


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(PROGRAMS[sys.argv[2]], sys.argv[3] == "True")))
        return
    print(table("bounds of a run (run_request in a fresh process)", HEADER, rows()))


if __name__ == "__main__":
    main()
