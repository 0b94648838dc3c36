"""How a Graph is drawn: DOT, the laid-out SVG and its interactive payload, and the plots."""
