"""A custom autograd.Function: exp, with the backward written by hand."""
import torch


class MyExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


x = torch.tensor([0.0, 0.5, 1.0], requires_grad=True)
y = MyExp.apply(x)
loss = (y * torch.tensor([1.0, 2.0, 3.0])).sum()
loss.backward()
print(type(y.grad_fn).__name__)
print(x.grad)
