"""Sparse iterative solvers shared by the cohomology, diffusion and spectrum functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._operators import _vertex_blocks_flat, laplacian
from ._sheaf import CellularSheaf, _offsets

#: sheaves with at most this many 0-cochain coordinates are handled with dense eigh
DENSE_MAX = 3000


class NotConvergedError(RuntimeError):
    """An iterative solver stopped before reaching its tolerance."""


def block_jacobi(sheaf: CellularSheaf, weights: np.ndarray | None = None) -> Any:
    """Sparse block-diagonal preconditioner ``(D_v + mu_v I)^{-1}``, D_v the Laplacian's blocks.

    The shift mu_v = 1e-2 trace(D_v)/d_v (plus a tiny floor) keeps every block
    well conditioned, so the preconditioner is symmetric positive definite and
    tame even at vertices whose maps kill a direction (an exact inverse there
    would amplify that direction without bound and stall the iteration).
    """
    import scipy.sparse as sp

    vd = sheaf.vertex_dims
    off = _offsets(vd**2)
    w = np.ones(sheaf.n_edges) if weights is None else weights
    D = _vertex_blocks_flat(sheaf, w)
    inv = np.empty_like(D)
    for d in np.unique(vd):
        idx = np.flatnonzero(vd == d)
        pos = off[idx][:, None] + np.arange(d * d)[None, :]
        B = D[pos].reshape(len(idx), d, d)
        tr = np.trace(B, axis1=1, axis2=2) / d
        mu = 1e-2 * tr + 1e-300
        B = B + mu[:, None, None] * np.eye(d)
        inv[pos] = np.linalg.inv(B).reshape(len(idx), -1)
    rows = np.repeat(np.arange(sheaf.dim_c0), np.repeat(vd, vd))
    starts = np.repeat(sheaf.vertex_offsets[:-1], vd * vd)
    within = np.arange(int(off[-1])) - np.repeat(off[:-1], vd * vd)
    cols = starts + within % np.repeat(vd, vd * vd)
    return sp.csr_array((inv, (rows, cols)), shape=(sheaf.dim_c0, sheaf.dim_c0))


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
            from ._assembly import csr_matmat

            out = np.empty((self.shape[0], X.shape[1]))
            csr_matmat(self.A.indptr, self.A.indices, self.A.data,
                       np.ascontiguousarray(X, dtype=np.float64), out)
            return out
        return self.A @ X

    def linear_operator(self) -> Any:
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(self.shape, matvec=lambda x: self.A @ x,
                              matmat=lambda X: self @ X, dtype=np.float64)


def cg(
    A: Any,
    B: np.ndarray,
    *,
    M: Any = None,
    rtol: float = 1e-10,
    maxiter: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(Preconditioned) conjugate gradients on A X = B for all columns of B at once.

    A is symmetric positive semidefinite and every column of B must lie in
    its range (consistent systems); from X = 0 and without preconditioner the
    iterates stay in range(A), so X is the minimum-norm solution. Columns
    converge independently (vectorised over columns, one sparse product per
    iteration). Returns ``(X, relative residuals, iterations)``; raises
    :class:`NotConvergedError` when some column misses ``rtol``.
    """
    n, k = B.shape
    maxiter = 10 * n if maxiter is None else maxiter
    if not isinstance(A, BlockOperator):
        A = BlockOperator(A)
    X = np.zeros_like(B)
    R = B.copy()
    bnorm = np.linalg.norm(B, axis=0)
    active = bnorm > 0
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
        rel = np.linalg.norm(R, axis=0) / np.where(bnorm > 0, bnorm, 1.0)
        active = active & (rel > rtol) & (pap > 0)
        if not active.any():
            break
        Y = R if M is None else M @ R
        rz_new = np.einsum("ij,ij->j", R, Y)
        beta = np.where(active, rz_new / np.where(rz != 0, rz, 1.0), 0.0)
        P = Y + beta * P
        rz = rz_new
    if (rel > rtol).any():
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


def operator(sheaf: CellularSheaf, weights: Any, normalized: bool) -> Any:
    return laplacian(sheaf, weights=weights, normalized=normalized)


__all__ = [
    "DENSE_MAX",
    "BlockOperator",
    "NotConvergedError",
    "block_jacobi",
    "cg",
    "lambda_max",
    "operator",
]
