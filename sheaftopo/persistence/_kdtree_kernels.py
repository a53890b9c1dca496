"""The KD-tree kernels of the exact low-dimensional MST (numba): build and searches.

:func:`build_kdtree` splits every node at the median of its widest coordinate
with an in-place selection (Hoare's FIND, O(n) per level, so the build is
O(n log n) with no sort), stores the points in tree order (every node is a
contiguous range of rows) and keeps tight bounding boxes.

:func:`point_search` lists a point's k nearest points outside its component
(top-down, nearer child first); :func:`leaf_search` finds the lightest edge
from a leaf whose points all lie in one component to another component (one
walk for the whole leaf, as quitefastmst's "sesqui-tree" Borůvka does,
Gagolewski 2025). Both skip nodes whose points all lie in the query's
component and prune by their component's best edge so far, which the
searches of all threads lower as they go (racy on purpose: every value
written is the length of a real edge of that component, so a stale read only
prunes less, and what is certified never depends on it). Candidates compare
by the edge key ``(d^2, min(i, j), max(i, j))``; for one query point ``i``
that orders them by ``(d^2, j)``. Squared distances are accumulated in
float64 from the coordinates (float32 or float64).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["STACK", "build_kdtree", "edge_less", "leaf_search", "point_search"]

#: traversal stack entries (a median tree over 2**63 points is < 64 deep; two per level)
STACK = 256


@nb.njit(cache=True, inline="always")
def _swap_rows(Xs, idx, a, b):
    for t in range(Xs.shape[1]):
        v = Xs[a, t]
        Xs[a, t] = Xs[b, t]
        Xs[b, t] = v
    k = idx[a]
    idx[a] = idx[b]
    idx[b] = k


@nb.njit(cache=True)
def _select(Xs, idx, s, e, m, dim):
    """Reorder rows ``s:e`` so that row ``m`` holds the median along ``dim`` (Hoare's FIND).

    Afterwards rows ``s:m`` are <= row ``m`` <= rows ``m:e`` in that coordinate.
    Equal keys are swapped across the pivot, so ties split evenly.
    """
    lo = s
    hi = e - 1
    while hi > lo:
        a = Xs[lo, dim]
        b = Xs[(lo + hi) >> 1, dim]
        c = Xs[hi, dim]
        pivot = max(min(a, b), min(max(a, b), c))  # median of three
        i = lo
        j = hi
        while i <= j:
            while Xs[i, dim] < pivot:
                i += 1
            while Xs[j, dim] > pivot:
                j -= 1
            if i <= j:
                _swap_rows(Xs, idx, i, j)
                i += 1
                j -= 1
        if m <= j:
            hi = j
        elif m >= i:
            lo = i
        else:
            break


@nb.njit(cache=True)
def _tight_box(Xs, s, e, lo, hi, node):
    for t in range(Xs.shape[1]):
        lo[node, t] = Xs[s, t]
        hi[node, t] = Xs[s, t]
    for i in range(s + 1, e):
        for t in range(Xs.shape[1]):
            v = Xs[i, t]
            if v < lo[node, t]:
                lo[node, t] = v
            elif v > hi[node, t]:
                hi[node, t] = v


@nb.njit(cache=True)
def build_kdtree(X, leaf_size):
    """Median-split KD-tree. Returns (Xs, perm, start, end, left, right, lo, hi).

    ``Xs[i] = X[perm[i]]`` are the points in tree order; node ``v`` holds rows
    ``start[v]:end[v]`` with the tight box ``lo[v], hi[v]``; leaves have
    ``left[v] == -1``. Node ids grow from the root downwards (a child's id
    exceeds its parent's), so a pass over ids in decreasing order visits
    children before parents. Nodes of identical points are split like any
    other (their boxes are points), so no leaf holds more than ``leaf_size``.
    """
    n, d = X.shape
    Xs = np.empty((n, d), X.dtype)
    for i in range(n):
        for t in range(d):
            Xs[i, t] = X[i, t]
    perm = np.arange(n)
    cap = 2 * ((n + max(1, leaf_size) - 1) // max(1, leaf_size)) * 2 + 1
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    lo = np.empty((cap, d), X.dtype)
    hi = np.empty((cap, d), X.dtype)
    stack = np.empty(cap, np.int64)
    n_nodes = 1
    start[0] = 0
    end[0] = n
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        s = start[node]
        e = end[node]
        _tight_box(Xs, s, e, lo, hi, node)
        if e - s <= leaf_size:
            continue
        dim = 0
        spread = np.float64(hi[node, 0]) - lo[node, 0]
        for t in range(1, d):
            w = np.float64(hi[node, t]) - lo[node, t]
            if w > spread:
                spread = w
                dim = t
        mid = s + (e - s) // 2
        _select(Xs, perm, s, e, mid, dim)
        a = n_nodes
        b = n_nodes + 1
        n_nodes += 2
        start[a] = s
        end[a] = mid
        start[b] = mid
        end[b] = e
        left[node] = a
        right[node] = b
        stack[sp] = b
        stack[sp + 1] = a
        sp += 2
    return (
        Xs,
        perm,
        start[:n_nodes],
        end[:n_nodes],
        left[:n_nodes],
        right[:n_nodes],
        lo[:n_nodes],
        hi[:n_nodes],
    )


@nb.njit(cache=True, inline="always")
def _point_box(Xs, i, lo, hi, node):
    s = 0.0
    for t in range(Xs.shape[1]):
        x = np.float64(Xs[i, t])
        a = np.float64(lo[node, t])
        if x < a:
            s += (a - x) * (a - x)
        else:
            b = np.float64(hi[node, t])
            if x > b:
                s += (x - b) * (x - b)
    return s


@nb.njit(cache=True, inline="always")
def _key_less(d, j, bd, bj):
    """(d, j) < (bd, bj) lexicographically."""
    return d < bd or (d == bd and j < bj)


@nb.njit(cache=True, inline="always")
def _less(d, lo_, hi_, bd, blo, bhi):
    """Edge key comparison (d, lo, hi) < (bd, blo, bhi)."""
    if d != bd:
        return d < bd
    if lo_ != blo:
        return lo_ < blo
    return hi_ < bhi


@nb.njit(cache=True, inline="always")
def edge_less(d, i, j, bd, bi, bj):
    """Edge key comparison of the edges (i, j) and (bi, bj) at squared lengths d, bd."""
    return _less(d, min(i, j), max(i, j), bd, min(bi, bj), max(bi, bj))


@nb.njit(cache=True, inline="always")
def _sqdist(Xs, i, j):
    s = 0.0
    for t in range(Xs.shape[1]):
        v = np.float64(Xs[i, t]) - Xs[j, t]
        s += v * v
    return s


@nb.njit(cache=True, inline="always")
def _node_node(lo, hi, a, b):
    """Squared distance between the boxes of nodes ``a`` and ``b``."""
    s = 0.0
    for t in range(lo.shape[1]):
        g = np.float64(lo[b, t]) - hi[a, t]
        if g > 0.0:
            s += g * g
        else:
            g = np.float64(lo[a, t]) - hi[b, t]
            if g > 0.0:
                s += g * g
    return s


@nb.njit(cache=True, inline="always")
def _push_children(tree, node, da, db, stack, dstack, sp):
    """Push both children, the nearer one on top (the left one on a tie)."""
    a = tree[2][node]
    b = tree[3][node]
    if da <= db:
        stack[sp] = b
        dstack[sp] = db
        stack[sp + 1] = a
        dstack[sp + 1] = da
    else:
        stack[sp] = a
        dstack[sp] = da
        stack[sp + 1] = b
        dstack[sp + 1] = db
    return sp + 2


@nb.njit(cache=True, inline="always")
def _limit(od, oj, pb, k, big):
    """The pruning key: the k-th listed key, or ``(pb, big)`` when that is smaller."""
    if oj[k - 1] >= 0 and _key_less(od[k - 1], oj[k - 1], pb, big):
        return od[k - 1], oj[k - 1]
    return pb, big


@nb.njit(cache=True)
def point_search(Xs, i, comp, node_comp, tree, comp_bound, od, oj, stack, dstack):
    """The k = len(od) nearest points to ``i`` outside its component, by key ``(d^2, j)``.

    Only points within the bound ``comp_bound[comp[i]]`` (its component's best
    edge so far, re-read at every leaf when k == 1) are kept; returns the final
    bound, below which every outside point was examined.
    """
    start, end, left, _, lo, hi = tree
    k = od.shape[0]
    big = Xs.shape[0]
    ci = comp[i]
    for t in range(k):
        od[t] = np.inf
        oj[t] = -1
    pb = comp_bound[ci]
    lim_d, lim_j = pb, big
    stack[0] = 0
    dstack[0] = _point_box(Xs, i, lo, hi, 0)
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if node_comp[node] == ci:
            continue
        dist = dstack[sp]
        if dist > lim_d or (dist == lim_d and start[node] > lim_j):
            continue
        if left[node] >= 0:
            da = _point_box(Xs, i, lo, hi, left[node])
            db = _point_box(Xs, i, lo, hi, tree[3][node])
            sp = _push_children(tree, node, da, db, stack, dstack, sp)
            continue
        if k == 1 and comp_bound[ci] < pb:
            pb = comp_bound[ci]  # another search of the component found a shorter edge
            lim_d, lim_j = _limit(od, oj, pb, k, big)
        for j in range(start[node], end[node]):
            if comp[j] == ci:
                continue
            dd = _sqdist(Xs, i, j)
            if _key_less(dd, j, lim_d, lim_j):
                t = k - 1
                while t > 0 and _key_less(dd, j, od[t - 1], oj[t - 1]):
                    od[t] = od[t - 1]
                    oj[t] = oj[t - 1]
                    t -= 1
                od[t] = dd
                oj[t] = j
                lim_d, lim_j = _limit(od, oj, pb, k, big)
        if k == 1 and oj[0] >= 0:
            # racy on purpose (a stale bound only prunes less); the edge bounds both ends
            if od[0] < comp_bound[ci]:
                comp_bound[ci] = od[0]
            if od[0] < comp_bound[comp[oj[0]]]:
                comp_bound[comp[oj[0]]] = od[0]
    return pb


@nb.njit(cache=True)
def _scan_leaf_pair(Xs, q, node, c, comp, tree, best, lim):
    """Offer every pair (i in leaf ``q``, j outside component ``c`` in leaf ``node``)."""
    start, end, _, _, lo, hi = tree
    bd, bi, bj = best
    for i in range(start[q], end[q]):
        if _point_box(Xs, i, lo, hi, node) > lim:
            continue
        for j in range(start[node], end[node]):
            if comp[j] == c:
                continue
            dd = _sqdist(Xs, i, j)
            if dd <= lim and (bi < 0 or edge_less(dd, i, j, bd, bi, bj)):
                bd, bi, bj = dd, i, j
                lim = min(lim, dd)
    return (bd, bi, bj), lim


@nb.njit(cache=True)
def leaf_search(Xs, q, c, comp, node_comp, tree, comp_bound, stack, dstack):
    """The lightest edge (by key) from leaf ``q`` (all in component ``c``) to another component.

    Returns ``(d, i, j, pb)``: the edge, or ``i = -1`` when none lies within the
    component's bound; ``pb`` is the final bound, below which every edge was examined.
    """
    left = tree[2]
    lo = tree[4]
    hi = tree[5]
    best = (np.inf, -1, -1)
    pb = comp_bound[c]
    stack[0] = 0
    dstack[0] = _node_node(lo, hi, q, 0)
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if node_comp[node] == c:
            continue
        lim = min(best[0], pb)
        if dstack[sp] > lim:
            continue
        if left[node] >= 0:
            da = _node_node(lo, hi, q, left[node])
            db = _node_node(lo, hi, q, tree[3][node])
            sp = _push_children(tree, node, da, db, stack, dstack, sp)
            continue
        pb = min(pb, comp_bound[c])  # racy read: only ever a real edge of c
        best, _ = _scan_leaf_pair(Xs, q, node, c, comp, tree, best, min(best[0], pb))
        if best[1] >= 0 and best[0] < comp_bound[c]:
            comp_bound[c] = best[0]  # racy on purpose: a stale bound only prunes less
    return best[0], best[1], best[2], pb
