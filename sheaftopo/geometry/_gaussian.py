"""The closed-form 2-Wasserstein (Bures–Wasserstein) distance between Gaussians, and the
optimal (linear Monge) map between two Gaussians, from their parameters or from samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_float_array,
    check_real,
    power_of_two_scale,
)
from ._checks import (
    as_pair,
    as_spd,
    broadcast_batch,
    cloud_scale,
    unit_scaled,
)
from ._spd_linalg import _bures_distance, _chol_inv, _from_eig, _result, _t, _whitened_eigh
from ._transport import transport_weights

__all__ = ["GaussianMap", "empirical_gaussian_map", "gaussian_map", "gaussian_wasserstein"]


def _gaussian_args(
    mean1: Any, cov1: Any, mean2: Any, cov2: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated means and SPD covariances of two Gaussians (batch shapes broadcast)."""
    m1 = as_float_array(mean1, "mean1", dtype=np.float64)
    m2 = as_float_array(mean2, "mean2", dtype=np.float64)
    S1 = as_spd(cov1, "cov1")
    S2 = as_spd(cov2, "cov2")
    batch = broadcast_batch(S1, S2, ("cov1", "cov2"))
    d = S1.shape[-1]
    for name, m in (("mean1", m1), ("mean2", m2)):
        if m.ndim < 1 or m.shape[-1] != d:
            raise ValueError(
                f"{name} must have shape (..., {d}) to match the {d} x {d} covariances; "
                f"got shape {m.shape}"
            )
        if not np.isfinite(m).all():
            raise ValueError(f"{name} must not contain NaN or inf")
    try:
        np.broadcast_shapes(batch, m1.shape[:-1], m2.shape[:-1])
    except ValueError:
        raise ValueError(
            f"the batch shapes of mean1 {m1.shape[:-1]}, mean2 {m2.shape[:-1]} and the "
            f"covariances {batch} do not broadcast"
        ) from None
    return m1, S1, m2, S2


def gaussian_wasserstein(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r"""Closed-form 2-Wasserstein distance between Gaussians (Bures–Wasserstein), batched.

    .. math::

        W_2\big(\mathcal{N}(m_1, \Sigma_1), \mathcal{N}(m_2, \Sigma_2)\big)
        = \Big(\|m_1 - m_2\|_2^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
        - 2 \operatorname{tr}\big(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}\big)^{1/2}\Big)^{1/2},

    the distance, not its square (as ``ot.gaussian.bures_wasserstein_distance``
    returns), i.e. ``hypot(||m1 - m2||, spd_distance(cov1, cov2, metric="bures"))``.
    The optimal map is :math:`x \mapsto m_2 + T(x - m_1)` with
    :math:`T = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\Sigma_1^{-1/2}`.

    Parameters
    ----------
    mean1 : array_like, shape (..., d)
    cov1 : array_like, shape (..., d, d)
        Symmetric positive definite covariances.
    mean2 : array_like, shape (..., d)
    cov2 : array_like, shape (..., d, d)
        All batch dimensions broadcast against each other.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On NaN or inf, non-SPD (also numerically singular) covariances,
        mismatched dimensions, batch shapes that do not broadcast, or a
        distance above the float64 range.

    References
    ----------
    .. [1] D. C. Dowson, B. V. Landau, "The Fréchet distance between
       multivariate normal distributions", J. Multivariate Anal. 12(3), 1982.
    .. [2] C. R. Givens, R. M. Shortt, "A class of Wasserstein metrics for
       probability distributions", Michigan Math. J. 31(2), 1984.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import gaussian_wasserstein
    >>> float(gaussian_wasserstein([0.0, 0.0], np.eye(2), [3.0, 0.0], 4 * np.eye(2)))  # 9 + 2
    3.3166247903554
    """
    m1, S1, m2, S2 = _gaussian_args(mean1, cov1, mean2, cov2)
    # ||m1 - m2|| at the common unit scale of the means (powers of two: exact), scaled back
    s = cloud_scale(m1, m2)
    with np.errstate(over="ignore"):
        dm = np.linalg.norm(m1 / s - m2 / s, axis=-1) * s
        out = np.hypot(dm, _bures_distance(S1, S2, ("cov1", "cov2")))
    if not np.isfinite(out).all():
        raise ValueError(
            "the 2-Wasserstein distance overflows float64: mean1 and mean2 are too far apart"
        )
    return _result(out)


@dataclass(frozen=True)
class GaussianMap:
    r"""The optimal transport map :math:`x \mapsto A x + b` between two Gaussians.

    Attributes
    ----------
    linear : ndarray, shape (d, d)
        :math:`A = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}
        \Sigma_1^{-1/2}`, symmetric positive definite, with
        :math:`A \Sigma_1 A = \Sigma_2` (POT's ``A``; POT applies it as
        ``x @ A``, the same map since :math:`A` is symmetric).
    offset : ndarray, shape (d,)
        :math:`b = m_2 - A m_1`.
    """

    linear: np.ndarray
    offset: np.ndarray

    def apply(self, X: Any) -> np.ndarray:
        """The image ``X @ linear.T + offset`` of points ``X`` of shape (..., d) (a new array).

        Raises ``ValueError`` on NaN or inf, a last dimension other than
        ``d``, or an image above the float64 range.
        """
        Z = as_float_array(X, "X", dtype=np.float64)
        d = self.offset.shape[0]
        if Z.ndim < 1 or Z.shape[-1] != d:
            raise ValueError(f"X must have shape (..., {d}) to match the map; got {Z.shape}")
        if not np.isfinite(Z).all():
            raise ValueError("X must not contain NaN or inf")
        with np.errstate(over="ignore", invalid="ignore"):
            out = Z @ self.linear.T + self.offset
        if not np.isfinite(out).all():
            raise ValueError("the image of X overflows float64: X is too large for this map")
        return out


def _monge_linear(P: np.ndarray, eP: int, Q: np.ndarray, eQ: int) -> np.ndarray:
    """``A`` with ``A S1 A = S2`` for ``S1 = 2^eP P``, ``S2 = 2^eQ Q`` (even exponents).

    ``A = L^{-T} (L^T Q L)^{1/2} L^{-1}`` for ``P = L L^T``, computed at unit
    scale and multiplied by ``2^((eQ - eP) / 2)`` (exact).
    """
    L, Linv = _chol_inv(P, "cov1")
    lam, U = _whitened_eigh(_t(L), Q, "cov2")
    root = _from_eig(np.sqrt(np.maximum(lam, 0.0)), U)
    A = _t(Linv) @ root @ Linv
    with np.errstate(over="ignore"):
        A = np.ldexp(0.5 * (A + _t(A)), (eQ - eP) // 2)
    if not np.isfinite(A).all():
        raise ValueError(
            "the Gaussian map overflows float64: cov2 (or the covariance of Y) is too large "
            "against cov1 (the covariance of X)"
        )
    return A


def _map_from(m1: np.ndarray, A: np.ndarray, m2: np.ndarray) -> GaussianMap:
    with np.errstate(over="ignore", invalid="ignore"):
        b = m2 - A @ m1
    if not np.isfinite(b).all():
        raise ValueError(
            "the offset mean2 - A mean1 of the Gaussian map overflows float64 (mean1 or the "
            "mean of X is too large for the map)"
        )
    return GaussianMap(linear=A, offset=b)


def gaussian_map(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> GaussianMap:
    r"""The optimal (Monge) map between two Gaussians, :math:`x \mapsto A x + b`.

    .. math::

        T(x) = m_2 + A (x - m_1), \qquad
        A = \Sigma_1^{-1/2}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}\Sigma_1^{-1/2},

    the unique optimal map for the squared Euclidean cost (its cost is
    :func:`gaussian_wasserstein` squared); POT's
    ``ot.gaussian.bures_wasserstein_mapping``. :math:`A` is computed from
    the Cholesky factor :math:`\Sigma_1 = LL^T` as
    :math:`L^{-T}(L^T\Sigma_2 L)^{1/2}L^{-1}`, on the covariances brought to
    unit scale by powers of four (exact).

    Parameters
    ----------
    mean1 : array_like, shape (d,)
    cov1 : array_like, shape (d, d)
        Symmetric positive definite.
    mean2 : array_like, shape (d,)
    cov2 : array_like, shape (d, d)
        Symmetric positive definite.

    Returns
    -------
    GaussianMap
        ``linear`` (:math:`A`), ``offset`` (:math:`b = m_2 - A m_1`) and
        ``apply(X)``.

    Raises
    ------
    ValueError
        On NaN or inf, non-SPD (also numerically singular) covariances,
        mismatched or batched shapes, or a map above the float64 range.

    See Also
    --------
    empirical_gaussian_map, gaussian_wasserstein

    References
    ----------
    .. [1] I. Olkin, F. Pukelsheim, "The distance between two random vectors
       with given dispersion matrices", Linear Algebra Appl. 48, 1982.
    .. [2] R. Flamary et al., "POT: Python Optimal Transport", JMLR 22(78), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import gaussian_map
    >>> T = gaussian_map([0.0, 0.0], np.eye(2), [1.0, 2.0], np.diag([4.0, 9.0]))
    >>> T.linear, T.offset
    (array([[2., 0.],
           [0., 3.]]), array([1., 2.]))
    >>> T.apply([[1.0, 1.0]])
    array([[3., 5.]])
    """
    m1, S1, m2, S2 = _gaussian_args(mean1, cov1, mean2, cov2)
    for name, arr, nd in (("mean1", m1, 1), ("cov1", S1, 2), ("mean2", m2, 1), ("cov2", S2, 2)):
        if arr.ndim != nd:
            raise ValueError(
                f"{name} must be a single {'vector' if nd == 1 else 'matrix'} "
                f"(no batch dimensions); got shape {arr.shape}"
            )
    P, eP = unit_scaled(S1, even=True)
    Q, eQ = unit_scaled(S2, even=True)
    return _map_from(m1, _monge_linear(P, int(eP), Q, int(eQ)), m2)


def _moments(
    X: np.ndarray, w: np.ndarray, reg: float, name: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Weighted mean and ``(C, e)`` with ``2^e C`` the biased covariance plus ``reg I``.

    Computed on ``X`` divided by a power of two (exact); ``e`` is even.
    """
    s = power_of_two_scale(X)
    Z = X / s
    m = w @ Z
    Z = Z - m
    C = (Z * w[:, None]).T @ Z
    e = 2 * round(math.log2(s))
    if reg > 0:
        er = math.frexp(reg)[1]
        E = max(e, er + er % 2)
        C = np.ldexp(C, e - E)
        C[np.diag_indices_from(C)] += math.ldexp(reg, -E)
        e = E
    C = as_spd(C, f"the covariance of {name} (plus reg * I; increase reg if it is singular)")
    return m * s, C, e


def empirical_gaussian_map(
    X: Any, Y: Any, *, a: Any = None, b: Any = None, reg: float = 1e-6
) -> GaussianMap:
    r"""The Gaussian (linear Monge) map fitted to two weighted samples.

    :func:`gaussian_map` between :math:`\mathcal N(m_X, \Sigma_X + \lambda I)`
    and :math:`\mathcal N(m_Y, \Sigma_Y + \lambda I)`, with the weighted means
    and *biased* weighted covariances (:math:`\Sigma_X = \sum_i a_i (x_i -
    m_X)(x_i - m_X)^T`) and :math:`\lambda` = ``reg``: POT's
    ``ot.gaussian.empirical_bures_wasserstein_mapping(X, Y, reg, a, b)``
    (``bias=True``). The pushforward of the fitted source Gaussian is the
    fitted target Gaussian.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Source sample.
    Y : array_like, shape (m, d)
        Target sample.
    a, b : array_like, optional
        Weights of the samples: non-negative, summing to one; None or empty
        means uniform.
    reg : float, default 1e-6
        :math:`\lambda \ge 0` added to both covariances, in the units of the
        covariances (POT's default; it keeps samples with fewer than
        :math:`d + 1` distinct points usable).

    Returns
    -------
    GaussianMap

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, bad weights, ``reg < 0``, a
        singular regularised covariance (``reg = 0`` with a degenerate
        sample), or a map above the float64 range. Moments are computed on
        the samples divided by a power of two, so any finite coordinates work.

    See Also
    --------
    gaussian_map

    References
    ----------
    .. [1] R. Flamary, K. Lounici, A. Ferrari, "Concentration bounds for linear
       Monge mapping estimation and optimal transport domain adaptation",
       arXiv:1905.10155, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import empirical_gaussian_map
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> T = empirical_gaussian_map(X, 3.0 * X + 1.0, reg=0.0)
    >>> np.allclose(T.apply(X), 3.0 * X + 1.0)
    True
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    wa = transport_weights(a, X.shape[0], "a")
    wb = transport_weights(b, Y.shape[0], "b")
    reg = check_real(reg, "reg", low=0.0)
    m1, P, eP = _moments(X, wa, reg, "X")
    m2, Q, eQ = _moments(Y, wb, reg, "Y")
    return _map_from(m1, _monge_linear(P, eP, Q, eQ), m2)
