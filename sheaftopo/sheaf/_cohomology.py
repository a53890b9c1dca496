"""Cohomology of a cellular sheaf: global sections, dimensions, projections, harmonic extension."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_choice, check_int, check_random_state, check_real
from ._operators import _check_sheaf, _exponent, as_cochain, laplacian_scaled, unscale
from ._sheaf import CellularSheaf
from ._solvers import DENSE_MAX, KERNEL_TOL, cg, kernel_basis

__all__ = [
    "CohomologyDimensions",
    "cohomology_dimensions",
    "global_sections",
    "harmonic_extension",
    "project_to_sections",
]


def _method(sheaf: CellularSheaf, method: str) -> str:
    method = check_choice(method, "method", ("auto", "dense", "iterative"))
    if method == "auto":
        return "dense" if sheaf.dim_c0 <= DENSE_MAX else "iterative"
    return method


def _kernel(
    sheaf: Any, tol: Any, method: Any, seed: Any, rtol: Any, maxiter: Any, want_gap: bool = False
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, int, str]:
    """Validated arguments of global_sections / cohomology_dimensions -> kernel_basis."""
    sheaf = _check_sheaf(sheaf)
    tol = check_real(tol, "tol", low=0.0, high=1.0)
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False)
    if maxiter is not None:
        maxiter = check_int(maxiter, "maxiter", minimum=1)
    rng = check_random_state(seed)
    how = _method(sheaf, method)
    return (*kernel_basis(sheaf, tol=tol, method=how, rng=rng, maxiter=maxiter, rtol=rtol,
                          want_gap=want_gap), how)


def global_sections(
    sheaf: CellularSheaf,
    *,
    tol: float = KERNEL_TOL,
    method: str = "auto",
    seed: Any = 0,
    rtol: float = 1e-12,
    maxiter: int | None = None,
) -> np.ndarray:
    r"""An orthonormal basis of :math:`H^0 = \ker\delta = \ker L`, the global sections.

    **The kernel rule** (one tolerance, whatever the method): an eigenvector of
    the Laplacian L is a global section iff its eigenvalue is at most
    ``tol * lambda_max(L)`` (equivalently, singular values of δ at most
    ``sqrt(tol)`` times the largest). The same rule decides
    :func:`cohomology_dimensions` and the ``zero_count`` of :class:`SheafSpectrum`; use
    :func:`cohomology_dimensions` to see the eigenvalues on both sides of the
    cut (the spectral gap) and judge a borderline case. The kernel is scale-free:
    it is computed on the maps rescaled by a power of two.

    Parameters
    ----------
    sheaf : CellularSheaf
    tol : float
        The relative kernel tolerance above (default 1e-10).
    method : {"auto", "dense", "iterative"}
        ``"dense"`` diagonalises L (dim C^0 <= 3000 under "auto").
        ``"iterative"`` never forms a dense matrix: it filters blocks of
        random Gaussian cochains with :math:`\tau (L + \tau I)^{-1}`,
        :math:`\tau` = ``tol * lambda_max`` (block-Jacobi preconditioned
        conjugate gradients), which keeps at least half of every direction
        with eigenvalue at most :math:`\tau` and damps the others by
        :math:`\tau / \lambda`; a Rayleigh-Ritz step on their span counts
        the Ritz values at most :math:`\tau` (the same rule as the dense
        eigenvalues), doubling the block until it exceeds that count by 8.
    seed : int or Generator
        Random cochains of the iterative method.
    rtol, maxiter
        Conjugate-gradient tolerance and iteration cap (iterative method); a
        :class:`NotConvergedError` says when they are not met.

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
    return _kernel(sheaf, tol, method, seed, rtol, maxiter)[0]


class CohomologyDimensions(tuple):
    r"""``(dim H^0, dim H^1)`` with the spectral evidence behind dim H^0.

    A tuple of two ints (it unpacks, indexes and compares like one), with
    attributes:

    Attributes
    ----------
    h0, h1 : int
        :math:`\dim H^0` and :math:`\dim H^1 = \dim C^1 - \dim C^0 + \dim H^0`.
    zero_max : float or None
        The largest Laplacian eigenvalue counted as zero, **in units of**
        :math:`\lambda_{\max}` (so at most ``tol``); None when h0 = 0.
    nonzero_min : float or None
        The smallest eigenvalue counted as nonzero (the spectral gap), in units
        of :math:`\lambda_{\max}` (so above ``tol``); None when every
        eigenvalue is zero.
    tol : float
        The kernel tolerance used: the cut is at ``tol`` in these units (see
        :func:`global_sections`).
    method : str
        "dense" or "iterative".

    The ratios are scale-free, hence representable whatever the magnitude of
    the maps (the eigenvalues themselves are not, for maps near 1e±160). A
    clear-cut answer has ``zero_max`` near rounding (about 1e-15) and
    ``nonzero_min`` far above ``tol``; when either is close to ``tol``, the
    dimension depends on the tolerance. ``str()`` (and so ``print``) gives the
    plain pair ``(h0, h1)``; ``repr()`` shows the evidence.
    """

    h0: int
    h1: int
    zero_max: float | None
    nonzero_min: float | None
    tol: float
    method: str

    def __new__(
        cls,
        h0: int,
        h1: int,
        *,
        zero_max: float | None,
        nonzero_min: float | None,
        tol: float,
        method: str,
    ) -> CohomologyDimensions:
        self = super().__new__(cls, (int(h0), int(h1)))
        self.h0, self.h1 = int(h0), int(h1)
        self.zero_max, self.nonzero_min = zero_max, nonzero_min
        self.tol, self.method = tol, method
        return self

    def __repr__(self) -> str:
        def f(v: float | None) -> str:
            return "None" if v is None else f"{v:.3g}"

        return (
            f"CohomologyDimensions(h0={self.h0}, h1={self.h1}, zero_max={f(self.zero_max)}, "
            f"nonzero_min={f(self.nonzero_min)}, tol={self.tol:g}, method={self.method!r})"
        )

    def __str__(self) -> str:
        return f"({self.h0}, {self.h1})"

    def __reduce__(self) -> Any:
        return (_rebuild, (self.h0, self.h1, self.zero_max, self.nonzero_min, self.tol,
                           self.method))


def _rebuild(*args: Any) -> CohomologyDimensions:
    h0, h1, zmax, nzmin, tol, method = args
    return CohomologyDimensions(h0, h1, zero_max=zmax, nonzero_min=nzmin, tol=tol,
                                method=method)


def cohomology_dimensions(
    sheaf: CellularSheaf,
    *,
    tol: float = KERNEL_TOL,
    method: str = "auto",
    seed: Any = 0,
    rtol: float = 1e-12,
    maxiter: int | None = None,
) -> CohomologyDimensions:
    r"""``(dim H^0, dim H^1)``, with :math:`\dim H^1 = \dim C^1 - \operatorname{rank}\delta
    = \dim C^1 - \dim C^0 + \dim H^0`, and the eigenvalues either side of the kernel cut.

    dim H^0 follows the kernel rule of :func:`global_sections` (eigenvalues of
    L at most ``tol * lambda_max`` count as zero, for both methods); the
    result also reports the largest eigenvalue counted as zero and the
    smallest counted as nonzero (relative to lambda_max), so a
    near-degenerate case (a connection with tiny holonomy, say) can be
    recognised. Arguments as in :func:`global_sections`. With the iterative
    method the smallest nonzero eigenvalue comes from LOBPCG on the
    complement of the sections (relative residual 1e-6, at most 500
    iterations): a Rayleigh quotient, so an upper bound if it stops early.

    Returns
    -------
    CohomologyDimensions
        A tuple ``(h0, h1)`` carrying ``zero_max``, ``nonzero_min``, ``tol``
        and ``method``.

    Examples
    --------
    >>> import networkx as nx
    >>> from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions
    >>> c = cohomology_dimensions(CellularSheaf.constant(nx.cycle_graph(5), 1))  # a circle
    >>> c == (1, 1), round(c.nonzero_min, 6)   # gap 1.381966 / lambda_max 3.618034
    (True, 0.381966)
    """
    Q, lam, lmax, _, _, how = _kernel(sheaf, tol, method, seed, rtol, maxiter, want_gap=True)
    h0 = Q.shape[1]
    rel = lam / lmax if lmax > 0 else np.zeros_like(lam)
    return CohomologyDimensions(
        h0, sheaf.dim_c1 - sheaf.dim_c0 + h0,
        zero_max=float(max(rel[:h0].max(), 0.0)) if h0 else None,
        nonzero_min=float(rel[h0]) if len(rel) > h0 else None,
        tol=float(tol), method=how,
    )


def project_to_sections(
    sheaf: CellularSheaf, x: Any, *, rtol: float = 1e-10, maxiter: int | None = None
) -> np.ndarray:
    r"""The nearest global section to a 0-cochain: the orthogonal projection onto H^0.

    Solves :math:`L z = L x` by conjugate gradients from z = 0 (no
    preconditioner, so z stays in range(L) = (ker L)^⊥ and is the
    minimum-norm solution) and returns :math:`x - z`. Only sparse products:
    no dense factorisation, whatever the size. The projection is linear in x
    and scale-free in the maps: it is computed on both rescaled by powers of
    two, so magnitudes near 1e±300 are handled exactly.

    Parameters
    ----------
    x : array_like, shape (dim_c0,), (dim_c0, k) or (n_vertices, d)
        One or several cochains (vectorised over columns); the result has
        the same shape (a new array).
    rtol, maxiter
        Conjugate-gradient tolerance on ``|L(x - z)| / |L x|`` and cap. The
        residual is not pushed below the rounding error of ``L x`` itself,
        :math:`4 (k + 1) \epsilon \|L\|_1 \|x\|` (k the most nonzeros in a row
        of L): for a cochain that is nearly a section, ``|L x|`` is tiny and
        that error has a part in ker L that no iterate can cancel. The
        component of the result along an eigenvector of eigenvalue λ is then
        accurate to about ``max(rtol |L x|, that floor) / λ``.

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
    ex = _exponent(X)
    Xs = np.ldexp(X, -ex)
    L, _ = laplacian_scaled(sheaf, None)
    row_nnz = int(np.diff(L.indptr).max(initial=0))
    norm1 = float(abs(L).sum(axis=0).max(initial=0.0)) if L.nnz else 0.0
    floor = 4 * (row_nnz + 1) * np.finfo(float).eps * norm1 * np.linalg.norm(Xs, axis=0)
    Z, _, _ = cg(L, L @ Xs, rtol=rtol, maxiter=maxiter, atol=floor)
    return restore(unscale(Xs - Z, ex, "the projection", sheaf, None, " and in x"))


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
    tol: float = KERNEL_TOL,
) -> np.ndarray:
    r"""The 0-cochain of least Dirichlet energy that takes the given values on a boundary.

    Minimises :math:`x^\top L x` over x with :math:`x_B` fixed, L weighted by the
    sheaf's :attr:`~CellularSheaf.edge_weights` when it has them. The minimiser
    is unique iff no nonzero global section vanishes on B (then
    :math:`L_{II}` is positive definite); otherwise a ``ValueError`` says how
    many independent sections vanish there.

    **Method.** With Q an orthonormal basis of the global sections
    (:func:`global_sections`, tolerance ``tol``), a section vanishes on B when
    a singular value of :math:`Q_B` is below the accuracy of Q itself,
    :math:`\max(\|LQ\|, n\,\epsilon\,\lambda_{\max}) / \lambda_{gap}`
    (a relative cut, Davis–Kahan): sections that are merely small on B, like
    :math:`(1, 10, \dots, 10^k)` on a path whose maps multiply by 10, are
    kept. The part of the boundary values that a section matches,
    :math:`x_B = Q_B c + r_B` (least squares), extends exactly as the section
    :math:`Q c`; only the rest :math:`r_B` goes through conjugate gradients on
    :math:`L_{II} x_I = -L_{IB} r_B - (L Q c)_I`, so the well-posed but ill-conditioned
    extensions along sections stay accurate. The defect :math:`(L Q c)_I` is kept
    only where it exceeds its rounding error: Q holds near-sections too
    (eigenvalues up to ``tol * lambda_max``), whose energy the minimiser still
    trades off; for exact sections it is rounding and dropping it keeps their
    extension exact. Everything is computed on the
    maps and values rescaled by powers of two (the extension is scale-free in
    the maps and linear in the values).

    Parameters
    ----------
    boundary : array_like of int, shape (b,)
        Distinct vertices B.
    values : array_like, shape (sum_{v in B} d_v,) or (b, d)
        The boundary values, in the order of ``boundary``.
    rtol : float
        Conjugate-gradient tolerance: the interior residual at most ``rtol``
        times :math:`\|L_{IB} x_B\|`.
    maxiter : int, optional
        Conjugate-gradient iteration cap (a positive int; default 10 * dim).
    tol : float
        Kernel tolerance of the global sections (see :func:`global_sections`).

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
    w = sheaf.edge_weights
    if w is not None and not (w > 0).all():
        raise ValueError(
            f"harmonic_extension needs positive edge weights; the sheaf's edge_weights"
            f"[{int(np.argmin(w))}] is 0 (remove that edge instead)"
        )
    B = _as_boundary(sheaf, boundary)
    bc = _coords(sheaf, B)
    vals = as_float_array(values, "values", dtype=np.float64).reshape(-1)
    if vals.shape[0] != len(bc):
        raise ValueError(
            f"values must hold {len(bc)} numbers (the stalks of the {len(B)} boundary "
            f"vertices); got {vals.shape[0]}"
        )
    if not np.isfinite(vals).all():
        raise ValueError("values must be finite (no NaN or inf)")
    rtol = check_real(rtol, "rtol", low=0.0, high=1.0, low_inclusive=False)
    if maxiter is not None:
        maxiter = check_int(maxiter, "maxiter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, high=1.0)
    Q, lam, lmax, res, _ = kernel_basis(sheaf, tol=tol, method=_method(sheaf, "auto"),
                                        rng=np.random.default_rng(0), maxiter=None,
                                        rtol=1e-12, want_gap=True)
    n, h = sheaf.dim_c0, Q.shape[1]
    ev = _exponent(vals)
    v = np.ldexp(vals, -ev)
    x = np.zeros(n)
    r = v
    if h:
        U, s, Vt = np.linalg.svd(Q[bc], full_matrices=False) if len(bc) else (
            np.zeros((0, 0)), np.zeros(0), np.zeros((0, h)))
        gap = float(lam[h]) if len(lam) > h else lmax
        noise = max(float(np.max(res[:h], initial=0.0)), n * np.finfo(float).eps * lmax)
        cut = noise / gap if gap > 0 else n * np.finfo(float).eps
        vanishing = h - int((s > cut).sum())
        if vanishing:
            raise ValueError(
                f"the harmonic extension from this boundary is not unique: {vanishing} "
                f"independent global section(s) vanish on all {len(B)} boundary vertices, so "
                "adding them changes the interior without changing the energy; enlarge the "
                "boundary"
            )
        c = Vt.T @ ((U.T @ v) / s)  # least squares: Q_B c nearest to v
        x = Q @ c
        r = v - Q[bc] @ c
    interior = np.setdiff1d(np.arange(n), bc)
    defect = np.zeros(len(interior))
    L = laplacian_scaled(sheaf, sheaf.edge_weights)[0].tocsr()
    if h and len(interior):
        # Q c is a section only to the kernel tolerance: an eigenvalue up to tol * lmax
        # counts as zero. Where L (Q c) exceeds its rounding error, Q c is a near-section
        # whose energy the minimiser must still trade off: keep its defect in the
        # right-hand side (for exact sections it is rounding and is dropped, which keeps
        # the extension along them exact however ill-conditioned L_II is).
        d = (L @ x)[interior]
        k = int(np.diff(L.indptr).max(initial=0))
        floor = 64 * (k + 1) * np.finfo(float).eps * float(
            np.linalg.norm((abs(L) @ np.abs(x))[interior]))
        if float(np.linalg.norm(d)) > floor:
            defect = d
    if len(interior) and (np.any(r) or np.any(defect)):
        L_IB = L[interior][:, bc]
        rhs = -(L_IB @ r) - defect
        scale = max(float(np.linalg.norm(L_IB @ v)), float(np.linalg.norm(rhs)))
        bnorm = float(np.linalg.norm(rhs))
        if bnorm > 0:
            xi, _, _ = cg(L[interior][:, interior], rhs[:, None],
                          rtol=min(1.0, rtol * scale / bnorm), maxiter=maxiter)
            x[interior] += xi[:, 0]
    x[bc] = v
    return unscale(x, ev, "the harmonic extension", sheaf, None, " and in values")
