"""numba kernels of greedy farthest-point subsampling."""

from __future__ import annotations

import numba as nb
import numpy as np

#: below this many coordinates (matrix entries) per update a serial loop beats
#: waking the thread pool, by far on a busy machine (ms per parallel region)
PARALLEL_MIN = 1 << 15


@nb.njit(cache=True, inline="always")
def _relax_point(X, c, mind, i):
    s = 0.0
    for t in range(X.shape[1]):
        v = np.float64(X[i, t]) - np.float64(X[c, t])
        s += v * v
    s = np.sqrt(s)
    if s < mind[i]:
        mind[i] = s


@nb.njit(cache=True, inline="always")
def _relax_entry(D, c, mind, i):
    s = np.float64(D[c, i])
    if s < mind[i]:
        mind[i] = s


@nb.njit(cache=True, parallel=True)
def _update_points_parallel(X, c, mind):
    for i in nb.prange(X.shape[0]):
        _relax_point(X, c, mind, i)


@nb.njit(cache=True, parallel=True)
def _update_matrix_parallel(D, c, mind):
    for i in nb.prange(D.shape[0]):
        _relax_entry(D, c, mind, i)


@nb.njit(cache=True)
def _update(data, c, mind, use_matrix):
    """mind[i] = min(mind[i], d(i, c)) for every i, in parallel for large inputs."""
    n = data.shape[0]
    if n * (n if use_matrix else data.shape[1]) < PARALLEL_MIN:
        for i in range(n):
            if use_matrix:
                _relax_entry(data, c, mind, i)
            else:
                _relax_point(data, c, mind, i)
    elif use_matrix:
        _update_matrix_parallel(data, c, mind)
    else:
        _update_points_parallel(data, c, mind)


@nb.njit(cache=True)
def _argmax_first(a):
    best = 0
    for i in range(1, a.shape[0]):
        if a[i] > a[best]:
            best = i
    return best


@nb.njit(cache=True)
def _greedy(data, k, start, stop, use_matrix):
    n = data.shape[0]
    mind = np.full(n, np.inf)
    idx = np.empty(k, np.int64)
    radii = np.empty(k, np.float64)
    idx[0] = start
    radii[0] = np.inf
    m = 1
    c = start
    while True:
        _update(data, c, mind, use_matrix)
        c = _argmax_first(mind)
        r = mind[c]
        if m == k or r <= stop or r == 0.0:
            return idx[:m], radii[:m], r
        idx[m] = c
        radii[m] = r
        m += 1


@nb.njit(cache=True)
def farthest_point_points(X, k, start, stop):
    return _greedy(X, k, start, stop, False)


@nb.njit(cache=True)
def farthest_point_matrix(D, k, start, stop):
    return _greedy(D, k, start, stop, True)
