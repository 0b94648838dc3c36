"""Turn a live Recording into a Graph of plain data.

The walk over ``grad_fn.next_functions`` is iterative (a 100,000-node chain is fine) and visits
inputs in order, so node ids (``n0`` for the first input reached, in post-order) are the same
for the same program every time. All copying of tensor data happens here, once per tensor.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import torch

from gradviz.capture.backward import (
    ACCUMULATE_GRAD,
    SAVED_TENSORS_MAX_NODES,
    is_accumulate,
    saved_of,
    saved_result,
    saved_text,
)
from gradviz.capture.gc_pause import no_gc
from gradviz.capture.identity import identity
from gradviz.capture.recording import LiveCall, LiveEvent, Recording, TensorRecord
from gradviz.capture.snapshot import SnapshotBatch
from gradviz.capture.teardown import DEEP_GRAPH_NODES, keep_until_unused
from gradviz.model.graph import (
    BackwardCall,
    Edge,
    EdgeKind,
    Event,
    Flag,
    FunctionalCall,
    Graph,
    Node,
    NodeKind,
    NodeStep,
    Note,
)
from gradviz.model.paths import common_module, enclosing_paths
from gradviz.model.values import TensorValue

_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")
_CUSTOM_FUNCTION: Any = torch.autograd.function.BackwardCFunction
"""The base of a custom ``torch.autograd.Function``'s node (``MyExpBackward``). Its output's
record was made by the last op inside ``forward``, which runs without grad: that op's inputs
and its no_grad flag are not the Function's."""
_STOPPED: frozenset[Flag] = frozenset({"no_grad", "detached", "shared_storage"})


def default_roots(recording: Recording) -> list[torch.Tensor]:
    """What a recording is drawn from: backward roots, gradients with a graph of their own,
    named tensors, then tensors with a grad_fn that nothing else consumed."""
    roots: list[torch.Tensor] = []
    for call in recording.calls:
        roots.extend(call.roots)
        roots.extend(r for r in call.results if r is not None and r.grad_fn is not None)
    roots.extend(recording.named)
    consumed = {identity(t) for r in recording.records for t in r.inputs}
    roots.extend(  # not .is_leaf: has a grad_fn (cheaper than making grad_fn's Python object)
        r.tensor
        for r in recording.records
        if not r.tensor.is_leaf and identity(r.tensor) not in consumed
    )
    return roots


def friendly_op(class_name: str) -> str:
    """``MulBackward0`` -> ``mul``; ``AddmmBackward0`` -> ``addmm``."""
    label = _FRIENDLY.get(class_name)
    if label is None:
        base = _BACKWARD_SUFFIX.sub("", class_name)
        label = _FRIENDLY[class_name] = base.lower() if base else class_name
    return label


_FRIENDLY: dict[str, str] = {}


_Input = tuple[Any, int, EdgeKind]
"""(graph object, input position, edge kind): one input of a graph object."""


class _Builder:
    """One walk of the recorded graph; ``build`` returns the Graph."""

    def __init__(self, recording: Recording, saved: bool, saved_limit: int | None) -> None:
        self.rec = recording
        self.read_saved = saved
        self.saved_limit = saved_limit
        self.by_fn: dict[int, TensorRecord] = {}
        for r in recording.records:
            fn = r.tensor.grad_fn
            if fn is not None and r.tensor.output_nr == 0:
                self.by_fn.setdefault(identity(fn), r)
        self.ids: dict[int, str] = {}
        self.order: list[Any] = []  # also keeps every object keyed by identity() alive
        self.inputs: dict[int, list[_Input]] = {}
        self.stopped_memo: dict[int, bool] = {}
        self.snaps: dict[int, TensorValue] = {}
        self.snapped: list[torch.Tensor] = []  # keeps snapshot keys (ids) valid
        self.batch = SnapshotBatch()  # closed once every value is taken (end of build)
        self.kept: dict[int, list[_Input]] | None = None
        """With a bound on nodes: the inputs of each object the walk may visit."""

    # -- values ----------------------------------------------------------------------------
    def snap(self, t: torch.Tensor) -> TensorValue:
        """``snapshot(t)``, once per tensor: the engine hands one gradient tensor to the node
        that made it and to the node it feeds, and a leaf's value repeats across calls."""
        value = self.snaps.get(identity(t))
        if value is None:
            value = self.snaps[identity(t)] = self.batch.take(t)
            self.snapped.append(t)
        return value

    def maybe_snap(self, t: object) -> TensorValue | None:
        """``snap`` for tensors (gradients, results), None for None (no gradient)."""
        if t is None:
            return None
        value = self.snaps.get(identity(t))
        if value is not None:
            return value
        return self.snap(t) if isinstance(t, torch.Tensor) else None

    # -- keys and inputs -------------------------------------------------------------------
    def key(self, tensor: torch.Tensor) -> Any:
        """The graph object standing for a tensor: its grad_fn, or the tensor itself."""
        return tensor.grad_fn if tensor.grad_fn is not None else tensor

    def stopped(self, t: torch.Tensor) -> bool:
        """Whether a constant comes from tracking stopped somewhere (detach, no_grad...):
        such provenance is drawn, so the cut is visible; plain constants start fresh."""
        memo = self.stopped_memo
        stack = [t]
        while stack:  # iterative post-order: constant chains can be thousands long
            top = stack[-1]
            if identity(top) in memo:
                stack.pop()
                continue
            record = self.rec.record_of(top)
            if record is None:
                memo[identity(top)] = False
                stack.pop()
                continue
            pending = [i for i in record.inputs if not i.requires_grad and identity(i) not in memo]
            if pending and not record.cut_from:  # inputs are older records: no cycles
                stack.extend(pending)
                continue
            memo[identity(top)] = bool(record.cut_from) or any(
                memo.get(identity(i), False) for i in record.inputs if not i.requires_grad
            )
            stack.pop()
        return memo[identity(t)]

    def inputs_of(self, obj: Any) -> list[_Input]:
        if isinstance(obj, torch.Tensor):
            record = self.rec.by_id.get(identity(obj))
            if record is None or (not record.cut_from and obj.requires_grad):
                return []  # (most tensors: leaves)
            found: list[_Input] = [(self.key(t), i, "cut") for i, t in enumerate(record.cut_from)]
            if not obj.requires_grad:
                found.extend(
                    (t, i, "constant")
                    for i, t in enumerate(record.inputs)
                    if not t.requires_grad and self.stopped(t)
                )
            return found
        found = [
            (fn.variable if type(fn) is ACCUMULATE_GRAD else fn, i, "grad")
            for i, (fn, _) in enumerate(obj.next_functions)
            if fn is not None
        ]
        record = self.by_fn.get(identity(obj))
        if record is not None and not isinstance(obj, _CUSTOM_FUNCTION):
            for i, t in enumerate(record.inputs):
                if not t.requires_grad:
                    found.append((t, i, "constant"))
        return found

    def walk(self, roots: Iterable[Any]) -> None:
        """Post-order DFS from each root, with an explicit stack of (object, inputs, iterator
        over the inputs not yet visited)."""
        ids, order, inputs, inputs_of = self.ids, self.order, self.inputs, self.inputs_of
        if self.kept is not None:
            inputs_of = self.kept_inputs
        for root in roots:
            if identity(root) in ids or (self.kept is not None and identity(root) not in self.kept):
                continue
            on_stack = {identity(root)}
            kids = inputs_of(root)
            stack: list[tuple[Any, list[_Input], Iterator[_Input]]] = [(root, kids, iter(kids))]
            while stack:
                obj, kids, rest = stack[-1]
                for child, _, _ in rest:
                    if identity(child) not in ids and identity(child) not in on_stack:
                        on_stack.add(identity(child))
                        grandkids = inputs_of(child)
                        stack.append((child, grandkids, iter(grandkids)))
                        break
                else:  # every input visited: the object itself, after them
                    stack.pop()
                    ids[identity(obj)] = f"n{len(order)}"
                    order.append(obj)
                    inputs[identity(obj)] = kids

    def keep_nearest(self, roots: list[Any], most: int) -> bool:
        """Limit the walk to the ``most`` objects nearest the roots (breadth first), if the
        graph has more: a run's bound on nodes. Returns whether it had more."""
        kept: dict[int, list[_Input]] = {}
        alive = []  # keeps the objects keyed by identity() alive
        queue = deque(roots)
        while queue:
            obj = queue.popleft()
            if identity(obj) in kept:
                continue
            if len(kept) == most:
                self.kept = kept
                return True
            kept[identity(obj)] = kids = self.inputs_of(obj)
            alive.append(obj)
            queue.extend(child for child, _, _ in kids)
        return False

    def kept_inputs(self, obj: Any) -> list[_Input]:
        assert self.kept is not None
        return [kid for kid in self.kept[identity(obj)] if identity(kid[0]) in self.kept]

    # -- nodes -----------------------------------------------------------------------------
    def last_grads(self) -> dict[int, tuple[Any, ...]]:
        """For each autograd node, the gradients arriving in the last call that reached it."""
        out: dict[int, tuple[Any, ...]] = {}
        for call in self.rec.calls:
            for node, arriving, _ in call.steps:
                out[identity(node)] = arriving
        return out

    def leaf_results(self) -> tuple[set[int], set[int]]:
        """The tensors autograd.grad computed a gradient for, and the gradients it returned."""
        inputs: set[int] = set()
        returned: set[int] = set()
        for call in self.rec.calls:
            for t, g in zip(call.inputs, call.results, strict=False):
                if g is not None:
                    inputs.add(identity(t))
                    returned.add(identity(g))
        return inputs, returned

    def node(self, obj: Any, grads: dict[int, tuple[Any, ...]], results: Any) -> Node:
        node_id = self.ids[identity(obj)]
        if isinstance(obj, torch.Tensor):
            return self.tensor_node(node_id, obj, results)
        return self.op_node(node_id, obj, grads)

    def tensor_node(
        self, node_id: str, t: torch.Tensor, results: tuple[set[int], set[int]]
    ) -> Node:
        record = self.rec.by_id.get(identity(t))
        is_leaf = t.requires_grad
        flags: list[Flag] = sorted(record.flags) if record is not None and record.flags else []
        grad = None
        # A leaf shows the .grad torch holds. What autograd.grad returned is the call's result
        # (and the node of the tensor the program bound it to), never .grad.
        differentiated, returned = results
        if is_leaf:
            grad = self.maybe_snap(t.grad)
            if grad is None and identity(t) in differentiated:
                flags.append("grad_not_accumulated")
        value = self.snap(t)
        kind: NodeKind = "leaf" if is_leaf else "constant"
        shape, dtype, flags_ = value.shape, value.dtype, tuple(flags)
        if record is None:
            return Node(
                id=node_id, kind=kind, name=None, op=None, label="tensor", shape=shape,
                dtype=dtype, requires_grad=is_leaf, value=value, grad=grad, flags=flags_,
            )  # fmt: skip
        label = record.func
        if label == "input" and identity(t) in returned:
            label = "autograd.grad"  # what made it, rather than "came from outside"
        return Node(
            id=node_id, kind=kind, name=record.name, op=None, label=label, shape=shape,
            dtype=dtype, requires_grad=is_leaf, value=value, grad=grad, flags=flags_,
            module=record.module, seq=record.seq, line=record.line,
            stopped_line=record.stopped_line,
        )  # fmt: skip

    def saved_of(self, fn: Any) -> dict[str, Any]:
        """What autograd saved on ``fn``: read during backward if that call freed it."""
        raw = self.rec.saved.get(fn) if self.rec.saved else None
        if raw is None:
            limit = self.saved_limit
            raw = saved_of(fn) if limit is None or len(self.order) <= limit else {}
        return raw

    def op_node(self, node_id: str, fn: Any, grads: dict[int, tuple[Any, ...]]) -> Node:
        record = self.by_fn.get(identity(fn))
        saved = self.saved_of(fn) if self.read_saved else {}
        tensor: object = None
        if record is not None:
            tensor = record.tensor
        else:  # an op nobody bound to a name: its saved result (tanh, exp...) is its value
            tensor = saved.get("result")
            if not isinstance(tensor, torch.Tensor):
                tensor = self.rec.saved.get(fn, {}).get("result")
            if not isinstance(tensor, torch.Tensor):
                tensor = saved_result(fn)
        arriving = grads.get(identity(fn))
        grad_value = self.maybe_snap(arriving[0]) if arriving else None
        value = self.snap(tensor) if isinstance(tensor, torch.Tensor) else None
        shown = value or grad_value
        shape, dtype = (shown.shape, shown.dtype) if shown else ((), "")
        class_name = type(fn).__name__
        label = friendly_op(class_name)
        saved_values = {
            k: self.snap(v) if isinstance(v, torch.Tensor) else saved_text(v)
            for k, v in saved.items()
        }
        if record is None:  # an op autograd made on its own (the ``t`` of a Linear's weight)
            return Node(
                id=node_id, kind="op", name=None, op=class_name, label=label, shape=shape,
                dtype=dtype, requires_grad=True, value=value, grad=grad_value,
                saved=saved_values, flags=("internal",),
            )  # fmt: skip
        flags = record.flags
        if flags and isinstance(fn, _CUSTOM_FUNCTION):
            flags = flags - _STOPPED
        return Node(
            id=node_id, kind="op", name=record.name, op=class_name, label=label, shape=shape,
            dtype=dtype, requires_grad=True, value=value, grad=grad_value, saved=saved_values,
            flags=tuple(sorted(flags)) if flags else (), module=record.module,
            seq=record.seq, line=record.line,
        )  # fmt: skip

    # -- calls and events ------------------------------------------------------------------
    def id_of(self, obj: Any) -> str | None:
        if is_accumulate(obj):
            obj = obj.variable
        return self.ids.get(identity(obj))

    def tensor_id(self, t: torch.Tensor | None) -> str | None:
        return None if t is None else self.ids.get(identity(self.key(t)))

    def seq_ids(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for r in self.rec.records:
            node_id = self.ids.get(identity(r.tensor))
            if node_id is not None:
                out[r.seq] = node_id
        return out

    def call(self, live: LiveCall, seq_ids: dict[int, str]) -> BackwardCall:
        steps = []
        order = []
        snap, ids = self.maybe_snap, self.ids
        for node, arriving, sent in live.steps:  # (hot: one per node the engine ran)
            node_id = ids.get(identity(node.variable if is_accumulate(node) else node))
            if node_id is None:
                continue
            order.append(node_id)
            steps.append(NodeStep(node_id, tuple(map(snap, arriving)), tuple(map(snap, sent))))
        roots = [self.tensor_id(r) for r in live.roots]
        return BackwardCall(
            kind="grad" if live.kind == "grad" else "backward",
            root=roots[0] if roots else None,
            roots=tuple(r for r in roots if r is not None),
            order=tuple(order),
            steps=tuple(steps),
            gradient=tuple(map(snap, live.gradients)),
            inputs=tuple(map(self.tensor_id, live.inputs)),
            results=tuple(map(snap, live.results)),
            result_nodes=tuple(map(self.tensor_id, live.results)),
            create_graph=live.create_graph,
            retain_graph=live.retain_graph,
            root_value=live.root_values[0] if live.root_values else None,
            leaf_grads=_by_id(live.leaf_grads, seq_ids),
            leaf_values=_by_id(live.leaf_values, seq_ids),
            jacobians=_by_id(live.jacobians, seq_ids),
            line=live.line,
            origin=live.origin,
        )

    def event(self, live: LiveEvent, seq_ids: dict[int, str]) -> Event:
        return Event(
            kind=live.kind,  # type: ignore[arg-type]
            line=live.line,
            call=live.call,
            leaf_grads=_by_id(live.leaf_grads, seq_ids),
            leaf_values=_by_id(live.leaf_values, seq_ids),
        )

    def module_classes(self, nodes: list[Node]) -> dict[str, str]:
        """Class names of the modules the graph's nodes belong to, and of their parents."""
        known = self.rec.module_classes
        used: set[str] = set()
        for module in {n.module for n in nodes if n.module}:
            used.update(enclosing_paths(module))
        return {path: cls for path, cls in known.items() if path in used}

    def build(self, roots: list[torch.Tensor], max_nodes: int | None = None) -> Graph:
        cut = max_nodes is not None and self.keep_nearest([self.key(t) for t in roots], max_nodes)
        self.walk(self.key(t) for t in roots)
        grads, results = self.last_grads(), self.leaf_results()
        nodes = [self.node(obj, grads, results) for obj in self.order]
        ids = self.ids
        edges = [
            Edge(ids[identity(src)], ids[identity(obj)], position, kind)
            for obj in self.order
            for src, position, kind in self.inputs[identity(obj)]
        ]
        nodes = _internal_ops_join_consumers(nodes, edges)
        consumed = {e.src for e in edges}
        outputs: dict[str, None] = {}
        for t in roots:
            node_id = self.tensor_id(t)
            if node_id is not None and node_id not in consumed:
                outputs[node_id] = None
        nodes = [replace(n, flags=(*n.flags, "output")) if n.id in outputs else n for n in nodes]
        seq_ids = self.seq_ids()
        notes: tuple[Note, ...] = ()
        if cut:
            said = (
                f"The graph has more than {max_nodes:,} nodes: the {max_nodes:,} nearest "
                "the outputs are shown (Limits.max_nodes)."
            )
            notes = (Note("limit", said),)
        graph = Graph(
            nodes=tuple(nodes),
            edges=tuple(edges),
            outputs=tuple(outputs),
            backward_calls=tuple(self.call(c, seq_ids) for c in self.rec.calls),
            events=tuple(self.event(e, seq_ids) for e in self.rec.events),
            notes=notes,
            functional_calls=tuple(
                FunctionalCall(f.kind, f.function, tuple(f.inputs), f.result, f.line)  # type: ignore[arg-type]
                for f in self.rec.functional
            ),
            module_classes=self.module_classes(nodes),
        )
        self.batch.close()
        self.keep_deep_graph()
        return graph

    def keep_deep_graph(self) -> None:
        """``keep_until_unused`` for a graph of DEEP_GRAPH_NODES autograd Nodes or more. They
        are counted before their roots are searched: smaller graphs need no keeper."""
        if len(self.order) < DEEP_GRAPH_NODES:
            return
        fns = [obj for obj in self.order if not isinstance(obj, torch.Tensor)]
        if len(fns) >= DEEP_GRAPH_NODES:
            fed = {identity(inp[0]) for obj in fns for inp in self.inputs[identity(obj)]}
            keep_until_unused(fns, [fn for fn in fns if identity(fn) not in fed])


def _internal_ops_join_consumers(nodes: list[Node], edges: list[Edge]) -> list[Node]:
    """Ops autograd made on its own (the ``t`` of a Linear's weight) belong to the module of
    their consumers when those agree; ``nodes`` lists inputs before their consumers."""
    if not any(n.module for n in nodes) or not any(
        n.module is None and "internal" in n.flags for n in nodes
    ):
        return nodes
    users: dict[str, list[str]] = {}
    for e in edges:
        users.setdefault(e.src, []).append(e.dst)
    module = {n.id: n.module for n in nodes}
    out = list(nodes)
    for i in reversed(range(len(out))):  # consumers first: an internal op feeding one joins too
        n = out[i]
        if n.module is None and n.kind == "op" and "internal" in n.flags:
            module[n.id] = common_module([module[u] for u in users.get(n.id, [])])
            out[i] = replace(n, module=module[n.id])
    return out


def _by_id(values: dict[int, Any], seq_ids: dict[int, str]) -> dict[str, Any]:
    return {seq_ids[seq]: v for seq, v in values.items() if seq in seq_ids}


def build_graph(
    recording: Recording,
    roots: list[torch.Tensor],
    *,
    saved: bool = True,
    saved_limit: int | None = SAVED_TENSORS_MAX_NODES,
    max_nodes: int | None = None,
) -> Graph:
    """The Graph of everything reachable from ``roots``.

    Args:
        recording: What a program did (from a RecordingSession).
        roots: Tensors to draw from, in order: backward roots, named tensors, results.
        saved: Read what autograd saved for each op (``Node.saved``). Without it an op's
            value still comes from its saved result where it has one.
        saved_limit: Read saved tensors still in the graph only when it has at most this
            many nodes (None: always); those read during backward are kept regardless.
        max_nodes: At most this many nodes, the nearest the roots (None: all), with a note.

    Returns:
        Nodes, edges, outputs (roots nothing else consumes), backward calls and events.
    """
    # A leaf's .grad bound to a name (`g = a.grad`) is not a second output: the leaf's node
    # already shows it as its gradient.
    grads = {
        identity(t.grad) for t in roots if t.is_leaf and t.requires_grad and t.grad is not None
    }
    roots = [t for t in roots if identity(t) not in grads]
    with no_gc():  # tens of thousands of small objects: the collector's passes cost more
        return _Builder(recording, saved, saved_limit).build(roots, max_nodes)
