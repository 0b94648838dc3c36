"""The plain data every layer shares: the Graph, its values, its names and its JSON."""

from gradviz.model.graph import BackwardCall, Edge, Event, Graph, Node, NodeStep

__all__ = ["BackwardCall", "Edge", "Event", "Graph", "Node", "NodeStep"]
