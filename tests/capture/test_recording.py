"""The recorder: modules and parameter paths, gradients per edge, saved tensors, snapshots.

Every expected number comes from plain PyTorch.
"""

from __future__ import annotations

import gc
import math
import pickle
from typing import Any

import pytest
import torch
from torch import nn

import gradviz
from gradviz.capture.gc_pause import no_gc
from gradviz.capture.snapshot import SMALL_TENSOR, SnapshotBatch, snapshot, snapshots
from gradviz.model.graph import Graph, Node
from gradviz.model.values import TensorValue, flatten
from tests.optional import present


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _recorded_mlp() -> tuple[nn.Sequential, torch.Tensor, Graph]:
    encoder = _mlp()
    inp = torch.randn(2, 3)
    with gradviz.record() as rec:  # nothing bound by hand: record() names `encoder` on entry
        out = encoder(inp).sum()
        out.backward()
    assert rec.graph is not None
    return encoder, inp, rec.graph


def _ops(graph: Graph, label: str) -> list[Node]:
    return [n for n in graph.nodes if n.kind == "op" and n.label == label]


def test_parameter_names_match_named_parameters() -> None:
    encoder, _, graph = _recorded_mlp()
    params = dict(encoder.named_parameters(prefix="encoder"))
    leaves = {n.name: n for n in graph.nodes if n.kind == "leaf"}
    assert set(leaves) == set(params)
    for name, param in params.items():
        leaf = leaves[name]
        assert leaf.value is not None and leaf.grad is not None
        torch.testing.assert_close(torch.tensor(leaf.value.data), param.detach())
        torch.testing.assert_close(torch.tensor(leaf.grad.data), param.grad)


def test_each_op_knows_the_module_that_made_it() -> None:
    encoder, inp, graph = _recorded_mlp()
    addmm = _ops(graph, "addmm")
    assert [n.module for n in addmm] == ["encoder.0", "encoder.2"]
    torch.testing.assert_close(torch.tensor(present(addmm[0].value).data), encoder[0](inp))
    (tanh,) = _ops(graph, "tanh")
    assert tanh.module == "encoder.1"
    # The transpose of each weight is autograd's own op: it joins its consumer's module.
    t_ops = _ops(graph, "t")
    assert len(t_ops) == 2 and all("internal" in n.flags for n in t_ops)
    assert sorted(n.module or "" for n in t_ops) == ["encoder.0", "encoder.2"]
    # Made outside the model and only seen as its input: no module.
    (x,) = [n for n in graph.nodes if n.kind == "constant"]
    assert x.label == "input" and x.module is None
    torch.testing.assert_close(torch.tensor(present(x.value).data), inp)


def test_module_classes_are_stored_by_path() -> None:
    _, _, graph = _recorded_mlp()
    assert graph.module_classes == {
        "encoder": "Sequential",
        "encoder.0": "Linear",
        "encoder.1": "Tanh",
        "encoder.2": "Linear",
    }
    assert graph.to_dict()["module_classes"] == graph.module_classes


def test_a_module_never_named_is_filed_under_its_class() -> None:
    def forward(x: torch.Tensor) -> torch.Tensor:
        with gradviz.record() as rec:
            y: torch.Tensor = nn.Linear(2, 1)(x).sum()  # the module has no name in any scope
        assert rec.graph is not None
        (addmm,) = _ops(rec.graph, "addmm")
        assert addmm.module == "Linear" and rec.graph.module_classes == {"Linear": "Linear"}
        return y

    forward(torch.ones(1, 2))


def test_each_edge_carries_its_own_gradient_contribution() -> None:
    # W feeds two matmuls: the engine adds the two gradients for W, in place when it may.
    # Each step must keep what its own node sent, not the sum.
    x = torch.tensor([[1.0, 2.0]])
    W = torch.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    with gradviz.record() as rec:
        y = x @ W
        z = y @ W
        z.sum().backward()
    graph = rec.graph
    assert graph is not None
    (call,) = graph.backward_calls
    steps = {s.node: s for s in call.steps}
    (w_node,) = graph.find("W")
    sent_to_w = []
    for mm in _ops(graph, "mm"):
        (edge,) = [e for e in graph.edges if e.dst == mm.id and e.src == w_node.id]
        sent_to_w.append(torch.tensor(present(steps[mm.id].grad_out[edge.position]).data))
    ones = torch.ones(1, 2)
    expected = [x.T @ (ones @ W.detach().T), (x @ W.detach()).T @ ones]  # first, second mm
    for got, want in zip(sent_to_w, expected, strict=True):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(W.grad, expected[0] + expected[1])
    torch.testing.assert_close(torch.tensor(present(steps[w_node.id].grad_in[0]).data), W.grad)


def test_a_leaf_step_keeps_what_arrived_though_grad_changes_in_place_after() -> None:
    # x is reached by two paths: the engine sums them into a tensor nobody else holds, the
    # kind AccumulateGrad may take as x.grad itself. x.grad is then changed in place (an
    # accumulating second backward, a zero_()): the steps must keep what each call brought.
    with gradviz.record() as rec:
        x = torch.tensor([1.0, -2.0], requires_grad=True)
        (x * 2 + x * 3).sum().backward()
        (x * x).sum().backward()
        assert x.grad is not None
        x.grad.zero_()
    graph = rec.graph
    assert graph is not None and x.grad is not None
    (x_node,) = graph.find("x")
    arrived = []
    for call in graph.backward_calls:
        (step,) = [s for s in call.steps if s.node == x_node.id]
        value = step.grad_in[0]
        assert value is not None
        arrived.append(torch.tensor(value.data))
    plain = torch.tensor([1.0, -2.0], requires_grad=True)
    first = torch.autograd.grad((plain * 2 + plain * 3).sum(), plain)[0]
    second = torch.autograd.grad((plain * plain).sum(), plain)[0]
    torch.testing.assert_close(arrived[0], first)
    torch.testing.assert_close(arrived[1], second)
    assert torch.count_nonzero(x.grad) == 0


def test_a_leaf_step_shows_the_gradient_after_the_programs_own_hook() -> None:
    with gradviz.record() as rec:
        x = torch.tensor([1.0, -2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        (x * 3).sum().backward()
    graph = rec.graph
    assert graph is not None and x.grad is not None
    (x_node,) = graph.find("x")
    (step,) = [s for s in graph.backward_calls[0].steps if s.node == x_node.id]
    assert step.grad_in[0] is not None
    torch.testing.assert_close(torch.tensor(step.grad_in[0].data), x.grad)


def test_saved_tensors_are_kept_although_backward_frees_them() -> None:
    with gradviz.record() as rec:
        x = torch.tensor([0.5, -1.0], requires_grad=True)
        y = torch.tanh(x)
        y.sum().backward()
    assert rec.graph is not None
    (tanh,) = _ops(rec.graph, "tanh")
    expected = torch.tanh(torch.tensor([0.5, -1.0]))
    torch.testing.assert_close(torch.tensor(tanh.saved["result"].data), expected)  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        _ = y.grad_fn._saved_result  # type: ignore[union-attr]  # torch did free it


def test_draw_reads_saved_tensors_only_when_it_shows_them() -> None:
    x = torch.tensor([0.5, -1.0], requires_grad=True)
    y = torch.exp(torch.tanh(x)).sum()
    y.backward(retain_graph=True)
    plain = gradviz.draw(y).source
    assert "saved " not in plain
    # The saved result of each op is still its value.
    t = torch.tanh(x.detach())
    for value in (t, torch.exp(t)):
        text = "[" + ", ".join(f"{v:.4g}" for v in value.tolist()) + "]"
        assert f"value {text}<" in plain
    assert "saved result" in gradviz.draw(y, show_saved=True).source


SNAPSHOT_CASES = [
    torch.tensor(2.5),
    torch.tensor([1.0, float("nan"), float("inf"), -float("inf")]),
    torch.tensor([[3e38, 3e38], [1.0, -2.0]]),  # the sum overflows, the numbers do not
    torch.full((2, 3, 2), float("nan")),
    torch.randn(4, 4, requires_grad=True),
    torch.randn(8, 8).t(),  # not contiguous
    torch.tensor([0.1, -float("inf")], dtype=torch.float16),
    torch.tensor([0.1, 2.5], dtype=torch.bfloat16),
    torch.tensor([True, False]),
    torch.arange(6).reshape(2, 3),
    torch.zeros(0, 3),
    torch.randn(SMALL_TENSOR + 1),  # past the fast path
    torch.ones(1).expand(1, 4),  # stride 0, as the gradient of a sum
]


@pytest.mark.parametrize("tensor", SNAPSHOT_CASES)
def test_snapshots_match_torch(tensor: torch.Tensor) -> None:
    value = snapshot(tensor)
    assert value.shape == tuple(tensor.shape)
    assert value.dtype == str(tensor.dtype).removeprefix("torch.")
    expected = tensor.detach().reshape(-1).tolist()
    got = flatten(value.data)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, float) and not math.isfinite(e):
            assert g == ("nan" if math.isnan(e) else ("inf" if e > 0 else "-inf"))
        else:
            assert g == e and type(g) is type(e)


def test_batched_snapshots_equal_one_at_a_time() -> None:
    # Same-shaped tensors share one stacked copy; the others take the plain path.
    tensors = [*SNAPSHOT_CASES, torch.randn(4, 4), torch.tensor(-1.5), torch.tensor([2.0, 3.0])]
    values = snapshots(tensors)
    for tensor, value in zip(tensors, values, strict=True):
        assert value == snapshot(tensor) and snapshot(tensor) == value
        assert value.data == snapshot(tensor).data


def test_a_batch_copies_when_closed_and_converts_when_read() -> None:
    w = torch.tensor([1.0, 2.0])
    batch = SnapshotBatch()
    value = batch.take(w)
    with pytest.raises(RuntimeError, match="before its batch was closed"):
        _ = value.data
    batch.close()
    w.add_(10.0)  # changes after close are not seen
    assert value.data == [1.0, 2.0]
    assert pickle.loads(pickle.dumps(value)) == TensorValue((2,), "float32", [1.0, 2.0])


def test_the_collector_is_paused_while_recording_and_resumed_after() -> None:
    assert gc.isenabled()
    seen = []
    with gradviz.record():
        seen.append(gc.isenabled())
        with no_gc():  # nested pauses
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
    assert seen == [False, False, False] and gc.isenabled()
    with pytest.raises(gradviz.ProgramError):  # a failing program resumes it too
        gradviz.run("import torch\nx = torch.ones(2, requires_grad=True)\n1 / 0\n")
    assert gc.isenabled()


def test_record_works_when_another_library_has_wrapped_the_backward_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What TorchLens does once imported: torch's functions become (*args, **kwargs) wrappers.
    for owner, name in ((torch.autograd, "grad"), (torch.autograd, "backward")):
        real = getattr(owner, name)

        def wrapper(*args: Any, __real: Any = real, **kwargs: Any) -> Any:
            return __real(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)
    with gradviz.record() as rec:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        (g,) = torch.autograd.grad((x**3).sum(), x, create_graph=True)
        torch.autograd.backward(g.sum())
    assert rec.graph is not None
    grad_call, backward_call = rec.graph.backward_calls
    assert grad_call.kind == "grad" and grad_call.create_graph
    result = grad_call.results[0]
    assert result is not None and result.data == [3.0, 12.0]  # torch: 3x²
    leaf = rec.graph.find("x")[0]
    leaf_grad = backward_call.leaf_grads[leaf.id]
    assert leaf_grad is not None
    assert leaf_grad.data == [6.0, 12.0]  # d(sum 3x²)/dx = 6x
