"""The pieces of the approximate fiber product that :mod:`sheaftopo.fiber` and
:mod:`sheaftopo.distributed` share.

Used by ``sheaftopo.fiber`` (the in-memory products and profiles) and by
``sheaftopo.distributed`` (the same computations as blocked joins on Dask),
which must agree bit for bit: the checks of the two embedding sets, of the
true pairs and of a grid of tolerances, the *canonical* distances of known
pairs (see :mod:`sheaftopo._core.fiber_kernels`), the order statistic that
defines ε*, and the block sizes of the screening buffer (a Dask task's memory
estimate counts that buffer).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_float_array, as_points, check_choice
from .kernels import kernel_loader

__all__ = [
    "MAX_BLOCK_COLS",
    "ROW_BLOCK",
    "as_grid",
    "check_true_distances",
    "fiber_kernels",
    "order_statistic",
    "pair_inputs",
    "true_distances",
    "true_pairs",
    "unit_rows",
]

#: consecutive row leaves are screened together, up to this many rows per gemm
ROW_BLOCK = 256
#: most columns of one block of inner products (the buffer is ROW_BLOCK x this)
MAX_BLOCK_COLS = 2048

#: the numba kernels of :mod:`sheaftopo._core.fiber_kernels`, loaded on first call
fiber_kernels = kernel_loader("sheaftopo._core.fiber_kernels")


def pair_inputs(F: Any, G: Any) -> tuple[np.ndarray, np.ndarray]:
    """F and G checked (2-D, finite, non-empty, one width) as C-contiguous float64.

    Parameters
    ----------
    F : array_like, shape (N, d)
    G : array_like, shape (M, d)

    Returns
    -------
    F, G : ndarray of float64, shapes (N, d) and (M, d)
        New arrays where a conversion was needed; the inputs are never written.
    """
    Fv = as_points(F, "F")
    Gv = as_points(G, "G")
    if Fv.shape[1] != Gv.shape[1]:
        raise ValueError(
            "F and G must live in the same space (the same number of columns d); got F of "
            f"shape {Fv.shape} and G of shape {Gv.shape}"
        )
    return (
        np.ascontiguousarray(Fv, dtype=np.float64),
        np.ascontiguousarray(Gv, dtype=np.float64),
    )


def unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    """The rows of ``X`` (shape (n, d)) scaled to unit norm; a zero row raises ValueError.

    The scaling is :func:`sheaftopo._core.fiber_kernels.unit_rows` (each row
    first divided by a power of two near its largest entry, exactly); ``name``
    names ``X`` in the error.
    """
    zero = ~X.any(axis=1)
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        raise ValueError(
            f"the cosine distance is undefined for zero vectors; {name}[{i}] is zero "
            f"({int(zero.sum())} zero rows in {name})"
        )
    return fiber_kernels().unit_rows(X)


def true_pairs(pairs: Any, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The argument ``true_pairs`` checked against sets of ``n`` and ``m`` rows.

    Parameters
    ----------
    pairs : "diagonal" or array_like of int, shape (T, 2)
        ``"diagonal"`` (needs ``n == m``) pairs F[i] with G[i]; otherwise
        distinct in-range ``(i, j)`` rows.
    n, m : int
        Rows of F and of G.

    Returns
    -------
    i, j : ndarray of int64, shape (T,)
        Row indices into F and into G, in the order given.
    """
    if isinstance(pairs, str):
        check_choice(pairs, "true_pairs", ("diagonal",))
        if n != m:
            raise ValueError(
                f"true_pairs='diagonal' pairs F[i] with G[i] and needs N == M; got N={n}, M={m}"
            )
        idx = np.arange(n, dtype=np.int64)
        return idx, idx
    arr = np.asarray(pairs)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            "true_pairs must be 'diagonal' or an integer array of shape (T, 2) holding "
            f"(i, j) pairs; got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"true_pairs must have shape (T, 2) with T >= 1; got shape {arr.shape}")
    i = arr[:, 0].astype(np.int64)
    j = arr[:, 1].astype(np.int64)
    bad = (i < 0) | (i >= n) | (j < 0) | (j >= m)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"true_pairs[{k}] = ({i[k]}, {j[k]}) is out of range; rows index F in [0, {n}) "
            f"and columns index G in [0, {m})"
        )
    key = i * m + j
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        dup = int(uniq[np.flatnonzero(counts > 1)[0]])
        raise ValueError(f"true_pairs lists the pair ({dup // m}, {dup % m}) more than once")
    return i, j


def order_statistic(sorted_d: np.ndarray, fraction: float) -> float:
    """The ⌈fraction·T⌉-th smallest of ``sorted_d`` (shape (T,), ascending): ε* at ``fraction``.

    ⌈·⌉ is taken with a relative tolerance of 1e-12, so 0.9 of 10 pairs is 9.
    """
    t = len(sorted_d)
    k = max(1, math.ceil(fraction * t - 1e-12 * t))
    return float(sorted_d[min(k, t) - 1])


def true_distances(
    F: np.ndarray, G: np.ndarray, i: np.ndarray, j: np.ndarray, metric: str
) -> np.ndarray:
    """Canonical distances of the pairs ``(F[i], G[j])``, shape (T,); may hold ``inf``.

    ``F``, ``G`` as :func:`pair_inputs` returns them; ``metric`` is
    ``"euclidean"`` or ``"cosine"`` (zero rows then raise, see :func:`unit_rows`).
    """
    k = fiber_kernels()
    if metric == "cosine":
        return k.pair_distances(unit_rows(F, "F"), unit_rows(G, "G"), i, j, 1)
    return k.pair_distances(F, G, i, j, 0)


def check_true_distances(d: np.ndarray, i: np.ndarray, j: np.ndarray) -> None:
    """Refuse true pairs whose distance exceeds the float64 range (no finite ε holds them)."""
    bad = ~np.isfinite(d)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"true_pairs[{k}] = ({int(i[k])}, {int(j[k])}): F[{int(i[k])}] and G[{int(j[k])}] "
            "are farther apart than the largest float64 (1.8e308), so no finite eps holds "
            "the pair: rescale F and G together"
        )


def as_grid(eps_grid: Any) -> np.ndarray:
    """The argument ``eps_grid`` as a C-contiguous float64 array, shape (K,), K >= 1.

    A scalar is one tolerance; the values must be finite, >= 0 and
    non-decreasing (the error names the first that is not).
    """
    grid = as_float_array(eps_grid, "eps_grid", dtype=np.float64)
    if grid.ndim == 0:
        grid = grid.reshape(1)
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(
            f"eps_grid must be a non-empty 1-D array of tolerances; got shape {grid.shape}"
        )
    if not np.isfinite(grid).all():
        k = int(np.flatnonzero(~np.isfinite(grid))[0])
        raise ValueError(f"eps_grid must be finite; eps_grid[{k}] = {float(grid[k])!r}")
    if (grid < 0).any():
        k = int(np.flatnonzero(grid < 0)[0])
        raise ValueError(f"eps_grid must be >= 0; eps_grid[{k}] = {float(grid[k])!r}")
    if (np.diff(grid) < 0).any():
        k = int(np.flatnonzero(np.diff(grid) < 0)[0])
        raise ValueError(
            f"eps_grid must be non-decreasing; eps_grid[{k}] = {float(grid[k])!r} > "
            f"eps_grid[{k + 1}] = {float(grid[k + 1])!r}"
        )
    return np.ascontiguousarray(grid)
