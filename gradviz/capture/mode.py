"""The TorchFunctionMode that sees every torch call a program makes and records it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from gradviz.capture.backward import capture_backward, is_backward_call
from gradviz.capture.identity import identity
from gradviz.capture.recording import Recording

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
_in_transform = torch._C._are_functorch_transforms_active
"""Whether a torch.func transform (grad, vmap, jacrev...) is running: its tensors are
functorch's wrappers, whose values cannot be read, so nothing made inside one is recorded."""

# What the mode does with each torch function, cached per function: most calls are plain.
_PLAIN, _BACKWARD, _GET, _SET, _RANDOM = range(5)
_KINDS: dict[Any, tuple[int, str]] = {}


def _classify(func: Callable[..., Any]) -> tuple[int, str]:
    name = getattr(func, "__name__", "")
    if is_backward_call(func):
        kind = _BACKWARD
    elif name == "__get__":
        kind = _GET
    elif name == "__set__":
        kind = _SET
    elif name in _RANDOM_NAMES:
        kind = _RANDOM
    else:
        kind = _PLAIN
    try:
        _KINDS[func] = (kind, name)
    except Exception:  # an unhashable (or oddly comparing) callable: classify it every time
        pass
    return kind, name


def _tensors(values: Iterable[Any], out: list[torch.Tensor]) -> None:
    """Append the tensors among call arguments to ``out``, one level into lists/tuples."""
    for v in values:
        if isinstance(v, torch.Tensor):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, torch.Tensor):
                    out.append(item)


class RecordingMode(TorchFunctionMode):
    """Records tensors as they are made, and captures backward calls with their gradients.

    Per call it keeps references only (the result, its tensor arguments, the line and the
    module); values are copied out when the Graph is built.
    """

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
        try:
            kind, name = _KINDS[func]
        except Exception:  # not seen yet (KeyError), or not hashable
            kind, name = _classify(func)
        if kind == _RANDOM or (kwargs and "generator" in kwargs):
            # Random functions, or others given generator= (nn.init passes generator=None).
            generator = self.recording.generator
            kwargs = kwargs or {}
            if generator is not None and kwargs.get("generator") is None:
                kwargs["generator"] = generator
        elif kind != _PLAIN:
            return self._special(kind, func, args, kwargs or {})
        out = func(*args, **kwargs) if kwargs else func(*args)
        if _in_transform():
            return out
        if isinstance(out, torch.Tensor):
            inputs: list[torch.Tensor] = []
            for a in args:  # _tensors(args, inputs), inlined: this runs once per torch call
                if isinstance(a, torch.Tensor):
                    inputs.append(a)
                elif isinstance(a, (list, tuple)):
                    _tensors(a, inputs)
            if kwargs:
                _tensors(kwargs.values(), inputs)
            self._note_result(name, inputs, out)
        elif isinstance(out, (tuple, list)):
            inputs = self._inputs(args, kwargs)
            for item in out:
                if isinstance(item, torch.Tensor):
                    self._note_result(name, inputs, item)
        return out

    def _special(
        self, kind: int, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Backward entry points and attribute access."""
        if _in_transform():  # torch.func.grad calls autograd.grad on its wrappers
            return func(*args, **kwargs)
        if kind == _BACKWARD:
            return capture_backward(self.recording, func, args, kwargs)
        if kind == _GET:
            out = func(*args, **kwargs)
            if func.__self__.__name__ == "data" and isinstance(out, torch.Tensor):  # type: ignore[attr-defined]
                self._note_result("data", self._inputs(args, None), out, grad_enabled=True)
            return out
        had_grad = isinstance(args[0], torch.Tensor) and args[0].grad is not None  # _SET
        out = func(*args, **kwargs)
        self._note_set(func.__self__.__name__, args, had_grad)  # type: ignore[attr-defined]
        return out

    @staticmethod
    def _inputs(args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> list[torch.Tensor]:
        inputs: list[torch.Tensor] = []
        _tensors(args, inputs)
        if kwargs:
            _tensors(kwargs.values(), inputs)
        return inputs

    def _note_result(
        self,
        name: str,
        inputs: list[torch.Tensor],
        out: torch.Tensor,
        grad_enabled: bool | None = None,
    ) -> None:
        rec = self.recording
        for t in inputs:
            if t is out:  # in place: the tensor changed, no new tensor
                if rec.unused_overrides:
                    rec.keep_override(out)
                self._note_in_place(name, out)
                return
        if rec.unused_overrides:
            rec.overrides_used(inputs)
        by_id = rec.by_id
        if identity(out) in by_id:
            return
        for t in inputs:
            if identity(t) not in by_id:
                rec.track(t, "input")
        record = rec.note_result(out, name, inputs)
        if out.requires_grad:
            return
        tracked = [t for t in inputs if t.requires_grad]
        if not tracked:
            return
        if name in _DETACHING:
            record.flag("detached", "shared_storage")
            record.cut_from = tuple(tracked)
        elif not (torch.is_grad_enabled() if grad_enabled is None else grad_enabled):
            # Grad mode is the same after the call as during it.
            record.flag("no_grad")
            record.cut_from = tuple(tracked)

    def _note_in_place(self, name: str, tensor: torch.Tensor) -> None:
        rec = self.recording
        if name == "requires_grad_":
            record = rec.track(tensor, "input")
            if not tensor.requires_grad:
                record.flag("requires_grad_off")
                record.stopped_line = rec.line
            return
        if name == "zero_" and rec.grad_owner(tensor) is not None:
            rec.add_event("zero_grad")
        elif (
            not torch.is_grad_enabled()
            and tensor.is_leaf
            and tensor.requires_grad
            and tensor.grad is not None
        ):
            # A manual update such as `x -= lr * x.grad`. Without a gradient the leaf is being
            # initialized (nn.init's fill_ and zero_ run under no_grad): not a step.
            rec.add_event("step")
        elif name == "detach_":
            record = rec.track(tensor, "input")
            if record not in rec.leaf_candidates:  # it has just become a leaf
                rec.leaf_candidates.append(record)

    def _note_set(self, attr: str, args: tuple[Any, ...], had_grad: bool) -> None:
        rec = self.recording
        tensor, value = args[0], args[1]
        if attr == "requires_grad" and not value:
            record = rec.track(tensor, "input")
            record.flag("requires_grad_off")
            record.stopped_line = rec.line
        elif attr == "grad" and value is None and had_grad:
            rec.add_event("zero_grad")  # optimizer.zero_grad() sets grads to None
