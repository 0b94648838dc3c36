"""``gradviz.run``: run a program in the interpreter, record it, and build its Graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.autograd.functional import hessian, jacobian

from gradviz.api import default_roots
from gradviz.gc_pause import no_gc
from gradviz.graph.build import build_graph
from gradviz.graph.model import Graph
from gradviz.interpreter import InterpreterHooks, interpret
from gradviz.limits import Limits
from gradviz.recorder import LiveFunctional, Recording, RecordingSession
from gradviz.render.format import shape_text
from gradviz.replay import replay
from gradviz.values import maybe_snapshot, snapshot, tensors_in


def _describe(recording: Recording, tensor: torch.Tensor) -> str:
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
    what = _describe(recording, target)
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


def _capturing(kind: str, real: Callable[..., Any], recording: Recording) -> Callable[..., Any]:
    """``real`` (jacobian or hessian), noting its inputs and result for the heatmaps."""

    def call(func: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(func, inputs, *args, **kwargs)
        given = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
        recording.functional.append(
            LiveFunctional(
                kind=kind,
                function=getattr(func, "__name__", "function"),
                inputs=[snapshot(t) for t in given if isinstance(t, torch.Tensor)],
                result=maybe_snapshot(result),
                line=recording.line,
            )
        )
        return result

    return call


def run(
    source: str,
    *,
    limits: Limits | None = None,
    seed: int = 0,
    overrides: dict[int, dict[int, float]] | None = None,
    auto_backward: bool = True,
    actions: Sequence[str] = (),
) -> Graph:
    """Run a tutorial-style PyTorch program safely and return what autograd did.

    Args:
        source: The program text (never given to exec or eval).
        limits: Bounds on time, steps and sizes; defaults to ``Limits()``.
        seed: Seed of the program's own random generator: the same program gives the same
            values, ids and JSON every time. ``torch.manual_seed`` in the program reseeds it.
        overrides: ``{seq: {index: value}}``: set elements of the seq-th tensor created
            (move a point along the curve).
        auto_backward: Run backward on a scalar result if the program never did.
        actions: ``"backward"`` / ``"zero_grad"`` replayed after the program (the app's
            buttons): see ``gradviz.replay``.

    Returns:
        The Graph, with the program's printed output, its last value and notes.

    Raises:
        GradvizError: ProgramSyntaxError, RefusedError, LimitExceeded or ProgramError, each
            with the line and column.
    """
    generator = torch.Generator().manual_seed(seed)
    recording = Recording(generator=generator, overrides=overrides)

    def reseed(seed: Any) -> torch.Generator:
        return generator.manual_seed(int(seed))

    def on_line(line: int) -> None:
        recording.line = line

    hooks = InterpreterHooks(
        on_bind=recording.bind,
        on_line=on_line,
        substitutions={
            torch.manual_seed: reseed,
            torch.random.manual_seed: reseed,
            jacobian: _capturing("jacobian", jacobian, recording),
            hessian: _capturing("hessian", hessian, recording),
        },
    )
    notes: list[str] = []
    with no_gc():  # one pause from the program's start to its built Graph (see gc_pause)
        with RecordingSession(recording):
            execution = interpret(source, limits=limits or Limits(), hooks=hooks)
            last = tensors_in(execution.last_value) if execution.has_last_value else []
            if auto_backward:
                note = _auto_backward(recording, last)
                if note:
                    notes.append(note)
            auto_call = len(recording.calls) - 1 if notes and recording.calls else None
            if actions:
                notes.extend(replay(recording, actions))
        graph = build_graph(recording, default_roots(recording) + last)
    if auto_call is not None:
        graph.backward_calls[auto_call].kind = "auto"
    graph.stdout = execution.stdout
    graph.result = repr(execution.last_value) if execution.has_last_value else None
    graph.echoes = list(execution.echoes)
    graph.notes = notes
    return graph
