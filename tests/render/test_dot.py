"""DOT rendering: micrograd-style labels, looks per kind, options, and valid syntax."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import gradviz
from gradviz.model.format import number, shape_text, tensor_text
from gradviz.model.graph import Edge, Flag, Graph, Node
from gradviz.model.values import TensorValue
from gradviz.render.dot import RenderOptions, Theme, legend_entries, to_dot

POLY = """
import torch
x = torch.tensor(2.0, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
"""
STOPPED = """
import torch
x = torch.ones(2, requires_grad=True)
d = x.detach()
with torch.no_grad():
    n = x * 2
"""


def test_number_and_tensor_text() -> None:
    assert number(63.0) == "63" and number(0.97) == "0.97" and number(1 / 3, 3) == "0.333"
    assert shape_text([2, 3]) == "2×3" and shape_text([]) == "scalar"
    matrix = TensorValue(shape=(2, 2), dtype="float32", data=[[1.0, 2.0], [3.0, 4.5]])
    assert tensor_text(matrix) == "[[1, 2] [3, 4.5]]"
    long = TensorValue(shape=(10,), dtype="float32", data=[float(i) for i in range(10)])
    assert tensor_text(long, max_items=3) == "[0, 1, 2, …]"
    # A row formats its floats inline: the same text as number() gives each one.
    row = [-0.0, -1e-9, 2.5e-7, 1234567.0, 3, True, "nan"]
    value = TensorValue(shape=(7,), dtype="float32", data=row)
    assert tensor_text(value, precision=3, max_items=7) == (
        "[" + ", ".join(number(v, 3) for v in row) + "]"
    )
    assert number(-0.0) == "0" and tensor_text(value, max_items=1) == "[0, …]"


def test_labels_show_name_value_and_gradient() -> None:
    dot = to_dot(gradviz.run(POLY))
    assert "<B>x (leaf)</B>" in dot
    assert "value 2<" in dot and "grad 93<" in dot
    assert "value 63<" in dot
    assert "AddBackward0" in dot


MATRIX = """
import torch
W = torch.tensor([[1.5, -2.25], [0.125, 3.0]], requires_grad=True)
y = (W * W).sum()
y.backward()
"""


def test_a_matrix_value_and_gradient_are_one_row_each_a_line_per_row() -> None:
    import torch

    W = torch.tensor([[1.5, -2.25], [0.125, 3.0]], requires_grad=True)
    (W * W).sum().backward()
    assert W.grad is not None
    value = "<BR/>".join(f"[{', '.join(number(v) for v in row)}]" for row in W.tolist())
    grad = "<BR/>".join(f"[{', '.join(number(v) for v in row)}]" for row in W.grad.tolist())
    dot = to_dot(gradviz.run(MATRIX))
    assert f"<TR><TD>value [{value}]</TD></TR>" in dot
    assert f'<TR><TD><FONT COLOR="#b91c1c">grad [{grad}]</FONT></TD></TR>' in dot


def test_options_hide_what_they_say() -> None:
    graph = gradviz.run(POLY)
    bare = to_dot(graph, RenderOptions(show_values=False, show_grads=False, show_shapes=False))
    assert "value " not in bare and "grad 93" not in bare and "scalar float32" not in bare
    saved = to_dot(graph, RenderOptions(show_saved=True))
    assert "saved self" in saved
    assert "rankdir=LR" in to_dot(graph, RenderOptions(direction="LR"))
    assert "grad 93<" in to_dot(graph, RenderOptions(precision=2))
    assert "cluster_legend" not in to_dot(graph, RenderOptions(legend=False))
    assert "cluster_legend" in to_dot(graph)


def test_looks_differ_by_kind_and_theme() -> None:
    graph = gradviz.run(STOPPED)
    dot = to_dot(graph)
    assert "✂ detached" in dot and "✂ no grad" in dot
    assert 'fillcolor="#ffe4e6"' in dot  # stopped tracking
    dark = to_dot(graph, RenderOptions(theme="dark"))
    assert 'bgcolor="#0e1117"' in dark
    assert "fontsize=18" in to_dot(graph, RenderOptions(theme="projector"))


def test_highlight_and_traversed_edges() -> None:
    graph = gradviz.run(POLY)
    edge = graph.edges[0]
    dot = to_dot(
        graph, RenderOptions(highlight=edge.dst, traversed=frozenset({(edge.src, edge.dst)}))
    )
    assert 'color="#f59e0b" penwidth=4' in dot
    assert f'"{edge.src}" -> "{edge.dst}" [color="#ea580c"' in dot


@pytest.mark.skipif(shutil.which("graphviz-pure") is None, reason="needs graphviz-pure")
@pytest.mark.parametrize("theme", ["light", "dark", "projector"])
@pytest.mark.parametrize("program", [POLY, MATRIX])
def test_dot_is_valid_for_a_layout_engine(theme: Theme, program: str) -> None:
    graph = gradviz.run(program)
    dot = to_dot(graph, RenderOptions(theme=theme, show_saved=True))
    done = subprocess.run(
        ["graphviz-pure", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    legend = len(legend_entries(graph))  # one node per look the graph has
    assert legend >= 3 and done.stdout.count(b'class="node"') == len(graph.nodes) + legend


def _group_graph() -> Graph:
    def node(node_id: str, flags: tuple[Flag, ...]) -> Node:
        return Node(node_id, "op", None, "op", "x", (), "float32", True, flags=flags)

    nodes = (
        node('m:enc"oder', ("collapsed",)),
        node("f:n1", ("folded",)),
        node("n2", ("collapsed", "repeated")),
        node("n3", ()),
    )
    edges = (Edge('m:enc"oder', "f:n1"), Edge("f:n1", "n2"), Edge("n2", "n3"))
    return Graph(nodes=nodes, edges=edges, outputs=("n3",))


def test_group_nodes_get_a_double_border_and_any_id_is_quoted() -> None:
    dot = to_dot(_group_graph(), RenderOptions(legend=False))
    lines = {line.split(" [")[0].strip(): line for line in dot.splitlines() if " [label=" in line}
    assert set(lines) == {'"m:enc\\"oder"', '"f:n1"', '"n2"', '"n3"'}
    assert all("peripheries=2" in lines[k] for k in ('"m:enc\\"oder"', '"f:n1"', '"n2"'))
    assert "peripheries" not in lines['"n3"']
    assert '"m:enc\\"oder" -> "f:n1"' in dot


@pytest.mark.skipif(shutil.which("graphviz-pure") is None, reason="needs graphviz-pure")
def test_quoted_ids_survive_a_layout_engine() -> None:
    done = subprocess.run(
        ["graphviz-pure", "-Tsvg"],
        input=to_dot(_group_graph(), RenderOptions(legend=False)).encode(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"<title>m:enc&quot;oder</title>" in done.stdout
    assert done.stdout.count(b'class="node"') == 4 and done.stdout.count(b'class="edge"') == 3


def test_the_legend_names_every_look_the_graph_has_and_no_other() -> None:
    from gradviz.gallery import EXAMPLES
    from gradviz.render.dot import look
    from gradviz.views.budget import budget_view

    for example in EXAMPLES:
        graph = gradviz.run(example.code)
        outputs = set(graph.outputs)
        named = {(e.look, e.dashed) for e in legend_entries(graph)}
        drawn = {(look(node, outputs), node.kind == "constant") for node in graph.nodes}
        drawn |= {("cut", True) for e in graph.edges if e.kind == "cut"}
        assert drawn == named, example.key
    vector = gradviz.run(next(e.code for e in EXAMPLES if e.key == "vector_backward"))
    assert "result without grad" in [e.text for e in legend_entries(vector)]  # weights
    chain = budget_view(gradviz.run(next(e.code for e in EXAMPLES if e.key == "deep_chain")), 50)
    doubles = [e for e in legend_entries(chain.graph) if e.double]
    assert [e.text for e in doubles] == ["group: a module or a folded chain"]
