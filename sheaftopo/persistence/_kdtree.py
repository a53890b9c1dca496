"""Exact Euclidean minimum spanning tree in low dimension: Borůvka over a KD-tree (numba).

Each Borůvka round asks, for every point, for its nearest neighbour outside
its own component. A KD-tree answers that query quickly once every node knows
whether all of its points lie in one component (such nodes are skipped when
the query point belongs to that component). Three bounds keep the work down,
as in fast_hdbscan (McInnes & Healy, "Accelerated hierarchical density
clustering", 2017):

* a point's nearest outside neighbour from the last round, if it is still
  outside, is still the nearest (the outside set only shrinks);
* otherwise its distance is a lower bound for the new one;
* a component's best edge so far prunes the searches of its other points.

Edges are compared by the key ``(d^2, min(i, j), max(i, j))`` over tree-order
indices, a total order, so equal distances never make Borůvka close a cycle.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._mst_kernels import uf_find, uf_union


@nb.njit(cache=True)
def build_kdtree(X, leaf_size):
    """Median-split KD-tree. Returns (perm, start, end, left, right, lo, hi).

    Node ids grow from the root downwards (a child's id exceeds its parent's),
    so a pass over ids in decreasing order visits children before parents.
    """
    n, d = X.shape
    perm = np.arange(n)
    cap = 2 * (n // max(1, leaf_size) + 1) * 2 + 1
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
    sp = 0
    stack[sp] = 0
    sp += 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        s = start[node]
        e = end[node]
        for t in range(d):
            lo[node, t] = X[perm[s], t]
            hi[node, t] = X[perm[s], t]
        for i in range(s + 1, e):
            for t in range(d):
                v = X[perm[i], t]
                if v < lo[node, t]:
                    lo[node, t] = v
                if v > hi[node, t]:
                    hi[node, t] = v
        if e - s <= leaf_size:
            continue
        dim = 0
        spread = hi[node, 0] - lo[node, 0]
        for t in range(1, d):
            if hi[node, t] - lo[node, t] > spread:
                spread = hi[node, t] - lo[node, t]
                dim = t
        if spread <= 0.0:
            continue  # all points identical: keep as one leaf
        keys = np.empty(e - s, X.dtype)
        for i in range(s, e):
            keys[i - s] = X[perm[i], dim]
        order = np.argsort(keys, kind="mergesort")
        seg = perm[s:e].copy()
        for i in range(e - s):
            perm[s + i] = seg[order[i]]
        mid = s + (e - s) // 2
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
        sp += 1
        stack[sp] = a
        sp += 1
    return (perm, start[:n_nodes], end[:n_nodes], left[:n_nodes], right[:n_nodes],
            lo[:n_nodes], hi[:n_nodes])


@nb.njit(cache=True, inline="always")
def _box_dist2(X, i, lo, hi, node):
    s = 0.0
    for t in range(X.shape[1]):
        x = X[i, t]
        if x < lo[node, t]:
            v = np.float64(lo[node, t]) - x
            s += v * v
        elif x > hi[node, t]:
            v = np.float64(x) - hi[node, t]
            s += v * v
    return s


@nb.njit(cache=True, inline="always")
def _less(d, lo_, hi_, bd, blo, bhi):
    """Edge key comparison (d, lo, hi) < (bd, blo, bhi)."""
    if d != bd:
        return d < bd
    if lo_ != blo:
        return lo_ < blo
    return hi_ < bhi


@nb.njit(cache=True)
def _nearest_outside(X, i, comp, node_comp, start, end, left, right, lo, hi, bound, stack):
    """Nearest point to X[i] outside comp[i] with squared distance <= bound, by key (d, j)."""
    ci = comp[i]
    best_d = np.inf
    best_j = -1
    sp = 0
    stack[sp] = 0
    sp += 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if node_comp[node] == ci:
            continue
        lim = bound if bound < best_d else best_d
        if _box_dist2(X, i, lo, hi, node) > lim:
            continue
        a = left[node]
        if a < 0:
            for j in range(start[node], end[node]):
                if comp[j] == ci:
                    continue
                s = 0.0
                for t in range(X.shape[1]):
                    v = np.float64(X[i, t]) - X[j, t]
                    s += v * v
                if s < best_d or (s == best_d and j < best_j):
                    if s <= bound:
                        best_d = s
                        best_j = j
            continue
        b = right[node]
        da = _box_dist2(X, i, lo, hi, a)
        db = _box_dist2(X, i, lo, hi, b)
        if da <= db:
            stack[sp] = b
            stack[sp + 1] = a
        else:
            stack[sp] = a
            stack[sp + 1] = b
        sp += 2
    return best_d, best_j


@nb.njit(cache=True, parallel=True)
def _round_search(X, comp, node_comp, start, end, left, right, lo, hi,
                  todo, comp_bound, nn_d, nn_j):
    n_todo = todo.shape[0]
    chunk = 256
    n_chunks = (n_todo + chunk - 1) // chunk
    for ch in nb.prange(n_chunks):
        stack = np.empty(256, np.int64)
        for t in range(ch * chunk, min(n_todo, (ch + 1) * chunk)):
            i = todo[t]
            c = comp[i]
            bnd = comp_bound[c]
            d, j = _nearest_outside(X, i, comp, node_comp, start, end, left, right,
                                    lo, hi, bnd, stack)
            if j >= 0:
                nn_d[i] = d
                nn_j[i] = j
                if d < comp_bound[c]:
                    comp_bound[c] = d  # racy on purpose: a stale bound only prunes less
            else:
                # nothing outside within the bound: the bound is a lower bound
                nn_d[i] = bnd
                nn_j[i] = -1


@nb.njit(cache=True)
def kdtree_boruvka(X, leaf_size):
    """Exact Euclidean MST of ``X`` (n, d). Returns (u, v, squared_lengths), original indices."""
    perm, start, end, left, right, lo, hi = build_kdtree(X, leaf_size)
    n, dim = X.shape
    Xs = np.empty((n, dim), X.dtype)
    for i in range(n):
        Xs[i] = X[perm[i]]
    n_nodes = start.shape[0]
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    comp = np.arange(n)
    n_comp = n
    nn_d = np.full(n, 0.0)  # lower bound on the distance to the nearest outside point
    nn_j = np.full(n, -1, np.int64)
    node_comp = np.empty(n_nodes, np.int64)
    eu = np.empty(max(n - 1, 0), np.int64)
    ev = np.empty(max(n - 1, 0), np.int64)
    ew = np.empty(max(n - 1, 0), np.float64)
    m = 0
    while n_comp > 1:
        # labels 0..n_comp-1 of the current components
        lab_of_root = np.full(n, -1, np.int64)
        c = 0
        for i in range(n):
            r = uf_find(parent, i)
            if lab_of_root[r] < 0:
                lab_of_root[r] = c
                c += 1
            comp[i] = lab_of_root[r]
        n_comp = c
        if n_comp == 1:
            break
        for node in range(n_nodes - 1, -1, -1):
            a = left[node]
            if a < 0:
                cc = comp[start[node]]
                for j in range(start[node] + 1, end[node]):
                    if comp[j] != cc:
                        cc = -1
                        break
                node_comp[node] = cc
            else:
                ca = node_comp[a]
                node_comp[node] = ca if ca == node_comp[right[node]] else -1
        # candidates still valid from the last round
        comp_bound = np.full(n_comp, np.inf)
        valid = np.zeros(n, np.bool_)
        for i in range(n):
            j = nn_j[i]
            if j >= 0 and comp[j] != comp[i]:
                valid[i] = True
                if nn_d[i] < comp_bound[comp[i]]:
                    comp_bound[comp[i]] = nn_d[i]
        n_todo = 0
        todo = np.empty(n, np.int64)
        for i in range(n):
            if not valid[i] and nn_d[i] <= comp_bound[comp[i]]:
                todo[n_todo] = i
                n_todo += 1
            elif not valid[i]:
                nn_j[i] = -1  # keep its lower bound nn_d[i] for later rounds
        _round_search(Xs, comp, node_comp, start, end, left, right, lo, hi,
                      todo[:n_todo], comp_bound, nn_d, nn_j)
        # lightest outgoing edge of every component, by edge key
        bd = np.full(n_comp, np.inf)
        bp = np.full(n_comp, -1, np.int64)
        bq = np.full(n_comp, -1, np.int64)
        for i in range(n):
            j = nn_j[i]
            if j < 0:
                continue
            cc = comp[i]
            lo_ = min(i, j)
            hi_ = max(i, j)
            if bp[cc] < 0 or _less(nn_d[i], lo_, hi_, bd[cc], min(bp[cc], bq[cc]),
                                   max(bp[cc], bq[cc])):
                bd[cc] = nn_d[i]
                bp[cc] = i
                bq[cc] = j
        for cc in range(n_comp):
            if bp[cc] >= 0 and uf_union(parent, rank, bp[cc], bq[cc]):
                eu[m] = perm[bp[cc]]
                ev[m] = perm[bq[cc]]
                ew[m] = bd[cc]
                m += 1
        # points whose search was pruned keep nn_d as a lower bound (nn_j = -1);
        # for the others nn_d is exact and stays a lower bound once j joins them
    return eu[:m], ev[:m], ew[:m]
