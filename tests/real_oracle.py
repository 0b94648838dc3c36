"""Plain Python + PyTorch as the oracle for the programs in ``tests/programs/real``.

The test process runs its own test programs with ``exec`` after seeding torch, random and
numpy the way ``gradviz.run`` does (seed 0), so both runs draw the same numbers; a small
TorchFunctionMode counts the backward calls. Then a Graph's named leaves, their gradients and
its named values are compared with the tensors the plain run left in its namespace.
"""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from gradviz.model.graph import Graph, Node
from gradviz.model.values import TensorValue

PROGRAMS = Path(__file__).parent / "programs" / "real"
_BACKWARD_CALLS: tuple[Callable[..., Any], ...] = (
    torch.Tensor.backward,
    torch.autograd.backward,
    torch.autograd.grad,
)


def program(name: str) -> str:
    """The text of ``tests/programs/real/<name>``."""
    return (PROGRAMS / name).read_text()


def program_names() -> list[str]:
    return sorted(p.name for p in PROGRAMS.glob("*.py"))


@dataclass
class PlainRun:
    namespace: dict[str, Any]
    """The program's globals after it ran."""
    stdout: str
    backward_calls: int
    """backward()/autograd.backward/autograd.grad calls made on real tensors (torch.func's
    transforms call autograd.grad on their own wrappers inside: those are not counted)."""


class _CountBackward(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in _BACKWARD_CALLS and not torch._C._are_functorch_transforms_active():
            self.calls += 1
        return func(*args, **(kwargs or {}))


def run_plain(source: str, seed: int = 0) -> PlainRun:
    """Run a trusted test program with plain Python and PyTorch, seeded like gradviz.run.

    On one thread, as in the sandbox (OMP_NUM_THREADS=1): a reduction split over threads adds
    in another order, and BatchNorm's batch statistics then differ in the last bits.
    """
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    counter = _CountBackward()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(out), counter:
            exec(compile(source, "<plain>", "exec"), namespace)  # our own test program
    finally:
        torch.set_num_threads(threads)
    return PlainRun(namespace, out.getvalue(), counter.calls)


def resolve(namespace: dict[str, Any], path: str) -> Any:
    """``net.fc1.weight`` in the namespace (modules' children and parameters by attribute,
    ``model.0`` included), or None."""
    first, *rest = path.split(".")
    value = namespace.get(first)
    for attr in rest:
        value = getattr(value, attr, None)
    return value


def tensor_of(value: TensorValue) -> torch.Tensor:
    """A snapshot's data as a float64 tensor."""
    assert value.data is not None, "a summarized value: the program's tensors are small"
    return torch.tensor(value.data, dtype=torch.float64).reshape(value.shape)


def assert_matches(shown: TensorValue | None, truth: torch.Tensor | None, what: str) -> None:
    """A shown value equals torch's (both absent counts as equal)."""
    if truth is None or shown is None:
        assert shown is None and truth is None, f"{what}: gradviz shows {shown}, torch {truth}"
        return
    expected = truth.detach().double()
    assert tuple(expected.shape) == shown.shape, f"{what}: shape {shown.shape} vs {expected.shape}"
    torch.testing.assert_close(tensor_of(shown), expected, msg=lambda m: f"{what}: {m}")


def by_name(graph: Graph) -> dict[str, list[Node]]:
    """The nodes of each name, in creation order."""
    out: dict[str, list[Node]] = {}
    for node in sorted(graph.nodes, key=lambda n: -1 if n.seq is None else n.seq):
        if node.name is not None:
            out.setdefault(node.name, []).append(node)
    return out


def last_named(graph: Graph) -> dict[str, Node]:
    """Each name's latest node (by creation order): the tensor the name is bound to last."""
    return {name: nodes[-1] for name, nodes in by_name(graph).items()}


def _one_matches(nodes: list[Node], check: Callable[[Node], None]) -> None:
    """``check`` passes for one of ``nodes``, the latest first. A name bound in a function
    as well as at the top level (``x = self.fc(x)`` in forward) has several nodes: the one
    the program's namespace holds is among them."""
    failures = []
    for node in reversed(nodes):
        try:
            check(node)
            return
        except AssertionError as e:
            failures.append(f"{node.id}: {e}")
    raise AssertionError("no node matches torch:\n" + "\n".join(failures))


def check_leaves(graph: Graph, plain: PlainRun, local: tuple[str, ...] = ()) -> list[str]:
    """Every named leaf's value and .grad equal those of the tensor its name (or parameter
    path) has in the plain run; ``local`` leaves are named only inside a function. Returns
    the names checked."""
    checked = []
    for name, nodes in by_name(graph).items():
        leaves = [n for n in nodes if n.kind == "leaf"]
        if not leaves or name in local:
            continue
        truth = resolve(plain.namespace, name)
        assert isinstance(truth, torch.Tensor), f"leaf {name} is {truth!r} in plain torch"

        def same(node: Node, name: str = name, truth: torch.Tensor = truth) -> None:
            assert_matches(node.value, truth, f"{name} value")
            assert_matches(node.grad, truth.grad, f"{name}.grad")  # None where torch's is

        _one_matches(leaves, same)
        checked.append(name)
    return checked


def check_values(graph: Graph, plain: PlainRun) -> list[str]:
    """Every name the plain run's namespace binds to a tensor has a node of that name with
    its value (names bound only inside functions are not in the namespace). Returns the
    names checked."""
    checked = []
    for name, nodes in by_name(graph).items():
        truth = resolve(plain.namespace, name)
        if not isinstance(truth, torch.Tensor) or all(n.kind == "leaf" for n in nodes):
            continue

        def same(node: Node, name: str = name, truth: torch.Tensor = truth) -> None:
            assert_matches(node.value, truth, f"{name} value")

        _one_matches(nodes, same)
        checked.append(name)
    return checked
