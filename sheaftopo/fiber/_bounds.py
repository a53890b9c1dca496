r"""What fraction of *unrelated* pairs falls inside an ε-product: exact values and bounds.

For independent random embeddings the fraction of pairs within ε concentrates
sharply in high dimension (``theory/fiber-concentration.md``):

* Gaussian rows :math:`F_i, G_j \sim N(\mu, \sigma^2 I_d)`, Euclidean metric:
  :math:`\|F_i - G_j\|^2 / (2\sigma^2) \sim \chi^2_d`, so the expected
  fraction is :math:`p(\varepsilon) = P(\chi^2_d \le \varepsilon^2 / 2\sigma^2)`;
  the Laurent–Massart inequalities bound it by
  :math:`\exp(-(d - t)^2 / 4d)` below the typical distance
  :math:`\sigma\sqrt{2d}` (t = ε²/2σ² < d) and from below by
  :math:`1 - \exp(-x)`, :math:`x = ((\sqrt{2t - d} - \sqrt d)/2)^2`, above it.
* Directions uniform on the sphere :math:`S^{d-1}` (any rotation-invariant
  rows), cosine metric: :math:`(1 + u\cdot v)/2 \sim \mathrm{Beta}((d-1)/2, (d-1)/2)`
  and Ball's cap bound gives :math:`p(\varepsilon) \le \exp(-d(1 - \varepsilon)^2/2)`
  for ε < 1 and :math:`p \ge 1 - \exp(-d(\varepsilon - 1)^2/2)` for ε > 1.
* The observed fraction of an N × M sample deviates from p by more than
  :math:`\sqrt{\log(2/\delta) / (2\min(N, M))}` with probability at most δ
  (Hoeffding's inequality for two-sample U-statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, check_choice, check_int, check_real

__all__ = ["RandomPairFraction", "fraction_deviation", "random_pair_fraction"]

#: the largest dimension accepted (every integer up to it is a float64)
MAX_DIM = 2**53
#: t = (eps / sigma)**2 / 2 is capped here: the fraction is 1 beyond it for every dim <= MAX_DIM
_T_CAP = 1e300


@dataclass(frozen=True, eq=False)
class RandomPairFraction:
    """Expected fraction of random pairs within each ε, with its concentration bounds.

    Attributes
    ----------
    eps : ndarray, shape (K,)
    expected : ndarray, shape (K,)
        The expected fraction p(ε): the chi-square or Beta distribution function,
        by ``scipy.special`` (absolute error about 1e-16; in far tails at huge
        ``dim`` only about 1e-2 relatively, e.g. at p ≈ 1e-285 with dim ≈ 5e8).
    upper_bound : ndarray, shape (K,)
        A closed-form upper bound of p(ε) (1 where it says nothing).
    lower_bound : ndarray, shape (K,)
        A closed-form lower bound of p(ε) (0 where it says nothing).
    dim : int
    metric : str
    sigma : float
        Coordinate standard deviation (Euclidean); 1 for cosine.
    typical_distance : float
        :math:`\\sigma\\sqrt{2d}` (Euclidean) or 1 (cosine): where the fraction
        jumps from about 0 to about 1.
    """

    eps: np.ndarray
    expected: np.ndarray
    upper_bound: np.ndarray
    lower_bound: np.ndarray
    dim: int
    metric: str
    sigma: float
    typical_distance: float


def random_pair_fraction(
    eps: Any, dim: int, *, sigma: float = 1.0, metric: str = "euclidean"
) -> RandomPairFraction:
    r"""The fraction of unrelated random pairs inside the ε-product, and its bounds.

    Parameters
    ----------
    eps : float or array_like, shape (K,)
        Tolerances >= 0 (any finite size: a tolerance beyond every possible
        distance gives a fraction of 1).
    dim : int
        d, the embedding dimension (>= 2 for the cosine metric; at most 2**53).
    sigma : float
        Euclidean: the standard deviation of every coordinate of both sets
        (rows i.i.d. :math:`N(\mu, \sigma^2 I_d)`, the same μ for both sets);
        ``ValueError`` when :math:`\sigma\sqrt{2d}` exceeds the float64 range.
    metric : {"euclidean", "cosine"}
        Cosine: rows with rotation-invariant distributions (e.g. any centred
        isotropic Gaussian, or uniform on the sphere); σ is ignored.

    Returns
    -------
    RandomPairFraction

    References
    ----------
    .. [1] B. Laurent, P. Massart, "Adaptive estimation of a quadratic
       functional by model selection", Ann. Statist. 28(5), 2000, Lemma 1.
    .. [2] K. Ball, "An elementary introduction to modern convex geometry",
       Flavors of Geometry, MSRI Publ. 31, 1997, Lemma 2.2.

    Examples
    --------
    >>> from sheaftopo.fiber import random_pair_fraction
    >>> r = random_pair_fraction([8.0, 11.3, 15.0], 64)
    >>> r.typical_distance
    11.313708498984761
    >>> r.expected.round(4)
    array([3.000e-04, 5.181e-01, 9.998e-01])
    >>> bool((r.lower_bound <= r.expected).all() and (r.expected <= r.upper_bound).all())
    True
    """
    from scipy import special

    e = as_float_array(eps, "eps", dtype=np.float64)
    e = np.atleast_1d(e)
    if e.ndim != 1 or e.size == 0 or not np.isfinite(e).all() or (e < 0).any():
        raise ValueError(
            f"eps must be finite tolerances >= 0 (a scalar or a non-empty 1-D array); got {eps!r}"
        )
    metric = check_choice(metric, "metric", ("euclidean", "cosine"))
    if metric == "cosine":
        d = check_int(dim, "dim", minimum=2, maximum=MAX_DIM)
        a = (d - 1) / 2.0
        s = 1.0 - np.minimum(e, 2.0)  # the inner product must be >= s (cosine distances <= 2)
        x = np.clip((1.0 + s) / 2.0, 0.0, 1.0)
        expected = special.betainc(a, a, 1.0 - x)  # P(Beta >= x) by symmetry
        upper = np.where(s > 0, np.exp(-d * np.maximum(s, 0.0) ** 2 / 2.0), 1.0)
        lower = np.where(s < 0, -np.expm1(-d * np.minimum(s, 0.0) ** 2 / 2.0), 0.0)
        return RandomPairFraction(e, expected, upper, lower, d, metric, 1.0, 1.0)
    d = check_int(dim, "dim", minimum=1, maximum=MAX_DIM)
    sg = check_real(sigma, "sigma", low=0.0, low_inclusive=False)
    typical = sg * math.sqrt(2 * d)
    if not math.isfinite(typical):
        raise ValueError(
            f"sigma * sqrt(2 dim) = {sg!r} * sqrt(2 * {d}) exceeds the float64 range; "
            "rescale sigma (and eps) together"
        )
    # t = (eps / sigma)**2 / 2, capped where the fraction is 1 anyway (no overflow)
    with np.errstate(over="ignore"):
        ratio = e / sg
    t = np.minimum(ratio, math.sqrt(2.0 * _T_CAP)) ** 2 / 2.0
    expected = special.gammainc(d / 2.0, t / 2.0)
    gap = np.maximum(d - t, 0.0)
    upper = np.where(t < d, np.exp(-gap * (gap / (4.0 * d))), 1.0)
    y = (np.sqrt(2.0 * np.maximum(t - d / 2.0, 0.0)) - math.sqrt(d)) / 2.0
    lower = np.where(t > d, -np.expm1(-(np.maximum(y, 0.0) ** 2)), 0.0)
    return RandomPairFraction(e, expected, upper, lower, d, metric, sg, typical)


def fraction_deviation(n_rows: int, m_rows: int, *, delta: float = 1e-6) -> float:
    r"""Radius r with :math:`P(|\hat f - f| \geq r) \leq \delta` (observed vs expected fraction).

    For N × M pairs of independent rows (i.i.d. within each set), the
    observed fraction of pairs within ε is a two-sample U-statistic with a
    {0, 1} kernel, and Hoeffding's inequality gives
    :math:`r = \sqrt{\log(2/\delta) / (2\min(N, M))}`, for any δ in (0, 1]
    (subnormal ones included) and any N, M >= 1.

    References
    ----------
    .. [1] W. Hoeffding, "Probability inequalities for sums of bounded random
       variables", JASA 58 (1963), Sec. 5.

    Examples
    --------
    >>> from sheaftopo.fiber import fraction_deviation
    >>> round(fraction_deviation(1000, 5000, delta=1e-6), 4)
    0.0852
    """
    n = check_int(n_rows, "n_rows", minimum=1)
    m = check_int(m_rows, "m_rows", minimum=1)
    dl = check_real(delta, "delta", low=0.0, high=1.0, low_inclusive=False)
    # log(2/δ) without overflowing 2/δ for a subnormal δ
    log_term = math.log(2.0 / dl) if dl >= 1e-300 else math.log(2.0) - math.log(dl)
    rows = min(n, m)
    if rows <= 2**1000:
        return math.sqrt(log_term / (2.0 * rows))
    # more rows than a float64 holds: in logarithms (math.log takes any int)
    return math.exp(0.5 * (math.log(log_term) - math.log(2.0) - math.log(rows)))
