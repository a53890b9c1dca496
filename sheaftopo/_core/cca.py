r"""Canonical correlation analysis: the one implementation.

Holds the steps of CCA between two paired data sets ``X`` (N × d_x) and ``Y``
(N × d_y): one scaling, one relative ridge, two whitening factorisations (the
data's SVD where an orthonormal basis is needed, the covariance's
eigendecomposition where only the whitening map is), one canonical SVD:

* :func:`center_and_scale`: centre and divide by powers of two (exact), so
  that no square over- or underflows whatever the magnitude of the data;
* :func:`ridge_svd`: the thin SVD of the centred data with the ridge rows
  :math:`\sqrt{N\lambda}\, I` appended, :math:`\lambda = \mathrm{reg} \cdot
  \operatorname{tr}\hat\Sigma / d` (reg times the mean eigenvalue of the
  sample covariance); ``U[:N] * sqrt(N)`` are whitened coordinates and the
  squared singular values over N the eigenvalues of :math:`\hat\Sigma +
  \lambda I`, without forming the covariance (whose condition number is
  the square of the data's);
* :func:`column_space` (rank-truncated, for the subspace decomposition: an
  orthonormal basis of the data's column space, from which the canonical
  correlations are cosines of principal angles) and :func:`whiten` (full rank
  required, the symmetric :math:`\Sigma^{-1/2}` for learned restriction maps,
  from the eigendecomposition of :math:`\hat\Sigma + \lambda I` with the
  same ridge: a BLAS-3 product, 2-6 times faster than the SVD of tall data
  (N 2,000-20,000, d 32-64, measured 2026-12-03 on the 2-core CI machine by
  timing fit_restriction_maps both ways), at the cost of accuracy of order
  :math:`\varepsilon \operatorname{cond}(\Sigma)`
  instead of :math:`\varepsilon \operatorname{cond}(\Sigma)^{1/2}`);
* :func:`canonical_svd`: the canonical correlations and directions, the SVD
  of the whitened cross product, and :func:`signed_svd`, the same with a
  deterministic sign per canonical pair.

Used by :mod:`sheaftopo.sheaf` (``fit_restriction_maps``, ``learn_sheaf``)
and :mod:`sheaftopo.fiber` (``subspace_decomposition``); the report reaches it
through their public functions.

References
----------
.. [1] H. Hotelling, "Relations between two sets of variates", Biometrika 28
   (1936) 321-377.
.. [2] A. Björck, G. H. Golub, "Numerical methods for computing angles
   between linear subspaces", Math. Comp. 27 (1973) 579-594.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "canonical_svd",
    "center_and_scale",
    "column_space",
    "ridge_svd",
    "signed_svd",
    "whiten",
]

_EPS = float(np.finfo(np.float64).eps)


def _exponents(top: np.ndarray) -> np.ndarray:
    """``e`` with ``top / 2**e`` in [0.5, 1) (0 where ``top`` is 0), elementwise."""
    return np.where(top > 0, np.frexp(top)[1], 0)


def center_and_scale(
    X: np.ndarray, center: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centre data sets and divide them by powers of two (exact).

    Parameters
    ----------
    X : ndarray of shape (..., N, d), float64
        Finite data sets, ``N`` samples of ``d`` features each (a leading
        batch shape is allowed).
    center : bool
        Subtract the column means; if False only scale.

    Returns
    -------
    Xc : ndarray of shape (..., N, d)
        The (centred) data divided by ``2**exponent``: its largest entry is in
        [0.5, 1), or it is all zero.
    mean : ndarray of shape (..., d)
        The column means in the original scale (zeros if ``center=False``).
    exponent : ndarray of shape (...), int
        ``X - mean == Xc * 2**exponent`` up to the rounding of the centring.
    spread : ndarray of shape (...)
        ``max|X - mean|`` relative to ``2**e0``, the scale of ``X`` itself
        (in [0, 1)): centring a constant column leaves only the rounding error
        of its mean, of order ``eps * log2(N)`` here, and an exact 0 means
        every row is the same.
    """
    e0 = _exponents(np.abs(X).max(axis=(-2, -1), initial=0.0))
    Xs = np.ldexp(X, -e0[..., None, None])
    if center:
        mean_s = Xs.mean(axis=-2)
        Xs = Xs - mean_s[..., None, :]
        mean = np.ldexp(mean_s, e0[..., None])
    else:
        mean = np.zeros(X.shape[:-2] + X.shape[-1:])
    spread = np.abs(Xs).max(axis=(-2, -1), initial=0.0)
    e1 = _exponents(spread)
    return np.ldexp(Xs, -e1[..., None, None]), mean, e0 + e1, spread


def ridge_svd(Xc: np.ndarray, reg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Thin SVD of centred data with the ridge rows appended.

    Parameters
    ----------
    Xc : ndarray of shape (..., N, d)
        Centred data, scaled by :func:`center_and_scale`.
    reg : float >= 0
        Relative ridge: the rows :math:`a I` with :math:`a^2 = \mathrm{reg}
        \|X_c\|_F^2 / d` are appended, so that :math:`(X_a^\top X_a) / N =
        \hat\Sigma + \lambda I` with :math:`\lambda = \mathrm{reg} \cdot
        \operatorname{tr}\hat\Sigma / d`. None are appended when reg = 0.

    Returns
    -------
    U : ndarray of shape (..., N + d, r) (N rows when reg = 0)
        Orthonormal columns, ``r = min(rows, d)``; only the first N rows meet
        another data set in a cross product.
    s : ndarray of shape (..., r)
        Singular values, descending.
    Vt : ndarray of shape (..., r, d)
    """
    if reg > 0:
        d = Xc.shape[-1]
        total = np.einsum("...ij,...ij->...", Xc, Xc)
        aug = np.sqrt(reg) * np.sqrt(total / d)
        ridge = np.eye(d) * np.asarray(aug)[..., None, None]  # (..., d, d)
        Xc = np.concatenate([Xc, ridge], axis=-2)
    return np.linalg.svd(Xc, full_matrices=False)


def column_space(Xc: np.ndarray, reg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, s, Vt) of :func:`ridge_svd` for one data set, truncated to its numerical rank.

    Singular values at most ``max(rows, d) * eps * s[0]`` are dropped (the
    rank decision of ``numpy.linalg.matrix_rank``).

    Parameters
    ----------
    Xc : ndarray of shape (N, d)
    reg : float >= 0

    Returns
    -------
    U : ndarray of shape (rows, r)
    s : ndarray of shape (r,)
    Vt : ndarray of shape (r, d)
        ``rows`` is N + d when reg > 0 and N otherwise; r is the rank.
    """
    U, s, Vt = ridge_svd(Xc, reg)
    rows = Xc.shape[0] + (Xc.shape[1] if reg > 0 else 0)
    tol = max(rows, Xc.shape[1]) * _EPS * (s[0] if s.size else 0.0)
    r = int((s > tol).sum())
    return U[:, :r], s[:r], Vt[:r]


def whiten(
    X: np.ndarray, reg: float, center: bool, describe: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Batched whitening of a stack of data sets by the symmetric :math:`\Sigma^{-1/2}`.

    Parameters
    ----------
    X : ndarray of shape (b, N, d), float64
        ``b`` finite data sets of the same shape.
    reg : float >= 0
        Relative ridge, as in :func:`ridge_svd`.
    center : bool
        Centre the data (covariances) or use raw second moments.
    describe : callable (int) -> str
        Names data set ``i`` in error messages.

    Returns
    -------
    mean : ndarray of shape (b, d)
    W : ndarray of shape (b, d, d)
        :math:`\Sigma^{-1/2}` (symmetric), :math:`\Sigma = \hat\Sigma + \lambda I`.
    Z : ndarray of shape (b, N, d)
        ``(X - mean) W`` divided by the data's power-of-two scale (so
        ``Z^T Z / N = W Σ̂ W`` up to that scale); its columns have unit
        variance, in any units.

    Raises
    ------
    ValueError
        A constant data set; a singular covariance (smallest eigenvalue of
        :math:`\Sigma` at most ``d * eps`` times the largest) with reg = 0 or
        too small; a spread so small that :math:`\Sigma^{-1/2}` overflows.
    """
    _, N, d = X.shape
    Xs, mean, exponent, spread = center_and_scale(X, center)
    # centring a constant column leaves the rounding error of its mean, about
    # eps * log2(N) of its magnitude (which is in [0.5, 1) here): that is no variation
    noise = 8 * _EPS * max(1.0, float(np.log2(N))) if center else 0.0
    flat = spread <= noise
    if flat.any():
        i = int(np.flatnonzero(flat)[0])
        what = "is constant (up to rounding)" if center else "is identically zero"
        raise ValueError(f"{describe(i)} {what}: its covariance is zero, nothing can be learned")
    # the covariance and its eigendecomposition: one BLAS-3 product, far faster on
    # tall data than a Householder factorisation of the data (ridge_svd), whose
    # accuracy the maps do not need at the conditioning theory/sheaf-learned-maps.md
    # validates (errors grow like eps * cond(Sigma), see its "Numerical accuracy")
    S = np.matmul(Xs.transpose(0, 2, 1), Xs) / N
    S = (S + S.transpose(0, 2, 1)) / 2
    lam = reg * np.trace(S, axis1=1, axis2=2) / d  # reg times the mean eigenvalue
    diag = np.arange(d)
    S[:, diag, diag] += lam[:, None]
    w, Q = np.linalg.eigh(S)
    singular = w[:, 0] <= d * _EPS * w[:, -1]
    if singular.any():
        i = int(np.flatnonzero(singular)[0])
        cond = "N <= d" if N - int(center) < d else "linearly dependent features"
        raise ValueError(
            f"{describe(i)} has a singular covariance (eigenvalues from {w[i, 0]:.3g} to "
            f"{w[i, -1]:.3g} after scaling by max|x|; N = {N}, d = {d}: {cond}?); pass "
            f"reg > 0 (got reg={reg:g}) or reduce the dimension"
        )
    Ws = np.matmul(Q * (1.0 / np.sqrt(w))[:, None, :], Q.transpose(0, 2, 1))
    Z = np.matmul(Xs, Ws)
    with np.errstate(over="ignore", under="ignore"):
        W = np.ldexp(Ws, -exponent[:, None, None])  # the inverse of the data's spread
    if not np.isfinite(W).all():
        i = int(np.flatnonzero(~np.isfinite(W).all(axis=(1, 2)))[0])
        raise ValueError(
            f"{describe(i)} varies too little (spread about "
            f"{float(np.ldexp(1.0, int(exponent[i]))):.3g}): the "
            "whitening map, about 1 / spread, overflows float64; rescale the data"
        )
    return mean, W, Z


def canonical_svd(Ux: np.ndarray, Uy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical correlations and directions of two orthonormal column bases.

    Parameters
    ----------
    Ux : ndarray of shape (N, r_x)
    Uy : ndarray of shape (N, r_y)
        The first N rows of :func:`column_space` bases of two paired data sets.

    Returns
    -------
    P : ndarray of shape (r_x, r)
        Canonical directions in ``Ux``'s coordinates (columns).
    rho : ndarray of shape (r,)
        Canonical correlations, descending, clipped to [0, 1]; r = min(r_x, r_y).
    Rt : ndarray of shape (r, r_y)
        Canonical directions in ``Uy``'s coordinates (rows).
    """
    P, rho, Rt = np.linalg.svd(Ux.T @ Uy, full_matrices=False)
    return P, np.clip(rho, 0.0, 1.0), Rt


def signed_svd(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched thin SVD with a deterministic sign per singular pair.

    Each left singular vector is flipped so that its entry of largest modulus is
    positive; its right partner is flipped with it (M is unchanged).

    Parameters
    ----------
    M : ndarray of shape (g, m, n)
        Whitened cross-covariances, one per pair of data sets.

    Returns
    -------
    U : ndarray of shape (g, m, r)
    s : ndarray of shape (g, r)
    Vh : ndarray of shape (g, r, n)
    """
    U, s, Vh = np.linalg.svd(M, full_matrices=False)
    big = np.argmax(np.abs(U), axis=1)  # (g, r)
    sign = np.sign(np.take_along_axis(U, big[:, None, :], axis=1))[:, 0, :]
    sign[sign == 0] = 1.0
    U = U * sign[:, None, :]
    Vh = Vh * sign[:, :, None]
    return U, s, Vh
