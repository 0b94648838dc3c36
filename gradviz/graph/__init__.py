"""The Graph (plain data) and how it is built from a recording."""

from gradviz.graph.model import BackwardCall, Edge, Event, Graph, Node, NodeStep

__all__ = ["BackwardCall", "Edge", "Event", "Graph", "Node", "NodeStep"]
