"""The graph laid out on the server, by Graphviz's own engine, bounded in time and cached.

The browser only draws the SVG it is given: a layout that would take longer than
``LAYOUT_SECONDS`` is not sent at all (the caller shows the graph collapsed further), so no tab
ever freezes laying out a big graph. The SVG keeps Graphviz's structure: one ``<g
class="node">`` per node with the node's id as its ``<title>``, one ``<g class="edge">`` per
edge titled ``src->dst``.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import OrderedDict

from gradviz.render.svg import to_svg

LAYOUT_SECONDS = 2.0
CACHE_ENTRIES = 64


class LayoutTooSlow(Exception):
    """The engine did not finish within the bound."""


class _Cache:
    """Recent layouts by DOT text; a too-slow one is remembered as the seconds it was given
    (not tried again within as many, tried again with more)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[str, str | float] = OrderedDict()

    def get(self, dot: str) -> str | float | None:
        with self.lock:
            if dot not in self.items:
                return None
            self.items.move_to_end(dot)
            return self.items[dot]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def put(self, dot: str, svg: str | float) -> None:
        with self.lock:
            self.items[dot] = svg
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_cache = _Cache(CACHE_ENTRIES)
_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SIZE = re.compile(r'<svg width="[^"]*" height="[^"]*"')


def forget_layouts() -> None:
    """Empty the cache (tests that time the engine start from nothing)."""
    _cache.clear()


def lay_out(dot: str, seconds: float = LAYOUT_SECONDS) -> str:
    """The SVG of ``dot`` without its XML prolog, sized by its viewBox only (the page scales it).

    Raises:
        LayoutTooSlow: the engine needed more than ``seconds`` (now or on an earlier try).
        RuntimeError: no engine is installed, or it failed.
    """
    known = _cache.get(dot)
    if isinstance(known, str):
        return known
    if known is not None and seconds <= known:
        raise LayoutTooSlow(f"the layout took longer than {known:g} s")
    try:
        raw = to_svg(dot, timeout=seconds).decode()
    except subprocess.TimeoutExpired:
        _cache.put(dot, seconds)
        raise LayoutTooSlow(f"the layout took longer than {seconds:g} s") from None
    svg = _SIZE.sub("<svg", _PROLOG.sub("", raw, count=1), count=1)
    _cache.put(dot, svg)
    return svg
