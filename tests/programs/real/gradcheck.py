"""torch.autograd.gradcheck on a custom Function, in double precision."""
import torch
from torch.autograd import gradcheck, gradgradcheck


class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s * (1 - s)


x = torch.randn(4, dtype=torch.double, requires_grad=True)
print("gradcheck:", gradcheck(Sigmoid.apply, (x,), eps=1e-6, atol=1e-4))
print("gradgradcheck:", gradgradcheck(Sigmoid.apply, (x,)))
y = Sigmoid.apply(x)
y.sum().backward()
print(torch.allclose(x.grad, torch.sigmoid(x) * (1 - torch.sigmoid(x))))
