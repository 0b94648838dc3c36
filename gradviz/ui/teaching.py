"""The teaching views below the graph, each shown when the program does what it explains.

(Skeleton: the views land one by one.)
"""

from __future__ import annotations

from gradviz.graph.model import Graph
from gradviz.ui.options import Display


def teaching_panels(source: str, graph: Graph, display: Display) -> None:
    """Every view that applies to this program, each under its own heading."""
