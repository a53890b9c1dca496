"""The maximum mean discrepancy between two embedding sets, with Gaussian
kernels whose bandwidths default to the median heuristic (see
:mod:`sheaftopo.geometry._diagnostics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import (
    as_points,
    check_real,
)
from ._checks import as_pair
from ._local import _distances

__all__ = ["median_bandwidth", "mmd2"]


def _pairwise(Z: np.ndarray) -> np.ndarray:
    """Euclidean distances (N, N) with an exactly zero diagonal (see _distances)."""
    D = _distances(Z, Z)
    np.fill_diagonal(D, 0.0)
    return D


def _median(D: np.ndarray) -> float:
    """Median of the pairwise distances ``D[i, j]``, i < j, from the full matrix.

    The flattened matrix holds the N zeros of the diagonal (the smallest
    values) and every pair twice, so the pair median is the mean of the
    entries of rank N + P - 1 and N + P (0-based), P = N (N - 1) / 2.
    """
    N = D.shape[0]
    P = N * (N - 1) // 2
    lo, hi = N + P - 1, N + P
    part = np.partition(D.ravel(), (lo, hi))
    return 0.5 * (float(part[lo]) + float(part[hi]))


def median_bandwidth(X: Any, Y: Any = None) -> float:
    r"""The median heuristic: the median Euclidean distance between distinct points.

    :math:`\sigma = \operatorname{median}\{\|z_i - z_j\|_2 : i < j\}` over the
    rows :math:`z` of ``X`` stacked on ``Y`` (or of ``X`` alone), the usual
    median over :math:`N(N-1)/2` values (the mean of the two middle ones when
    their number is even). Distances are computed as
    :math:`\|z_i\|^2 + \|z_j\|^2 - 2 z_i^T z_j` after centring (and
    recomputed from the differences where that would lose more than a
    relative 1e-8 to cancellation), on the
    points divided by a power of two (exact), small distances recomputed from
    the differences at the data's own scale, so any finite magnitude works,
    also for clouds of very different magnitudes.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d), optional

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On NaN or inf, fewer than two points in all, or different dimensions.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A kernel two-sample test", JMLR 13, 2012.

    Examples
    --------
    >>> from sheaftopo.geometry import median_bandwidth
    >>> median_bandwidth([[0.0], [1.0], [3.0]])  # distances 1, 2, 3
    2.0
    >>> median_bandwidth([[0.0], [1.0]], [[3.0], [7.0]])  # 1, 3, 7, 2, 6, 4
    3.5
    """
    if Y is None:
        Z = as_points(X, "X", dtype=np.float64)
    else:
        Z = np.concatenate(as_pair(X, Y, paired=False, same_dim=True))
    if Z.shape[0] < 2:
        raise ValueError("the median heuristic needs at least two points in all")
    sigma = _median(_pairwise(Z))
    if not math.isfinite(sigma):
        raise ValueError(
            "the median distance between the points of X and Y overflows float64; rescale them"
        )
    return sigma


def _bandwidths(bandwidth: Any, D: np.ndarray) -> np.ndarray:
    """The bandwidths (positive and finite), in the units of the distances ``D``."""
    if bandwidth is None:
        sigma = _median(D)
        if not math.isfinite(sigma):
            raise ValueError(
                "the median-heuristic bandwidth overflows float64 (X and Y are too far "
                "apart); pass bandwidth= explicitly"
            )
        if sigma == 0:
            raise ValueError(
                "the median-heuristic bandwidth is 0 (more than half of the pairs of points "
                "coincide); pass bandwidth= explicitly"
            )
        return np.array([sigma])
    if isinstance(bandwidth, np.ndarray) and bandwidth.ndim == 0:
        bandwidth = bandwidth[()]  # a 0-d array is a scalar
    if isinstance(bandwidth, (Sequence, np.ndarray)) and not isinstance(bandwidth, str):
        values = [check_real(s, "bandwidth", low=0.0, low_inclusive=False) for s in bandwidth]
        if not values:
            raise ValueError("bandwidth must be a positive number or a non-empty sequence of them")
    else:
        values = [check_real(bandwidth, "bandwidth", low=0.0, low_inclusive=False)]
    return np.array(values)


def mmd2(X: Any, Y: Any, *, bandwidth: Any = None) -> float:
    r"""Unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel.

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{1}{n(n-1)}\sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{m(m-1)}\sum_{i \ne j} k(y_i, y_j)
        - \frac{2}{nm}\sum_{i, j} k(x_i, y_j),

    the U-statistic of Gretton et al. [1]_ (an unbiased estimate of
    :math:`\mathrm{MMD}^2 = \mathbb{E}k(x,x') + \mathbb{E}k(y,y') - 2\mathbb{E}k(x,y)`;
    it can be slightly negative), with
    :math:`k(x, y) = \frac{1}{L}\sum_{l=1}^{L} \exp\big(-\|x - y\|^2 / (2\sigma_l^2)\big)`.
    The rows of ``X`` and ``Y`` need not be paired.

    Parameters
    ----------
    X : array_like, shape (n, d)
        ``n >= 2`` samples.
    Y : array_like, shape (m, d)
        ``m >= 2`` samples, same dimension.
    bandwidth : float or sequence of floats, optional
        The :math:`\sigma_l > 0`. By default one bandwidth, the median
        heuristic :func:`median_bandwidth` of the pooled samples (which makes
        the estimate data-dependent, and so not exactly unbiased; pass a fixed
        bandwidth for that).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, fewer than two samples in either
        set, or a non-positive bandwidth.

    Notes
    -----
    Memory and time :math:`O((n + m)^2)`: the full kernel matrix of the pooled
    sample is formed. Distances and bandwidths are divided by the same power
    of two (exact) before the kernel is evaluated, so any finite magnitude
    works.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A kernel two-sample test", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import mmd2
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    >>> abs(mmd2(X, Y, bandwidth=1.0)) < 0.01
    True
    >>> mmd2(X, Y + 2.0, bandwidth=1.0) > 0.3
    True
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    n, m = X.shape[0], Y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(
            f"X and Y must each hold at least 2 samples for the unbiased MMD estimate; got {n} "
            f"and {m} rows"
        )
    D = _pairwise(np.concatenate([X, Y]))
    sigmas = _bandwidths(bandwidth, D)
    K = np.zeros_like(D)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        for sigma in sigmas:
            # (D / sigma)^2 saturates to inf (kernel 0) or 0 (kernel 1), never NaN (sigma
            # is positive and finite)
            K += np.exp(-0.5 * np.square(D / sigma))
    K /= len(sigmas)
    kxx = (K[:n, :n].sum() - np.trace(K[:n, :n])) / (n * (n - 1))
    kyy = (K[n:, n:].sum() - np.trace(K[n:, n:])) / (m * (m - 1))
    kxy = K[:n, n:].sum() / (n * m)
    return float(kxx + kyy - 2.0 * kxy)
