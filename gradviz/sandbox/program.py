"""One program run inside the sandboxed child: real CPython, recorded, turned into plain data.

``run_request`` is what the child does between being confined and exiting: compile the
instrumented program, run it under the recorder with the run's own seed, run backward if the
program never did, replay the app's buttons, build the Graph, and return it (or what went
wrong, reduced to the user's own frames) as a JSON-ready dict. Every step after the program
runs under the same error handling as the program itself.
"""

from __future__ import annotations

import builtins
import io
import linecache
import random
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.autograd.functional as autograd_functional

from gradviz.api import default_roots
from gradviz.gc_pause import no_gc
from gradviz.graph.build import build_graph
from gradviz.graph.wire import to_wire
from gradviz.recorder import LiveFunctional, Recording, RecordingSession
from gradviz.render.format import shape_text
from gradviz.replay import replay
from gradviz.sandbox.failure import describe
from gradviz.sandbox.instrument import FILENAME, HOOKS, instrument
from gradviz.sandbox.plotting import PlottingStub
from gradviz.sandbox.request import Request
from gradviz.values import maybe_snapshot, snapshot, tensors_in

OUTPUT_LIMIT = 1_000_000
"""Characters of printed output kept; past it the rest is dropped with a note."""
REPR_LIMIT = 20_000
"""Characters of one echoed value's repr."""


class _Output(io.TextIOBase):
    """print()'s destination: kept up to OUTPUT_LIMIT characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = OUTPUT_LIMIT - self.size
        if len(text) > room:
            self.dropped = True
            text = text[: max(room, 0)]
        self.parts.append(text)
        self.size += len(text)
        return len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _safe_repr(value: object) -> str:
    """repr for the page: unseen by the recorder, never raising, bounded."""
    try:
        with torch._C.DisableTorchFunction():
            text = repr(value)
    except Exception as e:  # a broken repr must not fail the run
        text = f"<{type(value).__name__} object: repr failed with {type(e).__name__}>"
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT] + "..."


def _address_only(text: str) -> bool:
    """A default repr (``<torch._C.Generator object at 0x7f…>``) says nothing and differs
    every run, so a value like ``torch.manual_seed(0)``'s is not echoed."""
    return text.startswith("<") and text.endswith(">") and " at 0x" in text and "\n" not in text


class ProgramHooks:
    """``__gradviz__`` in the program: the calls the instrumented program makes (see
    ``instrument``)."""

    def __init__(self, recording: Recording, progress: Any = None) -> None:
        self.recording = recording
        self.progress = progress
        """A shared int array the host reads if the run is killed: the line running."""
        self.echoes: list[tuple[int, str]] = []
        self.last: object = None
        self.has_last = False

    def at(self, line: int | None) -> None:
        self.recording.line = line
        if self.progress is not None and line is not None:
            self.progress[0] = line

    def line(self) -> int | None:
        return self.recording.line

    def bind(self, name: str, value: object, top: bool) -> None:
        self.recording.bind(name, value, top)

    def bound(self, name: str, value: object, top: bool) -> object:
        self.recording.bind(name, value, top)
        return value

    def echo(self, line: int, value: object, last: bool) -> None:
        if value is None:
            return
        text = _safe_repr(value)
        if not _address_only(text):
            self.echoes.append((line, text))
        if last:
            self.last, self.has_last = value, True


def _print(*args: Any, **kwargs: Any) -> None:
    """The program's print: a tensor's formatting is not recorded as the program's ops."""
    with torch._C.DisableTorchFunction():
        print(*args, **kwargs)


class _FunctionalCapture:
    """jacobian and hessian of torch.autograd.functional, noting each call the program makes
    (its inputs and result) for the heatmaps. hessian calls jacobian itself: only the
    outermost call is the program's."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.depth = 0
        self.real = autograd_functional.jacobian, autograd_functional.hessian

    def __enter__(self) -> None:
        autograd_functional.jacobian = self.wrap("jacobian", self.real[0])
        autograd_functional.hessian = self.wrap("hessian", self.real[1])

    def __exit__(self, *exc: object) -> None:
        autograd_functional.jacobian, autograd_functional.hessian = self.real

    def wrap(self, kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(func: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            self.depth += 1
            try:
                result = real(func, inputs, *args, **kwargs)
            finally:
                self.depth -= 1
            if self.depth == 0:
                given = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
                self.recording.functional.append(
                    LiveFunctional(
                        kind=kind,
                        function=getattr(func, "__name__", "function"),
                        inputs=[snapshot(t) for t in given if isinstance(t, torch.Tensor)],
                        result=maybe_snapshot(result),
                        line=self.recording.line,
                    )
                )
            return result

        call.__name__ = call.__qualname__ = real.__name__
        call.__doc__ = real.__doc__
        return call


def _describe_tensor(recording: Recording, tensor: torch.Tensor) -> str:
    record = recording.record_of(tensor)
    return f"`{record.name}`" if record and record.name else "the result"


def _auto_backward(recording: Recording, last: list[torch.Tensor]) -> str | None:
    """Run backward on the program's result if it never asked for gradients; say so."""
    if recording.calls:
        return None
    candidates = [t for t in last + recording.named[::-1] if t.grad_fn is not None]
    if not candidates:
        return None
    target = candidates[0]
    what = _describe_tensor(recording, target)
    if target.numel() != 1:
        return (
            f"{what} is not a scalar (shape {shape_text(list(target.shape))}), so no gradient "
            "was computed: backward() needs a gradient argument for a non-scalar output "
            "(PyTorch: grad can be implicitly created only for scalar outputs). "
            "Call .backward(gradient=v) or reduce it first, e.g. .sum().backward()."
        )
    recording.line = None
    target.backward()  # type: ignore[no-untyped-call]
    return (
        f"The program never called backward(), so gradviz ran {what}.backward() to show gradients."
    )


def _seed(seed: int) -> None:
    """The run's own seed for every generator a program may use: the same numbers each run."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _warning_notes(caught: Sequence[warnings.WarningMessage]) -> list[str]:
    notes: list[str] = []
    for w in caught[:20]:
        where = f"line {w.lineno}: " if w.filename == FILENAME else ""
        notes.append(f"warning: {where}{w.category.__name__}: {str(w.message)[:500]}")
    return notes


def run_request(request: Request, progress: Any = None) -> dict[str, Any]:
    """Run one program and return ``{"ok": True, "graph": wire}`` or ``{"ok": False,
    "error": {...}}``: plain data only, never raising."""
    try:
        code = instrument(request.source)
    except SyntaxError as e:  # also IndentationError
        return {"ok": False, "error": describe(e)}
    recording = Recording(overrides=request.overrides or None)
    hooks = ProgramHooks(recording, progress)
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": FILENAME,
        "__builtins__": {**vars(builtins), "print": _print},
        HOOKS: hooks,
    }
    lines = request.source.splitlines(True)
    linecache.cache[FILENAME] = (len(request.source), None, lines, FILENAME)  # tracebacks' text
    out = _Output()
    notes: list[str] = []
    plotting = PlottingStub(hooks.line)
    plotting.install()
    _seed(request.seed)
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        with _FunctionalCapture(recording):
            return _run(request, code, namespace, recording, hooks, out, notes, plotting)
    finally:
        sys.stdout, sys.stderr = streams


def _run(
    request: Request,
    code: Any,
    namespace: dict[str, Any],
    recording: Recording,
    hooks: ProgramHooks,
    out: _Output,
    notes: list[str],
    plotting: PlottingStub,
) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught, no_gc():
        warnings.simplefilter("default")
        with RecordingSession(recording):
            step = "program"
            try:
                try:
                    exec(code, namespace)
                except SystemExit as e:
                    if e.code not in (None, 0):
                        raise
                    notes.append("The program called exit(); what it did until then is shown.")
                last = tensors_in(hooks.last) if hooks.has_last else []
                step = "automatic backward"
                note = _auto_backward(recording, last) if request.auto_backward else None
                if note:
                    notes.append(note)
                auto_call = len(recording.calls) - 1 if note and recording.calls else None
                step = "replayed buttons"
                if request.actions:
                    notes.extend(replay(recording, request.actions))
            except BaseException as e:  # the program's own failure, shown as Python says it
                return {"ok": False, "error": describe(e, step), "stdout": out.text()}
        try:
            graph = build_graph(recording, default_roots(recording) + last)
            if auto_call is not None:
                graph.backward_calls[auto_call].kind = "auto"
            graph.stdout = out.text()
            graph.result = _safe_repr(hooks.last) if hooks.has_last else None
            graph.echoes = list(hooks.echoes)
            if out.dropped:
                notes.append(f"The printed output was cut at {OUTPUT_LIMIT:,} characters.")
            skipped = plotting.note()
            graph.notes = notes + ([skipped] if skipped else []) + _warning_notes(caught)
            return {"ok": True, "graph": to_wire(graph)}
        except Exception as e:
            return {"ok": False, "error": describe(e, "building the graph"), "stdout": out.text()}
