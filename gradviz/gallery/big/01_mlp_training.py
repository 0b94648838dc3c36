"""A two-layer MLP, trained for three steps

nn.Sequential(Linear, Tanh, Linear) and SGD: each step builds a new graph, and the
parameters are named by their path (model.0.weight). Collapse model.0 under 'Modules, groups
and search' to see it as one node with its gradient norm.
"""

import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(16, 4)
target = x.sum(dim=1, keepdim=True)

for step in range(3):
    optimizer.zero_grad()
    prediction = model(x)
    loss = ((prediction - target) ** 2).mean()
    loss.backward()
    optimizer.step()
    print(step, loss.item())
