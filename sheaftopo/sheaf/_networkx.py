"""Reading a :class:`~sheaftopo.sheaf.CellularSheaf` from, and writing it to, a networkx graph.

The bodies of :meth:`CellularSheaf.from_networkx` and
:meth:`CellularSheaf.to_networkx`: restriction maps travel as an edge
attribute keyed by endpoint, stalk dimensions of isolated vertices as the node
attribute ``"dim"``, and edge weights as a numeric edge attribute (``"weight"``
by default, networkx's convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.graphs import as_weighted_graph_edges, is_networkx_graph
from .._validation import as_float_array, check_int

__all__ = [
    "as_edge_weights",
    "check_attr",
    "check_vertex_labels",
    "graph_of",
    "sheaf_arrays_from_networkx",
    "sheaf_to_networkx",
]


def check_attr(attr: Any, what: str = "attr") -> None:
    """``attr`` must name an attribute (a string)."""
    if not isinstance(attr, str):
        raise TypeError(f"{what} must be a string (an edge attribute name); got {attr!r}")


def _maps_of(G: Any, labels: list, edges: np.ndarray, attr: str) -> tuple[list, list]:
    """The tail and head maps of every edge, read from the edge attribute ``attr``."""
    tails, heads = [], []
    for k, (i, j) in enumerate(edges):
        a, b = labels[i], labels[j]
        maps = G.edges[a, b].get(attr)
        if not isinstance(maps, dict) or a not in maps or b not in maps:
            raise ValueError(
                f"edge {k} ({a!r}, {b!r}) must carry {attr}={{{a!r}: F_a, {b!r}: F_b}}; "
                f"got {type(maps).__name__}"
            )
        tails.append(maps[a])
        heads.append(maps[b])
    return tails, heads


def _vertex_dims(G: Any, labels: list, edges: np.ndarray, vd: np.ndarray) -> np.ndarray:
    """``vd`` with the node attribute ``"dim"`` applied (checked against the maps)."""
    vd = vd.copy()
    touched = np.zeros(len(labels), dtype=bool)
    touched[edges.ravel()] = True
    for i, node in enumerate(labels):
        dim = G.nodes[node].get("dim")
        if dim is None:
            continue
        dim = check_int(dim, f"the 'dim' attribute of node {node!r}", minimum=1)
        if touched[i] and dim != vd[i]:
            raise ValueError(
                f"the 'dim' attribute of node {node!r} is {dim} but its restriction maps "
                f"have {vd[i]} columns"
            )
        vd[i] = dim
    return vd


def sheaf_arrays_from_networkx(
    cls: Any, G: Any, attr: str, weight: Any, nodelist: Any
) -> tuple[tuple, dict]:
    """``(args, kwargs)`` of ``cls(...)`` for the sheaf whose maps ``G`` carries."""
    if not is_networkx_graph(G):
        raise TypeError(
            f"G must be a networkx graph whose edges carry their maps; got "
            f"{type(G).__name__} (use from_maps for edge lists)"
        )
    check_attr(attr)
    edges, n, labels, w = as_weighted_graph_edges(G, name="G", nodelist=nodelist, weight=weight)
    assert labels is not None  # a networkx graph always has labels
    tails, heads = _maps_of(G, labels, edges, attr)
    sheaf = cls.from_maps(edges, tails, heads, n_vertices=n)
    vd = _vertex_dims(G, labels, edges, sheaf.vertex_dims)
    lay = sheaf.layout
    args = (n, edges, vd, sheaf.edge_dims, lay.tail, lay.head)
    return args, {"vertex_labels": labels, "edge_weights": w}


def sheaf_to_networkx(sheaf: Any, attr: str, weight: Any) -> Any:
    """A networkx Graph with the maps, stalk dimensions and weights as attributes."""
    import networkx as nx

    check_attr(attr)
    if weight is not None:
        check_attr(weight, "weight")
    G = nx.Graph()
    labels = sheaf.vertex_labels
    for i, lab in enumerate(labels):
        G.add_node(lab, dim=int(sheaf.vertex_dims[i]))
    w = sheaf.edge_weights
    for e, (a, b) in enumerate(sheaf.edges):
        la, lb = labels[a], labels[b]
        data = {attr: {la: sheaf.tail_map(e).copy(), lb: sheaf.head_map(e).copy()}}
        if w is not None and weight is not None:
            data[weight] = float(w[e])
        G.add_edge(la, lb, **data)
    return G


def as_edge_weights(weights: Any, m: int, name: str = "edge_weights") -> np.ndarray:
    """Edge weights: shape (m,), finite and non-negative (any sum), as a new float64 array.

    Not :func:`sheaftopo._validation.as_weights`: those are probability weights
    (None becomes uniform, the sum must be one); a sheaf's edge weights scale
    the Laplacian's blocks.
    """
    w = np.array(as_float_array(weights, name, dtype=np.float64), copy=True)
    if w.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},), one per edge; got {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be finite and non-negative; {name}[{k}] = {w[k]!r}")
    return w


def graph_of(
    graph: Any, n_vertices: Any, weight: Any, nodelist: Any = None
) -> tuple[np.ndarray, int, list | None, np.ndarray | None]:
    """``(edges, n, labels, weights)`` of a constructor's graph (see ``as_weighted_graph_edges``).

    An edge list carries no weights: naming an attribute other than the
    default ``"weight"`` for one is an error rather than silently ignored.
    """
    if weight not in (None, "weight") and not is_networkx_graph(graph):
        raise ValueError(
            f"weight={weight!r} names a networkx edge attribute, but graph is an edge list; "
            "give the weights to the operators (weights=...) instead"
        )
    return as_weighted_graph_edges(graph, n_vertices, nodelist=nodelist, weight=weight)


def check_vertex_labels(vertex_labels: Any, n: int) -> None:
    """``vertex_labels`` is None or a sequence of ``n`` node labels."""
    if vertex_labels is None:
        return
    if isinstance(vertex_labels, (str, bytes, dict)) or not (
        isinstance(vertex_labels, Sequence)
        or (isinstance(vertex_labels, np.ndarray) and vertex_labels.ndim == 1)
    ):
        raise TypeError(
            f"vertex_labels must be a list of {n} node labels or None; got "
            f"{type(vertex_labels).__name__}"
        )
    if len(vertex_labels) != n:
        raise ValueError(f"vertex_labels must have {n} entries; got {len(vertex_labels)}")
