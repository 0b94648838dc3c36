"""Which family a callable belongs to (torch, Tensor method, numpy, math, module...)."""

from __future__ import annotations

import numpy as np
import torch

from gradviz.interpreter.policy import MODULE_ATTRIBUTES, MODULES

_LEGACY_TENSORS = frozenset(
    getattr(torch, n)
    for n in "Tensor FloatTensor DoubleTensor LongTensor IntTensor BoolTensor ByteTensor "
    "HalfTensor ShortTensor CharTensor".split()
)
_OPAQUE_OWNERS = (
    torch.nn.Module,
    torch.optim.Optimizer,
    torch.optim.lr_scheduler.LRScheduler,
    torch.optim.lr_scheduler.ReduceLROnPlateau,
)


def _identities() -> dict[int, tuple[object, str, str]]:
    """id -> (object, family, name) for every allowed module attribute and Tensor method."""
    found: dict[int, tuple[object, str, str]] = {}
    for module_name, names in MODULE_ATTRIBUTES.items():
        module = MODULES.get(module_name) or torch.random
        family = module_name.split(".")[0]
        for name in names:
            value = getattr(module, name, None)
            if callable(value) and id(value) not in found:
                found[id(value)] = (value, family, name)
    for name in dir(torch.Tensor):
        value = getattr(torch.Tensor, name, None)
        if callable(value) and id(value) not in found:
            found[id(value)] = (value, "tensor", name)
    return found


_IDS = _identities()


def identify(fn: object) -> tuple[str, str]:
    """(family, name) of a callable: torch, tensor, numpy, ndarray, math, module, opaque, other."""
    entry = _IDS.get(id(fn))
    if entry is not None and entry[0] is fn and not isinstance(fn, type):
        return entry[1], entry[2]
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", "") or ""
    if isinstance(owner, torch.Tensor):
        return "tensor", name
    if isinstance(owner, np.ndarray):
        return "ndarray", name
    if isinstance(owner, np.random.Generator | np.random.RandomState):
        return "numpy", name
    if isinstance(fn, type):
        if fn in _LEGACY_TENSORS:
            return "legacy", fn.__name__
        if issubclass(fn, torch.nn.Module):
            return "module", fn.__name__
        if fn is np.ndarray:
            return "numpy", "ndarray"
        if entry is not None and entry[0] is fn:
            return entry[1], entry[2]  # torch.Size, torch.no_grad...: checked by name
        return "other", name
    if isinstance(fn, torch.nn.Module) or isinstance(owner, _OPAQUE_OWNERS):
        return "opaque", name
    return "other", name
