"""Plain PyTorch as the oracle: run a program directly, keeping every intermediate's grad.

The test executes trusted test programs with Python itself (the product never does); a tiny
TorchFunctionMode of its own calls ``retain_grad()`` on every tensor with a grad_fn so the
gradient of each intermediate can be compared with what gradviz shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode


@dataclass
class OracleRun:
    namespace: dict[str, Any]
    created: list[torch.Tensor] = field(default_factory=list)
    """Every tensor with a grad_fn, in creation order, each with retain_grad() on."""


_RANDOM = {"rand", "randn", "randint", "randperm", "normal", "uniform_", "normal_", "random_"}


class _RetainAll(TorchFunctionMode):
    def __init__(self, created: list[torch.Tensor], generator: torch.Generator) -> None:
        super().__init__()
        self.created = created
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = dict(kwargs or {})
        # Draw random numbers the way gradviz.run does: from the run's own seeded generator.
        random = getattr(func, "__name__", "") in _RANDOM or "generator" in kwargs
        if random and kwargs.get("generator") is None:
            kwargs["generator"] = self.generator
        out = func(*args, **kwargs)
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.grad_fn is not None:
                t.retain_grad()
                self.created.append(t)
        return out


def run_plain(source: str, seed: int = 0) -> OracleRun:
    """Run ``source`` in plain Python + PyTorch, with the same seeding as gradviz.run."""
    generator = torch.Generator().manual_seed(seed)
    run = OracleRun(namespace={})
    real_seed = torch.manual_seed
    torch.manual_seed = generator.manual_seed
    try:
        with _RetainAll(run.created, generator):
            exec(compile(source, "<oracle>", "exec"), run.namespace)  # trusted test program
    finally:
        torch.manual_seed = real_seed
    return run


def tensor_of(value: Any) -> torch.Tensor:
    """A TensorValue's data back as a float64 tensor (for comparisons)."""
    return torch.tensor(value.data, dtype=torch.float64)


def accumulate_in_torch() -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The 'accumulate' example in plain torch: w, total, and w.grad after each event."""
    w = torch.randn(4, requires_grad=True)
    total = (2 * w).sum()
    after = []
    for _ in range(3):
        total.backward(retain_graph=True)
        assert w.grad is not None
        after.append(w.grad.clone())
    assert w.grad is not None
    w.grad.zero_()
    after.append(w.grad.clone())
    return w, total, after


def polynomial_in_torch(x0: float) -> tuple[float, float]:
    """The 'polynomial' example's y and dy/dx at x = x0, in plain torch."""
    x = torch.tensor(x0, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    assert x.grad is not None
    return y.item(), x.grad.item()


def polynomial_refused_again() -> tuple[torch.Tensor, str]:
    """The 'polynomial' example in plain torch: x after its backward(), and the first line of
    torch's refusal when backward() runs a second time without retain_graph."""
    x = torch.tensor(2.0, requires_grad=True)
    y = 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1
    y.backward()
    with pytest.raises(RuntimeError) as refused:
        y.backward()
    return x, str(refused.value).splitlines()[0]
