"""A two-layer network as an nn.Module subclass, one forward and one backward."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)


net = Net()
x = torch.randn(5, 3)
target = torch.randn(5, 1)
pred = net(x)
loss = F.mse_loss(pred, target)
loss.backward()
print(f"loss = {loss.item():.6f}")
print(net.fc1.weight.grad)
