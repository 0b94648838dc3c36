"""requires_grad and backward

Only tensors created with requires_grad=True (or switched on with requires_grad_()) are
leaves autograd tracks; backward() fills their .grad.
"""

import torch

a = torch.ones(3)                 # a plain tensor: not tracked yet
a.requires_grad_()                # switch tracking on, in place
b = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
print(a.requires_grad, b.requires_grad)

s = a * b + a                     # every operation records its grad_fn
loss = 0.5 * torch.sum(s ** 2)
loss.backward()                   # d loss / d a = s * (b + 1),  d loss / d b = s * a
print(a.grad)
print(b.grad)
