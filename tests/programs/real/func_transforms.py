"""torch.func: grad, jacrev and vmap, composable function transforms."""
import torch
from torch.func import grad, jacrev, vmap


def f(x):
    return (x.sin() * x).sum()


x = torch.tensor([0.1, 0.7, -1.2])
df = grad(f)(x)
print("grad:", df)
print("matches:", torch.allclose(df, x.cos() * x + x.sin()))

J = jacrev(torch.sin)(x)
print("jacrev:", J)

batch = torch.randn(4, 3)
per_row = vmap(grad(f))(batch)
print("vmap(grad):", per_row)
dots = vmap(torch.dot)(batch, batch)
print("vmap(dot):", dots)
