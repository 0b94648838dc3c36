"""gradviz.draw vs torchviz.make_dot on the same graphs: time to the Digraph and its source.

Both sides stop at DOT text (no layout engine). gradviz also carries the value of every
tensor it can see (leaves, outputs, ops' saved results) and the leaves' gradients. The last
rows show what autograd saved on both sides (make_dot's show_attrs/show_saved, draw's
show_saved). Run: ``python benchmarks/draw_vs_torchviz.py [--profile]``.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torchviz
from _bench import SIZES, chain, median_times, ms, table

import gradviz
from gradviz.api import to_digraph
from gradviz.capture import Recording
from gradviz.capture.build import build_graph
from gradviz.model.graph import Graph
from gradviz.render.dot import RenderOptions

HEADER = (
    "layers",
    "after",
    "nodes",
    "make_dot ms",
    "draw ms",
    "draw/make_dot",
    "build ms",
    "DOT ms",
)
AFTER = ("backward()", "retain_graph", "retain_graph, saved shown")
"""backward() frees saved tensors (a training step); retain_graph keeps them, so gradviz
also carries every op's saved result as its value; and both sides can show them all."""


def measure(layers: int, after: str) -> list[object]:
    out, params = chain(layers)
    out.backward(retain_graph=after != "backward()")  # leaves have grads
    saved = after.endswith("saved shown")

    def build() -> Graph:
        recording = Recording()
        recording.bind("output", out)
        for name, t in params.items():
            recording.bind(name, t)
        return build_graph(recording, [out], saved=saved, saved_limit=None)  # as draw() does

    graph = build()
    opts = RenderOptions(show_saved=saved)
    times = median_times(
        {
            "make_dot": lambda: (
                torchviz.make_dot(out, params=params, show_attrs=saved, show_saved=saved).source
            ),
            "draw": lambda: gradviz.draw(out, params=params, show_saved=saved).source,
            "build": build,
            "dot": lambda: to_digraph(graph, opts).source,
        }
    )
    ratio = times["draw"] / times["make_dot"]
    return [
        layers,
        after,
        len(graph.nodes),
        ms(times["make_dot"]),
        ms(times["draw"]),
        f"{ratio:.2f}×",
        ms(times["build"]),
        ms(times["dot"]),
    ]


def rows() -> list[list[object]]:
    return [measure(n, after) for after in AFTER for n in SIZES]


def profile(layers: int = 2000) -> None:
    """Where gradviz.draw spends its time (cProfile, top functions by own time)."""
    out, params = chain(layers)
    out.backward()
    profiler = cProfile.Profile()
    profiler.enable()
    source = gradviz.draw(out, params=params).source
    profiler.disable()
    print(f"{len(source):,} characters of DOT")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    print(
        table("gradviz.draw vs torchviz.make_dot (median of 7; Digraph + .source)", HEADER, rows())
    )
    if "--profile" in sys.argv:
        profile()


if __name__ == "__main__":
    main()
