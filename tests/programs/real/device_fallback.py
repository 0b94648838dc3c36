"""Device selection code that falls back to the CPU."""
import torch

print(torch.cuda.is_available())
device = "cuda" if torch.cuda.is_available() else "cpu"
print("using", device)

x = torch.linspace(-1, 1, 5, device=device, requires_grad=True)
w = torch.ones(5).to(device).requires_grad_()
y = (w * x.sigmoid()).sum()
y.backward()
print(x.grad.device, w.grad)
