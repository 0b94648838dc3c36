"""Every gallery example runs in gradviz, and its numbers are plain PyTorch's."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path
from typing import Any

import pytest
import torch

import gradviz
import gradviz.gallery
from gradviz.gallery import DEFAULT, EXAMPLES, by_key, matching
from gradviz.model.graph import Graph, Node
from tests.oracle import run_plain, tensor_of


def plain(source: str) -> tuple[dict[str, Any], str]:
    """The program's namespace and printed output, run by Python and torch themselves."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = run_plain(source).namespace
    return namespace, out.getvalue()


def named_tensors(namespace: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Tensors the program left bound to names, modules' parameters by path."""
    found: dict[str, torch.Tensor] = {}
    for name, value in namespace.items():
        if isinstance(value, torch.Tensor):
            found[name] = value
        elif isinstance(value, torch.nn.Module):
            found.update({f"{name}.{p}": t for p, t in value.named_parameters()})
    return found


def latest(graph: Graph, name: str) -> Node | None:
    nodes = [n for n in graph.find(name) if n.seq is not None]
    return max(nodes, key=lambda n: n.seq or 0) if nodes else None


def close(value: Any, tensor: torch.Tensor) -> bool:
    return torch.allclose(tensor_of(value), tensor.detach().double(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.key)
def test_example_matches_torch(example: Any) -> None:
    graph = gradviz.run(example.code)
    namespace, printed = plain(example.code)
    assert graph.stdout == printed
    checked = 0
    for name, tensor in named_tensors(namespace).items():
        node = latest(graph, name)
        if node is None or node.value is None:
            continue
        assert close(node.value, tensor), f"{example.key}: value of {name}"
        checked += 1
        if node.kind == "leaf":
            if tensor.grad is None:
                assert node.grad is None, f"{example.key}: {name}.grad is None in torch"
            else:
                assert node.grad is not None and close(node.grad, tensor.grad), name
    assert checked or printed, example.key


def test_default_is_the_polynomial_at_2() -> None:
    graph = gradviz.run(DEFAULT.code)
    x, y = latest(graph, "x"), latest(graph, "y")
    assert x is not None and y is not None and x.grad is not None and y.value is not None
    assert (x.value and x.value.data, y.value.data, x.grad.data) == (2.0, 63.0, 93.0)


def test_multistep_mean_is_140() -> None:
    out = latest(gradviz.run(by_key("multistep").code), "out")
    assert out is not None and out.value is not None and out.value.data == 140.0


def test_gallery_is_complete_and_written_here() -> None:
    keys = [e.key for e in EXAMPLES]
    assert len(set(keys)) == len(keys)
    for idea in (
        "requires_grad", "polynomial", "multistep", "accumulate", "autograd_grad",
        "jacobian_hessian", "grad_outputs", "vector_backward", "stop_tracking", "sgd",
        "linear_mse", "softmax_ce", "diamond",
    ):  # fmt: skip
        assert by_key(idea).description
    assert matching("  " + DEFAULT.code + "\n\n") is DEFAULT
    assert matching("x = 1") is None
    with pytest.raises(KeyError):
        by_key("nope")


@pytest.mark.parametrize("key", ["autograd_grad", "second_derivative"])
def test_autograd_grad_leaves_grad_none_and_its_result_is_the_calls(key: str) -> None:
    graph = gradviz.run(by_key(key).code)
    namespace, _ = plain(by_key(key).code)
    leaf = next(n for n in graph.nodes if n.kind == "leaf")
    assert leaf.name is not None and namespace[leaf.name].grad is None
    assert leaf.grad is None and "grad_not_accumulated" in leaf.flags
    returned = [n for n in graph.nodes if n.label == "autograd.grad"]
    assert returned, "the tensor the program bound the result to says what made it"
    for node in returned:
        assert node.name is not None and close(node.value, namespace[node.name])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.key)
def test_each_example_is_a_python_file_that_runs_on_its_own(example: Any) -> None:
    """The gallery's files run as they are (docstring and all) and print what the editor's
    program prints."""
    folder = Path(gradviz.gallery.__file__).parent / ("big" if example.big else "lecture")
    (path,) = folder.glob(f"[0-9][0-9]_{example.key}.py")

    def printed(run: Any) -> str:
        torch.manual_seed(0)  # the same random numbers for both
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run()
        return out.getvalue()

    alone = printed(lambda: runpy.run_path(str(path), run_name="__main__"))
    assert alone == printed(lambda: exec(example.code, {"__name__": "__main__"}))
    assert alone.strip()  # each prints what its lesson is about
    assert example.title and example.description and not example.code.startswith('"""')


def test_a_file_without_its_docstring_is_refused() -> None:
    with pytest.raises(ValueError, match="docstring"):
        gradviz.gallery._example("07_nameless.py", "import torch\n", big=False)
