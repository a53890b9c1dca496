"""The ball partition that lets the blocked engine skip far-apart blocks.

Each set is cut into leaves of at most a few hundred rows by bisecting
2-means; a pair of leaves is skipped when their balls (centroid, radius) are
provably farther apart than the tolerance.
"""

from __future__ import annotations

import math

import numpy as np

from ._screening import f64_slack

#: the tree is built on a random projection to at most this many dimensions
_TREE_DIM = 24


def tree_coordinates(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets projected on the same (seeded) random directions, if d > _TREE_DIM.

    Only the partition is computed from these; the centres and radii that
    decide the pruning are computed in full dimension, so the projection can
    make the pruning weaker, never wrong.
    """
    d = X.shape[1]
    if d <= _TREE_DIM:
        return X, Y
    R = np.random.default_rng(0).standard_normal((d, _TREE_DIM))
    return X @ R, Y @ R


def ball_leaves(X: np.ndarray, leaf: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A permutation of the rows and the [start, end) ranges of its leaves (<= ``leaf`` rows).

    Bisecting 2-means: a node is split between two far-apart points (one
    farthest from the centroid, and the point farthest from that one), refined
    by two Lloyd steps, so that clusters tend to stay within one leaf. A split
    leaving less than an eighth of the node on one side is replaced by the
    median split along the same direction, which bounds the depth.
    """
    n = len(X)
    perm = np.arange(n)
    sq = np.einsum("ij,ij->i", X, X)
    leaves: list[tuple[int, int]] = []
    stack = [(0, n)]
    while stack:
        s, e = stack.pop()
        size = e - s
        if size <= leaf:
            leaves.append((s, e))
            continue
        idx = perm[s:e]
        P = X[idx]
        q = sq[idx]
        c = P.mean(axis=0)
        c1 = P[int(np.argmax(q - 2.0 * (P @ c)))]
        c2 = P[int(np.argmax(q - 2.0 * (P @ c1)))]
        left = None
        for _ in range(3):
            u = c1 - c2
            if not u.any():
                break
            # nearer to c1 than to c2
            left = P @ u >= 0.5 * (c1 @ c1 - c2 @ c2)
            k = int(left.sum())
            if k == 0 or k == size:
                break
            c1 = P[left].mean(axis=0)
            c2 = P[~left].mean(axis=0)
        if left is None:  # every point of the node is the same
            half = size // 2
        else:
            k = int(left.sum())
            if min(k, size - k) >= size // 8:
                order = np.argsort(~left, kind="stable")
                perm[s:e] = idx[order]
                half = k
            else:
                proj = P @ (c1 - c2)
                half = size // 2
                perm[s:e] = idx[np.argpartition(proj, half)]
        stack.append((s + half, e))
        stack.append((s, s + half))
    leaves.sort()
    return perm, leaves


def leaf_balls(
    X: np.ndarray, perm: np.ndarray, leaves: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids and radii (max distance to the centroid) of the leaves of X[perm]."""
    d = X.shape[1]
    centers = np.empty((len(leaves), d))
    radii = np.empty(len(leaves))
    for k, (s, e) in enumerate(leaves):
        P = X[perm[s:e]]
        c = P.mean(axis=0)
        centers[k] = c
        P -= c
        radii[k] = math.sqrt(float(np.einsum("ij,ij->i", P, P).max()))
    return centers, radii


def surviving_blocks(
    cA: np.ndarray, rA: np.ndarray, cB: np.ndarray, rB: np.ndarray, reach: float
) -> np.ndarray:
    """Boolean (leaves of A, leaves of B): may the two balls hold a pair within ``reach``?

    Skips a pair of balls only when a lower bound of ``|c_A - c_B| - r_A - r_B``
    exceeds ``reach`` by more than a rounding slack, so no pair within
    ``reach`` is ever lost.
    """
    d = cA.shape[1]
    na = np.einsum("ij,ij->i", cA, cA)
    nb = np.einsum("ij,ij->i", cB, cB)
    sq = na[:, None] + nb[None, :] - 2.0 * (cA @ cB.T)
    err = (na[:, None] + nb[None, :]) * (4 * f64_slack(d))
    dist_lo = np.sqrt(np.maximum(sq - err, 0.0))
    slack = 1e-9 * (1.0 + rA[:, None] + rB[None, :] + reach)
    return dist_lo - rA[:, None] - rB[None, :] <= reach + slack
