"""The node inspector: one node's full value and gradient, grad_fn, saved tensors, chain rule."""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from gradviz.app import links, state
from gradviz.app.figures import show_figure
from gradviz.app.options import Display
from gradviz.model.format import index_text, number, shape_text, tensor_text
from gradviz.model.graph import Graph, Node
from gradviz.model.values import TensorValue, elements
from gradviz.render.plots import heatmap_figure
from gradviz.teach.stepper import backward_step, last_step_at


def default_node(graph: Graph) -> str:
    """The first backward call's root, else the first output, else the last node."""
    ids = {n.id for n in graph.nodes}
    if graph.backward_calls and graph.backward_calls[0].root in ids:
        return str(graph.backward_calls[0].root)
    if graph.outputs:
        return graph.outputs[0]
    return graph.nodes[-1].id


def show_tensor(value: TensorValue | None, what: str, display: Display, empty: str) -> None:
    """A tensor in full: a number, a table (1-D, 3-D and up) or a heatmap (2-D)."""
    st.markdown(f"**{what}**")
    precision = display.render.precision
    if value is None:
        st.caption(empty)
        return
    if value.note:  # converted (sparse shown dense...) or not readable (a meta tensor)
        st.caption(f"{shape_text(value.shape)} {value.dtype}: {value.note}")
    if value.data is None and value.summary is None:
        return
    if value.summary is not None:
        s = value.summary
        st.caption(f"{shape_text(value.shape)} {value.dtype}: too large to carry in full")
        st.markdown(
            f"min `{number(s.min, precision)}` · max `{number(s.max, precision)}` · "
            f"mean `{number(s.mean, precision)}`"
        )
        st.markdown("first: `" + ", ".join(number(v, precision) for v in s.head) + "`")
        return
    if not value.shape:
        st.markdown(f"`{number(value.data, 8)}`  ({value.dtype})")
        return
    if len(value.shape) == 2 and value.numel <= 400 and isinstance(value.data, list):
        matrix: list[list[Any]] = value.data
        fig = heatmap_figure(
            matrix,
            meta={"kind": "heatmap", "title": what},  # headed by the page, not drawn
            precision=precision,
            font_size=display.font_size,
        )
        show_figure(fig, display, theme=None)
        return
    items = elements(value) or []
    rows: dict[str, list[Any]] = {
        "index": [index_text(value.shape, i) for i in range(len(items))],
        "value": [v if isinstance(v, (int, float)) else str(v) for v in items],
    }
    st.dataframe(rows, hide_index=True, width="stretch")


def _about(node: Node) -> None:
    facts = [f"**kind** {node.kind}", f"**shape** {shape_text(node.shape)}"]
    if node.dtype:
        facts.append(f"**dtype** {node.dtype}")
    if node.line is not None:
        facts.append(f"**line** {node.line}")
    if node.module:
        facts.append(f"**module** `{node.module}`")
    st.markdown(" · ".join(facts))
    if node.kind == "op":
        st.markdown(f"**grad_fn** `{node.op}`")
    elif node.kind == "leaf":
        st.markdown("**grad_fn** none: a leaf, its gradient accumulates in `.grad`")
    else:
        st.markdown("**grad_fn** none: a constant, autograd does not track it")
    flags = [f for f in node.flags if f != "output"]
    if flags:
        st.caption("flags: " + ", ".join(flags))


def _saved(node: Node, display: Display) -> None:
    if node.kind != "op":
        return
    st.markdown("**Saved for backward**")
    if not node.saved:
        st.caption("nothing saved (or already freed by backward)")
        return
    for key, saved in node.saved.items():
        text = saved if isinstance(saved, str) else tensor_text(saved, display.render.precision, 8)
        st.markdown(f"`{key}`: `{text}`")


def _chain(graph: Graph, node: Node, display: Display) -> None:
    st.markdown("**Chain rule here**")
    found = last_step_at(graph, node.id)
    if found is None:
        st.caption("No backward call passed through this node.")
        return
    call_index, index = found
    step = backward_step(graph, call_index, index)  # as the step-through shows it
    precision = display.render.precision
    st.markdown(
        f"In backward call {call_index + 1}, the gradient arriving here "
        f"(d root / d this) was `{tensor_text(step.grad_in, precision, 8)}`."
    )
    if node.kind != "op":
        st.caption("A leaf: the arriving gradient is added into its .grad.")
        return
    sends = [s for s in step.sends if s.to is not None]
    if not sends:
        st.caption("This operation sent no gradients on (no input needs one).")
    for send in sends:
        name = graph.display_names.get(send.to or "", "an input")
        sent = tensor_text(send.grad, precision, 8)
        st.markdown(f"→ input {send.position} **{name}**: gradient sent `{sent}`")
        if send.local is None:
            why = send.reason or "no gradient sent"
            st.caption(f"local derivative: not computed — {why}")
            continue
        st.markdown(
            "local derivative, as (gradient sent to this input) ÷ (gradient arriving), "
            f"elementwise: `{tensor_text(send.local, precision, 8)}`"
        )
    if any(send.local is not None for send in sends):  # says what the ratios shown are
        st.caption(
            "For an elementwise operation the local derivative d(this)/d(input) is this "
            "ratio; a matrix product or a reduction mixes elements, so no single ratio is its "
            "derivative."
        )


def returned_gradient(graph: Graph, node_id: str) -> TensorValue | None:
    """What the last autograd.grad call for ``node_id`` returned for it, if one did."""
    for call in reversed(graph.backward_calls):
        if node_id in call.inputs:
            returned = call.results[call.inputs.index(node_id)]
            if returned is not None:
                return returned
    return None


NODE_PARAM = "node"
"""Query parameter of the node inspected (left out for the default one)."""


def _fingerprint(graph: Graph) -> str:
    """Short and the same for the same graph: what its nodes are."""
    text = repr([(n.id, n.kind, n.op, n.name, n.label) for n in graph.nodes])
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


LIST_ALL_UP_TO = 1_000
"""Graphs up to this many nodes list all of them for inspection; bigger ones list the nodes
drawn (a select box of 10,000 options is sent to the browser on every rerun)."""


def listed_nodes(graph: Graph, drawn: Graph) -> list[str]:
    """The ids the inspector offers: every node, or for a big graph those ``drawn`` shows
    (its collapsed groups are not nodes of ``graph``), else the default node."""
    if len(graph.nodes) <= LIST_ALL_UP_TO:
        return [n.id for n in graph.nodes]
    ids = [n.id for n in drawn.nodes if n.id in graph.by_id]
    return ids or [default_node(graph)]


def inspector_panel(graph: Graph, display: Display, drawn: Graph) -> None:
    """Pick a node (of those ``drawn``, for a big graph); see everything gradviz recorded
    about it."""
    if not graph.nodes:
        return
    nodes = graph.by_id
    names = graph.display_names
    ids = listed_nodes(graph, drawn)
    default = default_node(graph)
    linked = st.query_params.get(NODE_PARAM)
    if state.NODE not in st.session_state and linked in ids:
        st.session_state[state.NODE] = linked  # a shared link opens on its node
    if st.session_state.get(state.NODE) not in ids:
        st.session_state[state.NODE] = default if default in ids else ids[0]
    if len(ids) < len(nodes):
        st.caption(
            f"Listing the {len(ids):,} nodes drawn of {len(nodes):,}: find a node or expand a "
            "group above to inspect another."
        )
    # One picker per graph: with one key for every program, the browser kept showing the
    # previous program's label for a node id both have (`y = add (n10)` over a pow node).
    picker = f"{state.NODE}:{_fingerprint(graph)}"
    st.session_state[picker] = st.session_state[state.NODE]
    node_id = st.selectbox(
        "Inspect a node",
        ids,
        format_func=names.__getitem__,
        key=picker,
        on_change=lambda: st.session_state.update({state.NODE: st.session_state[picker]}),
    )
    node = nodes[node_id or ids[0]]
    links.to_link(NODE_PARAM, None if node.id == default else node.id)  # plain link stays plain
    _about(node)
    left, right = st.columns(2)
    with left:
        show_tensor(node.value, "Value", display, "no value recorded")
    with right:
        returned = returned_gradient(graph, node.id)
        if node.grad is None and returned is not None:
            show_tensor(returned, "Returned by autograd.grad (.grad stays None)", display, "none")
        else:
            what = "Gradient (.grad)" if node.kind == "leaf" else "Gradient (d root / d this)"
            show_tensor(node.grad, what, display, "no gradient: no backward call reached it")
    _saved(node, display)
    _chain(graph, node, display)
