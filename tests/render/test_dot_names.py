"""Any name survives the DOT, the JSON and the SVG: variables, module paths and ModuleDict
keys of arbitrary Unicode, each DOT laid out by a real engine."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from dataclasses import replace

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import gradviz
from gradviz.model.graph import Graph
from gradviz.model.wire import loads, to_wire
from gradviz.render.dot import quoted, to_dot
from gradviz.render.svg import svg_engine
from gradviz.sandbox.run import run

NASTY = [
    "md.a\\",
    'say "hi"',
    "a\nb",
    "<b>&amp;</b>",
    "{x|y}",
    "é🎉中",
    "\\N",
    "\x01\x7f",
    "\ud800",
]
"""The review's cases: a key ending in a backslash, quotes, newlines, markup, records,
non-ASCII, an escString escape, control characters and a lone surrogate."""
names = st.text(min_size=1, max_size=12) | st.sampled_from(NASTY)


def _engine() -> str:
    engine = svg_engine()
    if engine is None:
        pytest.skip("no layout engine (dot or graphviz-pure)")
    return engine


def lays_out(dot: str) -> None:
    done = subprocess.run(
        [_engine(), "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"</svg>" in done.stdout


def recorded(keys: list[str]) -> Graph:
    """A real recording: a ModuleDict keyed by ``keys`` (module paths ``md.<key>``)."""
    md = torch.nn.ModuleDict({k: torch.nn.Linear(2, 1) for k in keys})
    with gradviz.record() as rec:
        x = torch.ones(2, requires_grad=True)
        total = sum(md[k](x).sum() for k in keys)
        total.backward()
    assert rec.graph is not None
    return rec.graph


def renamed(graph: Graph, names: list[str]) -> Graph:
    """``graph`` with its node names replaced by ``names``."""
    nodes = tuple(replace(n, name=names[i % len(names)]) for i, n in enumerate(graph.nodes))
    return replace(graph, nodes=nodes)


def with_ids(graph: Graph, names: list[str]) -> Graph:
    """A copy of the nodes and edges with ids made of ``names`` (unique): for the DOT only,
    the backward calls still name the old ids."""
    ids = {n.id: f"{names[i % len(names)]}{i}" for i, n in enumerate(graph.nodes)}
    nodes = tuple(replace(n, id=ids[n.id]) for n in graph.nodes)
    edges = tuple(replace(e, src=ids[e.src], dst=ids[e.dst]) for e in graph.edges)
    return Graph(nodes=nodes, edges=edges, outputs=tuple(ids[o] for o in graph.outputs))


def module_key(text: str) -> str:
    """A ModuleDict key: any text but a dot, not empty."""
    return text.replace(".", "·") or "k"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(names.map(module_key), min_size=1, max_size=3, unique=True),
    st.lists(names, min_size=1),
)
def test_module_paths_and_names_survive_dot_and_json(keys: list[str], variables: list[str]) -> None:
    graph = recorded(keys)
    assert {n.module for n in graph.nodes if n.module} >= {f"md.{k}" for k in keys}
    graph = renamed(graph, variables)
    lays_out(to_dot(graph))
    lays_out(to_dot(with_ids(graph, variables)))
    wire = json.dumps(to_wire(graph), allow_nan=False)
    assert loads(wire) == graph


def test_a_trailing_backslash_does_not_escape_the_closing_quote() -> None:
    assert quoted("md.a\\") == '"md.a\\\\"'
    assert quoted('a"') == '"a\\""'
    assert len({quoted(t) for t in ("a\\", "a\\\\", "a\n", "a\\n", 'a\\"')}) == 5  # distinct ids


identifiers = st.text(
    st.characters(categories=("Lu", "Ll", "Lo", "Nl")), min_size=1, max_size=8
).filter(str.isidentifier)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(identifiers, st.lists(names.map(module_key), min_size=1, max_size=2, unique=True))
def test_a_sandboxed_program_with_unicode_names_gives_valid_dot(
    variable: str, keys: list[str]
) -> None:
    source = (
        "import torch\n"
        f"md = torch.nn.ModuleDict({{k: torch.nn.Linear(2, 1) for k in {keys!r}}})\n"
        f"{variable} = torch.ones(2, requires_grad=True)\n"
        f"out = sum(md[k]({variable}).sum() for k in {keys!r})\n"
        "out.backward()\n"
    )
    graph = run(source)  # through the child, its JSON and wire.from_wire
    spelled = unicodedata.normalize("NFKC", variable)  # as Python reads an identifier
    assert any(n.name == spelled for n in graph.nodes)
    lays_out(to_dot(graph))
