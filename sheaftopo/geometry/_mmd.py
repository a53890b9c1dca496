"""The maximum mean discrepancy between two embedding sets, with Gaussian
kernels whose bandwidths default to the median heuristic (see
:mod:`sheaftopo.geometry._diagnostics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_points,
    check_int,
    check_random_state,
    check_real,
)
from ._checks import as_pair
from ._local import _distances

__all__ = ["MMDTest", "median_bandwidth", "mmd2", "mmd2_test"]

#: permutations whose kernel products are formed at once (memory (n + m) x this)
_PERMUTATION_CHUNK = 64
#: permuted statistics within this fraction of the kernel means of the observed one count as ties
_TIE_RTOL = 1e-10


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
    K, _ = _pooled_kernel(X, Y, bandwidth)
    return _u_statistic(K, X.shape[0])


def _pooled_kernel(X: np.ndarray, Y: np.ndarray, bandwidth: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kernel matrix (n + m, n + m) of the pooled rows, X first, and the bandwidths used."""
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
    return K, sigmas


def _u_statistic(K: np.ndarray, n: int, paired: bool = False) -> float:
    """The unbiased MMD^2 of the first n rows of the pooled kernel matrix K against the rest.

    ``paired``: row i of each half are partners; their cross terms K[i, n + i] are left out.
    """
    m = K.shape[0] - n
    kxx = (K[:n, :n].sum() - np.trace(K[:n, :n])) / (n * (n - 1))
    kyy = (K[n:, n:].sum() - np.trace(K[n:, n:])) / (m * (m - 1))
    if paired:
        kxy = (K[:n, n:].sum() - np.trace(K[:n, n:])) / (n * (n - 1))
    else:
        kxy = K[:n, n:].sum() / (n * m)
    return float(kxx + kyy - 2.0 * kxy)


@dataclass(frozen=True)
class MMDTest:
    r"""The permutation two-sample test of :func:`mmd2_test`.

    Attributes
    ----------
    statistic : float
        The unbiased MMD^2 of the samples as given (dimensionless, in
        [-2, 2]; larger: more different; slightly negative: indistinguishable
        from equal): equal to :func:`mmd2` with the same bandwidth, or with
        ``paired=True`` the U-statistic over pairs of items, which leaves out
        each item's own cross term :math:`k(x_i, y_i)`.
    p_value : float
        :math:`(1 + \#\{b : T_b \ge T\}) / (1 + B)`, in :math:`[1/(1+B), 1]`.
    n_permutations : int
        :math:`B`.
    bandwidth : float or tuple of float
        The kernel bandwidth (tuple when several were given), in the data's units.
    null_statistics : ndarray, shape (B,)
        The statistics :math:`T_b` of the permuted samples.
    mmd2 : float
        :func:`mmd2` of the samples as given (the statistic itself unless
        ``paired=True``; then it includes the partners' cross terms).
    """

    statistic: float
    p_value: float
    n_permutations: int
    bandwidth: float | tuple[float, ...]
    null_statistics: np.ndarray
    mmd2: float


def mmd2_test(
    X: Any,
    Y: Any,
    *,
    bandwidth: Any = None,
    n_permutations: int = 199,
    seed: Any = 0,
    paired: bool = False,
) -> MMDTest:
    r"""Permutation test of equal distributions with the unbiased MMD^2 as its statistic.

    The statistic :math:`T` is :func:`mmd2` of ``X`` against ``Y``; with
    ``paired=True`` it is the U-statistic over pairs of items of Gretton et
    al. [1]_ (Lemma 6),

    .. math::

        T = \frac{1}{n(n-1)} \sum_{i \ne j} \big(k(x_i, x_j) + k(y_i, y_j)
        - k(x_i, y_j) - k(x_j, y_i)\big),

    unbiased for paired rows, where :func:`mmd2`, whose cross term includes
    the partners' :math:`k(x_i, y_i)`, is pulled down by how close partners
    are (negative for well aligned pairs of any two distributions). Each of
    the :math:`B` permutations splits the pooled ``n + m`` rows into two
    samples of sizes ``n`` and ``m`` again, giving :math:`T_b`: a uniformly
    random split when the samples are independent, and with ``paired=True``
    (row i of ``X`` and of ``Y`` describe one item, so they are not
    independent) each pair ``(x_i, y_i)`` swapped with probability 1/2, the
    permutations under which paired samples of one distribution are
    exchangeable (a random split would break the pairs and, for well aligned
    pairs, make every :math:`T_b` larger than :math:`T`). The p-value is

    .. math::

        p = \frac{1 + \#\{b : T_b \ge T\}}{1 + B},

    the valid Monte Carlo p-value of Phipson and Smyth [2]_ (never 0: the
    observed split is one of the equally likely ones under the null
    hypothesis). With ``rng = np.random.default_rng(seed)`` (or the
    generator given), the positions (``X`` first, then ``Y``) drawn into the
    first sample by permutation ``b`` are the first ``n`` entries of row ``b``
    of ``rng.permuted(np.tile(np.arange(n + m), (B, 1)), axis=1)``, or with
    ``paired=True`` ``np.arange(n) + n * S[b]`` with
    ``S = rng.random((B, n)) < 0.5``. A
    :math:`T_b` below :math:`T` by at most ``1e-10`` times the observed
    kernel means :math:`k_{xx} + k_{yy} + 2 k_{xy}` counts as a tie (at least
    as large): exact ties, such as permutations that only reorder rows within
    each sample, then do not depend on rounding.

    Parameters
    ----------
    X : array_like, shape (n, d)
        ``n >= 2`` samples.
    Y : array_like, shape (m, d)
        ``m >= 2`` samples, same dimension.
    bandwidth : float or sequence of floats, optional
        As in :func:`mmd2`; by default the median heuristic of the pooled
        rows (the same for every permutation: the pool does not change).
    n_permutations : int, default 199
        :math:`B \ge 1`; the smallest attainable p-value is :math:`1/(1+B)`.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Source of the permutations.
    paired : bool, default False
        Whether row i of ``X`` and row i of ``Y`` are paired (then ``n == m``
        is required and the permutations swap partners).

    Returns
    -------
    MMDTest

    Raises
    ------
    ValueError
        As :func:`mmd2`; ``n_permutations < 1``, a negative seed, or
        ``paired=True`` with ``n != m``.
    TypeError
        A non-integer ``n_permutations``, a seed of another type, a
        non-boolean ``paired``.

    Notes
    -----
    The pooled kernel matrix :math:`K` is formed once (memory
    :math:`O((n+m)^2)`). For an indicator vector :math:`a` of the rows drawn
    into the first sample, :math:`\sum_{X,X} K = a^T K a`,
    :math:`\sum_{X,Y} K = a^T r - a^T K a` with :math:`r = K\mathbf{1}`, and
    :math:`\sum_{Y,Y} K = (\mathbf{1} - a)^T (r - K a)`, so all permutations
    cost one matrix product :math:`K A` with the :math:`(n + m) 	imes B`
    indicator matrix :math:`A` (formed 64 columns at a time): time
    :math:`O((n+m)^2 (d + B))`.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A kernel two-sample test", JMLR 13, 2012.
    .. [2] B. Phipson, G. K. Smyth, "Permutation p-values should never be
       zero", Stat. Appl. Genet. Mol. Biol. 9(1), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import mmd2, mmd2_test
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2))
    >>> res = mmd2_test(X, Y + 1.0, n_permutations=99, seed=0)
    >>> res.p_value  # no permutation reaches the observed statistic
    0.01
    >>> res.statistic == mmd2(X, Y + 1.0)
    True
    >>> mmd2_test(X, Y, n_permutations=99, seed=0).p_value > 0.05
    True

    Paired rows (a noisy copy): mmd2 is pulled far below 0 by the partners'
    closeness and a random split would call the sets different; the paired
    statistic is about 0 and swapping partners does not.

    >>> Yp = X + 0.1 * rng.normal(size=X.shape)
    >>> res = mmd2_test(X, Yp, n_permutations=99, paired=True)
    >>> mmd2(X, Yp) < -0.005, abs(res.statistic) < 0.005, res.p_value > 0.05
    (True, True, True)
    """
    if not isinstance(paired, (bool, np.bool_)):
        raise TypeError(
            f"paired must be True or False; got {paired!r} of type {type(paired).__name__}"
        )
    X, Y = as_pair(X, Y, paired=bool(paired), same_dim=True)
    B = check_int(n_permutations, "n_permutations", minimum=1)
    rng = check_random_state(seed)
    K, sigmas = _pooled_kernel(X, Y, bandwidth)
    n, N = X.shape[0], K.shape[0]
    if paired:
        firsts = np.arange(n) + n * (rng.random((B, n)) < 0.5)
    else:
        firsts = rng.permuted(np.tile(np.arange(N), (B, 1)), axis=1)[:, :n]
    # paired: the partners' cross terms, the same for every swap (K is symmetric)
    partners = float(np.trace(K[:n, n:])) if paired else None
    splits = np.concatenate([np.arange(n)[None, :], firsts])
    stats, means = _split_statistics(K, n, splits, partners)
    tol = _TIE_RTOL * means[0]
    null = stats[1:]
    count = int(np.count_nonzero(null >= stats[0] - tol))
    bw = float(sigmas[0]) if len(sigmas) == 1 else tuple(float(s) for s in sigmas)
    return MMDTest(
        statistic=_u_statistic(K, n, bool(paired)),
        p_value=(1.0 + count) / (1.0 + B),
        n_permutations=B,
        bandwidth=bw,
        null_statistics=null,
        mmd2=_u_statistic(K, n),
    )


def _split_statistics(
    K: np.ndarray, n: int, firsts: np.ndarray, partners: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Unbiased MMD^2 of every split (row of ``firsts``: the n positions of the first sample).

    ``partners``: the sum of the partners' cross terms, left out of k_xy (paired rows).

    Returns the statistics and the kernel means k_xx + k_yy + 2 k_xy of each
    split (the size of the terms that cancel in the statistic).
    """
    N = K.shape[0]
    m = N - n
    diag = np.diagonal(K)
    r = K.sum(axis=1)
    stats = np.empty(len(firsts))
    means = np.empty(len(firsts))
    for start in range(0, len(firsts), _PERMUTATION_CHUNK):
        idx = firsts[start : start + _PERMUTATION_CHUNK]
        c = idx.shape[0]
        A = np.zeros((N, c))
        A[idx.T, np.arange(c)] = 1.0
        KA = K @ A
        sxx = np.einsum("ij,ij->j", A, KA)
        syy = np.einsum("ij,ij->j", 1.0 - A, r[:, None] - KA)
        sxy = A.T @ r - sxx
        tx = A.T @ diag
        kxx = (sxx - tx) / (n * (n - 1))
        kyy = (syy - (diag.sum() - tx)) / (m * (m - 1))
        kxy = sxy / (n * m) if partners is None else (sxy - partners) / (n * (n - 1))
        stats[start : start + c] = kxx + kyy - 2.0 * kxy
        means[start : start + c] = kxx + kyy + 2.0 * kxy
    return stats, means
