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

This module holds the result types and the estimator; principal angles are in
:mod:`~sheaftopo.fiber._principal_angles`, the planted model in
:mod:`~sheaftopo.fiber._planted`, and the canonical correlation analysis
itself in :mod:`sheaftopo._core.cca`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.cca import canonical_svd, center_and_scale, column_space
from .._validation import as_points, check_int, check_random_state, check_real
from ._numeric import exponent_of
from ._principal_angles import _angles, _correlation_angles, _orth_columns

__all__ = ["ModalitySubspaces", "SubspaceDecomposition", "subspace_decomposition"]

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


def _shared_rule(n_shared: Any) -> tuple[str, int | None]:
    """The rule choosing the shared dimension, and the fixed dimension (or None)."""
    if isinstance(n_shared, str):
        if n_shared not in RULES:
            raise ValueError(
                f"n_shared must be an int or one of 'permutation', 'threshold'; got {n_shared!r}"
            )
        return n_shared, None
    return "fixed", check_int(n_shared, "n_shared", minimum=0)


def _factor(
    M: np.ndarray, name: str, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(centred scaled data, mean, U, s, Vt, scale exponent) of one modality."""
    # centred and divided by powers of two (exact): neither the mean nor the
    # squares over- or underflow
    Mc, mean, exponent, spread = center_and_scale(np.asarray(M, dtype=np.float64), True)
    if spread == 0:
        raise ValueError(f"{name} has zero variance (every row is the same)")
    U, s, Vt = column_space(Mc, lam)
    return Mc, mean, U, s, Vt, int(exponent)


def _fixed_dimension(fixed: int, r: int) -> int:
    """A shared dimension given by the caller, at most the number r of correlations."""
    if fixed > r:
        raise ValueError(
            f"n_shared must be <= the number of canonical correlations, {r} "
            f"(= min(rank X, rank Y)); got {fixed}"
        )
    return int(fixed)


def _permutation_dimension(
    Ux: np.ndarray,
    Uy: np.ndarray,
    rho: np.ndarray,
    B: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[int, np.ndarray]:
    """Shared dimension and p-values of the max-statistic permutation test.

    The null draws B permutations of Y's rows (the first N rows ``Uy`` of its
    basis) and records the largest canonical correlation of each; k is the
    number of leading correlations whose p-value is at most ``level``.
    """
    n = Ux.shape[0]
    null = np.empty(B)
    for b in range(B):
        perm = rng.permutation(n)
        null[b] = np.linalg.svd(Ux.T @ Uy[perm], compute_uv=False)[0]
    p_values = (1.0 + (null[None, :] >= rho[:, None]).sum(axis=1)) / (B + 1.0)
    fails = np.flatnonzero(p_values > level)
    return (int(fails[0]) if len(fails) else len(rho)), p_values


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
    rule, fixed = _shared_rule(n_shared)
    thr = check_real(threshold, "threshold", low=0.0, high=1.0)
    lvl = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    B = check_int(n_permutations, "n_permutations", minimum=1, maximum=MAX_PERMUTATIONS)
    lam = check_real(reg, "reg", low=0.0)
    spec_x, spec_y = _n_specific(n_specific)
    rng = check_random_state(seed)

    Xc, mx, Ux, sx, Vx, ex = _factor(Xv, "X", lam)
    Yc, my, Uy, sy, Vy, ey = _factor(Yv, "Y", lam)
    P, rho, Rt = canonical_svd(Ux[:n], Uy[:n])
    if rule == "fixed":
        k, p_values = _fixed_dimension(fixed, len(rho)), None  # type: ignore[arg-type]
    elif rule == "threshold":
        k, p_values = int((rho >= thr).sum()), None
    else:
        k, p_values = _permutation_dimension(Ux[:n], Uy[:n], rho, B, lvl, rng)
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
