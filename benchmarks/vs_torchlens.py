"""gradviz vs TorchLens: recording every value and gradient of forward+backward, same models.

Four models (an MLP, a small CNN, ``nn.TransformerEncoderLayer``, a 200-layer Linear/Tanh
chain), each built from the same program text on every side. Measured side by side in one
run, taking turns:

- bare: ``loss = model(x).pow(2).mean(); loss.backward()``, nothing recorded;
- gradviz ``record()``: the same in a ``with gradviz.record()`` block (trusted code,
  in-process), until the block has exited and built the Graph;
- gradviz ``run()``: the program text (model construction included) through the sandbox on a
  warm pool, until the Graph is rebuilt on this side;
- TorchLens: ``torchlens.trace(model, x, capture=CaptureOptions(save_grads=True))`` (every
  layer's activation saved) then ``trace.log_backward(loss)`` (every layer's gradient saved),
  TorchLens 2.36's API. TorchLens wraps torch's functions globally once imported, so it runs
  in a process of its own, which this script starts; each model's first trace is untimed (the
  first in the process also pays TorchLens's one-time setup: shown as "1st").

Every side uses one torch thread, as the sandbox's children do (``OMP_NUM_THREADS=1``): the
models are small, and on a shared 2-core machine a second OpenMP thread mostly waits for a
core, which made the bare step of the MLP take tens of milliseconds.

Target: gradviz at least 4× faster than TorchLens on each model. Needs ``pip install
torchlens`` (a benchmark dependency). Run: ``python benchmarks/vs_torchlens.py``.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import REPEAT, ms, table

TARGET = 4.0
"""TorchLens's time over gradviz's, at least."""
CHAIN_REPEAT = 5
"""TorchLens takes seconds per trace of the 200-layer chain: five (the minimum) there."""
MODELS: dict[str, str] = {
    "MLP": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)
)
x = torch.randn(8, 16)
""",
    "small CNN": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
)
x = torch.randn(2, 1, 16, 16)
""",
    "TransformerEncoderLayer": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.TransformerEncoderLayer(
    d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True
)
x = torch.randn(1, 5, 16)
""",
    "Linear/Tanh chain, 200 layers": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(*[m for _ in range(200) for m in (nn.Linear(4, 4), nn.Tanh())])
x = torch.randn(1, 4)
""",
}
"""Each program builds ``model`` and its input ``x``."""
STEP = """\
loss = model(x).pow(2).mean()
loss.backward()
"""
"""What gradviz.run's program does after building the model (record() does the same)."""
HEADER = (
    "model",
    "gradviz nodes",
    "TorchLens layers",
    "bare ms",
    "record() ms",
    "run() ms",
    "TorchLens ms",
    "TorchLens 1st ms",
    "TorchLens/record",
    "TorchLens/run",
    "target",
)


def _repeat(key: str) -> int:
    return CHAIN_REPEAT if "chain" in key else REPEAT


def build(key: str) -> tuple[Any, Any]:
    """The model and its input, from the model's program text."""
    namespace: dict[str, Any] = {}
    exec(MODELS[key], namespace)
    return namespace["model"], namespace["x"]


# --- TorchLens, in a process of its own ------------------------------------------------------


def torchlens_worker() -> None:
    """One model key a line on stdin; answers the seconds of one trace+log_backward."""
    import warnings

    warnings.filterwarnings("ignore")  # TorchLens warns about its optional extras
    import torch
    import torchlens as tl

    torch.set_num_threads(1)
    models = {key: build(key) for key in MODELS}

    def once(key: str) -> tuple[float, int]:
        model, x = models[key]
        model.zero_grad(set_to_none=True)
        gc.collect()
        start = time.perf_counter()
        trace = tl.trace(model, x, capture=tl.options.CaptureOptions(save_grads=True))
        loss = trace[trace.output_layers[0]].out.pow(2).mean()
        trace.log_backward(loss)
        seconds = time.perf_counter() - start
        layers = trace.layer_list
        if not all(isinstance(layer.out, torch.Tensor) for layer in layers):
            raise RuntimeError(f"TorchLens saved no activation for some layers of {key}")
        if any(layer.grad is None for layer in layers if layer.out.requires_grad):
            raise RuntimeError(f"TorchLens saved no gradient for some layers of {key}")
        return seconds, len(layers)

    print(json.dumps({"ready": True, "version": tl.__version__}), flush=True)
    firsts: dict[str, float] = {}
    for line in sys.stdin:
        key = json.loads(line)
        if key not in firsts:
            firsts[key] = once(key)[0]
        seconds, layers = once(key)
        print(json.dumps({"seconds": seconds, "layers": layers, "first": firsts[key]}))
        sys.stdout.flush()


class TorchLens:
    """The TorchLens worker process."""

    def __init__(self) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--torchlens"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        ready = self._line()
        self.version = str(ready["version"])

    def _line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the TorchLens worker died (is torchlens installed?)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def once(self, key: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(key) + "\n")
        self.process.stdin.flush()
        return self._line()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


# --- gradviz, here ---------------------------------------------------------------------------


def _bare(model: Any, x: Any) -> None:
    model.zero_grad(set_to_none=True)
    loss = model(x).pow(2).mean()
    loss.backward()


def _recorded(model: Any, x: Any) -> Any:
    import gradviz

    model.zero_grad(set_to_none=True)
    with gradviz.record() as rec:
        loss = model(x).pow(2).mean()
        loss.backward()
    return rec.graph


def measure(key: str, torchlens: TorchLens) -> list[object]:
    import gradviz

    model, x = build(key)
    source = MODELS[key] + STEP
    graph = _recorded(model, x)  # untimed first runs
    ran = gradviz.run(source)
    _bare(model, x)
    samples: dict[str, list[float]] = {"bare": [], "record": [], "run": [], "torchlens": []}
    answers: list[dict[str, Any]] = []
    fns = {
        "bare": lambda: _bare(model, x),
        "record": lambda: _recorded(model, x),
        "run": lambda: gradviz.run(source),
    }
    for _ in range(_repeat(key)):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
        answers.append(torchlens.once(key))
        samples["torchlens"].append(answers[-1]["seconds"])
    t = {name: statistics.median(s) for name, s in samples.items()}
    if len(ran.nodes) < len(graph.nodes):
        raise RuntimeError(f"gradviz.run drew fewer nodes than record() for {key}")
    by_record, by_run = t["torchlens"] / t["record"], t["torchlens"] / t["run"]
    # The target is for the like-for-like pair (both record in-process); run() adds the
    # sandbox's process boundary, which TorchLens does not have: shown, not judged.
    ok = "ok" if by_record >= TARGET else "over"
    return [
        key,
        len(graph.nodes),
        answers[0]["layers"],
        ms(t["bare"]),
        ms(t["record"]),
        ms(t["run"]),
        ms(t["torchlens"]),
        ms(answers[0]["first"]),
        f"{by_record:.1f}×",
        f"{by_run:.1f}×",
        f">= {TARGET:.0f}×: {ok}",
    ]


def rows() -> list[list[object]]:
    import torch

    from gradviz.sandbox.pool import shared_pool

    shared_pool().warm()
    torchlens = TorchLens()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # restored after: run_all measures other things in this process
    try:
        return [measure(key, torchlens) for key in MODELS]
    finally:
        torch.set_num_threads(threads)
        torchlens.close()


def summary(result: list[list[object]]) -> list[list[object]]:
    """run_all's rows: TorchLens's time over gradviz's, per model and gradviz side."""
    out: list[list[object]] = []
    for row in result:
        ratio = float(str(row[8]).rstrip("×"))
        verdict = "ok" if ratio >= TARGET else "under"
        out.append(
            [f"TorchLens / gradviz record(), {row[0]}", row[8], f">= {TARGET:.0f}×", verdict]
        )
        out.append([f"TorchLens / gradviz run() (sandboxed), {row[0]}", row[9], "", ""])
    return out


def main() -> None:
    if "--torchlens" in sys.argv:
        torchlens_worker()
        return
    from importlib.metadata import PackageNotFoundError, version

    try:  # not imported here: it would wrap torch's functions in this process too
        tl_version = version("torchlens")
    except PackageNotFoundError:
        raise SystemExit("needs TorchLens: pip install torchlens") from None
    result = rows()
    title = (
        f"values and gradients of forward+backward: gradviz vs TorchLens {tl_version}"
        f" (median of {REPEAT}, chain {CHAIN_REPEAT})"
    )
    print(table(title, HEADER, result))


if __name__ == "__main__":
    main()
