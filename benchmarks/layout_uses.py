"""Laying out a tensor that feeds every layer: one box with an arrow per use, against one box
per use (``RenderOptions.draw_each_use_from``), on the 2,000-layer chain's group opened to 150,
300 and 600 nodes (``W`` and ``b`` each feed a third of the ops).

The layout is the server's (``render.svg.to_svg``: ``dot`` or graphviz-pure), the step the
app bounds at 2 s. Run: ``python benchmarks/layout_uses.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import table

import gradviz
from gradviz.gallery import by_key
from gradviz.render.dot import RenderOptions, to_dot
from gradviz.render.svg import to_svg
from gradviz.render.uses import MANY_USES
from gradviz.views.budget import budget_view

NODES = (150, 300, 600)
REPEAT = 3
GIVE_UP = 60.0
"""Seconds after which one layout is stopped (and shown as more than that)."""
HEADER = ("nodes", "uses of W", "one box, s", "a box per use, s", "ratio")


def _opened(graph: gradviz.Graph, nodes: int) -> gradviz.Graph:
    fold = [n.id for n in budget_view(graph, nodes).graph.nodes if n.id.startswith("f:")]
    return budget_view(graph, nodes, opened=fold).graph


def _seconds(dot: str) -> float:
    """Median seconds to lay ``dot`` out (``GIVE_UP`` if one try took longer)."""
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        try:
            to_svg(dot, timeout=GIVE_UP)
        except subprocess.TimeoutExpired:
            return GIVE_UP
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rows() -> list[list[object]]:
    chain = gradviz.run(by_key("deep_chain").code)
    found: list[list[object]] = []
    for nodes in NODES:
        graph = _opened(chain, nodes)
        weight = next(n.id for n in graph.nodes if n.name == "W")
        one = _seconds(to_dot(graph, RenderOptions(legend=False, draw_each_use_from=0)))
        each = _seconds(to_dot(graph, RenderOptions(legend=False)))
        shown = f"> {GIVE_UP:g}" if one >= GIVE_UP else f"{one:.2f}"
        found.append(
            [len(graph.nodes), len(graph.consumers[weight]), shown, each, f"{one / each:.1f}×"]
        )
    return found


def main() -> None:
    print(table(f"layout, a tensor used {MANY_USES}+ times", HEADER, rows()))


if __name__ == "__main__":
    main()
