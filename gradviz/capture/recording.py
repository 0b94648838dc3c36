"""The live record of one program run: every tensor, its name, and what autograd did.

This is the only place that holds live tensors and ``grad_fn`` objects. ``gradviz.capture.build``
turns it into plain data at the end.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import torch

from gradviz.capture.identity import identity
from gradviz.capture.snapshot import snapshots
from gradviz.model.graph import CallOrigin, Flag
from gradviz.model.values import TensorValue

_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
_engine_node = torch._C._current_autograd_node
"""The autograd Node the engine is running on this thread (None outside backward)."""

EVENT_FULL_LIMIT = 256
"""Per-event snapshots of leaves carry values in full only up to this size (they repeat per
step of a loop, so they are kept small)."""


class TensorRecord:
    """One tensor the program created or touched, in creation order (one per torch call of
    the program, hence a plain slotted class)."""

    __slots__ = (
        "cut_from",
        "flags",
        "func",
        "inputs",
        "line",
        "module",
        "name",
        "seq",
        "stopped_line",
        "tensor",
    )

    def __init__(
        self,
        tensor: torch.Tensor,
        seq: int,
        func: str,
        line: int | None = None,
        module: str | None = None,
        inputs: list[torch.Tensor] | None = None,
    ) -> None:
        self.tensor = tensor
        self.seq = seq
        self.func = func
        """The torch function that produced it (``mul``, ``zeros``), or how it was first seen."""
        self.line = line
        self.module = module
        """The module whose forward made it (None for tensors first seen as an input)."""
        self.inputs: list[torch.Tensor] = inputs if inputs is not None else []
        """The tensor arguments of the call that produced it (for constants and cuts)."""
        self.name: str | None = None
        self.flags: frozenset[Flag] = _NO_FLAGS
        self.cut_from: tuple[torch.Tensor, ...] = ()
        """Tensors whose tracking was stopped to make this one (detach, no_grad)."""
        self.stopped_line: int | None = None
        """Line where requires_grad was switched off on this tensor in place."""

    def flag(self, *names: Flag) -> None:
        self.flags = self.flags.union(names)


_NO_FLAGS: frozenset[Flag] = frozenset()


@dataclass(eq=False)
class LiveCall:
    """One backward()/autograd.grad call, as it ran."""

    kind: str
    line: int | None
    roots: list[torch.Tensor]
    gradients: list[torch.Tensor | None]
    inputs: list[torch.Tensor] = field(default_factory=list)
    create_graph: bool = False
    retain_graph: bool = False
    origin: CallOrigin | None = None
    """``jacobian``/``hessian``/... when torch.autograd.functional made the call, ``button``
    when the app's button repeated it."""
    steps: list[tuple[Any, tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=list)
    """(autograd Node, gradients arriving, gradients sent to its inputs) in the order the
    engine ran the nodes. The tensors are the engine's own (not copies): holding them also
    keeps the engine from accumulating into them in place."""
    results: list[torch.Tensor | None] = field(default_factory=list)
    root_values: list[TensorValue] = field(default_factory=list)
    leaf_values: dict[int, TensorValue] = field(default_factory=dict)
    leaf_grads: dict[int, TensorValue | None] = field(default_factory=dict)
    jacobians: dict[int, TensorValue] = field(default_factory=dict)


@dataclass(eq=False)
class LiveFunctional:
    """A jacobian/hessian call: snapshots already, since it holds no graph of its own."""

    kind: str
    function: str
    inputs: list[TensorValue]
    result: TensorValue | None
    line: int | None


@dataclass(eq=False)
class LiveEvent:
    """A change to leaves' gradients or values (keys of the dicts are record seqs)."""

    kind: str
    line: int | None
    call: int | None = None
    leaf_values: dict[int, TensorValue] = field(default_factory=dict)
    leaf_grads: dict[int, TensorValue | None] = field(default_factory=dict)


class Recording:
    """Everything captured while a program ran; filled in by the RecordingMode and hooks.

    While the program runs it keeps only references (tensors, autograd Nodes, the engine's
    gradients) and small per-event snapshots of leaves; ``gradviz.capture.build`` copies the
    rest out afterwards.

    Args:
        generator: Random-number generator handed to the program's random calls, so runs are
            reproducible and sessions do not share the global generator.
        overrides: ``{seq: {flat index: value}}``: set elements of the seq-th tensor as it is
            created (used to move a point along the curve and re-run).
    """

    def __init__(
        self,
        generator: torch.Generator | None = None,
        overrides: dict[int, dict[int, float]] | None = None,
    ) -> None:
        self.generator = generator
        self.overrides = overrides or {}
        self.unused_overrides: dict[int, tuple[torch.Tensor, dict[int, float]]] = {}
        """Overridden tensors not used yet, by id: an in-place change sets them again."""
        self.records: list[TensorRecord] = []
        self.by_id: dict[int, TensorRecord] = {}
        self.leaf_candidates: list[TensorRecord] = []
        """Records of tensors that had no grad_fn when first seen: only these can be leaves
        requiring grad later, so events need not scan every record."""
        self.calls: list[LiveCall] = []
        self.events: list[LiveEvent] = []
        self.saved: dict[Any, dict[str, Any]] = {}
        """Raw saved tensors/arguments per autograd Node, read before backward freed them."""
        self.module_paths: dict[int, str] = {}
        self.module_classes: dict[str, str] = {}
        """Class name of each module path seen (``encoder.0`` -> ``Linear``)."""
        self.module_stack: list[str] = []
        self.named_modules: list[torch.nn.Module] = []
        self.line: int | None = None
        self.thread = threading.get_ident()
        self.inner_names: set[int] = set()
        """Seqs of records named inside a function: a top-level name replaces theirs."""
        self.named: list[torch.Tensor] = []
        """Tensors bound to a program name, in binding order (one entry per binding)."""
        self.functional: list[LiveFunctional] = []
        """torch.autograd.functional.jacobian/hessian calls the program made."""

    # -- tensors ---------------------------------------------------------------------------
    def track(self, tensor: torch.Tensor, func: str) -> TensorRecord:
        """The record of ``tensor``, created if it is new. For tensors seen rather than made
        (an input, a parameter): they get no module, wherever they were first seen."""
        rec = self.by_id.get(identity(tensor))
        if rec is None:
            rec = TensorRecord(tensor, len(self.records), func, self.line)
            self._add(rec)
        return rec

    def note_result(
        self, tensor: torch.Tensor, func: str, inputs: list[torch.Tensor]
    ) -> TensorRecord:
        """A new record for ``tensor``, which ``func`` just made from ``inputs`` inside the
        innermost running module (if any). Called once per torch call: kept short."""
        stack = self.module_stack
        module = stack[-1] if stack else None
        rec = TensorRecord(tensor, len(self.records), func, self.line, module, inputs)
        self.records.append(rec)
        self.by_id[identity(tensor)] = rec
        if tensor.is_leaf:  # not .grad_fn: that would tie a Python object to every Node
            self.leaf_candidates.append(rec)
        if self.overrides:
            self._override(rec)
        return rec

    def _add(self, rec: TensorRecord) -> None:
        self.records.append(rec)
        self.by_id[identity(rec.tensor)] = rec
        if rec.tensor.is_leaf:
            self.leaf_candidates.append(rec)
        if self.overrides:
            self._override(rec)

    def _override(self, rec: TensorRecord) -> None:
        values = self.overrides.get(rec.seq)
        if values:
            self._set(rec.tensor, values)
            self.unused_overrides[identity(rec.tensor)] = (rec.tensor, values)

    @staticmethod
    def _set(tensor: torch.Tensor, values: dict[int, float]) -> None:
        # Unrecorded (the override is gradviz's, and recording it would shift every later
        # seq); through .data, since a view of the tensor itself would be a no_grad view,
        # which autograd forbids the program to change in place later (nn.init does).
        with torch.no_grad(), torch._C.DisableTorchFunction():
            flat = tensor.data.view(-1)
            for index, value in values.items():
                flat[index] = value

    def keep_override(self, tensor: torch.Tensor) -> None:
        """The program changed ``tensor`` in place before using it (``fill_``, ``copy_``,
        ``nn.init``): its overridden elements are set again, so the curve varies the value
        the program set by hand, not the one it overwrote."""
        pending = self.unused_overrides.get(identity(tensor))
        if pending is not None and pending[0] is tensor:
            self._set(tensor, pending[1])

    def overrides_used(self, inputs: list[torch.Tensor]) -> None:
        """``inputs`` were used: from now on the program's own changes to them stand (an
        optimizer's step moves the point)."""
        for t in inputs:
            self.unused_overrides.pop(identity(t), None)

    def record_of(self, tensor: torch.Tensor) -> TensorRecord | None:
        return self.by_id.get(identity(tensor))

    def bind(self, name: str, value: object, top: bool = True) -> None:
        """The program bound ``name`` to ``value``: name tensors and modules' parameters.

        The first name a tensor gets is its own, but a name bound at the program's top level
        wins over one bound inside a function (``d = f(a)`` is ``d``, not f's ``b``). Modules
        are named only at the top level: their parameters are then named by path from there.
        """
        if isinstance(value, torch.Tensor):
            if _wrapped(value):  # a torch.func transform's wrapper: see mode._in_transform
                return
            if _engine_node() is not None:
                # Inside a custom Function's backward or a hook: the engine's gradients are
                # shown by the backward call's steps, not as tensors of the program's graph.
                return
            rec = self.track(value, "input")
            if rec.name is None or (top and rec.seq in self.inner_names):
                rec.name = name
                if top:
                    self.inner_names.discard(rec.seq)
                else:
                    self.inner_names.add(rec.seq)
            self.named.append(value)
        elif top and isinstance(value, torch.nn.Module):
            self.name_module(name, value)

    def name_module(self, name: str, module: torch.nn.Module) -> None:
        """Name a module's submodules and parameters by path (``model.0.weight``)."""
        if module not in self.named_modules:
            self.named_modules.append(module)
        for path, sub in module.named_modules(prefix=name):
            self.module_paths.setdefault(identity(sub), path)
            self.module_classes.setdefault(path, type(sub).__name__)
        for path, param in module.named_parameters(prefix=name):
            rec = self.track(param, "parameter")
            # The path wins over a name from inside a method (``self.w = nn.Parameter(...)``
            # in ``__init__`` names it ``self.w``), as a top-level name does.
            if rec.name is None or rec.seq in self.inner_names:
                rec.name, rec.func = path, "parameter"
                self.inner_names.discard(rec.seq)

    # -- leaves ----------------------------------------------------------------------------
    def leaves(self) -> list[TensorRecord]:
        """Records of tensors that are leaves requiring grad right now."""
        return [r for r in self.leaf_candidates if r.tensor.requires_grad and r.tensor.is_leaf]

    def leaf_values(self) -> dict[int, TensorValue]:
        leaves = self.leaves()
        values = snapshots([r.tensor for r in leaves], EVENT_FULL_LIMIT)
        return {r.seq: v for r, v in zip(leaves, values, strict=True)}

    def leaf_grads(self) -> dict[int, TensorValue | None]:
        with_grads = [(r.seq, r.tensor.grad) for r in self.leaves()]
        values = iter(snapshots([g for _, g in with_grads if g is not None], EVENT_FULL_LIMIT))
        return {seq: None if g is None else next(values) for seq, g in with_grads}

    def grad_owner(self, tensor: torch.Tensor) -> TensorRecord | None:
        """The leaf whose ``.grad`` is ``tensor``, if any."""
        for r in self.leaves():
            if r.tensor.grad is tensor:
                return r
        return None

    # -- events ----------------------------------------------------------------------------
    def add_event(
        self,
        kind: str,
        call: int | None = None,
        leaf_values: dict[int, TensorValue] | None = None,
        leaf_grads: dict[int, TensorValue | None] | None = None,
    ) -> None:
        """Note a change to leaves; repeated zeroing or updates in a row make one event.

        A backward call passes the snapshots it has just taken rather than taking them twice.
        """
        last = self.events[-1] if self.events else None
        if last is not None and call is None and last.kind == kind and last.call is None:
            last.leaf_values = self.leaf_values()
            last.leaf_grads = self.leaf_grads()
            return
        self.events.append(
            LiveEvent(
                kind=kind,
                line=self.line,
                call=call,
                leaf_values=self.leaf_values() if leaf_values is None else leaf_values,
                leaf_grads=self.leaf_grads() if leaf_grads is None else leaf_grads,
            )
        )
