"""Gradient descent by hand

No optimizer: each step moves w against its gradient inside no_grad, then zeroes the
gradient. The loss (w − 3)² + 1 is a parabola, and w slides down to 3.
"""

import torch

w = torch.tensor(0.0, requires_grad=True)
lr = 0.2
for step in range(6):
    loss = (w - 3) ** 2 + 1       # smallest at w = 3
    loss.backward()               # w.grad = 2 (w - 3)
    with torch.no_grad():
        w -= lr * w.grad          # the update, untracked
    w.grad.zero_()
    print("step", step, "w", w.item(), "loss", loss.item())
