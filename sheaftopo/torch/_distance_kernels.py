"""numba kernels of the Euclidean distance matrices of the torch adapter (CPU tensors).

Used by :func:`sheaftopo.torch._persistence._selection_matrices` (the detached
matrices the losses choose their pairs from) and by the differentiable
:func:`sheaftopo.torch._distances._pairwise` (:func:`fill_distances`):
from the Gram matrix ``G = Z Z^T`` (one symmetric BLAS product, half the work
of ``torch.cdist``'s) it forms ``sqrt(|z_i|^2 + |z_j|^2 - 2 G_ij)`` in float64,
recomputes from the coordinates every entry where that identity cancels
(``|z_i - z_j|^2 < tol (|z_i|^2 + |z_j|^2)``, the guard of
:func:`sheaftopo.persistence.mst`'s dense Prim), and writes each pair once,
so the matrix is exactly symmetric with a zero diagonal.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._core.mst_kernels import exact_sqdist

#: side of the square blocks of pairs written together
TILE = 64
#: independent running sums of a squared norm
LANES = 8


@nb.njit(cache=True)
def _squared_norms(Z):
    """Row sums of squares in float64, eight running sums per row.

    One running sum waits on each addition's latency; eight independent ones
    let the additions overlap (3-4x faster at d = 512).
    """
    n, d = Z.shape
    out = np.empty(n)
    acc = np.empty(LANES)
    for i in range(n):
        acc[:] = 0.0
        t = 0
        while t + LANES <= d:
            for u in range(LANES):
                v = np.float64(Z[i, t + u])
                acc[u] += v * v
            t += LANES
        s = 0.0
        for u in range(LANES):
            s += acc[u]
        while t < d:
            v = np.float64(Z[i, t])
            s += v * v
            t += 1
        out[i] = s
    return out


@nb.njit(cache=True)
def gram_distances(G, Z, tol):
    """(n, n) float64 Euclidean distances of the rows of ``Z`` from their Gram matrix ``G``.

    Parameters
    ----------
    G : ndarray, shape (n, n)
        ``Z @ Z.T`` (float32 or float64).
    Z : ndarray, shape (n, d)
        The coordinates (float32 or float64), finite and scaled so that no
        square overflows.
    tol : float
        Relative guard: entries with ``v < tol * (|z_i|^2 + |z_j|^2)`` are
        recomputed from ``Z``.

    Returns
    -------
    ndarray of float64, shape (n, n)
        Symmetric, zero diagonal.
    """
    n = Z.shape[0]
    D = np.empty((n, n))
    fill_distances(G, Z, tol, D, np.empty((0, 0), np.bool_))
    return D


@nb.njit(cache=True)
def fill_distances(G, Z, tol, D, near):
    """:func:`gram_distances` written into ``D`` (n, n), of any float dtype.

    Every entry is formed in float64 and rounded once to ``D``'s dtype. When
    ``near`` is an (n, n) boolean array, ``near[i, j]`` (i < j) is set where the
    guard recomputed the pair (it must come in all False).
    """
    n = Z.shape[0]
    sq = _squared_norms(Z)
    mark = near.shape[0] == n
    for i in range(n):  # the identity, upper triangle, row by row
        for j in range(i + 1, n):
            s = sq[i] + sq[j]
            v = s - 2.0 * np.float64(G[i, j])
            if v < tol * s:  # the guard (rarely taken)
                v = exact_sqdist(Z, i, j)
                if mark:
                    near[i, j] = True
            D[i, j] = np.sqrt(v) if v > 0.0 else 0.0
    # mirror the upper triangle in TILE x TILE blocks (the transposed reads stay in cache)
    for i0 in range(0, n, TILE):
        for j0 in range(i0, n, TILE):
            for j in range(j0, min(j0 + TILE, n)):
                for i in range(i0, min(i0 + TILE, j)):
                    D[j, i] = D[i, j]
    for i in range(n):
        D[i, i] = 0.0


@nb.njit(cache=True, parallel=True)
def gram_distances_batch(G, Z, tol):
    """:func:`gram_distances` of every element of a stack, in parallel over the stack.

    ``G`` (B, n, n), ``Z`` (B, n, d); returns (B, n, n) float64.
    """
    B, n = G.shape[0], G.shape[1]
    out = np.empty((B, n, n))
    for b in nb.prange(B):
        out[b] = gram_distances(G[b], Z[b], tol)
    return out
