"""Names of the per-session state: widget keys (also the URL's query parameters)."""

from __future__ import annotations

CODE = "code"
"""The program text (query parameter ``code``)."""
EXAMPLE = "example"
RUN = "run"
NODE = "node"
PLOT_INPUT = "plot_input"
PLOT_OUTPUT = "plot_output"
POINT = "point"
POINT_FOR = "point_for"
"""What the point slider was set up for: (program, input); a change resets the point."""
LAST_GOOD = "last_good"
"""(program, Graph) of the last run that succeeded, shown (marked stale) after a failure."""
