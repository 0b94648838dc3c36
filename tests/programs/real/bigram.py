"""makemore's bigram model as a neural net: one weight matrix, a few gradient steps."""
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(2147483647)
vocab = 8
xs = torch.randint(0, vocab, (32,), generator=g)
ys = torch.randint(0, vocab, (32,), generator=g)
W = torch.randn((vocab, vocab), generator=g, requires_grad=True)

for k in range(5):
    xenc = F.one_hot(xs, num_classes=vocab).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(32), ys].log().mean() + 0.01 * (W**2).mean()
    W.grad = None
    loss.backward()
    W.data += -10 * W.grad
    print(f"step {k}: loss {loss.item():.4f}")
