"""torch.func.hessian of a loss with its data bound by functools.partial."""
import functools

import torch
from torch.func import hessian


def loss(w, X, y):
    return ((X @ w - y) ** 2).mean()


X = torch.randn(6, 3)
y = torch.randn(6)
w = torch.zeros(3)
H = hessian(functools.partial(loss, X=X, y=y))(w)
print(H)
print(torch.allclose(H, 2 * X.T @ X / 6, atol=1e-6))
