"""register_hook on tensors: see (and change) the gradient flowing through them."""
import torch

seen = []
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = x * 2
h.register_hook(lambda g: seen.append(g.clone()))
x.register_hook(lambda g: g * 10)  # the leaf's gradient is scaled before accumulation
out = (h**2).sum()
out.backward()
print(seen[0])
print(x.grad)
