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
