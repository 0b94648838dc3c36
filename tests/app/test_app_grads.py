"""AppTest: the accumulation table and its buttons, the list of cuts, and vᵀJ, against torch."""

from __future__ import annotations

from typing import Any

import torch
from streamlit.testing.v1 import AppTest
from torch.autograd.functional import jacobian

from gradviz.capture.snapshot import snapshot
from gradviz.gallery import by_key
from gradviz.model.format import number, tensor_text
from tests.app.drawing import payloads
from tests.app.editor import program_text
from tests.app.helpers import (
    APP,
    accumulation_table,
    markdown_text,
    open_example,
    open_program,
    plot_metas,
)
from tests.oracle import accumulate_in_torch, polynomial_refused_again

PRECISION = 4  # the page's default significant digits


def shown(t: torch.Tensor) -> str:
    return tensor_text(snapshot(t), PRECISION)


def line_of(source: str, text: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def close(got: Any, want: torch.Tensor) -> None:
    torch.testing.assert_close(
        torch.tensor(got, dtype=torch.float64).reshape(want.shape), want.double()
    )


# -- accumulation and the buttons ------------------------------------------------------------
def test_accumulate_example_shows_2_4_6_then_0() -> None:
    at = open_example("accumulate")
    assert "Gradients accumulate" in [s.value for s in at.subheader]
    table = accumulation_table(at)
    _, _, after = accumulate_in_torch()
    assert list(table["w.grad"]) == [shown(g) for g in after]
    assert list(table["w.grad"])[:3] == ["[2, 2, 2, 2]", "[4, 4, 4, 4]", "[6, 6, 6, 6]"]
    source = by_key("accumulate").code
    assert table["after"].iloc[0] == f"line {line_of(source, 'total.backward(')} · backward()"


def test_backward_again_adds_like_torch_then_zero_then_reset() -> None:
    at = open_example("accumulate")
    assert not any("ran without `retain_graph=True`" in c.value for c in at.caption)
    source = program_text(at)
    w, total, after = accumulate_in_torch()
    at.button(key="grads_backward_again").click().run()
    assert not at.exception
    total.backward(retain_graph=True)
    assert w.grad is not None
    table = accumulation_table(at)
    assert list(table["after"])[-1] == "button · backward again"
    assert list(table["w.grad"]) == [shown(g) for g in after] + [shown(w.grad)]
    at.button(key="grads_backward_again").click().run()
    total.backward(retain_graph=True)
    assert list(accumulation_table(at)["w.grad"])[-1] == shown(w.grad)  # 2 more each time
    at.button(key="grads_zero").click().run()
    w.grad.zero_()
    table = accumulation_table(at)
    assert list(table["after"])[-1] == "button · zero grad"
    assert list(table["w.grad"])[-1] == shown(w.grad) == "[0, 0, 0, 0]"
    assert program_text(at) == source  # the program was never edited
    at.button(key="grads_reset").click().run()
    assert len(accumulation_table(at)) == len(after)


def test_presses_are_dropped_when_another_program_is_loaded() -> None:
    at = open_example("accumulate")
    at.button(key="grads_backward_again").click().run()
    assert len(accumulation_table(at)) == 5
    at.selectbox(key="example").set_value("diamond").run()
    at.selectbox(key="example").set_value("accumulate").run()
    assert len(accumulation_table(at)) == 4


def test_backward_again_without_retain_graph_shows_torchs_reason() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()  # the polynomial: y.backward()
    source = program_text(at)
    before = accumulation_table(at)
    # Before the press, the page says what will happen and why (the call at line 6 freed it).
    told = "The last backward() (line 6) ran without `retain_graph=True`"
    assert any(c.value.startswith(told) for c in at.caption)
    at.button(key="grads_backward_again").click().run()
    assert not at.exception and not at.error
    x, reason = polynomial_refused_again()
    assert any(reason in w.value and "retain_graph=True" in w.value for w in at.warning)
    # The graph and the table are the program's own; the text is unchanged.
    assert accumulation_table(at).equals(before)
    assert list(before["x.grad"]) == [shown(x.grad)]  # type: ignore[arg-type]
    assert program_text(at) == source
    assert payloads(at)
    # The app keeps working: another press, and then zero grad, still run.
    at.button(key="grads_zero").click().run()
    assert not at.exception
    assert list(accumulation_table(at)["x.grad"])[-1] == "0"


# -- cuts ------------------------------------------------------------------------------------
def test_stop_tracking_lists_each_cut_with_its_line() -> None:
    at = open_example("stop_tracking")
    assert "Where tracking stopped" in [s.value for s in at.subheader]
    source = by_key("stop_tracking").code
    text = markdown_text(at)
    lines = {text: line_of(source, text) for text in ("x.detach()", "quiet =", "b.requires_grad_")}
    assert f"**line {lines['x.detach()']}** · `x.detach()` — detach() of `x`" in text
    assert "shares storage with `x`" in text
    assert f"**line {lines['quiet =']}** · `quiet` — inside torch.no_grad()" in text
    assert f"**line {lines['b.requires_grad_']}** · `b` — requires_grad_(False)" in text
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.detach().data_ptr() == x.data_ptr()  # what "shares storage" claims


def test_no_cut_panel_without_cuts() -> None:
    at = open_example("diamond")
    assert "Where tracking stopped" not in [s.value for s in at.subheader]
    assert "Vector-Jacobian products" not in [s.value for s in at.subheader]


# -- vector-Jacobian products ----------------------------------------------------------------
def test_vector_backward_shows_v_j_and_vtj_from_torch() -> None:
    at = open_example("vector_backward")
    assert "Vector-Jacobian products" in [s.value for s in at.subheader]
    (meta,) = plot_metas(at, "vjp")
    x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    v = torch.tensor([1.0, 0.1, 0.01])
    J = jacobian(lambda t: 2 * (t + 2) ** 2, x.detach())
    (2 * (x + 2) ** 2).backward(v)
    close(meta["v"], v)
    close(meta["jacobian"], J)
    close(meta["product"], v @ J)
    close(meta["autograd"], x.grad)  # type: ignore[arg-type]
    assert meta["matches"] is True
    text = markdown_text(at)
    assert f"vᵀJ = `{shown(v @ J)}`" in text
    assert f"autograd: `{shown(x.grad)}`" in text  # type: ignore[arg-type]
    assert any("vᵀJ equals what autograd produced" in s.value for s in at.success)
    pairs = zip(v.tolist(), J[:, 0].tolist(), strict=True)
    terms = " + ".join(f"{number(a)}·{number(b)}" for a, b in pairs)
    worked = f"first element: {terms} = {number((v @ J)[0].item())}"
    assert worked in [c.value for c in at.caption]


def test_grad_outputs_second_call_by_the_picker() -> None:
    at = open_example("grad_outputs")
    picker = at.selectbox(key="vjp_call")
    assert len(picker.options) == 2
    at = picker.set_value(1).run()
    (meta,) = plot_metas(at, "vjp")
    x = torch.tensor([[1.0], [2.0]], requires_grad=True)
    W = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    ones = torch.ones(2, 1)
    (g,) = torch.autograd.grad(W @ x, x, grad_outputs=ones)
    close(meta["jacobian"], jacobian(lambda t: W @ t, x.detach()).reshape(2, 2))
    close(meta["autograd"], g.reshape(-1))
    close(meta["product"], g.reshape(-1))
    assert f"autograd: `{shown(g)}` (returned by autograd.grad)" in markdown_text(at)


JACOBIAN_COLUMNS = """
import torch
x = torch.tensor([[1.0], [2.0]], requires_grad=True)
w1 = torch.randn((2, 2))
y = w1 @ x
jacT = torch.zeros(2, 2)
for i in range(2):
    output = torch.zeros(2, 1)
    output[i] = 1.
    jacT[:, i:i+1] = torch.autograd.grad(y, x, grad_outputs=output, retain_graph=True)[0]
print(jacT)
"""


def test_jacobian_loop_fills_the_columns_one_call_at_a_time() -> None:
    at = open_program(JACOBIAN_COLUMNS)
    generator = torch.Generator().manual_seed(0)  # the app's seed for the program's randn
    w1 = torch.randn((2, 2), generator=generator)
    J = jacobian(lambda t: w1 @ t, torch.tensor([[1.0], [2.0]])).reshape(2, 2)
    (meta,) = plot_metas(at, "jacobian_fill")
    assert meta["layout"] == "columns" and meta["count"] == 2
    close(meta["matrix"], J.T)  # columns of Jᵀ, as the program's jacT holds them
    close(meta["reference"], J)
    assert any("Filled rows equal J" in s.value for s in at.success)
    text = markdown_text(at)
    for i in range(2):  # each call's result: row i of J, in x's shape
        assert f"v = 1 at `y[{i},0]`, 0 elsewhere → `{shown(J[i].reshape(2, 1))}`" in text
    at.slider(key="jacobian_fill_step_0").set_value(1).run()
    (meta,) = plot_metas(at, "jacobian_fill")
    assert meta["count"] == 1
    close([row[0] for row in meta["matrix"]], J.T[:, 0])
    assert [row[1] for row in meta["matrix"]] == [None, None]  # not filled yet
    at.radio(key="jacobian_fill_layout_0").set_value("rows of J").run()
    (meta,) = plot_metas(at, "jacobian_fill")
    close(meta["matrix"][0], J[0])
    assert meta["matrix"][1] == [None, None]
