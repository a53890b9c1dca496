"""Graphs given by the user: networkx graphs or integer edge lists, checked in one place.

A graph input becomes ``(edges, n, labels)`` (and, from a networkx edge
attribute, edge weights): the cellular sheaves, the learned sheaves and
SheafAlign's communication graphs all read their graphs here, so that every
one refuses self-loops, repeated edges, multigraphs and bad node lists with
the same message, and reads ``weight`` / ``nodelist`` as networkx does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import _describe, check_int

__all__ = ["as_graph_edges", "as_weighted_graph_edges", "is_networkx_graph"]


def is_networkx_graph(graph: Any) -> bool:
    """Whether ``graph`` quacks like a networkx graph (nodes, edges, is_directed)."""
    return hasattr(graph, "nodes") and hasattr(graph, "edges") and hasattr(graph, "is_directed")


def as_graph_edges(
    graph: Any, n_vertices: Any = None, name: str = "graph", *, nodelist: Any = None
) -> tuple[np.ndarray, int, list | None]:
    """A simple graph: a networkx graph, or an (m, 2) integer edge list with ``n_vertices``.

    Returns ``(edges, n, labels)``: ``edges`` (m, 2) int64 in the given
    orientation (networkx: the order ``graph.edges()`` reports, nodes numbered
    in ``graph.nodes`` order, or in ``nodelist`` order when given: then only
    the subgraph induced by ``nodelist`` is kept, as networkx's
    ``laplacian_matrix(G, nodelist)`` does), ``labels`` the networkx node
    labels (None for an edge list). Self-loops, repeated edges (in either
    orientation) and vertices out of range raise ``ValueError``.
    """
    return as_weighted_graph_edges(graph, n_vertices, name, nodelist=nodelist, weight=None)[:3]


def _node_order(graph: Any, nodelist: Any, name: str) -> list:
    """The node labels in vertex order: ``graph.nodes``, or a checked ``nodelist``."""
    if nodelist is None:
        return list(graph.nodes)
    if isinstance(nodelist, (str, bytes, dict)) or not hasattr(nodelist, "__iter__"):
        raise TypeError(f"nodelist must be a sequence of nodes of {name}; got {nodelist!r}")
    labels = list(nodelist)
    seen: set = set()
    for node in labels:
        try:
            known = node in graph
        except TypeError:  # unhashable
            known = False
        if not known:
            raise ValueError(f"nodelist names {node!r}, which is not a node of {name}")
        if node in seen:
            raise ValueError(f"nodelist repeats the node {node!r}")
        seen.add(node)
    return labels


def _edge_weight_values(values: list, weight: str, name: str) -> np.ndarray:
    """The edge attribute ``weight`` of a networkx graph as finite non-negative float64."""
    try:
        w = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"the edge attribute {weight!r} of {name} must hold real numbers") from None
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"the edge attribute {weight!r} of {name} must be finite and non-negative "
            f"(a sheaf Laplacian's edge weight); edge {k} has {values[k]!r}"
        )
    return w


def as_weighted_graph_edges(
    graph: Any,
    n_vertices: Any = None,
    name: str = "graph",
    *,
    nodelist: Any = None,
    weight: Any = None,
) -> tuple[np.ndarray, int, list | None, np.ndarray | None]:
    """:func:`as_graph_edges` and the edge weights read from a networkx attribute.

    Returns ``(edges, n, labels, weights)``. ``weight`` names the edge
    attribute (networkx's convention: an edge without it weighs 1); weights are
    None when ``weight`` is None, the graph is an edge list, or no edge carries
    the attribute. A networkx graph's weights must be finite and non-negative.
    """
    if weight is not None and not isinstance(weight, str):
        raise TypeError(f"weight must be an edge attribute name (str) or None; got {weight!r}")
    if not is_networkx_graph(graph):
        if nodelist is not None:
            raise ValueError(f"nodelist is only for networkx graphs; {name} is an edge list")
        edges, n = _edge_list(graph, n_vertices, name)
        return _simple(edges, name), n, None, None
    if graph.is_multigraph():
        raise ValueError(
            f"{name} is a networkx multigraph; cellular sheaves here live on simple "
            "graphs (subdivide parallel edges)"
        )
    if n_vertices is not None:
        raise ValueError(f"n_vertices is only for edge lists; {name} is a networkx graph")
    labels = _node_order(graph, nodelist, name)
    if not labels:
        raise ValueError(f"{name} must have at least one vertex")
    index = {node: i for i, node in enumerate(labels)}
    rows = [
        (index[a], index[b], d)
        for a, b, d in graph.edges(data=True)
        if nodelist is None or (a in index and b in index)
    ]
    edges = np.array([r[:2] for r in rows], dtype=np.int64).reshape(-1, 2)
    w = None
    if weight is not None and any(weight in r[2] for r in rows):
        w = _edge_weight_values([r[2].get(weight, 1.0) for r in rows], weight, name)
    return _simple(edges, name), len(labels), labels, w


def _edge_list(graph: Any, n_vertices: Any, name: str) -> tuple[np.ndarray, int]:
    """An (m, 2) integer edge list and its vertex count, indices checked."""
    e = np.asarray(graph)
    if e.dtype.kind not in "iu" and not (e.size == 0 and e.dtype.kind == "f"):
        raise TypeError(
            f"{name} must be a networkx graph or an integer (m, 2) edge list; got {_describe(e)}"
        )
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_edges, 2); got shape {e.shape}")
    edges = e.astype(np.int64)
    if n_vertices is None:
        if edges.size == 0:
            raise ValueError(f"n_vertices must be given when {name} has no edges")
        n = int(edges.max()) + 1
    else:
        n = check_int(n_vertices, "n_vertices", minimum=1)
    if edges.size and (int(edges.min()) < 0 or int(edges.max()) >= n):
        bad = int(np.flatnonzero((edges < 0).any(1) | (edges >= n).any(1))[0])
        raise ValueError(
            f"{name} must index vertices in [0, {n}); edge {bad} is "
            f"({edges[bad, 0]}, {edges[bad, 1]})"
        )
    return edges, n


def _simple(edges: np.ndarray, name: str) -> np.ndarray:
    """``edges``, checked to have no self-loop and no repeated edge."""
    loops = edges[:, 0] == edges[:, 1]
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise ValueError(
            f"{name} has a self-loop at vertex {edges[k, 0]} (edge {k}); a cellular sheaf "
            "on a graph has no self-loops"
        )
    if len(edges) > 1:
        lo = np.minimum(edges[:, 0], edges[:, 1])
        hi = np.maximum(edges[:, 0], edges[:, 1])
        order = np.lexsort((hi, lo))
        same = (lo[order][1:] == lo[order][:-1]) & (hi[order][1:] == hi[order][:-1])
        if same.any():
            k = int(np.flatnonzero(same)[0])
            i, j = int(order[k]), int(order[k + 1])
            raise ValueError(
                f"{name} repeats the edge {{{lo[i]}, {hi[i]}}} (edges {i} and {j}); "
                "multigraphs are not supported: subdivide parallel edges"
            )
    return edges
