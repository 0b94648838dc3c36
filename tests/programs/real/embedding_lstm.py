"""Next-token logits from an Embedding and an LSTM over a tiny batch of token ids."""
import torch
from torch import nn

vocab, dim, hidden = 10, 4, 5
emb = nn.Embedding(vocab, dim)
rnn = nn.LSTM(dim, hidden, batch_first=True)
head = nn.Linear(hidden, vocab)

tokens = torch.randint(0, vocab, (2, 3))
out, (h, c) = rnn(emb(tokens))
logits = head(out[:, -1])
loss = nn.functional.cross_entropy(logits, tokens[:, 0])
loss.backward()
print(loss.item(), emb.weight.grad.abs().sum().item())
