"""What autograd saves for backward, and hooks on packing and unpacking it."""
import torch

x = torch.randn(5, requires_grad=True)
y = x.pow(2)
print(y.grad_fn._saved_self is x)  # True: pow saved its input
print(y.grad_fn._saved_exponent)  # 2

packed = []


def pack_hook(t):
    packed.append(t.shape)
    return t.clone()


def unpack_hook(t):
    return t


with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
    z = (x * x).exp()
total = z.sum() + y.sum()
total.backward()
print(len(packed), "tensors were packed")
print(x.grad)
