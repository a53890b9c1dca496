"""What every minimum-spanning-tree producer shares: the result type and its finishing.

:class:`SpanningForest` is the result of :func:`sheaftopo.persistence.mst`
(re-exported there, its public home) and of the Dask MST in
:mod:`sheaftopo.distributed`; :func:`finish_forest` turns selected edges into
one, :func:`dense_mst` is Prim on a dense dissimilarity matrix (used by
:mod:`sheaftopo.persistence` and :mod:`sheaftopo.torch`), and
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
