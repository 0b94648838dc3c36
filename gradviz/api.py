"""The Python API for trusted code in a notebook or script: ``record()`` and ``draw()``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import graphviz
import torch

from gradviz.capture import Recording, RecordingSession
from gradviz.capture.build import build_graph, default_roots
from gradviz.capture.gc_pause import no_gc
from gradviz.model.graph import Graph
from gradviz.render.dot import RenderOptions, dot_lines


def _as_tensors(var: Any) -> list[torch.Tensor]:
    if isinstance(var, torch.Tensor):
        return [var]
    if isinstance(var, Mapping):
        var = list(var.values())
    return [t for t in var if isinstance(t, torch.Tensor)]


def to_digraph(graph: Graph, opts: RenderOptions | None = None) -> graphviz.Digraph:
    """A graphviz.Digraph of the graph (renders inline in Jupyter)."""
    return graphviz.Digraph(name="gradviz", body=[f"  {line}\n" for line in dot_lines(graph, opts)])


class record:
    """Record everything torch does in a ``with`` block of trusted code.

    On exit, ``.graph`` holds the Graph: each tensor named after the local variable it is
    bound to, values, gradients of every backward call in the block, and events.

    Example:
        >>> with gradviz.record() as rec:
        ...     x = torch.tensor(2.0, requires_grad=True)
        ...     y = x**2
        ...     y.backward()
        >>> rec.graph.find("x")[0].grad.data
        4.0
    """

    def __init__(self, seed: int | None = None) -> None:
        generator = None
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        self.recording = Recording(generator=generator)
        self._session = RecordingSession(self.recording)
        self.graph: Graph | None = None

    def __enter__(self) -> record:
        # Name the caller's modules now, so that what runs inside the block is filed under
        # ``model.encoder.0`` rather than under class names.
        self.name_modules(sys._getframe(1).f_locals)
        self._session.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with no_gc():  # still paused from the session: no full pass between it and the build
            self._session.__exit__(exc_type, exc, tb)
            self.name_locals(sys._getframe(1).f_locals)
            self.graph = build_graph(self.recording, default_roots(self.recording))

    def name_modules(self, names: Mapping[str, Any]) -> None:
        """Name the modules (and their parameters) among the caller's variables."""
        for name, value in list(names.items()):
            if not name.startswith("_") and isinstance(value, torch.nn.Module):
                self.recording.name_module(name, value)

    def name_locals(self, names: Mapping[str, Any]) -> None:
        """Name recorded tensors (and modules' parameters) after the caller's variables."""
        for name, value in names.items():
            if name.startswith("_"):
                continue
            known = isinstance(value, torch.Tensor) and self.recording.record_of(value)
            if known or isinstance(value, torch.nn.Module):
                self.recording.bind(name, value)

    def digraph(self, opts: RenderOptions | None = None) -> graphviz.Digraph:
        """The recorded graph as a graphviz.Digraph."""
        if self.graph is None:
            raise RuntimeError("the recording is still running: draw it after the with block")
        return to_digraph(self.graph, opts)


def draw(
    var: torch.Tensor | Iterable[torch.Tensor],
    params: Mapping[str, torch.Tensor] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
    *,
    options: RenderOptions | None = None,
) -> graphviz.Digraph:
    """A drop-in superset of torchviz's ``make_dot``: same arguments, same return type.

    It also shows each tensor's value where one is known (outputs, leaves, saved results),
    leaves' gradients, and constant tensors that autograd saved.

    Args:
        var: Output tensor(s) to draw the graph of.
        params: Names for leaf tensors, e.g. ``dict(model.named_parameters())``.
        show_attrs: Show what autograd saved for backward (torchviz's ``show_attrs``).
        show_saved: Same as ``show_attrs`` here: saved tensors and arguments.
        max_attr_chars: Kept for compatibility with make_dot.
        options: Any other RenderOptions (precision, direction, theme...).

    Returns:
        A graphviz.Digraph; in Jupyter it renders inline.
    """
    recording = Recording()
    outputs = _as_tensors(var)
    for i, t in enumerate(outputs):
        recording.bind("output" if len(outputs) == 1 else f"output {i}", t)
    for name, t in (params or {}).items():
        recording.bind(name, t)
    opts = options or RenderOptions()
    if show_attrs or show_saved:
        opts = RenderOptions(**{**opts.__dict__, "show_saved": True})
    # What autograd saved is read only when it is shown, and then all of it (values of ops
    # come regardless).
    graph = build_graph(recording, outputs, saved=opts.show_saved, saved_limit=None)
    return to_digraph(graph, opts)
