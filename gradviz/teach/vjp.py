"""Non-scalar outputs: backward(gradient=v) and autograd.grad(grad_outputs=v) compute vᵀJ.

Pure data from the Graph. For each call given a vector v, the Jacobian J = d root / d leaf
(captured where small), the product vᵀJ worked out from them, and what autograd actually
produced (the returned gradient, or what backward() added to ``.grad``), so the two can be
seen to agree. A run of calls on one root with one-hot vectors (the tutorial's loop that
builds a Jacobian) is gathered into the matrix it fills, one row per call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from gradviz.model.format import element_labels
from gradviz.model.graph import BackwardCall, Graph
from gradviz.model.names import name_or_title
from gradviz.model.values import TensorValue, flatten, numel

MAX_LEAVES = 4
"""Leaves shown per call (a model's many parameters would each get a Jacobian)."""


def floats(value: TensorValue | None) -> list[float] | None:
    """The elements as floats, row-major (None when the tensor was too large to keep)."""
    if value is None or value.data is None:
        return None
    return [float(x) for x in flatten(value.data)]  # "nan"/"inf" markers parse as floats


def close(a: list[float], b: list[float]) -> bool:
    """Equal up to float32 rounding (autograd computes in the tensors' dtype)."""
    if len(a) != len(b):
        return False
    scale = max([1.0, *(abs(x) for x in a + b if math.isfinite(x))])
    pairs = zip(a, b, strict=True)
    return all(math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-5 * scale) for x, y in pairs)


@dataclass(frozen=True)
class JacobianEnds:
    """The two tensors a Jacobian J = d root / d leaf relates: node ids, names and shapes."""

    root: str
    root_label: str
    root_shape: tuple[int, ...]
    leaf: str
    leaf_label: str
    leaf_shape: tuple[int, ...]

    def element_labels(self) -> tuple[list[str], list[str]]:
        """J's row labels (the root's elements, ``y[0]``...) and column labels (the leaf's)."""
        return (
            element_labels(self.root_shape, self.root_label),
            element_labels(self.leaf_shape, self.leaf_label),
        )


def jacobian_ends(graph: Graph, call: BackwardCall, leaf: str) -> JacobianEnds:
    """The call's (first) root and ``leaf``; the root's shape from its value, else its node."""
    nodes = graph.by_id
    root = nodes[call.roots[0]]
    shape = call.root_value.shape if call.root_value else root.shape
    return JacobianEnds(
        root=root.id,
        root_label=name_or_title(root),
        root_shape=shape,
        leaf=leaf,
        leaf_label=name_or_title(nodes[leaf]),
        leaf_shape=nodes[leaf].shape,
    )


def _program_calls(graph: Graph) -> list[int]:
    """Calls the program (or a button) made; not torch.autograd.functional's own passes."""
    return [i for i, c in enumerate(graph.backward_calls) if c.origin in (None, "button")]


def _grads_before(graph: Graph, call_index: int) -> Mapping[str, TensorValue | None]:
    """Every leaf's ``.grad`` just before the call (from the event before the call's own)."""
    for position, event in enumerate(graph.events):
        if event.call == call_index:
            return graph.events[position - 1].leaf_grads if position > 0 else {}
    return {}


def contribution(graph: Graph, call_index: int, leaf: str) -> list[float] | None:
    """What the call produced for this leaf: autograd.grad's result, or what backward()
    added to ``.grad`` (after minus before, since gradients accumulate)."""
    call = graph.backward_calls[call_index]
    if call.kind == "grad":
        for node, result in zip(call.inputs, call.results, strict=False):
            if node == leaf:
                return floats(result)
        return None
    if leaf not in call.leaf_grads:
        return None
    after = call.leaf_grads[leaf]
    if after is None:
        return None
    now = floats(after)
    previous = _grads_before(graph, call_index).get(leaf)
    if previous is None:
        return now
    before = floats(previous)
    if now is None or before is None or len(now) != len(before):
        return None
    return [a - b for a, b in zip(now, before, strict=True)]


def jacobian_matrix(call: BackwardCall, leaf: str) -> list[list[float]] | None:
    """J as rows (one per element of the root) by columns (one per element of the leaf)."""
    jac = call.jacobians.get(leaf)
    values = floats(jac)
    if values is None or call.root_value is None:
        return None
    rows = max(numel(call.root_value.shape), 1)
    cols = len(values) // rows
    return [values[r * cols : (r + 1) * cols] for r in range(rows)]


def product(v: list[float], jacobian: list[list[float]]) -> list[float] | None:
    """vᵀJ: the rows of J weighted by v and added up."""
    if len(v) != len(jacobian):
        return None
    cols = len(jacobian[0]) if jacobian else 0
    return [sum(v[r] * jacobian[r][c] for r in range(len(v))) for c in range(cols)]


@dataclass(frozen=True)
class Vjp:
    """One call given a vector v, for one leaf: v, J, vᵀJ and what autograd produced."""

    call: int
    line: int | None
    kind: str
    """``backward`` or ``grad``."""
    button: bool
    ends: JacobianEnds
    v: list[float] | None
    jacobian: list[list[float]] | None
    """None when J was too large to capture (more than 16 rows or 1,024 elements)."""
    product: list[float] | None
    """vᵀJ computed from v and J."""
    autograd: list[float] | None
    """The returned gradient (autograd.grad) or what backward() added to ``.grad``."""

    @property
    def matches(self) -> bool | None:
        """Whether vᵀJ equals what autograd produced (None: nothing to compare)."""
        if self.product is None or self.autograd is None:
            return None
        return close(self.product, self.autograd)

    @property
    def title(self) -> str:
        """``line 8 · autograd.grad(y, x, grad_outputs=v)``, ``line 7 · z.backward(v)``."""
        where = "button" if self.button else f"line {self.line}"
        root, leaf = self.ends.root_label, self.ends.leaf_label
        if self.kind == "grad":
            call = f"autograd.grad({root}, {leaf}, grad_outputs=v)"
        else:
            call = f"{root}.backward(gradient=v) → {leaf}.grad"
        return f"{where} · {call}"


def _leaves(call: BackwardCall) -> list[str]:
    if call.kind == "grad":
        found = [i for i in call.inputs if i is not None]
    elif call.jacobians:
        found = list(call.jacobians)
    else:
        found = [k for k, v in call.leaf_grads.items() if v is not None]
    return found[:MAX_LEAVES]


def vjps(graph: Graph) -> list[Vjp]:
    """Every call given an explicit v (one root), for each leaf it reached."""
    out = []
    for index in _program_calls(graph):
        call = graph.backward_calls[index]
        if len(call.roots) != 1 or len(call.gradient) != 1 or call.gradient[0] is None:
            continue
        v = floats(call.gradient[0])
        for leaf in _leaves(call):
            jacobian = jacobian_matrix(call, leaf)
            out.append(
                Vjp(
                    call=index,
                    line=call.line,
                    kind=call.kind,
                    button=call.origin == "button",
                    ends=jacobian_ends(graph, call, leaf),
                    v=v,
                    jacobian=jacobian,
                    product=None if v is None or jacobian is None else product(v, jacobian),
                    autograd=contribution(graph, index, leaf),
                )
            )
    return out


def one_hot(value: TensorValue | None) -> int | None:
    """The flat index of the single 1 of a one-hot tensor (None if it is not one-hot)."""
    values = floats(value)
    if values is None or sorted(set(values)) not in ([0.0, 1.0], [1.0]):
        return None
    if values.count(1.0) != 1:
        return None
    return values.index(1.0)


@dataclass(frozen=True)
class JacobianFill:
    """Calls with one-hot vectors eᵢ on one root: each fills row i of J = d root / d leaf."""

    ends: JacobianEnds
    calls: list[int]
    lines: list[int | None]
    filled: list[int]
    """Which row (flat index of the root element) each call filled."""
    rows: list[list[float] | None]
    """Each call's row as autograd produced it, in call order."""
    reference: list[list[float]] | None
    """The whole J, as captured beside the calls (None if too large)."""

    def matrix_after(self, count: int) -> list[list[float | None]]:
        """J after the first ``count`` calls; rows not filled yet are all None."""
        width = numel(self.ends.leaf_shape)
        rows = numel(self.ends.root_shape)
        matrix: list[list[float | None]] = [[None] * width for _ in range(rows)]
        for row, values in zip(self.filled[:count], self.rows[:count], strict=True):
            if values is not None and len(values) == width:
                matrix[row] = list(values)
        return matrix

    @property
    def complete(self) -> bool:
        return set(self.filled) == set(range(numel(self.ends.root_shape)))

    @property
    def matches(self) -> bool | None:
        """Whether the filled rows equal the captured J there (None: nothing to compare)."""
        if self.reference is None:
            return None
        final = self.matrix_after(len(self.calls))
        return all(
            close([x for x in row if x is not None], self.reference[r])
            for r, row in enumerate(final)
            if any(x is not None for x in row)
        )


def _fill_key(graph: Graph, index: int) -> tuple[str, str] | None:
    call = graph.backward_calls[index]
    if len(call.roots) != 1 or len(call.gradient) != 1:
        return None
    if one_hot(call.gradient[0]) is None:
        return None
    leaves = _leaves(call)
    return (call.roots[0], leaves[0]) if leaves else None


def jacobian_fills(graph: Graph) -> list[JacobianFill]:
    """Runs of two or more consecutive one-hot calls on the same root and leaf."""
    runs: list[list[int]] = []
    last_key: tuple[str, str] | None = None
    for index in _program_calls(graph):
        key = _fill_key(graph, index)
        if key is not None and key == last_key:
            runs[-1].append(index)
        elif key is not None:
            runs.append([index])
        last_key = key
    return [_fill(graph, run) for run in runs if len(run) >= 2]


def _fill(graph: Graph, run: list[int]) -> JacobianFill:
    first = graph.backward_calls[run[0]]
    leaf = _leaves(first)[0]
    filled = [one_hot(graph.backward_calls[i].gradient[0]) or 0 for i in run]
    return JacobianFill(
        ends=jacobian_ends(graph, first, leaf),
        calls=run,
        lines=[graph.backward_calls[i].line for i in run],
        filled=filled,
        rows=[contribution(graph, i, leaf) for i in run],
        reference=jacobian_matrix(graph.backward_calls[run[-1]], leaf),
    )
