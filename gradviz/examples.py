"""The example gallery: short programs, one per idea a lecture on autograd walks through.

Each example is written for gradviz: small numbers a reader can check by hand, a comment on
the line that matters, and a ``print`` of what the lesson is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz import big_examples


@dataclass(frozen=True)
class Example:
    """One gallery entry."""

    key: str
    """Short stable identifier (used in tests and benchmarks)."""
    title: str
    description: str
    code: str


def _code(text: str) -> str:
    return text.strip("\n") + "\n"


EXAMPLES: tuple[Example, ...] = (
    Example(
        key="requires_grad",
        title="requires_grad and backward",
        description=(
            "Only tensors created with requires_grad=True (or switched on with "
            "requires_grad_()) are leaves autograd tracks; backward() fills their .grad."
        ),
        code=_code(
            """
import torch

a = torch.ones(3)                 # a plain tensor: not tracked yet
a.requires_grad_()                # switch tracking on, in place
b = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
print(a.requires_grad, b.requires_grad)

s = a * b + a                     # every operation records its grad_fn
loss = 0.5 * torch.sum(s ** 2)
loss.backward()                   # d loss / d a = s * (b + 1),  d loss / d b = s * a
print(a.grad)
print(b.grad)
"""
        ),
    ),
    Example(
        key="polynomial",
        title="A polynomial and its slope",
        description=(
            "One scalar input, one scalar output: autograd's x.grad is the slope of the curve "
            "at x = 2 (8x³ + 3x² + 6x + 5 = 93). Move the point on the plot to see it change."
        ),
        code=_code(
            """
import torch

# y = 2x^4 + x^3 + 3x^2 + 5x + 1, differentiated at x = 2
x = torch.tensor(2.0, requires_grad=True)
y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
y.backward()
print("y =", y)
print("dy/dx =", x.grad)
"""
        ),
    ),
    Example(
        key="multistep",
        title="Several steps to a mean",
        description=(
            "y = 3x + 2, z = 2y², out = mean(z) = 140. The chain rule multiplies the local "
            "derivatives back along the path: d out / d x = 4y · 3 / 6 = 2y."
        ),
        code=_code(
            """
import torch

x = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
y = 3 * x + 2
z = 2 * y ** 2
out = z.mean()
out.backward()
print(out)        # 140
print(x.grad)     # 2 * y
"""
        ),
    ),
    Example(
        key="accumulate",
        title="Gradients add up until zeroed",
        description=(
            "Every backward() adds into .grad instead of replacing it; retain_graph=True keeps "
            "the graph for another pass, and grad.zero_() starts again from zero."
        ),
        code=_code(
            """
import torch

w = torch.randn(4, requires_grad=True)
total = (2 * w).sum()
for step in range(3):
    total.backward(retain_graph=True)
    print("after backward", step + 1, w.grad)   # 2, then 4, then 6
w.grad.zero_()
print("after zero_()", w.grad)
"""
        ),
    ),
    Example(
        key="autograd_grad",
        title="torch.autograd.grad",
        description=(
            "autograd.grad returns the gradient instead of storing it: w.grad stays None."
        ),
        code=_code(
            """
import torch

w = torch.rand(5, requires_grad=True)
s = (w ** 2).sum()
g = torch.autograd.grad(s, w)[0]   # d s / d w = 2w, returned
print(g)
print(w.grad)                      # still None: nothing was accumulated
"""
        ),
    ),
    Example(
        key="jacobian_hessian",
        title="Jacobian and Hessian",
        description=(
            "torch.autograd.functional builds whole derivative matrices: the Jacobian of an "
            "elementwise log is diagonal (1/p), the Hessian of a sum of cubes is diag(6p)."
        ),
        code=_code(
            """
import torch

def elementwise_log(v):
    return v.log()

def sum_of_cubes(v):
    return (v ** 3).sum()

p = torch.tensor([0.5, 1.0, 2.0])
J = torch.autograd.functional.jacobian(elementwise_log, p)
H = torch.autograd.functional.hessian(sum_of_cubes, p)
print(J)
print(H)
"""
        ),
    ),
    Example(
        key="grad_outputs",
        title="grad_outputs: vector-Jacobian products",
        description=(
            "For a non-scalar y, autograd.grad needs grad_outputs=v and returns vᵀ·(dy/dx). "
            "A one-hot v picks one row of the Jacobian; create_graph=True gives the gradient "
            "its own graph."
        ),
        code=_code(
            """
import torch

x = torch.tensor([[1.0], [2.0]], requires_grad=True)
W = torch.tensor([[2.0, -1.0], [0.5, 3.0]], requires_grad=True)
y = W @ x                        # 2x1: no implicit gradient

v = torch.tensor([[1.0], [0.0]])
row0 = torch.autograd.grad(y, x, grad_outputs=v, retain_graph=True)[0]
print(row0)                      # W^T v: the first row of W

ones = torch.ones(2, 1)
g = torch.autograd.grad(y, x, grad_outputs=ones, create_graph=True)[0]
print(g)                         # W^T 1, itself differentiable in W
"""
        ),
    ),
    Example(
        key="vector_backward",
        title="backward() on a vector",
        description=(
            "A vector output has no single gradient: backward(v) weights each output's "
            "gradient by v, so x.grad = vᵀ·(dz/dx)."
        ),
        code=_code(
            """
import torch

x = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
y = x + 2
z = 2 * y ** 2                    # a vector: z.backward() alone would fail
weights = torch.tensor([1.0, 0.1, 0.01])
z.backward(weights)
print(x.grad)                     # 4 * y * weights
"""
        ),
    ),
    Example(
        key="stop_tracking",
        title="Stopping the tracking",
        description=(
            "detach(), torch.no_grad() and requires_grad_(False) each cut the graph: values "
            "still flow forward, gradients do not flow back."
        ),
        code=_code(
            """
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
kept = x * 2                      # tracked
frozen = x.detach() * 2           # same numbers, no history
with torch.no_grad():
    quiet = x * 2                 # nothing recorded inside no_grad
b = torch.ones(3, requires_grad=True)
b.requires_grad_(False)           # tracking switched off in place

loss = (kept * frozen + quiet + b).sum()
loss.backward()
print(x.grad)                     # only the tracked path counts: 2 * frozen
"""
        ),
    ),
    Example(
        key="sgd",
        title="A few steps of SGD",
        description=(
            "Each step: zero the gradients, compute the loss, backward, then step moves x "
            "against its gradient (x ← x − lr·2x), so the loss shrinks."
        ),
        code=_code(
            """
import torch

x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
opt = torch.optim.SGD([x], lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = (x ** 2).sum()          # smallest at x = 0
    loss.backward()                # x.grad = 2x
    opt.step()                     # x = x - 0.1 * x.grad
    print("step", step, "loss", loss.item())
print(x)
"""
        ),
    ),
    Example(
        key="linear_mse",
        title="A linear layer with MSE loss",
        description=(
            "nn.Linear's weight and bias are leaves (set by hand here); the mean squared "
            "error's gradient flows back through addmm to both."
        ),
        code=_code(
            """
import torch

layer = torch.nn.Linear(3, 1)
with torch.no_grad():              # set the parameters by hand, untracked
    layer.weight.copy_(torch.tensor([[0.5, -1.0, 0.25]]))
    layer.bias.fill_(0.1)
inputs = torch.tensor([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
target = torch.tensor([[1.0], [0.0]])
pred = layer(inputs)               # [[1.1], [1.6]]
loss = torch.nn.functional.mse_loss(pred, target)
loss.backward()
print(loss)                        # (0.1² + 1.6²) / 2 = 1.285
print(layer.weight.grad)           # 0.1·[1, 0, 2] + 1.6·[0.5, -1, 1]
print(layer.bias.grad)
"""
        ),
    ),
    Example(
        key="softmax_ce",
        title="Softmax with cross-entropy",
        description=(
            "The gradient of cross-entropy with respect to the logits is softmax minus the "
            "one-hot label."
        ),
        code=_code(
            """
import torch

logits = torch.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
label = torch.tensor([0])
loss = torch.nn.functional.cross_entropy(logits, label)
loss.backward()
probs = torch.softmax(logits.detach(), dim=1)
print(probs)
print(logits.grad)                # probs - [1, 0, 0]
"""
        ),
    ),
    Example(
        key="diamond",
        title="A diamond: one tensor used twice",
        description=(
            "a feeds two paths that meet again in d; backward adds the gradients of both "
            "paths: d d / d a = 2 + 2a = 8."
        ),
        code=_code(
            """
import torch

a = torch.tensor(3.0, requires_grad=True)
b = a * 2                         # path one
c = a ** 2                        # path two
d = b + c                         # the paths meet
d.backward()
print(a.grad)                     # 2 + 2 * a = 8
"""
        ),
    ),
    Example(
        key="second_derivative",
        title="Second derivative: create_graph",
        description=(
            "create_graph=True makes autograd.grad return f′ as a tensor with a graph of its "
            "own; differentiating that graph gives f″. f = x³ − 3x at x = 1.5: f′ = 3x² − 3 "
            "= 3.75, f″ = 6x = 9."
        ),
        code=_code(
            """
import torch

x = torch.tensor(1.5, requires_grad=True)
f = x ** 3 - 3 * x
df = torch.autograd.grad(f, x, create_graph=True)[0]   # f' = 3x^2 - 3, with its own graph
d2f = torch.autograd.grad(df, x)[0]                     # f'' = 6x, through f's gradient graph
print("f =", f.item(), " f' =", df.item(), " f'' =", d2f.item())
"""
        ),
    ),
    Example(
        key="descent_by_hand",
        title="Gradient descent by hand",
        description=(
            "No optimizer: each step moves w against its gradient inside no_grad, then zeroes "
            "the gradient. The loss (w − 3)² + 1 is a parabola, and w slides down to 3."
        ),
        code=_code(
            """
import torch

w = torch.tensor(0.0, requires_grad=True)
lr = 0.2
for step in range(6):
    loss = (w - 3) ** 2 + 1       # smallest at w = 3
    loss.backward()               # w.grad = 2 (w - 3)
    with torch.no_grad():
        w -= lr * w.grad          # the update, untracked
    w.grad.zero_()
    print("step", step, "w", w.item(), "loss", loss.item())
"""
        ),
    ),
    Example(
        key="adam",
        title="Adam: steps that are not lr · grad",
        description=(
            "Adam divides a running mean of the gradient by a running size of it, so its steps "
            "stay about lr = 0.2 long while the slope falls from 16 to almost 0 (SGD's first "
            "step, lr · grad, would be 3.2)."
        ),
        code=_code(
            """
import torch

w = torch.tensor(3.0, requires_grad=True)
opt = torch.optim.Adam([w], lr=0.2)
for step in range(12):
    opt.zero_grad()
    loss = 4 * (w - 1) ** 2        # smallest at w = 1; slope 8 (w - 1)
    loss.backward()
    opt.step()                     # moves w by about 0.2, whatever the slope
    print("step", step, "w", round(w.item(), 3), "slope", round(w.grad.item(), 2))
"""
        ),
    ),
    # Real models and big graphs (gradviz/big_examples.py): shown collapsed past the budget.
    Example(
        key="mlp_training",
        title="A two-layer MLP, trained for three steps",
        description=(
            "nn.Sequential(Linear, Tanh, Linear) and SGD: each step builds a new graph, and the "
            "parameters are named by their path (model.0.weight). Collapse model.0 under "
            "'Modules, groups and search' to see it as one node with its gradient norm."
        ),
        code=big_examples.MLP_TRAINING,
    ),
    Example(
        key="small_cnn",
        title="A small CNN: convolution, pooling, linear",
        description=(
            "Conv2d → ReLU → MaxPool2d, then a Linear layer and cross-entropy. The operations "
            "of each module are drawn in a box named by the module's path."
        ),
        code=big_examples.SMALL_CNN,
    ),
    Example(
        key="transformer_block",
        title="A transformer block: attention, MLP, layer norm",
        description=(
            "LayerNorm, MultiheadAttention and an MLP with residual connections, in torch.nn. "
            "Attention alone is 33 operations: collapse block.attn to see the block's shape."
        ),
        code=big_examples.TRANSFORMER_BLOCK,
    ),
    Example(
        key="deep_chain",
        title="A 2,000-layer chain",
        description=(
            "y = tanh(y @ W + b) two thousand times: 6,004 nodes, too many to draw, so the "
            "chain is folded into one node. Its gradient norm, at the fold's first and last "
            "operation, shows the gradient vanishing. Expand the fold or find a node."
        ),
        code=big_examples.DEEP_CHAIN,
    ),
    Example(
        key="stacked_blocks",
        title="Six identical blocks: fold them ×6",
        description=(
            "nn.Sequential of six Linear+Tanh blocks. Under 'Modules, groups and search', "
            "tick 'Fold repeated blocks' to draw the six as one node (×6)."
        ),
        code=big_examples.STACKED_BLOCKS,
    ),
)


def by_key(key: str) -> Example:
    """The example with this key (KeyError if there is none)."""
    for example in EXAMPLES:
        if example.key == key:
            return example
    raise KeyError(key)


def matching(code: str) -> Example | None:
    """The example whose program is ``code`` (ignoring surrounding whitespace), if any."""
    text = code.strip()
    for example in EXAMPLES:
        if example.code.strip() == text:
            return example
    return None


DEFAULT = by_key("polynomial")
"""The example the app opens on."""
