"""Minimum spanning trees and forests of point clouds, distance matrices and graphs.

The 0-dimensional persistence diagram of the Vietoris–Rips filtration of a
finite metric space is read off a minimum spanning tree: every finite death is
the length of one MST edge (see ``theory/h0-rips-mst.md``). This module finds
those trees exactly and fast; :mod:`._diagrams` turns them into diagrams.

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
    Kruskal with union-find, for sparse graphs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.mst import (
    DEFAULT_MEMORY_BUDGET,
    MAX_BLOCK,
    NO_COORDS,
    SpanningForest,
    dense_mst,
    finish_forest,
    mst_kernels,
)
from .._core.scaling import GRAM_GUARD, rescaled, scaled_back
from .._validation import (
    as_distance_matrix,
    as_edge_list,
    as_float_array,
    as_points,
    as_sparse_graph,
    check_choice,
    check_int,
)

# alias for sheaftopo/distributed/_mst.py until it imports sheaftopo._core.mst
_finish = finish_forest
# alias for sheaftopo/torch/_persistence.py until it imports sheaftopo._core.mst
_mst_matrix = dense_mst
# GRAM_GUARD, rescaled, scaled_back (from _core.scaling) and DEFAULT_MEMORY_BUDGET,
# MAX_BLOCK (from _core.mst) stay importable here: alias for sheaftopo/distributed/_mst.py,
# sheaftopo/distributed/_inputs.py and benchmarks/distributed.py until they import
# sheaftopo._core.scaling / sheaftopo._core.mst

__all__ = ["SpanningForest", "mst", "mst_batch"]

METRICS = ("euclidean", "cosine", "precomputed")
METHODS = ("auto", "prim", "boruvka", "kdtree", "kruskal")

#: dimensions up to which "auto" uses the KD-tree for large point clouds
KDTREE_MAX_DIM = 10
#: size from which "auto" prefers the KD-tree to dense Prim in low dimension
KDTREE_MIN_POINTS = 2048
#: points are centred when |mean|^2 exceeds this share of the mean squared norm
CENTRE_ABOVE = 0.25
#: KD-tree leaf size and candidate-list lengths of its first and later rounds
KDTREE_LEAF_SIZE = 32
KDTREE_K_FIRST = 3
KDTREE_K_LATER = 1
#: from these sizes "auto" prefers blocked Borůvka to dense Prim even when n^2 fits
BORUVKA_MIN_POINTS = 8192
BORUVKA_MIN_ROW_BYTES = 2048
#: k of the k-nearest-neighbour warm start of the blocked Borůvka
BORUVKA_NEIGHBORS = 16
#: row size (bytes) from which a sweep multiplies each block pair once (see _sweep)
SYMMETRIC_SWEEP_MIN_ROW_BYTES = 1024


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------


def _memory_budget(memory_budget: Any) -> int:
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    return check_int(memory_budget, "memory_budget", minimum=1024)


def unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    """The rows of ``X`` divided by their Euclidean norms, in float64, at any magnitude.

    Each row is first brought to max |entry| in [0.5, 1) by a power of two
    (exact), so its norm neither overflows nor underflows; a zero row, whose
    direction is undefined, raises a ``ValueError`` naming ``name``.
    """
    exact = X.astype(np.float64)
    top = np.abs(exact).max(axis=1)
    if (top == 0).any():
        i = int(np.flatnonzero(top == 0)[0])
        raise ValueError(
            f"{name} must not contain zero vectors with metric='cosine' (the cosine "
            f"dissimilarity is undefined there); row {i} of {name} is zero"
        )
    exact = np.ldexp(exact, -np.frexp(top)[1][:, None])
    return exact / np.linalg.norm(exact, axis=1)[:, None]


def _prepare_points(
    X: np.ndarray, metric: str, name: str = "data"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Working coordinates (input precision), their squared norms, reference coordinates, scale.

    For the cosine dissimilarity 1 - cos(x, y) = |x^ - y^|^2 / 2 on the unit
    vectors x^ = x / |x|, so both metrics reduce to Euclidean geometry. The
    reference coordinates (the input divided by the power of two ``scale``,
    see :func:`rescaled`, or its normalised rows in float64, scale 1) are what
    exact distances are computed from; Euclidean lengths are multiplied by
    ``scale`` at the end.

    The Gram identity loses about ``d * eps * |x|^2`` of each squared distance,
    so points are centred first when their mean carries a sizeable share of
    their squared norms (an offset cloud); otherwise centring would buy nothing.
    """
    if metric == "cosine":
        ref, scale = unit_rows(X, name), 1.0
    else:
        ref, scale = rescaled(X)
    mean = ref.mean(axis=0, dtype=np.float64)
    sq = np.einsum("ij,ij->i", ref, ref, dtype=np.float64)
    if float(mean @ mean) > CENTRE_ABOVE * float(sq.mean()):
        work = np.ascontiguousarray((ref - mean).astype(X.dtype, copy=False))
        sq = np.einsum("ij,ij->i", work, work, dtype=np.float64)
    else:
        work = np.ascontiguousarray(ref.astype(X.dtype, copy=False))
        if work is not ref:  # float64 reference, float32 work: norms of what is multiplied
            sq = np.einsum("ij,ij->i", work, work, dtype=np.float64)
    return work, sq, np.ascontiguousarray(ref), scale


def _gram_guard(work: np.ndarray) -> float:
    """``tol`` of the kernels' Gram-identity guard for these working coordinates."""
    return GRAM_GUARD * work.shape[1] * float(np.finfo(work.dtype).eps)


def _lengths(
    ref: np.ndarray, u: np.ndarray, v: np.ndarray, metric: str, scale: float, name: str = "data"
) -> np.ndarray:
    """Lengths of the edges ``(u, v)``: exact distances at the original scale."""
    dist = mst_kernels().euclidean_edge_lengths(ref, u, v)
    if metric == "cosine":
        return 0.5 * dist * dist
    return scaled_back(dist, scale, name)


def _auto_method(n: int, d: int, itemsize: int, budget: int) -> str:
    if d <= KDTREE_MAX_DIM and n >= KDTREE_MIN_POINTS:
        return "kdtree"
    if n * n * itemsize > budget:
        return "boruvka"
    # with long rows the Gram products dominate; the blocked sweep multiplies
    # each block pair once (half of Prim's full product) and needs no n x n matrix
    if n >= BORUVKA_MIN_POINTS and d * itemsize >= BORUVKA_MIN_ROW_BYTES:
        return "boruvka"
    return "prim"


# --------------------------------------------------------------------------
# algorithms on points
# --------------------------------------------------------------------------


def _gram(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """``A @ B.T`` through a general BLAS product.

    With ``B is None`` this is ``A @ A.T``. NumPy routes that to syrk, which
    with OpenBLAS is up to 3x slower than gemm for tall matrices (n >> d) but
    faster for wide ones; for tall matrices the second operand is therefore a
    plain copy (a memcpy, far cheaper than the product), which selects gemm.
    """
    if B is None:
        return A @ (A if 2 * A.shape[1] >= A.shape[0] else A.copy()).T
    return A @ B.T


def _prim_points(
    work: np.ndarray, sq: np.ndarray, ref: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = work.shape[0]
    parent, _ = mst_kernels().prim_dense(_gram(work), sq, -2.0, ref, _gram_guard(work))
    v = np.arange(1, n)
    return parent[1:], v


def _block_size(n: int, itemsize: int, budget: int) -> int:
    b = int(np.sqrt(max(budget // 4, 1) / itemsize))
    return int(max(1, min(n, MAX_BLOCK, b)))


def _sweep(work, ref, sq, block, comp, slot, best_d, best_i) -> None:
    """Offer every ordered pair of distinct points to :func:`sweep_block`, block by block.

    In high dimension the Gram products dominate, so each unordered block pair
    is multiplied once and folded in both orders (diagonal blocks by syrk,
    which is exactly symmetric). In low dimension the products are cheap and
    folding a block column-wise costs more than a second product, so every
    ordered block pair is multiplied and folded row-wise.
    """
    k = mst_kernels()
    n, d = work.shape
    tol = _gram_guard(work)
    symmetric = d * work.dtype.itemsize >= SYMMETRIC_SWEEP_MIN_ROW_BYTES
    for i0 in range(0, n, block):
        A = work[i0 : i0 + block]
        for j0 in range(i0 if symmetric else 0, n, block):
            if j0 == i0:
                G = A @ A.T  # syrk: exactly symmetric, so both orders of a pair agree
            else:
                G = A @ work[j0 : j0 + block].T
            k.sweep_block(
                G, sq, i0, j0, comp, slot, best_d, best_i, symmetric and j0 != i0, ref, tol
            )


def _boruvka_points(
    work: np.ndarray,
    sq: np.ndarray,
    ref: np.ndarray,
    budget: int,
    *,
    n_neighbors: int = BORUVKA_NEIGHBORS,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact MST by Borůvka rounds over blocked Gram sweeps (see the module docstring)."""
    k = mst_kernels()
    n = work.shape[0]
    if n == 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    block = _block_size(n, work.dtype.itemsize, budget)
    n_neighbors = int(min(n_neighbors, n - 1))
    comp_cap = int(max(2, min(4096, budget // (2 * 16 * n))))
    best_d = np.full((n, 1, n_neighbors), np.inf)
    best_i = np.full((n, 1, n_neighbors), -1, np.int64)
    one_slot = np.zeros(n, np.int64)
    _sweep(work, ref, sq, block, np.arange(n), one_slot, best_d, best_i)

    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    while True:
        labels, c = k.uf_labels(parent)
        if c == 1:
            break
        _, cp, cq, resolved = k.list_round(best_d, best_i, labels, c)
        n_resolved = int(resolved.sum())
        if n_resolved:
            acc = k.uf_merge(parent, rank, cp[resolved], cq[resolved])
            us.append(cp[resolved][acc])
            vs.append(cq[resolved][acc])
        if n_resolved * 64 >= c:
            continue
        # the lists no longer answer enough components: sweep again
        labels, c = k.uf_labels(parent)
        if c == 1:
            break
        if c <= comp_cap:
            pd = np.full((n, c, 1), np.inf)
            pi = np.full((n, c, 1), -1, np.int64)
            _sweep(work, ref, sq, block, labels, np.arange(c), pd, pi)
            W, P, Q = k.component_pair_minima(pd, pi, labels, c)
            cparent, _ = k.prim_dense(W, np.zeros(c), 1.0, NO_COORDS, 0.0)
            b = np.arange(1, c)
            a = cparent[1:]
            us.append(P[a, b])
            vs.append(Q[a, b])
            break
        best_d.fill(np.inf)
        best_i.fill(-1)
        _sweep(work, ref, sq, block, labels, one_slot[:c], best_d, best_i)
    if not us:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(us), np.concatenate(vs)


def _kdtree_points(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from ._kdtree import kdtree_boruvka

    # distances straight from the coordinates: no Gram identity, nothing to centre
    u, v, _ = kdtree_boruvka(ref, KDTREE_LEAF_SIZE, KDTREE_K_FIRST, KDTREE_K_LATER)
    if len(u) != ref.shape[0] - 1:  # pragma: no cover - the kernel's no-progress guard
        raise RuntimeError(
            f"the KD-tree Borůvka stopped after {len(u)} of {ref.shape[0] - 1} edges "
            "without progress; use method='prim' or 'boruvka'"
        )
    return u, v


def _mst_points(X: np.ndarray, metric: str, method: str, budget: int) -> SpanningForest:
    n, d = X.shape
    work, sq, ref, scale = _prepare_points(X, metric)
    if method == "auto":
        method = _auto_method(n, d, work.dtype.itemsize, budget)
    if n == 1:
        u = v = np.zeros(0, np.int64)
    elif method == "prim":
        if n * n * work.dtype.itemsize > budget:
            raise ValueError(
                f"method='prim' needs an ({n}, {n}) matrix of {n * n * work.dtype.itemsize} "
                f"bytes, more than memory_budget={budget}; use method='boruvka' or 'auto'"
            )
        u, v = _prim_points(work, sq, ref)
    elif method == "boruvka":
        u, v = _boruvka_points(work, sq, ref, budget)
    elif method == "kdtree":
        u, v = _kdtree_points(ref)
    else:
        raise ValueError(
            f"method={method!r} does not apply to a point cloud; use 'auto', 'prim', "
            "'boruvka' or 'kdtree'"
        )
    return finish_forest(u, v, _lengths(ref, u, v, metric, scale), n, method)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def mst(
    data: Any,
    *,
    metric: str = "euclidean",
    weights: Any = None,
    n_vertices: int | None = None,
    method: str = "auto",
    memory_budget: int | None = None,
) -> SpanningForest:
    r"""Minimum spanning forest of a point cloud, a distance matrix or a graph.

    Parameters
    ----------
    data : array_like or scipy.sparse matrix
        One of

        * points, shape (n, d), with ``metric="euclidean"`` or ``"cosine"``;
        * a dense dissimilarity matrix, shape (n, n), with
          ``metric="precomputed"``: square, symmetric, non-negative, zero
          diagonal, finite; every off-diagonal entry is an edge;
        * a sparse graph, a square ``scipy.sparse`` matrix, with
          ``metric="precomputed"``: every *stored* off-diagonal entry is an
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
        * an edge list, shape (m, 2) of vertex indices, with ``weights=`` and
          ``metric="precomputed"``; a pair listed twice keeps its smaller
          weight and self-loops ``(i, i)`` are ignored (they never join two
          components).
    metric : {"euclidean", "cosine", "precomputed"}
        ``"cosine"`` is the dissimilarity :math:`1 - \cos(x, y)` (as in
        scikit-learn and ripser), computed on the rows normalised to unit
        length (at any magnitude); zero rows, whose direction is undefined,
        raise a ``ValueError``.
    weights : array_like, shape (m,), optional
        Edge weights when ``data`` is an edge list.
    n_vertices : int, optional
        Number of vertices of an edge list (default: largest index + 1).
    method : {"auto", "prim", "boruvka", "kdtree", "kruskal"}
        Algorithm; see the module documentation. ``"auto"`` picks the KD-tree
        for large clouds with d <= 10, blocked Borůvka when the n x n matrix
        does not fit in ``memory_budget`` or when n >= 8192 with rows of at
        least 2 KiB (the Gram products dominate and the sweep halves them),
        dense Prim otherwise; Kruskal for graphs.
    memory_budget : int, optional
        Bytes of working memory the call may use (default 2 GiB). Decides
        between dense and blocked methods and sets the block size.

    Returns
    -------
    SpanningForest
        Edges ``(i, j)``, ``i < j``, sorted by ``(weight, i, j)``; weights;
        number of components; component labels.

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
    that brings their largest |coordinate| into [0.5, 1) (an exact change of
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
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    budget = _memory_budget(memory_budget)
    if weights is not None or _is_sparse(data):
        if metric != "precomputed":
            what = "an edge list (weights= was given)" if weights is not None else "a sparse matrix"
            raise ValueError(
                f"data is {what}, a graph: pass metric='precomputed' (got metric={metric!r})"
            )
        if method not in ("auto", "kruskal"):
            raise ValueError(f"method={method!r} does not apply to a graph; use 'kruskal'")
        lo, hi, w, n = as_graph(data, weights=weights, n_vertices=n_vertices)
        sel = kruskal_selection(lo, hi, w, n)
        return finish_forest(lo[sel], hi[sel], w[sel], n, "kruskal")
    if n_vertices is not None:
        raise ValueError("n_vertices= is only for edge lists (with weights=)")
    if metric == "precomputed":
        D = as_distance_matrix(data, "data")
        if method not in ("auto", "prim"):
            raise ValueError(
                f"method={method!r} does not apply to a dense distance matrix; use 'prim'"
            )
        return dense_mst(D)
    X = as_points(data, "data")
    return _mst_points(X, metric, method, budget)


def _is_sparse(data: Any) -> bool:
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
    if _is_sparse(data):
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


def _one_by_one(data: Any, metric: str, method: str, budget: int) -> list[SpanningForest]:
    """:func:`mst` of every element; an error says which element (``data[b]: ...``)."""
    out = []
    for b, x in enumerate(data):
        try:
            out.append(mst(x, metric=metric, method=method, memory_budget=budget))
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
        sizes (with ``metric="precomputed"``: distance matrices).
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
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    budget = _memory_budget(memory_budget)
    if isinstance(data, (list, tuple)):
        if len(data) == 0:
            raise ValueError("data must hold at least one point cloud; got an empty sequence")
        return _one_by_one(data, metric, method, budget)
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
        return _one_by_one(arr, metric, method, budget)
    if B * n * n * arr.dtype.itemsize > budget or (
        method == "auto" and _auto_method(n, d, arr.dtype.itemsize, budget) != "prim"
    ):
        return _one_by_one(arr, metric, method, budget)
    prepared = [
        _prepare_points(as_points(x, f"data[{b}]"), metric, f"data[{b}]") for b, x in enumerate(arr)
    ]
    work = np.stack([p[0] for p in prepared])
    sq = np.stack([p[1] for p in prepared])
    ref = np.stack([p[2] for p in prepared])
    G = np.matmul(work, np.ascontiguousarray(work.transpose(0, 2, 1)))
    parents, _ = mst_kernels().prim_dense_batch(G, sq, -2.0, ref, _gram_guard(work[0]))
    v = np.arange(1, n)
    out = []
    for b in range(B):
        u = parents[b, 1:]
        lengths = _lengths(prepared[b][2], u, v, metric, prepared[b][3], f"data[{b}]")
        out.append(finish_forest(u, v, lengths, n, "prim"))
    return out
