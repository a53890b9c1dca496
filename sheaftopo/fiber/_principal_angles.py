"""Principal angles between subspaces (Björck–Golub, in the Knyazev–Argentati
form that is accurate for small and large angles alike), and the angles whose
cosines are the canonical correlations of :func:`~sheaftopo.fiber.subspace_decomposition`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_points
from ._numeric import exponent_of

__all__ = ["principal_angles"]


def principal_angles(A: Any, B: Any) -> np.ndarray:
    r"""Principal angles between the column spaces of A and B, ascending, in radians.

    Both bases are orthonormalised (rank-revealing SVD, after an exact
    power-of-two rescaling of each, so any finite magnitude works). The
    cosines are the singular values of :math:`Q_A^\top Q_B`, the sines those
    of :math:`(I - Q_A Q_A^\top) Q_B`; angles below π/4 are taken from their
    sines (arcsin) and the others from their cosines (arccos), so every angle
    is accurate to about 1e-15 radians, tiny ones included (Björck–Golub,
    Knyazev–Argentati; the algorithm of :func:`scipy.linalg.subspace_angles`).
    Identical column spaces give angles of about 1e-16, not the
    :math:`\sqrt{2 \cdot 2^{-53}} \approx 10^{-8}` of an arccos.

    Parameters
    ----------
    A : array_like, shape (d, p)
    B : array_like, shape (d, q)

    Returns
    -------
    ndarray, shape (min(rank A, rank B),)

    References
    ----------
    .. [1] A. Björck, G. H. Golub, "Numerical methods for computing angles
       between linear subspaces", Math. Comp. 27 (1973).
    .. [2] A. V. Knyazev, M. E. Argentati, "Principal angles between subspaces
       in an A-based scalar product", SIAM J. Sci. Comput. 23(6), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import principal_angles
    >>> A = np.eye(3)[:, :2]                       # the xy-plane
    >>> B = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> np.degrees(principal_angles(A, B)).round(6)
    array([ 0., 45.])
    """
    Av = as_points(A, "A")
    Bv = as_points(B, "B")
    if Av.shape[0] != Bv.shape[0]:
        raise ValueError(
            f"A and B must have the same number of rows (the ambient dimension); got shapes "
            f"{Av.shape} and {Bv.shape}"
        )
    A64 = np.asarray(Av, np.float64)
    B64 = np.asarray(Bv, np.float64)
    # the column space does not depend on the scale: normalise it away (exactly)
    return _angles(
        _orth_columns(np.ldexp(A64, -exponent_of(A64))),
        _orth_columns(np.ldexp(B64, -exponent_of(B64))),
    )


def _angles(Qa: np.ndarray, Qb: np.ndarray) -> np.ndarray:
    """Principal angles between orthonormal bases, ascending (Knyazev–Argentati).

    Cosines from the SVD of ``Qa^T Qb``, sines from the SVD of the residual
    ``Qb - Qa (Qa^T Qb)`` of the narrower basis; an angle whose cosine is at
    least 1/√2 (below π/4) is the arcsin of its sine, the others the arccos of
    their cosine: each formula is used where it is well conditioned.
    """
    if Qa.shape[1] == 0 or Qb.shape[1] == 0:
        return np.empty(0)
    if Qa.shape[1] < Qb.shape[1]:
        Qa, Qb = Qb, Qa
    C = Qa.T @ Qb
    cos = np.linalg.svd(C, compute_uv=False)  # descending: angles ascending
    sin = np.linalg.svd(Qb - Qa @ C, compute_uv=False)[::-1]  # ascending
    small = cos**2 >= 0.5
    theta = np.where(small, np.arcsin(np.clip(sin, 0.0, 1.0)), np.arccos(np.clip(cos, 0.0, 1.0)))
    return np.sort(theta)


def _correlation_angles(Ux: np.ndarray, Uy: np.ndarray, n: int) -> np.ndarray:
    """The principal angles whose cosines are the canonical correlations, ascending.

    ``Ux`` (n + a rows) and ``Uy`` (n + b rows) are orthonormal; only their
    first n rows meet in the cross product (the other a, b rows are the ridge
    augmentation, absent when reg = 0). Placing them in one space of
    dimension n + a + b as ``[top; bottom; 0]`` and ``[top; 0; bottom]``
    keeps them orthonormal with cross product ``Ux[:n]^T Uy[:n]``, so their
    principal angles are exactly the arccos of the (ridge) canonical
    correlations, computed stably by :func:`_angles`.
    """
    a, b = Ux.shape[0] - n, Uy.shape[0] - n
    Qa = np.vstack([Ux, np.zeros((b, Ux.shape[1]))])
    Qb = np.vstack([Uy[:n], np.zeros((a, Uy.shape[1])), Uy[n:]])
    return _angles(Qa, Qb)


def _orth_columns(L: np.ndarray) -> np.ndarray:
    if L.shape[1] == 0:
        return np.zeros((L.shape[0], 0))
    U, s, _ = np.linalg.svd(L, full_matrices=False)
    tol = max(L.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    return U[:, : int((s > tol).sum())]
