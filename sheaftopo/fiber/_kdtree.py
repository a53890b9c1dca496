"""The KD-tree engine of the fiber product (low dimension) and the ε = 0 shortcut."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ._screening import Prepared, f64_slack


def kdtree_candidates(p: Prepared, eps: float, budget: int, n_jobs: int, density: float) -> Any:
    """Yield (rows, cols) candidate chunks: every pair within eps, and a few more."""
    from scipy.spatial import cKDTree

    d = p.d
    X, Y = p.a, p.b
    es = float(p.screen_eps(eps))
    if p.metric == 1:
        # the chord sqrt(2 eps); the canonical cosine may undershoot it by rounding
        r = math.sqrt(es * es * (1.0 + 16 * f64_slack(d)) + 64 * f64_slack(d))
    else:
        # scaled, centred coordinates (entries <= 1): centring moves a distance by
        # at most 2 sqrt(d) 2**-52 there
        r = es * (1.0 + 16 * f64_slack(d)) + 8.0 * math.sqrt(d) * 2.0**-52
    tree = cKDTree(Y)
    per_row = max(1.0, density * len(Y))
    chunk = int(max(1, min(len(X), budget // (48 * per_row))))
    for s in range(0, len(X), chunk):
        workers = n_jobs if chunk >= 4096 else 1
        res = tree.query_ball_point(X[s : s + chunk], r, workers=workers, return_sorted=False)
        counts = np.fromiter((len(x) for x in res), np.int64, len(res))
        total = int(counts.sum())
        cols = np.fromiter(itertools.chain.from_iterable(res), np.int64, total)
        rows = np.repeat(np.arange(s, s + len(res), dtype=np.int64), counts)
        yield rows, cols


def exact_match_pairs(F: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with F[i] == G[j] (every coordinate equal; -0.0 == 0.0)."""
    Z = np.concatenate([F, G]) + 0.0
    n = len(F)
    order = np.lexsort(Z.T[::-1])
    Zs = Z[order]
    new = np.ones(len(Z), dtype=bool)
    new[1:] = (Zs[1:] != Zs[:-1]).any(axis=1)
    is_f = order < n
    rows_out, cols_out = [], []
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(Z))
    both = [
        (s, e)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        if e - s > 1 and is_f[s:e].any() and (~is_f[s:e]).any()
    ]
    for s, e in both:
        members = order[s:e]
        fi = np.sort(members[members < n])
        gj = np.sort(members[members >= n] - n)
        rows_out.append(np.repeat(fi, len(gj)))
        cols_out.append(np.tile(gj, len(fi)))
    if not rows_out:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(rows_out).astype(np.int64), np.concatenate(cols_out).astype(np.int64)
