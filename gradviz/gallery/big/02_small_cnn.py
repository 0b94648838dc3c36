"""A small CNN: convolution, pooling, linear

Conv2d → ReLU → MaxPool2d, then a Linear layer and cross-entropy. The operations of each
module are drawn in a box named by the module's path.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
features = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
classifier = nn.Linear(4 * 4 * 4, 3)
image = torch.randn(1, 1, 8, 8)
label = torch.tensor([2])

maps = features(image)
logits = classifier(maps.flatten(1))
loss = F.cross_entropy(logits, label)
loss.backward()
print(logits)
print(loss)
