"""Forward-mode AD with dual numbers: the tangent is the directional derivative."""
import torch
import torch.autograd.forward_ad as fwAD

primal = torch.tensor([1.0, 2.0, 3.0])
tangent = torch.tensor([1.0, 0.0, 0.0])


def fn(x):
    return x.sin() * x**2


with fwAD.dual_level():
    dual_input = fwAD.make_dual(primal, tangent)
    dual_output = fn(dual_input)
    out, jvp = fwAD.unpack_dual(dual_output)

print("value:", out)
print("jvp:", jvp)
expected = (primal.cos() * primal**2 + 2 * primal * primal.sin()) * tangent
print(torch.allclose(jvp, expected))
