import torch

# out = mean(2 * (3x + 2)^2): d out / d x = 1/6 * 4y * 3, which is 10 at x = 1
x = torch.tensor([[1.0, 2, 3], [3, 2, 1]], requires_grad=True)
y = 3 * x + 2
z = 2 * y**2
out = z.mean()
out.backward()
