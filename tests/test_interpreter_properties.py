"""Random programs give what CPython and torch give.

The oracle is Python's own exec/eval, run here in the test on generated (trusted) text; the
interpreter under test never uses either.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradviz.errors import LimitExceeded, ProgramError
from gradviz.interpreter import interpret

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- arithmetic -----------------------------------------------------------------------------------
_BINARY = ["+", "-", "*", "/", "//", "%"]
_COMPARE = ["<", "<=", ">", ">=", "==", "!="]


@functools.cache
def _expressions(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    numbers = st.one_of(
        st.integers(-20, 20).map(str),
        st.floats(-10, 10, allow_nan=False, width=32).map(lambda f: repr(round(f, 3))),
    )
    leaves = numbers | st.sampled_from(names) if names else numbers

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_BINARY), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
            st.tuples(
                inner, st.sampled_from(_COMPARE), inner, st.sampled_from(_COMPARE), inner
            ).map(lambda t: f"({t[0]} {t[1]} {t[2]} {t[3]} {t[4]})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            inner.map(lambda e: f"(-{e})"),
            inner.map(lambda e: f"(not {e})"),
            inner.map(lambda e: f"abs({e})"),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def arithmetic_programs(draw: st.DrawFn) -> str:
    lines: list[str] = []
    names: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        name = f"v{i}"
        lines.append(f"{name} = {draw(_expressions(tuple(names)))}")
        names.append(name)
        if draw(st.booleans()):
            lines.append(f"{name} += {draw(_expressions(tuple(names)))}")
    lines.append("print(" + ", ".join(names) + ")")
    return "\n".join(lines) + "\n"


def _python(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, {})
    return out.getvalue()


@SETTINGS
@given(arithmetic_programs())
def test_arithmetic_matches_cpython(source: str) -> None:
    try:
        expected = _python(source)
    except Exception as e:  # the oracle fails: the interpreter must fail the same way
        try:
            interpret(source)
        except ProgramError as err:
            assert err.message.split(":")[0] == type(e).__name__
            return
        except LimitExceeded:
            assume(False)
        raise AssertionError(f"expected {type(e).__name__}") from None
    try:
        result = interpret(source)
    except LimitExceeded:
        assume(False)  # a huge int that CPython computes but gradviz refuses, by design
        return
    assert result.stdout == expected


# -- tensors --------------------------------------------------------------------------------------
SHAPES = {"A": (2, 3), "B": (2, 3), "C": (3, 2), "D": (2, 2)}
_UNARY = ["torch.tanh", "torch.sin", "torch.abs", "torch.exp", "torch.sigmoid"]


def _tensor_expr(shape: tuple[int, ...], depth: int) -> st.SearchStrategy[str]:
    """Expressions of the given shape over A, B (2x3), C (3x2), D (2x2)."""
    leaves = [n for n, s in SHAPES.items() if s == shape]
    base = st.sampled_from(leaves) if leaves else st.nothing()
    if depth == 0:
        return base
    sub = _tensor_expr(shape, depth - 1)
    options = [
        base,
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(_UNARY), sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(sub, st.floats(-2, 2, allow_nan=False, width=16)).map(
            lambda t: f"({t[0]} * {t[1]!r})"
        ),
        st.tuples(sub, _tensor_expr(shape, depth - 1)).map(lambda t: f"({t[0]} + {t[1]}.mean())"),
        sub.map(lambda e: f"({e} / (1 + {e}.abs().sum()))"),
    ]
    if shape in ((2, 2), (2, 3)):
        # (2, 3) @ (3, 2) gives (2, 2); (2, 2) @ (2, 3) gives (2, 3).
        left_shape = (2, 3) if shape == (2, 2) else (2, 2)
        right_shape = (3, 2) if shape == (2, 2) else (2, 3)
        options.append(
            st.tuples(
                _tensor_expr(left_shape, depth - 1), _tensor_expr(right_shape, depth - 1)
            ).map(lambda t: f"({t[0]} @ {t[1]})")
        )
    return st.one_of(*options)


_values = st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=6, max_size=6)


@SETTINGS
@given(
    _tensor_expr((2, 3), 3) | _tensor_expr((2, 2), 3),
    st.fixed_dictionaries({name: _values for name in SHAPES}),
)
def test_tensor_arithmetic_matches_torch(expr: str, values: dict[str, list[float]]) -> None:
    tensors: dict[str, Any] = {}
    lines = ["import torch"]
    for name, (rows, cols) in SHAPES.items():
        data = [values[name][i * cols : (i + 1) * cols] for i in range(rows)]
        lines.append(f"{name} = torch.tensor({data!r}, requires_grad=True)")
        tensors[name] = torch.tensor(data, requires_grad=True)
    lines.append(f"result = {expr}")
    lines.append("result.sum().backward()")
    result = interpret("\n".join(lines)).namespace
    expected = eval(expr, {"torch": torch, **tensors})
    expected.sum().backward()
    torch.testing.assert_close(result["result"], expected, equal_nan=True)
    for name in SHAPES:
        leaf = result[name]
        assert isinstance(leaf, torch.Tensor)
        mine, theirs = leaf.grad, tensors[name].grad
        if theirs is None:
            assert mine is None
        else:
            torch.testing.assert_close(mine, theirs, equal_nan=True)
