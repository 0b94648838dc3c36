"""A custom Function of two inputs that computes only the gradients asked for."""
import torch


class MulAdd(torch.autograd.Function):
    """out = a * b + b"""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b + b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = grad_out * b
        if ctx.needs_input_grad[1]:
            grad_b = grad_out * (a + 1)
        print("needs_input_grad:", ctx.needs_input_grad)
        return grad_a, grad_b


a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = torch.tensor([0.5, -1.0, 2.0])
w = torch.tensor([2.0, -3.0, 4.0], requires_grad=True)
out = MulAdd.apply(a, b) + MulAdd.apply(w, a)
total = out.sum()
total.backward()
print(a.grad, w.grad)
