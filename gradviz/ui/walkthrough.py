"""Step through the graph: backward in the engine's order, forward in creation order.

(Skeleton: the whole graph only, until the step-through lands.)
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz.graph.model import Graph
from gradviz.render.dot import RenderOptions
from gradviz.ui.options import Display


@dataclass(frozen=True)
class Walk:
    """What the graph panel draws at the chosen step."""

    graph: Graph
    render: RenderOptions


def walk_controls(graph: Graph, render: RenderOptions) -> Walk:
    """The step-through's controls; returns what to draw."""
    return Walk(graph, render)


def walk_details(graph: Graph, walk: Walk, display: Display) -> None:
    """What happens at the chosen step, below the graph."""
