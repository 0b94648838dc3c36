"""A few steps of SGD

Each step: zero the gradients, compute the loss, backward, then step moves x against its
gradient (x ← x − lr·2x), so the loss shrinks.
"""

import torch

x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
opt = torch.optim.SGD([x], lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = (x ** 2).sum()          # smallest at x = 0
    loss.backward()                # x.grad = 2x
    opt.step()                     # x = x - 0.1 * x.grad
    print("step", step, "loss", loss.item())
print(x)
