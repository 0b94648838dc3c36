"""A 2,000-layer chain

y = tanh(y @ W + b) two thousand times: 6,004 nodes, too many to draw, so the chain is
folded into one node. Its gradient norm, at the fold's first and last operation, shows the
gradient vanishing. Expand the fold or find a node.
"""

import torch

torch.manual_seed(0)
W = (torch.randn(4, 4) * 0.5).requires_grad_()
b = torch.zeros(4, requires_grad=True)
y = torch.randn(1, 4)
for _ in range(2000):
    y = torch.tanh(y @ W + b)
loss = y.sum()
loss.backward()
print(W.grad)
