"""Plain reference implementations the tests compare sheaftopo's kernels against."""

from __future__ import annotations

import itertools

import numpy as np


def kruskal(D: np.ndarray) -> np.ndarray:
    """The MST for the key (D[i, j], i, j), i < j, by plain Kruskal, sorted by that key."""
    n = D.shape[0]
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out = []
    for _, i, j in sorted((D[i, j], i, j) for i, j in itertools.combinations(range(n), 2)):
        a, b = find(i), find(j)
        if a != b:
            parent[a] = b
            out.append((i, j))
    return np.array(out, dtype=np.int64).reshape(-1, 2)
