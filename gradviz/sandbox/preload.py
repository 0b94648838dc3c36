"""What the fork server imports and warms once, so that every child starts ready.

A child is confined before the program runs: Landlock then keeps it from reading gradviz's
own folder, so every gradviz module a run needs is imported here first. torch still imports
some of its submodules lazily (reads under site-packages stay allowed); the warm-up program
makes it import the common ones now instead of in every child.
"""

from __future__ import annotations

import sys

import numpy  # noqa: F401
import torch
import torch._dynamo
import torch.autograd.forward_ad
import torch.func
import torch.utils.data  # noqa: F401

import gradviz.capture.build
import gradviz.capture.replay
import gradviz.model.wire
import gradviz.sandbox.audit
import gradviz.sandbox.confine
import gradviz.sandbox.failure  # noqa: F401
import gradviz.sandbox.program as program
from gradviz.sandbox.request import Request

WARM_UP = """
import math, random, functools, dataclasses, collections, itertools
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.functional import jacobian
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
    def forward(self, x):
        return F.relu(self.fc(x)).sum()
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
x = torch.randn(4, 3, requires_grad=True)
loss = net(x)
loss.backward(retain_graph=True)
opt.step()
opt.zero_grad()
print(x, loss, f"{loss.item():.3f}")
jacobian(lambda v: v * 2, torch.ones(2))
torch.func.grad(lambda v: (v ** 2).sum())(torch.ones(2))
import torch.autograd.forward_ad as fwAD
with fwAD.dual_level():
    fwAD.unpack_dual(fwAD.make_dual(torch.ones(2), torch.ones(2)) * 2)
loss
"""


def warm_up() -> None:
    """Run a small program of gradviz's own in this process (trusted text, not a user's)."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        result = program.run_request(Request(WARM_UP))
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    if not result["ok"]:
        raise RuntimeError(f"the sandbox's warm-up program failed: {result['error']}")
