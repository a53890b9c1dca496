"""numba kernels for minimum spanning trees and forests.

Used by :mod:`sheaftopo.persistence` (every in-memory MST method and its KD-tree),
:mod:`sheaftopo.distributed` (the Dask Borůvka) and :mod:`sheaftopo._core.mst`,
through the loader :data:`sheaftopo._core.mst.mst_kernels` (never imported at
import time; only other kernel modules, such as the KD-tree's, import it
directly, for its inlined union-find). Plain functions over plain arrays; the wrappers
validate the input and choose the method. Conventions shared by every kernel:

* Edges are compared by the *edge key* ``(w, min(i, j), max(i, j))``. This is
  a total order on the edges of a graph, so ties are broken the same way by
  every method and Borůvka never closes a cycle of equal-weight edges.
  Ordering the candidate neighbours ``q`` of a fixed point ``p`` by ``(w, q)``
  agrees with the edge key (among equal weights, ``q < p`` gives key
  ``(q, p)`` and ``q > p`` gives ``(p, q)``; both grow with ``q``).
* Point-cloud kernels work with *squared* Euclidean distances: the square is
  monotone, so it selects the same tree, and the caller recomputes the
  selected edge lengths exactly from the coordinates.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# --------------------------------------------------------------------------
# union-find (path halving, union by rank)
# --------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def uf_find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(cache=True, inline="always")
def uf_union(parent, rank, a, b):
    """Merge the sets of ``a`` and ``b``; False when they were already one set."""
    ra = uf_find(parent, a)
    rb = uf_find(parent, b)
    if ra == rb:
        return False
    if rank[ra] < rank[rb]:
        ra, rb = rb, ra
    parent[rb] = ra
    if rank[ra] == rank[rb]:
        rank[ra] += 1
    return True


@nb.njit(cache=True)
def uf_labels(parent):
    """Component labels 0..c-1, numbered by the smallest vertex of each component."""
    n = parent.shape[0]
    labels = np.empty(n, np.int64)
    root_label = np.full(n, -1, np.int64)
    c = 0
    for v in range(n):
        r = uf_find(parent, v)
        if root_label[r] < 0:
            root_label[r] = c
            c += 1
        labels[v] = root_label[r]
    return labels, c


# --------------------------------------------------------------------------
# Kruskal on an explicit edge list
# --------------------------------------------------------------------------


@nb.njit(cache=True)
def kruskal(rows, cols, order, n):
    """Indices (into ``rows``/``cols``) of a minimum spanning forest.

    ``order`` lists the edges sorted by edge key; the selected indices come out
    in that order.
    """
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    out = np.empty(min(n - 1, order.shape[0]) if n > 0 else 0, np.int64)
    m = 0
    for t in range(order.shape[0]):
        e = order[t]
        if uf_union(parent, rank, rows[e], cols[e]):
            out[m] = e
            m += 1
            if m == n - 1:
                break
    return out[:m]


# --------------------------------------------------------------------------
# Gram-identity guard
# --------------------------------------------------------------------------
#
# |x|^2 + |y|^2 - 2<x, y> loses up to about 2 d u (|x|^2 + |y|^2) to rounding
# (u the unit roundoff of the product's precision). Below a few times that,
# the value says nothing about the true distance, so the kernels recompute such
# squared distances from the coordinates R (float64 accumulation) whenever
# d2 < tol * (|x|^2 + |y|^2). Near-duplicates are then ordered exactly; above
# the guard the relative error is small and only near-ties can swap.


@nb.njit(cache=True, inline="always")
def exact_sqdist(R, i, j):
    s = 0.0
    for t in range(R.shape[1]):
        v = np.float64(R[i, t]) - np.float64(R[j, t])
        s += v * v
    return s


# --------------------------------------------------------------------------
# Prim on a dense matrix: key(i, j) = a[i] + a[j] + c * M[i, j]
# --------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _pair_less(a, b, c, d):
    """``(min(a, b), max(a, b)) < (min(c, d), max(c, d))``; a pair with ``c < 0`` is last."""
    if c < 0:
        return True
    lo1, hi1 = min(a, b), max(a, b)
    lo2, hi2 = min(c, d), max(c, d)
    return lo1 < lo2 or (lo1 == lo2 and hi1 < hi2)


@nb.njit(cache=True)
def prim_dense(M, a, c, R, tol):
    """Prim's algorithm on the complete graph with weights ``a[i] + a[j] + c*M[i, j]``.

    With ``a = 0, c = 1`` (and ``tol = 0``) this is Prim on a distance matrix
    ``M``; with ``a = |x|^2, c = -2`` and ``M`` the Gram matrix it is Prim on
    squared Euclidean distances without forming them, values under the guard
    ``tol * (a[i] + a[j])`` being recomputed from the coordinates ``R``.
    Returns ``(parent, key)``: the tree edges are ``(parent[v], v)`` for
    ``v != 0`` with weight ``key[v]`` (clamped at 0).

    Equal values are ordered by the edge's vertex pair ``(min, max)``, so every
    comparison is on the key ``(value, min(i, j), max(i, j))``, a strict total
    order, and the tree is the unique minimum for that key: on a distance
    matrix the same tree Kruskal returns with that key, whatever the vertex
    numbering of the ties.
    """
    n = M.shape[0]
    intree = np.zeros(n, np.bool_)
    key = np.full(n, np.inf)
    parent = np.full(n, -1, np.int64)
    cur = 0
    intree[0] = True
    key[0] = 0.0
    for _ in range(n - 1):
        ai = a[cur]
        row = M[cur]
        best = np.inf
        best_j = -1
        for j in range(n):
            if not intree[j]:
                v = ai + a[j] + c * row[j]
                if v < tol * (ai + a[j]):
                    v = exact_sqdist(R, cur, j)
                if v < key[j] or (v == key[j] and _pair_less(cur, j, parent[j], j)):
                    key[j] = v
                    parent[j] = cur
                if (
                    best_j < 0
                    or key[j] < best
                    or (key[j] == best and _pair_less(parent[j], j, parent[best_j], best_j))
                ):
                    best = key[j]
                    best_j = j
        intree[best_j] = True
        cur = best_j
    for j in range(n):
        if key[j] < 0.0:
            key[j] = 0.0
    return parent, key


@nb.njit(cache=True, parallel=True)
def prim_dense_batch(M, a, c, R, tol):
    """:func:`prim_dense` on a stack ``M`` of shape (B, n, n), in parallel over B."""
    B, n = M.shape[0], M.shape[1]
    parents = np.empty((B, n), np.int64)
    keys = np.empty((B, n), np.float64)
    for b in nb.prange(B):
        p, k = prim_dense(M[b], a[b], c, R[b], tol)
        parents[b] = p
        keys[b] = k
    return parents, keys


# --------------------------------------------------------------------------
# Blocked sweeps over pairs of row blocks (Borůvka on a Gram matrix)
# --------------------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def _insert(best_d, best_i, p, s, d, q):
    """Insert candidate (d, q) into the sorted list best[p, s, :] if it belongs there."""
    k = best_d.shape[2]
    last = k - 1
    if d > best_d[p, s, last] or (d == best_d[p, s, last] and q >= best_i[p, s, last]):
        return
    t = last
    while t > 0 and (
        d < best_d[p, s, t - 1] or (d == best_d[p, s, t - 1] and q < best_i[p, s, t - 1])
    ):
        best_d[p, s, t] = best_d[p, s, t - 1]
        best_i[p, s, t] = best_i[p, s, t - 1]
        t -= 1
    best_d[p, s, t] = d
    best_i[p, s, t] = q


@nb.njit(cache=True, parallel=True)
def sweep_block(G, sq, i0, j0, comp, slot, best_d, best_i, both_orders, R, tol):
    """Fold one Gram block into per-point candidate lists.

    ``G[r, s] = <x[i0 + r], x[j0 + s]>``. For every pair (p, q) of the block
    with ``comp[p] != comp[q]``, the squared distance ``sq[p] + sq[q] - 2 G``
    is offered to the sorted list ``best[p, slot[comp[q]], :]`` and, when
    ``both_orders`` is set, also to ``best[q, slot[comp[p]], :]`` (so that a
    sweep over the block pairs I <= J sees every ordered pair once, each
    value computed once). Lists are ordered by ``(d, index)``.

    One kernel serves three sweeps: k nearest neighbours (``comp`` all
    distinct, one slot), the k nearest points outside each point's component
    (``comp`` = labels, one slot) and the nearest point of every other
    component (``slot[c] = c``, k = 1). Squared distances under the guard
    ``tol * (|x|^2 + |y|^2)`` are recomputed from the coordinates ``R``.
    """
    nr, nc = G.shape
    k = best_d.shape[2]
    single = best_d.shape[1] == 1
    for r in nb.prange(nr):
        p = i0 + r
        cp = comp[p]
        sp = sq[p]
        thr = best_d[p, 0, k - 1] if single else np.inf
        for s in range(nc):
            guard = tol * (sp + sq[j0 + s])
            d = sp + sq[j0 + s] - 2.0 * G[r, s]
            if d > thr and d >= guard:
                continue
            q = j0 + s
            cq = comp[q]
            if cq == cp:
                continue
            if d < guard:
                d = exact_sqdist(R, p, q)
                if d > thr:
                    continue
            _insert(best_d, best_i, p, slot[cq], d, q)
            if single:
                thr = best_d[p, 0, k - 1]
    if not both_orders:
        return
    tile = 64
    n_tiles = (nc + tile - 1) // tile
    for t in nb.prange(n_tiles):
        s0 = t * tile
        s1 = min(nc, s0 + tile)
        thr_t = np.empty(s1 - s0)
        for s in range(s0, s1):
            thr_t[s - s0] = best_d[j0 + s, 0, k - 1] if single else np.inf
        for r in range(nr):
            p = i0 + r
            cp = comp[p]
            sp = sq[p]
            sl = slot[cp]
            for s in range(s0, s1):
                guard = tol * (sp + sq[j0 + s])
                d = sp + sq[j0 + s] - 2.0 * G[r, s]
                if d > thr_t[s - s0] and d >= guard:
                    continue
                q = j0 + s
                if comp[q] == cp:
                    continue
                if d < guard:
                    d = exact_sqdist(R, p, q)
                    if d > thr_t[s - s0]:
                        continue
                _insert(best_d, best_i, q, sl, d, p)
                if single:
                    thr_t[s - s0] = best_d[q, 0, k - 1]


@nb.njit(cache=True)
def list_round(best_d, best_i, comp, n_comp):
    """One Borůvka round answered from candidate lists, where they suffice.

    ``best[p, 0, :]`` holds the k nearest points (by ``(d, q)``) among those
    outside p's component when the lists were built. Components only grow, so
    the first listed point now outside p's component is p's exact nearest
    outside point; if none is, p's nearest outside point is at least as far as
    the last entry of a full list (a list that is not full held *every* outside
    point, so p has none left).

    Returns, per component, the lightest candidate edge ``(d, p, q)`` found
    and whether it is certainly the component's lightest outgoing edge.
    """
    n, _, k = best_d.shape
    cd = np.full(n_comp, np.inf)
    cp = np.full(n_comp, -1, np.int64)
    cq = np.full(n_comp, -1, np.int64)
    need = np.full(n_comp, np.inf)
    for p in range(n):
        c = comp[p]
        found = False
        for t in range(k):
            q = best_i[p, 0, t]
            if q < 0:
                break
            if comp[q] != c:
                d = best_d[p, 0, t]
                lo = min(p, q)
                hi = max(p, q)
                if (
                    cp[c] < 0
                    or d < cd[c]
                    or (
                        d == cd[c]
                        and (
                            lo < min(cp[c], cq[c])
                            or (lo == min(cp[c], cq[c]) and hi < max(cp[c], cq[c]))
                        )
                    )
                ):
                    cd[c] = d
                    cp[c] = p
                    cq[c] = q
                found = True
                break
        if not found and best_i[p, 0, k - 1] >= 0:
            lb = best_d[p, 0, k - 1]
            if lb < need[c]:
                need[c] = lb
    resolved = np.zeros(n_comp, np.bool_)
    for c in range(n_comp):
        resolved[c] = cp[c] >= 0 and cd[c] < need[c]
    return cd, cp, cq, resolved


@nb.njit(cache=True)
def component_pair_minima(best_d, best_i, comp, n_comp):
    """Reduce per-point nearest points of every other component to a component graph.

    ``best[p, c, 0]`` is p's nearest point in component c. Returns the (c, c)
    matrix of minimum distances between components and the point pairs that
    realise them, with ties broken by edge key.
    """
    n = best_d.shape[0]
    W = np.full((n_comp, n_comp), np.inf)
    P = np.full((n_comp, n_comp), -1, np.int64)
    Q = np.full((n_comp, n_comp), -1, np.int64)
    for p in range(n):
        a = comp[p]
        for b in range(n_comp):
            q = best_i[p, b, 0]
            if q < 0:
                continue
            d = best_d[p, b, 0]
            lo = min(p, q)
            hi = max(p, q)
            if (
                P[a, b] < 0
                or d < W[a, b]
                or (
                    d == W[a, b]
                    and (
                        lo < min(P[a, b], Q[a, b])
                        or (lo == min(P[a, b], Q[a, b]) and hi < max(P[a, b], Q[a, b]))
                    )
                )
            ):
                W[a, b] = d
                P[a, b] = p
                Q[a, b] = q
    for a in range(n_comp):
        W[a, a] = 0.0
    return W, P, Q


# --------------------------------------------------------------------------
# exact edge lengths
# --------------------------------------------------------------------------


@nb.njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def euclidean_edge_lengths(X, u, v):
    """``|X[u[e]] - X[v[e]]|`` accumulated in float64 (no Gram-identity cancellation).

    Reassociating the sum (SIMD) changes only its rounding, within a few ulps.
    """
    m = u.shape[0]
    out = np.empty(m, np.float64)
    d = X.shape[1]
    for e in range(m):
        s = 0.0
        a = u[e]
        b = v[e]
        for t in range(d):
            diff = np.float64(X[a, t]) - np.float64(X[b, t])
            s += diff * diff
        out[e] = np.sqrt(s)
    return out


@nb.njit(cache=True)
def uf_merge(parent, rank, u, v):
    """Union the endpoints of every edge in order; True where the edge joined two sets."""
    acc = np.zeros(u.shape[0], np.bool_)
    for t in range(u.shape[0]):
        acc[t] = uf_union(parent, rank, u[t], v[t])
    return acc
