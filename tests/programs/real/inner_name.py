"""A tensor named inside a function keeps the name its caller gives it."""
import torch


def f(a):
    b = a * 2 + 1
    return b


a = torch.tensor([1.0, 2.0], requires_grad=True)
d = f(a)
e = (d**2).sum()
e.backward()
print(d, a.grad)
