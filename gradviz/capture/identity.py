"""A live object's identity as an int, without an audit event.

``id()`` raises the ``builtins.id`` audit event, and in the sandbox's child every event calls
the audit hook, a Python function (about 1 µs each). Recording and building a 6,000-node graph
calls it about 220,000 times: a quarter of a second, a fifth of the run. ``object.__hash__``
is computed from the same address (rotated, so distinct live objects get distinct values) and
raises no event. It also ignores a class's own ``__hash__`` (``Tensor.__hash__`` calls
``id()`` in Python).
"""

from __future__ import annotations

from collections.abc import Callable

identity: Callable[[object], int] = object.__hash__
