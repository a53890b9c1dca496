r"""Shared and modality-specific subspaces of paired embeddings (Z = Z_s ⊕ Z_I ⊕ Z_T).

Zhao (arXiv:2412.00373) splits the embedding space as
:math:`Z = Z_s \oplus Z_I \oplus Z_T`: shared semantics plus image- and
text-specific parts. Given paired embeddings X (N × d_x) and Y (N × d_y) of
the same items, :func:`subspace_decomposition` estimates, *in each modality's
own feature space*, an orthogonal decomposition

.. math:: \mathbb{R}^{d_x} = S_X \oplus I_X \oplus R_X, \qquad
          \mathbb{R}^{d_y} = S_Y \oplus T_Y \oplus R_Y

(shared, specific, residual) with orthogonal projectors summing to the
identity, from canonical correlation analysis:

* the canonical correlations :math:`\rho_1 \ge \rho_2 \ge \dots` are the
  cosines of the principal angles between the centred column spaces of X and
  Y in :math:`\mathbb{R}^N` (Björck–Golub); the *shared dimension* k is the
  number of them judged non-zero (a permutation test by default);
* :math:`S_X` is spanned by the canonical *loadings*
  :math:`\hat\Sigma_{xx} a_i = \mathrm{Cov}(x, a_i^\top x)`, i <= k: the
  directions of feature space along which the shared variates are expressed;
* :math:`I_X` is spanned by the top principal directions of the covariance
  restricted to :math:`S_X^\perp`, and :math:`R_X` is the rest.

When X and Y are coordinates in one common space Z (d_x == d_y, e.g. the
outputs of f and g), :math:`S_X` and :math:`S_Y` both estimate
:math:`Z_s`; their principal angles are reported. What these objects mean,
and when they recover a planted decomposition exactly, is on
``theory/fiber-shared-subspaces.md``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.cca import canonical_svd, center_and_scale, column_space
from .._validation import as_float_array, as_points, check_int, check_random_state, check_real
from ._numeric import check_allocation, exponent_of

__all__ = [
    "ModalitySubspaces",
    "PlantedSubspaces",
    "SubspaceDecomposition",
    "make_planted_subspaces",
    "principal_angles",
    "subspace_decomposition",
]

RULES = ("permutation", "threshold")
#: the most permutations the permutation rule draws (p-values in steps of 1e-6)
MAX_PERMUTATIONS = 10**6


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ModalitySubspaces:
    r"""The decomposition of one modality's feature space.

    Attributes
    ----------
    shared_basis : ndarray, shape (d, k)
        Orthonormal basis of the shared subspace S (spanned by the loadings).
    specific_basis : ndarray, shape (d, r)
        Orthonormal basis of the specific subspace (inside :math:`S^\perp`).
    residual_basis : ndarray, shape (d, d - k - r)
        Orthonormal basis of the rest; ``[shared | specific | residual]`` is
        an orthogonal d × d matrix.
    weights : ndarray, shape (d, k)
        Canonical weights: ``(X - mean) @ weights`` are the shared canonical
        variates (unit variance when ``reg = 0``), coordinates in a space
        common to both modalities.
    loadings : ndarray, shape (d, k)
        :math:`\mathrm{Cov}(x, \text{variate}_i)`, column i for variate i.
    mean : ndarray, shape (d,)
    variance_shared, variance_specific, variance_residual : float
        Fraction of the total variance :math:`\operatorname{tr}\hat\Sigma`
        lying in each subspace (they sum to 1):
        :math:`\operatorname{tr}(B^\top \hat\Sigma B) / \operatorname{tr}\hat\Sigma`.
    """

    shared_basis: np.ndarray
    specific_basis: np.ndarray
    residual_basis: np.ndarray
    weights: np.ndarray
    loadings: np.ndarray
    mean: np.ndarray
    variance_shared: float
    variance_specific: float
    variance_residual: float

    @property
    def shared(self) -> np.ndarray:
        """Orthogonal projector onto the shared subspace, shape (d, d)."""
        return self.shared_basis @ self.shared_basis.T

    @property
    def specific(self) -> np.ndarray:
        """Orthogonal projector onto the specific subspace, shape (d, d)."""
        return self.specific_basis @ self.specific_basis.T

    @property
    def residual(self) -> np.ndarray:
        """Orthogonal projector onto the residual subspace, shape (d, d)."""
        return self.residual_basis @ self.residual_basis.T

    def shared_coordinates(self, X: Any) -> np.ndarray:
        """The shared canonical variates of new rows: ``(X - mean) @ weights``, shape (n, k).

        Computed on X and ``mean`` divided by a common power of two (exact), so
        rows of any finite magnitude work; ``ValueError`` only where the
        variates themselves exceed the float64 range.
        """
        Xv = as_points(X, "X")
        if Xv.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"X must have {self.mean.shape[0]} columns like the data this was fitted on; "
                f"got shape {Xv.shape}"
            )
        X64 = np.asarray(Xv, dtype=np.float64)
        # (X - mean) @ weights on X and mean divided by a common power of two,
        # the weights multiplied by it: no overflow of X - mean near 1e308
        e = exponent_of(X64, self.mean)
        with np.errstate(over="ignore"):
            W = np.ldexp(self.weights, e)
        if not np.isfinite(W).all():
            raise ValueError(
                f"X (largest entry about 2**{e}) is too far outside the scale of the data this "
                "was fitted on: its canonical variates overflow float64"
            )
        out = (np.ldexp(X64, -e) - np.ldexp(self.mean, -e)) @ W
        if not np.isfinite(out).all():
            raise ValueError(
                "X is too far outside the scale of the data this was fitted on: its canonical "
                "variates overflow float64"
            )
        return out


@dataclass(frozen=True, eq=False)
class SubspaceDecomposition:
    r"""Result of :func:`subspace_decomposition`.

    Attributes
    ----------
    correlations : ndarray, shape (r,)
        All canonical correlations, descending, in [0, 1];
        r = min(rank X, rank Y) (after centring and regularisation).
    angles : ndarray, shape (r,)
        :math:`\arccos\rho_i`: principal angles (radians, ascending) between
        the centred column spaces of X and Y in :math:`\mathbb{R}^N`,
        computed from sines below π/4 (as :func:`principal_angles`), so that
        they are accurate to about 1e-15 radians everywhere: about 1e-15, not
        :math:`\arccos(1 - 2^{-53}) \approx 10^{-8}`, for identical spaces.
    n_shared : int
        k, the shared dimension.
    rule : str
        How k was chosen: ``"fixed"``, ``"threshold"`` or ``"permutation"``.
    p_values : ndarray, shape (r,), or None
        Permutation rule: :math:`(1 + \#\{b : \rho^{(b)}_1 \ge \rho_i\}) / (B + 1)`
        with :math:`\rho^{(b)}_1` the top correlation after the b-th random
        permutation of Y's rows.
    x, y : ModalitySubspaces
        The decompositions of X's and Y's feature spaces.
    common_shared_angles : ndarray or None
        When d_x == d_y: principal angles between ``x.shared_basis`` and
        ``y.shared_basis``, ascending (meaningful when X and Y are coordinates
        in the same space Z; both estimate :math:`Z_s`).
    common_specific_angles : ndarray or None
        Likewise between the specific subspaces (π/2 everywhere when
        :math:`Z_I \perp Z_T`).
    """

    correlations: np.ndarray
    angles: np.ndarray
    n_shared: int
    rule: str
    p_values: np.ndarray | None
    x: ModalitySubspaces
    y: ModalitySubspaces
    common_shared_angles: np.ndarray | None
    common_specific_angles: np.ndarray | None

    def __repr__(self) -> str:
        top = ", ".join(f"{r:.3f}" for r in self.correlations[: min(5, len(self.correlations))])
        return (
            f"SubspaceDecomposition(n_shared={self.n_shared}, rule={self.rule!r}, "
            f"correlations=[{top}{', ...' if len(self.correlations) > 5 else ''}], "
            f"variance_shared=(x: {self.x.variance_shared:.3f}, "
            f"y: {self.y.variance_shared:.3f}))"
        )


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


# --------------------------------------------------------------------------
# estimation
# --------------------------------------------------------------------------


def _complement(Q: np.ndarray, d: int) -> np.ndarray:
    """Orthonormal basis of the orthogonal complement of the orthonormal columns Q."""
    if Q.shape[1] == 0:
        return np.eye(d)
    full, _ = np.linalg.qr(np.hstack([Q, np.eye(d)]))
    comp = full[:, Q.shape[1] : d]
    # re-orthogonalise against Q (one Gram-Schmidt pass) for exact complementarity
    comp = comp - Q @ (Q.T @ comp)
    comp, _ = np.linalg.qr(comp)
    return comp


def _orth_columns(L: np.ndarray) -> np.ndarray:
    if L.shape[1] == 0:
        return np.zeros((L.shape[0], 0))
    U, s, _ = np.linalg.svd(L, full_matrices=False)
    tol = max(L.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0)
    return U[:, : int((s > tol).sum())]


def _modality(
    Xc: np.ndarray,
    mean: np.ndarray,
    Ut: np.ndarray,
    s: np.ndarray,
    Vt: np.ndarray,
    P: np.ndarray,
    k: int,
    n_spec: int | None,
    name: str,
    scale_exp: int,
) -> ModalitySubspaces:
    """The decomposition of one modality; ``Xc`` is the centred data divided by 2**scale_exp."""
    n, d = Xc.shape
    rootn = np.sqrt(n)
    Pk = P[:, :k]
    variates = Ut @ Pk  # (n, k), variates / sqrt(n)
    loadings = Xc.T @ variates / rootn
    weights = Vt.T @ (Pk / s[:, None]) * rootn
    shared = _orth_columns(loadings)
    comp = _complement(shared, d)
    C = Xc.T @ Xc / n
    total = float(np.trace(C))
    Cc = comp.T @ C @ comp
    _, V = np.linalg.eigh((Cc + Cc.T) / 2)
    V = V[:, ::-1]
    r = comp.shape[1] if n_spec is None else n_spec
    if r > comp.shape[1]:
        raise ValueError(
            f"n_specific for {name} must be <= d - n_shared = {comp.shape[1]}; got {r}"
        )
    specific = comp @ V[:, :r]
    residual = comp @ V[:, r:]

    def frac(B: np.ndarray) -> float:
        return float(np.einsum("ij,ij->", B, C @ B)) / total if B.shape[1] else 0.0

    vs, vi, vr = frac(shared), frac(specific), frac(residual)
    # back to the original scale: loadings scale as X, weights as 1/X
    with np.errstate(over="ignore"):
        loadings = np.ldexp(loadings, scale_exp)
        weights = np.ldexp(weights, -scale_exp)
    if not (np.isfinite(loadings).all() and np.isfinite(weights).all()):
        raise ValueError(
            f"{name}'s spread (about 2**{scale_exp}) is outside what float64 can handle here: "
            "its canonical loadings (which scale as X) or weights (which scale as 1/X) "
            f"overflow; rescale {name}"
        )
    return ModalitySubspaces(
        shared_basis=_ro(shared),
        specific_basis=_ro(specific),
        residual_basis=_ro(residual),
        weights=_ro(weights),
        loadings=_ro(loadings),
        mean=_ro(mean),
        variance_shared=vs,
        variance_specific=vi,
        variance_residual=vr,
    )


def _n_specific(n_specific: Any) -> tuple[int | None, int | None]:
    if n_specific is None:
        return None, None
    if isinstance(n_specific, numbers.Integral) and not isinstance(n_specific, bool):
        r = check_int(n_specific, "n_specific", minimum=0)
        return r, r
    if isinstance(n_specific, (tuple, list)) and len(n_specific) == 2:
        return (
            check_int(n_specific[0], "n_specific[0]", minimum=0),
            check_int(n_specific[1], "n_specific[1]", minimum=0),
        )
    raise TypeError(f"n_specific must be None, an int, or a pair (r_x, r_y); got {n_specific!r}")


def subspace_decomposition(
    X: Any,
    Y: Any,
    *,
    n_shared: int | str = "permutation",
    threshold: float = 0.5,
    alpha: float = 0.05,
    n_permutations: int = 199,
    n_specific: Any = None,
    reg: float = 0.0,
    seed: Any = None,
) -> SubspaceDecomposition:
    r"""Estimate the shared and modality-specific subspaces of paired embeddings.

    Parameters
    ----------
    X : array_like, shape (N, d_x)
        First modality; row i describes item i.
    Y : array_like, shape (N, d_y)
        Second modality, the same N items in the same order.
    n_shared : int or {"permutation", "threshold"}
        The shared dimension k, or the rule that chooses it.
        ``"permutation"``: k is the number of leading canonical correlations
        whose p-value against the permutation null (Y's rows shuffled,
        ``n_permutations`` times, max-statistic) is <= ``alpha``;
        ``"threshold"``: the number of correlations >= ``threshold``.
    threshold : float in [0, 1]
        For ``n_shared="threshold"``.
    alpha : float in (0, 1)
        Level of the permutation rule.
    n_permutations : int
        B, permutations of the permutation rule (p-values are multiples of
        1/(B + 1)); at most 10**6.
    n_specific : None, int or (int, int)
        Dimensions of the specific subspaces of X and Y. None: all of the
        orthogonal complement of the shared subspace (no residual); an int:
        the top principal directions of the variance left in the complement.
    reg : float >= 0
        Ridge: :math:`\hat\Sigma + \lambda I` with
        :math:`\lambda = \text{reg}\cdot\operatorname{tr}\hat\Sigma / d` in the
        correlation step (needed when N is small next to d).
    seed : None, int or numpy.random.Generator
        For the permutations.

    Returns
    -------
    SubspaceDecomposition

    Raises
    ------
    ValueError
        X and Y with different numbers of rows, fewer than 3 rows, NaN/inf, a
        constant modality, a fixed n_shared larger than the number of
        correlations, or n_specific too large; a modality whose spread is so
        small (subnormal) or so large (beyond about 1e308) that its canonical
        weights or loadings, which scale as 1/X and X, do not fit in float64.

    Notes
    -----
    Each modality is centred and divided by a power of two (exact) before the
    decomposition, and loadings and weights are scaled back: correlations,
    angles, bases and variance fractions do not depend on the magnitude of
    the data, and no square overflows or underflows, from 1e-300 to 1e300.

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (the decomposition Z = Z_s ⊕ Z_I ⊕ Z_T).
    .. [2] H. Hotelling, "Relations between two sets of variates",
       Biometrika 28 (1936).
    .. [3] A. Björck, G. H. Golub, Math. Comp. 27 (1973) (canonical
       correlations as cosines of principal angles).
    .. [4] L. R. Tucker, "An inter-battery method of factor analysis",
       Psychometrika 23 (1958) (the shared + specific factor model).

    Examples
    --------
    A planted model with 3 shared and 2 + 2 specific dimensions:

    >>> import numpy as np
    >>> from sheaftopo.fiber import make_planted_subspaces, subspace_decomposition
    >>> from sheaftopo.fiber import principal_angles
    >>> data = make_planted_subspaces(5000, dim_x=12, dim_y=10, n_shared=3, seed=0)
    >>> dec = subspace_decomposition(data.X, data.Y, n_specific=(2, 2), seed=0)
    >>> dec.n_shared
    3
    >>> bool(principal_angles(dec.x.shared_basis, data.shared_x).max() < 0.05)
    True
    >>> P, Q = dec.x.shared, dec.x.specific
    >>> bool(np.allclose(P @ P, P) and np.allclose(P @ Q, 0))
    True

    How much of the ``fou`` (Fourier) and ``kar`` (Karhunen–Loève) views of
    the multi-view digits is shared:

    >>> from sheaftopo.datasets import load_mfeat
    >>> mv = load_mfeat(["fou", "kar"], standardize=True)
    >>> dec = subspace_decomposition(mv["fou"], mv["kar"], seed=0)
    >>> dec.n_shared, dec.correlations[:3].round(3)
    (15, array([0.923, 0.891, 0.841]))
    >>> round(dec.x.variance_shared, 3), round(dec.y.variance_shared, 3)
    (0.475, 0.477)

    15 canonical correlations beat the permutation null (p <= 0.05); the
    15-dimensional shared subspaces carry about 48% of the (standardised)
    variance of each view. The correlations do not depend on the scaling of
    the features; the variance fractions do.
    """
    Xv = as_points(X, "X")
    Yv = as_points(Y, "Y")
    if Xv.shape[0] != Yv.shape[0]:
        raise ValueError(
            "X and Y must have the same number of rows (row i of both describes item i); got "
            f"X of shape {Xv.shape} and Y of shape {Yv.shape}"
        )
    n = Xv.shape[0]
    if n < 3:
        raise ValueError(f"X and Y need at least 3 paired rows; got {n}")
    if isinstance(n_shared, str):
        if n_shared not in RULES:
            raise ValueError(
                f"n_shared must be an int or one of 'permutation', 'threshold'; got {n_shared!r}"
            )
        rule = n_shared
        fixed = None
    else:
        fixed = check_int(n_shared, "n_shared", minimum=0)
        rule = "fixed"
    thr = check_real(threshold, "threshold", low=0.0, high=1.0)
    lvl = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    B = check_int(n_permutations, "n_permutations", minimum=1, maximum=MAX_PERMUTATIONS)
    lam = check_real(reg, "reg", low=0.0)
    spec_x, spec_y = _n_specific(n_specific)
    rng = check_random_state(seed)

    parts = []
    for M, name in ((Xv, "X"), (Yv, "Y")):
        # centred and divided by powers of two (exact): neither the mean nor the
        # squares over- or underflow
        Mc, mean, exponent, spread = center_and_scale(np.asarray(M, dtype=np.float64), True)
        if spread == 0:
            raise ValueError(f"{name} has zero variance (every row is the same)")
        U, s, Vt = column_space(Mc, lam)
        parts.append((Mc, mean, U, s, Vt, int(exponent)))
    (Xc, mx, Ux, sx, Vx, ex), (Yc, my, Uy, sy, Vy, ey) = parts
    P, rho, Rt = canonical_svd(Ux[:n], Uy[:n])
    r = len(rho)
    p_values = None
    if rule == "fixed":
        if fixed > r:  # type: ignore[operator]
            raise ValueError(
                f"n_shared must be <= the number of canonical correlations, {r} "
                f"(= min(rank X, rank Y)); got {fixed}"
            )
        k = int(fixed)  # type: ignore[arg-type]
    elif rule == "threshold":
        k = int((rho >= thr).sum())
    else:
        null = np.empty(B)
        for b in range(B):
            perm = rng.permutation(n)
            null[b] = np.linalg.svd(Ux[:n].T @ Uy[:n][perm], compute_uv=False)[0]
        p_values = (1.0 + (null[None, :] >= rho[:, None]).sum(axis=1)) / (B + 1.0)
        fails = np.flatnonzero(p_values > lvl)
        k = int(fails[0]) if len(fails) else r
    xs = _modality(Xc, mx, Ux[:n], sx, Vx, P, k, spec_x, "X", ex)
    ys = _modality(Yc, my, Uy[:n], sy, Vy, Rt.T, k, spec_y, "Y", ey)
    common_s = common_t = None
    if Xv.shape[1] == Yv.shape[1]:
        common_s = _angles(xs.shared_basis, ys.shared_basis)
        common_t = _angles(xs.specific_basis, ys.specific_basis)
    return SubspaceDecomposition(
        correlations=_ro(rho),
        angles=_ro(_correlation_angles(Ux, Uy, n)),
        n_shared=k,
        rule=rule,
        p_values=None if p_values is None else _ro(p_values),
        x=xs,
        y=ys,
        common_shared_angles=common_s,
        common_specific_angles=common_t,
    )


# --------------------------------------------------------------------------
# planted model
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PlantedSubspaces:
    r"""Paired data with planted shared and specific subspaces.

    Attributes
    ----------
    X : ndarray, shape (N, d_x)
    Y : ndarray, shape (N, d_y)
    shared_x, specific_x : ndarray, shapes (d_x, k), (d_x, r_x)
        Orthonormal bases of the planted :math:`Z_s` and :math:`Z_I` in X's
        space (mutually orthogonal).
    shared_y, specific_y : ndarray, shapes (d_y, k), (d_y, r_y)
        The same in Y's space (``shared_y`` equals ``shared_x`` in a common space).
    correlations : ndarray, shape (k,)
        Correlation of the i-th shared latent between the modalities.
    canonical_correlations : ndarray, shape (k,)
        The population canonical correlations :math:`\rho_i / (1 + \sigma^2)`.
    noise : float
    common_space : bool
    """

    X: np.ndarray
    Y: np.ndarray
    shared_x: np.ndarray
    specific_x: np.ndarray
    shared_y: np.ndarray
    specific_y: np.ndarray
    correlations: np.ndarray
    canonical_correlations: np.ndarray
    noise: float
    common_space: bool


def _random_orthonormal(rng: np.random.Generator, d: int, k: int) -> np.ndarray:
    if k == 0:
        return np.zeros((d, 0))
    Q, R = np.linalg.qr(rng.standard_normal((d, k)))
    return Q * np.sign(np.diag(R))


def _correlations(correlation: Any, k: int) -> np.ndarray:
    """The k correlations rho_i in (0, 1]: a real scalar or a real array of shape (k,)."""
    if isinstance(correlation, (bool, np.bool_, str, bytes)):
        raise TypeError(
            f"correlation must be a real number or a real array of shape ({k},); got "
            f"{correlation!r} of type {type(correlation).__name__}"
        )
    arr = as_float_array(correlation, "correlation", dtype=np.float64)
    if arr.dtype.kind == "b" or np.asarray(correlation).dtype.kind == "b":
        raise TypeError("correlation must hold real numbers, not booleans")
    if arr.ndim == 0:
        arr = np.full(k, float(arr))
    elif arr.shape != (k,):
        raise ValueError(
            f"correlation must be a scalar or have shape ({k},) (one per shared latent, "
            f"n_shared = {k}); got shape {arr.shape}"
        )
    else:
        arr = arr.copy()
    if k and (not np.isfinite(arr).all() or (arr <= 0).any() or (arr > 1).any()):
        raise ValueError(f"correlation must be in (0, 1]; got {correlation!r}")
    return arr


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False; got {value!r} of type {type(value).__name__}"
        )
    return bool(value)


def make_planted_subspaces(
    n_samples: int,
    *,
    dim_x: int = 16,
    dim_y: int = 12,
    n_shared: int = 3,
    n_specific_x: int = 2,
    n_specific_y: int = 2,
    correlation: Any = 0.9,
    noise: float = 0.3,
    common_space: bool = False,
    exact_moments: bool = False,
    seed: Any = None,
) -> PlantedSubspaces:
    r"""Paired data X, Y with planted shared and modality-specific subspaces.

    The model (Tucker's inter-battery factor model with orthonormal loadings):

    .. math::
        x = A_s s + A_I u + \sigma e_x, \qquad y = B_s s' + B_T v + \sigma e_y,
        \qquad s'_i = \rho_i s_i + \sqrt{1 - \rho_i^2}\, w_i,

    with independent standard normal latents s, w (k each), u (r_x), v (r_y),
    noise e_x (d_x), e_y (d_y), a random offset per modality, and orthonormal
    :math:`[A_s\ A_I]`, :math:`[B_s\ B_T]`. With ``common_space=True``
    (d_x = d_y = d) both modalities live in one :math:`Z = \mathbb{R}^d` with
    :math:`B_s = A_s` and :math:`Z_s, Z_I, Z_T` mutually orthogonal.

    Parameters
    ----------
    n_samples : int
        N.
    dim_x, dim_y : int
        d_x, d_y.
    n_shared, n_specific_x, n_specific_y : int
        k, r_x, r_y (k + r_x <= d_x, k + r_y <= d_y; in a common space
        k + r_x + r_y <= d).
    correlation : float or array_like, shape (k,)
        :math:`\rho_i \in (0, 1]`, the correlation strength of each shared
        latent (real numbers: strings and booleans raise ``TypeError``).
    noise : float
        σ >= 0, isotropic noise level (``ValueError`` if the data overflow).
    common_space : bool
        Embed both modalities in one space (see above).
    exact_moments : bool
        Whiten the latents so that the sample covariance of the data equals
        the population covariance exactly (needs
        N > 2k + r_x + r_y + d_x + d_y); the estimators then recover the
        planted subspaces up to rounding.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    PlantedSubspaces

    Raises
    ------
    ValueError
        Sizes out of range or inconsistent, correlations outside (0, 1], or a
        working set larger than the machine's physical memory (refused before
        anything is drawn).
    TypeError
        Non-integer sizes, non-real correlations, non-boolean flags.

    Examples
    --------
    >>> from sheaftopo.fiber import make_planted_subspaces
    >>> data = make_planted_subspaces(1000, dim_x=8, dim_y=6, n_shared=2, seed=0)
    >>> data.X.shape, data.Y.shape, data.shared_x.shape, data.specific_y.shape
    ((1000, 8), (1000, 6), (8, 2), (6, 2))
    >>> data.canonical_correlations.round(4)
    array([0.8257, 0.8257])
    """
    n = check_int(n_samples, "n_samples", minimum=3)
    dx = check_int(dim_x, "dim_x", minimum=1)
    dy = check_int(dim_y, "dim_y", minimum=1)
    k = check_int(n_shared, "n_shared", minimum=0)
    rx = check_int(n_specific_x, "n_specific_x", minimum=0)
    ry = check_int(n_specific_y, "n_specific_y", minimum=0)
    sigma = check_real(noise, "noise", low=0.0)
    common_space = _check_flag(common_space, "common_space")
    exact_moments = _check_flag(exact_moments, "exact_moments")
    if common_space:
        if dx != dy:
            raise ValueError(
                f"common_space=True needs dim_x == dim_y (one space Z); got {dx} and {dy}"
            )
        if k + rx + ry > dx:
            raise ValueError(
                f"in a common space n_shared + n_specific_x + n_specific_y must be <= {dx}; "
                f"got {k} + {rx} + {ry}"
            )
    elif k + rx > dx or k + ry > dy:
        raise ValueError(
            f"need n_shared + n_specific_x <= dim_x and n_shared + n_specific_y <= dim_y; "
            f"got {k} + {rx} vs {dx} and {k} + {ry} vs {dy}"
        )
    widths = [k, k, rx, ry, dx, dy]
    total = sum(widths)
    if exact_moments and n <= total:
        raise ValueError(
            f"exact_moments needs n_samples > 2 n_shared + n_specific_x + n_specific_y + "
            f"dim_x + dim_y = {total}; got {n}"
        )
    # the latents, X, Y and their temporaries, all float64 (k, r_x, r_y <= d_x + d_y)
    check_allocation(
        8 * (n * (2 * total + 2 * (dx + dy)) + (dx + dy) ** 2),
        f"n_samples={n}, dim_x={dx}, dim_y={dy}",
    )
    rho = _correlations(correlation, k)
    rng = check_random_state(seed)
    if common_space:
        Q = _random_orthonormal(rng, dx, k + rx + ry)
        As, Ai, Bt = Q[:, :k], Q[:, k : k + rx], Q[:, k + rx :]
        Bs = As
    else:
        Qx = _random_orthonormal(rng, dx, k + rx)
        Qy = _random_orthonormal(rng, dy, k + ry)
        As, Ai = Qx[:, :k], Qx[:, k:]
        Bs, Bt = Qy[:, :k], Qy[:, k:]
    Lat = rng.standard_normal((n, total))
    if exact_moments:
        Lat -= Lat.mean(axis=0)
        Qm, Rm = np.linalg.qr(Lat)
        Lat = Qm * np.sign(np.diag(Rm)) * np.sqrt(n)
    s, w, u, v, ex, ey = np.split(Lat, np.cumsum(widths)[:-1], axis=1)
    s2 = s * rho + w * np.sqrt(1.0 - rho**2)
    with np.errstate(over="ignore", invalid="ignore"):
        X = s @ As.T + u @ Ai.T + sigma * ex + rng.normal(0.0, 3.0, dx)
        Y = s2 @ Bs.T + v @ Bt.T + sigma * ey + rng.normal(0.0, 3.0, dy)
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError(f"noise = {sigma!r} is so large that the data overflow float64")
    # rho / (1 + sigma^2) without overflowing sigma^2 (it is 0 to float64 precision there)
    canonical = rho / (1.0 + sigma**2) if sigma < 1e150 else np.zeros_like(rho)
    return PlantedSubspaces(
        X=X,
        Y=Y,
        shared_x=_ro(As),
        specific_x=_ro(Ai),
        shared_y=_ro(Bs),
        specific_y=_ro(Bt),
        correlations=_ro(rho),
        canonical_correlations=_ro(canonical),
        noise=sigma,
        common_space=bool(common_space),
    )
