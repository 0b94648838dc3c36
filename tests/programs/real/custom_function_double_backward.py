"""A custom Function whose backward is itself differentiable: the second derivative works."""
import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2  # made of differentiable ops


x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
y = Cube.apply(x).sum()
(dydx,) = torch.autograd.grad(y, x, create_graph=True)
print("first:", dydx)
second = dydx.sum()
second.backward()
print("second:", x.grad)  # 6 x
