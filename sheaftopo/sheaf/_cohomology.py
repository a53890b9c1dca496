"""Cohomology of a cellular sheaf: global sections, dimensions, projections, harmonic extension."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_random_state, check_real
from ._operators import _check_sheaf, as_cochain, laplacian
from ._sheaf import CellularSheaf
from ._solvers import DENSE_MAX, block_jacobi, cg

__all__ = [
    "cohomology_dimensions",
    "global_sections",
    "harmonic_extension",
    "project_to_sections",
]

#: singular values of projected random Gaussian blocks above this count as sections
_RANK_CUT = 1e-4


def _method(sheaf: CellularSheaf, method: str) -> str:
    method = check_choice(method, "method", ("auto", "dense", "iterative"))
    if method == "auto":
        return "dense" if sheaf.dim_c0 <= DENSE_MAX else "iterative"
    return method


def global_sections(
    sheaf: CellularSheaf,
    *,
    tol: float = 1e-10,
    method: str = "auto",
    seed: Any = 0,
    rtol: float = 1e-12,
    maxiter: int | None = None,
) -> np.ndarray:
    r"""An orthonormal basis of :math:`H^0 = \ker\delta = \ker L`, the global sections.

    Parameters
    ----------
    sheaf : CellularSheaf
    tol : float
        ``method="dense"``: eigenvectors of L with eigenvalue at most
        ``tol * lambda_max(L)`` span H^0 (equivalently, singular values of δ
        below ``sqrt(tol)`` times the largest).
    method : {"auto", "dense", "iterative"}
        ``"dense"`` diagonalises L (dim C^0 <= 3000 under "auto").
        ``"iterative"`` never forms a dense matrix: it projects blocks of
        random Gaussian cochains onto ker L by block-Jacobi preconditioned
        conjugate gradients (x - z with L z = L x; L(x - z) = 0 up to
        ``rtol``), doubling the block until some of its projections vanish,
        and orthonormalises them; directions whose projected singular value is
        below 1e-4 (noise, for N(0, 1) cochains) are discarded.
    seed : int or Generator
        Random cochains of the iterative method.
    rtol, maxiter
        Conjugate-gradient tolerance and iteration cap (iterative method).

    Returns
    -------
    ndarray, shape (dim_c0, dim H^0)
        Orthonormal columns.

    Examples
    --------
    >>> import networkx as nx
    >>> from sheaftopo.sheaf import CellularSheaf, global_sections
    >>> G = nx.disjoint_union(nx.path_graph(3), nx.path_graph(4))
    >>> global_sections(CellularSheaf.constant(G, 2)).shape   # 2 components x R^2
    (14, 4)
    """
    sheaf = _check_sheaf(sheaf)
    tol = check_real(tol, "tol", low=0.0, high=1.0)
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False)
    if maxiter is not None:
        maxiter = check_int(maxiter, "maxiter", minimum=1)
    rng = check_random_state(seed)
    L = laplacian(sheaf)
    if _method(sheaf, method) == "dense":
        lam, V = np.linalg.eigh(L.toarray())
        top = max(float(lam[-1]), 0.0) if len(lam) else 0.0
        return np.ascontiguousarray(V[:, lam <= tol * top]) if top > 0 else np.eye(sheaf.dim_c0)
    M = block_jacobi(sheaf)
    r = 16
    while True:
        X = rng.standard_normal((sheaf.dim_c0, r))
        Z, _, _ = cg(L, L @ X, M=M, rtol=rtol, maxiter=maxiter)
        U, s, _ = np.linalg.svd(X - Z, full_matrices=False)
        rank = int((s > _RANK_CUT * np.sqrt(r)).sum())
        if rank < r or r >= sheaf.dim_c0:
            return np.ascontiguousarray(U[:, :rank])
        r = min(2 * r, sheaf.dim_c0)


def cohomology_dimensions(sheaf: CellularSheaf, **kwargs: Any) -> tuple[int, int]:
    r"""``(dim H^0, dim H^1)``, with :math:`\dim H^1 = \dim C^1 - \operatorname{rank}\delta
    = \dim C^1 - \dim C^0 + \dim H^0`.

    Keyword arguments go to :func:`global_sections`.

    Examples
    --------
    >>> import networkx as nx
    >>> from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions
    >>> cohomology_dimensions(CellularSheaf.constant(nx.cycle_graph(5), 1))   # a circle
    (1, 1)
    """
    h0 = global_sections(sheaf, **kwargs).shape[1]
    return h0, sheaf.dim_c1 - sheaf.dim_c0 + h0


def project_to_sections(
    sheaf: CellularSheaf, x: Any, *, rtol: float = 1e-10, maxiter: int | None = None
) -> np.ndarray:
    r"""The nearest global section to a 0-cochain: the orthogonal projection onto H^0.

    Solves :math:`L z = L x` by conjugate gradients from z = 0 (no
    preconditioner, so z stays in range(L) = (ker L)^⊥ and is the
    minimum-norm solution) and returns :math:`x - z`. Only sparse products:
    no dense factorisation, whatever the size.

    Parameters
    ----------
    x : array_like, shape (dim_c0,), (dim_c0, k) or (n_vertices, d)
        One or several cochains (vectorised over columns); the result has
        the same shape.
    rtol, maxiter
        Conjugate-gradient tolerance on ``|L(x - z)| / |L x|`` and cap.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, project_to_sections
    >>> F = CellularSheaf.constant([[0, 1], [1, 2]], 1)
    >>> project_to_sections(F, np.array([0.0, 3.0, 6.0])).round(12)
    array([3., 3., 3.])
    """
    sheaf = _check_sheaf(sheaf)
    X, restore = as_cochain(sheaf, x)
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False)
    if maxiter is not None:
        maxiter = check_int(maxiter, "maxiter", minimum=1)
    L = laplacian(sheaf)
    Z, _, _ = cg(L, L @ X, rtol=rtol, maxiter=maxiter)
    return restore(X - Z)


def _as_boundary(sheaf: CellularSheaf, boundary: Any) -> np.ndarray:
    b = np.asarray(boundary)
    if b.dtype.kind not in "iu" and not (b.size == 0):
        raise TypeError(f"boundary must hold integer vertex indices; got dtype {b.dtype}")
    b = b.astype(np.int64).reshape(-1)
    if b.size and (b.min() < 0 or b.max() >= sheaf.n_vertices):
        raise ValueError(
            f"boundary must index vertices in [0, {sheaf.n_vertices}); got indices in "
            f"[{b.min()}, {b.max()}]"
        )
    if len(np.unique(b)) != len(b):
        raise ValueError("boundary must not repeat a vertex")
    return b


def _coords(sheaf: CellularSheaf, vertices: np.ndarray) -> np.ndarray:
    off = sheaf.vertex_offsets
    d = sheaf.vertex_dims[vertices]
    starts = np.repeat(off[vertices], d)
    within = np.arange(int(d.sum())) - np.repeat(np.cumsum(d) - d, d)
    return starts + within


def harmonic_extension(
    sheaf: CellularSheaf,
    boundary: Any,
    values: Any,
    *,
    rtol: float = 1e-10,
    maxiter: int | None = None,
    tol: float = 1e-10,
) -> np.ndarray:
    r"""The 0-cochain of least Dirichlet energy that takes the given values on a boundary.

    Minimises :math:`x^\top L x` over x with :math:`x_B` fixed: the interior
    solves :math:`L_{II} x_I = -L_{IB} x_B` (sparse conjugate gradients). The
    minimiser is unique iff no nonzero global section vanishes on B (then
    :math:`L_{II}` is positive definite); otherwise a ``ValueError`` says how
    many independent sections vanish there (checked with
    :func:`global_sections`, tolerance ``tol``).

    Parameters
    ----------
    boundary : array_like of int, shape (b,)
        Distinct vertices B.
    values : array_like, shape (sum_{v in B} d_v,) or (b, d)
        The boundary values, in the order of ``boundary``.

    Returns
    -------
    ndarray, shape (dim_c0,)
        The full cochain (boundary values included).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, harmonic_extension
    >>> F = CellularSheaf.constant([[0, 1], [1, 2], [2, 3]], 1)
    >>> harmonic_extension(F, [0, 3], [0.0, 3.0]).round(10)
    array([0., 1., 2., 3.])
    """
    sheaf = _check_sheaf(sheaf)
    B = _as_boundary(sheaf, boundary)
    bc = _coords(sheaf, B)
    vals = np.asarray(values, dtype=float) if not isinstance(values, np.ndarray) else values
    if vals.dtype.kind not in "fiu":
        raise TypeError(f"values must be real numbers; got dtype {vals.dtype}")
    vals = vals.astype(np.float64).reshape(-1)
    if vals.shape[0] != len(bc):
        raise ValueError(
            f"values must hold {len(bc)} numbers (the stalks of the {len(B)} boundary "
            f"vertices); got {vals.shape[0]}"
        )
    if not np.isfinite(vals).all():
        raise ValueError("values must be finite (no NaN or inf)")
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False)
    Q = global_sections(sheaf, tol=tol)
    if Q.shape[1]:
        s = np.linalg.svd(Q[bc], compute_uv=False) if len(bc) else np.zeros(0)
        vanishing = Q.shape[1] - int((s > 1e-8).sum())
        if vanishing:
            raise ValueError(
                f"the harmonic extension from this boundary is not unique: {vanishing} "
                f"independent global section(s) vanish on all {len(B)} boundary vertices, so "
                "adding them changes the interior without changing the energy; enlarge the "
                "boundary"
            )
    interior = np.setdiff1d(np.arange(sheaf.dim_c0), bc)
    x = np.zeros(sheaf.dim_c0)
    x[bc] = vals
    if len(interior):
        L = laplacian(sheaf, format="csr")
        L_II = L[interior][:, interior]
        rhs = -(L[interior][:, bc] @ vals)
        xi, _, _ = cg(L_II, rhs[:, None], rtol=rtol, maxiter=maxiter)
        x[interior] = xi[:, 0]
    return x
