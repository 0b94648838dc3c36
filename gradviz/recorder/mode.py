"""The TorchFunctionMode that sees every torch call a program makes and records it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from gradviz.recorder.backward import capture_backward, is_backward_call
from gradviz.recorder.recording import Recording

# Random functions that take a generator: the session's own is passed in, so a run is
# reproducible and does not touch (or depend on) the process-wide generator.
_RANDOM_NAMES = frozenset(
    {
        "rand",
        "randn",
        "randint",
        "randperm",
        "normal",
        "bernoulli",
        "multinomial",
        "poisson",
        "rand_like",
        "randn_like",
        "randint_like",
        "uniform_",
        "normal_",
        "random_",
        "bernoulli_",
        "exponential_",
        "geometric_",
        "cauchy_",
        "log_normal_",
    }
)
_DETACHING = frozenset({"detach", "data"})


def _tensors(values: Any) -> Iterator[torch.Tensor]:
    """Tensors among call arguments, looking one level into lists and tuples."""
    for v in values:
        if isinstance(v, torch.Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, torch.Tensor):
                    yield item


class RecordingMode(TorchFunctionMode):
    """Records tensors as they are made, and captures backward calls with their gradients."""

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        rec = self.recording
        if is_backward_call(func):
            return capture_backward(rec, func, args, kwargs)
        name = getattr(func, "__name__", "")
        if name == "__get__":
            out = func(*args, **kwargs)
            if func.__self__.__name__ == "data" and isinstance(out, torch.Tensor):  # type: ignore[attr-defined]
                self._note_result("data", list(_tensors(args)), out, grad_enabled=True)
            return out
        if name == "__set__":
            had_grad = isinstance(args[0], torch.Tensor) and args[0].grad is not None
            out = func(*args, **kwargs)
            self._note_set(func.__self__.__name__, args, had_grad)  # type: ignore[attr-defined]
            return out
        random = name in _RANDOM_NAMES or "generator" in kwargs  # nn.init passes generator=None
        if rec.generator is not None and random and kwargs.get("generator") is None:
            kwargs["generator"] = rec.generator
        grad_enabled = torch.is_grad_enabled()
        out = func(*args, **kwargs)
        if isinstance(out, torch.Tensor):
            self._note_result(name, self._inputs(args, kwargs), out, grad_enabled)
        elif isinstance(out, (tuple, list)):
            inputs = self._inputs(args, kwargs)
            for item in out:
                if isinstance(item, torch.Tensor):
                    self._note_result(name, inputs, item, grad_enabled)
        return out

    @staticmethod
    def _inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[torch.Tensor]:
        inputs = list(_tensors(args))
        if kwargs:
            inputs.extend(_tensors(kwargs.values()))
        return inputs

    def _note_result(
        self, name: str, inputs: list[torch.Tensor], out: torch.Tensor, grad_enabled: bool
    ) -> None:
        rec = self.recording
        if any(out is t for t in inputs):  # in place: the tensor changed, no new tensor
            self._note_in_place(name, out, grad_enabled)
            return
        if id(out) in rec.by_id:
            return
        for t in inputs:
            rec.track(t, "input")
        record = rec.track(out, name, inputs)
        tracked = [t for t in inputs if t.requires_grad]
        if not tracked or out.requires_grad:
            return
        if name in _DETACHING:
            record.flags.update({"detached", "shared_storage"})
            record.cut_from = tracked
        elif not grad_enabled:
            record.flags.add("no_grad")
            record.cut_from = tracked

    def _note_in_place(self, name: str, tensor: torch.Tensor, grad_enabled: bool) -> None:
        rec = self.recording
        if name == "requires_grad_":
            record = rec.track(tensor, "input")
            if not tensor.requires_grad:
                record.flags.add("requires_grad_off")
                record.stopped_line = rec.line
            return
        if name == "zero_" and rec.grad_owner(tensor) is not None:
            rec.add_event("zero_grad")
        elif not grad_enabled and tensor.is_leaf and tensor.requires_grad:
            rec.add_event("step")  # a manual update such as `x -= lr * x.grad`

    def _note_set(self, attr: str, args: tuple[Any, ...], had_grad: bool) -> None:
        rec = self.recording
        tensor, value = args[0], args[1]
        if attr == "requires_grad" and not value:
            record = rec.track(tensor, "input")
            record.flags.add("requires_grad_off")
            record.stopped_line = rec.line
        elif attr == "grad" and value is None and had_grad:
            rec.add_event("zero_grad")  # optimizer.zero_grad() sets grads to None
