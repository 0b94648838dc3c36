"""Gradients add up until zeroed

Every backward() adds into .grad instead of replacing it; retain_graph=True keeps the graph
for another pass, and grad.zero_() starts again from zero.
"""

import torch

w = torch.randn(4, requires_grad=True)
total = (2 * w).sum()
for step in range(3):
    total.backward(retain_graph=True)
    print("after backward", step + 1, w.grad)   # 2, then 4, then 6
w.grad.zero_()
print("after zero_()", w.grad)
