"""numba kernels of the approximate fiber product.

Plain functions over plain arrays; :mod:`sheaftopo.fiber` validates the
input, chooses block sizes and runs these kernels on row blocks in worker
threads (every kernel releases the GIL). They live in the shared layer because
:mod:`sheaftopo.distributed` computes the same canonical distances (through
:mod:`sheaftopo._core.fiber_blocks`); load them with
``sheaftopo._core.fiber_blocks.fiber_kernels()``, never at import.

Two kinds of distance appear here:

* the *canonical* distance of a pair, the one the results report and the one
  that decides membership, computed in float64 summing over the features in
  order. ``metric`` 0, Euclidean: ``sqrt(sum_k (F[i, k] - G[j, k])**2)`` on the
  original coordinates, the value ``scipy.spatial.distance.cdist`` gives,
  except that a sum of squares below ``SMALL`` (where squares of tiny
  differences lose precision or underflow) is recomputed with the differences
  divided by their largest magnitude, and a sum that overflows (differences
  beyond about 1e154) is recomputed from the halved differences divided by
  their largest magnitude; so the distance is within a relative
  ``(d + 2) 2**-53`` of the exact one, 0 only for equal vectors, and ``inf``
  only where the exact distance exceeds the float64 range.
  ``metric`` 1, cosine: ``sum_k (u_k - v_k)**2 / 2`` (the squared chord over
  two, which is ``1 - u . v`` for unit vectors) clipped to [0, 2], where F and
  G hold the rows already scaled to unit norm (:func:`unit_rows`), with the
  same rescaling of tiny sums. It is exactly 0 for equal unit rows (duplicate
  rows, rows differing by a power-of-two factor; ``1 - sum_k u_k u_k`` is not:
  it leaves about 1e-16), positive for other pairs unless it underflows
  (below about 5e-324), and accurate to about 1e-16 in absolute terms;
* the *screening* value ``q = nA_i + nB_j - 2 S_ij`` of a block ``S`` of inner
  products computed by BLAS (possibly in float32), whose error is at most
  ``coef * (nA_i + nB_j) + tau``. A pair is a candidate when ``q`` minus that
  error can still be below the threshold; candidates are then decided with the
  canonical distance.

Rows of a block are scanned in segments of ``_SEG`` columns: a first loop only
counts the hits (LLVM vectorises it), and a segment is revisited only when it
has one.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_SEG = 128
#: below this sum of squares, squares of small differences may have lost
#: precision (subnormal or underflowed): recompute with scaling
SMALL = 2.0**-968
#: the largest finite float64: a larger sum of squares has overflowed
MAX_FLOAT = np.finfo(np.float64).max


@nb.njit(cache=True, nogil=True, inline="always")
def _rescaled_sum(F, i, G, j, half):
    """``(m, t)``: ``m`` the largest |difference| and ``t`` the sum of (difference / m)**2.

    With ``half`` the differences are those of the halved rows (they cannot
    overflow, and halving is exact for the magnitudes where it is used).
    """
    d = F.shape[1]
    c = 0.5 if half else 1.0
    m = 0.0
    for k in range(d):
        t = abs(c * F[i, k] - c * G[j, k])
        if t > m:
            m = t
    if m == 0.0:
        return 0.0, 0.0
    s = 0.0
    for k in range(d):
        t = (c * F[i, k] - c * G[j, k]) / m
        s += t * t
    return m, s


@nb.njit(cache=True, nogil=True, inline="always")
def canonical(F, i, G, j, metric):
    """The canonical distance between F[i] and G[j] (see the module docstring)."""
    d = F.shape[1]
    s = 0.0
    for k in range(d):
        t = F[i, k] - G[j, k]
        s += t * t
    if metric == 0:
        if s >= SMALL and s <= MAX_FLOAT:
            return np.sqrt(s)
        if s > MAX_FLOAT:  # overflowed: the halved differences, rescaled
            m, t = _rescaled_sum(F, i, G, j, True)
            return 2.0 * (m * np.sqrt(t))
        m, t = _rescaled_sum(F, i, G, j, False)
        return m * np.sqrt(t)
    if s < SMALL:
        m, t = _rescaled_sum(F, i, G, j, False)
        s = m * (m * t)
    r = 0.5 * s
    if r > 2.0:
        r = 2.0
    return r


@nb.njit(cache=True, nogil=True)
def unit_rows(X):
    """The rows of X scaled to unit Euclidean norm (rows of zeros stay zero).

    Each row is first divided by the power of two ``2**e`` with its largest
    magnitude in [1/2, 1) (exact), then by the norm of the result (squares
    summed in feature order, which can neither overflow nor underflow there).
    So rows that differ by a positive power-of-two factor, whatever their
    magnitude, give the same unit row.
    """
    n, d = X.shape
    out = np.empty((n, d))
    for i in range(n):
        m = 0.0
        for k in range(d):
            if abs(X[i, k]) > m:
                m = abs(X[i, k])
        if m == 0.0:
            for k in range(d):
                out[i, k] = 0.0
            continue
        e = math.frexp(m)[1]
        s = 0.0
        for k in range(d):
            t = math.ldexp(X[i, k], -e)
            out[i, k] = t
            s += t * t
        r = np.sqrt(s)
        for k in range(d):
            out[i, k] = out[i, k] / r
    return out


@nb.njit(cache=True, nogil=True)
def pair_distances(F, G, rows, cols, metric):
    """Canonical distances of the pairs (rows[p], cols[p])."""
    m = rows.shape[0]
    out = np.empty(m)
    for p in range(m):
        out[p] = canonical(F, rows[p], G, cols[p], metric)
    return out


@nb.njit(cache=True, nogil=True)
def scan_collect(S, alpha, beta, row_ids, col_ids, F, G, metric, eps, out_r, out_c, out_d):
    """Pairs of a block whose canonical distance is <= eps.

    A pair (a, b) of the block is a candidate when ``S[a, b] - beta[b] >= alpha[a]``
    (the caller folds the threshold and the screening error into alpha and
    beta). Candidates are decided with the canonical distance of the original
    rows ``row_ids[a]`` of F and ``col_ids[b]`` of G and written to the output
    arrays. Returns the number of pairs found; when it exceeds the capacity of
    the output arrays, only the first ones were written and the caller must
    rescan with larger arrays.
    """
    b, w = S.shape
    cap = out_r.shape[0]
    cnt = 0
    for a in range(b):
        al = alpha[a]
        i = row_ids[a]
        for j0 in range(0, w, _SEG):
            seg = S[a, j0 : j0 + _SEG]
            bseg = beta[j0 : j0 + _SEG]
            h = 0
            for t in range(seg.shape[0]):
                if seg[t] - bseg[t] >= al:
                    h += 1
            if h == 0:
                continue
            for t in range(seg.shape[0]):
                if seg[t] - bseg[t] >= al:
                    j = col_ids[j0 + t]
                    dist = canonical(F, i, G, j, metric)
                    if dist <= eps:
                        if cnt < cap:
                            out_r[cnt] = i
                            out_c[cnt] = j
                            out_d[cnt] = dist
                        cnt += 1
    return cnt


@nb.njit(cache=True, nogil=True, inline="always")
def _search_left(a, x):
    """Number of entries of the sorted array a that are < x."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True, nogil=True, inline="always")
def _search_right(a, x):
    """Number of entries of the sorted array a that are <= x."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True, nogil=True)
def scan_hist(
    S, alpha, beta, nA, nB, coef, tau, grid_q, eps_grid, row_ids, col_ids, F, G, metric, hist
):
    """Add the pairs of a block to a histogram over a grid of thresholds.

    ``hist[k]`` counts the pairs whose canonical distance d satisfies
    ``eps_grid[k-1] < d <= eps_grid[k]`` (k = 0: ``d <= eps_grid[0]``); pairs
    beyond the last threshold are not counted. ``grid_q`` holds the thresholds
    in screening units. A pair is screened out when ``S - beta < alpha`` (the
    caller's quick test for the last threshold). Otherwise its screening value
    q and error bound m decide its bin whenever no threshold lies in
    [q - m, q + m]; the remaining pairs are decided with the canonical distance.
    Returns the number of pairs that needed the canonical distance.
    """
    b, w = S.shape
    exact = 0
    for a in range(b):
        al = alpha[a]
        i = row_ids[a]
        na = nA[a]
        for j0 in range(0, w, _SEG):
            seg = S[a, j0 : j0 + _SEG]
            bseg = beta[j0 : j0 + _SEG]
            h = 0
            for t in range(seg.shape[0]):
                if seg[t] - bseg[t] >= al:
                    h += 1
            if h == 0:
                continue
            for t in range(seg.shape[0]):
                if seg[t] - bseg[t] >= al:
                    nb_ = nB[j0 + t]
                    q = na + nb_ - 2.0 * seg[t]
                    m = coef * (na + nb_) + tau
                    lo = _search_left(grid_q, q - m)
                    hi = _search_right(grid_q, q + m)
                    if lo == hi:
                        hist[lo] += 1
                    else:
                        j = col_ids[j0 + t]
                        dist = canonical(F, i, G, j, metric)
                        hist[_search_left(eps_grid, dist)] += 1
                        exact += 1
    return exact
