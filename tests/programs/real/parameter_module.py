"""Linear regression from scratch: nn.Parameter attributes set in __init__, trained by SGD."""
import torch
from torch import nn


class LinearRegression(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_features, 1) * 0.1)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x @ self.weight + self.bias


X = torch.randn(10, 2)
y = X @ torch.tensor([[2.0], [-1.0]]) + 0.5
model = LinearRegression(2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    loss = ((model(X) - y) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(epoch, round(loss.item(), 5))
print(dict(model.named_parameters()))
