"""Jacobian and Hessian

torch.autograd.functional builds whole derivative matrices: the Jacobian of an elementwise
log is diagonal (1/p), the Hessian of a sum of cubes is diag(6p).
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
