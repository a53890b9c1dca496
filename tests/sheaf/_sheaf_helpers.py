"""Reference constructions shared by the sheaf tests."""

from __future__ import annotations

import numpy as np


def dense_delta(F):
    """Reference coboundary built edge by edge from the public accessors."""
    D = np.zeros((F.dim_c1, F.dim_c0))
    vo, eo = F.vertex_offsets, F.edge_offsets
    for e, (u, v) in enumerate(F.edges):
        D[eo[e] : eo[e + 1], vo[u] : vo[u + 1]] -= F.tail_map(e)
        D[eo[e] : eo[e + 1], vo[v] : vo[v + 1]] += F.head_map(e)
    return D


def argsort_incidence(F):
    """Reference incidence lists ``(ptr, dst, eid, side)`` by one argsort: per vertex, its
    incident edges sorted by neighbour; incidence i < m is edge i's tail, i >= m its head."""
    m = F.n_edges
    u, v = F.edges[:, 0], F.edges[:, 1]
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    order = np.argsort(src * F.n_vertices + dst, kind="stable")
    ptr = np.zeros(F.n_vertices + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=F.n_vertices), out=ptr[1:])
    eid = order % max(m, 1)
    side = (order >= m).astype(np.int64)
    return ptr, dst[order], eid, side
