"""A small regression trained from a DataLoader over a TensorDataset."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

features = torch.randn(20, 3)
true_w = torch.tensor([[1.0], [-2.0], [0.5]])
labels = features @ true_w + 0.1 * torch.randn(20, 1)
dataset = TensorDataset(features, labels)
loader = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=0)

model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.5f}")
print(model.weight)
