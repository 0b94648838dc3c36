"""Hostile programs: every one is stopped with a gradviz error, quickly, writing nothing.

Each case runs with the working directory set to a fresh empty folder, which must still be
empty afterwards (no file was written by any route), and must stop within a few seconds
(a correctness bound on the limits, not a benchmark).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz.errors import (
    GradvizError,
    LimitExceeded,
    ProgramError,
    ProgramSyntaxError,
    RefusedError,
)
from gradviz.interpreter import InterpreterHooks, interpret

R, L, P, S = RefusedError, LimitExceeded, ProgramError, ProgramSyntaxError
T = "import torch\n"
N = "import numpy as np\n"

HOSTILE: list[tuple[str, str, type[GradvizError]]] = [
    # -- escapes through dunders and introspection
    ("subclasses", "().__class__.__bases__[0].__subclasses__()", R),
    ("tensor_class", T + "x = torch.ones(2)\nx.__class__", R),
    ("lambda_globals", "(lambda: 0).__globals__", R),
    ("torch_builtins", T + "torch.__builtins__", R),
    ("np_dict", N + "np.__dict__", R),
    ("dunder_name", "__builtins__", R),
    ("dunder_import_name", "__import__('os')", R),
    ("func_code", "def f():\n    return 1\nf.__code__", R),
    ("private_attr", T + "torch._C", R),
    ("grad_fn_saved", T + "x = torch.ones(2, requires_grad=True)\n(x*x).grad_fn._saved_self", R),
    ("func_attr_public", "def f():\n    return 1\nf.name", R),
    ("method_self", "x = [1]\nx.append.self", R),
    ("class_attr", T + "torch.nn.Linear.forward", R),
    (
        "exception_traceback",
        "try:\n    1/0\nexcept ZeroDivisionError as e:\n    e.with_traceback",
        R,
    ),
    # -- format strings
    ("format_attr", '"{0.__class__}".format(1)', R),
    ("format_map_index", '"{a[__class__]}".format_map({"a": {}})', R),
    ("format_real", '"{0.real}".format(1)', R),
    ("format_index", '"{0[0]}".format([1])', R),
    # -- generator frames
    ("genexp_frame", "g = (i for i in [1])\ng.gi_frame", R),
    ("parameters_frame", T + "m = torch.nn.Linear(2, 2)\nm.parameters().gi_frame.f_globals", R),
    ("zip_attr", "z = zip([1], [2])\nz.gi_frame", R),
    ("yield", "def f():\n    yield 1", R),
    # -- refused builtins
    ("getattr", "getattr(1, 'real')", R),
    ("setattr", "setattr(1, 'x', 2)", R),
    ("eval", "eval('1+1')", R),
    ("exec", "exec('x = 1')", R),
    ("compile", "compile('1', 'f', 'eval')", R),
    ("open", "open('f', 'w')", R),
    ("globals", "globals()", R),
    ("vars", "vars()", R),
    ("locals", "locals()", R),
    ("type", "type(1)", R),
    ("input", "input()", R),
    ("breakpoint", "breakpoint()", R),
    ("object", "object()", R),
    ("dir", "dir()", R),
    ("print_file", "print('x', file=None)", R),
    # -- imports
    ("import_os", "import os", R),
    ("import_sys", "import sys", R),
    ("import_subprocess", "import subprocess", R),
    ("import_socket", "import socket", R),
    ("import_importlib", "import importlib", R),
    ("import_pickle", "import pickle", R),
    ("import_builtins", "import builtins", R),
    ("from_torch_C", "from torch import _C", R),
    ("import_torch_utils", "import torch.utils", R),
    ("import_torch_hub", "import torch.hub", R),
    ("from_os_path", "from os import path", R),
    ("star_import", "from torch import *", R),
    ("import_in_function", "def f():\n    import os\n", R),
    ("class_def", "class A:\n    pass", R),
    ("global", "x = 1\ndef f():\n    global x\n    x = 2", R),
    # -- files, processes and raw memory through torch and numpy
    ("torch_save", T + "torch.save(torch.ones(2), 'f')", R),
    ("torch_load", T + "torch.load('f')", R),
    ("torch_from_file", T + "torch.from_file('f', size=10)", R),
    ("torch_hub", T + "torch.hub.load('a', 'b')", R),
    ("torch_ops", T + "torch.ops.aten.add", R),
    ("torch_library", T + "torch.library.Library('x', 'DEF')", R),
    ("cpp_extension", T + "torch.utils.cpp_extension.load_inline('x', '')", R),
    ("jit_script", T + "torch.jit.script(lambda x: x)", R),
    ("compile_fn", T + "torch.compile(lambda x: x)", R),
    ("multiprocessing", T + "torch.multiprocessing.Process", R),
    ("set_default_dtype", T + "torch.set_default_dtype(torch.float64)", R),
    ("set_num_threads", T + "torch.set_num_threads(1)", R),
    ("set_printoptions", T + "torch.set_printoptions(precision=1)", R),
    ("module_compile", T + "torch.nn.Linear(2, 2).compile()", R),
    ("np_save", N + "np.save('f', np.ones(2))", R),
    ("np_load", N + "np.load('f')", R),
    ("np_fromfile", N + "np.fromfile('f')", R),
    ("np_loadtxt", N + "np.loadtxt('f')", R),
    ("np_genfromtxt", N + "np.genfromtxt('f')", R),
    ("np_memmap", N + "np.memmap('f', mode='w+', shape=(2,))", R),
    ("np_vectorize", N + "np.vectorize(lambda x: x)", R),
    ("arr_tofile", N + "np.ones(2).tofile('f')", R),
    ("arr_dump", N + "np.ones(2).dump('f')", R),
    ("arr_ctypes", N + "np.ones(2).ctypes", R),
    ("numpy_tofile", T + "torch.ones(2).numpy().tofile('f')", R),
    ("storage", T + "torch.ones(2).storage()", R),
    ("tensor_class_storage", T + "torch.Tensor.storage", R),
    ("untyped_storage", T + "torch.ones(2).untyped_storage()", R),
    ("share_memory", T + "torch.ones(2).share_memory_()", R),
    ("set_", T + "torch.ones(2).set_(torch.ones(3))", R),
    ("as_strided", T + "torch.ones(2).as_strided((100,), (1,))", R),
    ("torch_seed", T + "torch.seed()", R),
    ("setattr_module", T + "torch.tanh = print", R),
    ("with_other", "with open('f') as f:\n    pass", R),
    # -- CPU bombs
    ("pow_tower", "2**10**10", L),
    ("pow_tower_10", "10**10**10", L),
    ("shift", "1 << 10**9", L),
    ("mult_loop", "x = 2\nfor i in range(40):\n    x = x * x", L),
    ("sum_range", "sum(range(10**12))", L),
    ("while_true", "while True:\n    pass", L),
    ("for_range", "for i in range(10**9):\n    pass", L),
    ("nested_loops", "for i in range(10**4):\n    for j in range(10**4):\n        pass", L),
    ("recursion", "def f(n):\n    return f(n + 1)\nf(0)", L),
    ("str_repeat", '"a" * 10**10', L),
    ("list_repeat", "[0] * 10**10", L),
    ("list_range", "list(range(10**10))", L),
    ("format_width", '"{:>1000000000}".format(1)', L),
    ("fstring_width", 'f"{1:>{10**9}}"', L),
    ("percent_width", '"%1000000000d" % 1', L),
    ("ljust", '"a".ljust(10**10)', L),
    ("join_range", '",".join(map(str, range(10**8)))', L),
    ("sorted_range", "sorted(range(10**9))", L),
    ("comprehension", "[i for i in range(10**9)]", L),
    ("string_doubling", "s = 'ab'\nfor i in range(40):\n    s = s + s", L),
    ("extend_doubling", "x = [1]\nfor i in range(40):\n    x.extend(x)", L),
    ("factorial", "import math\nmath.factorial(10**6)", L),
    ("tensor_item_repeat", T + "[0] * torch.tensor(10**10)", L),
    # -- memory bombs
    ("zeros", T + "torch.zeros(10**6, 10**6)", L),
    ("expand", T + "torch.ones(10**5).expand(10**5, 10**5).contiguous()", L),
    ("broadcast", T + "torch.ones(10**5, 1) + torch.ones(1, 10**5)", L),
    ("matmul", T + "torch.ones(10**4, 10**4) @ torch.ones(10**4, 10**4)", L),
    ("repeat", T + "x = torch.ones(10)\nx.repeat(10**5, 10**5)", L),
    ("np_zeros", N + "np.zeros((10**6, 10**6))", L),
    ("np_arange", N + "np.arange(10**12)", L),
    ("np_arange_float", N + "np.arange(0, 1e12)", L),
    ("alloc_loop", T + "xs = []\nfor i in range(1000):\n    xs.append(torch.ones(10**6))", L),
    ("tensor_range", T + "torch.tensor(range(10**9))", L),
    ("linear_bomb", T + "torch.nn.Linear(10**5, 10**5)", L),
    ("linear_forward_bomb", T + "m = torch.nn.Linear(1, 3 * 10**6)\nm(torch.ones(100, 1))", L),
    ("outer", T + "torch.outer(torch.ones(10**5), torch.ones(10**5))", L),
    ("arange", T + "torch.arange(10**12)", L),
    ("empty_strided", T + "torch.empty_strided((2,), (10**12,))", R),
    ("index_bomb", T + "x = torch.ones(10**3, 10**3)\nx[torch.zeros(10**5, dtype=torch.long)]", L),
    (
        "hessian_bomb",
        T + "torch.autograd.functional.hessian(lambda x: x.sum(), torch.ones(10**4))",
        L,
    ),
    (
        "jacobian_bomb",
        T + "torch.autograd.functional.jacobian(lambda x: x.repeat(3000), torch.ones(3000))",
        L,
    ),
    (
        "broadcast_tensors",
        T + "torch.broadcast_tensors(torch.ones(10**5, 1), torch.ones(1, 10**5))",
        L,
    ),
    (
        "adaptive_pool",
        T + "torch.nn.functional.adaptive_avg_pool1d(torch.ones(1, 1, 4), 10**9)",
        L,
    ),
    (
        "take_along_dim",
        T
        + "torch.take_along_dim(torch.ones(10**3, 1), torch.zeros(1, 10**6, dtype=torch.long), 1)",
        L,
    ),
    ("np_ndarray", N + "np.ndarray((10**6, 10**6))", R),
    ("np_ufunc_outer", N + "np.add.outer(np.ones(10**5), np.ones(10**5))", R),
    ("rng_integers", N + "np.random.default_rng(0).integers(0, 9, size=10**10)", L),
    ("combinations", T + "torch.combinations(torch.arange(100.0), r=5)", L),
    ("new_full", T + "torch.ones(2).new_full((10**5, 10**5), 1.0)", L),
    ("covariance", T + "torch.cov(torch.ones(4000, 3))", L),
    ("histogramdd", T + "torch.histogramdd(torch.rand(10, 3), bins=1000)", L),
    ("lobpcg", T + "torch.lobpcg(torch.eye(3), k=1, niter=10**9)", R),
    (
        "attention_scores",
        T
        + "q = torch.ones(1, 30000, 1)\ntorch.nn.functional.scaled_dot_product_attention(q, q, q)",
        L,
    ),
    (
        "mha_scores",
        T + "m = torch.nn.MultiheadAttention(4, 2)\nq = torch.ones(30000, 1, 4)\nm(q, q, q)",
        L,
    ),
    ("sort_tensors", T + "l = [torch.tensor(1.0)] * 300000\nl.sort()", L),
    (
        "conv_flops",
        T + "x = torch.ones(1, 64, 250, 250)\n"
        "torch.nn.functional.conv2d(x, torch.ones(64, 64, 3, 3), padding=1)",
        L,
    ),
    ("np_lib", N + "np.lib.format.open_memmap('f', mode='w+', shape=(2,))", R),
    ("np_ctypeslib", N + "np.ctypeslib.as_array", R),
    ("np_frompyfunc", N + "np.frompyfunc(lambda x: x, 1, 1)", R),
    ("np_apply_along_axis", N + "np.apply_along_axis(sum, 0, np.ones((2, 2)))", R),
    ("module_share_memory", T + "torch.nn.Linear(2, 2).share_memory()", R),
    ("set_default_device", T + "torch.set_default_device('meta')", R),
    ("deterministic", T + "torch.use_deterministic_algorithms(True)", R),
    ("torch_cuda", T + "torch.cuda.is_available()", R),
    ("torch_backends", T + "torch.backends.cudnn", R),
    ("torch_distributed", T + "torch.distributed", R),
    ("pin_memory", T + "torch.ones(2).pin_memory()", R),
    ("resize_", T + "torch.ones(2).resize_(10**6)", R),
    ("apply_", T + "torch.ones(2).apply_(lambda v: v)", R),
    ("help", "help(print)", R),
    ("exit", "exit()", R),
    ("memoryview", "memoryview(b'x')", R),
    ("hasattr", "hasattr(1, 'real')", R),
    ("dunder_method", "(1).__add__(2)", R),
    ("arr_tolist_bomb", N + "np.ones(4 * 10**6).tolist()", L),
    (
        "module_in_loop",
        T + "ms = []\nfor i in range(100):\n    ms.append(torch.nn.Linear(1000, 1000))",
        L,
    ),
    # -- deep nesting
    ("parens", "(" * 500 + "1" + ")" * 500, L),
    ("long_sum", "+".join(["1"] * 100_000), L),
    ("deep_list", "[" * 200 + "]" * 200, L),
    # -- syntax
    ("syntax", "x = (1", S),
    ("break_outside", "break", S),
    # -- errors of the program
    ("raise", "raise ValueError('no')", P),
    ("assert", "assert 1 == 2, 'bad'", P),
    ("shape_error", T + "torch.ones(2, 3) @ torch.ones(2, 2)", P),
    ("raise_custom", "raise SystemExit", P),
    ("raise_non_exception", "raise 1", R),
]


@pytest.mark.parametrize(
    ("source", "expected"), [(c[1], c[2]) for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_program_is_stopped(
    source: str, expected: type[GradvizError], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    with pytest.raises(GradvizError) as info:
        interpret(source)
    elapsed = time.monotonic() - start
    assert isinstance(info.value, expected), f"{type(info.value).__name__}: {info.value}"
    assert info.value.line is not None and info.value.col is not None
    assert elapsed < 5.0
    assert list(tmp_path.iterdir()) == []


def test_corpus_is_large() -> None:
    assert len(HOSTILE) >= 60


def test_refusal_messages_say_why() -> None:
    with pytest.raises(RefusedError, match="import of 'os' is not allowed: gradviz runs only"):
        interpret("import os")
    with pytest.raises(RefusedError, match="'__class__' is not available: names starting with '_'"):
        interpret("x = 1\nx.__class__")
    with pytest.raises(RefusedError, match=r"nn\.Sequential"):
        interpret("class A:\n    pass")
    with pytest.raises(LimitExceeded, match=r"loop ran past 100000 iterations \(limit max_loop"):
        interpret("while True:\n    pass")


def test_error_position_is_the_offending_node() -> None:
    with pytest.raises(RefusedError) as info:
        interpret("x = 1\ny = [x, x.__class__]")
    assert (info.value.line, info.value.col) == (2, 9)
    with pytest.raises(ProgramError) as err:
        interpret("import torch\na = torch.ones(2, 3)\nb = a @ torch.ones(2, 2)")
    assert err.value.line == 3
    assert err.value.message.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert "Traceback" not in err.value.message


def test_runtime_attribute_check_also_applies() -> None:
    # The static check sees only literal attribute names; names reached at run time through
    # a format string or an allowed object are checked again when read.
    with pytest.raises(RefusedError):
        interpret('"{0.__class__.__name__}".format(1)')


def test_limit_inside_a_torch_callback_is_reported() -> None:
    source = T + (
        "def hook(g):\n"
        "    while True:\n"
        "        pass\n"
        "x = torch.ones(2, requires_grad=True)\n"
        "x.register_hook(hook)\n"
        "x.sum().backward()\n"
    )
    with pytest.raises(LimitExceeded) as info:
        interpret(source)
    assert info.value.line == 3


def test_cannot_catch_a_limit() -> None:
    source = "try:\n    while True:\n        pass\nexcept Exception:\n    pass\n"
    with pytest.raises(LimitExceeded):
        interpret(source)


def test_grad_mode_is_restored_after_an_error() -> None:
    assert torch.is_grad_enabled()
    with pytest.raises(ProgramError):
        interpret(T + "torch.set_grad_enabled(False)\nraise ValueError('x')")
    assert torch.is_grad_enabled()
    with pytest.raises(ProgramError):
        interpret(T + "with torch.no_grad():\n    raise ValueError('x')")
    assert torch.is_grad_enabled()


def test_global_generator_only_through_substitution() -> None:
    seen: list[int] = []

    def fake_seed() -> int:
        seen.append(1)
        return 7

    hooks = InterpreterHooks(substitutions={torch.seed: fake_seed})
    result = interpret(T + "s = torch.seed()", hooks=hooks)
    assert result.namespace["s"] == 7 and seen == [1]


def test_uninitialized_memory_is_never_shown() -> None:
    ns = interpret(
        T + N + "a = torch.empty(10**5)\nb = torch.Tensor(300, 300)\nc = a.new_empty(999)\n"
        "d = torch.empty_like(b)\ne = np.empty(10**5)\nf = b.new(50, 50)\n"
    ).namespace
    for name in "abcdef":
        value = ns[name]
        assert isinstance(value, torch.Tensor | np.ndarray)
        assert not value.any(), name


def test_no_file_is_written_by_allowed_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    interpret(T + "x = torch.ones(3)\nprint(x)\nx.numpy().tolist()")
    assert list(tmp_path.iterdir()) == []
