"""A polynomial and its slope

One scalar input, one scalar output: autograd's x.grad is the slope of the curve at x = 2
(8x³ + 3x² + 6x + 5 = 93). Move the point on the plot to see it change.
"""

import torch

# y = 2x^4 + x^3 + 3x^2 + 5x + 1, differentiated at x = 2
x = torch.tensor(2.0, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
print("y =", y)
print("dy/dx =", x.grad)
