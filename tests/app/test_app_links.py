"""A link reproduces the view: presses of the buttons, the curve's point, expanded groups.

Each test changes the view, takes the URL the page wrote, and opens it in a fresh session.
"""

from __future__ import annotations

import torch
from streamlit.testing.v1 import AppTest

from gradviz.model.format import number
from gradviz.model.names import title
from tests.app.helpers import APP, accumulation_table, dot_text, drawn, full, open_example


def reopened(at: AppTest, timeout: float = 180) -> AppTest:
    """A fresh session on the URL ``at``'s page shows now."""
    fresh = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in at.query_params.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception
    return fresh


def test_button_presses_are_in_the_link() -> None:
    at = open_example("accumulate")
    at.button(key="grads_backward_again").click().run()
    at.button(key="grads_backward_again").click().run()
    at.button(key="grads_zero").click().run()
    assert at.query_params["presses"] == "backward,backward,zero_grad"
    table = accumulation_table(at)
    assert list(table["after"])[-3:] == ["button · backward again"] * 2 + ["button · zero grad"]
    assert accumulation_table(reopened(at)).equals(table)
    at.button(key="grads_reset").click().run()
    assert "presses" not in at.query_params  # the plain program's link is plain again


def test_the_curve_s_point_is_in_the_link() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.slider(key="point").set_value(2.2).run()
    assert float(at.query_params["x"]) == 2.2
    x = torch.tensor(2.2, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    fresh = reopened(at)
    assert fresh.slider(key="point").value == 2.2
    assert f"grad {number(x.grad.item())}" in dot_text(fresh)  # the graph of that run
    assert f"value {number(y.item())}" in dot_text(fresh)


def test_expanded_groups_are_in_the_link() -> None:
    at = open_example("deep_chain")
    before = set(drawn(at))
    (fold,) = [i for i in before if i.startswith("f:")]
    at.selectbox(key="big_expand").set_value(fold).run()
    after = set(drawn(at))
    assert after != before and at.query_params["expanded"] == fold
    fresh = reopened(at)
    assert set(drawn(fresh)) == after
    # the link's group is named by the node its chain starts from, not by its key
    graph = full("deep_chain")
    first = next(n for n in graph.nodes if n.id == fold[2:])
    assert fresh.multiselect(key="big_opened").options == [f"chain from {title(first)}"]
