"""Sparse iterative solvers shared by the cohomology, diffusion and spectrum functions."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._core.kernels import kernel_loader
from ._layouts import CSRArrays, offsets
from ._maps import check_memory
from ._operators import _vertex_blocks_scaled, laplacian_scaled
from ._sheaf import CellularSheaf

_kernels = kernel_loader("sheaftopo.sheaf._assembly")

#: sheaves with at most this many 0-cochain coordinates are handled with dense eigh
DENSE_MAX = 3000

#: the iterative kernel's block exceeds the kernel dimension by at least this much
_MARGIN = 8

#: THE kernel tolerance of the package: an eigenvalue of a sheaf Laplacian counts as zero
#: (its eigenvector as a global section) iff it is at most ``KERNEL_TOL * lambda_max``.
#: Used, with the same meaning, by ``spectrum``, ``global_sections``,
#: ``cohomology_dimensions`` and ``harmonic_extension``, whichever method computes the
#: eigenvalues (dense ``eigh`` or LOBPCG).
KERNEL_TOL = 1e-10


class NotConvergedError(RuntimeError):
    """An iterative solver stopped before reaching its tolerance."""


def block_jacobi(sheaf: CellularSheaf, weights: np.ndarray | None = None) -> Any:
    """Sparse block-diagonal preconditioner ``(D_v + mu_v I)^{-1}``, D_v the blocks of the
    rescaled Laplacian (:func:`laplacian_scaled`; a preconditioner's scale is irrelevant).

    The shift mu_v = 1e-2 trace(D_v)/d_v (the mean trace(D_w)/d_w of the
    other vertices where D_v = 0) keeps every block well conditioned, so the
    preconditioner is symmetric positive definite and tame even at vertices
    whose maps kill a direction (an exact inverse there would amplify that
    direction without bound and stall the iteration).
    """
    import scipy.sparse as sp

    vd = sheaf.vertex_dims
    off = offsets(vd**2)
    D = _vertex_blocks_scaled(sheaf, weights)[0]
    inv = np.empty_like(D)
    # a vertex whose maps are all zero (isolated, or zero maps) has D_v = 0: it gets the
    # mean scale of the others instead of 1 / 1e-300, which overflowed LOBPCG's products
    tr = _mean_traces(D, vd, off)
    floor = float(tr[tr > 0].mean()) if (tr > 0).any() else 1.0
    for d in np.unique(vd):
        idx = np.flatnonzero(vd == d)
        pos = off[idx][:, None] + np.arange(d * d)[None, :]
        B = D[pos].reshape(len(idx), d, d)
        t = tr[idx]
        mu = np.where(t > 0, 1e-2 * t, floor)
        B = B + mu[:, None, None] * np.eye(d)
        inv[pos] = np.linalg.inv(B).reshape(len(idx), -1)
    rows = np.repeat(np.arange(sheaf.dim_c0), np.repeat(vd, vd))
    starts = np.repeat(sheaf.vertex_offsets[:-1], vd * vd)
    within = np.arange(int(off[-1])) - np.repeat(off[:-1], vd * vd)
    cols = starts + within % np.repeat(vd, vd * vd)
    return sp.csr_array((inv, (rows, cols)), shape=(sheaf.dim_c0, sheaf.dim_c0))


def _mean_traces(D: np.ndarray, vd: np.ndarray, off: np.ndarray) -> np.ndarray:
    """trace(D_v) / d_v of every flat vertex block."""
    out = np.empty(len(vd))
    for d in np.unique(vd):
        idx = np.flatnonzero(vd == d)
        pos = off[idx][:, None] + np.arange(d * d)[None, :]
        out[idx] = np.trace(D[pos].reshape(len(idx), d, d), axis1=1, axis2=2) / d
    return out


class BlockOperator:
    """A CSR matrix whose products with (n, k) blocks run in parallel (numba).

    scipy's sparse-times-dense product is single-threaded; for the blocks of
    vectors that conjugate gradients and LOBPCG multiply it is about twice
    slower on two cores. Single vectors still go through scipy.
    """

    def __init__(self, A: Any) -> None:
        self.A = A.tocsr()
        self.shape = A.shape
        self.dtype = np.dtype(np.float64)

    def __matmul__(self, X: np.ndarray) -> np.ndarray:
        if X.ndim == 2 and X.shape[1] > 1:
            out = np.empty((self.shape[0], X.shape[1]))
            _kernels().csr_matmat(
                CSRArrays(self.A.indptr, self.A.indices, self.A.data),
                np.ascontiguousarray(X, dtype=np.float64),
                out,
            )
            return out
        return self.A @ X

    def linear_operator(self) -> Any:
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(
            self.shape, matvec=lambda x: self.A @ x, matmat=lambda X: self @ X, dtype=np.float64
        )


def cg(
    A: Any,
    B: np.ndarray,
    *,
    M: Any = None,
    rtol: float = 1e-10,
    maxiter: int | None = None,
    atol: Any = 0.0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(Preconditioned) conjugate gradients on A X = B for all columns of B at once.

    A is symmetric positive semidefinite and every column of B must lie in
    its range (consistent systems); from X = 0 and without preconditioner the
    iterates stay in range(A), so X is the minimum-norm solution. Columns
    converge independently (vectorised over columns, one sparse product per
    iteration). A column is done when its residual is at most
    ``max(rtol |b|, atol)`` (``atol`` a number or one per column: the floor
    set by rounding when B = A X0 was itself computed, whose error has a
    part outside range(A) that no iterate can remove). Returns
    ``(X, relative residuals, iterations)``; raises :class:`NotConvergedError`
    when some column misses its target.
    """
    n, k = B.shape
    maxiter = 10 * n if maxiter is None else maxiter
    if not isinstance(A, BlockOperator):
        A = BlockOperator(A)
    X = np.zeros_like(B)
    R = B.copy()
    bnorm = np.linalg.norm(B, axis=0)
    target = np.maximum(rtol * bnorm, np.broadcast_to(np.asarray(atol, dtype=float), (k,)))
    active = bnorm > target
    Y = R if M is None else M @ R
    P = Y.copy()
    rz = np.einsum("ij,ij->j", R, Y)
    rel = np.zeros(k)
    it = 0
    while active.any() and it < maxiter:
        it += 1
        AP = A @ P
        pap = np.einsum("ij,ij->j", P, AP)
        ok = active & (pap > 0)
        alpha = np.where(ok, rz / np.where(ok, pap, 1.0), 0.0)
        X += alpha * P
        R -= alpha * AP
        rnorm = np.linalg.norm(R, axis=0)
        rel = rnorm / np.where(bnorm > 0, bnorm, 1.0)
        active = active & (rnorm > target) & (pap > 0)
        if not active.any():
            break
        Y = R if M is None else M @ R
        rz_new = np.einsum("ij,ij->j", R, Y)
        beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        P = Y + beta * P
        rz = rz_new
    if (rel * bnorm > target).any():
        raise NotConvergedError(
            f"conjugate gradients reached relative residual {rel.max():.3g} > rtol={rtol:g} "
            f"after {it} iterations; the Laplacian is too ill-conditioned for this budget "
            "(raise maxiter, or use a smaller/denser method)"
        )
    return X, rel, it


def lambda_max(L: Any) -> float:
    """Largest eigenvalue of a symmetric PSD sparse matrix (Lanczos, or dense when small)."""
    n = L.shape[0]
    if n == 0:
        return 0.0
    if n <= DENSE_MAX:
        return float(np.linalg.eigvalsh(L.toarray())[-1])
    from scipy.sparse.linalg import eigsh

    val = eigsh(L, k=1, which="LA", tol=1e-6, return_eigenvectors=False)
    return float(val[0])


def low_spectrum(
    L: Any,
    k: int,
    *,
    method: str,
    M: Any = None,
    rng: np.random.Generator | None = None,
    maxiter: int = 2000,
    rtol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """The k smallest eigenpairs of a symmetric PSD sparse matrix.

    ``method`` "dense" (``eigh``) or "lobpcg" (preconditioner M, residual tolerance
    ``rtol * lambda_max``). Returns ``(eigenvalues >= 0 ascending, eigenvectors,
    lambda_max, residuals |L v - lambda v|)``.
    """
    n = L.shape[0]
    if method == "dense":
        check_memory(3.0 * n * n, f"method='dense' on dim C^0 = {n} (a dense eigendecomposition)")
        lam, V = np.linalg.eigh(L.toarray())
        lmax = max(float(lam[-1]), 0.0) if n else 0.0
        lam, V = lam[:k], V[:, :k]
    else:
        from scipy.sparse.linalg import lobpcg

        lmax = lambda_max(L)
        if lmax == 0.0:  # L = 0: every vector is an eigenvector of 0
            lam, V = np.zeros(k), np.eye(n, k)
        else:
            rng = np.random.default_rng(0) if rng is None else rng
            X0 = rng.standard_normal((n, k))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                lam, V = lobpcg(
                    BlockOperator(L).linear_operator(),
                    X0,
                    M=M,
                    largest=False,
                    tol=rtol * lmax,
                    maxiter=maxiter,
                )
            order = np.argsort(lam)
            lam, V = lam[order], V[:, order]
    lam = np.maximum(lam, 0.0)
    res = np.linalg.norm(L @ V - V * lam, axis=0) if V.size else np.zeros(len(lam))
    return lam, np.ascontiguousarray(V), lmax, res


def kernel_basis(
    sheaf: CellularSheaf,
    *,
    tol: float,
    method: str,
    rng: np.random.Generator,
    maxiter: int | None,
    rtol: float,
    want_gap: bool = False,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int]:
    """Global sections of the unweighted Laplacian by the one kernel rule (``KERNEL_TOL``).

    Works on the rescaled Laplacian L_s (L = 2**e L_s; the kernel is scale-free).
    Returns ``(Q, eigenvalues, lambda_max, residuals, e)``: Q the orthonormal
    (Ritz) eigenvectors whose eigenvalue is at most ``tol * lambda_max``;
    ``eigenvalues`` Q's eigenvalues followed, when known, by the smallest one above
    the cut (always for "dense"; for "iterative" when ``want_gap``); ``residuals``
    ``|L_s q|`` of Q's columns.

    The iterative method filters a block of random cochains X with
    ``X - (L + tau I)^{-1} L X = tau (L + tau I)^{-1} X`` (tau the cut; block-Jacobi
    preconditioned conjugate gradients): eigen-directions with eigenvalue at most
    tau keep at least half their weight, those far above it are damped by
    tau / lambda. A Rayleigh-Ritz step on their span counts the Ritz values at
    most tau, the same rule as the dense eigenvalues; the block (16 at first)
    doubles until it exceeds that count by 8 or more, so that r random cochains
    cannot have missed part of the kernel.
    """
    L, e = laplacian_scaled(sheaf, None)
    n = sheaf.dim_c0
    if n == 0:
        return np.zeros((0, 0)), np.zeros(0), 0.0, np.zeros(0), e
    if method == "dense":
        lam, V, lmax, res = low_spectrum(L, n, method="dense")
        h = int((lam <= tol * lmax).sum())
        return V[:, :h], lam[: h + 1], lmax, res[:h], e
    import scipy.sparse as sp

    lmax = lambda_max(L)
    if lmax == 0.0:  # L = 0: everything is a section
        return np.eye(n), np.zeros(n), 0.0, np.zeros(n), e
    tau = tol * lmax
    M = block_jacobi(sheaf)
    A = (L + tau * sp.eye_array(n, format="csr")).tocsr() if tau > 0 else L
    r = min(16, n)
    while True:
        X = rng.standard_normal((n, r))
        Z, _, _ = cg(A, L @ X, M=M, rtol=rtol, maxiter=maxiter)
        U, sv, _ = np.linalg.svd(X - Z, full_matrices=False)
        W = U[:, : int((sv > 1e-8 * sv[0]).sum())] if sv.size and sv[0] > 0 else U[:, :0]
        H = W.T @ (L @ W)
        theta, Y = np.linalg.eigh(0.5 * (H + H.T))
        theta = np.maximum(theta, 0.0)
        h = int((theta <= tau).sum())
        # r random cochains find an h-dimensional kernel only while h < r: keep a margin
        if h + _MARGIN <= r or r >= n:
            break
        r = min(2 * r, n)
    Q = np.ascontiguousarray(W @ Y[:, :h])
    res = np.linalg.norm(L @ Q, axis=0) if h else np.zeros(0)
    lam = theta[:h]
    if want_gap and h < n:
        lam = np.append(lam, _lowest_above(L, Q, M, lmax, rng, W @ Y[:, h:]))
    return Q, lam, lmax, res, e


def _lowest_above(
    L: Any, Q: np.ndarray, M: Any, lmax: float, rng: np.random.Generator, start: np.ndarray
) -> float:
    """The smallest eigenvalue of L on the orthogonal complement of Q (LOBPCG, relative
    residual 1e-6; a Rayleigh quotient, so an upper bound when it stops early)."""
    n, h = Q.shape
    b = min(4, n - h)
    if n - h <= 5 * b + 5:  # too small for LOBPCG: project and diagonalise
        P = np.eye(n) - Q @ Q.T
        lam = np.linalg.eigvalsh(P @ L.toarray() @ P)
        return max(float(np.sort(lam)[h]), 0.0)
    from scipy.sparse.linalg import lobpcg

    X0 = rng.standard_normal((n, b))
    k = min(b, start.shape[1])
    X0[:, :k] = start[:, :k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lam, _ = lobpcg(L, X0, Y=Q if h else None, M=M, largest=False, tol=1e-6 * lmax, maxiter=500)
    return float(max(np.min(lam), 0.0))


__all__ = [
    "DENSE_MAX",
    "KERNEL_TOL",
    "BlockOperator",
    "NotConvergedError",
    "block_jacobi",
    "cg",
    "kernel_basis",
    "lambda_max",
    "low_spectrum",
]
