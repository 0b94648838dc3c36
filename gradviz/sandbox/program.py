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
import json
import linecache
import random
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch
import torch.autograd.functional as autograd_functional

from gradviz.capture import LiveFunctional, Recording, RecordingSession
from gradviz.capture.build import build_graph, default_roots
from gradviz.capture.gc_pause import no_gc
from gradviz.capture.replay import replay
from gradviz.capture.snapshot import (
    ElementBudget,
    element_budget,
    maybe_snapshot,
    snapshot,
    tensors_in,
)
from gradviz.model.format import shape_text
from gradviz.model.graph import Graph, Note
from gradviz.model.values import summarize
from gradviz.model.wire import to_wire
from gradviz.sandbox.failure import describe
from gradviz.sandbox.instrument import FILENAME, HOOKS, instrument
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.plotting import PlottingStub
from gradviz.sandbox.request import Request

DEFAULT_LIMITS = Limits()
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


def _warning_notes(caught: Sequence[warnings.WarningMessage]) -> list[Note]:
    notes: list[Note] = []
    for w in caught[:20]:
        where = f"line {w.lineno}: " if w.filename == FILENAME else ""
        text = f"warning: {where}{w.category.__name__}: {str(w.message)[:500]}"
        notes.append(Note("warning", text))
    return notes


def run_request(
    request: Request, progress: Any = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """Run one program and return ``{"ok": True, "graph": wire}`` or ``{"ok": False,
    "error": {...}}``: plain data only, never raising. ``limits`` bounds what is sent back
    (elements in full, nodes, JSON size)."""
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
    run = _Run(request, limits, recording, hooks, _Output(), PlottingStub(hooks.line))
    run.plotting.install()
    _seed(request.seed)
    streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = run.out
    try:
        with _FunctionalCapture(recording), element_budget(limits.max_elements) as budget:
            run.budget = budget
            return run.execute(code, namespace)
    finally:
        sys.stdout, sys.stderr = streams


class _Run:
    """One program's run after it is compiled: the program, then gradviz's own steps (auto
    backward, the buttons, the build, the JSON), each failure said at its step and line."""

    def __init__(
        self,
        request: Request,
        limits: Limits,
        recording: Recording,
        hooks: ProgramHooks,
        out: _Output,
        plotting: PlottingStub,
    ) -> None:
        self.request, self.limits, self.recording, self.hooks = request, limits, recording, hooks
        self.out, self.plotting = out, plotting
        self.notes: list[Note] = []
        self.budget = ElementBudget(limits.max_elements)
        self.last_line: int | None = None
        """The program line that ran last: where a failure after the program is reported."""

    def failed(self, e: BaseException, step: str = "program") -> dict[str, Any]:
        error = describe(e, step, line=self.last_line)
        return {"ok": False, "error": error, "stdout": self.out.text()}

    def execute(self, code: Any, namespace: dict[str, Any]) -> dict[str, Any]:
        with warnings.catch_warnings(record=True) as caught, no_gc():
            warnings.simplefilter("default")
            with RecordingSession(self.recording):
                try:
                    exec(code, namespace)
                except SystemExit as e:
                    if e.code not in (None, 0):
                        return self.failed(e)
                    said = "The program called exit(); what it did until then is shown."
                    self.notes.append(Note("program", said))
                except BaseException as e:  # the program's own failure, shown as Python says it
                    return self.failed(e)
                self.last_line = self.recording.line
                last = tensors_in(self.hooks.last) if self.hooks.has_last else []
                auto_call = self.after_program(last)
            try:
                graph = self.graph(default_roots(self.recording) + last, auto_call)
            except Exception as e:
                return self.failed(e, "building the graph")
            graph = replace(graph, notes=(*graph.notes, *_warning_notes(caught)))
            return self.sent(graph)

    def after_program(self, last: list[torch.Tensor]) -> int | None:
        """The automatic backward and the replayed buttons; a failure of either becomes a
        note, the graph recorded so far is still shown. Returns the automatic call's index."""
        auto_call = None
        if self.request.auto_backward:
            note: Note | None
            try:
                said = _auto_backward(self.recording, last)
                note = Note("program", said) if said else None
            except Exception as e:  # a hook of the program's, say, that returns an int
                note = self.step_failed(e, "the automatic backward()")
            else:
                if note and self.recording.calls:
                    auto_call = len(self.recording.calls) - 1
            if note:
                self.notes.append(note)
        if self.request.actions:
            try:
                self.notes.extend(replay(self.recording, self.request.actions))
            except Exception as e:
                self.notes.append(self.step_failed(e, "the replayed buttons"))
        return auto_call

    def step_failed(self, e: Exception, step: str) -> Note:
        error = describe(e, step, line=self.last_line)
        where = f"line {error['line']}: " if error["line"] else ""
        return Note("program", f"{where}{error['message']}; the graph so far is shown.")

    def graph(self, roots: list[torch.Tensor], auto_call: int | None) -> Graph:
        rec, limits = self.recording, self.limits
        try:
            graph = build_graph(rec, roots, max_nodes=limits.max_nodes)
        except Exception as e:  # what autograd saved can be anything: try without it
            graph = build_graph(rec, roots, saved=False, max_nodes=limits.max_nodes)
            self.notes.append(self.step_failed(e, "reading saved tensors"))
        calls = graph.backward_calls
        if auto_call is not None and auto_call < len(calls):
            auto = replace(calls[auto_call], kind="auto")
            calls = (*calls[:auto_call], auto, *calls[auto_call + 1 :])
        if self.out.dropped:
            cut = f"The printed output was cut at {OUTPUT_LIMIT:,} characters."
            self.notes.append(Note("limit", cut))
        if self.budget.refused:
            self.notes.append(
                Note(
                    "limit",
                    f"Values and gradients past {limits.max_elements:,} elements in all are "
                    "shown as summaries (Limits.max_elements).",
                )
            )
        skipped = self.plotting.note()
        plotting = [Note("program", skipped)] if skipped else []
        return replace(
            graph,
            backward_calls=calls,
            stdout=self.out.text(),
            result=_safe_repr(self.hooks.last) if self.hooks.has_last else None,
            echoes=tuple(self.hooks.echoes),
            notes=(*graph.notes, *self.notes, *plotting),
        )

    def sent(self, graph: Graph) -> dict[str, Any]:
        """The graph as wire data within ``Limits.result_bytes``: if its JSON is bigger, every
        value is summarized, then nodes are dropped, before the run fails with a message."""
        try:
            wire = to_wire(graph)
            cap = self.limits.result_bytes
            if _maybe_over(graph, self.budget, cap):
                wire = _within(wire, cap)
        except ResultTooBig as e:
            error = {**describe(e), "kind": "limit reached", "message": str(e)}
            return {"ok": False, "error": error, "stdout": self.out.text()}
        except Exception as e:
            return self.failed(e, "writing the graph as JSON")
        return {"ok": True, "graph": wire}


_VALUE_KEYS = frozenset({"shape", "dtype", "data", "summary", "note"})


def _maybe_over(graph: Graph, budget: ElementBudget, cap: int) -> bool:
    """Whether the graph's JSON could come near ``cap``: a generous estimate, so that the
    JSON is measured (which costs as much as writing it) only for graphs near the cap."""
    steps = sum(len(call.steps) for call in graph.backward_calls)
    text = len(graph.stdout) + len(graph.result or "") + sum(len(t) for _, t in graph.echoes)
    estimate = 32 * budget.spent + 4096 * (len(graph.nodes) + len(graph.edges) + steps)
    return estimate + 6 * text > cap // 2


def _json_size(wire: dict[str, Any]) -> int:
    return len(json.dumps(wire, allow_nan=False, separators=(",", ":")).encode())


def _within(wire: dict[str, Any], cap: int) -> dict[str, Any]:
    """``wire`` if its JSON fits in ``cap`` bytes, else with every value summarized and a
    note; ResultTooBig if even that does not fit."""
    size = _json_size(wire)
    if size <= cap:
        return wire
    _summarize_values(wire)
    text = (
        f"The graph's JSON was {size:,} bytes, over the {cap:,} a run may send back "
        "(Limits.result_bytes): every value and gradient is shown as a summary."
    )
    wire["notes"].append(asdict(Note("limit", text)))
    smaller = _json_size(wire)
    if smaller > cap:
        raise ResultTooBig(
            f"the graph's JSON is {smaller:,} bytes even with every value summarized, over "
            f"the {cap:,} a run may send back: raise Limits.result_bytes or lower "
            "Limits.max_nodes"
        )
    return wire


class ResultTooBig(Exception):
    """The graph does not fit in Limits.result_bytes even reduced."""


def _summarize_values(wire: dict[str, Any]) -> None:
    """Replace the data of every tensor value in ``wire`` by its summary, in place."""
    stack: list[Any] = [wire]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if item.keys() == _VALUE_KEYS:
                if item["data"] is not None:
                    item["summary"] = asdict(summarize(item["data"]))
                    item["data"] = None
                continue
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
