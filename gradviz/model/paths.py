"""Module paths (``encoder.0.attn``): the one helper both the build and the views need."""

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
