"""Stopping the tracking

detach(), torch.no_grad() and requires_grad_(False) each cut the graph: values still flow
forward, gradients do not flow back.
"""

import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
kept = x * 2                      # tracked
frozen = x.detach() * 2           # same numbers, no history
with torch.no_grad():
    quiet = x * 2                 # nothing recorded inside no_grad
b = torch.ones(3, requires_grad=True)
b.requires_grad_(False)           # tracking switched off in place

loss = (kept * frozen + quiet + b).sum()
loss.backward()
print(x.grad)                     # only the tracked path counts: 2 * frozen
