"""DOT -> SVG with a layout engine on this machine: Graphviz's ``dot``, else ``graphviz-pure``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ENGINES = ("dot", "graphviz-pure")
NO_ENGINE_MESSAGE = (
    "SVG needs a Graphviz layout engine: install Graphviz (apt-get install graphviz, which "
    "gives `dot`) or `pip install graphviz-pure`. DOT and JSON export work without one."
)


def svg_engine() -> str | None:
    """The path of the first layout engine found, or None. ``graphviz-pure`` (a dependency)
    is looked for beside this Python first: on PATH it may be a slow shim (pyenv's)."""
    beside = Path(sys.executable).parent / "graphviz-pure"
    for name in ENGINES:
        path = shutil.which(name)
        if name == "graphviz-pure" and beside.is_file():
            path = str(beside)
        if path:
            return path
    return None


def to_svg(dot_source: str, timeout: float = 120.0) -> bytes:
    """Lay out DOT source and return the SVG.

    Raises:
        RuntimeError: No engine is installed (the message says what SVG needs), or the
            engine failed.
    """
    engine = svg_engine()
    if engine is None:
        raise RuntimeError(NO_ENGINE_MESSAGE)
    done = subprocess.run(
        [engine, "-Tsvg"],
        input=dot_source.encode(),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{engine} could not lay out the graph: {detail[0] if detail else ''}")
    return done.stdout
