"""Pair screening of a dense distance matrix: ToMCLIP's threshold and the pairs below it.

``threshold`` is ``eps = mean(D) - lam * std(D)`` under one of
``CONVENTIONS``; ``pairs_below`` lists the pairs at distance at most ``eps``.
Both work in row blocks of ``ROW_BLOCK`` rows (no n^2 temporaries). Used by
:func:`sheaftopo.persistence.sparsify` and by :mod:`sheaftopo.torch`'s
sparsified diagrams, which must select exactly the same pairs.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

import numpy as np

from .scaling import scale_exponent

__all__ = ["CONVENTIONS", "ROW_BLOCK", "pairs_below", "threshold"]

#: ``"exact"``: off-diagonal mean and population std; ``"tomclip"``: ToMCLIP's code
CONVENTIONS = ("exact", "tomclip")
#: rows of ``D`` processed at once
ROW_BLOCK = 1024


def threshold(D: np.ndarray, lam: float, convention: str) -> float:
    """mean - lam * std of the entries of D, in row blocks (no n^2 temporaries).

    Computed on D divided by the power of two that brings its largest entry
    into [0.5, 1) (exact), so neither the sum nor the squares can overflow or
    underflow, then multiplied back; a threshold outside the float64 range
    (only for an enormous |lam|) raises a ``ValueError`` naming ``lam``.

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Validated distance matrix, n >= 2.
    lam : float
        λ.
    convention : {"exact", "tomclip"}
        ``"exact"``: mean and population std of the n(n-1) off-diagonal
        entries; ``"tomclip"``: of all n² entries, unbiased std.

    Returns
    -------
    float
        ε.
    """
    n = D.shape[0]
    shift = scale_exponent(D)  # D / 2**shift = ldexp(D, -shift), exact
    scale = math.ldexp(1.0, shift)

    factor = math.ldexp(1.0, -shift)
    # multiplying by a normal power of two is the same exact change of exponent as
    # ldexp, and several times faster (numpy's ldexp is a per-element libm call)
    by_product = factor != 0.0 and math.isfinite(factor) and factor >= sys.float_info.min

    def blocks() -> Iterator[np.ndarray]:
        for i0 in range(0, n, ROW_BLOCK):
            blk = D[i0 : i0 + ROW_BLOCK].astype(np.float64)
            if by_product:
                blk *= factor
                yield blk
            else:
                yield np.ldexp(blk, -shift)

    total = math.fsum(float(blk.sum()) for blk in blocks())
    if convention == "exact":
        count = n * (n - 1)
        mean = total / count
        # the n zero diagonal entries would add n * mean^2 to the sum of squares
        ss = -n * mean * mean
        ddof = 0
    else:
        count = n * n
        mean = total / count
        ss = 0.0
        ddof = 1
    for blk in blocks():
        blk -= mean
        ss += float(np.einsum("ij,ij->", blk, blk))
    var = max(ss, 0.0) / (count - ddof)
    eps = (mean - lam * math.sqrt(var)) * scale
    if not math.isfinite(eps):
        raise ValueError(
            f"lam={lam!r} puts the threshold mean(D) - lam * std(D) outside the float64 "
            f"range (mean {mean * scale:.6g}, std {math.sqrt(var) * scale:.6g})"
        )
    return eps


def pairs_below(D: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs i < j with D[i, j] <= eps, in row blocks.

    Parameters
    ----------
    D : ndarray, shape (n, n)
        Distance matrix.
    eps : float
        Threshold.

    Returns
    -------
    rows, cols : ndarray of int64, shape (m,)
        The pairs, ``rows < cols``, in row-major order.
    """
    rows, cols = [], []
    n = D.shape[0]
    for i0 in range(0, n, ROW_BLOCK):
        blk = D[i0 : i0 + ROW_BLOCK]
        r, c = np.nonzero(blk <= eps)
        r = r + i0
        keep = c > r
        rows.append(r[keep])
        cols.append(c[keep])
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)
