"""Gradients accumulate: each leaf's ``.grad`` after every backward() and every zeroing.

Pure data from the Graph's events. A row per backward call or zeroing, in the order they ran
(program lines first, then what the app's buttons replayed), a column per leaf.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz.model.graph import BackwardCall, Event, Graph
from gradviz.model.names import distinct_among, name_or_title
from gradviz.model.values import TensorValue

SHOWN_KINDS = ("backward", "zero_grad")
"""Events that change ``.grad`` (autograd.grad returns its result instead; steps change
values, not gradients)."""


@dataclass(frozen=True)
class Leaf:
    node: str
    label: str
    """The leaf's name (with its line, then its order, when two leaves share a name)."""


@dataclass(frozen=True)
class Row:
    """One backward call or zeroing, and every leaf's ``.grad`` right after it."""

    event: int
    """Index into ``graph.events``."""
    kind: str
    line: int | None
    button: bool
    """Replayed by the app's "backward again" / "zero grad" buttons, not a program line."""
    auto: bool
    """gradviz's own backward() on a program that never called it."""
    grads: dict[str, TensorValue | None]
    """``.grad`` by leaf node id (None: the leaf has no gradient, ``.grad is None``)."""

    @property
    def label(self) -> str:
        """``line 6 · backward()``, ``button · zero grad``, ``auto · backward()``."""
        what = "backward()" if self.kind == "backward" else "zero grad"
        if self.button:
            return f"button · {'backward again' if self.kind == 'backward' else what}"
        if self.auto:
            return f"auto · {what}"
        return f"line {self.line} · {what}" if self.line is not None else what


@dataclass(frozen=True)
class Accumulation:
    leaves: list[Leaf]
    rows: list[Row]


def can_repeat(graph: Graph) -> bool:
    """Whether "backward again" has a backward() call to repeat (autograd.grad does not
    accumulate, and torch.autograd.functional's internal calls are not the program's)."""
    return bool(_repeatable(graph))


def _repeatable(graph: Graph) -> list[BackwardCall]:
    return [
        c
        for c in graph.backward_calls
        if c.kind in ("backward", "auto") and c.origin in (None, "button")
    ]


def freed_by(graph: Graph) -> BackwardCall | None:
    """The backward() call "backward again" would repeat, if it freed the graph (it ran
    without retain_graph=True, so torch will refuse to go through the graph again)."""
    calls = _repeatable(graph)
    return calls[-1] if calls and not calls[-1].retain_graph else None


def _is_button(graph: Graph, event: Event) -> bool:
    if event.call is not None:
        return graph.backward_calls[event.call].origin == "button"
    return event.line is None  # a program's zeroing always runs on one of its lines


def _is_auto(graph: Graph, event: Event) -> bool:
    return event.call is not None and graph.backward_calls[event.call].kind == "auto"


def leaf_labels(graph: Graph, ids: list[str]) -> list[Leaf]:
    """Leaves by name; two that share one are told apart by line, then order (``x, line 3``)."""
    names = distinct_among([graph.node(i) for i in ids], name_or_title)
    return [Leaf(i, names[i]) for i in ids]


def accumulation(graph: Graph) -> Accumulation:
    """The table: leaves (in graph order) and one row per backward call or zeroing."""
    rows = []
    for index, event in enumerate(graph.events):
        if event.kind not in SHOWN_KINDS:
            continue
        if event.call is not None and graph.backward_calls[event.call].origin not in (
            None,
            "button",
        ):
            continue  # torch.autograd.functional's own passes
        rows.append(
            Row(
                event=index,
                kind=event.kind,
                line=event.line,
                button=_is_button(graph, event),
                auto=_is_auto(graph, event),
                grads=dict(event.leaf_grads),
            )
        )
    seen = {leaf for row in rows for leaf in row.grads}
    ids = [n.id for n in graph.nodes if n.id in seen]
    return Accumulation(leaf_labels(graph, ids), rows)
