"""Covariance shrinkage towards a multiple of the identity: the choice and the intensities.

Holds the check of a ``shrinkage`` argument and the Ledoit–Wolf / OAS shrinkage
intensities of a batch of sample covariances. Used by
:mod:`sheaftopo.geometry` (``covariance``, ``local_covariances``,
``local_alignment``) and by :mod:`sheaftopo.torch` (the differentiable local
covariances, which take the intensities from here so that both agree exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice, check_real

__all__ = ["SHRINKAGES", "check_shrinkage", "shrinkage_coefficients"]

#: The named shrinkage estimators; a float in [0, 1] is a fixed intensity.
SHRINKAGES = ("ledoit_wolf", "oas")


def check_shrinkage(shrinkage: Any) -> str | float | None:
    """A ``shrinkage`` argument: None, one of :data:`SHRINKAGES`, or a float in [0, 1].

    Parameters
    ----------
    shrinkage : None, str or float
        The value to check.

    Returns
    -------
    shrinkage : None, str or float
        The checked value (a float when a real number was given).
    """
    if shrinkage is None:
        return None
    if isinstance(shrinkage, str):
        return check_choice(shrinkage, "shrinkage", SHRINKAGES)
    return check_real(shrinkage, "shrinkage", low=0.0, high=1.0)


def shrinkage_coefficients(Xc: np.ndarray, emp: np.ndarray, shrinkage: str | float) -> np.ndarray:
    r"""Shrinkage intensities of a batch of sample covariances.

    Parameters
    ----------
    Xc : ndarray of shape (B, s, d)
        Centred samples, ``s`` samples of dimension ``d`` per batch entry.
    emp : ndarray of shape (B, d, d)
        Their maximum-likelihood covariances ``Xc^T Xc / s``.
    shrinkage : str or float
        A checked value of :func:`check_shrinkage` (not None).

    Returns
    -------
    coef : ndarray of shape (B,)
        The intensities :math:`\rho` of :math:`(1 - \rho) S + \rho\,
        (\operatorname{tr} S / d)\, I`.

    References
    ----------
    O. Ledoit and M. Wolf, "A well-conditioned estimator for large-dimensional
    covariance matrices", J. Multivariate Anal. 88 (2004); Y. Chen, A. Wiesel,
    Y. C. Eldar and A. O. Hero, "Shrinkage algorithms for MMSE covariance
    estimation", IEEE Trans. Signal Process. 58 (2010). Both in scikit-learn's
    form (``ledoit_wolf_shrinkage``, ``oas``).
    """
    B, s, d = Xc.shape
    if isinstance(shrinkage, float):
        return np.full(B, shrinkage)
    mu = np.trace(emp, axis1=1, axis2=2) / d
    frob2 = np.einsum("bij,bij->b", emp, emp)  # ||emp||_F^2
    if shrinkage == "ledoit_wolf":
        # Ledoit & Wolf (2004), in scikit-learn's form (ledoit_wolf_shrinkage)
        sq = np.einsum("bsi,bsi->bs", Xc, Xc)
        beta_ = np.einsum("bs,bs->b", sq, sq)  # sum_s ||x_s||^4
        beta = (beta_ / s - frob2) / (d * s)
        delta = (frob2 - d * mu**2) / d  # ||emp - mu I||_F^2 / d
        beta = np.minimum(beta, delta)
        return np.where(beta > 0, beta / np.where(delta > 0, delta, 1.0), 0.0)
    # Chen, Wiesel, Eldar & Hero (2010), in scikit-learn's form (oas)
    alpha = frob2 / d**2
    num = alpha + mu**2
    den = (s + 1) * (alpha - mu**2 / d)
    return np.where(den == 0, 1.0, np.minimum(num / np.where(den == 0, 1.0, den), 1.0))
