"""A training loop's last iteration: the graph its last ``backward()`` went through.

A loop that calls backward builds one graph per iteration, and drawn together they stand side
by side. ``make_dot(loss)`` after a loop draws the last one; so does gradviz by default, with
the whole history a click away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gradviz.model.graph import Graph


@dataclass(frozen=True)
class LastIteration:
    graph: Graph
    """The last backward call's graph: its root, and every node it was computed from."""
    iterations: int
    """How many backward calls the loop's line made."""


def last_iteration(graph: Graph) -> LastIteration | None:
    """The loop's last iteration, or None when no line called backward more than once, or
    when the last call's graph is the whole graph (backward twice on one graph)."""
    calls = [c for c in graph.backward_calls if c.kind == "backward"]
    if len(calls) < 2 or calls[-1].line is None:
        return None
    last = calls[-1]
    iterations = sum(c.line == last.line for c in calls)
    roots = last.roots or ((last.root,) if last.root else ())
    if iterations < 2 or not roots:
        return None
    keep = graph.ancestors(roots)
    if len(keep) == len(graph.nodes):
        return None
    shown = graph.restricted(keep)
    if not shown.outputs:
        shown = replace(shown, outputs=tuple(roots))
    return LastIteration(shown, iterations)
