"""gradviz.draw vs torchviz.make_dot on the same graphs: time to the Digraph and its source.

Both sides stop at DOT text (no layout engine). gradviz also carries every value, gradient
and saved argument. Run: ``python benchmarks/draw_vs_torchviz.py [--profile]``.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torchviz  # noqa: E402
from _bench import SIZES, chain, median_times, ms, table  # noqa: E402

import gradviz  # noqa: E402
from gradviz.api import to_digraph  # noqa: E402
from gradviz.graph.build import build_graph  # noqa: E402
from gradviz.recorder import Recording  # noqa: E402
from gradviz.render.dot import dot_lines  # noqa: E402

HEADER = ("layers", "nodes", "make_dot ms", "draw ms", "draw/make_dot", "build ms", "DOT ms")


def measure(layers: int) -> list[object]:
    out, W, b = chain(layers)
    out.backward()  # leaves have grads; saved tensors are freed, as after a training step
    params = {"W": W, "b": b}

    def build() -> object:
        recording = Recording()
        recording.bind("output", out)
        for name, t in params.items():
            recording.bind(name, t)
        return build_graph(recording, [out])

    graph = build()
    times = median_times(
        {
            "make_dot": lambda: torchviz.make_dot(out, params=params).source,
            "draw": lambda: gradviz.draw(out, params=params).source,
            "build": build,
            "dot": lambda: to_digraph(graph).source,
        }
    )
    nodes = len(graph.nodes)  # type: ignore[attr-defined]
    ratio = times["draw"] / times["make_dot"]
    return [layers, nodes, ms(times["make_dot"]), ms(times["draw"]), f"{ratio:.2f}×",
            ms(times["build"]), ms(times["dot"])]


def rows() -> list[list[object]]:
    return [measure(n) for n in SIZES]


def profile(layers: int = 2000) -> None:
    """Where gradviz.draw spends its time (cProfile, top functions by own time)."""
    out, W, b = chain(layers)
    out.backward()
    profiler = cProfile.Profile()
    profiler.enable()
    gradviz.draw(out, params={"W": W, "b": b}).source
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    _ = dot_lines


def main() -> None:
    print(table("gradviz.draw vs torchviz.make_dot (median of 7; Digraph + .source)", HEADER, rows()))
    if "--profile" in sys.argv:
        profile()


if __name__ == "__main__":
    main()
