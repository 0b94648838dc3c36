"""Runs are cached as shared objects (st.cache_resource): no panel may change them.

Each page below exercises panels that derive graphs (step-through, budget view, teaching
views, buttons); afterwards the cached Graph must still equal a fresh run, field for field.
"""

from __future__ import annotations

import json

import pytest

import gradviz
from gradviz.app import runs
from gradviz.gallery import by_key
from tests.app.helpers import open_program


@pytest.mark.parametrize(
    ("key", "walk"),
    [
        ("multistep", "backward"),
        ("accumulate", "forward"),
        ("second_derivative", "backward"),
        ("sgd", "backward"),
        ("jacobian_hessian", "forward"),
        ("diamond", "backward"),
        ("mlp_training", "backward"),
    ],
)
def test_the_cached_run_is_unchanged_after_the_page_used_it(key: str, walk: str) -> None:
    at = open_program(by_key(key).code)
    at.segmented_control(key="walk").set_value(walk).run()
    at.slider(key="walk_step" if walk == "backward" else "forward_step").set_value(2).run()
    assert not at.exception
    cached = runs.run_program(by_key(key).code).graph
    assert cached is not None
    fresh = gradviz.run(by_key(key).code, seed=runs.SEED)
    assert json.loads(cached.to_json()) == json.loads(fresh.to_json())
