"""What a program may import and which names of those modules it may use.

The torch surface is built from ``torch.overrides`` (every public tensor function) plus the
factories and helpers tutorials need, then a denylist removes whatever touches files,
processes, raw memory or state shared with other users of the process.
"""

from __future__ import annotations

import importlib
import math
import types
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional
from torch.overrides import get_overridable_functions

from gradviz.errors import RefusedError

ONLY = "gradviz runs only torch, numpy and math"

MODULE_NAMES = (
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.nn.init",
    "torch.optim",
    "torch.optim.lr_scheduler",
    "torch.autograd",
    "torch.autograd.functional",
    "torch.linalg",
    "torch.fft",
    "torch.special",
    "numpy",
    "numpy.random",
    "numpy.linalg",
    "math",
)
MODULES: dict[str, types.ModuleType] = {n: importlib.import_module(n) for n in MODULE_NAMES}

# Names refused in every torch namespace, with the reason shown to the user.
_FILES = "it reads or writes files, processes or raw memory"
_GLOBAL = "it changes settings shared by every program in this server"
TORCH_DENIED: dict[str, str] = {
    **dict.fromkeys(
        (
            "load save from_file hub ops library utils jit compile package multiprocessing "
            "distributed cuda backends frombuffer from_dlpack as_strided as_strided_ "
            "as_strided_scatter as_strided_copy storage untyped_storage set_ "
            "get_rng_state set_rng_state fork_rng"
        ).split(),
        _FILES,
    ),
    **dict.fromkeys(
        (
            "set_default_dtype set_default_device set_default_tensor_type set_printoptions "
            "set_num_threads set_num_interop_threads use_deterministic_algorithms "
            "set_deterministic_debug_mode set_float32_matmul_precision set_flush_denormal "
            "set_warn_always set_anomaly_enabled set_detect_anomaly detect_anomaly autocast "
            "set_multithreading_enabled"
        ).split(),
        _GLOBAL,
    ),
    **dict.fromkeys(
        "lobpcg svd_lowrank pca_lowrank".split(),
        "its iterations run inside torch where the time limit cannot stop them",
    ),
}
# Internal kernels with little input checking: not part of the tutorial surface.
INTERNAL_PREFIXES = (
    "fbgemm",
    "cudnn",
    "miopen",
    "mkldnn",
    "quantize",
    "quantized",
    "q_",
    "native_",
    "sym_",
    "batch_norm_",
    "fake_quant",
    "choose_qparams",
    "fused_",
    "segment_",
)
_TORCH_EXTRAS = (
    "tensor as_tensor asarray from_numpy Tensor FloatTensor DoubleTensor LongTensor IntTensor "
    "BoolTensor ByteTensor HalfTensor ShortTensor CharTensor Size dtype device Generator finfo "
    "iinfo manual_seed seed initial_seed no_grad enable_grad set_grad_enabled inference_mode "
    "is_grad_enabled is_inference_mode_enabled get_default_dtype is_tensor numel "
    "is_floating_point is_complex zeros ones empty full rand randn randint randperm arange "
    "linspace logspace eye normal scalar_tensor tril_indices triu_indices vander bartlett_window "
    "blackman_window hamming_window hann_window kaiser_window rand_like randn_like "
    "randint_like zeros_like ones_like full_like empty_like result_type promote_types can_cast "
    "pi e inf nan nn optim autograd linalg fft special random strided"
).split()
_NUMPY_NAMES = (
    "array asarray arange linspace logspace zeros ones full empty eye identity zeros_like "
    "ones_like full_like empty_like diag diagonal tri tril triu meshgrid copy sin cos tan arcsin "
    "arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh exp exp2 expm1 log log2 log10 "
    "log1p sqrt square cbrt abs absolute fabs sign power float_power maximum minimum fmax fmin "
    "clip floor ceil round around rint trunc fix mod remainder fmod add subtract multiply divide "
    "true_divide floor_divide negative positive reciprocal hypot deg2rad rad2deg degrees "
    "radians isnan isinf isfinite where greater less equal not_equal greater_equal less_equal "
    "logical_and logical_or logical_not logical_xor sinc heaviside allclose isclose array_equal "
    "sum mean max min amax amin argmax argmin std var prod cumsum cumprod median average any all "
    "count_nonzero nonzero argsort sort unique ptp dot matmul vdot inner outer kron trace "
    "transpose reshape concatenate stack vstack hstack column_stack squeeze expand_dims ravel "
    "swapaxes moveaxis broadcast_to tile repeat flip fliplr flipud roll shape size ndim isscalar "
    "random linalg pi e inf nan newaxis float16 float32 float64 int8 int16 int32 int64 uint8 "
    "bool_ complex64 complex128 dtype ndarray"
).split()
_NUMPY_RANDOM = (
    "rand randn randint random seed normal uniform choice shuffle permutation default_rng"
)
_NUMPY_LINALG = "norm inv det solve eig eigh eigvals eigvalsh svd qr pinv matrix_rank cholesky"
# Calls that reseed or read the process-wide generator: allowed only when the runner
# substitutes its own per-session function (torch.manual_seed may call the real one).
SUBSTITUTION_ONLY: frozenset[object] = frozenset({torch.seed})


def underscore_message(name: str) -> str:
    return f"attribute '{name}' is not available: names starting with '_' are internal"


def _denied(name: str) -> bool:
    return name.startswith("_") or name in TORCH_DENIED or name.startswith(INTERNAL_PREFIXES)


def _public(module: types.ModuleType, keep: Callable[[str, object], bool]) -> frozenset[str]:
    names = set()
    for name in dir(module):
        if not _denied(name):
            value = getattr(module, name, None)
            if keep(name, value):
                names.add(name)
    return frozenset(names)


def _in(functions: Iterable[object], extras: Iterable[str] = ()) -> Callable[[str, object], bool]:
    ids = {id(f) for f in functions}
    extra = set(extras)
    return lambda name, value: id(value) in ids or name in extra


def _torch_callable(name: str, value: object) -> bool:
    """Public functions of torch.nn.functional and friends, not helpers or typing objects."""
    if isinstance(value, (type, types.ModuleType)) or not callable(value):
        return False
    module = getattr(value, "__module__", None) or ""
    return module in ("torch.nn.functional", "torch", "torch._C._nn", "torch.nn.init")


def _subclasses(base: type) -> Callable[[str, object], bool]:
    return lambda name, value: isinstance(value, type) and issubclass(value, base)


def _build() -> dict[str, frozenset[str]]:
    overridable = get_overridable_functions()
    fn = MODULES
    dtypes = [n for n in dir(torch) if isinstance(getattr(torch, n, None), torch.dtype)]
    torch_fns = [*overridable[torch], *overridable[torch.functional]]
    nn_keep = _subclasses(torch.nn.Module)
    lr = torch.optim.lr_scheduler
    return {
        "torch": _public(torch, _in(torch_fns, [*_TORCH_EXTRAS, *dtypes])),
        "torch.nn": _public(
            fn["torch.nn"],
            lambda n, v: (
                (nn_keep(n, v) and n != "DataParallel")
                or n in ("Parameter", "Buffer", "functional", "init")
            ),
        ),
        "torch.nn.functional": _public(fn["torch.nn.functional"], _torch_callable),
        "torch.nn.init": _public(fn["torch.nn.init"], _torch_callable),
        "torch.optim": _public(
            fn["torch.optim"],
            lambda n, v: _subclasses(torch.optim.Optimizer)(n, v) or n == "lr_scheduler",
        ),
        "torch.optim.lr_scheduler": _public(
            lr, lambda n, v: _subclasses(lr.LRScheduler)(n, v) or n == "ReduceLROnPlateau"
        ),
        "torch.autograd": frozenset(
            "grad backward Variable functional no_grad enable_grad set_grad_enabled "
            "inference_mode".split()
        ),
        "torch.autograd.functional": frozenset("jacobian hessian vjp jvp hvp vhp".split()),
        "torch.linalg": _public(fn["torch.linalg"], _in(overridable[torch.linalg])),
        "torch.fft": _public(fn["torch.fft"], _in(overridable[torch.fft])),
        "torch.special": _public(fn["torch.special"], _in(overridable[torch.special])),
        "torch.random": frozenset({"manual_seed", "seed", "initial_seed"}),
        "numpy": frozenset(n for n in _NUMPY_NAMES if hasattr(np, n)),
        "numpy.random": frozenset(_NUMPY_RANDOM.split()),
        "numpy.linalg": frozenset(_NUMPY_LINALG.split()),
        "math": frozenset(n for n in dir(math) if not n.startswith("_")),
    }


MODULE_ATTRIBUTES = _build()


def module_refusal(module: types.ModuleType, name: str) -> str | None:
    """Why ``module.name`` may not be used, or None when it may."""
    allowed = MODULE_ATTRIBUTES.get(module.__name__)
    if allowed is not None and name in allowed:
        return None
    full = f"{module.__name__}.{name}"
    why = TORCH_DENIED.get(name) if module.__name__.startswith("torch") else None
    if why is None:
        why = (
            "it is not part of the tutorial surface gradviz allows"
            if allowed is not None
            else "attributes of this module are not available"
        )
    return f"'{full}' is not available: {why}"


def check_import(name: str) -> None:
    """Refuse ``import name`` unless it is one of the allowed modules."""
    if name not in MODULES:
        raise RefusedError(f"import of '{name}' is not allowed: {ONLY}")


def check_from_import(module: str, name: str) -> None:
    """Refuse ``from module import name`` unless that name is allowed."""
    check_import(module)
    if name.startswith("_"):
        raise RefusedError(
            f"'{module}.{name}' is not available: names starting with '_' are internal"
        )
    why = module_refusal(MODULES[module], name)
    if why is not None:
        raise RefusedError(why)


EXCEPTIONS: dict[str, type[BaseException]] = {
    e.__name__: e
    for e in (
        Exception,
        ValueError,
        RuntimeError,
        TypeError,
        AssertionError,
        IndexError,
        KeyError,
        ZeroDivisionError,
        ArithmeticError,
        LookupError,
        NotImplementedError,
        OverflowError,
        AttributeError,
        NameError,
    )
}
EXCEPTION_TYPES = frozenset(EXCEPTIONS.values())
CONTEXT_MANAGERS = frozenset(
    {torch.no_grad, torch.enable_grad, torch.set_grad_enabled, torch.inference_mode}
)
