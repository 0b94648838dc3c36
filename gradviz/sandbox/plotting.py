"""Leftover plotting lines must not kill a run: matplotlib is stood in for by a stub.

Tutorial cells often end with ``plt.plot(...)``; gradviz draws its own figures, and a real
matplotlib in the child would look for a writable font cache the sandbox does not give it. So
``matplotlib`` and its submodules are a stub whose every attribute and call does nothing, and
a note names the lines whose plotting was skipped.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

_MODULES = ("matplotlib", "matplotlib.pyplot", "matplotlib.animation", "matplotlib.cm")


class _Skipped:
    """Whatever a plotting call returns: a figure, axes, a list of lines... all of them."""

    def __init__(self, seen: Callable[[], None]) -> None:
        self._seen = seen

    def __getattr__(self, name: str) -> _Skipped:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Skipped:
        self._seen()
        return self

    def __getitem__(self, key: object) -> _Skipped:
        return self

    def __iter__(self) -> Iterator[_Skipped]:  # fig, ax = plt.subplots(); for ax in axes.flat
        return iter((self, self))

    def __enter__(self) -> _Skipped:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __bool__(self) -> bool:
        return False


class _Stub(types.ModuleType):
    def __init__(self, name: str, skipped: _Skipped) -> None:
        super().__init__(name)
        self._skipped = skipped

    def __getattr__(self, name: str) -> _Skipped:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._skipped


class PlottingStub:
    """Installs the stub modules for one run and remembers the lines that plotted."""

    def __init__(self, line: Callable[[], int | None]) -> None:
        self.lines: list[int] = []
        self._line = line

    def _seen(self) -> None:
        line = self._line()
        if line is not None and line not in self.lines:
            self.lines.append(line)

    def install(self) -> None:
        skipped = _Skipped(self._seen)
        for name in _MODULES:
            sys.modules[name] = _Stub(name, skipped)

    def note(self) -> str | None:
        if not self.lines:
            return None
        lines = ", ".join(str(n) for n in self.lines[:20])
        return (
            f"Plotting skipped (line{'s' if len(self.lines) > 1 else ''} {lines}): matplotlib "
            "does not run inside gradviz; the curve and the graph are gradviz's own figures."
        )
