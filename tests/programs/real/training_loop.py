"""Train a small nn.Module subclass with Adam for four steps."""
import torch
from torch import nn


class Regressor(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


torch.manual_seed(42)
model = Regressor()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
loss_fn = nn.MSELoss()
X = torch.randn(16, 2)
y = X[:, :1] * 2 - X[:, 1:] + 0.5

losses = []
for step in range(4):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print([round(v, 5) for v in losses])
