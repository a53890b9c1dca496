"""Divergences between SPD matrices: the Jensen–Bregman log-det (Stein) and the
von Neumann (quantum relative entropy) divergences, batched, with the scale
handling of :mod:`sheaftopo.geometry._spd`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import (
    as_spd,
    broadcast_batch,
    spd_eigh,
    unit_scaled,
)
from ._spd_linalg import _finite_output, _general_log_eigvals, _logcosh, _result, _t

__all__ = ["stein_divergence", "von_neumann_divergence"]


def stein_divergence(P: Any, Q: Any) -> Any:
    r"""Jensen–Bregman log-det (Stein) divergence between SPD matrices.

    .. math::

        S(P, Q) = \log\det\frac{P + Q}{2} - \frac12 \log\det P - \frac12 \log\det Q
                = \sum_i \log\cosh\Big(\tfrac12 \log \lambda_i(P^{-1}Q)\Big),

    evaluated by the right-hand side (one Cholesky factorisation and one
    ``eigvalsh`` per pair, no cancellation near :math:`P = Q`). It is
    symmetric, non-negative, zero exactly when :math:`P = Q`, invariant under
    every congruence :math:`P \mapsto APA^T` (:math:`A` invertible) and under
    inversion, :math:`\sqrt{S}` is a metric [1]_, and
    :math:`S \le d_{\mathrm{AI}}^2 / 8` (since :math:`\log\cosh x \le x^2/2`),
    with equality to second order as :math:`Q \to P`.

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; batch dimensions broadcast.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On invalid matrices or shapes.

    References
    ----------
    .. [1] S. Sra, "Positive definite matrices and the S-divergence",
       Proceedings of the AMS 144(7), 2016.
    .. [2] A. Cherian, S. Sra, A. Banerjee, N. Papanikolopoulos,
       "Jensen-Bregman LogDet divergence with application to efficient
       similarity search for covariance matrices", IEEE TPAMI 35(9), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import stein_divergence
    >>> P = np.diag([1.0, 2.0])
    >>> float(stein_divergence(P, P))
    0.0
    >>> round(float(stein_divergence(np.eye(2), 4 * np.eye(2))), 12)  # 2 log(5/4)
    0.446287102628
    """
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    return _result(_logcosh(0.5 * _general_log_eigvals(P, Q, ("P", "Q"))).sum(axis=-1))


def _scalar_bregman(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``lam log(lam / mu) - lam + mu`` (>= 0), accurate when ``lam ~ mu``."""
    x = lam / mu - 1.0
    out = np.empty_like(x)
    small = np.abs(x) < 0.05
    xs = x[small]
    # (1 + x) log(1 + x) - x = sum_{k >= 2} (-1)^k x^k / (k (k - 1))
    series = np.zeros_like(xs)
    power = xs * xs
    for k in range(2, 16):
        series += (-1) ** k * power / (k * (k - 1))
        power = power * xs
    out[small] = series
    big = ~small
    xb = x[big]
    # (1 + x) log(1 + x) -> 0 as x -> -1 (lam underflowed to 0 against mu)
    out[big] = np.where(xb == -1.0, 0.0, (1.0 + xb) * np.log1p(np.maximum(xb, -1.0))) - xb
    return mu * out


def von_neumann_divergence(P: Any, Q: Any) -> Any:
    r"""Von Neumann (quantum relative entropy) divergence :math:`D(P \,\|\, Q)`.

    .. math::

        D(P \,\|\, Q) = \operatorname{tr}(P \log P - P \log Q - P + Q)
        = \sum_{i,j} (u_i^T v_j)^2 \big(\lambda_i \log\tfrac{\lambda_i}{\mu_j}
          - \lambda_i + \mu_j\big),

    with :math:`P = \sum_i \lambda_i u_i u_i^T`,
    :math:`Q = \sum_j \mu_j v_j v_j^T`; every term of the right-hand side is
    non-negative, which is how it is evaluated. It is the Bregman divergence
    of :math:`\operatorname{tr}(X \log X - X)`: non-negative and zero exactly
    when :math:`P = Q` (Klein's inequality), but neither symmetric nor
    affine-invariant. The trace :math:`\operatorname{tr}(P \log Q)` alone is
    none of these (see ``theory/spd-stein-divergence.md``).

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; batch dimensions broadcast.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On invalid matrices or shapes, or a divergence above the float64
        range (it is computed at the common unit scale of ``P`` and ``Q``,
        exactly, and scaled back).

    References
    ----------
    .. [1] B. Kulis, M. Sustik, I. Dhillon, "Low-rank kernel learning with
       Bregman matrix divergences", JMLR 10, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import von_neumann_divergence
    >>> round(float(von_neumann_divergence(2 * np.eye(2), np.eye(2))), 12)  # 2 (2 log 2 - 1)
    0.772588722240
    """
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    # D(cP || cQ) = c D(P || Q): compute at the common unit scale, scale back
    Ps, eP = unit_scaled(P)
    Qs, eQ = unit_scaled(Q)
    e = np.maximum(eP, eQ)
    lam, U = spd_eigh(Ps, "P")
    mu, V = spd_eigh(Qs, "Q")
    C = (_t(U) @ V) ** 2
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        lam = np.ldexp(lam, (eP - e)[..., None])
        mu = np.ldexp(mu, (eQ - e)[..., None])
        terms = _scalar_bregman(lam[..., :, None], mu[..., None, :])
        out = np.ldexp(np.einsum("...ij,...ij->...", C, terms), e)
    return _result(_finite_output(out, "the von Neumann divergence", "P is too large against Q"))
