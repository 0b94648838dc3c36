"""What the interactive graph is given: the SVG laid out on the server, each node's and edge's
tooltip, and the overlay a step of the step-through puts on the drawing.

The overlay restyles the laid-out drawing (the current node, the edges a gradient has
travelled, nodes not computed yet, gradients not arrived yet): a step costs no layout, and no
node moves between steps.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from gradviz.model.format import shape_text, tensor_text
from gradviz.model.graph import Graph, Node
from gradviz.model.names import title
from gradviz.model.values import TensorValue
from gradviz.render.dot import PALETTES, RenderOptions
from gradviz.render.uses import drawn_uses

TIP_ITEMS = 8
"""Elements a tooltip shows of a tensor (then "..."): the Inspector has them all."""


@dataclass(frozen=True)
class Overlay:
    """What a step changes on the drawing, by node id."""

    current: str | None = None
    traversed: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """Edges (src, dst) a gradient has travelled along so far."""
    hidden: frozenset[str] = field(default_factory=frozenset)
    """Nodes the forward pass has not computed yet."""
    no_grad: frozenset[str] = field(default_factory=frozenset)
    """Nodes whose gradient has not arrived yet: their gradient rows are hidden."""


NO_OVERLAY = Overlay()


def node_tip(node: Node, precision: int = 4) -> str:
    """A node's tooltip: what it is, its shape, value and gradient (summarised when large)."""
    lines = [title(node)]
    if node.op and node.kind == "op":
        lines.append(node.op)
    lines.append(f"{shape_text(node.shape)} {node.dtype}".strip())
    lines.extend(_tensor_line("value", node.value, precision))
    lines.extend(_tensor_line("grad", node.grad, precision))
    where = [f"line {node.line}"] if node.line else []
    if node.module:
        where.append(f"in {node.module}")
    if where:
        lines.append(", ".join(where))
    return "\n".join(lines)


def _tensor_line(what: str, value: TensorValue | None, precision: int) -> list[str]:
    if value is None:
        return []
    return [f"{what} {tensor_text(value, precision, TIP_ITEMS)}"]


def edge_tips(graph: Graph, precision: int = 4) -> dict[str, str]:
    """``"src->dst"``: the gradient ``dst`` sent back to ``src`` in the last backward call that
    ran ``dst`` (edges no gradient travelled have no tooltip)."""
    sent: dict[tuple[str, int], TensorValue | None] = {}
    for call in graph.backward_calls:
        for step in call.steps:
            for position, grad in enumerate(step.grad_out):
                sent[(step.node, position)] = grad
    nodes = graph.by_id
    carried: dict[tuple[str, str], list[str]] = {}
    for edge in graph.edges:
        grad = sent.get((edge.dst, edge.position))
        if grad is not None and edge.kind == "grad":
            text = tensor_text(grad, precision, TIP_ITEMS)
            carried.setdefault((edge.src, edge.dst), []).append(text)
    tips: dict[str, str] = {}
    for (src, dst), grads in carried.items():
        names = f"{_short(nodes.get(src), src)} ← {_short(nodes.get(dst), dst)}"
        if len(grads) > 1:  # x * x: one edge per use, each with its own gradient
            names += f" ({len(grads)} edges, one per use)"
        tips[f"{src}->{dst}"] = f"gradient sent back {names}\n" + "\n".join(grads)
    return tips


def _short(node: Node | None, fallback: str) -> str:
    return (node.name or node.label) if node is not None else fallback


_VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')


def drawing_size(svg: str) -> tuple[float, float]:
    """Width and height of the drawing in points (its viewBox)."""
    found = _VIEWBOX.search(svg)
    return (float(found[3]), float(found[4])) if found else (400.0, 300.0)


def canvas_height(svg: str, *, width: float = 760.0, least: int = 320, most: int = 680) -> int:
    """Pixels of page height for the drawing fitted to ``width``, within [least, most]."""
    w, h = drawing_size(svg)
    return int(min(max(h * min(width / max(w, 1.0), 1.5), least), most))


def payload(
    graph: Graph,
    svg: str,
    render: RenderOptions,
    overlay: Overlay = NO_OVERLAY,
    *,
    stale: bool = False,
    fill: bool = False,
    stepping: bool = False,
) -> dict[str, Any]:
    """The component's data for ``graph`` (the graph drawn in ``svg``): plain JSON.

    Args:
        fill: Size the drawing to the screen (presentation mode) rather than to the drawing.
        stepping: The step-through is on: the arrow keys move its step.
    """
    palette = PALETTES[render.theme]
    return {
        "key": hashlib.sha256(svg.encode()).hexdigest()[:16],
        "svg": svg,
        "nodes": {n.id: node_tip(n, render.precision) for n in graph.nodes},
        "edges": edge_tips(graph, render.precision),
        "aliases": drawn_uses(graph, render.draw_each_use_from).aliases(graph),
        "overlay": {
            "current": overlay.current,
            "traversed": sorted(f"{s}->{d}" for s, d in overlay.traversed),
            "hidden": sorted(overlay.hidden),
            "noGrad": sorted(overlay.no_grad),
        },
        "colors": {
            "grad": palette.grad,
            "current": palette.highlight,
            "traversed": palette.traversed,
        },
        "height": canvas_height(svg),
        "fill": fill,
        "fillTop": 200,
        "fillBelow": 150,
        "minHeight": 260,
        "stale": stale,
        "stepping": stepping,
    }
