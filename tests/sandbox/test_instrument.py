"""The rewrite that tells the recorder names and lines: run for real in the sandbox, and
compared with what plain Python does with the same program."""

from __future__ import annotations

import ast

import pytest
import torch

import gradviz
from gradviz.model.graph import Graph
from gradviz.sandbox.instrument import FILENAME, _Rewrite, instrument


def names(graph: Graph) -> dict[str, list[float]]:
    """Each named node's value as a flat list, by name."""
    out: dict[str, list[float]] = {}
    for node in graph.nodes:
        if node.name and node.value is not None:
            data = node.value.data
            assert data is not None, f"{node.name}'s value is summarized"
            out[node.name] = data if isinstance(data, list) else [data]
    return out


def test_tuple_unpacking_and_starred_targets_are_named() -> None:
    graph = gradviz.run(
        "import torch\n"
        "a, (b, *rest) = torch.tensor(1.0, requires_grad=True), (torch.tensor(2.0), 3, 4)\n"
        "c = a * b\n"
    )
    assert names(graph)["a"] == [1.0] and names(graph)["c"] == [2.0]


def test_a_loop_rebinding_a_name_names_each_tensor() -> None:
    graph = gradviz.run(
        "import torch\n"
        "x = torch.tensor(1.0, requires_grad=True)\n"
        "y = x\n"
        "for i in range(3):\n"
        "    y = y * 2\n"
        "y.backward()\n"
    )
    ys = [n for n in graph.nodes if n.name == "y"]
    assert [n.value.data for n in ys if n.value] == [2.0, 4.0, 8.0]
    assert all(n.line == 5 for n in ys)
    x = graph.find("x")[0]
    assert x.grad is not None and x.grad.data == 8.0  # torch: d(8x)/dx


def test_the_top_level_name_wins_over_the_name_inside_a_function() -> None:
    graph = gradviz.run(
        "import torch\n"
        "def f(a):\n"
        "    b = a * 3\n"
        "    return b\n"
        "a = torch.tensor(2.0, requires_grad=True)\n"
        "d = f(a)\n"
        "d.backward()\n"
    )
    assert graph.find("d") and not graph.find("b")
    assert graph.find("d")[0].line == 3


def test_a_function_restores_its_callers_line() -> None:
    graph = gradviz.run(
        "import torch\n"
        "def f(v):\n"
        "    return v * 3\n"
        "x = torch.tensor(2.0, requires_grad=True)\n"
        "y = f(x) + 1\n"
    )
    assert graph.find("y")[0].line == 5


def test_module_parameters_are_named_by_path_from_the_top_level_name() -> None:
    graph = gradviz.run(
        "import torch\n"
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(3, 2)\n"
        "        self.fc2 = nn.Linear(2, 1)\n"
        "    def forward(self, x):\n"
        "        return self.fc2(torch.tanh(self.fc1(x)))\n"
        "net = Net()\n"
        "loss = net(torch.ones(4, 3)).sum()\n"
        "loss.backward()\n"
    )
    named = {n.name for n in graph.nodes if n.name}
    assert {"net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias"} <= named
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    fc2(torch.tanh(fc1(torch.ones(4, 3)))).sum().backward()
    grad = graph.find("net.fc1.weight")[0].grad
    assert grad is not None and fc1.weight.grad is not None
    assert torch.allclose(torch.tensor(grad.data), fc1.weight.grad)


def test_walrus_with_and_attribute_targets_are_named() -> None:
    graph = gradviz.run(
        "import torch\n"
        "class Box:\n"
        "    pass\n"
        "box = Box()\n"
        "box.w = torch.tensor(3.0, requires_grad=True)\n"
        "if (z := box.w * 2) > 0:\n"
        "    pass\n"
        "with torch.no_grad():\n"
        "    q = z + 1\n"
    )
    assert graph.find("box.w") and graph.find("z") and graph.find("q")


def test_echoes_are_the_top_level_bare_expressions() -> None:
    graph = gradviz.run("import torch\nx = torch.ones(2)\nx\nNone\nif True:\n    x\nx.sum()\n")
    assert graph.echoes == ((3, "tensor([1., 1.])"), (7, "tensor(2.)"))
    assert graph.result == "tensor(2.)"


def test_the_rewrite_keeps_docstrings_future_imports_and_plain_semantics() -> None:
    source = (
        '"""module doc"""\n'
        "from __future__ import annotations\n"
        "def f(x, *args, k=2, **kw):\n"
        '    "f doc"\n'
        "    total = x\n"
        "    for a in args:\n"
        "        total += a\n"
        "    return total * k, f.__doc__\n"
        "def gen(n):\n"
        "    for i in range(n):\n"
        "        yield i\n"
        "result = (f(1, 2, 3, k=3), list(gen(3)), __doc__)\n"
    )
    recorded: list[tuple[str, object]] = []

    class Hooks:
        def at(self, line: int | None) -> None: ...
        def line(self) -> int | None:
            return None

        def bind(self, name: str, value: object, top: bool) -> None:
            recorded.append((name, value))

        def bound(self, name: str, value: object, top: bool) -> object:
            return value

        def echo(self, line: int, value: object, last: bool) -> None: ...

    plain: dict[str, object] = {}
    exec(compile(source, "<plain>", "exec"), plain)
    rewritten: dict[str, object] = {"__gradviz__": Hooks()}
    exec(instrument(source), rewritten)
    assert rewritten["result"] == plain["result"] == ((18, "f doc"), [0, 1, 2], "module doc")
    assert ("result", plain["result"]) in recorded


def test_a_syntax_error_keeps_its_place() -> None:
    with pytest.raises(SyntaxError) as info:
        instrument("x = 1\ny = (2\n")
    assert info.value.filename == FILENAME and info.value.lineno == 2


def test_every_statement_is_preceded_by_its_line() -> None:
    tree = _Rewrite().visit(ast.parse("a = 1\nif a:\n    b = 2\n"))
    text = ast.unparse(tree)
    assert text.index("__gradviz__.at(1)") < text.index("a = 1")
    assert text.index("__gradviz__.at(3)") < text.index("b = 2")
