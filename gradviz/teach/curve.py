"""The output as a function of one input element: the curve, its tangent, and two slopes.

Pure logic on Graphs: every f(x) comes from re-running the program with one element of one leaf
tensor overridden at its creation (``overrides={seq: {index: x}}``), so the curve is what the
program itself computes. The tangent's slope is the gradient autograd computed; a central
finite difference from two more runs is reported beside it as a check.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import torch

from gradviz.model.errors import GradvizError
from gradviz.model.format import index_text
from gradviz.model.graph import Graph, Node
from gradviz.model.names import short_labels
from gradviz.model.values import element, elements, finite_number, numel

Overrides = dict[int, dict[int, float]]
Runner = Callable[[str, Overrides | None], Graph]
"""Runs a program with overrides and returns its Graph; raises GradvizError when it fails."""

Reduce = Literal["value", "element", "sum"]
MAX_ELEMENTS = 64
"""Elements of a tensor offered one by one in the choices (beyond: the first ones only)."""


@dataclass(frozen=True)
class InputChoice:
    """One element of a leaf tensor that requires grad: the x of the curve."""

    node_id: str
    seq: int
    index: int
    """Flat (row-major) index of the element."""
    label: str


@dataclass(frozen=True)
class OutputChoice:
    """What is plotted as f(x): a scalar node, one element of a tensor, or its sum."""

    node_id: str
    seq: int | None
    reduce: Reduce
    index: int = 0
    label: str = ""


@dataclass(frozen=True)
class Slope:
    """A slope with a sentence on where it came from (or why there is none)."""

    value: float | None
    how: str


@dataclass(frozen=True)
class Curve:
    """Everything the plot shows, as plain data."""

    input_label: str
    output_label: str
    xs: list[float]
    ys: list[float | None]
    """f at each x; None where the program failed or gave a non-finite number."""
    x: float
    y: float | None
    autograd: Slope
    finite_difference: Slope
    h: float


# -- the same tensor in another run ---------------------------------------------------------
def same_node(graph: Graph, node_id: str, seq: int | None) -> Node | None:
    """The node standing for the same tensor in another run of the program.

    Node ids are deterministic for the same program; the creation index is checked too, so a
    run whose control flow changed is not silently read at the wrong node.
    """
    node = graph.by_id.get(node_id)
    if node is not None and node.seq == seq:
        return node
    if seq is None:
        return None
    return next((n for n in graph.nodes if n.seq == seq), None)


# -- choices ---------------------------------------------------------------------------------
def _floating(node: Node) -> bool:
    return node.dtype.startswith(("float", "bfloat"))


def input_choices(graph: Graph, max_elements: int = MAX_ELEMENTS) -> list[InputChoice]:
    """Elements of leaf tensors that require grad and whose creation can be overridden."""
    out = []
    names = short_labels(graph)
    for node in graph.nodes:
        if node.kind != "leaf" or node.seq is None or not _floating(node):
            continue
        if node.value is None or node.value.data is None:
            continue
        count = min(numel(node.shape), max_elements)
        for i in range(count):
            label = names[node.id] + index_text(node.shape, i)
            out.append(InputChoice(node.id, node.seq, i, label))
    return out


def output_choices(graph: Graph, max_elements: int = MAX_ELEMENTS) -> list[OutputChoice]:
    """Tensors that depend on a leaf: the graph's outputs first, then the other named ones.

    A scalar is taken as it is; a tensor offers its sum and each of its first elements.
    """
    index = graph.by_id
    ordered = [index[i] for i in graph.outputs if i in index]
    ordered += [n for n in graph.nodes if n.name and n.id not in graph.outputs]
    out = []
    names = short_labels(graph)
    for node in ordered:
        if node.kind != "op" or node.value is None or node.value.data is None:
            continue
        if not _floating(node):
            continue
        name = names[node.id]
        if numel(node.shape) == 1:
            out.append(OutputChoice(node.id, node.seq, "value", 0, name))
            continue
        out.append(OutputChoice(node.id, node.seq, "sum", 0, f"sum of {name}"))
        for i in range(min(numel(node.shape), max_elements)):
            label = name + index_text(node.shape, i)
            out.append(OutputChoice(node.id, node.seq, "element", i, label))
    return out


def default_choices(graph: Graph) -> tuple[InputChoice, OutputChoice] | None:
    """The first backward call's root against the first leaf it reached, when there is one."""
    inputs, outputs = input_choices(graph), output_choices(graph)
    if not inputs or not outputs:
        return None
    output = outputs[0]
    call = graph.backward_calls[0] if graph.backward_calls else None
    if call is not None:
        output = next((o for o in outputs if o.node_id == call.root), output)
        reached = [k for k, v in call.leaf_grads.items() if v is not None]
        reached += [k for k in call.inputs if k]
        inputs = [i for i in inputs if i.node_id in reached] or inputs
    return inputs[0], output


def output_value(graph: Graph, choice: OutputChoice) -> float | None:
    """f in this run of the program: the chosen scalar, element or sum."""
    node = same_node(graph, choice.node_id, choice.seq)
    if node is None:
        return None
    if choice.reduce == "sum":
        items = elements(node.value)
        if items is None:
            return None
        numbers = [finite_number(v) for v in items]
        return None if any(v is None for v in numbers) else math.fsum(v or 0.0 for v in numbers)
    return element(node.value, choice.index)


def input_value(graph: Graph, choice: InputChoice) -> float | None:
    """The input element's value as the program created it.

    A leaf's node value is its value at the end of the program (an optimizer may have
    changed it since); the first recorded snapshot, taken at the first backward call, is
    closer to the value the program started with.
    """
    for call in graph.backward_calls:
        if choice.node_id in call.leaf_values:
            return element(call.leaf_values[choice.node_id], choice.index)
    for event in graph.events:
        if choice.node_id in event.leaf_values:
            return element(event.leaf_values[choice.node_id], choice.index)
    node = same_node(graph, choice.node_id, choice.seq)
    return element(node.value, choice.index) if node else None


def as_dtype(x: float, dtype: str) -> float:
    """``x`` rounded to the leaf's dtype, the number the program actually sees."""
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype) or not torch_dtype.is_floating_point:
        return x
    return float(torch.tensor(x, dtype=torch_dtype).item())


# -- runs ------------------------------------------------------------------------------------
def evaluate(
    source: str, inp: InputChoice, out: OutputChoice, x: float, run: Runner
) -> float | None:
    """f(x): re-run the program with the input element set to ``x``."""
    try:
        graph = run(source, {inp.seq: {inp.index: x}})
    except GradvizError:
        return None
    return output_value(graph, out)


def window(x: float, points: int = 25) -> list[float]:
    """``points`` evenly spaced xs on [x - r, x + r] with r = max(1, |x|)."""
    radius = max(1.0, abs(x))
    lo, step = x - radius, 2 * radius / (points - 1)
    return [lo + i * step for i in range(points)]


def curve_values(
    source: str,
    inp: InputChoice,
    out: OutputChoice,
    xs: Sequence[float],
    run: Runner,
    workers: int = 1,
) -> list[float | None]:
    """f at each x (None where the program failed there), ``workers`` runs at a time: each
    run is a sandboxed process of its own, so they can go in parallel."""

    def at(x: float) -> float | None:
        return evaluate(source, inp, out, x, run)

    if workers <= 1:
        return [at(x) for x in xs]
    with ThreadPoolExecutor(max_workers=workers) as threads:
        return list(threads.map(at, xs))


def _grad_of_leaf(graph: Graph, call_index: int, inp: InputChoice) -> float | None:
    call = graph.backward_calls[call_index]
    if call.kind == "grad":
        if inp.node_id not in call.inputs:
            return None
        result = call.results[call.inputs.index(inp.node_id)]
        return 0.0 if result is None else element(result, inp.index)
    if inp.node_id not in call.leaf_grads:
        return None
    grad = call.leaf_grads[inp.node_id]
    return 0.0 if grad is None else element(grad, inp.index)


def recorded_slope(graph: Graph, inp: InputChoice, out: OutputChoice) -> float | None:
    """The slope from the program's own first backward call, when its root is the output.

    Only when nothing can have been added before (the first call), the root is a scalar and
    its gradient is the implicit 1.
    """
    if not graph.backward_calls or out.reduce == "element":
        return None
    call = graph.backward_calls[0]
    node = same_node(graph, out.node_id, out.seq)
    if node is None or call.root != node.id or len(call.roots) > 1 or numel(node.shape) != 1:
        return None
    given = call.gradient[0] if call.gradient else None
    if given is not None and element(given, 0) != 1.0:
        return None
    return _grad_of_leaf(graph, 0, inp)


def _prefix_to(source: str, line: int) -> str | None:
    """The program up to the end of the top-level statement holding ``line``.

    None when that statement is a function or class definition (the output is a local there).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        if stmt.lineno <= line <= end:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return None
            return "\n".join(source.splitlines()[:end])
    return None


def rerun_slope(
    source: str, graph: Graph, inp: InputChoice, out: OutputChoice, x: float, run: Runner
) -> Slope:
    """The slope by a rerun where autograd differentiates the chosen output itself.

    The program is cut right after the statement that created the output, and one line is
    added: the chosen element (or sum) of the output as the last expression. gradviz then runs
    backward on it (the program has not called backward yet), and the leaf's .grad is the
    slope. Refused honestly where that cannot be done.
    """
    node = same_node(graph, out.node_id, out.seq)
    if node is None or node.line is None or not (node.name and node.name.isidentifier()):
        return Slope(None, "autograd slope unavailable: the output has no variable name")
    prefix = _prefix_to(source, node.line)
    if prefix is None:
        return Slope(None, "autograd slope unavailable: the output is made inside a function")
    if out.reduce == "sum":
        expression = f"{node.name}.sum()"
    elif out.reduce == "value":
        expression = node.name
    else:
        expression = f"{node.name}.reshape(-1)[{out.index}]"
    try:
        cut = run(prefix + "\n" + expression + "\n", {inp.seq: {inp.index: x}})
    except GradvizError as err:
        return Slope(None, f"autograd slope unavailable: the rerun failed ({err})")
    calls = cut.backward_calls
    target = same_node(cut, node.id, node.seq)
    if len(calls) != 1 or calls[0].kind != "auto" or target is None:
        return Slope(None, "autograd slope unavailable: the program calls backward before this")
    if calls[0].root is None or target.id not in cut.ancestors(calls[0].root):
        return Slope(
            None, f"autograd slope unavailable: `{node.name}` names another tensor by then"
        )
    value = _grad_of_leaf(cut, 0, inp)
    if value is None:
        return Slope(None, "autograd slope unavailable: the input is not reached")
    return Slope(value, f"autograd, by a rerun that calls backward on {out.label}")


def autograd_slope(
    source: str, graph: Graph, inp: InputChoice, out: OutputChoice, x: float, run: Runner
) -> Slope:
    """d f / d x from autograd at the graph's point (``graph`` is the run at ``x``)."""
    value = recorded_slope(graph, inp, out)
    if value is None:
        return rerun_slope(source, graph, inp, out, x, run)
    if graph.backward_calls[0].kind == "grad":  # it returns the gradient; .grad stays None
        return Slope(value, "autograd: what the program's first autograd.grad returned")
    return Slope(value, f"autograd: {inp.label}.grad after the program's first backward")


def step_size(x: float, dtype: str) -> float:
    """h for a central difference: about the cube root of the dtype's epsilon, scaled by x."""
    relative = 1e-3 if dtype in ("float32", "float16", "bfloat16") else 1e-5
    return relative * max(1.0, abs(x))


def finite_difference(
    source: str, inp: InputChoice, out: OutputChoice, x: float, dtype: str, run: Runner
) -> tuple[Slope, float]:
    """(f(x+h) - f(x-h)) / (x+h - (x-h)), with both points rounded to the leaf's dtype."""
    h = step_size(x, dtype)
    above, below = as_dtype(x + h, dtype), as_dtype(x - h, dtype)
    f_above = evaluate(source, inp, out, above, run)
    f_below = evaluate(source, inp, out, below, run)
    if f_above is None or f_below is None or above == below:
        return Slope(None, "finite difference unavailable: the program failed near x"), h
    slope = (f_above - f_below) / (above - below)
    return Slope(slope, f"central difference, h = {h:.3g}"), h


def compute_curve(
    source: str,
    graph: Graph,
    inp: InputChoice,
    out: OutputChoice,
    x: float,
    run: Runner,
    *,
    xs: Sequence[float] | None = None,
    ys: Sequence[float | None] | None = None,
) -> Curve:
    """The curve of ``out`` against ``inp`` around ``x``, with both slopes at ``x``.

    Args:
        source: The program.
        graph: The program's Graph at ``x`` (run with the override, or the plain run).
        inp: The input element.
        out: The output (scalar, element or sum).
        x: Where the tangent touches.
        run: How to run the program (a cached runner in the app).
        xs: Where to evaluate the curve (default: ``window(x)``).
        ys: Already computed f(xs), to skip those runs.
    """
    leaf = same_node(graph, inp.node_id, inp.seq)
    dtype = leaf.dtype if leaf else "float32"
    x = as_dtype(x, dtype)
    grid = list(xs) if xs is not None else window(x)
    values = list(ys) if ys is not None else curve_values(source, inp, out, grid, run)
    y = output_value(graph, out)
    if x not in grid:  # the point lies on the drawn curve, between grid points
        at = sum(1 for g in grid if g < x)
        grid.insert(at, x)
        values.insert(at, y)
    fd, h = finite_difference(source, inp, out, x, dtype, run)
    return Curve(
        input_label=inp.label,
        output_label=out.label,
        xs=grid,
        ys=values,
        x=x,
        y=y,
        autograd=autograd_slope(source, graph, inp, out, x, run),
        finite_difference=fd,
        h=h,
    )
