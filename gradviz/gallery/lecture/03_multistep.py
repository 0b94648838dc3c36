"""Several steps to a mean

y = 3x + 2, z = 2y², out = mean(z) = 140. The chain rule multiplies the local derivatives
back along the path: d out / d x = 4y · 3 / 6 = 2y.
"""

import torch

x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
y = 3 * x + 2
z = 2 * y ** 2
out = z.mean()
out.backward()
print(out)        # 140
print(x.grad)     # 2 * y
