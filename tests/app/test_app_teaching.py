"""AppTest: the Jacobian/Hessian, higher-order and optimizer views, reached from the gallery.

Each view is shown by itself once the example is picked (one choice in the gallery), and
every number it shows is computed here again with plain PyTorch.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app.drawing import drawings
from tests.app.editor import type_program
from tests.app.helpers import open_app, open_example, plotly_specs

HEADINGS = (
    "Jacobian and Hessian",
    "Higher order: the gradient's own graph",
    "The optimizer on the curve",
)


def spec_of(at: AppTest, kind: str) -> dict[str, Any]:
    return next(s for s in plotly_specs(at) if s["layout"].get("meta", {}).get("kind") == kind)


def headings(at: AppTest) -> list[str]:
    return [h.value for h in at.subheader]


def chart_text(at: AppTest, i: int) -> str:
    return drawings(at)[i].text()


def close(a: Any, b: Any) -> bool:
    return bool(
        torch.allclose(
            torch.as_tensor(a, dtype=torch.float64),
            torch.as_tensor(b, dtype=torch.float64),
            rtol=1e-5,
            atol=1e-6,
        )
    )


def test_views_stay_hidden_for_a_program_that_does_none_of_it() -> None:
    at = open_app()
    assert not set(HEADINGS) & set(headings(at))
    kinds = {s["layout"].get("meta", {}).get("kind") for s in plotly_specs(at)}
    assert "curve" in kinds and not kinds & {"jacobian", "hessian", "derivatives", "optimizer"}


def test_jacobian_and_hessian_heatmaps_are_torchs() -> None:
    at = open_example("jacobian_hessian")
    assert "Jacobian and Hessian" in headings(at)
    p = torch.tensor([0.5, 1.0, 2.0])
    jacobian = spec_of(at, "jacobian")
    hessian = spec_of(at, "hessian")
    expected_j = torch.autograd.functional.jacobian(torch.log, p)
    assert close(jacobian["layout"]["meta"]["matrix"], expected_j)
    expected_h = torch.autograd.functional.hessian(lambda v: (v**3).sum(), p)
    assert close(hessian["layout"]["meta"]["matrix"], expected_h)
    # What the cells show and what the axes say.
    assert close(hessian["data"][0]["z"], expected_h)
    assert hessian["data"][0]["text"][2][2] == f"{expected_h[2, 2].item():g}"
    assert jacobian["layout"]["xaxis"]["title"]["text"] == "input element"
    assert jacobian["layout"]["yaxis"]["title"]["text"] == "output element"
    assert jacobian["data"][0]["y"] == [f"elementwise_log(x)[{i}]" for i in range(3)]


def test_a_typed_jacobian_of_a_matrix_input() -> None:
    program = """import torch
def flog(x):
    return x.log()

inputs = torch.tensor([[0.5, 2.0], [1.5, 0.25]])
torch.autograd.functional.jacobian(flog, inputs)
"""
    at = open_app()
    type_program(at, program)
    assert not at.exception
    meta = spec_of(at, "jacobian")["layout"]["meta"]
    inputs = torch.tensor([[0.5, 2.0], [1.5, 0.25]])
    expected = torch.autograd.functional.jacobian(torch.log, inputs).reshape(4, 4)
    assert close(meta["matrix"], expected)
    assert meta["cols"] == ["x[0,0]", "x[0,1]", "x[1,0]", "x[1,1]"]


def cubic_derivatives(x0: float) -> list[float]:
    x = torch.tensor(x0, requires_grad=True)
    f = x**3 - 3 * x
    (df,) = torch.autograd.grad(f, x, create_graph=True)
    (d2f,) = torch.autograd.grad(df, x)
    return [f.item(), df.item(), d2f.item()]


def test_second_derivative_shows_the_gradients_graph_and_f_f1_f2() -> None:
    at = open_example("second_derivative")
    assert "Higher order: the gradient's own graph" in headings(at)
    f, df, d2f = cubic_derivatives(1.5)
    charts = [chart_text(at, i) for i in range(len(drawings(at)))]
    # The main graph has both; beside each other, one graph of f and one of its gradient.
    assert any("df = add" in c and "f = sub" in c for c in charts)
    (original,) = [c for c in charts if "f = sub" in c and "df = add" not in c]
    (gradient,) = [c for c in charts if "df = add" in c and "f = sub" not in c]
    assert f"value {f:g}" in original and f"value {df:g}" in gradient
    meta = spec_of(at, "derivatives")["layout"]["meta"]
    assert meta["names"] == ["f", "f′", "f″"] and meta["x"] == 1.5
    assert meta["at"] == pytest.approx([f, df, d2f])
    assert len(meta["xs"]) >= 20 and 1.5 in meta["xs"]
    for i, x in enumerate(meta["xs"]):
        got = [series[i] for series in meta["series"]]
        assert got == pytest.approx(cubic_derivatives(x), rel=1e-5, abs=1e-5), x


def sgd_loop() -> tuple[list[list[float]], list[float], list[list[float]]]:
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    values, losses, grads = [], [], []
    for _ in range(3):
        opt.zero_grad()
        loss = (x**2).sum()
        loss.backward()
        assert x.grad is not None
        values.append(x.detach().tolist())
        losses.append(loss.item())
        grads.append(x.grad.tolist())
        opt.step()
    return values, losses, grads


def test_sgd_animation_follows_torchs_steps_on_torchs_curves() -> None:
    at = open_example("sgd")
    assert "The optimizer on the curve" in headings(at)
    values, losses, grads = sgd_loop()
    # The element that moved the most is followed first: x[3].
    assert at.selectbox(key="optimizer_parameter").value == "x[3]"
    for element in (3, 0):
        if element == 0:
            at.selectbox(key="optimizer_parameter").set_value("x[0]").run()
        spec = spec_of(at, "optimizer")
        meta = spec["layout"]["meta"]
        assert meta["x_label"] == f"x[{element}]" and meta["curve"] is True
        assert close(meta["xs"], [v[element] for v in values])
        assert close(meta["losses"], losses)
        assert close(meta["grads"], [g[element] for g in grads])
        assert len(spec["frames"]) == 3
        for step, frame in enumerate(spec["frames"]):
            curve = next(t for t in frame["data"] if t["name"].startswith("loss as"))
            earlier = [t for t in frame["data"] if t["name"] == "earlier steps' curves"]
            for j, drawn in enumerate([*earlier[:step], curve]):
                at_step = j if j < step else step  # each earlier step's own curve, then this one
                for x, y in zip(drawn["x"], drawn["y"], strict=True):
                    w = torch.tensor(values[at_step])
                    w[element] = x
                    assert y == pytest.approx((w**2).sum().item(), rel=1e-5)
            tangent = next(t for t in frame["data"] if t["name"].startswith("tangent"))
            (x1, x2), (y1, y2) = tangent["x"], tangent["y"]
            assert (y2 - y1) / (x2 - x1) == pytest.approx(grads[step][element], rel=1e-5)


def test_descent_by_hand_runs_down_one_parabola() -> None:
    at = open_example("descent_by_hand")
    spec = spec_of(at, "optimizer")
    w = torch.tensor(0.0, requires_grad=True)
    xs, losses = [], []
    for _ in range(6):
        loss = (w - 3) ** 2 + 1
        loss.backward()
        xs.append(w.item())
        losses.append(loss.item())
        with torch.no_grad():
            assert w.grad is not None
            w -= 0.2 * w.grad
        w.grad.zero_()
    meta = spec["layout"]["meta"]
    assert close(meta["xs"], xs) and close(meta["losses"], losses)
    curve = spec["frames"][0]["data"][0]
    assert all(f["data"][0]["x"] == curve["x"] for f in spec["frames"])
    for x, y in zip(curve["x"], curve["y"], strict=True):
        assert y == pytest.approx(((torch.tensor(x) - 3) ** 2 + 1).item(), rel=1e-5)
    slider = spec["layout"]["sliders"][0]
    assert [s["args"][0] for s in slider["steps"]] == [[str(k)] for k in range(6)]


@pytest.mark.parametrize(
    ("key", "kinds"),
    [
        ("jacobian_hessian", ["jacobian", "hessian"]),
        ("second_derivative", ["derivatives"]),
        ("adam", ["optimizer"]),
    ],
)
def test_presentation_mode_enlarges_the_figures(key: str, kinds: list[str]) -> None:
    at = open_example(key, presentation=True)
    for kind in kinds:
        assert spec_of(at, kind)["layout"]["font"]["size"] == 20
