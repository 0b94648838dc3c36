"""gradviz in the browser: the page ``streamlit run app.py`` and ``gradviz app`` show.

Layout and wiring only; the panels live in ``gradviz/app``. Data flows one way: the program
text gives a Graph (``shown_run.resolve``), the controls choose what of it to show, the panels
draw it.
"""

# plotly imports pandas lazily, and two script threads doing so at once see a half-imported
# module ("partially initialized module 'pandas'"): import it before any session draws.
import pandas  # noqa: F401
import streamlit as st

from gradviz.app import (
    about,
    downloads,
    editor,
    error_view,
    graph_panel,
    inspector,
    options,
    output_panel,
    plot_panel,
    shown_run,
    teaching,
    walkthrough,
)

# A link in presentation mode opens with the sidebar out of the way (the projector's width
# goes to the graph); the presenter can open it again.
presenting = st.query_params.get("present") == "true"
st.set_page_config(
    page_title="gradviz: see autograd",
    page_icon="∂",
    layout="wide",
    initial_sidebar_state="collapsed" if presenting else "auto",
)

with st.sidebar:
    st.title("gradviz")
    st.caption("See what PyTorch's autograd did: every value and every gradient.")
    display = options.options_panel()
    options.apply_style(display)  # page-wide CSS, emitted where it takes no room
    about.about_panel()

# The editor goes above the graph, wide enough for 80 columns; it is drawn once the run is
# over, so a failed run's line is marked in its gutter.
source = editor.program()
program_box = st.container()
view = shown_run.resolve(source)
with program_box:
    editor.editor_panel(source, view.failure, font_size=display.font_size)
if view.failure is not None:
    error_view.show_failure(view.failure, source, stale=view.stale)
if view.graph is not None:
    # On a projector the graph gets the full width, the curve goes below it.
    if display.presentation:
        graph_col, side_col = st.container(), st.container()
    else:
        graph_col, side_col = st.columns([3, 2], gap="large")
    with side_col:
        st.subheader("Curve and tangent")
        figure_box = st.container()
        point = plot_panel.point_controls(view.source, view.graph)
        shown = plot_panel.graph_at(view.source, view.graph, point)
    with graph_col:
        st.subheader("Graph")
        walk = walkthrough.walk_controls(shown, display.render)
        drawn = graph_panel.graph_panel(
            walk.graph,
            walk.render,
            walk.overlay,
            stale=view.stale,
            fill=display.presentation,
            on_step=walk.step_by(),
        )
        with error_view.guarded("the step-through"):
            walkthrough.walk_details(shown, walk, display)
        downloads.downloads_panel(shown, drawn.dot, drawn.svg)
    with side_col:
        if point is not None:
            with figure_box, error_view.guarded("the curve"):
                plot_panel.curve_panel(view.source, shown, point, display)
        st.subheader("Output")
        output_panel.output_panel(shown)
    teaching.teaching_panels(view.source, shown, display)
    st.subheader("Inspector")
    with error_view.guarded("the inspector"):
        inspector.inspector_panel(shown, display, drawn.graph)
