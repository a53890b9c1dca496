"""Minimum spanning trees of point clouds and dense distance matrices.

The 0-dimensional persistence diagram of the Vietoris–Rips filtration of a
finite metric space is read off a minimum spanning tree: every finite death is
the length of one MST edge (see ``theory/h0-rips-mst.md``). This module finds
those trees exactly and fast; :mod:`._diagrams` turns them into diagrams.
Graphs (scipy.sparse matrices, edge lists) have their own entry point,
:func:`~sheaftopo.persistence.spanning_forest` (:mod:`._graphs`), as in
``scipy.sparse.csgraph``; the algorithms on points live in :mod:`._mst_points`.

Methods
-------
``"prim"``
    Dense Prim on the full matrix, O(n^2) memory. For points the matrix is the
    Gram matrix (one BLAS product) and squared distances are formed on the fly
    inside Prim's loop.
``"boruvka"``
    Borůvka rounds over row blocks of the Gram matrix (memory bounded by
    ``memory_budget``), for point clouds too large for a dense matrix. A sweep
    over block pairs first collects every point's k nearest neighbours;
    rounds are answered from those lists while they are conclusive; when they
    are not, one more sweep either joins the few remaining components exactly
    (their pairwise minimum distances) or refreshes the lists with each
    point's nearest points outside its component. The answer is exact: the
    k-nearest-neighbour graph is a warm start, never the final word.
``"kdtree"``
    Borůvka over a KD-tree (low dimension, roughly d <= 10), O(n log n)-like.
``"kruskal"``
    Kruskal with union-find: what :func:`~sheaftopo.persistence.spanning_forest`
    runs on graphs (accepted here only by the deprecated graph call forms).
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .._core.deprecation import REMOVED_IN
from .._core.mst import DEFAULT_MEMORY_BUDGET, SpanningForest, dense_mst, finish_forest, mst_kernels
from .._validation import as_distance_matrix, as_float_array, as_points, check_choice, check_int
from ._graphs import as_graph, graph_forest, is_sparse
from ._mst_points import auto_method, edge_lengths, gram_guard, mst_points, prepare_points

__all__ = ["SpanningForest", "mst", "mst_batch"]

METRICS = ("euclidean", "cosine", "precomputed")
METHODS = ("auto", "prim", "boruvka", "kdtree", "kruskal")


def _memory_budget(memory_budget: Any) -> int:
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    return check_int(memory_budget, "memory_budget", minimum=1024)


class MstInput(NamedTuple):
    """What :func:`mst` was given, told apart once by :func:`classify_input`."""

    #: ``"points"``, ``"matrix"`` (dense, ``metric="precomputed"``) or ``"graph"`` (deprecated)
    kind: str
    #: the validated points (n, d) or distance matrix (n, n); empty (0, 0) for a graph
    array: np.ndarray
    #: ``(lo, hi, w, n)`` of :func:`._graphs.as_graph` for a graph, else None
    graph: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None


def classify_input(data: Any, metric: str, method: str, weights: Any, n_vertices: Any) -> MstInput:
    """Validate ``data`` against ``metric``, ``method``, ``weights`` and ``n_vertices``.

    The one place where the argument combinations of :func:`mst` are checked:
    a ``weights=`` or a sparse matrix makes a graph (``metric="precomputed"``
    and ``method`` "auto" or "kruskal" required), ``n_vertices=`` belongs to
    edge lists only, ``metric="precomputed"`` makes a dense matrix (``method``
    "auto" or "prim"), anything else is points (``method`` is checked by the
    point algorithms). Errors name the offending argument.
    """
    if weights is not None or is_sparse(data):
        if metric != "precomputed":
            what = "an edge list (weights= was given)" if weights is not None else "a sparse matrix"
            raise ValueError(
                f"data is {what}, a graph: pass metric='precomputed' (got metric={metric!r})"
            )
        if method not in ("auto", "kruskal"):
            raise ValueError(f"method={method!r} does not apply to a graph; use 'kruskal'")
        graph = as_graph(data, weights=weights, n_vertices=n_vertices)
        return MstInput("graph", np.zeros((0, 0)), graph)
    if n_vertices is not None:
        raise ValueError("n_vertices= is only for edge lists (with weights=)")
    if metric == "precomputed":
        D = as_distance_matrix(data, "data")
        if method not in ("auto", "prim"):
            raise ValueError(
                f"method={method!r} does not apply to a dense distance matrix; use 'prim'"
            )
        return MstInput("matrix", D, None)
    return MstInput("points", as_points(data, "data"), None)


def _warn_graph_call(caller: str, depth: int) -> None:
    """The ``DeprecationWarning`` of a graph given to ``caller``, pointed at the user's line."""
    new = (
        "spanning_forest(graph).diagram"
        if caller.startswith("h0_diagram")
        else ("spanning_forest(graph)")
    )
    warnings.warn(
        f"{caller}() of a graph (a scipy.sparse matrix, or an edge list with weights=) is "
        f"deprecated and will be removed in sheaftopo {REMOVED_IN}; use "
        f"sheaftopo.persistence.{new} instead (same weights= and n_vertices=, same result)",
        DeprecationWarning,
        stacklevel=depth + 3,
    )


def forest(
    data: Any,
    metric: Any,
    method: Any,
    memory_budget: Any,
    weights: Any,
    n_vertices: Any,
    caller: str,
    depth: int,
) -> SpanningForest:
    """:func:`mst`, called by ``caller`` (named in the warning) ``depth`` calls below the user."""
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    budget = _memory_budget(memory_budget)
    given = classify_input(data, metric, method, weights, n_vertices)
    if given.graph is not None:  # kind "graph"
        _warn_graph_call(caller, depth)
        return graph_forest(*given.graph)
    if given.kind == "matrix":
        return dense_mst(given.array)
    return mst_points(given.array, metric, method, budget)


def mst(
    data: Any,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    memory_budget: int | None = None,
    weights: Any = None,
    n_vertices: int | None = None,
) -> SpanningForest:
    r"""Minimum spanning tree of a point cloud or a dense distance matrix.

    For a graph (a ``scipy.sparse`` matrix or an edge list) use
    :func:`~sheaftopo.persistence.spanning_forest`.

    Parameters
    ----------
    data : array_like
        One of

        * points, shape (n, d), with ``metric="euclidean"`` or ``"cosine"``;
        * a dense dissimilarity matrix, shape (n, n), with
          ``metric="precomputed"``: square, symmetric, non-negative, zero
          diagonal, finite; every off-diagonal entry is an edge.

        Deprecated (removed in sheaftopo 0.3; a ``DeprecationWarning`` names
        :func:`~sheaftopo.persistence.spanning_forest`, the result is the
        same): a graph with ``metric="precomputed"``, read as
        :func:`~sheaftopo.persistence.spanning_forest` reads it:

        * a sparse graph, a square ``scipy.sparse`` matrix: every *stored* off-diagonal entry is an
          edge, explicit zeros included (scipy's dense csgraph routines read a
          zero as a missing edge, which silently disconnects duplicate points;
          here zeros are edges of weight 0). The graph is undirected: when
          ``(i, j)`` and ``(j, i)`` are both stored with different weights,
          the **smaller** weight is the edge's weight (as in
          ``scipy.sparse.csgraph.minimum_spanning_tree``); duplicate stored
          entries of the same ``(i, j)`` (possible in COO format) are summed
          first, as ``toarray()`` does. The diagonal must be zero (explicit
          zeros allowed): a non-zero ``data[i, i]``, which ripser reads as the
          birth of vertex ``i``, raises a ``ValueError``, as it does in the
          dense form, since every vertex is born at 0 here;
        * an edge list, shape (m, 2) of vertex indices, with ``weights=``; a
          pair listed twice keeps its smaller weight and self-loops ``(i, i)``
          are ignored (they never join two components).
    metric : {"euclidean", "cosine", "precomputed"}
        ``"cosine"`` is the dissimilarity :math:`1 - \cos(x, y)` (as in
        scikit-learn and ripser), computed on the rows normalised to unit
        length (at any magnitude); zero rows, whose direction is undefined,
        raise a ``ValueError``.
    method : {"auto", "prim", "boruvka", "kdtree", "kruskal"}
        Algorithm; see the module documentation. ``"auto"`` picks the KD-tree
        for large clouds with d <= 10, blocked Borůvka when the n x n matrix
        does not fit in ``memory_budget`` or when n >= 8192 with rows of at
        least 2 KiB (the Gram products dominate and the sweep halves them),
        dense Prim otherwise (always for a dense matrix).
    memory_budget : int, optional
        Bytes of working memory the call may use (default 2 GiB). Decides
        between dense and blocked methods and sets the block size.
    weights, n_vertices
        Deprecated: the edge weights and vertex count of an edge list, as in
        :func:`~sheaftopo.persistence.spanning_forest`.

    Returns
    -------
    SpanningForest
        Edges ``(i, j)``, ``i < j``, sorted by ``(weight, i, j)``; weights;
        number of components (1); component labels.

    Notes
    -----
    Precision. Dense Prim and blocked Borůvka select the tree on squared
    distances from the Gram identity
    :math:`|x-y|^2 = |x|^2 + |y|^2 - 2\langle x, y\rangle` (BLAS, in the input's
    precision, on centred coordinates when the cloud is offset). That identity
    loses up to about :math:`E = 2 d u (|x|^2 + |y|^2)` to rounding (u the unit
    roundoff), which would scramble near-duplicates; every value below
    :math:`64\, d\, \epsilon\, (|x|^2+|y|^2)` is therefore recomputed from the
    coordinates, so near-duplicates are ordered exactly. Above that guard only
    near-ties can swap, and by stability the reported deaths are then within
    :math:`2\eta` of the exact ones, :math:`\eta \lesssim 0.1\sqrt{E}`: about
    1e-9 of the cloud's radius in float64, 1e-3 in float32 (worst case; in
    practice far less). Pass float64 data when float32 is not enough. The
    KD-tree uses direct differences throughout. The selected edges' lengths
    are always recomputed in float64 as :math:`|x_i - x_j|`.

    Magnitude. Every method works on the points divided by the power of two
    that brings their largest absolute coordinate into [0.5, 1) (an exact change of
    exponent) and multiplies the lengths back, so squared distances neither
    overflow nor underflow: coordinates of 1e300 or 1e-300 give the deaths of
    the unit-scale cloud times that scale, to rounding. Distances beyond the
    largest float64 (about 1.8e308) raise a ``ValueError``.

    References
    ----------
    .. [1] ToMCLIP: topological alignment of multimodal embeddings with MST
       persistence and a sparsification error bound, arXiv:2510.10889.
    .. [2] O. Borůvka (1926); R. C. Prim (1957); J. B. Kruskal (1956).
    .. [3] L. McInnes, J. Healy, "Accelerated hierarchical density clustering",
       ICDMW 2017 (Borůvka over space trees).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import mst
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [5.0, 0.0]])
    >>> forest = mst(X)
    >>> forest.edges
    array([[0, 1],
           [1, 2],
           [1, 3]])
    >>> forest.weights
    array([1., 2., 4.])
    """
    return forest(data, metric, method, memory_budget, weights, n_vertices, "mst", 1)


def _one_by_one(
    data: Any, metric: str, method: str, budget: int, caller: str, depth: int
) -> list[SpanningForest]:
    """:func:`mst` of every element; an error says which element (``data[b]: ...``)."""
    out = []
    for b, x in enumerate(data):
        try:
            out.append(forest(x, metric, method, budget, None, None, caller, depth + 1))
        except (ValueError, TypeError) as e:
            raise type(e)(f"data[{b}]: {e}") from e
    return out


def mst_batch(
    data: Any,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    memory_budget: int | None = None,
) -> list[SpanningForest]:
    """Minimum spanning trees of many point clouds (or distance matrices) in one call.

    Parameters
    ----------
    data : array_like, shape (B, n, d), or sequence of arrays
        A stack of B point clouds of the same size, or a list of clouds of any
        sizes (with ``metric="precomputed"``: dense distance matrices). Graphs
        in the list are deprecated as in :func:`mst`.
    metric, method, memory_budget
        As in :func:`mst`, applied to every element.

    Returns
    -------
    list of SpanningForest
        One per element, in order.

    Notes
    -----
    A stack of point clouds whose Gram matrices fit together in
    ``memory_budget`` is handled in one batched BLAS product and one parallel
    numba pass (one thread per cloud); this is what a training step with many
    small batches wants. Anything else loops over :func:`mst`.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import mst_batch
    >>> rng = np.random.default_rng(0)
    >>> forests = mst_batch(rng.standard_normal((4, 32, 8)))
    >>> [f.n_components for f in forests]
    [1, 1, 1, 1]
    """
    return batch_forests(data, metric, method, memory_budget, "mst_batch", 1)


def batch_forests(
    data: Any, metric: Any, method: Any, memory_budget: Any, caller: str, depth: int
) -> list[SpanningForest]:
    """:func:`mst_batch` for ``caller``, ``depth`` calls below the user's code."""
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    budget = _memory_budget(memory_budget)
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError("data must hold at least one point cloud; got an empty sequence")
        return _one_by_one(data, metric, method, budget, caller, depth + 1)
    arr = as_float_array(data, "data")
    if arr.ndim != 3:
        raise ValueError(
            f"data must be a 3-D stack of shape (batch, n_points, n_features) or a list of "
            f"2-D arrays; got an array of shape {arr.shape}"
        )
    B, n, d = arr.shape
    if B == 0:
        raise ValueError(f"data must hold at least one point cloud; got shape {arr.shape}")
    if metric == "precomputed" or method not in ("auto", "prim") or n < 2:
        return _one_by_one(arr, metric, method, budget, caller, depth + 1)
    if B * n * n * arr.dtype.itemsize > budget or (
        method == "auto" and auto_method(n, d, arr.dtype.itemsize, budget) != "prim"
    ):
        return _one_by_one(arr, metric, method, budget, caller, depth + 1)
    prepared = [
        prepare_points(as_points(x, f"data[{b}]"), metric, f"data[{b}]") for b, x in enumerate(arr)
    ]
    work = np.stack([p[0] for p in prepared])
    sq = np.stack([p[1] for p in prepared])
    ref = np.stack([p[2] for p in prepared])
    G = np.matmul(work, np.ascontiguousarray(work.transpose(0, 2, 1)))
    parents, _ = mst_kernels().prim_dense_batch(G, sq, -2.0, ref, gram_guard(work[0]))
    v = np.arange(1, n)
    out = []
    for b in range(B):
        u = parents[b, 1:]
        lengths = edge_lengths(prepared[b][2], u, v, metric, prepared[b][3], f"data[{b}]")
        out.append(finish_forest(u, v, lengths, n, "prim"))
    return out
