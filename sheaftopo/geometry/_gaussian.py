"""The closed-form 2-Wasserstein (Bures–Wasserstein) distance between Gaussians."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    as_float_array,
)
from ._checks import (
    as_spd,
    broadcast_batch,
    cloud_scale,
)
from ._spd_linalg import _bures_distance, _result

__all__ = ["gaussian_wasserstein"]


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
