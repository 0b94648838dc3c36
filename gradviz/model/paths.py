"""Module paths (``encoder.0.attn``): what the build and the views both need of them."""

from __future__ import annotations


def common_module(paths: list[str | None]) -> str | None:
    """The deepest module path all of ``paths`` lie in (None if one is outside any)."""
    if not paths or any(p is None for p in paths):
        return None
    split = [p.split(".") for p in paths if p is not None]
    common = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) > 1:
            break
        common.append(parts[0])
    return ".".join(common) or None


def enclosing_paths(path: str) -> list[str]:
    """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``: the path and every module above it."""
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def path_key(path: str) -> list[tuple[int, int, str]]:
    """Natural order: ``layers.2`` before ``layers.10``."""
    return [(1, 0, x) if not x.isdigit() else (0, int(x), "") for x in path.split(".")]


def parent(path: str) -> str | None:
    """The enclosing module's path (None at the top level)."""
    return path.rsplit(".", 1)[0] if "." in path else None
