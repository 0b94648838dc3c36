"""The size and cost estimators, checked against what torch and numpy really produce."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from gradviz.errors import LimitExceeded
from gradviz.interpreter import InterpreterHooks, interpret
from gradviz.interpreter import guards as g
from gradviz.interpreter.budget import Budget
from gradviz.interpreter.callguard import CallGuard, identify
from gradviz.limits import Limits

LIMITS = Limits()


def guard(limits: Limits = LIMITS) -> CallGuard:
    return CallGuard(Budget(limits), lambda fn, args: None)


@pytest.mark.parametrize(
    ("a", "b"),
    [((3, 1), (1, 4)), ((5,), (2, 1)), ((), (2, 3)), ((2, 1, 3), (4, 1)), ((1,), (1,))],
)
def test_broadcast_shape_matches_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    assert g.broadcast_shape([a, b]) == tuple(torch.broadcast_shapes(a, b))


def test_broadcast_shape_of_mismatch_is_none() -> None:
    assert g.broadcast_shape([(2, 3), (4, 3)]) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [((2, 3), (3, 4)), ((3,), (3,)), ((3,), (3, 5)), ((4, 3), (3,)), ((7, 2, 3), (3, 5)),
     ((1, 2, 3), (6, 3, 4))],
)  # fmt: skip
def test_matmul_cost_matches_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    out = torch.ones(a) @ torch.ones(b)
    cost = g.matmul_cost(a, b)
    assert cost is not None
    assert cost[0] == max(out.numel(), 1)
    assert cost[1] == cost[0] * a[-1]


def test_matmul_cost_of_mismatch_is_none() -> None:
    assert g.matmul_cost((2, 3), (2, 2)) is None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((10,), {}), ((2, 10), {}), ((0, 1, 0.1), {}), ((5, 1, -0.5), {}), ((1.5,), {}),
     ((), {"start": 2, "end": 9, "step": 3}), ((0, 1e-3, 1e-4), {})],
)  # fmt: skip
def test_arange_length_matches_torch(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert g.arange_length(args, kwargs) == torch.arange(*args, **kwargs).numel()


def test_arange_length_of_huge_ranges_without_allocating() -> None:
    assert g.arange_length((10**12,), {}) == 10**12
    assert g.arange_length((0, 1e12), {}) == 10**12
    assert g.arange_length((0, math.inf), {}) >= 2**62


@pytest.mark.parametrize(
    "data",
    [[1.0, 2.0], [[1, 2, 3], [4, 5, 6]], [], [[]], (1, 2), range(7), [torch.ones(2, 3)] * 4,
     [np.ones((2, 2))], 3.0],
)  # fmt: skip
def test_sequence_shape_matches_torch_tensor(data: Any) -> None:
    if isinstance(data, list) and data and isinstance(data[0], torch.Tensor):
        real = torch.stack(data).shape
    else:
        real = torch.tensor(np.array(data)).shape
    assert tuple(g.sequence_shape(data)) == tuple(real)


def test_sequence_shape_of_shared_rows_is_read_without_walking_them() -> None:
    row = [0.0] * 1000
    assert g.sequence_shape([row] * 10**6) == [10**6, 1000]


def test_sequence_shape_refuses_absurd_nesting() -> None:
    deep: list[Any] = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(LimitExceeded):
        g.sequence_shape(deep)


@pytest.mark.parametrize(
    ("shape", "key"),
    [((10, 4), [0, 0, 1]), ((10, 4), (slice(None), [1, 2])), ((3, 4, 5), ([0, 1], [1, 2])),
     ((3, 4, 5), (Ellipsis, [0, 0, 0, 0])), ((6, 4), None), ((4, 4), (None, [1, 2]))],
)  # fmt: skip
def test_index_numel_is_an_upper_bound(shape: tuple[int, ...], key: Any) -> None:
    x = torch.ones(shape)
    real = x[key if not isinstance(key, list) else torch.tensor(key)].numel()
    assert g.index_numel(shape, key) >= real


def test_index_numel_with_tensor_index_is_exact() -> None:
    idx = torch.zeros(10**5, dtype=torch.long)
    assert g.index_numel((1000, 1000), idx) == 10**8
    mask = torch.ones(1000, 1000, dtype=torch.bool)
    assert g.index_numel((1000, 1000), mask) == 10**6


def test_einsum_flops() -> None:
    out = torch.einsum("ij,jk->ik", torch.ones(2, 3), torch.ones(3, 4))
    assert g.einsum_flops("ij,jk->ik", [(2, 3), (3, 4)], out.numel()) == 2 * 3 * 4
    assert g.einsum_flops("i,j->ij", [(5,), (6,)], 30) == 30
    assert g.einsum_flops("ii", [(4, 4)], 1) == 4
    implicit = torch.einsum("bij,bjk", torch.ones(2, 3, 4), torch.ones(2, 4, 5)).numel()
    assert g.einsum_flops("bij,bjk", [(2, 3, 4), (2, 4, 5)], implicit) == 2 * 3 * 4 * 5
    batched = torch.einsum("bij,bjk->bik", torch.ones(2, 3, 4), torch.ones(2, 4, 5)).numel()
    assert g.einsum_flops("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], batched) == 2 * 3 * 4 * 5


def test_size_from_accepts_every_spelling() -> None:
    assert g.size_from((2, 3), {}) == [2, 3]
    assert g.size_from(((2, 3),), {}) == [2, 3]
    assert g.size_from((torch.Size([4, 5]),), {}) == [4, 5]
    assert g.size_from((), {"size": [6]}) == [6]
    assert g.size_from((1, 10, (3, 3)), {}, first=2) == [3, 3]


def test_strided_storage_counts_the_strides() -> None:
    assert g.strided_storage((2, 3), (3, 1)) == 6
    assert g.strided_storage((2,), (10**12,)) == 10**12 + 1
    assert g.strided_storage((0, 5), (5, 1)) == 0


def test_pow_bits_is_close_to_the_truth() -> None:
    for base, exp in [(2, 100), (3, 1000), (10, 1200), (7, 1), (-5, 77)]:
        assert abs(g.pow_bits(base, exp) - (base**exp).bit_length()) <= 1
    assert g.pow_bits(2, -5) == 1 and g.pow_bits(1, 10**10) == 1
    assert g.pow_bits(2, 10**10) > 10**9


def test_meta_numels_gives_sizes_without_allocating() -> None:
    x = torch.ones(10)
    assert g.meta_numels(torch.Tensor.repeat, (x, 10**5, 10**5), {}) == [10**11]
    assert g.meta_numels(torch.outer, (x, torch.ones(7)), {}) == [70]
    assert g.meta_numels(torch.split, (x, 3), {}) == [3, 3, 3, 1]


def test_meta_numels_is_none_when_data_decides_the_size() -> None:
    assert g.meta_numels(torch.nonzero, (torch.ones(3),), {}) is None


def test_identify_families() -> None:
    x = torch.ones(2)
    assert identify(torch.tanh) == ("torch", "tanh")
    assert identify(x.add) == ("tensor", "add")
    assert identify(torch.Tensor.add) == ("tensor", "add")
    assert identify(np.zeros) == ("numpy", "zeros")
    assert identify(np.ones(2).repeat) == ("ndarray", "repeat")
    assert identify(torch.nn.Linear) == ("module", "Linear")
    assert identify(torch.nn.Linear(1, 1)) == ("opaque", "")
    assert identify(torch.Tensor)[0] == "legacy"
    assert identify(len) == ("other", "len")


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "elements"),
    [
        ("zeros", (10**3, 10**4), {}, 10**7),
        ("zeros", ((10**3, 10**4),), {}, 10**7),
        ("full", ((5000, 1000), 1.0), {}, 5 * 10**6),
        ("randint", (0, 10, (3000, 3000)), {}, 9 * 10**6),
        ("randint", (10, (5 * 10**6,)), {}, 5 * 10**6),
        ("eye", (3000,), {}, 9 * 10**6),
        ("linspace", (0, 1, 10**7), {}, 10**7),
        ("arange", (0, 1, 1e-7), {}, 10**7),
        ("tensor", ([[0.0] * 5000] * 1000,), {}, 5 * 10**6),
        ("tril_indices", (3000, 3000), {}, 18 * 10**6),
    ],
)
def test_factories_are_refused_before_allocating(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], elements: int
) -> None:
    assert elements > LIMITS.max_tensor_elements
    with pytest.raises(LimitExceeded, match=str(elements)):
        guard().torch_call(name, getattr(torch, name), args, kwargs)


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("combinations", (torch.arange(100.0),), {"r": 4}),
        ("cov", (torch.ones(3000, 2),), {}),
        ("histogramdd", (torch.rand(5, 3),), {"bins": 200}),
        ("one_hot", (torch.tensor([10**7]),), {}),
        ("bincount", (torch.tensor([10**7]),), {}),
        ("repeat_interleave", (torch.ones(10), 10**6), {}),
        ("new_full", (torch.ones(2), (3000, 3000), 1.0), {}),
        ("scaled_dot_product_attention", (torch.ones(1, 3000, 2),) * 3, {}),
    ],
)
def test_data_dependent_sizes_have_their_own_estimates(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(LimitExceeded):
        guard().torch_call(name, None, args, kwargs)


def test_data_dependent_sizes_allow_small_calls() -> None:
    gd = guard()
    gd.torch_call("combinations", None, (torch.arange(10.0),), {"r": 3})
    gd.torch_call("one_hot", None, (torch.tensor([3, 1]),), {})
    gd.torch_call("repeat_interleave", None, (torch.ones(10), torch.full((10,), 3)), {})


def test_dry_runs_are_remembered_per_signature() -> None:
    gd = guard()
    x = torch.ones(4, 4)
    gd.torch_call("kron", torch.kron, (x, x), {})
    gd.torch_call("kron", torch.kron, (x, x), {})
    assert len(gd._dry_runs) == 1
    gd.torch_call("kron", torch.kron, (x, torch.ones(2)), {})
    assert len(gd._dry_runs) == 2


def test_small_factories_pass() -> None:
    gd = guard()
    for name, args in [("zeros", (2, 3)), ("randn", (100,)), ("arange", (0, 10)), ("eye", (4,))]:
        gd.torch_call(name, getattr(torch, name), args, {})


def test_operator_broadcast_and_matmul_checks() -> None:
    gd = guard()
    gd.operator("+", torch.ones(1000, 1), torch.ones(1, 1000))
    with pytest.raises(LimitExceeded, match="max_tensor_elements"):
        gd.operator("+", torch.ones(10**5, 1), torch.ones(1, 10**5))
    with pytest.raises(LimitExceeded, match="max_matmul_flops"):
        gd.operator("@", torch.ones(1, 1500, 1500), torch.ones(1000, 1500, 1))
    gd.operator("@", torch.ones(100, 100), torch.ones(100, 100))


def test_numpy_estimates() -> None:
    gd = guard()
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("zeros", ((10**6, 10**6),), {}),
        ("arange", (10**12,), {}),
        ("linspace", (0, 1), {"num": 10**8}),
        ("outer", (np.ones(10**4), np.ones(10**4)), {}),
        ("tile", (np.ones(10), (10**4, 10**3)), {}),
        ("repeat", (np.ones(10**3), 10**5), {}),
        ("normal", (0, 1), {"size": (10**4, 10**4)}),
        ("rand", (10**4, 10**4), {}),
        ("diag", (np.ones(10**4),), {}),
    ]
    for name, args, kwargs in cases:
        with pytest.raises(LimitExceeded):
            gd.numpy_call(name, args, kwargs)
    gd.numpy_call("zeros", ((3, 4),), {})


def test_math_bits() -> None:
    gd = guard()
    gd.math_call("factorial", (100,))
    with pytest.raises(LimitExceeded, match="max_int_bits"):
        gd.math_call("factorial", (10**6,))
    with pytest.raises(LimitExceeded):
        gd.math_call("comb", (10**6, 5 * 10**5))


def test_total_elements_accumulate() -> None:
    gd = guard(Limits(max_total_elements=1000))
    gd.account(torch.ones(600))
    gd.account(torch.ones(10)[2:5])  # a view allocates nothing
    with pytest.raises(LimitExceeded, match="max_total_elements"):
        gd.account(torch.ones(600))


def test_module_construction_is_dry_run_on_meta() -> None:
    gd = guard()
    gd.module_ctor(torch.nn.Linear, (100, 100), {})
    with pytest.raises(LimitExceeded, match="parameter"):
        gd.module_ctor(torch.nn.Linear, (10**4, 10**4), {})
    with pytest.raises(LimitExceeded):
        gd.module_ctor(torch.nn.Embedding, (10**7, 8), {})


class _Names(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.names.append(getattr(func, "__name__", "?"))
        return func(*args, **(kwargs or {}))


def test_guards_are_invisible_to_torch_function_modes() -> None:
    """The recorder sees the program's calls and nothing of the guards' dry runs."""
    source = (
        "import torch\n"
        "x = torch.ones(3, 4)\n"
        "y = x.repeat(2, 1) + 1\n"
        "z = torch.outer(y[0], y[1])\n"
        "z\n"
    )
    with _Names() as mode:
        interpret(source)
    assert "empty" not in mode.names
    assert mode.names.count("repeat") == 1
    assert mode.names.count("outer") == 1
    assert "__repr__" not in mode.names  # the echo of `z` is made unseen too


def test_guards_do_not_consume_random_numbers() -> None:
    source = "import torch\ntorch.manual_seed(123)\nm = torch.nn.Linear(4, 4)\nx = torch.randn(3)\n"
    torch.manual_seed(123)
    torch.nn.Linear(4, 4)
    expected = torch.randn(3)
    result = interpret(source, hooks=InterpreterHooks())
    torch.testing.assert_close(result.namespace["x"], expected)
