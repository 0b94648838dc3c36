"""Graph -> DOT, with micrograd-style nodes: name, op, shape, value and gradient.

Colours are set explicitly (background included): Graphviz charts do not follow the page's
theme, so each theme is readable on its own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from typing import Literal

from gradviz.model.format import shape_text, tensor_lines, tensor_text
from gradviz.model.graph import Edge, Flag, Graph, Node
from gradviz.model.names import title
from gradviz.model.values import TensorValue
from gradviz.render.uses import MANY_USES, Copy, drawn_uses

Theme = Literal["light", "dark", "projector"]
STOPPED_FLAGS: tuple[Flag, ...] = ("no_grad", "detached", "requires_grad_off")
GROUP_FLAGS: tuple[Flag, ...] = ("collapsed", "folded")
"""Flags of nodes that stand for many (a collapsed module, a folded chain): drawn with a
double border."""
_STOPPED = frozenset(STOPPED_FLAGS)
_GROUPS = frozenset(GROUP_FLAGS)


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""Characters an SVG (XML 1.0) cannot carry or a reader cannot see: controls, lone
surrogates (a dict key can hold one), noncharacters."""


_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_unprintable(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    named = _NAMED_ESCAPES.get(char)
    return named or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """``text`` with each unprintable character written as Python writes it (``\\n``,
    ``\\x01``, ``\\ud800``)."""
    return _UNPRINTABLE.sub(_escape_unprintable, text) if _UNPRINTABLE.search(text) else text


def quoted(text: str) -> str:
    """``text`` as a DOT double-quoted string (node ids hold module paths, so any text).
    Graphviz's lexer reads ``\\\\`` as a pair and ``\\"`` as a quote, so doubling every
    backslash first keeps a trailing one from escaping the closing quote; unprintable
    characters become single-backslash escapes, so distinct texts stay distinct ids."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if '"' in text:
        text = text.replace('"', '\\"')
    return f'"{printable(text)}"'


def html_text(text: str) -> str:
    """``text`` inside an HTML-like label: markup characters escaped, unprintables spelled."""
    return escape(printable(text))


@dataclass(frozen=True)
class Palette:
    background: str
    text: str
    grad: str
    edge: str
    cut: str
    highlight: str
    traversed: str
    fills: dict[str, tuple[str, str]]
    """Per look (leaf, op, constant, output, stopped): (fill, border)."""
    font_size: int = 11
    pen: float = 1.0


PALETTES: dict[str, Palette] = {
    "light": Palette(
        background="#ffffff",
        text="#111827",
        grad="#b91c1c",
        edge="#6b7280",
        cut="#dc2626",
        highlight="#f59e0b",
        traversed="#ea580c",
        fills={
            "leaf": ("#dbeafe", "#1d4ed8"),
            "op": ("#f3f4f6", "#4b5563"),
            "constant": ("#fef9c3", "#a16207"),
            "output": ("#dcfce7", "#15803d"),
            "stopped": ("#ffe4e6", "#be123c"),
        },
    ),
    "dark": Palette(
        background="#0e1117",
        text="#f3f4f6",
        grad="#fca5a5",
        edge="#9ca3af",
        cut="#f87171",
        highlight="#fbbf24",
        traversed="#fb923c",
        fills={
            "leaf": ("#1e3a8a", "#93c5fd"),
            "op": ("#1f2937", "#d1d5db"),
            "constant": ("#422006", "#fde047"),
            "output": ("#14532d", "#86efac"),
            "stopped": ("#4c0519", "#fda4af"),
        },
    ),
    "projector": Palette(
        background="#ffffff",
        text="#000000",
        grad="#b00000",
        edge="#000000",
        cut="#d00000",
        highlight="#ff8c00",
        traversed="#ff8c00",
        fills={
            "leaf": ("#bfdbfe", "#000000"),
            "op": ("#ffffff", "#000000"),
            "constant": ("#fef08a", "#000000"),
            "output": ("#bbf7d0", "#000000"),
            "stopped": ("#fecdd3", "#000000"),
        },
        font_size=18,
        pen=2.0,
    ),
}


@dataclass(frozen=True)
class RenderOptions:
    """What the drawing shows and how."""

    show_values: bool = True
    show_grads: bool = True
    show_shapes: bool = True
    show_saved: bool = False
    precision: int = 4
    direction: Literal["TB", "LR", "BT", "RL"] = "TB"
    """TB: inputs at the top, the output at the bottom, the way the forward pass reads."""
    theme: Theme = "light"
    legend: bool = True
    group_modules: bool = True
    max_items: int = 6
    highlight: str | None = None
    """A node to mark (the current step of a backward step-through)."""
    traversed: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    """Edges (src, dst) the step-through has already carried a gradient along."""
    draw_each_use_from: int = MANY_USES
    """A leaf or constant feeding at least this many ops is drawn again at each use (0: never)."""


def look(node: Node, outputs: set[str]) -> str:
    """Which of the palette's looks a node gets."""
    if not _STOPPED.isdisjoint(node.flags):
        return "stopped"
    if node.id in outputs:
        return "output"
    return node.kind


def _row(text: str, color: str | None = None, bold: bool = False, plain: bool = False) -> str:
    """One line of a label; ``plain``: text made here of numbers, shapes and class names,
    which needs no HTML escaping (a graph has thousands of such lines)."""
    body = text if plain else html_text(text)
    if bold:
        body = f"<B>{body}</B>"
    if color:
        body = f'<FONT COLOR="{color}">{body}</FONT>'
    return f"<TR><TD>{body}</TD></TR>"


def _tensor_text(value: TensorValue, opts: RenderOptions) -> str:
    """A value's or gradient's lines joined by <BR/>, its note (a sparse tensor shown dense, a
    meta tensor's missing values) after them."""
    if value.data is None and value.summary is None:
        return html_text(value.note or "not recorded")
    text = "<BR/>".join(tensor_lines(value, opts.precision, opts.max_items))
    return text if value.note is None else f"{text}<BR/><I>{html_text(value.note)}</I>"


_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'


def node_label(node: Node, opts: RenderOptions, palette: Palette) -> str:
    rows = [_row(title(node), bold=True)]
    if node.op and node.kind == "op":
        rows.append(_row(node.op))
    if opts.show_shapes:
        rows.append(_row(f"{shape_text(node.shape)} {node.dtype}".strip(), plain=True))
    # A value's or gradient's lines are numbers (no escaping) and most of a big graph's DOT:
    # one row each, its lines broken with <BR/>.
    if opts.show_values and node.value is not None:
        rows.append(f"<TR><TD>value {_tensor_text(node.value, opts)}</TD></TR>")
    if opts.show_grads and node.grad is not None:
        text = _tensor_text(node.grad, opts)
        rows.append(f'<TR><TD><FONT COLOR="{palette.grad}">grad {text}</FONT></TD></TR>')
    if opts.show_saved:
        for key, saved in node.saved.items():
            if isinstance(saved, str) or saved.data is not None or saved.summary is not None:
                text = saved if isinstance(saved, str) else tensor_text(saved, opts.precision, 4)
            else:
                text = saved.note or "not recorded"
            rows.append(_row(f"saved {key}: {text}"))
    stopped = [f for f in node.flags if f in STOPPED_FLAGS] if node.flags else []
    if stopped:
        note = ", ".join(stopped)
        if "shared_storage" in node.flags:
            note += " (shares storage)"
        rows.append(_row(note, color=palette.cut))
    return f"<{_TABLE}{''.join(rows)}</TABLE>>"


def _node_stmt(node: Node, opts: RenderOptions, palette: Palette, outputs: set[str]) -> str:
    fill, border = palette.fills[look(node, outputs)]
    style = "rounded,filled"
    if node.kind == "constant":
        style += ",dashed"
    pen = palette.pen * (2 if node.id in outputs else 1)
    if node.id == opts.highlight:
        border, pen = palette.highlight, palette.pen * 4
    label = node_label(node, opts, palette)
    group = "" if _GROUPS.isdisjoint(node.flags) else " peripheries=2"
    return (
        f'{quoted(node.id)} [label={label} shape=box style="{style}" fillcolor="{fill}" '
        f'color="{border}" penwidth={pen:g}{group}]'
    )


def _copy_stmt(
    copy_id: str, copy: Copy, node: Node, opts: RenderOptions, palette: Palette, outputs: set[str]
) -> str:
    """A copy of ``node`` at one of its uses: its name and which use, with a dotted border (the
    node itself, drawn once in full, has its value and gradient)."""
    fill, border = palette.fills[look(node, outputs)]
    pen = palette.pen
    if node.id == opts.highlight:
        border, pen = palette.highlight, palette.pen * 4
    rows = _row(title(node), bold=True) + _row(f"use {copy.use} of {copy.uses}", plain=True)
    return (
        f"{quoted(copy_id)} [label=<{_TABLE}{rows}</TABLE>> shape=box "
        f'style="rounded,filled,dotted" fillcolor="{fill}" color="{border}" penwidth={pen:g}]'
    )


def _edge_stmt(edge: Edge, start: str, opts: RenderOptions, palette: Palette, graph: Graph) -> str:
    """``edge``, drawn from ``start`` (its source, or a copy of it)."""
    attrs = [f'color="{palette.edge}"']
    if edge.kind == "constant":
        attrs.append('style="dotted"')
    elif edge.kind == "cut":
        flags = [f for f in graph.node(edge.dst).flags if f in STOPPED_FLAGS]
        why = flags[0].replace("_", " ") if flags else "stopped"
        attrs = [f'color="{palette.cut}"', 'style="dashed"', f'label="✂ {why}"']
        attrs.append(f'fontcolor="{palette.cut}"')
    if (edge.src, edge.dst) in opts.traversed:
        attrs[0] = f'color="{palette.traversed}"'
        attrs.append(f"penwidth={palette.pen * 3:g}")
    if start != edge.src:
        attrs.append("weight=1")
    return f"{quoted(start)} -> {quoted(edge.dst)} [{' '.join(attrs)}]"


@dataclass(frozen=True)
class LegendEntry:
    """One look a graph's nodes or edges have, and what it means."""

    look: str
    """The palette's fill (``leaf``, ``op``...), or ``cut`` for the edge of a cut."""
    text: str
    dashed: bool = False
    double: bool = False
    dotted: bool = False


def legend_entries(graph: Graph, opts: RenderOptions | None = None) -> list[LegendEntry]:
    """The looks this graph has drawn with ``opts``, each named once: a legend for exactly what
    is drawn."""
    outputs = set(graph.outputs)
    looks = {
        (look(node, outputs), node.kind == "constant", not _GROUPS.isdisjoint(node.flags))
        for node in graph.nodes
    }
    kinds = {kind for kind, _, _ in looks}
    entries = []
    if "leaf" in kinds:
        entries.append(LegendEntry("leaf", "leaf (requires grad)"))
    if ("op", False, False) in looks:
        entries.append(LegendEntry("op", "operation (grad_fn)"))
    if any(double for _, _, double in looks):
        entries.append(LegendEntry("op", "group: a module or a folded chain", double=True))
    if "constant" in kinds:
        entries.append(LegendEntry("constant", "constant (no grad)", dashed=True))
    if any(kind == "output" and not dashed for kind, dashed, _ in looks):
        entries.append(LegendEntry("output", "output"))
    if ("output", True, False) in looks:
        entries.append(LegendEntry("output", "result without grad", dashed=True))
    if any(kind == "stopped" and not dashed for kind, dashed, _ in looks):
        entries.append(LegendEntry("stopped", "tracking stopped"))
    if any(kind == "stopped" and dashed for kind, dashed, _ in looks):
        entries.append(LegendEntry("stopped", "tracking stopped (no grad)", dashed=True))
    if any(edge.kind == "cut" for edge in graph.edges):
        entries.append(LegendEntry("cut", "✂ where tracking stopped", dashed=True))
    copies = drawn_uses(graph, (opts or RenderOptions()).draw_each_use_from).copies
    if copies:
        copied = graph.node(next(iter(copies.values())).of)
        text = "same tensor, another use (grad sums all uses)"
        entries.append(LegendEntry(look(copied, outputs), text, dotted=True))
    return entries


def _legend(graph: Graph, opts: RenderOptions, palette: Palette) -> list[str]:
    lines = [
        "subgraph cluster_legend {",
        f'label="legend" fontcolor="{palette.text}" color="{palette.edge}" style="dashed"',
    ]
    for k, entry in enumerate(legend_entries(graph, opts)):
        if entry.look == "cut":
            fill, border = palette.background, palette.cut
        else:
            fill, border = palette.fills[entry.look]
        style = "rounded,filled" + (",dashed" if entry.dashed else "")
        style += ",dotted" if entry.dotted else ""
        lines.append(
            f'legend_{k} [label="{entry.text}" shape=box style="{style}" '
            f'fillcolor="{fill}" color="{border}"{" peripheries=2" if entry.double else ""}]'
        )
    lines.append("}")
    return lines


FAST_LAYOUT_NODES = 60
FAST_LAYOUT = " mclimit=0.01 nslimit=0.5 nslimit1=0.5 remincross=false searchsize=5"
"""Past FAST_LAYOUT_NODES, fewer crossing-minimisation and positioning passes: a tensor that
feeds every layer (a shared weight) otherwise makes dot take minutes (the 2,000-layer chain
opened to 150 nodes: 10.5 s, with these 0.55 s; to 300 nodes: over 120 s, with these 2-3 s)."""


COPY_EDGE_LIGHTER = 10
"""How many times an edge weighs more than one from a copy (dot's weights are integers)."""


def dot_lines(graph: Graph, opts: RenderOptions | None = None) -> list[str]:
    """The statements inside ``digraph { ... }`` (also what graphviz.Digraph's body takes)."""
    opts = opts or RenderOptions()
    palette = PALETTES[opts.theme]
    outputs = set(graph.outputs)
    fast = FAST_LAYOUT if len(graph.nodes) > FAST_LAYOUT_NODES else ""
    uses = drawn_uses(graph, opts.draw_each_use_from)
    # Each copy pulls its consumer sideways as much as the edge from the op before it does,
    # and a long chain drifts by a copy's width per layer (300 nodes: 20,000 pt wide): the
    # other edges weigh more, so the chain stays straight and its copies sit beside it.
    heavy = f" weight={COPY_EDGE_LIGHTER}" if uses.copies else ""
    lines = [
        f'graph [rankdir={opts.direction} bgcolor="{palette.background}" '
        f'fontname="Helvetica" fontcolor="{palette.text}" nodesep=0.3 ranksep=0.35{fast}]',
        f'node [fontname="Helvetica" fontsize={palette.font_size} fontcolor="{palette.text}"]',
        f'edge [fontname="Helvetica" fontsize={palette.font_size - 1} arrowsize=0.7{heavy}]',
    ]
    # Statements by module cluster ("" outside any); a copy sits in its consumer's cluster.
    by_module: dict[str, list[str]] = defaultdict(list)

    def cluster(node: Node) -> str:
        return (node.module or "") if opts.group_modules else ""

    for node in graph.nodes:
        by_module[cluster(node)].append(_node_stmt(node, opts, palette, outputs))
    for copy_id, copy in uses.copies.items():
        statement = _copy_stmt(copy_id, copy, graph.node(copy.of), opts, palette, outputs)
        by_module[cluster(graph.node(copy.at))].append(statement)
    lines.extend(by_module.pop("", []))
    for i, (module, statements) in enumerate(by_module.items()):
        lines.append(f"subgraph cluster_m{i} {{")
        lines.append(
            f'label=<{html_text(module)}> fontcolor="{palette.text}" color="{palette.edge}" '
            'style="rounded"'
        )
        lines.extend(statements)
        lines.append("}")
    lines.extend(
        _edge_stmt(e, uses.start(k, e.src), opts, palette, graph) for k, e in enumerate(graph.edges)
    )
    if opts.legend:
        lines.extend(_legend(graph, opts, palette))
    return lines


def to_dot(graph: Graph, opts: RenderOptions | None = None) -> str:
    """The graph as DOT source, the same text for the same graph and options."""
    body = "\n  ".join(dot_lines(graph, opts))
    return f"digraph gradviz {{\n  {body}\n}}\n"
