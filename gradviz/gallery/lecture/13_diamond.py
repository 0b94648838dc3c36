"""A diamond: one tensor used twice

a feeds two paths that meet again in d; backward adds the gradients of both paths: d d / d a
= 2 + 2a = 8.
"""

import torch

a = torch.tensor(3.0, requires_grad=True)
b = a * 2                         # path one
c = a ** 2                        # path two
d = b + c                         # the paths meet
d.backward()
print(a.grad)                     # 2 + 2 * a = 8
