"""AppTest: backward and forward step by step, checked against plain PyTorch.

The engine's order and the gradient arriving at / sent from each node are taken from plain
PyTorch with its own hooks on the grad_fn nodes (``engine_steps``); the page must show the
same node outlined at each step, the same numbers, and the chain rule adding up to torch's
``x.grad``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from streamlit.testing.v1 import AppTest

import gradviz
from gradviz.capture.snapshot import snapshot
from gradviz.gallery import by_key
from gradviz.model.format import number, tensor_block, tensor_lines, tensor_text
from gradviz.render.dot import PALETTES
from gradviz.teach.chain_rule import fraction_text
from tests.app.drawing import drawing
from tests.app.editor import type_program
from tests.app.helpers import APP, markdown_text, open_app

LIGHT = PALETTES["light"]
MULTISTEP = by_key("multistep").code
BLITZ = """import torch
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
out.backward()
"""


@dataclass
class EngineStep:
    """One node the autograd engine ran, seen by plain PyTorch hooks."""

    op: str
    arriving: torch.Tensor | None
    sent: list[torch.Tensor | None]


def engine_steps(root: torch.Tensor, gradient: torch.Tensor | None = None) -> list[EngineStep]:
    """Run root.backward() in plain PyTorch, recording the engine's order and gradients."""
    assert root.grad_fn is not None
    nodes: list[torch.autograd.graph.Node] = []
    todo: list[torch.autograd.graph.Node | None] = [root.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in nodes:
            continue
        nodes.append(node)
        todo.extend(n for n, _ in node.next_functions)
    steps: dict[object, EngineStep] = {}
    order: list[object] = []

    def clone(g: torch.Tensor | None) -> torch.Tensor | None:
        return None if g is None else g.detach().clone()

    for node in nodes:

        def pre(grad_outputs: tuple[torch.Tensor, ...], node: object = node) -> None:
            order.append(node)
            steps[node] = EngineStep(type(node).__name__, clone(grad_outputs[0]), [])

        def post(grad_inputs: tuple[torch.Tensor, ...], _: object, node: object = node) -> None:
            steps[node].sent = [clone(g) for g in grad_inputs]

        node.register_prehook(pre)
        node.register_hook(post)
    root.backward(gradient)
    return [steps[n] for n in order]


def multistep_torch() -> tuple[torch.Tensor, list[EngineStep]]:
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    out = (2 * (3 * x + 2) ** 2).mean()
    return x, engine_steps(out)


def highlighted(at: AppTest) -> list[str]:
    """Ids of the nodes marked as the step's."""
    current = drawing(at).current
    return [] if current is None else [current]


def coloured_edges(at: AppTest) -> set[tuple[str, str]]:
    return drawing(at).traversed


def drawn(at: AppTest) -> list[str]:
    return list(drawing(at).nodes)


def printed(t: torch.Tensor) -> str:
    """A torch matrix as the page prints it: one row per line, like torch."""
    return tensor_block(snapshot(t), 4, 8)


def shown(t: torch.Tensor | None, precision: int = 4) -> str:
    """A torch tensor as the page writes it."""
    return tensor_text(None if t is None else snapshot(t), precision, 8)


def open_with(code: str, mode: str) -> AppTest:
    at = open_app()
    type_program(at, code)
    at.segmented_control(key="walk").set_value(mode).run()
    assert not at.exception
    return at


def step_to(at: AppTest, step: int) -> AppTest:
    at.slider(key="walk_step").set_value(step).run()
    assert not at.exception
    return at


def test_each_step_outlines_the_node_torch_ran_and_colours_the_edges_so_far() -> None:
    at = open_app()
    assert highlighted(at) == [] and coloured_edges(at) == set()
    at.selectbox(key="example").set_value("multistep").run()
    at.segmented_control(key="walk").set_value("backward").run()
    graph = gradviz.run(MULTISTEP)
    ops = {n.id: n.op or "AccumulateGrad" for n in graph.nodes}
    _, truth = multistep_torch()
    (call,) = graph.backward_calls
    assert at.slider(key="walk_step").max == len(truth) == len(call.order)
    ran: list[str] = []
    for k in range(1, len(truth) + 1):
        if k == 2:
            at.button(key="walk_step_next").click().run()  # ▶ moves one step, like the slider
        else:
            step_to(at, k)
        (node,) = highlighted(at)
        assert ops[node] == truth[k - 1].op  # the engine's real order, from torch's hooks
        assert node == call.order[k - 1]
        ran.append(node)
        grad_edges = {(e.src, e.dst) for e in graph.edges if e.kind == "grad"}
        assert coloured_edges(at) == {(s, d) for s, d in grad_edges if d in ran}
    assert len(coloured_edges(at)) == len(grad_edges)


def test_each_step_shows_torchs_arriving_and_sent_gradients() -> None:
    at = open_with(MULTISTEP, "backward")
    _, truth = multistep_torch()
    for k, step in enumerate(truth, start=1):
        step_to(at, k)
        text = markdown_text(at)
        blocks = [c.value for c in at.code]
        assert step.arriving is not None
        if step.arriving.dim() == 2:  # a matrix is printed as torch prints it, row by row
            assert "∂out/∂(this):" in text and printed(step.arriving) in blocks
        else:
            assert f"∂out/∂(this): `{shown(step.arriving)}`" in text
        for sent in step.sent:
            if sent is None:
                continue
            local = sent / step.arriving  # elementwise ops and the mean here
            if sent.dim() == 2:
                want = "\n".join(
                    [
                        f"local derivative ∂(this)/∂(input)\n{printed(local)}",
                        f"× gradient arriving\n{printed(step.arriving)}",
                        f"= gradient sent\n{printed(sent)}",
                    ]
                )
                assert want in blocks
            else:
                nbsp = "\u00a0"
                assert (
                    f"`{shown(local)}` ×{nbsp}gradient arriving `{shown(step.arriving)}` "
                    f"={nbsp}gradient sent `{shown(sent)}`"
                ) in text
    # The drawing too: after step 3 the nodes run so far show the gradient that arrived.
    step_to(at, 3)
    labels = drawing(at).text()
    for step in truth[:3]:
        assert step.arriving is not None
        assert f"grad {tensor_lines(snapshot(step.arriving))[0]}" in labels
    assert labels.count("grad ") == 3  # nodes the engine has not reached yet show none


def test_chain_rule_is_written_out_and_adds_up_to_torchs_grad() -> None:
    at = open_with(MULTISTEP, "backward")
    at.selectbox(key="walk_element").set_value(5).run()  # x[1, 2]
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    y = 3 * x + 2
    y.retain_grad()
    (2 * y**2).mean().backward()
    assert x.grad is not None
    # Each op's local derivative at this element, from torch on that op alone.
    y_el = y.detach()[1, 2].clone().requires_grad_()
    (d_pow,) = torch.autograd.grad(y_el**2, y_el)
    expected = (
        f"∂out/∂x[1, 2] = {fraction_text(1 / x.numel())} (out = mean) · 2 (z = mul) · "
        f"{number(d_pow.item())} (pow) · 1 (y = add) · 3 (mul) = {number(x.grad[1, 2].item())}"
    )
    text = markdown_text(at)
    assert expected in text, text
    assert f"∂out/∂x[1, 2] = `{number(x.grad[1, 2].item())}` in this call ✓ the same" in text


def test_chain_rule_sums_the_two_paths_of_y_times_y() -> None:
    at = open_with(BLITZ, "backward")
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    (y * y * 3).mean().backward()
    assert x.grad is not None
    path = f"{fraction_text(1 / x.numel())} (out = mean) · 3 (z = mul) · {number(y[0, 0].item())} "
    path += "(mul) · 1 (y = add)"
    expected = f"∂out/∂x[0, 0] = ({path}) + ({path}) = {number(x.grad[0, 0].item())}"
    assert expected in markdown_text(at)


def test_second_backward_call_shows_gradients_adding_up() -> None:
    at = open_with(by_key("accumulate").code, "backward")
    graph = gradviz.run(by_key("accumulate").code)
    labels = at.selectbox(key="walk_call").options
    assert labels == [f"{i + 1}. backward() at line 6" for i in range(3)]
    w = torch.zeros(4, requires_grad=True)  # the gradients do not depend on w's values
    first = engine_steps((2 * w).sum())
    assert w.grad is not None
    after_first = w.grad.clone()
    (2 * w).sum().backward()
    at.selectbox(key="walk_call").set_value(1).run()
    step_to(at, len(graph.backward_calls[1].steps))
    text = markdown_text(at)
    assert f"∂total/∂(this): `{shown(first[-1].arriving)}`" in text
    assert f"which after this call is `{shown(w.grad)}`" in text
    assert f"`w.grad[0]` after this call is `{number(w.grad[0].item())}`" in text
    assert f"= `{number(after_first[0].item())}` in this call ✓" in text
    # The first call's leaf step still shows what arrived then (later calls add in place).
    at.selectbox(key="walk_call").set_value(0).run()
    assert at.slider(key="walk_step").value == 1  # a new call starts from its first step
    step_to(at, 3)
    assert f"∂total/∂(this): `{shown(after_first)}`" in markdown_text(at)


def test_forward_step_draws_the_first_k_nodes_computed() -> None:
    at = open_with(MULTISTEP, "forward")
    graph = gradviz.run(MULTISTEP)
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    values = [x, 3 * x]
    values += [values[-1] + 2]
    values += [values[-1] ** 2]
    values += [2 * values[-1]]
    values += [values[-1].mean()]  # the program's order: x, 3x, y, y², z, out
    seen: list[str] = []
    for k in range(1, len(graph.nodes) + 1):
        at.slider(key="forward_step").set_value(k).run()
        ids = drawn(at)
        assert len(ids) == k
        (newest,) = highlighted(at)
        assert newest not in seen and set(seen) | {newest} == set(ids)
        seen.append(newest)
        assert f"value `{shown(values[k - 1])}`" in markdown_text(at)
        assert "grad " not in drawing(at).text()
    assert [graph.node(i).name for i in seen if graph.node(i).name] == ["x", "y", "z", "out"]


def test_mode_comes_from_the_url_and_a_program_without_backward_says_so() -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["walk"] = "Backward, step by step"
    at.run()
    assert not at.exception
    graph = gradviz.run(by_key("polynomial").code)
    assert highlighted(at) == [graph.backward_calls[0].order[0]]
    type_program(at, "import torch\nx = torch.ones(3, requires_grad=True)\ny = x * 2\n")
    assert not at.exception
    assert any("no backward pass" in i.value for i in at.info)
    assert highlighted(at) == [] and len(drawn(at)) == 2


def test_matrix_product_step_shows_torchs_gradient_and_no_elementwise_ratio() -> None:
    program = (
        "import torch\nW = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
        "a = torch.tensor([[0.5, -1.], [2., 1.]])\nh = a @ W\nloss = (h * h).sum()\n"
        "loss.backward()\n"
    )
    at = open_with(program, "backward")
    W = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a = torch.tensor([[0.5, -1.0], [2.0, 1.0]])
    h = a @ W
    truth = engine_steps((h * h).sum())
    k = next(i for i, s in enumerate(truth, start=1) if s.op == "MmBackward0")
    step_to(at, k)
    sent = next(s for s in truth[k - 1].sent if s is not None)
    assert f"gradient sent\n{printed(sent)}" in [c.value for c in at.code]  # row by row
    assert any("Mm mixes elements" in c.value for c in at.caption)
    no_rule = "No product of numbers to write out here: the path goes through mm (MmBackward0)"
    assert any(c.value.startswith(no_rule) for c in at.caption)  # no chain rule for W


def test_a_shared_link_opens_at_the_same_step() -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["walk"] = "Backward, step by step"
    at.query_params["walk_step"] = "4"
    at.run()
    assert not at.exception
    graph = gradviz.run(by_key("polynomial").code)
    assert at.slider(key="walk_step").value == 4
    assert highlighted(at) == [graph.backward_calls[0].order[3]]
    at.button(key="walk_step_next").click().run()
    assert at.query_params["walk_step"] == "5"  # the address follows the step
