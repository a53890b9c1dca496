"""Brute-force oracles shared by the fiber tests."""

from __future__ import annotations

import numpy as np

# the harness's rescaled sum of squares (products, not ``**2``: numpy's scalar
# power differs from the product by an ulp in about 1 case in 1000)
from verification.fiber import _rescaled


def _unit_rows(X):
    """The documented unit rows: divided by 2**e (max in [1/2, 1)), then by the norm."""
    U = np.empty_like(X)
    for i, x in enumerate(X):
        y = np.ldexp(x, -np.frexp(np.abs(x).max())[1])
        s = 0.0
        for v in y:
            s = s + v * v
        U[i] = y / np.sqrt(s)
    return U


def canonical(F, G, metric="euclidean"):
    """Brute force with the documented canonical distance (sums in feature order)."""
    F = np.asarray(F, np.float64)
    G = np.asarray(G, np.float64)
    if metric == "cosine":
        F, G = _unit_rows(F), _unit_rows(G)
    s = np.zeros((len(F), len(G)))
    with np.errstate(over="ignore"):
        for k in range(F.shape[1]):
            t = F[:, None, k] - G[None, :, k]
            s = s + t * t
    if metric == "euclidean":
        D = np.sqrt(s)
        for i, j in zip(*np.nonzero(s < 2.0**-968), strict=True):
            m, t = _rescaled(F[i] - G[j])
            D[i, j] = m * np.sqrt(t)
        for i, j in zip(*np.nonzero(np.isinf(s)), strict=True):
            m, t = _rescaled(0.5 * F[i] - 0.5 * G[j])
            with np.errstate(over="ignore"):
                D[i, j] = 2.0 * (m * np.sqrt(t))
        return D
    for i, j in zip(*np.nonzero(s < 2.0**-968), strict=True):
        m, t = _rescaled(F[i] - G[j])
        s[i, j] = m * (m * t)
    return np.minimum(0.5 * s, 2.0)
