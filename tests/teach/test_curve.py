"""gradviz.teach.curve against plain PyTorch: f values, autograd slopes and finite differences."""

from __future__ import annotations

import math

import pytest
import torch

import gradviz
from gradviz.gallery import EXAMPLES, Example, by_key
from gradviz.model.format import index_text
from gradviz.model.graph import Graph
from gradviz.teach import curve
from gradviz.teach.curve import (
    InputChoice,
    OutputChoice,
    compute_curve,
    default_choices,
    evaluate,
    input_value,
)

POLY = by_key("polynomial").code


def run(source: str, overrides: curve.Overrides | None) -> Graph:
    return gradviz.run(source, overrides=overrides)


def poly(x: torch.Tensor) -> torch.Tensor:
    return 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1


def torch_slope(fn, x: float) -> float:  # type: ignore[no-untyped-def]
    t = torch.tensor(x, requires_grad=True)
    fn(t).backward()
    assert t.grad is not None
    return float(t.grad)


def choose(graph: Graph, x_label: str, f_label: str) -> tuple[InputChoice, OutputChoice]:
    inp = next(c for c in curve.input_choices(graph) if c.label == x_label)
    out = next(c for c in curve.output_choices(graph) if c.label == f_label)
    return inp, out


def test_polynomial_defaults_and_tangent_at_2() -> None:
    graph = run(POLY, None)
    choice = curve.default_choices(graph)
    assert choice is not None
    inp, out = choice
    assert (inp.label, out.label) == ("x", "y")
    x = curve.input_value(graph, inp)
    assert x == 2.0
    c = curve.compute_curve(POLY, graph, inp, out, x, run)
    assert c.y == float(poly(torch.tensor(2.0))) == 63.0
    assert c.autograd.value == torch_slope(poly, 2.0) == 93.0
    assert c.finite_difference.value == pytest.approx(93.0, rel=1e-3)
    assert "first backward" in c.autograd.how


def test_curve_values_are_torch_values() -> None:
    graph = run(POLY, None)
    inp, out = choose(graph, "x", "y")
    xs = curve.window(2.0, points=9)
    assert xs[0] == 0.0 and xs[-1] == 4.0
    ys = curve.curve_values(POLY, inp, out, xs, run)
    expected = [float(poly(torch.tensor(x))) for x in xs]
    assert ys == pytest.approx(expected, rel=1e-6)


def test_moved_point_slope_is_torch_derivative() -> None:
    graph = run(POLY, None)
    inp, out = choose(graph, "x", "y")
    at = run(POLY, {inp.seq: {inp.index: 3.0}})
    c = curve.compute_curve(POLY, at, inp, out, 3.0, run, xs=[1.0, 5.0], ys=[None, None])
    assert c.y == float(poly(torch.tensor(3.0)))
    assert c.autograd.value == torch_slope(poly, 3.0) == 266.0
    assert c.finite_difference.value == pytest.approx(266.0, rel=1e-3)
    assert c.xs == [1.0, 3.0, 5.0]  # the point is on the drawn curve
    assert c.ys[1] == c.y


def multistep_torch(i: int, k: int) -> tuple[float, float]:
    """z.flatten()[k] and its derivative in x.flatten()[i], by plain torch."""
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    z = 2 * (3 * x + 2) ** 2
    (g,) = torch.autograd.grad(z.reshape(-1)[k], x)
    return z.reshape(-1)[k].item(), g.reshape(-1)[i].item()


def test_element_of_non_scalar_output_by_rerun() -> None:
    source = by_key("multistep").code
    graph = run(source, None)
    inp, out = choose(graph, "x[0, 1]", "z[0, 1]")
    value, slope = multistep_torch(1, 1)
    c = curve.compute_curve(source, graph, inp, out, 2.0, run, xs=[2.0], ys=[value])
    assert c.y == value == 128.0
    assert c.autograd.value == slope == 96.0
    assert "rerun" in c.autograd.how
    inp2, out2 = choose(graph, "x[0, 1]", "z[1, 2]")  # z[1, 2] does not depend on x[0, 1]
    assert curve.autograd_slope(source, graph, inp2, out2, 2.0, run).value == 0.0


def test_sum_of_output_is_labelled_and_differentiated() -> None:
    source = by_key("multistep").code
    graph = run(source, None)
    inp, out = choose(graph, "x[1, 0]", "sum of z")
    assert out.reduce == "sum"
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    z = 2 * (3 * x + 2) ** 2
    z.sum().backward()
    assert x.grad is not None
    assert curve.output_value(graph, out) == z.sum().item()
    slope = curve.autograd_slope(source, graph, inp, out, 3.0, run)
    assert slope.value == float(x.grad[1, 0])


def test_mean_output_uses_the_recorded_gradient() -> None:
    source = by_key("multistep").code
    graph = run(source, None)
    inp, out = choose(graph, "x[0, 2]", "out")
    x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    (2 * (3 * x + 2) ** 2).mean().backward()
    assert x.grad is not None
    slope = curve.autograd_slope(source, graph, inp, out, 3.0, run)
    assert slope.value == float(x.grad[0, 2])
    assert "first backward" in slope.how


def test_detached_path_autograd_differs_from_finite_difference() -> None:
    """autograd ignores the detached path; the finite difference sees it. Both are shown."""
    source = by_key("stop_tracking").code
    graph = run(source, None)
    inp, out = choose(graph, "x[0]", "loss")
    c = curve.compute_curve(source, graph, inp, out, 1.0, run, xs=[1.0], ys=[None])

    def loss(x0: float, track: bool) -> torch.Tensor:
        x = torch.tensor([x0, 2.0, 3.0], requires_grad=True)
        frozen = (x if not track else x.detach()) * 2
        with torch.no_grad():
            quiet = x * 2
        result = ((x * 2) * frozen + quiet + torch.ones(3)).sum()
        if track:
            result.backward()
            assert x.grad is not None
            return x.grad[0]
        return result

    assert c.autograd.value == float(loss(1.0, track=True)) == 4.0
    h = 1e-3
    fd = (loss(1.0 + h, False).item() - loss(1.0 - h, False).item()) / (2 * h)
    assert c.finite_difference.value == pytest.approx(fd, rel=1e-2)
    assert c.finite_difference.value == pytest.approx(10.0, rel=1e-2)


def test_failing_points_are_gaps() -> None:
    source = "import torch\nx = torch.tensor(0.5, requires_grad=True)\ny = x.log()\ny.backward()\n"
    graph = run(source, None)
    inp, out = choose(graph, "x", "y")
    ys = curve.curve_values(source, inp, out, [-1.0, 0.5, 2.0], run)
    assert ys[0] is None  # log of a negative number is nan: left out of the curve
    assert ys[1] == pytest.approx(math.log(0.5))
    assert ys[2] == pytest.approx(math.log(2.0))


def test_output_made_in_a_function_has_no_rerun_slope() -> None:
    source = (
        "import torch\n"
        "def f(v):\n"
        "    w = v * v\n"
        "    return w\n"
        "x = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "f(x)\n"
    )
    graph = run(source, None)
    inp = curve.input_choices(graph)[0]
    out = next(c for c in curve.output_choices(graph) if c.reduce == "element")
    slope = curve.rerun_slope(source, graph, inp, out, 1.0, run)
    assert slope.value is None and "unavailable" in slope.how


def test_helpers() -> None:
    assert index_text([2, 3], 4) == "[1, 1]"
    assert index_text([], 0) == ""
    assert curve.as_dtype(0.1, "float32") == float(torch.tensor(0.1))
    assert curve.as_dtype(0.1, "float64") == 0.1
    assert curve.step_size(2.0, "float32") == pytest.approx(2e-3)
    assert curve.window(0.5, points=3) == [-0.5, 0.5, 1.5]


def test_a_parameter_that_nn_init_changed_in_place_can_be_moved() -> None:
    # nn.MultiheadAttention's init fills its out_proj bias in place; moving that bias used to
    # leave a no_grad view behind, and the re-run failed instead of giving a point.
    program = """
import torch
import torch.nn as nn
torch.manual_seed(0)
attn = nn.MultiheadAttention(4, num_heads=2, batch_first=True)
tokens = torch.randn(1, 3, 4)
out, _ = attn(tokens, tokens, tokens)
loss = out.pow(2).mean()
loss.backward()
"""
    graph = gradviz.run(program)
    (bias,) = graph.find("attn.out_proj.bias")
    assert bias.seq is not None
    moved = gradviz.run(program, overrides={bias.seq: {0: 0.5}})
    torch.manual_seed(0)
    attn = torch.nn.MultiheadAttention(4, num_heads=2, batch_first=True)
    tokens = torch.randn(1, 3, 4)
    with torch.no_grad():
        attn.out_proj.bias[0] = 0.5
    out, _ = attn(tokens, tokens, tokens)
    (loss,) = moved.find("loss")
    assert loss.value is not None
    assert loss.value.data == pytest.approx(out.pow(2).mean().item(), rel=1e-6)


def _sandbox_run(source: str, overrides: dict[int, dict[int, float]] | None) -> Graph:
    return gradviz.run(source, overrides=overrides)


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if e.key != "stop_tracking"], ids=lambda e: e.key
)
def test_every_gallery_curve_has_its_point_on_it_and_slopes_that_agree(example: Example) -> None:
    # The curve once varied nothing (an nn.Linear's bias set by hand overwrote the override)
    # or read the wrong node (the override's own ops shifted every later seq).
    graph = gradviz.run(example.code)
    choices = default_choices(graph)
    if choices is None:
        pytest.skip("no curve for this example")
    inp, out = choices
    x0 = input_value(graph, inp)
    assert x0 is not None
    curve = compute_curve(example.code, graph, inp, out, x0, _sandbox_run, xs=[x0])
    assert curve.y is not None
    assert evaluate(example.code, inp, out, x0, _sandbox_run) == pytest.approx(curve.y)
    assert curve.autograd.value is not None and curve.finite_difference.value is not None
    assert curve.finite_difference.value == pytest.approx(curve.autograd.value, rel=2e-2, abs=1e-3)
