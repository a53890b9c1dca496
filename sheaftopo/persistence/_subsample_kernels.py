"""numba kernels of greedy farthest-point subsampling."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def _update_points(X, c, mind):
    n, d = X.shape
    for i in nb.prange(n):
        s = 0.0
        for t in range(d):
            v = np.float64(X[i, t]) - np.float64(X[c, t])
            s += v * v
        s = np.sqrt(s)
        if s < mind[i]:
            mind[i] = s


@nb.njit(cache=True, parallel=True)
def _update_matrix(D, c, mind):
    n = D.shape[0]
    for i in nb.prange(n):
        s = np.float64(D[c, i])
        if s < mind[i]:
            mind[i] = s


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
        if use_matrix:
            _update_matrix(data, c, mind)
        else:
            _update_points(data, c, mind)
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
