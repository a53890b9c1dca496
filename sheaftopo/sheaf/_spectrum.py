"""The low end of a sheaf Laplacian's spectrum."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_random_state, check_real
from ._operators import _check_sheaf, _edge_weights, laplacian_scaled, unscale
from ._solvers import DENSE_MAX, KERNEL_TOL, block_jacobi, low_spectrum

__all__ = ["SheafSpectrum", "spectrum"]


@dataclass(frozen=True, eq=False)
class SheafSpectrum:
    """The k smallest eigenpairs of a sheaf Laplacian.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        Ascending.
    eigenvectors : ndarray, shape (dim_c0, k)
        Orthonormal columns.
    lambda_max : float
        Largest eigenvalue of the Laplacian (the scale of ``tol``).
    tol : float
        Eigenvalues at most ``tol * lambda_max`` count as zero (the package's one
        kernel rule, shared with :func:`global_sections` and
        :func:`cohomology_dimensions`).
    residuals : ndarray, shape (k,)
        ``|L v - lambda v|`` of every pair (about 1e-12 for dense solves).
    zero_count : int
        How many of the computed eigenvalues are zero by that rule: dim H^0 if it
        is < k. Decided before the eigenvalues are scaled back to the sheaf's
        magnitude, so it stays right when they underflow (maps near 1e-200).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    lambda_max: float
    tol: float
    residuals: np.ndarray
    zero_count: int = -1

    def __post_init__(self) -> None:
        if self.zero_count < 0:
            count = int((self.eigenvalues <= self.tol * self.lambda_max).sum())
            object.__setattr__(self, "zero_count", count)

    @property
    def spectral_gap(self) -> float:
        """The smallest nonzero eigenvalue (ValueError if all k computed ones are zero)."""
        if self.zero_count >= len(self.eigenvalues):
            raise ValueError(
                f"all {len(self.eigenvalues)} computed eigenvalues are zero; ask for more "
                "(k > dim H^0) to see the gap"
            )
        return float(self.eigenvalues[self.zero_count])


def spectrum(
    sheaf: Any,
    k: int = 10,
    *,
    weights: Any = None,
    normalized: bool = False,
    tol: float = KERNEL_TOL,
    method: str = "auto",
    seed: Any = 0,
    maxiter: int = 2000,
) -> SheafSpectrum:
    """The k smallest eigenvalues and eigenvectors of the sheaf Laplacian.

    Parameters
    ----------
    sheaf : CellularSheaf
    k : int
        How many, 1 <= k <= dim_c0.
    weights, normalized
        Which Laplacian (see :func:`laplacian`).
    tol : float
        Relative threshold for calling an eigenvalue zero: at most
        ``tol * lambda_max`` (default 1e-10, the package's one kernel tolerance).
    method : {"auto", "dense", "lobpcg"}
        Dense ``eigh`` (dim C^0 <= 3000 under "auto") or LOBPCG with a
        block-Jacobi preconditioner and seeded random start (no dense
        matrix); LOBPCG's residuals are reported, and a ``RuntimeWarning``
        is raised when they exceed 1e-6 * lambda_max.
    seed, maxiter
        LOBPCG start and iteration cap.

    Returns
    -------
    SheafSpectrum

    Notes
    -----
    The eigenvalues are homogeneous (degree 2 in the restriction maps, 1 in
    the weights): they are computed on maps and weights rescaled by powers of
    two and scaled back exactly, so maps near 1e±200 neither overflow nor
    lose precision; a ``ValueError`` says so when the eigenvalues themselves
    exceed float64's range.

    Examples
    --------
    >>> import networkx as nx
    >>> from sheaftopo.sheaf import CellularSheaf, spectrum
    >>> s = spectrum(CellularSheaf.constant(nx.cycle_graph(6), 1), 3)
    >>> s.eigenvalues.round(6), s.spectral_gap.__round__(6)
    (array([0., 1., 1.]), 1.0)
    """
    sheaf = _check_sheaf(sheaf)
    w = _edge_weights(sheaf, weights)
    k = check_int(k, "k", minimum=1, maximum=max(sheaf.dim_c0, 1))
    tol = check_real(tol, "tol", low=0.0, high=1.0)
    method = check_choice(method, "method", ("auto", "dense", "lobpcg"))
    maxiter = check_int(maxiter, "maxiter", minimum=1)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool; got {type(normalized).__name__}")
    rng = check_random_state(seed)
    if sheaf.dim_c0 == 0:
        return SheafSpectrum(np.zeros(0), np.zeros((0, 0)), 0.0, tol, np.zeros(0), 0)
    L, e = laplacian_scaled(sheaf, w, bool(normalized))
    if method == "auto":
        method = "dense" if sheaf.dim_c0 <= DENSE_MAX or k * 5 >= sheaf.dim_c0 else "lobpcg"
    M = block_jacobi(sheaf, w) if method == "lobpcg" and not normalized else None
    lam, V, lmax, res = low_spectrum(L, k, method=method, M=M, rng=rng, maxiter=maxiter)
    if method != "dense" and (res > 1e-6 * max(lmax, 1e-300)).any():
        warnings.warn(
            f"LOBPCG stopped with residuals up to {res.max():.3g} (lambda_max {lmax:.3g}, "
            "rescaled); the eigenpairs are approximate: raise maxiter or use method='dense'",
            RuntimeWarning,
            stacklevel=2,
        )
    zero = int((lam <= tol * lmax).sum())
    scale = [unscale(a, e, "the spectrum", sheaf, w) for a in (lam, np.array([lmax]), res)]
    return SheafSpectrum(scale[0], V, float(scale[1][0]), tol, scale[2], zero)
