"""What a person reads for a node: names and titles told apart without internal ids."""

from __future__ import annotations

import re

import gradviz
from gradviz.gallery import EXAMPLES, by_key
from gradviz.model.names import distinct, numbered, short_labels, title
from gradviz.teach.curve import InputChoice, OutputChoice, input_choices, output_choices

INTERNAL_ID = re.compile(r"\bn\d+\b")

TWICE = """import torch
a = torch.tensor(2.0, requires_grad=True)
b = a * 3
b = b * 3
loss = b.sum()
loss.backward()
"""


def test_each_example_s_nodes_read_differently_and_never_show_an_id() -> None:
    for example in EXAMPLES:
        graph = gradviz.run(example.code)
        for names in (graph.display_names, short_labels(graph)):
            assert len(set(names.values())) == len(graph.nodes), example.key
            assert not [n for n in names.values() if INTERNAL_ID.search(n)], example.key


def test_a_name_bound_twice_is_told_apart_by_its_line() -> None:
    graph = gradviz.run(TWICE)
    names = graph.display_names
    bs = sorted(names[n.id] for n in graph.nodes if n.name == "b")
    assert bs == ["b = mul, line 3", "b = mul, line 4"]
    assert names[next(n.id for n in graph.nodes if n.name == "a")] == "a (leaf)"
    assert short_labels(graph)[next(n.id for n in graph.nodes if n.name == "loss")] == "loss"


def test_nodes_on_one_line_are_numbered_in_the_order_they_were_made() -> None:
    graph = gradviz.run(by_key("polynomial").code)  # four pow nodes on line 5
    names = distinct(graph)
    pows = [names[n.id] for n in graph.nodes if n.label == "pow"]
    assert pows == [f"pow, line 5 #{k}" for k in range(1, len(pows) + 1)]
    assert all(title(n) in names[n.id] for n in graph.nodes)


def test_numbered_leaves_unique_names_alone() -> None:
    assert numbered({"a": "x", "b": "y", "c": "x"}) == {"a": "x #1", "b": "y", "c": "x #2"}


def test_the_curve_s_pickers_show_no_internal_id() -> None:
    for key in ("linear_mse", "mlp_training", "polynomial"):
        graph = gradviz.run(by_key(key).code)
        choices: list[InputChoice | OutputChoice] = [*input_choices(graph), *output_choices(graph)]
        for choice in choices:
            assert not INTERNAL_ID.search(choice.label), (key, choice.label)
