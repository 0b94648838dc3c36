"""``present(x)``: an optional field of the Graph inside a test's expression, asserted to be
there (so a missing value fails the test at that spot rather than as an AttributeError)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    assert value is not None
    return value
