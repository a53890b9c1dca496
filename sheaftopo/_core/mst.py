"""What every minimum-spanning-tree producer shares: the result type and its finishing.

:class:`SpanningForest` is the result of :func:`sheaftopo.persistence.mst`
(re-exported there, its public home) and of the Dask MST in
:mod:`sheaftopo.distributed`; :func:`finish_forest` turns selected edges into
one, :func:`dense_mst` is Prim on a dense dissimilarity matrix (used by
:mod:`sheaftopo.persistence` and :mod:`sheaftopo.torch`),
:func:`dense_mst_batch` the tree edges of a stack of them (the torch
adapter's batched selection), and
:data:`mst_kernels` loads the numba kernels of :mod:`sheaftopo._core.mst_kernels`.
``DEFAULT_MEMORY_BUDGET`` and ``MAX_BLOCK`` are the working-memory defaults
the in-memory and the Dask MST share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .kernels import kernel_loader

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MAX_BLOCK",
    "NO_COORDS",
    "SpanningForest",
    "dense_mst",
    "dense_mst_batch",
    "finish_forest",
    "mst_kernels",
]

#: default bound on the working memory of one call, in bytes
DEFAULT_MEMORY_BUDGET = 2 * 1024**3
#: largest row block of the blocked sweeps
MAX_BLOCK = 4096

#: loads :mod:`sheaftopo._core.mst_kernels` on first call
mst_kernels = kernel_loader("sheaftopo._core.mst_kernels")

#: stands for "no coordinates" where a kernel takes them but its guard is off
NO_COORDS = np.zeros((0, 0))


@dataclass(frozen=True, eq=False)
class SpanningForest:
    """A minimum spanning forest, edges sorted by weight.

    Attributes
    ----------
    edges : ndarray of int64, shape (n_vertices - n_components, 2)
        The forest's edges ``(i, j)`` with ``i < j``, sorted by
        ``(weight, i, j)``. Row ``k`` is the edge whose appearance in the
        filtration kills the ``k``-th finite point of :attr:`diagram`: the
        persistence pairs, needed by differentiable users who gather distances
        at these indices.
    weights : ndarray of float64, shape (n_vertices - n_components,)
        Edge weights in ascending order. For point clouds these are recomputed
        in float64 directly from the coordinates, not read off the Gram
        identity, so they carry no cancellation error.
    n_vertices : int
        Number of vertices (points).
    n_components : int
        Number of connected components: 1 for point clouds and dense matrices,
        possibly more for sparse graphs.
    labels : ndarray of int64, shape (n_vertices,)
        Component of every vertex, numbered 0.. in order of each component's
        smallest vertex.
    method : str
        The algorithm that produced the forest.
    """

    edges: np.ndarray
    weights: np.ndarray
    n_vertices: int
    n_components: int
    labels: np.ndarray
    method: str

    @property
    def total_weight(self) -> float:
        """Sum of the edge weights."""
        return float(self.weights.sum())

    @property
    def diagram(self) -> np.ndarray:
        """The H0 persistence diagram, shape (n_vertices, 2).

        Rows ``(0, w)`` for the edge weights in ascending order, then one
        ``(0, inf)`` row per connected component (ripser's convention).
        """
        out = np.zeros((self.n_vertices, 2))
        m = self.weights.shape[0]
        out[:m, 1] = self.weights
        out[m:, 1] = np.inf
        return out

    def __repr__(self) -> str:
        return (
            f"SpanningForest(n_vertices={self.n_vertices}, n_edges={len(self.weights)}, "
            f"n_components={self.n_components}, total_weight={self.total_weight:.6g}, "
            f"method={self.method!r})"
        )


def finish_forest(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int, method: str
) -> SpanningForest:
    """The :class:`SpanningForest` of the edges ``(u[k], v[k])`` of weights ``w[k]``.

    Orients every edge ``(min, max)``, sorts by the edge key ``(w, i, j)`` and
    labels the components.

    Parameters
    ----------
    u, v : array_like of int, shape (m,)
        End points of the forest's edges (any order, any orientation).
    w : ndarray of float64, shape (m,)
        Their weights.
    n : int
        Number of vertices.
    method : str
        Recorded as :attr:`SpanningForest.method`.

    Returns
    -------
    SpanningForest
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    lo = np.minimum(u, v)
    hi = np.maximum(u, v)
    order = np.lexsort((hi, lo, w))
    edges = np.stack([lo[order], hi[order]], axis=1) if len(order) else np.zeros((0, 2), np.int64)
    weights = np.ascontiguousarray(w[order], dtype=np.float64)
    k = mst_kernels()
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    _union_all(k, parent, rank, edges)
    labels, c = k.uf_labels(parent)
    return SpanningForest(edges, weights, n, int(c), labels, method)


def _union_all(k: Any, parent: np.ndarray, rank: np.ndarray, edges: np.ndarray) -> None:
    if len(edges):
        k.uf_merge(parent, rank, edges[:, 0].copy(), edges[:, 1].copy())


def dense_mst(D: np.ndarray) -> SpanningForest:
    """Minimum spanning tree of a validated dense dissimilarity matrix (dense Prim).

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Square, symmetric, non-negative, zero diagonal, finite (as
        :func:`sheaftopo._validation.as_distance_matrix` returns it); n >= 1.

    Returns
    -------
    SpanningForest
        With ``method="prim"``.
    """
    n = D.shape[0]
    parent, _ = mst_kernels().prim_dense(D, np.zeros(n), 1.0, NO_COORDS, 0.0)
    v = np.arange(1, n)
    u = parent[1:]
    return finish_forest(u, v, D[u, v].astype(np.float64), n, "prim")


def _as_matrix_stack(D: Any) -> np.ndarray:
    """``D`` as a C-contiguous float64 stack (B, n, n), n >= 1, finite and non-negative."""
    if not isinstance(D, np.ndarray):
        raise TypeError(f"D must be a numpy array of shape (B, n, n); got {type(D).__name__}")
    if D.ndim != 3 or D.shape[1] != D.shape[2] or D.shape[1] == 0:
        raise ValueError(
            f"D must be a stack of square matrices of shape (B, n, n) with n >= 1; "
            f"got shape {D.shape}"
        )
    if not (np.issubdtype(D.dtype, np.floating) or np.issubdtype(D.dtype, np.integer)):
        raise TypeError(f"D must hold real numbers; got dtype {D.dtype}")
    M = np.ascontiguousarray(D, dtype=np.float64)
    if M.size and not (M.min() >= 0 and M.max() < np.inf):  # NaN propagates through both
        b, i, j = (int(t) for t in np.argwhere(~((M >= 0) & (M < np.inf)))[0])
        raise ValueError(
            f"D must be finite and non-negative (a dissimilarity of every pair); "
            f"found D[{b}, {i}, {j}] = {M[b, i, j].item()!r}"
        )
    return M


def dense_mst_batch(D: np.ndarray) -> np.ndarray:
    """The minimum spanning tree edges of every matrix of a stack (dense Prim, parallel over B).

    The batched form of :func:`dense_mst` for callers that need the edges
    only (the torch adapter's batched selection): one call of the numba kernel
    ``prim_dense_batch`` (a ``prange`` over the stack; the caller sets the
    thread count, e.g. with :func:`sheaftopo._core.threads.torch_selection`).

    Parameters
    ----------
    D : ndarray, shape (B, n, n)
        Dissimilarity matrices: finite, non-negative, symmetric (not checked:
        the kernel reads both triangles, so symmetrise first, e.g.
        ``0.5 * (D + D.transpose(0, 2, 1))``); the diagonal is not read.
        Any real dtype (computed in float64); never modified.

    Returns
    -------
    ndarray of int64, shape (B, n - 1, 2)
        For every matrix, the edges ``(i, j)``, ``i < j``, of its minimum
        spanning tree for the key ``(D[i, j], i, j)`` (unique, whatever the
        ties), sorted by that key: ``dense_mst_batch(D)[b]`` equals
        ``dense_mst(D[b]).edges``.

    Raises
    ------
    TypeError
        If ``D`` is not a numpy array of real numbers.
    ValueError
        If ``D`` is not of shape (B, n, n) with n >= 1, or holds NaN, inf or a
        negative entry (the message names the first one).

    References
    ----------
    .. [1] R. C. Prim, "Shortest connection networks and some generalizations",
       Bell System Technical Journal 36(6), 1957, pp. 1389-1401.

    Examples
    --------
    >>> D = np.array([[[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]]])
    >>> dense_mst_batch(D).tolist()
    [[[0, 1], [1, 2]]]
    """
    M = _as_matrix_stack(D)
    B, n = M.shape[0], M.shape[1]
    if B == 0 or n == 1:
        return np.zeros((B, n - 1, 2), np.int64)
    k = mst_kernels()
    if B == 1:  # no parallel region to start for one matrix
        parents = k.prim_dense(M[0], np.zeros(n), 1.0, NO_COORDS, 0.0)[0][None]
    else:
        parents, _ = k.prim_dense_batch(M, np.zeros((B, n)), 1.0, np.zeros((B, 0, 0)), 0.0)
    u = parents[:, 1:]
    v = np.broadcast_to(np.arange(1, n), u.shape)
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    w = np.take_along_axis(M.reshape(B, n * n), lo * n + hi, axis=1)
    order = np.lexsort((hi, lo, w), axis=-1)
    lo, hi = np.take_along_axis(lo, order, axis=1), np.take_along_axis(hi, order, axis=1)
    return np.stack([lo, hi], axis=2)
