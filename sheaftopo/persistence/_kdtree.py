"""Exact Euclidean minimum spanning tree in low dimension: Borůvka over a KD-tree (numba).

The rounds of Borůvka's algorithm over the tree of :mod:`._kdtree_kernels`.
Each round needs, for every component, its lightest outgoing edge. Two kinds
of query answer it: a point in a leaf that spans several components asks for
its nearest points outside its own component (:func:`point_search`); a leaf
whose points all joined one component asks once for its lightest edge out
(:func:`leaf_search`). Bounds keep the work down (as in fast_hdbscan's
Borůvka, McInnes & Healy, "Accelerated hierarchical density clustering",
2017, and quitefastmst, Gagolewski 2025):

* round one lists every point's ``k_first`` nearest neighbours;
* a listed nearest outside point (or a leaf's lightest edge) from an earlier
  round, if still outside, is still the nearest (the outside set only
  shrinks); otherwise its distance is a lower bound for the new one;
* a component's best edge so far prunes the searches of its other points and
  leaves, and an edge bounds the components at both of its ends.

Edges are compared by the key ``(d^2, min(i, j), max(i, j))`` over tree-order
indices, a total order, so equal distances never make Borůvka close a cycle
and the tree does not depend on the thread count: every component takes the
key-smallest of its certified candidates, and every search certifies exactly
what lies within the bound it ended with.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._core.mst_kernels import uf_find, uf_union
from ._kdtree_kernels import STACK, build_kdtree, edge_less, leaf_search, point_search


@nb.njit(cache=True)
def _node_components(comp, tree, node_comp):
    """Per node, the component of all its points, or -1 when they span several."""
    start, end, left, right, _, _ = tree
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


@nb.njit(cache=True, inline="always")
def _offer(bound, c1, c2, d):
    """An edge between components c1 and c2 bounds the best edge of both."""
    if d < bound[c1]:
        bound[c1] = d
    if d < bound[c2]:
        bound[c2] = d


@nb.njit(cache=True)
def _first_outside(cand_d, cand_j, comp, i):
    """The slot of the first listed point outside ``comp[i]``, or -1."""
    for s in range(cand_j.shape[1]):
        j = cand_j[i, s]
        if j < 0:
            return -1
        if comp[j] != comp[i]:
            return s
    return -1


@nb.njit(cache=True)
def _enter_uniform(s, e, comp, cand_d, cand_j, lb, leaf, ell):
    """A leaf whose points joined one component: its state from its points' lists.

    The best listed outside edge is the leaf's lightest only when it is lighter
    than every lower bound of the points without a listed outside point.
    """
    l_d, l_i, l_j, l_lb = leaf
    bd, bi, bj = np.inf, -1, -1
    mlb = np.inf
    for i in range(s, e):
        t = _first_outside(cand_d, cand_j, comp, i)
        if t < 0:
            mlb = min(mlb, lb[i])
        elif bi < 0 or edge_less(cand_d[i, t], i, cand_j[i, t], bd, bi, bj):
            bd, bi, bj = cand_d[i, t], i, cand_j[i, t]
    if bi >= 0 and bd < mlb:
        l_d[ell], l_i[ell], l_j[ell], l_lb[ell] = bd, bi, bj, bd
    else:
        l_j[ell] = -1
        l_lb[ell] = min(bd, mlb)


@nb.njit(cache=True)
def _round_bounds(comp, n_comp, node_comp, tree, leaves, state, pick):
    """Each component's bound from the still valid lists and leaf edges (both ends)."""
    start, end = tree[0], tree[1]
    cand_d, cand_j, lb, leaf, l_init = state
    l_d, _, l_j, l_lb = leaf
    bound = np.full(n_comp, np.inf)
    for ell in range(leaves.shape[0]):
        node = leaves[ell]
        s, e = start[node], end[node]
        c = node_comp[node]
        if c >= 0 and e - s > 1:
            if not l_init[ell]:
                _enter_uniform(s, e, comp, cand_d, cand_j, lb, leaf, ell)
                l_init[ell] = True
            elif l_j[ell] >= 0 and comp[l_j[ell]] == c:
                l_lb[ell] = l_d[ell]  # its lightest edge went inside: a lower bound now
                l_j[ell] = -1
            if l_j[ell] >= 0:
                _offer(bound, c, comp[l_j[ell]], l_d[ell])
            continue
        for i in range(s, e):
            t = _first_outside(cand_d, cand_j, comp, i)
            pick[i] = t
            if t >= 0:
                _offer(bound, comp[i], comp[cand_j[i, t]], cand_d[i, t])
    return bound


@nb.njit(cache=True)
def _mark_work(comp, node_comp, tree, leaves, state, pick, bound, work, active):
    """What each leaf searches this round: 0 nothing, 1 its lightest edge, 2 its points."""
    start, end = tree[0], tree[1]
    lb, leaf, _ = state[2], state[3], state[4]
    l_j, l_lb = leaf[2], leaf[3]
    n_work = 0
    for ell in range(leaves.shape[0]):
        node = leaves[ell]
        s, e = start[node], end[node]
        c = node_comp[node]
        work[ell] = 0
        if c >= 0 and e - s > 1:
            if l_j[ell] < 0 and l_lb[ell] <= bound[c]:
                work[ell] = 1
        else:
            for i in range(s, e):
                active[i] = pick[i] < 0 and lb[i] <= bound[comp[i]]
                if active[i]:
                    work[ell] = 2
        n_work += work[ell] > 0
    return n_work


@nb.njit(cache=True)
def _finish_point(i, od, oj, pb, cand_d, cand_j, lb):
    """Keep the certified entries (within the final bound ``pb``) and the point's lower bound."""
    k = od.shape[0]
    cnt = 0
    while cnt < k and oj[cnt] >= 0 and od[cnt] <= pb:
        cnt += 1
    for s in range(cand_d.shape[1]):
        cand_d[i, s] = od[s] if s < cnt else np.inf
        cand_j[i, s] = oj[s] if s < cnt else -1
    # a full list: the rest are at least this far; else every outside point
    # within the bound was listed
    lb[i] = od[k - 1] if cnt == k else pb


@nb.njit(cache=True, parallel=True)
def _search_round(Xs, comp, node_comp, tree, leaves, state, work, active, bound, n_work, k):
    """Run this round's searches, leaf by leaf, the leaves interleaved over the threads."""
    cand_d, cand_j, lb, leaf, _ = state
    l_d, l_i, l_j, l_lb = leaf
    todo = np.empty(n_work, np.int64)
    m = 0
    for ell in range(leaves.shape[0]):
        if work[ell] > 0:
            todo[m] = ell
            m += 1
    n_tasks = min(n_work, 64)  # contiguous runs of leaves: locality; 64 runs balance the threads
    for task in nb.prange(n_tasks):
        stack = np.empty(STACK, np.int64)
        dstack = np.empty(STACK, np.float64)
        od = np.empty(k, np.float64)
        oj = np.empty(k, np.int64)
        for u in range(task * n_work // n_tasks, (task + 1) * n_work // n_tasks):
            ell = todo[u]
            node = leaves[ell]
            # the bounds fall while the round runs (every thread lowers them): a leaf
            # or point whose lower bound already exceeds its component's is skipped
            if work[ell] == 1:
                c = node_comp[node]
                if l_lb[ell] > bound[c]:
                    continue
                d, i, j, pb = leaf_search(Xs, node, c, comp, node_comp, tree, bound, stack, dstack)
                if i >= 0 and d <= pb:
                    l_d[ell], l_i[ell], l_j[ell], l_lb[ell] = d, i, j, d
                else:
                    l_j[ell] = -1
                    l_lb[ell] = pb
                continue
            for i in range(tree[0][node], tree[1][node]):
                if active[i] and lb[i] > bound[comp[i]]:
                    active[i] = False  # its lists stay as they are: nothing picked
                elif active[i]:
                    pb = point_search(Xs, i, comp, node_comp, tree, bound, od, oj, stack, dstack)
                    _finish_point(i, od, oj, pb, cand_d, cand_j, lb)


@nb.njit(cache=True)
def _select_edges(comp, n_comp, node_comp, tree, leaves, state, pick, active):
    """Every component's lightest outgoing edge ``(bd, bp, bq)`` by key, from both ends."""
    start, end = tree[0], tree[1]
    cand_d, cand_j, _, leaf, _ = state
    l_d, l_i, l_j, _ = leaf
    bd = np.full(n_comp, np.inf)
    bp = np.full(n_comp, -1, np.int64)
    bq = np.full(n_comp, -1, np.int64)
    for ell in range(leaves.shape[0]):
        node = leaves[ell]
        s, e = start[node], end[node]
        if node_comp[node] >= 0 and e - s > 1:
            if l_j[ell] >= 0:
                _take(bd, bp, bq, comp, l_d[ell], l_i[ell], l_j[ell])
            continue
        for i in range(s, e):
            t = (0 if cand_j[i, 0] >= 0 else -1) if active[i] else pick[i]
            if t >= 0:
                _take(bd, bp, bq, comp, cand_d[i, t], i, cand_j[i, t])
    return bd, bp, bq


@nb.njit(cache=True, inline="always")
def _take(bd, bp, bq, comp, d, i, j):
    for c in (comp[i], comp[j]):
        if bp[c] < 0 or edge_less(d, i, j, bd[c], bp[c], bq[c]):
            bd[c] = d
            bp[c] = i
            bq[c] = j


@nb.njit(cache=True)
def kdtree_boruvka(X, leaf_size, k_first, k_later):
    """Exact Euclidean MST of ``X`` (n, d). Returns (u, v, squared_lengths), original indices.

    Round one lists every point's ``k_first`` nearest neighbours; later rounds
    answer a point (or a leaf whose points share a component) from its list
    while the listed point is outside its component, and search the tree for
    the ``k_later`` nearest outside points of a point (the lightest outgoing
    edge of such a leaf) only when its lower bound could still beat its
    component's best edge.
    """
    Xs, perm, start, end, left, right, lo, hi = build_kdtree(X, leaf_size)
    tree = (start, end, left, right, lo, hi)
    n = Xs.shape[0]
    leaves = np.flatnonzero(left < 0)
    nl = leaves.shape[0]
    kk = max(k_first, k_later)
    state = (
        np.full((n, kk), np.inf),
        np.full((n, kk), -1, np.int64),
        np.zeros(n),
        (np.full(nl, np.inf), np.full(nl, -1, np.int64), np.full(nl, -1, np.int64), np.zeros(nl)),
        np.zeros(nl, np.bool_),
    )
    pick = np.full(n, -1, np.int64)
    active = np.zeros(n, np.bool_)
    work = np.zeros(nl, np.int8)
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    comp = np.arange(n)
    node_comp = np.empty(start.shape[0], np.int64)
    eu = np.empty(max(n - 1, 0), np.int64)
    ev = np.empty(max(n - 1, 0), np.int64)
    ew = np.empty(max(n - 1, 0), np.float64)
    m = 0
    k = k_first
    while True:
        n_comp = _label_components(parent, comp)
        if n_comp == 1:
            break
        _node_components(comp, tree, node_comp)
        bound = _round_bounds(comp, n_comp, node_comp, tree, leaves, state, pick)
        n_work = _mark_work(comp, node_comp, tree, leaves, state, pick, bound, work, active)
        if n_work > 0:
            _search_round(Xs, comp, node_comp, tree, leaves, state, work, active, bound, n_work, k)
        k = k_later
        bd, bp, bq = _select_edges(comp, n_comp, node_comp, tree, leaves, state, pick, active)
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
