"""What the teaching views' tests share: the tutorials' programs, a line of a program, and
a shown value against torch's."""

from __future__ import annotations

from pathlib import Path

import torch

from gradviz.model.values import TensorValue

TUTORIALS = Path(__file__).parents[1] / "programs" / "tutorials"


def line_of(source: str, text: str) -> int:
    """The 1-based line of the program holding ``text`` (so tests never hard-code it)."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


def as_tensor(value: TensorValue | list[float] | None) -> torch.Tensor:
    assert value is not None
    data = value.data if isinstance(value, TensorValue) else value
    return torch.tensor(data, dtype=torch.float64)


def assert_same(shown: TensorValue | list[float] | None, expected: torch.Tensor) -> None:
    got = as_tensor(shown)
    torch.testing.assert_close(got.reshape(expected.shape), expected.double())
