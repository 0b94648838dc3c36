"""Real models and big graphs: four programs for gradviz.run, in the interpreter's subset.

They use only ``torch``, ``torch.nn`` and ``torch.nn.functional``, module construction and
calls, and ``for`` loops over ``range`` (no ``class``). Their graphs are larger than a screen:
``gradviz.graph.collapse.fit_budget`` makes a view of them (modules collapsed, chains folded).
"""

from __future__ import annotations

MLP_TRAINING = """\
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
"""

SMALL_CNN = """\
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
"""

TRANSFORMER_BLOCK = """\
import torch
import torch.nn as nn

torch.manual_seed(0)
block = nn.ModuleDict({
    "norm1": nn.LayerNorm(8),
    "attn": nn.MultiheadAttention(8, num_heads=2, batch_first=True),
    "norm2": nn.LayerNorm(8),
    "mlp": nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8)),
})
tokens = torch.randn(1, 5, 8)

h = block["norm1"](tokens)
attended, weights = block["attn"](h, h, h)
x = tokens + attended
x = x + block["mlp"](block["norm2"](x))
loss = x.pow(2).mean()
loss.backward()
print(weights)
print(loss)
"""

DEEP_CHAIN = """\
import torch

torch.manual_seed(0)
W = (torch.randn(4, 4) * 0.5).requires_grad_()
b = torch.zeros(4, requires_grad=True)
y = torch.randn(1, 4)
for i in range(2000):
    y = torch.tanh(y @ W + b)
loss = y.sum()
loss.backward()
print(W.grad)
"""

STACKED_BLOCKS = """\
import torch
import torch.nn as nn

torch.manual_seed(0)
layers = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(6)])
x = torch.randn(4, 8)
loss = layers(x).pow(2).mean()
loss.backward()
print(loss)
"""

BIG_EXAMPLES: dict[str, str] = {
    "mlp_training": MLP_TRAINING,
    "small_cnn": SMALL_CNN,
    "transformer_block": TRANSFORMER_BLOCK,
    "deep_chain": DEEP_CHAIN,
    "stacked_blocks": STACKED_BLOCKS,
}
"""Program text by key."""

MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "mlp_training": ("model",),
    "small_cnn": ("features", "classifier"),
    "transformer_block": ("block",),
    "deep_chain": (),
    "stacked_blocks": ("layers",),
}
"""The variables each program binds its modules to (their parameters are named by path)."""
