"""Which attributes a program may read or set, decided by the type of the object.

Everything is refused unless its type has an allowlist here: generators, frames, functions,
methods, modules outside the allowlist and classes have no readable attributes at all.
"""

from __future__ import annotations

import types

import numpy as np
import torch
from torch.autograd.graph import Node
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
from torch.utils.hooks import RemovableHandle

from gradviz.interpreter.policy import (
    INTERNAL_PREFIXES,
    TORCH_DENIED,
    module_refusal,
    underscore_message,
)

_MEMORY = "it touches raw memory, other devices or other processes"
TENSOR_DENIED = frozenset(
    (
        "storage untyped_storage storage_type set_ as_strided as_strided_ as_strided_scatter "
        "resize resize_ resize_as resize_as_ resize_as_sparse_ sparse_resize_ "
        "sparse_resize_and_clear_ share_memory_ pin_memory apply_ map_ map2_ record_stream "
        "cuda xpu ipu mtia hpu mps to_mkldnn as_subclass module_load"
    ).split()
)
TENSOR_ATTRS = frozenset(
    n
    for n in dir(torch.Tensor)
    if not n.startswith("_") and n not in TENSOR_DENIED and not n.startswith(INTERNAL_PREFIXES)
)
MODULE_DENIED = frozenset(
    "share_memory compile cuda xpu ipu mtia to_empty T_destination call_super_init "
    "dump_patches".split()
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STR = _names(
    "capitalize casefold center count endswith expandtabs find format format_map index isalnum "
    "isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace "
    "istitle isupper join ljust lower lstrip partition removeprefix removesuffix replace rfind "
    "rindex rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title "
    "upper zfill"
)
_INT = _names("bit_length bit_count conjugate real imag numerator denominator as_integer_ratio")
_SET = _names(
    "add remove discard pop clear copy union intersection difference symmetric_difference "
    "issubset issuperset isdisjoint update intersection_update difference_update "
    "symmetric_difference_update"
)
_NDARRAY = _names(
    "T shape dtype ndim size itemsize nbytes real imag flat all any argmax argmin argsort astype "
    "clip conj conjugate copy cumprod cumsum diagonal dot fill flatten item max mean min nonzero "
    "prod ravel repeat reshape round sort squeeze std sum swapaxes take tolist trace transpose var"
)
# Exact types first (fast), then base classes in order (bool before int, Size before tuple).
_EXACT: dict[type, frozenset[str]] = {
    str: _STR,
    list: _names("append extend insert pop remove index count sort reverse copy clear"),
    tuple: _names("count index"),
    dict: _names("keys values items get pop popitem setdefault update copy clear fromkeys"),
    set: _SET,
    frozenset: _SET
    & _names(
        "copy union intersection difference symmetric_difference issubset issuperset isdisjoint"
    ),
    int: _INT,
    bool: _INT,
    float: _names("is_integer as_integer_ratio conjugate real imag hex"),
    complex: _names("real imag conjugate"),
    range: _names("start stop step count index"),
    slice: _names("start stop step indices"),
    bytes: _names("decode hex"),
    torch.dtype: _names("is_floating_point is_complex is_signed itemsize to_real to_complex"),
    torch.device: _names("type index"),
    torch.Size: _names("numel count index"),
    torch.finfo: _names("bits eps max min tiny smallest_normal resolution dtype"),
    torch.iinfo: _names("bits max min dtype"),
    torch.Generator: _names("manual_seed seed initial_seed device"),
    RemovableHandle: _names("remove id"),
    np.random.Generator: _names(
        "random normal uniform integers standard_normal choice permutation shuffle"
    ),
}
_BASES: tuple[tuple[type, frozenset[str]], ...] = (
    (torch.Tensor, TENSOR_ATTRS),
    (
        torch.optim.Optimizer,
        _names(
            "step zero_grad param_groups state add_param_group state_dict load_state_dict defaults"
        ),
    ),
    (
        LRScheduler,
        _names("step get_last_lr last_epoch base_lrs optimizer state_dict load_state_dict"),
    ),
    (ReduceLROnPlateau, _names("step get_last_lr last_epoch optimizer state_dict")),
    (Node, _names("name next_functions metadata register_hook register_prehook variable")),
    (np.ndarray, _NDARRAY),
    (
        np.generic,
        _names("item real imag dtype shape ndim size astype conjugate tolist is_integer T"),
    ),
    (np.dtype, _names("name kind itemsize char str")),
    (BaseException, _names("args")),
    (dict, _EXACT[dict] | {"move_to_end"}),
    (list, _EXACT[list]),
    (tuple, _EXACT[tuple]),
)
_OPAQUE: tuple[tuple[type | tuple[type, ...], str], ...] = (
    ((types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType), "generator objects"),
    ((types.FrameType, types.CodeType, types.TracebackType), "interpreter internals"),
    (
        (
            types.FunctionType,
            types.LambdaType,
            types.MethodType,
            types.BuiltinFunctionType,
            types.BuiltinMethodType,
            types.MethodWrapperType,
            types.WrapperDescriptorType,
            types.MethodDescriptorType,
            types.ClassMethodDescriptorType,
        ),
        "functions and methods",
    ),
)
_CACHE: dict[type, frozenset[str] | str] = {}


def _rule_for(t: type) -> frozenset[str] | str:
    """The allowed names for instances of ``t``, or a description when none are allowed."""
    if t in _EXACT:
        return _EXACT[t]
    if issubclass(t, torch.nn.Module):
        return "module"
    if t.__module__ == "torch.return_types":
        return frozenset(getattr(t, "__match_args__", ())) | {"count", "index"}
    for base, names in _BASES:
        if issubclass(t, base):
            return names
    for kinds, what in _OPAQUE:
        if issubclass(t, kinds):
            return what
    return f"{t.__name__} objects"


def attribute_refusal(obj: object, name: str) -> str | None:
    """Why ``obj.name`` may not be read, or None when it may."""
    if name.startswith("_"):
        return underscore_message(name)
    t = type(obj)
    rule = _CACHE.get(t)
    if rule is None:
        if isinstance(obj, types.ModuleType):
            return module_refusal(obj, name)
        if isinstance(obj, type):
            return _class_refusal(obj, name)
        rule = _CACHE[t] = _rule_for(t)
    if rule == "module":
        if name in MODULE_DENIED:
            return f"attribute '{name}' of nn.Module is not available: {_MEMORY}"
        return None
    if isinstance(rule, str):
        return f"attribute '{name}' is not available: attributes of {rule} are not readable"
    if name in rule:
        return None
    why = _MEMORY if name in TENSOR_DENIED else TORCH_DENIED.get(name)
    why = why or "it is not part of the tutorial surface gradviz allows"
    return f"attribute '{name}' of {t.__name__} is not available: {why}"


def _class_refusal(cls: type, name: str) -> str | None:
    """Classes expose only what their instances would: torch.Tensor's methods."""
    if issubclass(cls, torch.Tensor) and name in TENSOR_ATTRS:
        return None
    if name in TENSOR_DENIED:
        return f"attribute '{name}' of {cls.__name__} is not available: {_MEMORY}"
    return (
        f"attribute '{name}' of class {cls.__name__} is not available: "
        "attributes of classes are not readable"
    )


_TENSOR_SETTABLE = frozenset({"requires_grad", "grad", "data"})


def set_refusal(obj: object, name: str) -> str | None:
    """Why ``obj.name = value`` is not allowed, or None when it is."""
    if name.startswith("_"):
        return underscore_message(name)
    if isinstance(obj, torch.Tensor):
        if name in _TENSOR_SETTABLE:
            return None
        return f"attribute '{name}' of a tensor cannot be set: only requires_grad, grad and data"
    if isinstance(obj, torch.nn.Module) and name not in MODULE_DENIED:
        return None
    what = (
        "modules and classes" if isinstance(obj, (types.ModuleType, type)) else type(obj).__name__
    )
    return f"attribute '{name}' cannot be set: attributes of {what} objects are read-only here"
