"""Six identical blocks: fold them ×6

nn.Sequential of six Linear+Tanh blocks. Under 'Modules, groups and search', tick 'Fold
repeated blocks' to draw the six as one node (×6).
"""

import torch
import torch.nn as nn

torch.manual_seed(0)
layers = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(6)])
x = torch.randn(4, 8)
loss = layers(x).pow(2).mean()
loss.backward()
print(loss)
