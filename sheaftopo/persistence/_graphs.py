"""Minimum spanning forests of weighted graphs: scipy.sparse matrices and edge lists.

:func:`spanning_forest` is the graph counterpart of :func:`~sheaftopo.persistence.mst`
(which takes points and dense distance matrices), as
``scipy.sparse.csgraph.minimum_spanning_tree`` is of a dense routine:
Kruskal with union-find on the graph as given. :func:`as_graph` and
:func:`kruskal_selection` are shared with :func:`~sheaftopo.persistence.h1_births`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.mst import SpanningForest, finish_forest, mst_kernels
from .._validation import as_edge_list, as_sparse_graph

__all__ = ["as_graph", "graph_forest", "is_sparse", "kruskal_selection", "spanning_forest"]


def is_sparse(data: Any) -> bool:
    import scipy.sparse as sp

    return bool(sp.issparse(data))


def as_graph(
    data: Any, *, weights: Any = None, n_vertices: int | None = None, name: str = "data"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A sparse matrix or an edge list as a simple undirected graph ``(lo, hi, w, n)``.

    One edge per vertex pair ``lo < hi``, with the smallest weight stored for
    that pair (a symmetric matrix stores each edge twice). A sparse matrix is
    read as the matrix it represents: duplicate stored entries of one
    ``(i, j)`` are summed (as ``toarray()`` and ``scipy.sparse.csgraph`` do),
    and a non-zero diagonal entry, a vertex birth in ripser's convention,
    is refused (every vertex is born at 0 here). Self-loops of an edge list
    are dropped (they never join two components).
    """
    if is_sparse(data):
        if weights is not None:
            raise ValueError("weights= is only for edge lists; a sparse matrix holds its own")
        if n_vertices is not None:
            raise ValueError("n_vertices= is only for edge lists; a sparse matrix has a shape")
        rows, cols, w, n = as_sparse_graph(data, name)  # checks kind, shape, dtype, weights
        canonical = data.tocsr(copy=True)  # never the caller's matrix
        canonical.sum_duplicates()
        rows, cols, w, n = as_sparse_graph(canonical, name)
        diag = np.asarray(canonical.diagonal(), dtype=np.float64)
        if (diag != 0).any():
            i = int(np.flatnonzero(diag != 0)[0])
            raise ValueError(
                f"{name} must have a zero diagonal (every vertex is born at 0, as for a "
                f"dense distance matrix); found {name}[{i}, {i}] = {float(diag[i])!r}. Vertex "
                "births (ripser's reading of a sparse diagonal) are not supported: set the "
                "diagonal to 0"
            )
    else:
        if weights is None:
            raise TypeError(
                f"{name} must be a scipy.sparse matrix, or an (m, 2) edge list given with "
                "weights=; got neither"
            )
        rows, cols, w, n = as_edge_list(data, weights, n_vertices, name)
    lo = np.minimum(rows, cols)
    hi = np.maximum(rows, cols)
    order = np.lexsort((w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], w[first], n


def kruskal_selection(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """Indices of the edges of a minimum spanning forest, in edge-key order."""
    order = np.lexsort((hi, lo, w))
    return mst_kernels().kruskal(lo, hi, order, n)


def graph_forest(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int) -> SpanningForest:
    """The minimum spanning forest of a graph as :func:`as_graph` returns it (Kruskal)."""
    sel = kruskal_selection(lo, hi, w, n)
    return finish_forest(lo[sel], hi[sel], w[sel], n, "kruskal")


def spanning_forest(
    graph: Any, *, weights: Any = None, n_vertices: int | None = None
) -> SpanningForest:
    """Minimum spanning forest of a weighted undirected graph (Kruskal).

    The graph counterpart of :func:`~sheaftopo.persistence.mst`, which takes
    points and dense distance matrices; the split follows
    ``scipy.sparse.csgraph``. A graph's H0 persistence diagram is
    ``spanning_forest(graph).diagram``.

    Parameters
    ----------
    graph : scipy.sparse matrix or array_like of int, shape (m, 2)
        One of

        * a square ``scipy.sparse`` matrix (or array), shape (n, n): every
          *stored* off-diagonal entry is an edge, explicit zeros included
          (scipy's dense csgraph routines read a zero as a missing edge, which
          silently disconnects duplicate points; here zeros are edges of
          weight 0). The graph is undirected: when ``(i, j)`` and ``(j, i)``
          are both stored with different weights, the **smaller** weight is
          the edge's weight (as in
          ``scipy.sparse.csgraph.minimum_spanning_tree``); duplicate stored
          entries of the same ``(i, j)`` (possible in COO format) are summed
          first, as ``toarray()`` does. The diagonal must be zero (explicit
          zeros allowed): a non-zero ``graph[i, i]``, which ripser reads as
          the birth of vertex ``i``, raises a ``ValueError``, since every
          vertex is born at 0 here;
        * an edge list, shape (m, 2) of vertex indices, with ``weights=``; a
          pair listed twice keeps its smaller weight and self-loops ``(i, i)``
          are ignored (they never join two components).
    weights : array_like, shape (m,), optional
        Non-negative finite edge weights; required for an edge list, refused
        for a sparse matrix (which holds its own).
    n_vertices : int, optional
        Number of vertices of an edge list (default: largest index + 1);
        refused for a sparse matrix (which has a shape).

    Returns
    -------
    SpanningForest
        Edges ``(i, j)``, ``i < j``, sorted by ``(weight, i, j)``; weights;
        number of components (a graph may be disconnected); component labels;
        ``method="kruskal"``.

    Raises
    ------
    TypeError
        If ``graph`` is neither a sparse matrix nor an edge list given with
        ``weights``, or holds non-real weights or non-integer indices.
    ValueError
        On a non-square matrix, a non-zero diagonal, negative or non-finite
        weights, indices out of range, or ``weights``/``n_vertices`` given with
        a sparse matrix; the message names the argument.

    References
    ----------
    .. [1] J. B. Kruskal, "On the shortest spanning subtree of a graph and the
       traveling salesman problem", Proc. AMS 7 (1956).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import spanning_forest
    >>> edges = np.array([[0, 1], [1, 2], [0, 2], [3, 4]])
    >>> forest = spanning_forest(edges, weights=[1.0, 2.0, 3.0, 0.5])
    >>> forest.edges
    array([[3, 4],
           [0, 1],
           [1, 2]])
    >>> forest.n_components
    2
    >>> forest.diagram[:, 1]
    array([0.5, 1. , 2. , inf, inf])
    """
    return graph_forest(*as_graph(graph, weights=weights, n_vertices=n_vertices, name="graph"))
