"""Programs people actually write (tests/programs/real), run by gradviz and by plain torch.

Each program is a standalone script. ``gradviz.run`` runs it in the sandbox; the oracle
(tests/real_oracle.py) runs the same text with plain Python + PyTorch, seeded the same way.
Every named leaf's value and .grad, every named value, the printed output and the number of
backward calls must agree; then each program's own feature is checked in the Graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch

import gradviz
from gradviz.model.graph import Graph, Node
from gradviz.teach.cuts import cuts
from tests.optional import present
from tests.real_oracle import (
    PlainRun,
    assert_matches,
    check_leaves,
    check_values,
    last_named,
    program,
    program_names,
    run_plain,
    tensor_of,
)

pytestmark = pytest.mark.filterwarnings(  # torch's own, when the oracle first uses forward AD
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


@dataclass(frozen=True)
class Expect:
    """What a program's Graph must show, besides agreeing with plain torch."""

    leaves: tuple[str, ...] = ()
    """Names (or parameter paths) that must be leaves of the graph."""
    ops: tuple[str, ...] = ()
    """grad_fn classes that must appear in the graph."""
    outputs: tuple[str, ...] = ()
    """Names of the graph's outputs (roots nothing else consumes)."""
    values: tuple[str, ...] = ()
    """Other names whose values are compared, besides the outputs."""
    local: tuple[str, ...] = ()
    """Leaves named only inside a function (not in the program's namespace)."""


EXPECT: dict[str, Expect] = {
    "batchnorm_dropout.py": Expect(
        leaves=("model.0.weight", "model.1.weight", "model.1.bias", "model.4.weight"),
        outputs=("loss",),
        values=("logits",),
        ops=("NativeBatchNormBackward0", "MulBackward0", "NllLossBackward0"),
    ),
    "bigram.py": Expect(
        leaves=("W",),
        outputs=("loss",),
        values=("xenc", "logits", "probs"),
        ops=("MmBackward0", "ExpBackward0", "LogBackward0"),
    ),
    "char_mlp.py": Expect(
        leaves=("C", "W1", "b1", "W2", "b2"),
        outputs=("loss",),
        values=("embedded", "hpre", "h", "logits"),
        ops=("IndexBackward0", "TanhBackward0", "NllLossBackward0"),
    ),
    "custom_function.py": Expect(leaves=("x",), outputs=("loss",), values=("y",)),
    "custom_function_double_backward.py": Expect(
        leaves=("x",), outputs=("y", "second"), values=("dydx",), ops=("CubeBackward",)
    ),
    "custom_function_two_inputs.py": Expect(
        leaves=("a", "w"), outputs=("total",), values=("out",), ops=("MulAddBackward",)
    ),
    "dataloader.py": Expect(
        leaves=("model.weight", "model.bias"),
        outputs=("loss",),
        values=("xb", "yb"),
        ops=("MseLossBackward0",),
    ),
    "device_fallback.py": Expect(leaves=("x", "w"), outputs=("y",), ops=("SigmoidBackward0",)),
    "embedding_lstm.py": Expect(
        leaves=("emb.weight", "rnn.weight_ih_l0", "rnn.bias_hh_l0", "head.weight"),
        outputs=("loss",),
        values=("out", "h", "c", "logits"),
        ops=("EmbeddingBackward0",),
    ),
    "forward_ad.py": Expect(outputs=("out", "jvp"), values=("dual_output",)),
    "func_hessian_partial.py": Expect(outputs=("H",)),
    "func_transforms.py": Expect(outputs=("df", "J", "per_row", "dots")),
    "gradcheck.py": Expect(leaves=("x",), values=("y",), ops=("SigmoidBackward",)),
    "inner_name.py": Expect(leaves=("a",), outputs=("e",), values=("d",)),
    "main_guard.py": Expect(local=("x",), outputs=("result",), ops=("PowBackward0",)),
    "micrograd_sanity.py": Expect(
        leaves=("x", "a", "b"),
        outputs=("y", "g"),
        values=("z", "q", "h", "c", "d", "e", "f"),
        ops=("ReluBackward0", "DivBackward0"),
    ),
    "module_net.py": Expect(
        leaves=("net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias"),
        outputs=("loss",),
        values=("pred",),
        ops=("AddmmBackward0", "ReluBackward0", "MseLossBackward0"),
    ),
    "parameter_module.py": Expect(
        leaves=("model.weight", "model.bias"), outputs=("loss",), values=("X", "y")
    ),
    "python_features.py": Expect(leaves=("w",), outputs=("total",), values=("scaled",)),
    "saved_tensors_hooks.py": Expect(
        leaves=("x",), outputs=("total",), values=("y", "z"), ops=("PowBackward0", "ExpBackward0")
    ),
    "tensor_hook.py": Expect(leaves=("x",), outputs=("out",), values=("h",)),
    "training_loop.py": Expect(
        leaves=("model.fc1.weight", "model.fc1.bias", "model.fc2.weight", "model.fc2.bias"),
        outputs=("loss",),
        ops=("TanhBackward0", "MseLossBackward0"),
    ),
}


_RUNS: dict[str, tuple[Graph, PlainRun]] = {}


def runs(name: str) -> tuple[Graph, PlainRun]:
    """The program run by gradviz and by plain torch (once per test session)."""
    if name not in _RUNS:
        source = program(name)
        _RUNS[name] = gradviz.run(source), run_plain(source)
    return _RUNS[name]


def only(graph: Graph, name: str) -> Node:
    found = graph.find(name)
    assert len(found) == 1, f"{len(found)} nodes named {name}"
    return found[0]


def grad_of(node: Node) -> torch.Tensor:
    assert node.grad is not None, f"{node.name or node.id} shows no gradient"
    return tensor_of(node.grad)


def steps_of(graph: Graph, node: Node) -> list[Any]:
    return [s for call in graph.backward_calls for s in call.steps if s.node == node.id]


def test_every_program_has_its_expectations() -> None:
    assert sorted(EXPECT) == program_names()
    assert len(EXPECT) >= 16


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_program_matches_plain_torch(name: str) -> None:
    graph, plain = runs(name)
    expect = EXPECT[name]
    assert graph.stdout == plain.stdout
    assert len(graph.backward_calls) == plain.backward_calls
    leaves = check_leaves(graph, plain, expect.local)
    assert set(expect.leaves) <= set(leaves)
    values = check_values(graph, plain)
    assert set(expect.values) <= set(values)
    outputs = {graph.node(i).name for i in graph.outputs}
    assert set(expect.outputs) <= outputs
    assert set(expect.ops) <= {n.op for n in graph.nodes}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_the_same_program_gives_the_same_json(name: str) -> None:
    source = program(name)
    assert gradviz.run(source).to_json() == gradviz.run(source).to_json()


# -- modules and training ------------------------------------------------------------------
def test_module_subclass_parameters_are_named_by_path() -> None:
    graph, plain = runs("module_net.py")
    net = plain.namespace["net"]
    leaves = {n.name: n for n in graph.nodes if n.kind == "leaf"}
    params = dict(net.named_parameters(prefix="net"))
    paths = {"net.fc1.weight", "net.fc1.bias", "net.fc2.weight", "net.fc2.bias"}
    assert set(leaves) == set(params) == paths
    for path, param in params.items():
        assert_matches(leaves[path].grad, param.grad, f"{path}.grad")
    assert graph.module_classes == {"net": "Net", "net.fc1": "Linear", "net.fc2": "Linear"}
    addmm = [n for n in graph.nodes if n.op == "AddmmBackward0"]
    assert [n.module for n in addmm] == ["net.fc1", "net.fc2"]
    assert_matches(only(graph, "loss").value, plain.namespace["loss"], "loss")
    # forward's own `x = F.relu(self.fc1(x))` names the hidden layer; the input stays `x`
    inp, hidden = graph.find("x")
    assert (inp.kind, hidden.op, hidden.module) == ("constant", "ReluBackward0", "net")
    assert_matches(inp.value, plain.namespace["x"], "the input x")


def test_training_loop_ends_with_torchs_parameters() -> None:
    graph, plain = runs("training_loop.py")
    kinds = [e.kind for e in graph.events]
    assert kinds == ["backward", "step", "zero_grad"] * 3 + ["backward", "step"]
    model = plain.namespace["model"]
    last_step = graph.events[-1]
    by_name = {n.id: n.name for n in graph.nodes}
    shown = {by_name[k]: v for k, v in last_step.leaf_values.items()}
    for path, param in model.named_parameters(prefix="model"):
        assert_matches(shown[path], param, f"{path} after the last step")
    losses = [c.root_value for c in graph.backward_calls]
    assert [v.data for v in losses if v is not None] == pytest.approx(
        plain.namespace["losses"], rel=1e-6
    )


def test_parameters_set_in_init_are_named_by_their_path() -> None:
    """``self.weight = nn.Parameter(...)`` in ``__init__`` is ``model.weight``."""
    graph, _ = runs("parameter_module.py")
    leaves = {n.name for n in graph.nodes if n.kind == "leaf"}
    assert leaves == {"model.weight", "model.bias"}
    assert not [n for n in graph.nodes if n.name and n.name.startswith("self.")]
    steps = [e for e in graph.events if e.kind == "step"]
    assert len(steps) == 3


def test_initializing_parameters_is_not_an_optimizer_step() -> None:
    """BatchNorm's reset_parameters fills its weight under no_grad while the model is built:
    only the optimizer's steps are steps."""
    graph, plain = runs("batchnorm_dropout.py")
    kinds = [e.kind for e in graph.events]
    assert kinds == ["backward", "step", "zero_grad"] * 2 + ["backward", "step"]
    bn = plain.namespace["model"][1]
    assert_matches(last_named(graph)["model.1.weight"].value, bn.weight, "BatchNorm weight")


def test_dataloader_loop_steps_once_per_batch() -> None:
    graph, plain = runs("dataloader.py")
    steps = [e for e in graph.events if e.kind == "step"]
    assert len(steps) == len(graph.backward_calls) == 8  # 2 epochs of 4 batches
    xb = last_named(graph)["xb"]
    assert xb.kind == "constant"
    assert_matches(xb.value, plain.namespace["xb"], "the last batch")


def test_lstm_workspace_is_not_shown_as_numbers() -> None:
    """oneDNN's LSTM saves a scratch workspace, partly never written: its numbers change from
    run to run (and would make the JSON differ), so it is shown as text."""
    graph, _ = runs("embedding_lstm.py")
    (rnn,) = [n for n in graph.nodes if n.op == "MkldnnRnnLayerBackward0"]
    assert rnn.saved["result3"] == "workspace (scratch memory)"
    assert not isinstance(rnn.saved["input"], str)  # what it really saved is still shown


# -- custom autograd Functions --------------------------------------------------------------
def test_custom_function_is_one_node_named_as_torch_names_its_grad_fn() -> None:
    graph, plain = runs("custom_function.py")
    ns = plain.namespace
    op = type(ns["y"].grad_fn).__name__
    assert op == "MyExpBackward"
    (node,) = [n for n in graph.nodes if n.op == op]
    assert node.name == "y" and node.label == "myexp"
    assert_matches(node.value, ns["y"], "y")
    assert "ExpBackward0" not in {n.op for n in graph.nodes}  # forward's own ops: not nodes
    (x,) = graph.find("x")
    assert [(e.src, e.kind) for e in graph.edges if e.dst == node.id] == [(x.id, "grad")]
    # The gradient arriving at the node and the one its backward sent to x, from torch:
    x_again = ns["x"].detach().clone().requires_grad_()
    y_again = ns["MyExp"].apply(x_again)
    y_again.retain_grad()
    (y_again * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    torch.testing.assert_close(grad_of(node), y_again.grad.double())
    (step,) = steps_of(graph, node)
    assert_matches(step.grad_out[0], x_again.grad, "MyExp's backward result")
    assert_matches(x.grad, ns["x"].grad, "x.grad")


def test_custom_function_is_not_shown_as_a_no_grad_cut() -> None:
    """Its forward runs without grad: that is torch's doing, not the program's."""
    graph, _ = runs("custom_function.py")
    assert cuts(graph) == []
    assert all(n.kind != "constant" or n.name is None for n in graph.nodes)


@pytest.mark.xfail(
    strict=True,
    reason="Function.apply is not seen by the recorder's TorchFunctionMode: the output's record "
    "is made by the last op inside forward(), so the node has forward()'s line (8), not apply's",
)
def test_custom_function_node_has_the_line_that_applied_it() -> None:
    graph, _ = runs("custom_function.py")
    (node,) = [n for n in graph.nodes if n.op == "MyExpBackward"]
    assert node.line == 18


def test_custom_function_two_inputs_edges_and_needs_input_grad() -> None:
    graph, plain = runs("custom_function_two_inputs.py")
    assert "needs_input_grad: (True, True)\nneeds_input_grad: (True, False)\n" in graph.stdout
    a, w = only(graph, "a"), only(graph, "w")
    first, second = [n for n in graph.nodes if n.op == "MulAddBackward"]
    into = {n.id: [e.src for e in graph.edges if e.dst == n.id] for n in (first, second)}
    assert sorted(into[first.id]) == [a.id]  # b does not require grad: no autograd edge
    assert sorted(into[second.id]) == sorted([w.id, a.id])
    assert cuts(graph) == []
    # The backward's locals are the engine's gradients, not tensors of the program's graph.
    for local in ("grad_out", "grad_a", "grad_b"):
        assert graph.find(local) == []
    # what each backward sent to its inputs, per torch: a gets b + (w + 1)
    ns = plain.namespace
    torch.testing.assert_close(grad_of(a), (ns["b"] + ns["w"] + 1).double().detach())


def test_custom_function_double_backward() -> None:
    graph, plain = runs("custom_function_double_backward.py")
    ns = plain.namespace
    first, second = graph.backward_calls
    assert (first.kind, first.create_graph) == ("grad", True)
    assert second.kind == "backward"
    dydx = only(graph, "dydx")
    assert first.result_nodes == (dydx.id,) and "create_graph" in dydx.flags
    assert_matches(dydx.value, ns["dydx"], "dydx")
    assert_matches(only(graph, "x").grad, 6 * ns["x"].detach(), "d2y/dx2")
    assert "CubeBackward" in {n.op for n in graph.nodes}


def test_gradcheck_result_is_printed() -> None:
    graph, _ = runs("gradcheck.py")
    assert graph.stdout == "gradcheck: True\ngradgradcheck: True\nTrue\n"


# -- torch.func, forward AD, saved tensors -----------------------------------------------
def test_torch_func_results_equal_torchs_and_are_constants() -> None:
    """grad, jacrev and vmap run on functorch's wrappers, which gradviz does not record: the
    graph shows the program's tensors (inputs and results) as constants, no backward call."""
    graph, plain = runs("func_transforms.py")
    assert "matches: True" in graph.stdout
    shown = last_named(graph)
    for name in ("x", "df", "J", "batch", "per_row", "dots"):
        assert shown[name].kind == "constant"
        assert_matches(shown[name].value, plain.namespace[name], name)
    assert graph.backward_calls == ()


def test_torch_func_hessian_with_partial() -> None:
    graph, plain = runs("func_hessian_partial.py")
    assert graph.stdout.endswith("True\n")
    assert_matches(only(graph, "H").value, plain.namespace["H"], "H")


def test_forward_ad_tangent() -> None:
    graph, plain = runs("forward_ad.py")
    assert graph.stdout.endswith("True\n")
    for name in ("out", "jvp"):
        assert_matches(only(graph, name).value, plain.namespace[name], name)
    assert graph.backward_calls == ()


def test_torch_internal_deprecation_warnings_are_not_the_programs() -> None:
    for name in ("forward_ad.py", "func_hessian_partial.py"):
        graph, _ = runs(name)
        assert not [n for n in graph.notes if "torch.jit.script" in n.text], name


def test_saved_self_is_the_input_and_hooks_saw_every_saved_tensor() -> None:
    graph, plain = runs("saved_tensors_hooks.py")
    assert graph.stdout.startswith("True\n2\n3 tensors were packed\n")
    y = only(graph, "y")
    assert y.op == "PowBackward0" and y.saved["exponent"] == "2"
    saved_self = y.saved["self"]
    assert not isinstance(saved_self, str)
    assert_matches(saved_self, plain.namespace["x"], "PowBackward0's saved self")


# -- Python around torch -------------------------------------------------------------------
def test_python_features_closure_decorator_generator() -> None:
    graph, plain = runs("python_features.py")
    assert graph.stdout.startswith("calling combine\n")
    assert only(graph, "scaled").op == "MulBackward0"  # made in the closure
    assert_matches(only(graph, "w").grad, plain.namespace["w"].grad, "w.grad")


def test_device_falls_back_to_cpu() -> None:
    graph, _ = runs("device_fallback.py")
    assert graph.stdout.startswith("False\nusing cpu\ncpu ")


def test_the_callers_name_wins_over_the_functions() -> None:
    graph, _ = runs("inner_name.py")
    d = only(graph, "d")
    assert d.op == "AddBackward0"
    assert graph.find("b") == []


def test_main_guard_runs_main() -> None:
    graph, _ = runs("main_guard.py")
    assert graph.stdout.startswith("dy/dx at 3 = 8.0\n")
    assert only(graph, "x").grad is not None
    assert grad_of(only(graph, "x")).item() == 8.0  # d(x^2 + 2x)/dx at 3
    assert only(graph, "result").value is not None


def test_tensor_hooks_see_and_change_the_gradient() -> None:
    graph, plain = runs("tensor_hook.py")
    h = only(graph, "h")
    torch.testing.assert_close(grad_of(h), plain.namespace["seen"][0].double())
    assert_matches(only(graph, "x").grad, plain.namespace["x"].grad, "x.grad (hooked)")
    assert len(graph.nodes) == 4  # x, h, pow, out: what the hooks made is not drawn


def test_micrograd_sanity_check_numbers() -> None:
    graph, plain = runs("micrograd_sanity.py")
    ns = plain.namespace
    shown = last_named(graph)
    assert tensor_of(present(shown["y"].value)).item() == -20.0
    assert grad_of(shown["x"]).item() == 46.0
    for name in ("a", "b"):
        torch.testing.assert_close(grad_of(shown[name]), ns[name].grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(tensor_of(present(shown["g"].value)), ns["g"].detach())


def test_nn_zero_to_hero_models_train_as_in_torch() -> None:
    bigram, plain = runs("bigram.py")
    assert len(bigram.backward_calls) == 5
    assert_matches(only(bigram, "W").value, plain.namespace["W"], "W after five steps")
    mlp, plain = runs("char_mlp.py")
    assert len(mlp.backward_calls) == 3
    for name in ("C", "W1", "b1", "W2", "b2"):
        assert_matches(only(mlp, name).grad, plain.namespace[name].grad, f"{name}.grad")


# -- refusals ------------------------------------------------------------------------------
DATALOADER_WORKERS = """\
import torch
from torch.utils.data import DataLoader, TensorDataset

dataset = TensorDataset(torch.randn(8, 2), torch.randn(8, 1))
loader = DataLoader(dataset, batch_size=4, num_workers=2)
for xb, yb in loader:
    print(xb.shape)
"""


def test_dataloader_with_workers_is_refused_with_the_fix() -> None:
    with pytest.raises(gradviz.GradvizError) as refused:
        gradviz.run(DATALOADER_WORKERS)
    assert isinstance(refused.value, gradviz.RefusedError)
    assert "num_workers=0" in str(refused.value)
    assert refused.value.line == 6
