"""Sheaf diffusion: the heat flow exp(-tL) and its explicit Euler discretisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_int, check_real
from ._operators import (
    _check_sheaf,
    _edge_weights,
    _exponent,
    as_cochain,
    laplacian_scaled,
    unscale,
)
from ._sheaf import CellularSheaf
from ._solvers import DENSE_MAX, lambda_max

__all__ = ["diffuse", "diffusion_steps"]

#: expm_multiply is used while t * ||L||_1 stays below this (its cost grows with it)
_EXPM_NORM_MAX = 200.0
#: explicit steps beyond this many multiply-adds are refused (sheaves too large for eigh)
_WORK_MAX = 2e9


def _flow(sheaf: CellularSheaf, x: Any, name: str, weights: Any, normalized: Any) -> tuple:
    """Validated (rescaled cochains, exponent, restore, rescaled L, its exponent, weights)."""
    sheaf = _check_sheaf(sheaf)
    X, restore = as_cochain(sheaf, x, name)
    w = _edge_weights(sheaf, weights)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool; got {type(normalized).__name__}")
    L, e = laplacian_scaled(sheaf, w, bool(normalized))
    ex = _exponent(X)
    return np.ldexp(X, -ex), ex, restore, L, e, w


def _spectral(L: Any, X: np.ndarray, factor: Any) -> np.ndarray:
    """``V f(lambda) V^T X`` by dense eigh, eigenvalues below its rounding noise
    (``dim * eps * lambda_max``) taken as exactly zero; ``factor(lam)`` with lam >= 0."""
    lam, V = np.linalg.eigh(L.toarray())
    lmax = max(float(lam[-1]), 0.0)
    zero = lam <= L.shape[0] * np.finfo(float).eps * lmax
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        f = np.where(zero, 1.0, factor(np.where(zero, 1.0, lam)))
    return V @ (f[:, None] * (V.T @ X))


def diffuse(
    sheaf: CellularSheaf,
    x0: Any,
    t: float,
    *,
    weights: Any = None,
    normalized: bool = False,
) -> np.ndarray:
    r"""Heat diffusion :math:`x(t) = e^{-tL} x_0`.

    As :math:`t \to \infty` it converges to the orthogonal projection of
    :math:`x_0` onto :math:`H^0` (``theory/sheaf-diffusion.md``), at rate
    :math:`e^{-t\lambda}` with λ the spectral gap.

    Short times use scipy's ``expm_multiply`` (sparse). Once
    :math:`t\|L\|_1` exceeds 200, sheaves with dim C^0 <= 3000 are diffused
    exactly through the eigendecomposition of L (eigenvalues below its
    rounding noise, dim·eps·λ_max, are exactly zero), for any finite t;
    larger sheaves raise a ``ValueError`` naming ``t`` (``expm_multiply``
    would need about :math:`t\|L\|_1` sparse products; the long-time limit
    is :func:`project_to_sections`). The flow is linear in x0 and depends on
    the maps only through tL: both are rescaled by powers of two first.

    Parameters
    ----------
    x0 : array_like, shape (dim_c0,), (dim_c0, k) or (n_vertices, d)
    t : float
        Time, finite and >= 0.
    weights, normalized
        Which Laplacian (see :func:`laplacian`).

    Returns
    -------
    ndarray, same shape as ``x0`` (a new array)

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, diffuse
    >>> F = CellularSheaf.constant([[0, 1]], 1)
    >>> diffuse(F, np.array([1.0, 0.0]), 50.0).round(12)
    array([0.5, 0.5])
    >>> diffuse(F, np.array([1.0, 0.0]), 1e300)
    array([0.5, 0.5])
    """
    from scipy.sparse.linalg import expm_multiply

    t = check_real(t, "t", low=0.0)
    X, ex, restore, L, e, w = _flow(sheaf, x0, "x0", weights, normalized)
    with np.errstate(over="ignore"):  # t * 2**e may be inf: then every nonzero mode is gone
        teff = float(np.ldexp(t, e)) if t else 0.0  # exp(-t L) = exp(-teff L_s)
        norm1 = float(abs(L).sum(axis=0).max(initial=0.0)) if L.nnz else 0.0
        work = teff * norm1
    if teff == 0 or norm1 == 0 or X.size == 0:
        Y = X.copy()
    elif work <= _EXPM_NORM_MAX:
        Y = expm_multiply(-teff * L, X)
    elif sheaf.dim_c0 <= DENSE_MAX:
        with np.errstate(over="ignore", under="ignore"):
            Y = _spectral(L, X, lambda lam: np.exp(-teff * lam))
    else:
        raise ValueError(
            f"t={t!r} is too long for a sheaf this large (dim C^0 = {sheaf.dim_c0} > "
            f"{DENSE_MAX}): t * ||L||_1 = {work:.3g} would need about that many sparse "
            f"products; use t with t * ||L||_1 <= {_EXPM_NORM_MAX:g}, or project_to_sections "
            "for the t -> infinity limit"
        )
    return restore(unscale(Y, ex, "the diffused cochain", sheaf, w, " and in x0"))


def diffusion_steps(
    sheaf: CellularSheaf,
    x0: Any,
    *,
    n_steps: int,
    alpha: float | None = None,
    weights: Any = None,
    normalized: bool = False,
) -> np.ndarray:
    r"""Explicit diffusion :math:`x \leftarrow x - \alpha L x`, ``n_steps`` times.

    Converges to the projection of :math:`x_0` onto :math:`H^0` exactly when
    :math:`0 < \alpha < 2/\lambda_{\max}(L)` (every nonzero mode is then
    multiplied by :math:`|1 - \alpha\lambda| < 1` per step); a step size
    outside that range raises ``ValueError`` instead of diverging.

    The steps are run one by one while that is cheaper than an
    eigendecomposition; beyond, sheaves with dim C^0 <= 3000 get
    :math:`(I - \alpha L)^{n} x_0` exactly through the eigendecomposition
    of L (any ``n_steps``, 10**12 included), and larger sheaves whose steps
    would cost more than 2e9 multiply-adds raise a ``ValueError`` naming
    ``n_steps`` up front.

    Parameters
    ----------
    n_steps : int
        >= 0 (0 returns a copy of x0).
    alpha : float, optional
        Step size; default :math:`1/\lambda_{\max}`.

    Returns
    -------
    ndarray, same shape as ``x0`` (a new array)

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, diffusion_steps
    >>> F = CellularSheaf.constant([[0, 1]], 1)
    >>> diffusion_steps(F, np.array([1.0, 0.0]), n_steps=1, alpha=0.25)
    array([0.75, 0.25])
    """
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    X, ex, restore, L, e, w = _flow(sheaf, x0, "x0", weights, normalized)
    if alpha is not None:
        alpha = check_real(alpha, "alpha", low=0.0, low_inclusive=False)
    n, k = X.shape
    work = float(n_steps) * (L.nnz + n) * k
    spectral = n <= DENSE_MAX and work > 4.0 * n**3 + 1e6
    if not spectral and work > _WORK_MAX:  # refused before any work is done
        raise ValueError(
            f"n_steps={n_steps} is too many for a sheaf this large (dim C^0 = {n} > "
            f"{DENSE_MAX}, {L.nnz} Laplacian nonzeros, {k} cochain(s)): about {work:.3g} "
            f"multiply-adds (limit {_WORK_MAX:.3g}); use fewer steps, or diffuse() for the "
            "continuous flow"
        )
    lmax = lambda_max(L)  # of L_s = L / 2**e
    if alpha is None:
        aeff = 1.0 / lmax if lmax > 0 else 1.0
    else:
        with np.errstate(over="ignore"):
            aeff = float(np.ldexp(alpha, e))  # alpha L = aeff L_s
        if lmax > 0 and not aeff * lmax < 2.0:
            with np.errstate(over="ignore", under="ignore"):
                limit = np.ldexp(2.0 / lmax, -e)
            raise ValueError(
                f"alpha={alpha!r} is too large: explicit diffusion diverges unless "
                f"alpha < 2 / lambda_max = {limit:.6g}"
            )
    if n_steps == 0 or lmax == 0 or X.size == 0:
        Y = X.copy()
    elif spectral:
        with np.errstate(under="ignore"):
            Y = _spectral(L, X, lambda lam: np.power(1.0 - aeff * lam, float(n_steps)))
    else:
        Y = X
        for _ in range(n_steps):
            Y = Y - aeff * (L @ Y)
    return restore(unscale(Y, ex, "the diffused cochain", sheaf, w, " and in x0"))
