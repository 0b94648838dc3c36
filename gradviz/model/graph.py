"""The Graph: plain, JSON-serializable data describing what autograd did.

Renderers and front ends read only these dataclasses; they never see a live tensor or
``grad_fn``. Everything they show was captured here.

NOTE: a Graph is a value. Its dataclasses are frozen and hold tuples and read-only mappings,
so one Graph can be shared by every session and thread (the app caches runs across users);
a view of it is a new Graph (``dataclasses.replace``). Its queries (``by_id``, ``consumers``,
``ancestors``...) are computed once, on first use: the same answer for every reader.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, Literal, get_args

from gradviz.model.values import Nested, TensorValue

JSON_VERSION = 2
"""2: notes are ``{kind, text}`` objects (1: strings)."""

NodeKind = Literal["leaf", "op", "constant"]
CallOrigin = Literal["button", "jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]
"""Who made a backward call other than the program's own line: the app's "backward again"
button, or the torch.autograd.functional function it ran inside."""
FUNCTIONAL_ORIGINS: tuple[CallOrigin, ...] = tuple(o for o in get_args(CallOrigin) if o != "button")
Flag = Literal[
    "output",
    "no_grad",
    "detached",
    "requires_grad_off",
    "create_graph",
    "internal",
    "grad_not_accumulated",
    "shared_storage",
    "collapsed",
    "repeated",
    "folded",
    "merged",
]
"""What is special about a node: ``output`` of the program; made under ``no_grad``,
``detached`` or after ``requires_grad_off`` (a cut); from a ``create_graph`` backward;
``internal``, an op autograd made on its own (the ``t`` of a Linear's weight); a leaf whose
grad was ``grad_not_accumulated`` (not a leaf of the call); ``shared_storage`` with another
tensor; or, in a view, a ``collapsed`` module, ``repeated`` blocks collapsed into one, a
``folded`` run of ops, or sources ``merged`` into one node."""
EdgeKind = Literal["grad", "constant", "cut"]
"""``grad``: autograd edge; ``constant``: a tensor not requiring grad fed an op;
``cut``: tracking stopped here (no_grad, detach, requires_grad_(False))."""


@dataclass(frozen=True)
class Node:
    """One node of the drawn graph: a leaf tensor, an autograd op, or a constant tensor."""

    id: str
    kind: NodeKind
    name: str | None
    """The variable (or parameter path) the program bound this tensor to, if any."""
    op: str | None
    """The grad_fn class name (``MulBackward0``); None for leaves and constants."""
    label: str
    """A friendly operation name (``mul``, ``pow``), or what made a constant (``zeros``)."""
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    value: TensorValue | None = None
    grad: TensorValue | None = None
    """Leaf: its ``.grad``. Other nodes: d root / d this tensor from the last backward
    call that reached it."""
    saved: Mapping[str, str | TensorValue] = field(default_factory=dict)
    """The tensors and arguments autograd saved for this op's backward (``self``, ``other``)."""
    flags: tuple[Flag, ...] = ()
    module: str | None = None
    """Path of the module whose forward produced this node (``encoder.0``), if any."""
    seq: int | None = None
    """Creation order of the tensor in the program, when recorded."""
    line: int | None = None
    """Program line that created it, when recorded."""
    num_outputs: int = 1
    stopped_line: int | None = None
    """Program line that switched requires_grad off on it in place, if one did."""


@dataclass(frozen=True, slots=True)
class Edge:
    """Data flows from ``src`` (an input) to ``dst`` (the op consuming it)."""

    src: str
    dst: str
    position: int = 0
    """Which input of ``dst`` this is."""
    kind: EdgeKind = "grad"
    label: str | None = None


@dataclass(frozen=True, slots=True)
class NodeStep:
    """What one node did during a backward call."""

    node: str
    grad_in: tuple[TensorValue | None, ...]
    """Gradient arriving at the node: d root / d each of its outputs."""
    grad_out: tuple[TensorValue | None, ...]
    """Gradient the node sent to each of its inputs (next_functions order)."""


@dataclass(frozen=True)
class BackwardCall:
    """One ``backward()`` / ``autograd.grad`` run, in the order the engine executed nodes."""

    kind: Literal["backward", "grad", "auto"]
    root: str | None
    roots: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    steps: tuple[NodeStep, ...] = ()
    gradient: tuple[TensorValue | None, ...] = ()
    """The ``gradient=`` / ``grad_outputs=`` given per root (None: implicit ones)."""
    inputs: tuple[str | None, ...] = ()
    """For autograd.grad: the node of each input."""
    results: tuple[TensorValue | None, ...] = ()
    """For autograd.grad: the gradient returned for each input."""
    result_nodes: tuple[str | None, ...] = ()
    """For autograd.grad with create_graph: the graph node of each returned gradient."""
    create_graph: bool = False
    retain_graph: bool = False
    root_value: TensorValue | None = None
    leaf_grads: Mapping[str, TensorValue | None] = field(default_factory=dict)
    """Each leaf's ``.grad`` right after this call."""
    leaf_values: Mapping[str, TensorValue] = field(default_factory=dict)
    """Each leaf's value at the time of this call."""
    line: int | None = None
    jacobians: Mapping[str, TensorValue] = field(default_factory=dict)
    """For a non-scalar root given a gradient v: J = d root / d leaf per leaf id, where
    small, so that the call can be shown as the vector-Jacobian product vᵀJ."""
    origin: CallOrigin | None = None
    """``button`` when the app's button repeated the call; ``jacobian``/``hessian``/... when
    torch.autograd.functional made it; None for the program's own call."""


@dataclass(frozen=True)
class Event:
    """Something that changed leaves' gradients or values, in program order."""

    kind: Literal["backward", "grad", "zero_grad", "step"]
    line: int | None
    leaf_grads: Mapping[str, TensorValue | None] = field(default_factory=dict)
    leaf_values: Mapping[str, TensorValue] = field(default_factory=dict)
    call: int | None = None
    """Index into ``backward_calls`` for backward/grad events."""


@dataclass(frozen=True)
class FunctionalCall:
    """A call of torch.autograd.functional.jacobian or hessian on a program's function."""

    kind: Literal["jacobian", "hessian"]
    function: str
    inputs: tuple[TensorValue, ...]
    result: TensorValue | None
    """The Jacobian (output dims × input dims) or Hessian (input dims × input dims)."""
    line: int | None = None


NoteKind = Literal["program", "warning", "limit", "button"]
"""``program``: what gradviz did beside the program (an automatic backward, an exit(), a step
that failed); ``warning``: a Python warning; ``limit``: a bound of the run was reached;
``button``: PyTorch refused a replayed button press."""


@dataclass(frozen=True, slots=True)
class Note:
    """Something the user should know about a run."""

    kind: NoteKind
    text: str


@dataclass(frozen=True)
class Graph:
    """Everything gradviz captured of one program (or one ``record()`` block)."""

    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()
    outputs: tuple[str, ...] = ()
    backward_calls: tuple[BackwardCall, ...] = ()
    events: tuple[Event, ...] = ()
    stdout: str = ""
    result: str | None = None
    """repr of the program's last bare expression (a notebook's ``Out``)."""
    echoes: tuple[tuple[int, str], ...] = ()
    """(line, repr) of every top-level bare expression, like one notebook cell per line."""
    notes: tuple[Note, ...] = ()
    """Things the user should know: backward was run automatically, an output is not scalar."""
    functional_calls: tuple[FunctionalCall, ...] = ()
    version: int = JSON_VERSION
    module_classes: Mapping[str, str] = field(default_factory=dict)
    """Class name of each module path nodes belong to, and of its parents
    (``encoder.0`` -> ``Linear``): identical blocks have the same classes."""

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if absent)."""
        return self.by_id[node_id]

    @cached_property
    def by_id(self) -> Mapping[str, Node]:
        """Nodes by id."""
        return MappingProxyType({n.id: n for n in self.nodes})

    @cached_property
    def consumers(self) -> Mapping[str, tuple[str, ...]]:
        """Each node's consumers, one per edge out of it, in edge order."""
        return self._ends((e.src, e.dst) for e in self.edges)

    @cached_property
    def sources(self) -> Mapping[str, tuple[str, ...]]:
        """Each node's inputs, one per edge into it (of any kind), in edge order."""
        return self._ends((e.dst, e.src) for e in self.edges)

    def _ends(self, pairs: Iterable[tuple[str, str]]) -> Mapping[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for node_id, other in pairs:
            found[node_id].append(other)
        return MappingProxyType({k: tuple(v) for k, v in found.items()})

    @cached_property
    def grad_inputs(self) -> Mapping[tuple[str, int], str]:
        """(consumer, input position) -> input node, over autograd edges: whom an op's
        backward sends each gradient to."""
        return MappingProxyType(
            {(e.dst, e.position): e.src for e in self.edges if e.kind == "grad"}
        )

    @cached_property
    def display_names(self) -> Mapping[str, str]:
        """What a person reads for each node: ``y = add``, told apart by line, then order,
        where two would read the same (``model.names.distinct``)."""
        from gradviz.model.names import distinct  # names builds on this module

        return MappingProxyType(distinct(self))

    def restricted(self, keep: Container[str]) -> Graph:
        """The nodes in ``keep``, the edges between them and the outputs among them."""
        return replace(
            self,
            nodes=tuple(n for n in self.nodes if n.id in keep),
            edges=tuple(e for e in self.edges if e.src in keep and e.dst in keep),
            outputs=tuple(o for o in self.outputs if o in keep),
        )

    def ancestors(self, roots: str | Iterable[str]) -> set[str]:
        """The ``roots`` and every node they were computed from (iterative: a 6,000-node
        chain would pass Python's recursion limit)."""
        sources = self.sources
        stack = [roots] if isinstance(roots, str) else list(roots)
        seen = set(stack)
        while stack:
            for src in sources.get(stack.pop(), ()):
                if src not in seen:
                    seen.add(src)
                    stack.append(src)
        return seen

    def find(self, name: str) -> list[Node]:
        """Nodes bound to this variable name, in creation order."""
        return [n for n in self.nodes if n.name == name]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (see ``to_json``)."""
        return {
            "version": self.version,
            "nodes": [_node_dict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
            "outputs": list(self.outputs),
            "backward_calls": [_call_dict(c) for c in self.backward_calls],
            "events": [_event_dict(e) for e in self.events],
            "stdout": self.stdout,
            "result": self.result,
            "echoes": [list(e) for e in self.echoes],
            "notes": [asdict(n) for n in self.notes],
            "functional_calls": [asdict(f) for f in self.functional_calls],
            "module_classes": dict(self.module_classes),
        }

    def to_json(self, indent: int | None = None) -> str:
        """JSON version 2: node ``value``/``grad`` are nested lists (null when summarized),
        notes ``{kind, text}``."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _data(value: TensorValue | None) -> Nested | None:
    return None if value is None else value.data


def _value_dict(value: TensorValue | None) -> dict[str, Any] | None:
    return None if value is None else asdict(value)


def _node_dict(node: Node) -> dict[str, Any]:
    out = asdict(node)
    # The spec's flat fields: full nested lists, with the summary beside them.
    out["value"] = _data(node.value)
    out["grad"] = _data(node.grad)
    out["value_summary"] = _value_dict(node.value) if node.value and node.value.summary else None
    out["grad_summary"] = _value_dict(node.grad) if node.grad and node.grad.summary else None
    out["saved"] = {k: (v if isinstance(v, str) else _value_dict(v)) for k, v in node.saved.items()}
    return out


def _grads_dict(grads: Mapping[str, TensorValue | None]) -> dict[str, Nested | None]:
    return {k: _data(v) for k, v in grads.items()}


def _call_dict(call: BackwardCall) -> dict[str, Any]:
    out = asdict(call)
    out["leaf_grads"] = _grads_dict(call.leaf_grads)
    out["leaf_values"] = {k: v.data for k, v in call.leaf_values.items()}
    out["jacobians"] = {k: v.data for k, v in call.jacobians.items()}
    return out


def _event_dict(event: Event) -> dict[str, Any]:
    out = asdict(event)
    out["leaf_grads"] = _grads_dict(event.leaf_grads)
    out["leaf_values"] = {k: v.data for k, v in event.leaf_values.items()}
    return out
