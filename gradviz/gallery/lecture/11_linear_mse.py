"""A linear layer with MSE loss

nn.Linear's weight and bias are leaves (set by hand here); the mean squared error's gradient
flows back through addmm to both.
"""

import torch

layer = torch.nn.Linear(3, 1)
with torch.no_grad():              # set the parameters by hand, untracked
    layer.weight.copy_(torch.tensor([[0.5, -1.0, 0.25]]))
    layer.bias.fill_(0.1)
inputs = torch.tensor([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
target = torch.tensor([[1.0], [0.0]])
pred = layer(inputs)               # [[1.1], [1.6]]
loss = torch.nn.functional.mse_loss(pred, target)
loss.backward()
print(loss)                        # (0.1² + 1.6²) / 2 = 1.285
print(layer.weight.grad)           # 0.1·[1, 0, 2] + 1.6·[0.5, -1, 1]
print(layer.bias.grad)
