"""An optimizer on the curve: a training loop's steps animated along the loss curve."""

from __future__ import annotations

import streamlit as st

from gradviz.app.figures import show_figure
from gradviz.app.options import Display
from gradviz.app.rerun_time import BUDGET, seconds_per_run
from gradviz.app.runs import SEED, runner
from gradviz.model.format import number
from gradviz.model.graph import Graph
from gradviz.render.teaching_plots import optimizer_animation
from gradviz.teach.optimizer import (
    OptimizerPath,
    ParameterChoice,
    grid,
    loss_curves,
    optimizer_path,
    parameter_choices,
)

PARAMETER = "optimizer_parameter"
"""Widget key: which parameter element the animation follows."""
POINTS = 21
"""Points of a loss curve, when the budget allows (at least MIN_POINTS)."""
MIN_POINTS = 9
MAX_STEPS = 60
"""Steps animated (the first ones); a longer loop is cut, and says so."""


def applies(graph: Graph) -> bool:
    """The program ran backward at least twice, and a leaf moved in between."""
    return bool(parameter_choices(graph))


def _points(source: str, steps: int, shared: bool) -> int | None:
    """Points per loss curve that fit the budget (None: not even MIN_POINTS do).

    One curve serves every step of a one-element parameter; otherwise each step has its own.
    """
    curves = 1 if shared else steps
    own = steps if shared else 1  # each step's own x is added to its curve
    seconds = seconds_per_run(source)
    points = int(BUDGET / max(seconds, 1e-9) / curves) - own
    return min(points, POINTS) if points >= MIN_POINTS else None


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(
    source: str, seed: int, path: OptimizerPath, seq: int, shared: bool, points: int
) -> list[tuple[list[float], list[float | None]]] | None:
    xs = grid(path, points)
    curves = loss_curves(
        source, path, seq, xs, runner(seed, cached=False, background=True), shared=shared
    )
    return None if curves is None else [(c.xs, c.ys) for c in curves]


def _choose(graph: Graph, choices: list[ParameterChoice]) -> ParameterChoice:
    """The element to follow: picked by the user, else the one that moved the most."""
    if len(choices) == 1:
        return choices[0]
    by_label = {c.label: c for c in choices}
    if st.session_state.get(PARAMETER) not in by_label:
        st.session_state[PARAMETER] = max(choices, key=lambda c: _travel(graph, c)).label
    label = st.selectbox("Parameter element to follow", list(by_label), key=PARAMETER)
    return by_label[label or choices[0].label]


def _travel(graph: Graph, choice: ParameterChoice) -> float:
    path = optimizer_path(graph, choice.node_id, choice.index)
    return 0.0 if path is None else abs(path.xs[-1] - path.xs[0])


def _cut(path: OptimizerPath, steps: int) -> OptimizerPath:
    return OptimizerPath(
        path.leaf,
        path.index,
        path.calls[:steps],
        path.xs[:steps],
        path.losses[:steps],
        path.grads[:steps],
        path.values[:steps],
    )


def optimizer_panel(source: str, graph: Graph, display: Display) -> None:
    """The animation (slider and play button) and a sentence on what a step did.

    Args:
        source: The program (re-run for the loss curve).
        graph: Its run.
        display: For precision and font size.
    """
    choice = _choose(graph, parameter_choices(graph))
    path = optimizer_path(graph, choice.node_id, choice.index)
    if path is None:
        st.caption(f"{choice.label} has no loss recorded at two backward calls.")
        return
    if len(path.xs) > MAX_STEPS:
        st.caption(f"The first {MAX_STEPS} of {len(path.xs)} steps.")
        path = _cut(path, MAX_STEPS)
    shared = len(path.values[0]) == 1
    points = _points(source, len(path.xs), shared)
    curves = None
    if points is not None:
        curves = _curves(source, SEED, path, choice.seq, shared, points)
        if curves is None:
            st.caption(
                "No loss curve: re-running the first step's loss at a later step's parameters "
                "does not give that step's loss (the loss changes from step to step), so there "
                "is no single curve to draw."
            )
    else:
        st.caption("No loss curve: the program takes too long to re-run at every point.")
    precision = display.render.precision
    figure = optimizer_animation(
        path.xs,
        path.losses,
        path.grads,
        curves,
        x_label=choice.label,
        precision=precision,
        font_size=display.font_size,
    )
    show_figure(figure, display, key="optimizer_animation")
    moves = path.xs[1] - path.xs[0]
    held = "" if shared else ", the other elements held where they were at that step"
    st.caption(
        f"Each frame is one backward call: the point is ({choice.label}, loss) there, the "
        f"tangent's slope is the gradient that call computed. Step 0 → 1 moved {choice.label} "
        f"by {number(moves, precision)} against a slope of {number(path.grads[0], precision)}. "
        f"The curve is the loss the program computes as {choice.label} moves{held}."
    )
