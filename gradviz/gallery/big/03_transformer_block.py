"""A transformer block: attention, MLP, layer norm

LayerNorm, MultiheadAttention and an MLP with residual connections, in torch.nn. Attention
alone is 33 operations: collapse block.attn to see the block's shape.
"""

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
