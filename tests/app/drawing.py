"""What the graph component was given, read as a user would see it drawn.

The app lays the graph out on the server and sends the SVG with an overlay (the step's current
node, the edges travelled, hidden nodes and gradient rows). These helpers parse that SVG and
apply the overlay, so tests assert on what is on screen.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from streamlit.testing.v1 import AppTest

_SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Drawing:
    nodes: dict[str, str]
    """Node id -> the text of its label as shown (rows joined by spaces), in drawn order."""
    edges: set[tuple[str, str]]
    """Edges shown, (src, dst)."""
    current: str | None
    """The node marked as the step's (or the search hit)."""
    traversed: set[tuple[str, str]]
    """Edges marked as travelled by a gradient."""
    data: dict[str, Any]
    copies: dict[str, list[str]]
    """Node id -> the label of each box drawn again for it at another use."""

    def text(self) -> str:
        """Every shown label, one node per line."""
        return "\n".join(self.nodes.values())


def _texts(group: ET.Element, hide_grad: bool, grad: str) -> list[str]:
    rows = []
    for text in group.iter(f"{_SVG}text"):
        if hide_grad and (text.get("fill") or "").lower() == grad:
            continue
        rows.append("".join(text.itertext()))
    return rows


def parse(data: dict[str, Any]) -> Drawing:
    """The drawing a component payload (``render.interactive.payload``) puts on screen."""
    root = ET.fromstring(data["svg"])
    overlay = data["overlay"]
    hidden, no_grad = set(overlay["hidden"]), set(overlay["noGrad"])
    grad = data["colors"]["grad"].lower()
    aliases = data["aliases"]
    nodes: dict[str, str] = {}
    copies: dict[str, list[str]] = {}
    edges: set[tuple[str, str]] = set()
    for group in root.iter(f"{_SVG}g"):
        title = group.find(f"{_SVG}title")
        if title is None or title.text is None:
            continue
        drawn = aliases.get(title.text, title.text)
        if group.get("class") == "node" and drawn not in hidden:
            text = " ".join(_texts(group, drawn in no_grad, grad))
            if drawn == title.text:
                nodes[drawn] = text
            else:
                copies.setdefault(drawn, []).append(text)
        elif group.get("class") == "edge":
            src, dst = drawn.split("->")
            if src not in hidden and dst not in hidden:
                edges.add((src, dst))
    traversed = {tuple(e.split("->")) for e in overlay["traversed"]}
    return Drawing(nodes, edges, overlay["current"], traversed, data, copies)


def payloads(at: AppTest) -> list[dict[str, Any]]:
    """Every graph component's data on the page, in page order."""
    found = [json.loads(e.proto.json) for e in at.get("bidi_component")]
    return [data for data in found if "svg" in data]


def drawings(at: AppTest) -> list[Drawing]:
    return [parse(p) for p in payloads(at)]


def drawing(at: AppTest) -> Drawing:
    """The main graph (the first on the page)."""
    found = drawings(at)
    assert found, "no graph drawn"
    return found[0]
