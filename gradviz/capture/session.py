"""Recording as a context manager: the torch mode plus module and optimizer hooks."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import torch
from torch.nn.modules.module import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from torch.optim.optimizer import register_optimizer_step_post_hook

from gradviz.capture import gc_pause
from gradviz.capture.identity import identity
from gradviz.capture.mode import RecordingMode
from gradviz.capture.recording import Recording


class RecordingSession:
    """While active, every torch call on this thread is recorded into ``recording``.

    Module and optimizer hooks are process-wide in torch, so each checks that it runs on the
    recording's own thread: another user's program in the same server is never recorded.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self._mode = RecordingMode(recording)
        self._handles: list[Any] = []

    def __enter__(self) -> Recording:
        self.recording.thread = threading.get_ident()
        self._handles = [
            register_module_forward_pre_hook(self._enter_module),
            register_module_forward_hook(self._exit_module),
            register_optimizer_step_post_hook(self._optimizer_stepped),
        ]
        self._mode.__enter__()  # type: ignore[no-untyped-call]
        gc_pause.pause()  # see gc_pause: the recording allocates enough to trigger full passes
        return self.recording

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._mode.__exit__(exc_type, exc, tb)  # type: ignore[no-untyped-call]
        finally:
            gc_pause.resume()
            for handle in self._handles:
                handle.remove()
            self._handles = []

    def _mine(self) -> bool:
        return threading.get_ident() == self.recording.thread

    def _enter_module(self, module: torch.nn.Module, args: Any) -> None:
        if self._mine():
            rec = self.recording
            path = rec.module_paths.get(identity(module))
            cls = type(module).__name__
            if path is None:  # a module the program never named: called by its class
                parent = rec.module_stack[-1] if rec.module_stack else None
                path = cls if parent is None else f"{parent}.{cls}"
            rec.module_classes.setdefault(path, cls)
            rec.module_stack.append(path)

    def _exit_module(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if self._mine() and self.recording.module_stack:
            self.recording.module_stack.pop()

    def _optimizer_stepped(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._mine():
            with torch._C.DisableTorchFunction():  # the snapshots are gradviz's, not the program's
                self.recording.add_event("step")
