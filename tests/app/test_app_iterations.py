"""A training loop draws its last iteration by default, the whole history a click away."""

from __future__ import annotations

import torch
from streamlit.testing.v1 import AppTest

import gradviz
from gradviz.gallery import by_key
from gradviz.model.format import number
from tests.app.drawing import drawing
from tests.app.helpers import APP, open_example
from tests.oracle import run_plain


def losses_drawn(at: AppTest) -> list[str]:
    return [text for text in drawing(at).nodes.values() if text.startswith("loss = mean")]


def test_a_training_loop_shows_its_last_iteration_then_all_of_them() -> None:
    example = by_key("mlp_training")
    at = open_example("mlp_training")
    plain = run_plain(example.code)
    last_loss = plain.namespace["loss"]
    assert isinstance(last_loss, torch.Tensor)
    (shown,) = losses_drawn(at)  # one iteration: one loss
    assert f"value {number(last_loss.item())}" in shown  # the last one, as torch computed it
    # The parameters are drawn once, with the .grad torch left after the last backward.
    bias = plain.namespace["model"][2].bias
    assert bias.grad is not None
    weights = [t for t in drawing(at).nodes.values() if t.startswith("model.2.bias")]
    assert weights == [w for w in weights if f"grad [{number(bias.grad[0].item())}]" in w]
    assert len(weights) == 1
    control = at.segmented_control(key="iterations")
    assert control.value == "last" and "3 times" in control.help
    control.set_value("all").run()
    assert len(losses_drawn(at)) == 3
    assert len(drawing(at).nodes) == len(gradviz.run(example.code).nodes)


def test_a_link_with_all_iterations_opens_on_all_of_them() -> None:
    example = by_key("mlp_training")
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["code"] = example.code
    at.query_params["iterations"] = "Every iteration"
    at.run()
    assert not at.exception
    assert len(losses_drawn(at)) == 3


def test_one_backward_call_offers_no_iterations() -> None:
    at = open_example("accumulate")
    assert not [c for c in at.segmented_control if c.key == "iterations"]
