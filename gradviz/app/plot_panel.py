"""The plot panel: pick an input element and an output, move the point, see both slopes."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gradviz.app import links, state
from gradviz.app.actions import actions_for
from gradviz.app.figures import show_figure
from gradviz.app.options import Display
from gradviz.app.rerun_time import BUDGET, seconds_per_run
from gradviz.app.runs import SEED, run_program, runner
from gradviz.model.format import number
from gradviz.model.graph import Graph
from gradviz.render.plots import curve_figure
from gradviz.sandbox.pool import shared_pool
from gradviz.teach.curve import (
    InputChoice,
    OutputChoice,
    Overrides,
    compute_curve,
    curve_values,
    default_choices,
    input_choices,
    input_value,
    output_choices,
    window,
)

CURVE_RUNS = 28
"""Runs behind one curve: its points, two for the finite difference, one for the slope."""
CURVE_BUDGET = BUDGET
"""Seconds the curve may take on a first draw; slower programs get no curve."""


@dataclass(frozen=True)
class Point:
    """Where on which curve: the input element, the output, and x."""

    inp: InputChoice
    out: OutputChoice
    base_x: float
    """The value the program itself gives the input element."""
    x: float
    xs: tuple[float, ...]

    @property
    def overrides(self) -> Overrides | None:
        """The override that moves the program to x (None at the program's own value)."""
        if self.x == self.base_x:
            return None
        return {self.inp.seq: {self.inp.index: self.x}}


def _valid(key: str, options: list[str], default: str) -> None:
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def _linked_point(xs: tuple[float, ...], step: float) -> float | None:
    """The point a shared link opened with, on the slider's grid (None: none, or outside)."""
    try:
        value = float(links.from_link(links.POINT) or "nan")
    except ValueError:
        return None
    if not xs[0] <= value <= xs[-1]:
        return None
    return xs[0] + round((value - xs[0]) / step) * step


def _reset_point() -> None:
    st.session_state.pop(state.POINT_FOR, None)


def point_controls(source: str, graph: Graph) -> Point | None:
    """The input/output pickers and the slider that moves the point (re-running the program).

    Args:
        source: The program (the one that gave ``graph``).
        graph: Its plain run, without overrides.
    """
    seconds = seconds_per_run(source)
    if seconds * CURVE_RUNS / shared_pool().workers > CURVE_BUDGET:  # they run in parallel
        st.caption(
            f"No curve: each run of this program takes {seconds:.1f} s, and the curve needs "
            f"about {CURVE_RUNS} of them."
        )
        return None
    inputs, outputs = input_choices(graph), output_choices(graph)
    defaults = default_choices(graph)
    if defaults is None:
        st.caption(
            "No curve to plot: it needs a floating-point leaf with requires_grad=True and an "
            "output computed from it."
        )
        return None
    in_by_label = {c.label: c for c in inputs}
    out_by_label = {c.label: c for c in outputs}
    for key, param in ((state.PLOT_INPUT, links.INPUT), (state.PLOT_OUTPUT, links.OUTPUT)):
        linked = links.from_link(param)  # a shared link opens on the same curve
        if linked is not None:
            st.session_state[key] = linked
    _valid(state.PLOT_INPUT, list(in_by_label), defaults[0].label)
    _valid(state.PLOT_OUTPUT, list(out_by_label), defaults[1].label)
    left, right = st.columns(2)
    with left:
        in_label = st.selectbox(
            "Input x (one element of a leaf)", list(in_by_label), key=state.PLOT_INPUT
        )
    with right:
        out_label = st.selectbox("Output f", list(out_by_label), key=state.PLOT_OUTPUT)
    inp, out = in_by_label[in_label or ""], out_by_label[out_label or ""]
    base = input_value(graph, inp)
    if base is None:
        st.caption(f"{inp.label} has no finite value to start from.")
        return None
    xs = tuple(window(base))
    step = (xs[-1] - xs[0]) / 100
    marker = (source, inp.label)
    if st.session_state.get(state.POINT_FOR) != marker:
        st.session_state[state.POINT_FOR] = marker
        point = _linked_point(xs, step)
        st.session_state[state.POINT] = base if point is None else point
    x = st.slider(
        f"Move the point: {inp.label} =",
        min_value=xs[0],
        max_value=xs[-1],
        step=step,
        format="%.4g",
        key=state.POINT,
        help="Re-runs the program with this value; the graph shows that run.",
    )
    st.button(f"Back to {inp.label} = {number(base)}", key="point_reset", on_click=_reset_point)
    links.to_link(links.INPUT, None if inp.label == defaults[0].label else inp.label)
    links.to_link(links.OUTPUT, None if out.label == defaults[1].label else out.label)
    links.to_link(links.POINT, None if float(x) == base else format(float(x), ".6g"))
    return Point(inp=inp, out=out, base_x=base, x=float(x), xs=xs)


@st.cache_data(max_entries=256, show_spinner=False)
def _curve_ys(
    source: str, seed: int, inp: InputChoice, out: OutputChoice, xs: tuple[float, ...]
) -> list[float | None]:
    workers = shared_pool().workers
    return curve_values(
        source, inp, out, xs, runner(seed, cached=False, background=True), workers=workers
    )


def curve_panel(source: str, graph: Graph, point: Point, display: Display) -> None:
    """The figure (curve, tangent, point) and the two slopes side by side.

    Args:
        source: The program.
        graph: Its run at the point (with the override).
        point: What the controls chose.
        display: For precision and font size.
    """
    ys = _curve_ys(source, SEED, point.inp, point.out, point.xs)
    curve = compute_curve(
        source, graph, point.inp, point.out, point.x, runner(), xs=point.xs, ys=ys
    )
    precision = display.render.precision
    fig = curve_figure(
        curve.xs,
        curve.ys,
        x=curve.x,
        y=curve.y,
        slope=curve.autograd.value,
        fd_slope=curve.finite_difference.value,
        x_label=curve.input_label,
        y_label=curve.output_label,
        precision=precision,
        font_size=display.font_size,
    )
    show_figure(fig, display)
    auto, fd = curve.autograd, curve.finite_difference
    left, right = st.columns(2)
    left.metric("autograd slope", "—" if auto.value is None else number(auto.value, precision))
    left.caption(auto.how)
    right.metric("finite difference", "—" if fd.value is None else number(fd.value, precision))
    right.caption(fd.how)
    if auto.value is not None and fd.value is not None:
        scale = max(1.0, abs(auto.value))
        if abs(auto.value - fd.value) > 1e-2 * scale:
            st.caption(
                "The two slopes differ: autograd follows only tracked operations (detach, "
                "no_grad and in-place changes are invisible to it), or the function is not "
                "smooth here."
            )


def graph_at(source: str, graph: Graph, point: Point | None) -> Graph:
    """The program's graph at the point: a rerun with the override (the plain run if none,
    or if the program fails there, with a warning saying so)."""
    if point is None or point.overrides is None:
        return graph
    outcome = run_program(source, point.overrides, actions=actions_for(source))
    if outcome.graph is not None:
        return outcome.graph
    why = outcome.failure.text() if outcome.failure else "no graph"
    st.warning(
        f"At {point.inp.label} = {number(point.x)} the program fails ({why}); "
        "showing its own values."
    )
    return graph
