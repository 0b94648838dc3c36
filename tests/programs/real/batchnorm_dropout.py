"""A classifier with BatchNorm and Dropout: train mode, gradient clipping, an eval function."""
import torch
from torch import nn

model = nn.Sequential(
    nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)
)
X = torch.randn(6, 4)
labels = torch.tensor([0, 1, 2, 0, 1, 2])
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
for step in range(3):
    model.train()
    logits = model(X)
    loss = nn.functional.cross_entropy(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()


@torch.no_grad()
def accuracy(m):
    m.eval()
    return (m(X).argmax(dim=1) == labels).float().mean()


print(loss.item(), accuracy(model).item())
print(model[1].running_mean)
