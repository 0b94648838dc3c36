"""Step through the graph: backward in the engine's order, forward in creation order.

Above the graph, ``walk_controls`` offers the whole graph or a step-through and returns what to
draw: backward, the node the engine runs at that step outlined and the edges a gradient has
already flowed along coloured; forward, only the nodes computed so far, the newest outlined.
Below the graph, ``walk_details`` says what happened at that step in numbers, and writes out
the chain rule for one element of a leaf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import streamlit as st

from gradviz.app import state
from gradviz.app.options import Display
from gradviz.model.format import index_text, is_matrix, number, tensor_block, tensor_text
from gradviz.model.graph import Graph
from gradviz.model.names import title
from gradviz.model.values import TensorValue, numel
from gradviz.render.dot import RenderOptions
from gradviz.render.interactive import NO_OVERLAY, Overlay
from gradviz.teach.chain_rule import ChainRule, Unavailable, explain_chain_rule, leaves_of
from gradviz.teach.stepper import (
    BackwardStep,
    backward_step,
    call_label,
    forward_order,
    graph_at_step,
)
from gradviz.views.iterations import LastIteration, last_iteration

Mode = Literal["whole", "backward", "forward"]
MODES: dict[Mode, str] = {
    "whole": "Whole graph",
    "backward": "Backward, step by step",
    "forward": "Forward, step by step",
}
MAX_ITEMS = 8
"""Elements per row shown in the step's numbers."""


@dataclass(frozen=True)
class Walk:
    """What the graph panel draws at the chosen step, and which step that is."""

    graph: Graph
    render: RenderOptions
    mode: Mode = "whole"
    call: int | None = None
    """The backward call being walked (an index into ``backward_calls``)."""
    step: BackwardStep | None = None
    """Backward: the engine's step shown."""
    index: int = 0
    """0-based position of the step (backward) or of the newest node (forward)."""
    count: int = 0
    """How many steps there are."""
    node: str | None = None
    """Forward: the node computed at this step."""
    overlay: Overlay = NO_OVERLAY
    """What the step changes on the drawing of ``graph`` (which is the same at every step)."""
    key: str | None = None
    """The session key of the step (for the arrow keys on the graph)."""

    def step_by(self) -> Callable[[int], None] | None:
        """What an arrow key on the graph does: move the step by +1 or -1 (None: no steps)."""
        key, count = self.key, self.count
        if key is None or count < 2:
            return None
        return lambda delta: _move(key, delta, count)


def walk_controls(graph: Graph, render: RenderOptions) -> Walk:
    """The step-through's controls; returns what to draw. Cheap: it runs on every rerun."""
    mode = st.segmented_control(
        "Show",
        list(MODES),
        format_func=MODES.__getitem__,
        default="whole",
        required=True,
        key=state.WALK,
        bind="query-params",
        help="Walk the backward pass in the order PyTorch's engine ran it, or watch the "
        "forward pass build the graph node by node.",
    )
    if mode == "backward":
        return _backward_controls(graph, render)
    if mode == "forward":
        return _forward_controls(graph, render)
    loop = last_iteration(graph)
    if loop is not None and _last_only(loop):
        return Walk(loop.graph, render)
    return Walk(graph, render)


def _last_only(loop: LastIteration) -> bool:
    """Whether to draw only the loop's last iteration (the default, as ``make_dot(loss)``)."""
    choice = st.segmented_control(
        "Iterations",
        ["last", "all"],
        # The label is what the URL keeps, so it does not depend on the count.
        format_func={"last": "Last iteration", "all": "Every iteration"}.__getitem__,
        default="last",
        required=True,
        key=state.ITERATIONS,
        bind="query-params",
        help=f"The loop called backward {loop.iterations} times, building a new graph each "
        "time round: draw the last one, or every iteration's side by side.",
    )
    return choice != "all"


def _move(key: str, delta: int, count: int) -> None:
    """Previous/Next callback: move the 1-based step, staying within 1..count."""
    current = st.session_state.get(key, 1)
    st.session_state[key] = min(max(int(current) + delta, 1), count)


def _restart(key: str) -> None:
    st.session_state[key] = 1


def _stepper(label: str, count: int, key: str) -> int:
    """Previous / slider / Next over 1..count; returns the 0-based step."""
    current = st.session_state.get(key)
    if not isinstance(current, int) or not 1 <= current <= count:
        st.session_state[key] = 1  # a new program, or another call with fewer steps
    if count < 2:
        return 0  # a slider needs two values; there is nothing to step through
    # Page Up / Page Down: what a presenter's clicker sends.
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button(
            "Back",
            key=f"{key}_back",
            icon=":material/chevron_left:",
            help="Previous step (Page Up)",
            on_click=_move,
            args=(key, -1, count),
            disabled=st.session_state[key] <= 1,
            shortcut="PageUp",
        )
        st.button(
            "Next",
            key=f"{key}_next",
            icon=":material/chevron_right:",
            help="Next step (Page Down)",
            on_click=_move,
            args=(key, 1, count),
            disabled=st.session_state[key] >= count,
            shortcut="PageDown",
        )
        value = st.slider(label, 1, count, key=key, bind="query-params")  # a link keeps the step
    return int(value) - 1


def _backward_controls(graph: Graph, render: RenderOptions) -> Walk:
    calls = graph.backward_calls
    if not calls:
        st.info("This program runs no backward pass, so there is nothing to step through.")
        return Walk(graph, render)
    call = 0
    if len(calls) > 1:
        if st.session_state.get(state.WALK_CALL) not in range(len(calls)):
            st.session_state[state.WALK_CALL] = 0
        chosen = st.selectbox(
            "Backward call",
            range(len(calls)),
            format_func=lambda i: call_label(graph, i),
            key=state.WALK_CALL,
            on_change=_restart,
            args=(state.WALK_STEP,),
        )
        call = int(chosen or 0)
    count = len(calls[call].steps)
    if not count:
        st.info("This backward call ran no nodes.")
        return Walk(graph, render)
    index = _stepper("Step (the engine's order)", count, state.WALK_STEP)
    step = backward_step(graph, call, index)
    # Drawn as after the last step, so that no node moves; the gradients that have not
    # arrived yet are hidden.
    drawn = graph_at_step(graph, call, count - 1)
    arrived = {n.id for n in graph_at_step(graph, call, index).nodes if n.grad is not None}
    waiting = frozenset(n.id for n in drawn.nodes if n.grad is not None and n.id not in arrived)
    marked = replace(render, highlight=step.node, traversed=step.traversed)
    overlay = Overlay(no_grad=waiting)
    return Walk(
        drawn, marked, "backward", call=call, step=step, index=index, count=count,
        overlay=overlay, key=state.WALK_STEP,
    )  # fmt: skip


def _forward_controls(graph: Graph, render: RenderOptions) -> Walk:
    order = forward_order(graph)
    if not order:
        return Walk(graph, render)
    index = _stepper("Step (the program's order)", len(order), state.FORWARD_STEP)
    # The whole graph is drawn (no node moves between steps); the ones not computed yet are
    # hidden. No gradients exist yet while the forward pass runs.
    marked = replace(render, highlight=order[index], show_grads=False)
    overlay = Overlay(hidden=frozenset(order[index + 1 :]))
    return Walk(
        graph, marked, "forward", index=index, count=len(order), node=order[index],
        overlay=overlay, key=state.FORWARD_STEP,
    )  # fmt: skip


def walk_details(graph: Graph, walk: Walk, display: Display) -> None:
    """What happens at the chosen step, below the graph."""
    if walk.mode == "backward" and walk.step is not None and walk.call is not None:
        _backward_details(graph, walk, walk.step, walk.call, display)
    elif walk.mode == "forward" and walk.node is not None:
        _forward_details(graph, walk, walk.node, display)


def _which(graph: Graph, call_index: int) -> str:
    count = len(graph.backward_calls)
    return f" (call {call_index + 1} of {count})" if count > 1 else ""


def _backward_details(
    graph: Graph, walk: Walk, step: BackwardStep, call_index: int, display: Display
) -> None:
    nodes = graph.by_id
    names = graph.display_names
    call = graph.backward_calls[call_index]
    node = nodes.get(step.node)
    root = nodes.get(call.root or "")
    root_name = (root.name or root.label) if root is not None else "root"
    precision = display.render.precision
    op = node.op if node is not None and node.op else "AccumulateGrad"
    st.markdown(
        f"**Step {walk.index + 1} of {walk.count}** in "
        f"{call_label(graph, call_index, numbered=False)}{_which(graph, call_index)}: "
        f"the engine runs **{names.get(step.node, 'a node')}** (`{op}`)."
    )
    arriving = f"Gradient arriving, ∂{root_name}/∂(this)"
    if is_matrix(step.grad_in):
        st.markdown(f"{arriving}:")
        st.code(tensor_block(step.grad_in, precision, MAX_ITEMS), language=None)
    else:
        st.markdown(f"{arriving}: `{tensor_text(step.grad_in, precision, MAX_ITEMS)}`")
    for send in step.sends:
        target = names.get(send.to or "", f"input {send.position}")
        if send.grad is None:
            st.caption(f"→ {target}: no gradient sent (it does not need one).")
            continue
        if send.local is None:
            _quantities(f"→ to **{target}**", [("gradient sent", send.grad)], precision)
            st.caption(f"No elementwise local derivative: {send.reason}.")
            continue
        _quantities(
            f"→ to **{target}**",
            [
                ("local derivative ∂(this)/∂(input)", send.local),
                ("× gradient arriving", step.grad_in),
                ("= gradient sent", send.grad),
            ],
            precision,
        )
    if node is not None and node.kind == "leaf":
        after = tensor_text(call.leaf_grads.get(node.id), precision, MAX_ITEMS)
        grad = f"`{node.name}.grad`" if node.name else "the leaf's `.grad`"
        st.markdown(
            f"A leaf: AccumulateGrad adds the arriving gradient into {grad}, "
            f"which after this call is `{after}`."
        )
    st.caption(
        "The drawing shows the gradient that has arrived at each node so far in this call; "
        "edges a gradient has already flowed along are coloured."
    )
    _chain_rule_panel(graph, call_index, display)


def _quantities(head: str, parts: list[tuple[str, TensorValue | None]], precision: int) -> None:
    """``head: name `value` name `value`...`` on one line; with a matrix among them, a block
    of text in which each matrix is printed as torch prints it."""
    if any(is_matrix(value) for _, value in parts):
        st.markdown(f"{head}:")
        lines = [f"{name}\n{tensor_block(value, precision, MAX_ITEMS)}" for name, value in parts]
        st.code("\n".join(lines), language=None)
        return
    # A no-break space after × and =: a sign never ends a line, away from what it multiplies.
    text = " ".join(
        f"{name.replace(' ', chr(0xA0), 1) if name[:1] in '×=' else name} "
        f"`{tensor_text(value, precision, MAX_ITEMS)}`"
        for name, value in parts
    )
    st.markdown(f"{head}: {text}")


def _chain_rule_panel(graph: Graph, call_index: int, display: Display) -> None:
    st.markdown("**Chain rule for a leaf**")
    nodes = graph.by_id
    leaves = leaves_of(graph, call_index)
    if not leaves:
        st.caption("No leaf received a gradient in this call.")
        return
    if st.session_state.get(state.WALK_LEAF) not in leaves:
        st.session_state[state.WALK_LEAF] = leaves[0]
    left, right = st.columns(2)
    names = graph.display_names
    leaf_id = left.selectbox("Leaf", leaves, format_func=names.__getitem__, key=state.WALK_LEAF)
    leaf = nodes[str(leaf_id or leaves[0])]
    index = 0
    count = numel(leaf.shape)
    if count > 1 and leaf.value is not None and leaf.value.data is not None:
        if st.session_state.get(state.WALK_ELEMENT) not in range(count):
            st.session_state[state.WALK_ELEMENT] = 0
        chosen = right.selectbox(
            "Element",
            range(count),
            format_func=lambda i: (leaf.name or "leaf") + index_text(leaf.shape, i),
            key=state.WALK_ELEMENT,
        )
        index = int(chosen or 0)
    rule = explain_chain_rule(graph, leaf.id, index, call_index)
    if isinstance(rule, Unavailable):
        st.caption(f"No product of numbers to write out here: {rule.reason}.")
        return
    _show_rule(rule, display.render.precision)


def _show_rule(rule: ChainRule, precision: int) -> None:
    st.markdown(f"**{rule.text(precision)}**")
    wrt = f"∂{rule.root_name}/∂{rule.leaf_name}{rule.element}"
    if rule.autograd is not None:
        agree = math.isclose(rule.total, rule.autograd, rel_tol=1e-4, abs_tol=1e-6)
        st.markdown(
            f"autograd computed {wrt} = `{number(rule.autograd, precision)}` in this call"
            + (" ✓ the same" if agree else ", not the product above")
        )
    if rule.stored is not None and rule.autograd is not None:
        if not math.isclose(rule.stored, rule.autograd, rel_tol=1e-6, abs_tol=1e-9):
            st.markdown(
                f"`{rule.leaf_name}.grad{rule.element}` after this call is "
                f"`{number(rule.stored, precision)}`: .grad adds up over backward calls."
            )
    st.caption(
        "Each factor is the local derivative of one operation on the way back from "
        f"{rule.root_name} to {rule.leaf_name}, read off as (gradient sent) ÷ (gradient "
        "arriving). Where the leaf is used more than once, each path's product is added."
    )


def _forward_details(graph: Graph, walk: Walk, node_id: str, display: Display) -> None:
    node = graph.by_id[node_id]
    where = f" at line {node.line}" if node.line is not None else ""
    value = tensor_text(node.value, display.render.precision, MAX_ITEMS)
    st.markdown(
        f"**Node {walk.index + 1} of {walk.count}**: the program computed "
        f"**{title(node)}**{where}, value `{value}`."
    )
    st.caption(
        "Nodes appear in the order the program computed them; the newest is outlined. "
        "There are no gradients yet: they come in the backward pass."
    )
