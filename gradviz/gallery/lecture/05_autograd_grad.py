"""torch.autograd.grad

autograd.grad returns the gradient instead of storing it: w.grad stays None.
"""

import torch

w = torch.rand(5, requires_grad=True)
s = (w ** 2).sum()
g = torch.autograd.grad(s, w)[0]   # d s / d w = 2w, returned
print(g)
print(w.grad)                      # still None: nothing was accumulated
