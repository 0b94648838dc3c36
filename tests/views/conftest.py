"""The recorded model the view tests share."""

from __future__ import annotations

import pytest
from torch import nn

from gradviz.model.graph import Graph
from tests.graphs import recorded_stack


@pytest.fixture(scope="module")
def stack() -> tuple[nn.Module, Graph]:
    return recorded_stack()
