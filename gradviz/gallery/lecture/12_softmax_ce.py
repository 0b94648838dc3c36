"""Softmax with cross-entropy

The gradient of cross-entropy with respect to the logits is softmax minus the one-hot label.
"""

import torch

logits = torch.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
label = torch.tensor([0])
loss = torch.nn.functional.cross_entropy(logits, label)
loss.backward()
probs = torch.softmax(logits.detach(), dim=1)
print(probs)
print(logits.grad)                # probs - [1, 0, 0]
