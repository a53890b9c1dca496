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

from .._core.mst_kernels import uf_find, uf_union


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
    return (
        perm,
        start[:n_nodes],
        end[:n_nodes],
        left[:n_nodes],
        right[:n_nodes],
        lo[:n_nodes],
        hi[:n_nodes],
    )


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
def _knn_outside(
    X, i, comp, node_comp, start, end, left, right, lo, hi, bound, out_d, out_j, stack, dstack
):
    """The k nearest points to X[i] outside comp[i] with squared distance <= bound.

    Results, ordered by (d, j), go to ``out_d[:k], out_j[:k]`` (k = len(out_d));
    unused slots hold (inf, -1). Returns the number found.
    """
    k = out_d.shape[0]
    for t in range(k):
        out_d[t] = np.inf
        out_j[t] = -1
    ci = comp[i]
    found = 0
    sp = 0
    stack[0] = 0
    dstack[0] = _box_dist2(X, i, lo, hi, 0)
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if node_comp[node] == ci:
            continue
        lim = out_d[k - 1]
        if bound < lim:
            lim = bound
        if dstack[sp] > lim:
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
                if s > bound:
                    continue
                if s < out_d[k - 1] or (s == out_d[k - 1] and j < out_j[k - 1]):
                    if out_j[k - 1] < 0:
                        found += 1
                    t = k - 1
                    while t > 0 and (s < out_d[t - 1] or (s == out_d[t - 1] and j < out_j[t - 1])):
                        out_d[t] = out_d[t - 1]
                        out_j[t] = out_j[t - 1]
                        t -= 1
                    out_d[t] = s
                    out_j[t] = j
            continue
        b = right[node]
        da = _box_dist2(X, i, lo, hi, a)
        db = _box_dist2(X, i, lo, hi, b)
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
        sp += 2
    return found


@nb.njit(cache=True, parallel=True)
def _search(
    X, comp, node_comp, start, end, left, right, lo, hi, todo, k, comp_bound, cand_d, cand_j, lb
):
    """Refresh the candidate lists of the points in ``todo`` with a tree search.

    Each gets its k nearest points outside its component within its
    component's current bound; ``lb`` becomes a lower bound on the distance of
    every outside point not listed.
    """
    n_todo = todo.shape[0]
    chunk = 256
    n_chunks = (n_todo + chunk - 1) // chunk
    kk = cand_d.shape[1]
    for ch in nb.prange(n_chunks):
        stack = np.empty(512, np.int64)
        dstack = np.empty(512, np.float64)
        od = np.empty(k, np.float64)
        oj = np.empty(k, np.int64)
        for t in range(ch * chunk, min(n_todo, (ch + 1) * chunk)):
            i = todo[t]
            c = comp[i]
            bnd = comp_bound[c]
            f = _knn_outside(
                X, i, comp, node_comp, start, end, left, right, lo, hi, bnd, od, oj, stack, dstack
            )
            for s in range(kk):
                cand_d[i, s] = od[s] if s < k else np.inf
                cand_j[i, s] = oj[s] if s < k else -1
            if f == k:
                lb[i] = od[k - 1]  # a full list: the rest are at least this far
            elif f > 0:
                lb[i] = bnd  # every outside point within the bound was listed
            else:
                lb[i] = bnd
            if f > 0 and od[0] < comp_bound[c]:
                comp_bound[c] = od[0]  # racy on purpose: a stale bound only prunes less


@nb.njit(cache=True)
def _node_components(comp, start, end, left, right, node_comp):
    for node in range(start.shape[0] - 1, -1, -1):
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


@nb.njit(cache=True)
def _label_components(parent, comp):
    """Write every point's component (numbered 0.. in point order) to ``comp``; return the count."""
    n = comp.shape[0]
    lab_of_root = np.full(n, -1, np.int64)
    n_comp = 0
    for i in range(n):
        r = uf_find(parent, i)
        if lab_of_root[r] < 0:
            lab_of_root[r] = n_comp
            n_comp += 1
        comp[i] = lab_of_root[r]
    return n_comp


@nb.njit(cache=True)
def _first_listed_outside(cand_d, cand_j, comp, n_comp):
    """Per point, the slot of its first listed point outside its component (-1: none).

    Also returns each component's bound: the smallest such listed distance.
    """
    n, kk = cand_j.shape
    comp_bound = np.full(n_comp, np.inf)
    pick = np.full(n, -1, np.int64)
    for i in range(n):
        for s in range(kk):
            j = cand_j[i, s]
            if j < 0:
                break
            if comp[j] != comp[i]:
                pick[i] = s
                if cand_d[i, s] < comp_bound[comp[i]]:
                    comp_bound[comp[i]] = cand_d[i, s]
                break
    return pick, comp_bound


@nb.njit(cache=True)
def _lightest_outgoing(pick, cand_d, cand_j, comp, n_comp):
    """The lightest picked edge ``(bd, bp, bq)`` leaving every component, by edge key."""
    bd = np.full(n_comp, np.inf)
    bp = np.full(n_comp, -1, np.int64)
    bq = np.full(n_comp, -1, np.int64)
    for i in range(pick.shape[0]):
        s = pick[i]
        if s < 0:
            continue
        j = cand_j[i, s]
        d = cand_d[i, s]
        cc = comp[i]
        if bp[cc] < 0 or _less(
            d, min(i, j), max(i, j), bd[cc], min(bp[cc], bq[cc]), max(bp[cc], bq[cc])
        ):
            bd[cc] = d
            bp[cc] = i
            bq[cc] = j
    return bd, bp, bq


@nb.njit(cache=True)
def kdtree_boruvka(X, leaf_size, k_first, k_later):
    """Exact Euclidean MST of ``X`` (n, d). Returns (u, v, squared_lengths), original indices.

    Round one lists every point's ``k_first`` nearest neighbours; later rounds
    answer a point from its list when a listed point lies outside its
    component (then it is the nearest outside point) and search the tree for
    its ``k_later`` nearest outside points only when the list is exhausted and
    its lower bound could still beat its component's best edge.
    """
    perm, start, end, left, right, lo, hi = build_kdtree(X, leaf_size)
    n, dim = X.shape
    Xs = np.empty((n, dim), X.dtype)
    for i in range(n):
        Xs[i] = X[perm[i]]
    kk = max(k_first, k_later)
    cand_d = np.full((n, kk), np.inf)
    cand_j = np.full((n, kk), -1, np.int64)
    lb = np.zeros(n)
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    comp = np.arange(n)
    node_comp = np.empty(start.shape[0], np.int64)
    eu = np.empty(max(n - 1, 0), np.int64)
    ev = np.empty(max(n - 1, 0), np.int64)
    ew = np.empty(max(n - 1, 0), np.float64)
    m = 0
    first = True
    while True:
        n_comp = _label_components(parent, comp)
        if n_comp == 1:
            break
        _node_components(comp, start, end, left, right, node_comp)
        pick, comp_bound = _first_listed_outside(cand_d, cand_j, comp, n_comp)
        todo = np.empty(n, np.int64)
        n_todo = 0
        for i in range(n):
            if pick[i] < 0 and lb[i] <= comp_bound[comp[i]]:
                todo[n_todo] = i
                n_todo += 1
        k = k_first if first else k_later
        sel = todo[:n_todo]
        _search(
            Xs,
            comp,
            node_comp,
            start,
            end,
            left,
            right,
            lo,
            hi,
            sel,
            k,
            comp_bound,
            cand_d,
            cand_j,
            lb,
        )
        first = False
        for t in range(n_todo):
            i = todo[t]
            pick[i] = 0 if cand_j[i, 0] >= 0 else -1
        bd, bp, bq = _lightest_outgoing(pick, cand_d, cand_j, comp, n_comp)
        m_before = m
        for cc in range(n_comp):
            if bp[cc] >= 0 and uf_union(parent, rank, bp[cc], bq[cc]):
                eu[m] = perm[bp[cc]]
                ev[m] = perm[bq[cc]]
                ew[m] = bd[cc]
                m += 1
        if m == m_before:
            break  # no progress (only with non-finite distances): the caller reports it
    return eu[:m], ev[:m], ew[:m]
