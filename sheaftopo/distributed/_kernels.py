"""numba kernels of the Dask MST: nearest-neighbour candidates from one Gram block.

Imported by the tasks on the workers, never by ``import sheaftopo``.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _insert(buf, i, v):
    """Insert ``v`` into the ascending row ``buf[i]``, dropping its largest entry."""
    t = buf.shape[1] - 1
    while t > 0 and buf[i, t - 1] > v:
        buf[i, t] = buf[i, t - 1]
        t -= 1
    buf[i, t] = v


@nb.njit(cache=True, nogil=True)
def candidates(G, sqa, sqb, la, lb, k, tol, both):
    """Near-neighbour candidates between the rows of two blocks, from their Gram block.

    ``G[i, j]`` is the inner product of centred rows ``a_i`` and ``b_j`` and
    ``sqa``, ``sqb`` their squared norms, so ``v = sqa[i] + sqb[j] - 2 G[i, j]``
    is the Gram-identity squared distance. Pairs with ``la[i] == lb[j]`` (one
    component) are skipped. For every row ``i`` the candidates are all ``j``
    with ``v`` at most the row's ``k``-th smallest ``v`` plus the rounding
    margin ``tol * (sqa[i] + max sqb)`` (all valid ``j`` when fewer than
    ``k``); with ``both``, the same for every column ``j`` against the rows.

    Returns ``(ri, rj, cj, ci)``: row candidates ``(ri[t], rj[t])`` and
    column candidates ``(cj[t], ci[t])`` (empty unless ``both``).
    """
    na, nb_ = G.shape
    rbuf = np.full((na, k), np.inf)
    cbuf = np.full((nb_ if both else 0, k), np.inf)
    last = k - 1
    for i in range(na):
        si = sqa[i]
        li = la[i]
        for j in range(nb_):
            if li == lb[j]:
                continue
            v = si + sqb[j] - 2.0 * G[i, j]
            if v < rbuf[i, last]:
                _insert(rbuf, i, v)
            if both and v < cbuf[j, last]:
                _insert(cbuf, j, v)
    amax = 0.0
    for i in range(na):
        amax = max(amax, sqa[i])
    bmax = 0.0
    for j in range(nb_):
        bmax = max(bmax, sqb[j])
    rthr = np.empty(na)
    for i in range(na):
        rthr[i] = rbuf[i, last] + tol * (sqa[i] + bmax)
    cthr = np.empty(cbuf.shape[0])
    for j in range(cbuf.shape[0]):
        cthr[j] = cbuf[j, last] + tol * (sqb[j] + amax)
    empty = np.empty(0, np.int64)
    nr, nc = _scan(G, sqa, sqb, la, lb, rthr, cthr, both, empty, empty, empty, empty)
    ri = np.empty(nr, np.int64)
    rj = np.empty(nr, np.int64)
    cj = np.empty(nc, np.int64)
    ci = np.empty(nc, np.int64)
    _scan(G, sqa, sqb, la, lb, rthr, cthr, both, ri, rj, cj, ci)
    return ri, rj, cj, ci


@nb.njit(cache=True, nogil=True)
def _scan(G, sqa, sqb, la, lb, rthr, cthr, both, ri, rj, cj, ci):
    """Count the entries under the row and column thresholds; store them where room is given."""
    keep = ri.shape[0] > 0 or cj.shape[0] > 0
    nr = 0
    nc = 0
    for i in range(G.shape[0]):
        for j in range(G.shape[1]):
            if la[i] == lb[j]:
                continue
            v = sqa[i] + sqb[j] - 2.0 * G[i, j]
            if v <= rthr[i]:
                if keep:
                    ri[nr] = i
                    rj[nr] = j
                nr += 1
            if both and v <= cthr[j]:
                if keep:
                    cj[nc] = j
                    ci[nc] = i
                nc += 1
    return nr, nc
