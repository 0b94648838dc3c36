"""Second derivative: create_graph

create_graph=True makes autograd.grad return f′ as a tensor with a graph of its own;
differentiating that graph gives f″. f = x³ − 3x at x = 1.5: f′ = 3x² − 3 = 3.75, f″ = 6x =
9.
"""

import torch

x = torch.tensor(1.5, requires_grad=True)
f = x ** 3 - 3 * x
df = torch.autograd.grad(f, x, create_graph=True)[0]   # f' = 3x^2 - 3, with its own graph
d2f = torch.autograd.grad(df, x)[0]                     # f'' = 6x, through f's gradient graph
print("f =", f.item(), " f' =", df.item(), " f'' =", d2f.item())
