"""Adam: steps that are not lr · grad

Adam divides a running mean of the gradient by a running size of it, so its steps stay about
lr = 0.2 long while the slope falls from 16 to almost 0 (SGD's first step, lr · grad, would
be 3.2).
"""

import torch

w = torch.tensor(3.0, requires_grad=True)
opt = torch.optim.Adam([w], lr=0.2)
for step in range(12):
    opt.zero_grad()
    loss = 4 * (w - 1) ** 2        # smallest at w = 1; slope 8 (w - 1)
    loss.backward()
    opt.step()                     # moves w by about 0.2, whatever the slope
    print("step", step, "w", round(w.item(), 3), "slope", round(w.grad.item(), 2))
