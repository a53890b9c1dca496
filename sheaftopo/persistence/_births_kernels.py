"""numba kernel of the elder rule: H0 persistence pairs of a vertex-weighted filtration."""

from __future__ import annotations

import numba as nb
import numpy as np

from .._core.mst_kernels import uf_find


@nb.njit(cache=True)
def elder_rule(lo, hi, f):
    """Births of the classes killed by the forest edges ``(lo[k], hi[k])``, in that order.

    The edges are a spanning forest sorted by filtration value; vertex ``v``
    is born at ``f[v]``. Each edge merges two components; the class of the
    younger one (the larger minimum birth) dies there (the elder rule).
    Returns ``(births, oldest)``: ``births[k]`` for edge ``k``, and the
    minimum birth of every remaining component (its essential class), by
    root in increasing vertex order.
    """
    n = f.shape[0]
    parent = np.arange(n)
    low = f.copy()
    births = np.empty(lo.shape[0])
    for k in range(lo.shape[0]):
        a = uf_find(parent, lo[k])
        b = uf_find(parent, hi[k])
        if low[a] < low[b] or (low[a] == low[b] and a < b):
            a, b = b, a  # b holds the elder class, a dies
        births[k] = low[a]
        parent[a] = b
    count = 0
    for v in range(n):
        if parent[v] == v:
            count += 1
    oldest = np.empty(count)
    count = 0
    for v in range(n):
        if parent[v] == v:
            oldest[count] = low[v]
            count += 1
    return births, oldest
