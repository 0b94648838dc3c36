"""grad_outputs: vector-Jacobian products

For a non-scalar y, autograd.grad needs grad_outputs=v and returns vᵀ·(dy/dx). A one-hot v
picks one row of the Jacobian; create_graph=True gives the gradient its own graph.
"""

import torch

x = torch.tensor([[1.0], [2.0]], requires_grad=True)
W = torch.tensor([[2.0, -1.0], [0.5, 3.0]], requires_grad=True)
y = W @ x                        # 2x1: no implicit gradient

v = torch.tensor([[1.0], [0.0]])
row0 = torch.autograd.grad(y, x, grad_outputs=v, retain_graph=True)[0]
print(row0)                      # W^T v: the first row of W

ones = torch.ones(2, 1)
g = torch.autograd.grad(y, x, grad_outputs=ones, create_graph=True)[0]
print(g)                         # W^T 1, itself differentiable in W
