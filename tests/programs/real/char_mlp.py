"""makemore's MLP: embeddings, a tanh hidden layer, cross-entropy, manual SGD."""
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(2147483647)
vocab, block, emb, hidden = 10, 3, 2, 16
X = torch.randint(0, vocab, (24, block), generator=g)
Y = torch.randint(0, vocab, (24,), generator=g)
C = torch.randn((vocab, emb), generator=g)
W1 = torch.randn((block * emb, hidden), generator=g) * 0.2
b1 = torch.randn(hidden, generator=g) * 0.01
W2 = torch.randn((hidden, vocab), generator=g) * 0.1
b2 = torch.randn(vocab, generator=g) * 0
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

for i in range(3):
    ix = torch.randint(0, X.shape[0], (8,), generator=g)
    embedded = C[X[ix]]
    hpre = embedded.view(-1, block * emb) @ W1 + b1
    h = torch.tanh(hpre)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Y[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    for p in parameters:
        p.data += -0.1 * p.grad
    print(f"{i}: {loss.item():.4f}")
