"""Disjoint sets: which nodes of a module call, or of a module's parts, belong together."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class UnionFind(Generic[K]):
    """Sets of keys, each key its own set until joined (made on first sight)."""

    def __init__(self) -> None:
        self.parent: dict[K, K] = {}

    def find(self, x: K) -> K:
        """The key that stands for ``x``'s set (path halving: no recursion, short paths)."""
        parent = self.parent
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(self, keep: K, other: K) -> None:
        """One set of the two; ``keep``'s representative stands for it."""
        self.parent[self.find(other)] = self.find(keep)
