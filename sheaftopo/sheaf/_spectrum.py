"""The low end of a sheaf Laplacian's spectrum."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_random_state, check_real
from ._operators import _check_sheaf, as_weights, laplacian
from ._solvers import DENSE_MAX, BlockOperator, block_jacobi, lambda_max

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
        Eigenvalues at most ``tol * lambda_max`` count as zero.
    residuals : ndarray, shape (k,)
        ``|L v - lambda v|`` of every pair (about 1e-12 for dense solves).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    lambda_max: float
    tol: float
    residuals: np.ndarray

    @property
    def zero_count(self) -> int:
        """How many of the computed eigenvalues are zero: dim H^0 if it is < k."""
        return int((self.eigenvalues <= self.tol * self.lambda_max).sum())

    @property
    def spectral_gap(self) -> float:
        """The smallest nonzero eigenvalue (ValueError if all k computed ones are zero)."""
        nz = self.eigenvalues[self.eigenvalues > self.tol * self.lambda_max]
        if len(nz) == 0:
            raise ValueError(
                f"all {len(self.eigenvalues)} computed eigenvalues are zero; ask for more "
                "(k > dim H^0) to see the gap"
            )
        return float(nz[0])


def spectrum(
    sheaf: Any,
    k: int = 10,
    *,
    weights: Any = None,
    normalized: bool = False,
    tol: float = 1e-10,
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
        Relative threshold for calling an eigenvalue zero.
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

    Examples
    --------
    >>> import networkx as nx
    >>> from sheaftopo.sheaf import CellularSheaf, spectrum
    >>> s = spectrum(CellularSheaf.constant(nx.cycle_graph(6), 1), 3)
    >>> s.eigenvalues.round(6), s.spectral_gap.__round__(6)
    (array([0., 1., 1.]), 1.0)
    """
    sheaf = _check_sheaf(sheaf)
    w = as_weights(sheaf, weights)
    k = check_int(k, "k", minimum=1, maximum=max(sheaf.dim_c0, 1))
    tol = check_real(tol, "tol", low=0.0, high=1.0)
    method = check_choice(method, "method", ("auto", "dense", "lobpcg"))
    maxiter = check_int(maxiter, "maxiter", minimum=1)
    rng = check_random_state(seed)
    L = laplacian(sheaf, weights=w, normalized=normalized)
    if method == "auto":
        method = "dense" if sheaf.dim_c0 <= DENSE_MAX or k * 5 >= sheaf.dim_c0 else "lobpcg"
    if method == "dense":
        lam, V = np.linalg.eigh(L.toarray())
        lmax = float(lam[-1])
        lam, V = lam[:k], V[:, :k]
    else:
        from scipy.sparse.linalg import lobpcg

        lmax = lambda_max(L)
        M = block_jacobi(sheaf, w) if not normalized else None
        X0 = rng.standard_normal((sheaf.dim_c0, k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            lam, V = lobpcg(BlockOperator(L).linear_operator(), X0, M=M, largest=False,
                            tol=1e-9 * max(lmax, 1.0), maxiter=maxiter)
        order = np.argsort(lam)
        lam, V = lam[order], V[:, order]
    lam = np.maximum(lam, 0.0)
    res = np.linalg.norm(L @ V - V * lam, axis=0)
    if method != "dense" and (res > 1e-6 * max(lmax, 1e-300)).any():
        warnings.warn(
            f"LOBPCG stopped with residuals up to {res.max():.3g} (lambda_max {lmax:.3g}); "
            "the eigenpairs are approximate: raise maxiter or use method='dense'",
            RuntimeWarning,
            stacklevel=2,
        )
    return SheafSpectrum(lam, np.ascontiguousarray(V), lmax, tol, res)
