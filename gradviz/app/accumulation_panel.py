"""Gradients accumulate: every leaf's .grad after each backward() and zeroing, with buttons
that press backward() again or zero the gradients on the current program without editing it."""

from __future__ import annotations

import streamlit as st

from gradviz.app import actions, state
from gradviz.app.options import Display
from gradviz.capture.replay import MAX_ACTIONS
from gradviz.model.format import tensor_text
from gradviz.model.graph import Graph
from gradviz.teach.accumulation import Accumulation, accumulation, can_repeat, freed_by

FIRST_COLUMN = "after"
MAX_COLUMNS = 12
"""Leaves shown as columns (a model's parameters beyond these are left out, and said so)."""


def applies(graph: Graph) -> bool:
    """Shown when the program calls backward() (the buttons then have something to repeat)
    or zeroes gradients."""
    return can_repeat(graph) or bool(accumulation(graph).rows)


def table_rows(table: Accumulation, precision: int) -> dict[str, list[str]]:
    """Columns of the table: what ran, then each leaf's .grad after it (text, as the graph
    writes tensors; ``None`` where .grad is None)."""
    columns: dict[str, list[str]] = {FIRST_COLUMN: [row.label for row in table.rows]}
    for leaf in table.leaves[:MAX_COLUMNS]:
        cells = []
        for row in table.rows:
            grad = row.grads.get(leaf.node)
            cells.append("None" if grad is None else tensor_text(grad, precision))
        columns[f"{leaf.label}.grad"] = cells
    return columns


def _buttons(source: str, graph: Graph) -> None:
    stale = st.session_state.get(state.CODE, source) != source  # showing the last good run
    pressed = actions.actions_for(source) if not stale else ()
    full = len(pressed) >= MAX_ACTIONS
    row = st.container(horizontal=True, gap="small")
    row.button(
        "Backward again",
        key="grads_backward_again",
        icon=":material/replay:",
        on_click=actions.press,
        args=(source, "backward"),
        disabled=stale or full or not can_repeat(graph),
        help="Runs the last backward() once more, with retain_graph=True, without editing "
        "the program: its gradients are added to .grad.",
    )
    row.button(
        "Zero grad",
        key="grads_zero",
        icon=":material/exposure_zero:",
        on_click=actions.press,
        args=(source, "zero_grad"),
        disabled=stale or full,
        help="grad.zero_() on every leaf, like optimizer.zero_grad(set_to_none=False).",
    )
    row.button(
        "Reset",
        key="grads_reset",
        icon=":material/undo:",
        on_click=actions.reset,
        disabled=not pressed,
        help="Drop the presses: back to the program as written.",
    )
    freed = freed_by(graph)
    if freed is not None and not pressed:
        where = f" (line {freed.line})" if freed.line is not None else ""
        st.caption(
            f"The last backward(){where} ran without `retain_graph=True`, so PyTorch freed "
            "the graph's saved tensors: **Backward again** will show PyTorch's refusal. Add "
            "`retain_graph=True` to that call to add up a second gradient."
        )
    if pressed:
        st.caption(
            f"{len(pressed)} press{'es' if len(pressed) > 1 else ''} replayed after the "
            "program (rows marked **button**); the program text is unchanged."
        )


def accumulation_panel(source: str, graph: Graph, display: Display) -> None:
    """The buttons, any refusal from PyTorch, and the table of .grad per step."""
    st.caption(
        "backward() adds into each leaf's `.grad` instead of replacing it; `grad.zero_()` or "
        "`optimizer.zero_grad()` starts again (the optimizer's default sets it to None)."
    )
    _buttons(source, graph)
    for note in graph.notes:
        if note.kind == "button":
            st.warning(note.text, icon=":material/block:")
    table = accumulation(graph)
    if not table.rows:
        st.caption("No backward() call has filled a `.grad` yet.")
        return
    st.dataframe(table_rows(table, display.render.precision), hide_index=True, width="stretch")
    if len(table.leaves) > MAX_COLUMNS:
        st.caption(f"The first {MAX_COLUMNS} of {len(table.leaves)} leaves are shown.")
