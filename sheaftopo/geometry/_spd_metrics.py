r"""The flat (pullback-Euclidean) SPD metrics, and the one ``metric=`` dispatch of the SPD maps.

Four of the SPD metrics are pullbacks of the Frobenius inner product by a
diffeomorphism :math:`\varphi` of the SPD cone onto an open subset of a
vector space (their curvature is zero):

``"log_euclidean"``
    :math:`\varphi(P) = \log P` (symmetric matrices).
``"power"`` with exponent ``power=`` :math:`\alpha \ne 0`
    :math:`\varphi(P) = P^\alpha / \alpha`, the power-Euclidean metric of
    Dryden, Pennec and Peyrat: :math:`d(P, Q) = \|P^\alpha - Q^\alpha\|_F /
    |\alpha|`, pyRiemann's ``distance_poweuclid``; ``power=0`` is its limit,
    the log-Euclidean metric, and ``power=-1`` gives the harmonic mean
    :math:`(\sum_i w_i P_i^{-1})^{-1}` as Fréchet mean. The image of the cone
    is :math:`\{X : \alpha X \succ 0\}`, so maps that leave it (an
    exponential of a large tangent vector, a geodesic extended beyond its end
    points) raise a ``ValueError``.
``"euclidean"``
    :math:`\varphi(P) = P`: :math:`d(P, Q) = \|P - Q\|_F`, straight
    geodesics, the arithmetic mean; its geodesics leave the cone outside
    :math:`t \in [0, 1]` in general (a ``ValueError`` then).
``"log_cholesky"``
    :math:`\varphi(P) = \lfloor L \rfloor + \log \mathbb{D}(L)` for
    :math:`P = L L^T` (lower Cholesky factor, :math:`\lfloor L \rfloor` its
    strictly lower part, :math:`\mathbb{D}(L)` its diagonal) onto lower
    triangular matrices, Lin's log-Cholesky metric:
    :math:`d(P, Q)^2 = \|\lfloor L_P \rfloor - \lfloor L_Q \rfloor\|_F^2 +
    \|\log \mathbb{D}(L_P) - \log \mathbb{D}(L_Q)\|_F^2`.

For all of them :math:`d(P, Q) = \|\varphi(P) - \varphi(Q)\|_F`,
:math:`\operatorname{Log}_B(P) = D\varphi_B^{-1}[\varphi(P) - \varphi(B)]`,
:math:`\operatorname{Exp}_B(V) = \varphi^{-1}(\varphi(B) + D\varphi_B[V])`,
:math:`\gamma(t) = \varphi^{-1}((1-t)\varphi(P) + t\varphi(Q))`, the
Fréchet mean is :math:`\varphi^{-1}(\sum_i w_i \varphi(P_i))`, the inner
product is :math:`g_B(U, V) = \langle D\varphi_B[U], D\varphi_B[V]\rangle_F`
and parallel transport is :math:`V \mapsto D\varphi_Q^{-1}[D\varphi_P[V]]`.
The differentials of the spectral maps (:math:`\log`, :math:`x^\alpha/\alpha`)
use the Daleckii–Krein formula with first divided differences written in the
logarithms :math:`m_i` of the eigenvalues,
:math:`f^{[1]}_{ij} = e^{(\alpha - 1)(m_i + m_j)/2}\,
\operatorname{sinhc}(\alpha \delta)/\operatorname{sinhc}(\delta)`,
:math:`\delta = (m_i - m_j)/2` (no cancellation, and exact at ties); those of
the log-Cholesky map are Lin's Proposition 4.

All these maps are homogeneous (:math:`\operatorname{Log}_{cB}(cP) = c
\operatorname{Log}_B(P)`, and so on), and every computation is done with the
matrices divided by a power of two (exact) that brings the base point to unit
scale.

:data:`SPD_METRICS` lists every metric of the SPD maps and :func:`metric_args`
checks ``metric=`` and ``power=`` for all of them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_real
from ._checks import cholesky, matrix_scale_exponents, unit_scaled
from ._spd_linalg import (
    _EXP_LIMIT,
    _LN2,
    _finite_output,
    _sinhc,
    _spd_exp_sym,
    _spd_log,
    _sym,
    _t,
)

#: every metric of the SPD maps (spd_distance, spd_log, spd_exp, spd_geodesic, spd_mean, ...)
SPD_METRICS = ("affine", "bures", "euclidean", "log_cholesky", "log_euclidean", "power")
#: the pullback-Euclidean ones, handled here
FLAT_METRICS = ("euclidean", "log_cholesky", "log_euclidean", "power")

_LEAVES = "the result leaves the cone of SPD matrices"


def metric_args(
    metric: Any, power: Any, choices: tuple[str, ...] = SPD_METRICS
) -> tuple[str, float]:
    """The checked ``metric`` name and the exponent of the power metric (0 for log-Euclidean).

    ``power`` is required for ``metric="power"`` and refused for the others.
    """
    metric = check_choice(metric, "metric", choices)
    if metric != "power":
        if power is not None:
            raise ValueError(
                f"power is the exponent of metric='power' only; got power={power!r} with "
                f"metric={metric!r}"
            )
        return metric, 0.0
    if power is None:
        raise ValueError("metric='power' needs its exponent: pass power=alpha (e.g. 0.5)")
    alpha = check_real(power, "power", low=-10.0, high=10.0)
    return metric, alpha


# ---------------------------------------------------------------------------
# charts: phi(P) and the differential of phi at P
# ---------------------------------------------------------------------------


def _power_divided_difference(m: np.ndarray, alpha: float) -> np.ndarray:
    """First divided differences of ``x^alpha / alpha`` (``log x`` for 0) at ``x = e^m``."""
    a = m[..., :, None]
    b = m[..., None, :]
    d = 0.5 * (a - b)
    with np.errstate(over="ignore", under="ignore"):
        return np.exp((alpha - 1.0) * 0.5 * (a + b)) * _sinhc(alpha * d) / _sinhc(d)


def _strict_lower(X: np.ndarray) -> np.ndarray:
    return np.tril(X, -1)


def _diagonal(X: np.ndarray) -> np.ndarray:
    return np.diagonal(X, axis1=-2, axis2=-1)


def _with_diagonal(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``X`` (strictly lower, a new array) plus ``diag(d)``."""
    return X + d[..., None, :] * np.eye(X.shape[-1])


@dataclass(frozen=True)
class Chart:
    """:math:`\\varphi(P)` of a batch of SPD matrices and the differential of :math:`\\varphi`.

    ``U, m`` (eigenvectors and log-eigenvalues) for the spectral maps, ``L``
    (Cholesky factor) for log-Cholesky.
    """

    metric: str
    alpha: float
    coords: np.ndarray
    U: np.ndarray | None = None
    m: np.ndarray | None = None
    L: np.ndarray | None = None

    def push(self, V: np.ndarray) -> np.ndarray:
        """:math:`D\\varphi_P[V]` for symmetric ``V``."""
        if self.metric == "euclidean":
            return V
        if self.L is not None:
            L = self.L
            Linv = np.linalg.inv(L)
            S = Linv @ V @ _t(Linv)
            half = _with_diagonal(_strict_lower(S), 0.5 * _diagonal(S))  # Lin's (S)_{1/2}
            return _with_diagonal(_strict_lower(L @ half), _diagonal(half))
        U = self.U
        K = _power_divided_difference(self.m, self.alpha)
        return _sym(U @ ((_t(U) @ V @ U) * K) @ _t(U))

    def pull(self, W: np.ndarray) -> np.ndarray:
        """:math:`D\\varphi_P^{-1}[W]` (symmetric ``W``; lower triangular for log-Cholesky)."""
        if self.metric == "euclidean":
            return _sym(W)
        if self.L is not None:
            L = self.L
            dL = _with_diagonal(_strict_lower(W), _diagonal(L) * _diagonal(W))
            return _sym(L @ _t(dL) + dL @ _t(L))
        U = self.U
        K = _power_divided_difference(self.m, self.alpha)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _sym(U @ ((_t(U) @ W @ U) / K) @ _t(U))


def chart(P: np.ndarray, name: str, metric: str, alpha: float, e: np.ndarray) -> Chart:
    """The chart of ``P / 2^e`` (``e`` even integers broadcasting with the batch shape)."""
    if metric == "euclidean":
        with np.errstate(over="ignore", under="ignore"):
            return Chart(metric, alpha, np.ldexp(P, -e[..., None, None]))
    if metric == "log_cholesky":
        Ps, eP = unit_scaled(P, even=True)
        Lu = cholesky(Ps, name)
        half = (eP - e) // 2
        with np.errstate(over="ignore", under="ignore"):
            L = np.ldexp(Lu, half[..., None, None])
        d = np.log(_diagonal(Lu)) + (half * _LN2)[..., None]  # exact even where L underflows
        return Chart(metric, alpha, _with_diagonal(_strict_lower(L), d), L=L)
    _, m, U = _spd_log(P, name)
    m = m - (e * _LN2)[..., None]
    if alpha == 0.0:
        f = m
    else:
        with np.errstate(over="ignore", under="ignore"):
            f = np.exp(alpha * m) / alpha
    with np.errstate(over="ignore", invalid="ignore"):  # refused downstream when not finite
        coords = _sym((U * f[..., None, :]) @ _t(U))
    return Chart(metric, alpha, coords, U=U, m=m)


def chart_inverse(X: np.ndarray, metric: str, alpha: float, cause: str) -> np.ndarray:
    """:math:`\\varphi^{-1}(X)`; a ``ValueError`` (ending in ``cause``) outside the image."""
    if not np.isfinite(X).all():
        raise ValueError(f"the point overflows float64: {cause}")
    if metric == "euclidean":
        _refuse_outside(np.linalg.eigvalsh(X), cause)
        return _sym(X)
    if metric == "log_cholesky":
        d = _diagonal(X)
        if not (d < _EXP_LIMIT).all():
            raise ValueError(f"the point overflows float64: {cause}")
        L = _with_diagonal(_strict_lower(X), np.exp(d))
        return _sym(L @ _t(L))
    if alpha == 0.0:
        return _spd_exp_sym(X, cause)
    z, W = np.linalg.eigh(X)
    _refuse_outside(alpha * z, cause)
    logs = np.log(alpha * z) / alpha
    if not (logs < _EXP_LIMIT).all():
        raise ValueError(f"the point overflows float64: {cause}")
    if not (logs > -_EXP_LIMIT).all():
        raise ValueError(f"the point underflows to a singular matrix: {cause}")
    return _sym((W * np.exp(logs)[..., None, :]) @ _t(W))


def _refuse_outside(lam: np.ndarray, cause: str) -> None:
    """Refuse eigenvalues (of the point, or of alpha phi(point)) that are not clearly positive."""
    n = lam.shape[-1]
    top = np.abs(lam).max(axis=-1)
    if not (lam[..., 0] > n * np.finfo(np.float64).eps * top).all():
        raise ValueError(f"{_LEAVES} (not positive definite): {cause}")


# ---------------------------------------------------------------------------
# the maps
# ---------------------------------------------------------------------------


def _pair_exponents(P: np.ndarray, Q: np.ndarray, alpha: float) -> np.ndarray:
    """Even exponents bringing the dominant matrix of each (broadcast) pair to unit scale.

    The larger one, whose coordinates dominate, except for negative powers,
    where the smaller one's do (the other's then underflow harmlessly).
    """
    pick = np.minimum if alpha < 0 else np.maximum
    return pick(matrix_scale_exponents(P, even=True), matrix_scale_exponents(Q, even=True))


def _back(X: np.ndarray, e: np.ndarray, what: str, cause: str) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(X, e[..., None, None])
    return _finite_output(out, what, cause)


def flat_distance(
    P: np.ndarray, Q: np.ndarray, metric: str, alpha: float, squared: bool
) -> np.ndarray:
    """Distances ``||phi(P) - phi(Q)||_F`` (or their squares), batched, scale-covariant.

    Both matrices of a pair are divided by the same power of two (that of the
    larger); the distance of the scaled pair is multiplied back by the exact
    factor ``2^(e alpha)`` (log-Euclidean: 1; Euclidean: ``2^e``; log-Cholesky:
    its strictly lower part by ``2^(e/2)``), so that distances (and squares)
    are finite wherever they are mathematically.
    """
    e = _pair_exponents(P, Q, alpha)
    cP = chart(P, "P", metric, alpha, e)
    cQ = chart(Q, "Q", metric, alpha, e)
    D = cP.coords - cQ.coords
    if metric == "log_cholesky":  # strict lower part scales like 2^(e/2), diagonal not at all
        low = _strict_lower(D)
        dg = _diagonal(D)
        with np.errstate(over="ignore", under="ignore"):
            sq = np.ldexp(np.einsum("...ij,...ij->...", low, low), e) + np.einsum(
                "...i,...i->...", dg, dg
            )
        out = sq if squared else np.sqrt(sq)
    else:
        sq = np.einsum("...ij,...ij->...", D, D)
        grow = 1.0 if metric == "euclidean" else alpha  # d(cP, cQ) = c^grow d(P, Q)
        k = (2.0 if squared else 1.0) * grow * e  # times 2^k, exactly up to 2^frac
        whole = np.floor(k)
        with np.errstate(over="ignore", under="ignore"):
            out = np.ldexp(
                (sq if squared else np.sqrt(sq)) * np.exp2(k - whole), whole.astype(np.int64)
            )
    return _finite_output(out, "the distance", "P and Q are too far apart")


def flat_log(P: np.ndarray, B: np.ndarray, metric: str, alpha: float) -> np.ndarray:
    """:math:`\\operatorname{Log}_B(P)` for a flat metric.

    At the base point's scale (the differential of the chart is taken there),
    except for the Euclidean metric, where it is ``P - B`` at the pair's scale.
    """
    if metric == "euclidean":
        e = _pair_exponents(P, B, alpha)
    else:
        e = matrix_scale_exponents(B, even=True)
    cB = chart(B, "base", metric, alpha, e)
    cP = chart(P, "P", metric, alpha, e)
    with np.errstate(over="ignore", invalid="ignore"):
        V = cB.pull(cP.coords - cB.coords)
    return _back(V, e, "the logarithm", "P is too far from base")


def flat_exp(V: np.ndarray, B: np.ndarray, metric: str, alpha: float, cause: str) -> np.ndarray:
    """:math:`\\operatorname{Exp}_B(V)` for a flat metric (at the base's scale; ``B + V`` at
    the larger one's for the Euclidean metric)."""
    if metric == "euclidean":
        e = _pair_exponents(V, B, 1.0)
    else:
        e = matrix_scale_exponents(B, even=True)
    cB = chart(B, "base", metric, alpha, e)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        X = cB.coords + cB.push(np.ldexp(V, -e[..., None, None]))
    return _back(chart_inverse(X, metric, alpha, cause), e, "the exponential", cause)


def flat_geodesic(
    P: np.ndarray, Q: np.ndarray, tt: np.ndarray, metric: str, alpha: float, cause: str
) -> np.ndarray:
    """:math:`\\varphi^{-1}((1-t)\\varphi(P) + t\\varphi(Q))`, ``tt`` of the batch shape."""
    e = np.broadcast_to(_pair_exponents(P, Q, alpha), tt.shape)
    cP = chart(P, "P", metric, alpha, e)
    cQ = chart(Q, "Q", metric, alpha, e)
    w = tt[..., None, None]
    with np.errstate(over="ignore", invalid="ignore"):
        X = (1.0 - w) * cP.coords + w * cQ.coords
    return _back(chart_inverse(X, metric, alpha, cause), e, "the geodesic point", cause)


def flat_mean(P: np.ndarray, w: np.ndarray, metric: str, alpha: float) -> tuple[np.ndarray, float]:
    """:math:`\\varphi^{-1}(\\sum_i w_i \\varphi(P_i))` over axis -3 and its gradient norm.

    ``P`` of shape (..., N, n, n) at a common unit scale; the gradient norm is
    ``||sum_i w_i phi(P_i) - phi(M)||_F`` (rounding only), per batch element.
    """
    e = np.zeros(P.shape[:-2], dtype=np.int64)
    c = chart(P, "P", metric, alpha, e)
    target = np.einsum("k,...kij->...ij", w, c.coords)
    M = chart_inverse(target, metric, alpha, "the mean is not positive definite")
    back = chart(M, "the mean", metric, alpha, e[..., 0])
    return M, np.linalg.norm(target - back.coords, axis=(-2, -1))


def flat_transport(
    V: np.ndarray, P: np.ndarray, Q: np.ndarray, metric: str, alpha: float
) -> np.ndarray:
    """Parallel transport :math:`D\\varphi_Q^{-1}[D\\varphi_P[V]]` from ``P`` to ``Q``."""
    e = matrix_scale_exponents(P, even=True)
    cP = chart(P, "base", metric, alpha, e)
    cQ = chart(Q, "target", metric, alpha, e)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        W = cQ.pull(cP.push(np.ldexp(V, -e[..., None, None])))
    return _back(W, e, "the transported vector", "target is too far from base")


def _coordinate_scale(W: np.ndarray, e: np.ndarray, metric: str, alpha: float, sign: int):
    """Flat coordinates of the base scaled by ``2^-e`` times the factor that undoes it (``sign=1``).

    ``D phi_{cB}[cV] = c^alpha D phi_B[V]`` for the spectral charts (``alpha = 1``
    for the Euclidean one); for log-Cholesky the strictly lower part scales
    like ``c^(1/2)`` and the diagonal not at all. ``sign=-1`` divides instead.
    """
    with np.errstate(over="ignore", under="ignore"):
        if metric == "log_cholesky":
            low = np.ldexp(_strict_lower(W), (sign * e // 2)[..., None, None])
            return _with_diagonal(low, _diagonal(W))
        k = sign * (1.0 if metric == "euclidean" else alpha) * e
        whole = np.floor(k)
        return np.ldexp(
            W * np.exp2(k - whole)[..., None, None], whole.astype(np.int64)[..., None, None]
        )


def flat_push(V: np.ndarray, B: np.ndarray, metric: str, alpha: float) -> np.ndarray:
    """:math:`D\\varphi_B[V]`, flat coordinates of a tangent vector (Frobenius norm ``||V||_B``)."""
    if metric == "euclidean":
        return V
    e = matrix_scale_exponents(B, even=True)
    c = chart(B, "base", metric, alpha, e)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        W = _coordinate_scale(c.push(np.ldexp(V, -e[..., None, None])), e, metric, alpha, 1)
    return _finite_output(W, "the flat coordinates", "V is too large")


def flat_pull(W: np.ndarray, B: np.ndarray, metric: str, alpha: float) -> np.ndarray:
    """Inverse of :func:`flat_push`: the tangent vector at ``B`` with flat coordinates ``W``."""
    if metric == "euclidean":
        return W
    e = matrix_scale_exponents(B, even=True)
    c = chart(B, "base", metric, alpha, e)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        V = c.pull(_coordinate_scale(W, e, metric, alpha, -1))
    return _back(V, e, "the tangent vector", "the coordinates are too large")
