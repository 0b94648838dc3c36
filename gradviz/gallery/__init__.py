"""The example gallery: one program per idea a lecture on autograd walks through, then real
models whose graphs are bigger than a screen.

Each example is a Python file of this package (``lecture/`` and ``big/``, in the order of
their numbers), runnable on its own: ``python gradviz/gallery/lecture/02_polynomial.py``. Its
docstring holds the gallery's title (first line) and description (the rest); the editor gets
the code after it. Written for gradviz: small numbers a reader can check by hand, a comment
on the line that matters, and a ``print`` of what the lesson is about.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Example:
    """One gallery entry."""

    key: str
    """Short stable identifier: the file's name without its number (used in tests and
    benchmarks)."""
    title: str
    description: str
    code: str
    big: bool
    """A real model or a big graph (``big/``): shown collapsed past the node budget."""


def _load(folder: str) -> tuple[Example, ...]:
    files = sorted(
        (f for f in resources.files(__package__).joinpath(folder).iterdir()),
        key=lambda f: f.name,
    )
    return tuple(
        _example(f.name, f.read_text(encoding="utf-8"), folder == "big")
        for f in files
        if f.name.endswith(".py")
    )


def _example(file_name: str, text: str, big: bool) -> Example:
    module = ast.parse(text)
    docstring = ast.get_docstring(module)
    if docstring is None or not module.body:
        raise ValueError(f"gallery/{file_name} starts without its docstring")
    title, _, description = docstring.partition("\n\n")
    after = module.body[0].end_lineno or 0
    code = "\n".join(text.splitlines()[after:]).strip("\n") + "\n"
    key = file_name.removesuffix(".py").partition("_")[2]
    return Example(key, title.strip(), " ".join(description.split()), code, big)


EXAMPLES: tuple[Example, ...] = _load("lecture") + _load("big")


def by_key(key: str) -> Example:
    """The example with this key (KeyError if there is none)."""
    for example in EXAMPLES:
        if example.key == key:
            return example
    raise KeyError(key)


def matching(code: str) -> Example | None:
    """The example whose program is ``code`` (ignoring surrounding whitespace), if any."""
    text = code.strip()
    for example in EXAMPLES:
        if example.code.strip() == text:
            return example
    return None


DEFAULT = by_key("polynomial")
"""The example the app opens on."""
