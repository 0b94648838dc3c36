"""The wire format: a Graph as plain JSON, for the trip from the sandboxed child to the host.

``to_wire`` keeps every field (summaries too, unlike ``Graph.to_dict``). The host treats what
comes back as untrusted: ``loads`` and ``from_wire`` bound its size, check every key, type and
node reference, and rebuild the Graph from plain data, or raise WireError saying where.

Both directions are compiled once from the model's own type hints, so the wire has exactly
the dataclasses' fields; a field of a type this module cannot carry fails at import.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from itertools import chain
from typing import Any, Literal, NoReturn, Union, get_args, get_origin, get_type_hints

from gradviz.model.graph import Graph
from gradviz.model.values import Nested, Summary, TensorValue, numel

WIRE_VERSION = 1
_MARKERS = ("nan", "inf", "-inf")
"""How snapshots write non-finite numbers (see values.finite_or_text)."""
_ELEMENT_MIN, _ELEMENT_MAX = -(2**63), 2**64
"""Tensor elements fit int64 or uint64; other ints (lines, sizes, indices) are 0 .. 2**63 - 1."""
_LIST, _FLOAT, _INT, _BOOL = {list}, {float}, {int}, {bool}
_OUTPUT = {"Graph.stdout", "Graph.result", "Graph.echoes"}
"""Strings bounded by WireLimits.max_output rather than max_string."""
_NODE_REFS = {"Edge.src", "Edge.dst", "Graph.outputs", "NodeStep.node", "BackwardCall.root"}
_NODE_REFS |= {f"BackwardCall.{name}" for name in ("roots", "order", "inputs", "result_nodes")}
"""Fields naming nodes by id (or lists of them): the nodes are read first, so they exist."""
_KEYED_BY_NODE = {"Event.leaf_grads", "Event.leaf_values", "BackwardCall.jacobians"}
_KEYED_BY_NODE |= {"BackwardCall.leaf_grads", "BackwardCall.leaf_values"}
_compiled: set[str] = set()
"""Every ``Class.field`` the readers were made for (to check the names above)."""


class WireError(ValueError):
    """What came back is not a valid wire Graph; the message says where."""


@dataclass(frozen=True)
class WireLimits:
    """Bounds on what the host accepts from the child."""

    max_bytes: int = 512 * 2**20
    """Length of the JSON text ``loads`` parses: room for max_elements floats in full."""
    max_nodes: int = 200_000
    """Nodes of the graph."""
    max_edges: int = 1_000_000
    """Edges of the graph (an op has a few inputs)."""
    max_elements: int = 20_000_000
    """Tensor elements carried (data and summary heads), summed over the whole graph."""
    max_string: int = 100_000
    """Length of ids, names, labels, dtypes, notes and keys: a name comes from the program,
    whose text is at most 100,000 characters (Limits.max_source_chars)."""
    max_output: int = 2_000_000
    """Length of stdout, of the result and of each echo: above the interpreter's bound on one
    repr (Limits.max_sequence_length, 1,000,000, plus "...")."""
    max_depth: int = 64
    """Dimensions of a tensor, hence the nesting of its data."""


Where = tuple[Any, ...]
"""Where a value is, made cheaply while reading and spelled out only for a WireError: ``()``
the top, ``(parent, "name")`` a field, ``(parent, 3)`` an item, ``(parent, ("k",))`` key k."""


@dataclass
class _Pass:
    """One ``from_wire``: its limits, the tensor elements so far and the node ids."""

    limits: WireLimits
    elements: int = 0
    ids: set[str] = field(default_factory=set)

    def charge(self, n: int, where: Where) -> None:
        self.elements += n
        if self.elements > self.limits.max_elements:
            _fail(where, f"tensor elements over max_elements ({self.limits.max_elements})")


Writer = Callable[[Any], Any]
Reader = Callable[[Any, Where, _Pass], Any]
"""(value, where it is, the pass) -> the rebuilt value, or WireError."""


def _kind(v: object) -> str:
    names = {dict: "an object", list: "a list", str: "a str", bool: "a bool", int: "an int"}
    return "null" if v is None else names.get(type(v), f"a {type(v).__name__}")


def _short(v: object) -> str:  # never the repr of a big or deep value
    return repr(v[:40]) if type(v) is str else _kind(v)


def _place(where: Where) -> str:
    parts: list[str] = []
    while where:
        where, key = where
        if type(key) is tuple:
            parts.append(f"[{_short(key[0])}]")
        else:
            parts.append(f"[{key}]" if type(key) is int else f".{key}")
    return "".join(reversed(parts)).removeprefix(".") or "wire"


def _fail(where: Where | str, what: str) -> NoReturn:
    raise WireError(f"{_place(where) if type(where) is tuple else where}: {what}")


def _expect(ok: bool, v: Any, where: Where, what: str) -> Any:
    if not ok:
        _fail(where, f"expected {what}, got {_short(v)}")
    return v


# -- writing -------------------------------------------------------------------------------
def _writer(hint: Any) -> Writer | None:
    """How to make a value of this type plain; None when it already is."""
    origin, args = get_origin(hint), get_args(hint)
    if isinstance(hint, type) and is_dataclass(hint):
        hints = get_type_hints(hint)
        parts = [(f.name, _writer(hints[f.name])) for f in fields(hint)]
        # getattr: a capture.snapshot._CopiedValue makes its data on first read.
        return lambda v: {k: getattr(v, k) if w is None else w(getattr(v, k)) for k, w in parts}
    writers = [(a, w) for a in args if (w := _writer(a)) is not None]
    if origin in (Union, types.UnionType) and writers:
        ((cls, one),) = writers  # None or a str beside at most one structured type
        return lambda v: one(v) if isinstance(v, cls) else v
    if origin in (list, tuple) and writers:
        return lambda v: [writers[0][1](x) for x in v]
    if origin in (dict, Mapping) and writers:
        return lambda v: {k: writers[0][1](x) for k, x in v.items()}
    if writers:
        raise TypeError(f"wire: no writer for {hint!r}")
    # A copy; None for what needs none (str, int, ...).
    return {list: list, tuple: list, dict: dict, Mapping: dict}.get(origin)


_write_graph: Writer = _writer(Graph) or dict


def to_wire(graph: Graph) -> dict[str, Any]:
    """The plain, JSON-ready form of every field of ``graph`` (shares the values' data lists)."""
    return {"wire": WIRE_VERSION, **_write_graph(graph)}


# -- reading -------------------------------------------------------------------------------
def _read_number(v: Any, where: Where, p: _Pass) -> Any:
    """A tensor element or Summary field: a finite number, a bool or a non-finite marker."""
    kind = type(v)
    if (kind is float and math.isfinite(v)) or kind is bool or (kind is str and v in _MARKERS):
        return v
    if kind is int and _ELEMENT_MIN <= v < _ELEMENT_MAX:
        return v
    if kind is float:
        _fail(where, "non-finite float (write 'nan', 'inf' or '-inf')")
    _fail(where, f"expected a number or 'nan', 'inf', '-inf', got {_short(v)}")


def _str_reader(name: str, ref: bool = False) -> Reader:
    output, ref, node_id = name in _OUTPUT, ref or name in _NODE_REFS, name == "Node.id"

    def read_str(v: Any, where: Where, p: _Pass) -> Any:
        limit = p.limits.max_output if output else p.limits.max_string
        if _expect(type(v) is str, v, where, "a str") and len(v) > limit:
            _fail(where, f"a str of {len(v)} characters, over the limit ({limit})")
        if ref and v not in p.ids:
            _fail(where, f"unknown node {_short(v)}")
        if node_id:
            if v in p.ids:
                _fail(where, f"duplicate id {_short(v)}")
            p.ids.add(v)
        return v

    return read_str


def _fields(v: Any, where: Where, keys: frozenset[str]) -> dict[str, Any]:
    """An object with exactly these keys."""
    if _expect(type(v) is dict, v, where, "an object").keys() != keys:
        missing = sorted(keys - v.keys())
        if missing:
            _fail(where, f"missing key {missing[0]!r}")
        _fail(where, f"unexpected key {_short(next(k for k in v if k not in keys))}")
    return v  # type: ignore[no-any-return]


def _plain(items: list[Any]) -> bool:
    """Whether ``items`` are all finite floats, all ints in range or all bools, checked in C:
    a sum of floats minus itself is 0 only if all are finite (an overflowing sum says False,
    which only sends the elements through the one-by-one check)."""
    kinds = set(map(type, items))
    if kinds == _FLOAT:
        total = sum(items)
        return bool(total - total == 0.0)
    if kinds == _INT:
        return bool(_ELEMENT_MIN <= min(items) and max(items) < _ELEMENT_MAX)
    return kinds == _BOOL


def _read_data(v: Any, shape: tuple[int, ...], where: Where, p: _Pass) -> Nested:
    """``v`` checked against ``shape`` level by level (no recursion), and kept as it is: its
    elements are never rewritten, and its lists are fresh from ``json.loads``."""
    if not shape:
        p.charge(1, where)
        return _read_number(v, where, p)
    p.charge(numel(shape), where)  # before walking: consistent data has exactly this many
    _expect(type(v) is list and len(v) == shape[0], v, where, f"a list of {shape[0]}")
    level = v
    for depth, size in enumerate(shape[1:], 1):  # level: the lists at this depth
        if level and (set(map(type, level)) != _LIST or set(map(len, level)) != {size}):
            _fail(where, f"expected lists of {size} at depth {depth} for shape {shape}")
        level = list(chain.from_iterable(level))
    if level and not _plain(level):
        for x in level:
            _read_number(x, where, p)
    return v


def _read_shape(v: Any, where: Where, p: _Pass) -> tuple[int, ...]:
    """Node.shape and TensorValue.shape: at most max_depth sizes."""
    n = p.limits.max_depth
    ok = type(v) is list and len(v) <= n
    ok = ok and (not v or (set(map(type, v)) == _INT and min(v) >= 0 and max(v) < 2**63))
    return tuple(_expect(ok, v, where, f"a list of at most {n} ints >= 0"))


def _read_value(v: Any, where: Where, p: _Pass) -> TensorValue:
    if type(v) is dict and "note" not in v:  # written before values had notes
        v = {**v, "note": None}
    d = _fields(v, where, _VALUE_KEYS)
    shape = _read_shape(d["shape"], (where, "shape"), p)
    dtype = _read_str(d["dtype"], (where, "dtype"), p)
    data, summary, note = d["data"], d["summary"], d["note"]
    note = None if note is None else _read_str(note, (where, "note"), p)
    if (data is None) == (summary is None):
        if data is not None or note is None:
            _fail(where, "expected exactly one of data and summary (neither: a note why)")
        return TensorValue(shape, dtype, note=note)  # its values could not be read
    if summary is None:
        return TensorValue(shape, dtype, _read_data(data, shape, (where, "data"), p), note=note)
    out: Summary = _read_summary(summary, (where, "summary"), p)
    p.charge(len(out.head), (where, "summary"))
    return TensorValue(shape, dtype, None, out, note)


def _reader(hint: Any, name: str = "") -> Reader:
    """How to check and rebuild a value of this type; ``name`` is ``Class.field``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is TensorValue:
        return _read_value
    if name == "Node.shape":
        return _read_shape
    if isinstance(hint, type) and is_dataclass(hint):
        hints = get_type_hints(hint)
        names = {f.name: f"{hint.__name__}.{f.name}" for f in fields(hint)}
        _compiled.update(names.values())
        parts = [(k, _reader(hints[k], name)) for k, name in names.items()]
        keys = frozenset(names)

        def read_dataclass(v: Any, where: Where, p: _Pass) -> Any:
            d = _fields(v, where, keys)
            return hint(**{k: r(d[k], (where, k), p) for k, r in parts})

        return read_dataclass
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if options == [float, str]:  # a Summary field
            return _read_number
        if options == [str, TensorValue]:  # Node.saved: an argument's text or a tensor
            return lambda v, where, p: (_read_str if type(v) is str else _read_value)(v, where, p)
        (option,) = options  # one type, or None
        inner = _reader(option, name)
        return lambda v, where, p: None if v is None else inner(v, where, p)
    if origin is Literal:
        one_of = f"one of {', '.join(args)}"
        return lambda v, where, p: _expect(type(v) is str and v in args, v, where, one_of)
    if origin is tuple and args[1:] == (...,):
        item = _reader(args[0], name)

        def read_items(v: Any, where: Where, p: _Pass) -> tuple[Any, ...]:
            _expect(type(v) is list, v, where, "a list")
            return tuple(item(x, (where, i), p) for i, x in enumerate(v))

        return read_items
    if origin is tuple:  # Graph.echoes: (line, text) pairs
        items = [_reader(a, name) for a in args]

        def read_tuple(v: Any, where: Where, p: _Pass) -> tuple[Any, ...]:
            _expect(type(v) is list and len(v) == len(items), v, where, f"a list of {len(items)}")
            return tuple(r(x, (where, i), p) for i, (r, x) in enumerate(zip(items, v, strict=True)))

        return read_tuple
    if origin in (dict, Mapping) and args[0] is str:
        key, value = _str_reader("", ref=name in _KEYED_BY_NODE), _reader(args[1], name)

        def read_dict(v: Any, where: Where, p: _Pass) -> dict[str, Any]:
            _expect(type(v) is dict, v, where, "an object")
            return {key(k, (where, (k,)), p): value(x, (where, (k,)), p) for k, x in v.items()}

        return read_dict
    if hint is int:
        return lambda v, where, p: _expect(type(v) is int and 0 <= v < 2**63, v, where, _AN_INT)
    if hint is bool:
        return lambda v, where, p: _expect(type(v) is bool, v, where, "a bool")
    if hint is str:
        return _str_reader(name)
    raise TypeError(f"wire: no reader for {hint!r} ({name})")  # a new kind of field in model.py


_AN_INT = "an int in 0 .. 2**63 - 1"
_VALUE_KEYS = frozenset(f.name for f in fields(TensorValue))
_read_str = _str_reader("")
_read_summary = _reader(Summary)
_read_graph = _reader(Graph)
if fields(Graph)[0].name != "nodes" or not _NODE_REFS | _KEYED_BY_NODE | _OUTPUT <= _compiled:
    raise TypeError("wire: Graph.nodes must come first, and every named field must exist")


def loads(text: bytes | str, limits: WireLimits = WireLimits()) -> Graph:
    """Parse the JSON text of a wire Graph (NaN and Infinity refused) and rebuild it."""
    if len(text) > limits.max_bytes:
        raise WireError(f"wire: {len(text)} bytes, over max_bytes ({limits.max_bytes})")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except WireError:
        raise
    except RecursionError:
        raise WireError("wire: JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, bad UTF-8, an int of too many digits
        raise WireError(f"wire: not valid JSON ({str(e)[:200]})") from None
    return from_wire(data, limits)


def _no_constant(name: str) -> NoReturn:
    raise WireError(f"wire: {name} is not JSON (non-finite numbers are strings)")


def from_wire(data: object, limits: WireLimits = WireLimits()) -> Graph:
    """Check ``data`` (``to_wire``'s output, through JSON) and rebuild the Graph from it. The
    Graph keeps the tensor data lists of ``data``; everything else is new.

    Raises:
        WireError: on a missing or extra key, a wrong type, an unknown node or a limit passed.
    """
    if type(data) is not dict:
        _fail("wire", f"expected an object, got {_kind(data)}")
    version = data.get("wire")
    if type(version) is not int or version != WIRE_VERSION:
        _fail("wire", f"expected wire version {WIRE_VERSION}, got {_short(version)}")
    for key, limit in (("nodes", limits.max_nodes), ("edges", limits.max_edges)):
        items = data.get(key)
        if type(items) is list and len(items) > limit:  # before reading any of them
            _fail(key, f"{len(items)} {key}, over max_{key} ({limit})")
    graph: Graph = _read_graph({k: v for k, v in data.items() if k != "wire"}, (), _Pass(limits))
    for i, event in enumerate(graph.events):
        if event.call is not None and event.call >= len(graph.backward_calls):
            _fail(f"events[{i}].call", f"no backward call {event.call}")
    return graph
