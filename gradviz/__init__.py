"""gradviz: see what PyTorch's autograd did, with every value and gradient.

- ``gradviz.run(source)`` runs a tutorial-style program safely and returns its Graph.
- ``gradviz.record()`` records trusted code in a ``with`` block.
- ``gradviz.draw(*tensors)`` is a drop-in superset of torchviz's ``make_dot``.
"""

from gradviz.api import draw, record
from gradviz.model.errors import (
    GradvizError,
    LimitExceeded,
    ProgramError,
    ProgramSyntaxError,
    RefusedError,
)
from gradviz.model.graph import Graph
from gradviz.render.dot import RenderOptions, to_dot
from gradviz.sandbox.limits import Limits
from gradviz.sandbox.run import run

__all__ = [
    "GradvizError",
    "Graph",
    "LimitExceeded",
    "Limits",
    "ProgramError",
    "ProgramSyntaxError",
    "RefusedError",
    "RenderOptions",
    "draw",
    "record",
    "run",
    "to_dot",
]
__version__ = "0.1.0"
