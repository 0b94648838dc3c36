"""Every Plotly figure goes on the page through ``show_figure``: on a projector its text is
large and dark (Streamlit's theme draws ticks light grey), and Plotly's toolbar never covers
a legend."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from gradviz.app.options import Display

PROJECTOR_TEXT = "#111111"

# The toolbar appears over the top right on hover, where legends and titles sit; zoom, pan
# and the PNG download stay reachable from the scroll wheel, a drag and right-click.
_CONFIG = {"displayModeBar": False}


def show_figure(figure: go.Figure, display: Display, **kwargs: Any) -> None:
    """``st.plotly_chart(figure, width="stretch", **kwargs)``, styled for ``display``."""
    if display.presentation:
        size = display.font_size
        text = {"size": size, "color": PROJECTOR_TEXT}
        figure.update_layout(font=text, legend_font=text, title_font={**text, "size": size + 2})
        for axes in (figure.update_xaxes, figure.update_yaxes):
            axes(tickfont=text, title_font=text, linecolor=PROJECTOR_TEXT)
    st.plotly_chart(figure, width="stretch", config=_CONFIG, **kwargs)
