"""Jacobian/Hessian heatmaps, higher-order derivatives, an optimizer on the curve: every number
these views show is checked against plain PyTorch computed here."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import gradviz
from gradviz.gallery import by_key
from gradviz.model.graph import Graph
from gradviz.render.teaching_plots import (
    derivatives_figure,
    functional_heatmap,
    optimizer_animation,
)
from gradviz.teach.curve import Overrides
from gradviz.teach.higher_order import (
    create_graph_calls,
    derivative_chain,
    derivative_curves,
    derivative_values,
    gradient_graphs,
    order_name,
)
from gradviz.teach.optimizer import (
    grid,
    loss_curves,
    optimizer_path,
    parameter_choices,
    step_overrides,
)


def run(source: str, overrides: Overrides | None) -> Graph:
    return gradviz.run(source, overrides=overrides)


def close(a: Any, b: Any, tol: float = 1e-5) -> bool:
    return bool(
        torch.allclose(
            torch.as_tensor(a, dtype=torch.float64),
            torch.as_tensor(b, dtype=torch.float64),
            rtol=tol,
            atol=tol,
        )
    )


# -- Jacobian and Hessian ------------------------------------------------------------------
JACOBIAN_2D = """
import torch
def flog(x):
    return x.log()

inputs = torch.tensor([[0.5, 2.0], [1.5, 0.25]])
J = torch.autograd.functional.jacobian(flog, inputs)

def rootsum(x):
    return torch.sqrt(x).sum()
H = torch.autograd.functional.hessian(rootsum, inputs)

def mix(v):
    return torch.stack([v[0] * v[1], v[1] ** 2, v.sum()])
M = torch.autograd.functional.jacobian(mix, torch.tensor([3.0, -2.0]))
"""


def test_jacobian_and_hessian_of_the_gallery_example_are_torchs() -> None:
    graph = gradviz.run(by_key("jacobian_hessian").code)
    jac, hes = graph.functional_calls
    p = torch.tensor([0.5, 1.0, 2.0])
    expected_j = torch.autograd.functional.jacobian(lambda v: v.log(), p)
    expected_h = torch.autograd.functional.hessian(lambda v: (v**3).sum(), p)
    meta_j = functional_heatmap(jac).layout.meta
    meta_h = functional_heatmap(hes).layout.meta
    assert (meta_j["kind"], meta_h["kind"]) == ("jacobian", "hessian")
    assert close(meta_j["matrix"], expected_j) and close(meta_h["matrix"], expected_h)
    assert meta_j["rows"] == [f"elementwise_log(x)[{i}]" for i in range(3)]
    assert meta_j["cols"] == meta_h["rows"] == meta_h["cols"] == ["x[0]", "x[1]", "x[2]"]


def test_multi_dimensional_input_is_flattened_output_element_by_input_element() -> None:
    graph = gradviz.run(JACOBIAN_2D)
    jac, hes, mix = graph.functional_calls
    inputs = torch.tensor([[0.5, 2.0], [1.5, 0.25]])
    expected_j = torch.autograd.functional.jacobian(torch.log, inputs).reshape(4, 4)
    expected_h = torch.autograd.functional.hessian(lambda x: torch.sqrt(x).sum(), inputs)
    meta = functional_heatmap(jac).layout.meta
    assert close(meta["matrix"], expected_j)
    assert meta["rows"][1] == "flog(x)[0,1]" and meta["cols"][2] == "x[1,0]"
    assert close(functional_heatmap(hes).layout.meta["matrix"], expected_h.reshape(4, 4))

    def mixed(v: torch.Tensor) -> torch.Tensor:
        return torch.stack([v[0] * v[1], v[1] ** 2, v.sum()])

    expected_m = torch.autograd.functional.jacobian(mixed, torch.tensor([3.0, -2.0]))
    figure = functional_heatmap(mix)
    assert close(figure.layout.meta["matrix"], expected_m)
    assert figure.layout.xaxis.title.text == "input element"
    assert figure.layout.yaxis.title.text == "output element"
    # Every cell is written in the figure, as the user reads it.
    assert list(figure.data[0].text[0]) == ["-2", "3"]


def test_heatmap_follows_the_font_size_and_refuses_tuples() -> None:
    graph = gradviz.run(by_key("jacobian_hessian").code)
    figure = functional_heatmap(graph.functional_calls[0], font_size=20)
    assert figure.layout.font.size == 20 and figure.data[0].textfont.size == 20
    tuple_inputs = """
import torch
def f(a, b):
    return a * b
J = torch.autograd.functional.jacobian(f, (torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])))
"""
    (call,) = gradviz.run(tuple_inputs).functional_calls
    with pytest.raises(ValueError):
        functional_heatmap(call)


# -- higher order --------------------------------------------------------------------------
THIRD_ORDER = """
import torch
t = torch.tensor(0.7, requires_grad=True)
g = torch.sin(t) * t ** 2
d1 = torch.autograd.grad(g, t, create_graph=True)[0]
d2 = torch.autograd.grad(d1, t, create_graph=True)[0]
d3 = torch.autograd.grad(d2, t)[0]
"""

BACKWARD_SECOND = """
import torch
x = torch.tensor(-0.5, requires_grad=True)
y = torch.exp(2 * x) * x
dy = torch.autograd.grad(y, x, create_graph=True)[0]
dy.backward()
print(x.grad)
"""


def torch_derivatives(f: Any, x0: float, orders: int) -> list[float]:
    """f(x0), f′(x0), …: autograd.grad with create_graph, done here."""
    x = torch.tensor(x0, requires_grad=True)
    out = [f(x)]
    for _ in range(orders):
        (d,) = torch.autograd.grad(out[-1], x, create_graph=True)
        out.append(d)
    return [v.item() for v in out]


def cubic(x: torch.Tensor) -> torch.Tensor:
    return x**3 - 3 * x


def test_second_derivative_example_chain_and_values_are_torchs() -> None:
    source = by_key("second_derivative").code
    graph = gradviz.run(source)
    chain = derivative_chain(graph)
    assert chain is not None and chain.leaf_label == "x" and len(chain.links) == 2
    assert derivative_values(graph, chain) == pytest.approx(torch_derivatives(cubic, 1.5, 2))
    xs = [-1.0, 0.0, 0.25, 1.0, 2.5]
    for x, values in zip(xs, derivative_curves(source, chain, xs, run), strict=True):
        assert values == pytest.approx(torch_derivatives(cubic, x, 2), rel=1e-5, abs=1e-5)


def test_third_order_chain_and_backward_as_the_last_step() -> None:
    graph = gradviz.run(THIRD_ORDER)
    chain = derivative_chain(graph)
    assert chain is not None and len(chain.links) == 3

    def g(t: torch.Tensor) -> torch.Tensor:
        return torch.sin(t) * t**2

    for x in (0.7, -1.2):
        rerun = run(THIRD_ORDER, {chain.leaf_seq: {0: x}})
        expected = torch_derivatives(g, x, 3)
        assert derivative_values(rerun, chain) == pytest.approx(expected, rel=1e-5)
    assert [order_name(k) for k in range(5)] == ["f", "f′", "f″", "f‴", "f⁽⁴⁾"]

    graph = gradviz.run(BACKWARD_SECOND)
    chain = derivative_chain(graph)
    assert chain is not None and chain.links[-1].position == -1

    def h(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(2 * x) * x

    assert derivative_values(graph, chain) == pytest.approx(torch_derivatives(h, -0.5, 2))


def test_gradient_graph_is_the_subgraph_that_computes_the_gradient() -> None:
    graph = gradviz.run(by_key("second_derivative").code)
    (pair,) = gradient_graphs(graph)
    (x,), (f,), (df,) = graph.find("x"), graph.find("f"), graph.find("df")
    assert pair.result == df.id
    original = {n.id for n in pair.original.nodes}
    gradient = {n.id for n in pair.gradient.nodes}
    assert f.id in original and df.id not in original
    assert df.id in gradient and x.id in gradient and f.id not in gradient
    assert set(pair.made_by_backward) == gradient - {x.id, df.id}
    assert pair.made_by_backward and all(graph.node(n).line is None for n in pair.made_by_backward)
    for sub in (pair.original, pair.gradient):
        ids = {n.id for n in sub.nodes}
        assert sub.edges and all(e.src in ids and e.dst in ids for e in sub.edges)
    # The gradient node's value is torch's f′, the original's output is torch's f.
    f_t, df_t, _ = torch_derivatives(cubic, 1.5, 2)
    assert df.value is not None and df.value.data == pytest.approx(df_t)
    assert f.value is not None and f.value.data == pytest.approx(f_t)


def test_vector_create_graph_has_a_gradient_graph_but_no_chain() -> None:
    graph = gradviz.run(by_key("grad_outputs").code)
    assert create_graph_calls(graph)
    (pair,) = gradient_graphs(graph)
    (w,) = graph.find("W")
    assert w.id in {n.id for n in pair.gradient.nodes}
    assert derivative_chain(graph) is None


def test_hessian_makes_no_create_graph_call_of_the_program() -> None:
    graph = gradviz.run(by_key("jacobian_hessian").code)
    assert any(c.create_graph for c in graph.backward_calls)  # torch's own, inside hessian
    assert create_graph_calls(graph) == [] and derivative_chain(graph) is None


def test_derivatives_figure_keeps_its_numbers_and_font() -> None:
    xs = [0.0, 1.0, 2.0]
    series = [[0.0, -2.0, 2.0], [-3.0, 0.0, 9.0], [0.0, 6.0, 12.0]]
    figure = derivatives_figure(
        xs, series, ["f", "f′", "f″"], x=1.0, at=[-2.0, 0.0, 6.0], font_size=20
    )
    meta = figure.layout.meta
    assert meta["kind"] == "derivatives" and meta["series"] == series and meta["at"] == [-2, 0, 6]
    assert figure.layout.font.size == 20
    markers = [t for t in figure.data if t.mode == "markers"]
    assert [list(t.y) for t in markers] == [[-2.0], [0.0], [6.0]]


# -- an optimizer on the curve -------------------------------------------------------------
NO_ZERO = """
import torch
w = torch.tensor([1.0, -2.0], requires_grad=True)
for step in range(3):
    loss = (w ** 2).sum() + w[0] * w[1]
    loss.backward()                 # never zeroed: .grad adds up
    with torch.no_grad():
        w -= 0.1 * w.grad
"""

NEW_DATA = """
import torch
w = torch.tensor(1.0, requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = (w - step) ** 2          # a different loss at every step
    loss.backward()
    opt.step()
"""


def plain_loop(
    w0: list[float], loss_fn: Any, steps: int, update: Any, zero: bool = True
) -> tuple[list[list[float]], list[float], list[list[float]]]:
    """Values, losses and this-step gradients of a loop run by torch here."""
    w = torch.tensor(w0, requires_grad=True)
    state: dict[str, Any] = {}
    values, losses, grads = [], [], []
    for _ in range(steps):
        if zero and w.grad is not None:
            w.grad.zero_()
        loss = loss_fn(w)
        (g,) = torch.autograd.grad(loss, w, retain_graph=True)
        loss.backward()
        values.append(w.detach().reshape(-1).tolist())
        losses.append(loss.item())
        grads.append(g.reshape(-1).tolist())
        update(w, state)
    return values, losses, grads


def sgd(lr: float) -> Any:
    def update(w: torch.Tensor, state: dict[str, Any]) -> None:
        if "opt" not in state:
            state["opt"] = torch.optim.SGD([w], lr=lr)
        state["opt"].step()

    return update


def adam(lr: float) -> Any:
    def update(w: torch.Tensor, state: dict[str, Any]) -> None:
        if "opt" not in state:
            state["opt"] = torch.optim.Adam([w], lr=lr)
        state["opt"].step()

    return update


def by_hand(lr: float) -> Any:
    def update(w: torch.Tensor, state: dict[str, Any]) -> None:
        with torch.no_grad():
            assert w.grad is not None
            w -= lr * w.grad

    return update


LOOPS = {
    "sgd": ([1.0, 2.0, 3.0, 4.0], lambda w: (w**2).sum(), 3, sgd(0.1), True),
    "descent_by_hand": ([0.0], lambda w: ((w - 3) ** 2 + 1).sum(), 6, by_hand(0.2), True),
    "adam": ([3.0], lambda w: (4 * (w - 1) ** 2).sum(), 12, adam(0.2), True),
}


@pytest.mark.parametrize("key", list(LOOPS))
def test_optimizer_path_of_the_gallery_loops_is_torchs(key: str) -> None:
    w0, loss_fn, steps, update, zero = LOOPS[key]
    values, losses, grads = plain_loop(w0, loss_fn, steps, update, zero)
    graph = gradviz.run(by_key(key).code)
    choices = parameter_choices(graph)
    assert [c.index for c in choices] == list(range(len(w0)))
    for choice in choices:
        path = optimizer_path(graph, choice.node_id, choice.index)
        assert path is not None
        assert close(path.xs, [v[choice.index] for v in values])
        assert close(path.losses, losses)
        assert close(path.grads, [g[choice.index] for g in grads])


def test_the_slope_is_each_calls_own_gradient_when_grad_adds_up() -> None:
    def loss_fn(w: torch.Tensor) -> torch.Tensor:
        return (w**2).sum() + w[0] * w[1]

    values, losses, grads = plain_loop([1.0, -2.0], loss_fn, 3, by_hand(0.1), zero=False)
    graph = gradviz.run(NO_ZERO)
    (leaf,) = graph.find("w")
    path = optimizer_path(graph, leaf.id, 1)
    assert path is not None
    assert close(path.xs, [v[1] for v in values]) and close(path.losses, losses)
    assert close(path.grads, [g[1] for g in grads])
    accumulated = graph.backward_calls[-1].leaf_grads[leaf.id]
    assert accumulated is not None and accumulated.data is not None
    assert not close(accumulated.data[1], grads[-1][1])


def test_first_step_records_the_gradient_before_zero_grad_rewrites_it() -> None:
    # The engine hands the first gradient to w as its .grad; w.grad.zero_() must not change
    # what the step-through recorded for that call.
    graph = gradviz.run(by_key("descent_by_hand").code)
    (w,) = graph.find("w")
    first = graph.backward_calls[0]
    step = next(s for s in first.steps if s.node == w.id)
    x = torch.tensor(0.0, requires_grad=True)
    ((x - 3) ** 2 + 1).backward()
    assert step.grad_in[0] is not None and step.grad_in[0].data == x.grad.item()  # type: ignore[union-attr]


def test_loss_curves_are_the_loss_torch_computes_at_each_step() -> None:
    source = by_key("sgd").code
    graph = gradviz.run(source)
    choice = parameter_choices(graph)[2]
    path = optimizer_path(graph, choice.node_id, choice.index)
    assert path is not None
    xs = grid(path, 7)
    assert min(xs) < min(path.xs) and max(xs) > max(path.xs)
    curves = loss_curves(source, path, choice.seq, xs, run, shared=False)
    assert curves is not None and len(curves) == len(path.xs)
    for step, curve in enumerate(curves):
        assert path.xs[step] in curve.xs and set(xs) <= set(curve.xs)
        for x, y in zip(curve.xs, curve.ys, strict=True):
            w = torch.tensor(path.values[step])
            w[2] = x
            assert y == pytest.approx((w**2).sum().item(), rel=1e-5)
    assert step_overrides(path, choice.seq, 1, 5.0)[choice.seq][2] == 5.0


def test_one_curve_serves_a_scalar_and_a_changing_loss_gets_none() -> None:
    source = by_key("descent_by_hand").code
    graph = gradviz.run(source)
    (choice,) = parameter_choices(graph)
    path = optimizer_path(graph, choice.node_id, 0)
    assert path is not None
    curves = loss_curves(source, path, choice.seq, grid(path, 5), run, shared=True)
    assert curves is not None and len(curves) == len(path.xs)
    assert all(c is curves[0] for c in curves)
    assert all(x in curves[0].xs for x in path.xs)
    for x, y in zip(curves[0].xs, curves[0].ys, strict=True):
        assert y == pytest.approx(((torch.tensor(x) - 3) ** 2 + 1).item(), rel=1e-5)

    graph = gradviz.run(NEW_DATA)
    (choice,) = parameter_choices(graph)
    path = optimizer_path(graph, choice.node_id, 0)
    assert path is not None
    assert loss_curves(NEW_DATA, path, choice.seq, grid(path, 5), run, shared=True) is None


def test_no_path_without_a_moving_leaf() -> None:
    for key in ("accumulate", "polynomial", "second_derivative"):
        assert parameter_choices(gradviz.run(by_key(key).code)) == []


def test_animation_frames_slider_and_tangents() -> None:
    xs, losses, grads = [0.0, 1.0, 1.5], [9.0, 4.0, 2.25], [-6.0, -4.0, -3.0]
    curve = ([-1.0, 0.0, 1.0, 1.5, 3.0], [16.0, 9.0, 4.0, 2.25, 0.0])
    figure = optimizer_animation(xs, losses, grads, [curve] * 3, x_label="w", font_size=20)
    assert len(figure.frames) == 3 and [f.name for f in figure.frames] == ["0", "1", "2"]
    slider = figure.layout.sliders[0]
    assert [list(s.args[0]) for s in slider.steps] == [["0"], ["1"], ["2"]]
    assert figure.layout.updatemenus[0].buttons[0].method == "animate"
    assert figure.layout.font.size == 20
    meta = figure.layout.meta
    assert (meta["kind"], meta["xs"], meta["losses"], meta["grads"]) == (
        "optimizer",
        xs,
        losses,
        grads,
    )
    for k, frame in enumerate(figure.frames):
        by_name = {t.name.split(":")[0]: t for t in frame.data}
        tangent = next(t for t in frame.data if t.name.startswith("tangent"))
        (x1, x2), (y1, y2) = tangent.x, tangent.y
        assert (y2 - y1) / (x2 - x1) == pytest.approx(grads[k])
        assert by_name[f"step {k}"].x == (xs[k],) and by_name[f"step {k}"].y == (losses[k],)
        assert list(frame.data[0].x) == curve[0]
    no_curve = optimizer_animation(xs, losses, grads, None)
    assert no_curve.layout.meta["curve"] is False and len(no_curve.frames[0].data) == 5


def test_each_earlier_step_lies_on_its_own_curve_drawn_under_the_current_one() -> None:
    # Two parameters: as b moves, the loss against w at each step is another parabola.
    w, b = torch.tensor(2.0, requires_grad=True), torch.tensor(1.0, requires_grad=True)
    xs, losses, grads, curves = [], [], [], []
    grid = torch.linspace(-1.0, 3.0, 41)
    for _ in range(3):
        loss = (w * 1.5 + b - 1.0) ** 2
        loss.backward()
        assert w.grad is not None and b.grad is not None
        xs.append(w.item())
        losses.append(loss.item())
        grads.append(w.grad.item())
        curves.append((grid.tolist(), ((grid * 1.5 + b.detach() - 1.0) ** 2).tolist()))
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad = b.grad = None
    figure = optimizer_animation(xs, losses, grads, curves, x_label="w")
    for k, frame in enumerate(figure.frames):
        drawn = [t for t in frame.data if t.name == "earlier steps' curves"]
        assert len(drawn) == 3  # a slot per step, filled for the steps before k
        for j in range(3):
            if j >= k:
                assert len(drawn[j].x) == 0
                continue
            # step j's point is on step j's curve, as torch computed both
            on_curve = np.interp(xs[j], drawn[j].x, drawn[j].y)
            assert on_curve == pytest.approx(losses[j], rel=0.02)
