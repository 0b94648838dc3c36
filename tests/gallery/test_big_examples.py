"""The gallery's big programs (real models, big graphs) run and agree with plain PyTorch."""

from __future__ import annotations

import contextlib
import io
from functools import cache

import pytest
import torch

import gradviz
from gradviz.gallery import EXAMPLES
from gradviz.model.graph import Graph
from gradviz.views.budget import fit_budget
from tests.oracle import OracleRun, run_plain, tensor_of

BIG_EXAMPLES = {e.key: e.code for e in EXAMPLES if e.big}
KEYS = sorted(BIG_EXAMPLES)
MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "mlp_training": ("model",),
    "small_cnn": ("features", "classifier"),
    "transformer_block": ("block",),
    "deep_chain": (),
    "stacked_blocks": ("layers",),
}
"""The variables each program binds its modules to (their parameters are named by path)."""


@cache
def ran(key: str) -> tuple[Graph, OracleRun, str]:
    """gradviz.run of the program, and the program run directly in torch (the oracle)."""
    graph = gradviz.run(BIG_EXAMPLES[key])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        oracle = run_plain(BIG_EXAMPLES[key])
    return graph, oracle, out.getvalue()


def parameters(key: str, oracle: OracleRun) -> dict[str, torch.Tensor]:
    """named_parameters() of the program's modules, or its named leaves if it has none."""
    found: dict[str, torch.Tensor] = {}
    for name in MODEL_NAMES[key]:
        module = oracle.namespace[name]
        assert isinstance(module, torch.nn.Module)
        found.update(module.named_parameters(prefix=name))
    if not MODEL_NAMES[key]:
        found = {k: v for k, v in oracle.namespace.items() if isinstance(v, torch.Tensor)}
        found = {k: v for k, v in found.items() if v.is_leaf and v.requires_grad}
    return found


def test_every_program_is_listed_with_its_modules() -> None:
    assert (
        set(BIG_EXAMPLES)
        == set(MODEL_NAMES)
        == {
            "mlp_training",
            "small_cnn",
            "transformer_block",
            "deep_chain",
            "stacked_blocks",
        }
    )
    assert all("class " not in source for source in BIG_EXAMPLES.values())


@pytest.mark.parametrize("key", KEYS)
def test_parameter_nodes_are_named_like_named_parameters(key: str) -> None:
    graph, oracle, _ = ran(key)
    expected = parameters(key, oracle)
    leaves = {n.name: n for n in graph.nodes if n.kind == "leaf"}
    assert set(leaves) == set(expected)
    for name, param in expected.items():
        node = leaves[name]
        assert node.shape == tuple(param.shape)
        assert node.grad is not None and param.grad is not None
        torch.testing.assert_close(tensor_of(node.grad), param.grad.double(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", KEYS)
def test_printed_output_is_torchs(key: str) -> None:
    graph, _, printed = ran(key)
    assert printed and graph.stdout == printed


@pytest.mark.parametrize("key", KEYS)
def test_fit_budget_brings_each_under_300_nodes(key: str) -> None:
    graph, oracle, _ = ran(key)
    view, text = fit_budget(graph)
    assert len(view.nodes) <= 300
    assert (text is None) == (len(graph.nodes) <= 300)
    small, text = fit_budget(graph, 12)
    assert len(small.nodes) < len(graph.nodes) and text is not None
    paths = {
        p for name in MODEL_NAMES[key] for p, _ in oracle.namespace[name].named_modules(prefix=name)
    }
    # "m:model#2": the second call of model (three training steps), apart from the first
    collapsed = {n.id[2:].split("#")[0] for n in small.nodes if "collapsed" in n.flags}
    assert collapsed <= paths and bool(collapsed) == bool(paths)


def test_the_deep_chain_is_big_and_folds() -> None:
    graph, _, _ = ran("deep_chain")
    assert len(graph.nodes) > 6000
    view, text = fit_budget(graph)
    assert len(view.nodes) < 20 and text is not None and "folded" in text
    assert any("folded" in n.flags and "×" in n.label for n in view.nodes)
