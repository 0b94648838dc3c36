"""backward() on a vector

A vector output has no single gradient: backward(v) weights each output's gradient by v, so
x.grad = vᵀ·(dz/dx).
"""

import torch

x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
y = x + 2
z = 2 * y ** 2                    # a vector: z.backward() alone would fail
weights = torch.tensor([1.0, 0.1, 0.01])
z.backward(weights)
print(x.grad)                     # 4 * y * weights
