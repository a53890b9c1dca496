r"""Covariances, k-nearest neighbourhoods and the local-geometry alignment term.

A *neighbourhood* here is :math:`\mathcal{N}_k(i) = \{i\} \cup
\mathrm{kNN}_k(i)`: the point itself and its :math:`k` nearest other points
(Euclidean distance, ties broken by the smaller index), :math:`k+1` points in
all. Covariances are maximum-likelihood estimates (divided by the number of
samples, centred at the sample mean), the matrix that the Ledoit–Wolf and OAS
estimators shrink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.shrinkage import check_shrinkage, shrinkage_coefficients
from .._validation import as_points, check_choice, check_k, power_of_two_scale
from ._checks import as_pair
from ._divergences import stein_divergence, von_neumann_divergence
from ._spd import spd_distance

__all__ = [
    "LocalAlignment",
    "covariance",
    "knn_indices",
    "local_alignment",
    "local_covariances",
]

DIVERGENCES = ("stein", "affine", "log_euclidean", "bures", "von_neumann")

# Working buffers are kept near this many float64 entries (about 32 MB).
_BLOCK_ENTRIES = 1 << 22


def _batched_covariance(Xb: np.ndarray, shrinkage: str | float | None) -> np.ndarray:
    """Covariances of a batch of samples ``Xb`` of shape (B, s, d), shape (B, d, d)."""
    _, s, d = Xb.shape
    # shift by the first sample first (the covariance is shift-invariant): identical
    # samples then give exactly 0, and an offset from the origin costs no accuracy
    Xb = Xb - Xb[:, :1, :]
    Xc = Xb - Xb.mean(axis=1, keepdims=True)
    emp = np.swapaxes(Xc, 1, 2) @ Xc
    emp /= s
    if shrinkage is None:
        return emp
    mu = np.trace(emp, axis1=1, axis2=2) / d
    coef = shrinkage_coefficients(Xc, emp, shrinkage)
    out = emp * (1.0 - coef)[:, None, None]
    out[:, np.arange(d), np.arange(d)] += (coef * mu)[:, None]
    return out


def covariance(X: Any, *, shrinkage: Any = None) -> np.ndarray:
    r"""Covariance matrix of samples, optionally shrunk towards a multiple of the identity.

    .. math::

        S = \frac{1}{n} \sum_{i=1}^{n} (x_i - \bar x)(x_i - \bar x)^T, \qquad
        \hat\Sigma = (1 - \rho)\, S + \rho\, \frac{\operatorname{tr} S}{d}\, I.

    Computed on ``X`` divided by a power of two that brings its largest
    coordinate to unit scale (exact), and scaled back: covariances too large
    for float64 raise a ``ValueError``; entries below the float64 range
    underflow to the correctly rounded value (possibly 0).

    ``shrinkage=None`` returns :math:`S` (:math:`\rho = 0`; singular when
    :math:`n \le d`); a float sets :math:`\rho`; ``"ledoit_wolf"`` and
    ``"oas"`` choose :math:`\rho` from the data exactly as scikit-learn's
    ``ledoit_wolf`` and ``oas`` do (same formulas, vectorised here; the tests
    compare the two). A shrunk estimate with :math:`\rho > 0` is positive
    definite whenever the data are not all equal; note that the Ledoit–Wolf
    coefficient is 0 for two samples (and then the estimate is singular for
    :math:`d \ge 2`), while the OAS coefficient is positive.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Samples as rows, ``n >= 2``.
    shrinkage : {None, "ledoit_wolf", "oas"} or float in [0, 1], default None

    Returns
    -------
    ndarray, shape (d, d)

    Raises
    ------
    ValueError
        On NaN or inf, fewer than two samples, a bad ``shrinkage``, or a
        covariance above the float64 range.

    References
    ----------
    .. [1] O. Ledoit, M. Wolf, "A well-conditioned estimator for
       large-dimensional covariance matrices", J. Multivariate Anal. 88(2), 2004.
    .. [2] Y. Chen, A. Wiesel, Y. C. Eldar, A. O. Hero, "Shrinkage algorithms
       for MMSE covariance estimation", IEEE Trans. Signal Process. 58(10), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import covariance
    >>> X = np.array([[0.0, 0.0], [2.0, 0.0]])
    >>> covariance(X)
    array([[1., 0.],
           [0., 0.]])
    >>> covariance(X, shrinkage=0.5)
    array([[0.75, 0.  ],
           [0.  , 0.25]])
    """
    X = as_points(X, "X", dtype=np.float64)
    if X.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 samples to estimate a covariance; got {X.shape}")
    shrink = check_shrinkage(shrinkage)
    s = power_of_two_scale(X)
    return _scale_back(_batched_covariance((X / s)[None], shrink)[0], s)


def _scale_back(C: np.ndarray, s: float, what: str = "the covariance of X") -> np.ndarray:
    """Values ``C`` computed on data divided by the power of two ``s``, times ``s**2`` (exact).

    Refuses values beyond the float64 range (``what`` says which, naming the
    argument); values below it underflow to the correctly rounded (subnormal
    or zero) value.
    """
    e = 2 * (math.frexp(s)[1] - 1)
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(C, e)
    if not np.isfinite(out).all():
        raise ValueError(
            f"{what} overflows float64 (coordinates of about 2^{e // 2}, whose squares exceed "
            "the float64 range); rescale the data"
        )
    return out


#: Gram-identity squared distances not above this multiple of their rounding bound
#: (d + 2) eps (|x_i|^2 + |y_j|^2) are recomputed from the differences; the others
#: then carry a relative error below about 1.5 / 2^26 = 2.2e-8 (half that on the
#: distances).
_GRAM_RECOMPUTE = float(2**26)


def _norms(diff: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of ``diff`` as ``m ||diff / m||``, ``m = max |diff|``.

    No square under- or overflows, so tiny norms keep full precision (and 0
    rows give exactly 0).
    """
    top = np.abs(diff).max(axis=1)
    safe = np.where(top == 0, 1.0, top)
    scaled = diff / safe[:, None]
    return top * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))


def _diff_norms(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``||a_i - b_i||`` row by row, at the data's own scale (inf only beyond float64)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = _norms(A - B)
        bad = ~np.isfinite(out)
        if bad.any():  # coordinates near 1e308 of opposite signs: halve first (exact)
            out[bad] = 2.0 * _norms(A[bad] / 2.0 - B[bad] / 2.0)
    return out


def _distances(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, m) in the units of the data, each to a relative 1.1e-8.

    One matrix product (``|x|^2 + |y|^2 - 2 x.y`` after centring on the pooled
    mean) on the points divided by a power of two that brings the largest
    coordinate to [1/2, 1) (exact), square roots scaled back; then every entry
    too small against its rounding bound to be accurate (close points far
    from the centroid, duplicates), or tiny at that scale, is recomputed from
    the coordinate differences of the original points as ``m ||diff / m||``
    (:func:`_norms`), so small distances keep full precision whatever the
    magnitude of the other points. Entries are inf only where the distance
    exceeds the float64 range. Works in blocks of rows (bounded memory).
    """
    n, d = X.shape
    m = Y.shape[0]
    top = max(float(np.abs(X).max(initial=0.0)), float(np.abs(Y).max(initial=0.0)))
    e = math.frexp(top)[1] if top > 0 else 0
    Xs, Ys = np.ldexp(X, -e), np.ldexp(Y, -e)
    c = (Xs.sum(axis=0) + Ys.sum(axis=0)) / (n + m)
    Xc = Xs - c
    Yc = Ys - c
    sqx = np.einsum("ij,ij->i", Xc, Xc)
    sqy = np.einsum("ij,ij->i", Yc, Yc)
    D = Xc @ Yc.T
    D *= -2.0
    D += sqx[:, None]
    D += sqy[None, :]
    bound = _GRAM_RECOMPUTE * (d + 2) * float(np.finfo(np.float64).eps)
    rows = max(1, min(n, _BLOCK_ENTRIES // max(m, 1)))
    step = max(1, _BLOCK_ENTRIES // max(d, 1))
    with np.errstate(under="ignore", over="ignore"):
        for start in range(0, n, rows):
            block = D[start : start + rows]
            limit = np.maximum(bound * (sqx[start : start + rows, None] + sqy[None, :]), 2.0**-600)
            i, j = np.nonzero(block <= limit)
            i += start
            np.maximum(block, 0.0, out=block)
            np.sqrt(block, out=block)
            block[...] = np.ldexp(block, e)
            for lo in range(0, len(i), step):
                bi, bj = i[lo : lo + step], j[lo : lo + step]
                D[bi, bj] = _diff_norms(X[bi], Y[bj])
    return D


def _row_scaled_squares(diff: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
    """``sum_j diff_ij^2 / 4^e_r``, one power of two ``2^e_r`` per query row ``r``.

    The ranking key of the candidates of one row: dividing all of them by the
    same power of two is exact, so distances that tie exactly (integer
    coordinates, duplicates) give equal keys and the index decides, as
    ``theory/diagnostics-knn.md`` states; the scale brings the row's largest
    difference to [1/2, 1), so the squares neither overflow nor underflow at
    that row's scale. (Per-pair scaling, ``m ||diff / m||``, rounds differently
    for different ``m`` and broke such ties: sqrt(18) from (3, 3) and from
    (4, 1, 1) differ by an ulp.)
    """
    top = np.zeros(n_rows)
    np.maximum.at(top, rows, np.abs(diff).max(axis=1, initial=0.0))
    e = np.frexp(top)[1]
    scaled = np.ldexp(diff, -e[rows][:, None])
    return np.einsum("ij,ij->i", scaled, scaled)


def _knn(X: np.ndarray, k: int) -> np.ndarray:
    """Indices (n, k) of the k nearest other points, sorted by (distance, index).

    Candidates are found with the Gram identity |x|^2 + |y|^2 - 2 x.y (after
    centring, one matrix product per block of rows), keeping every point within
    a rigorous rounding margin of the k-th candidate; the candidates are then
    ranked by the squared distances computed from the differences, scaled by
    one power of two per row (:func:`_row_scaled_squares`), exact ties going
    to the smaller index.
    """
    n, d = X.shape
    Xs = X / power_of_two_scale(X)  # exact; the Gram identity at unit scale
    Xc = Xs - Xs.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    # |fl(D) - D| <= ~1.5 (d + 2) eps (|x|^2 + |y|^2) for the Gram-identity values
    slack = 8.0 * (d + 2) * np.finfo(np.float64).eps * (sq + sq.max())
    out = np.empty((n, k), dtype=np.int64)
    rows = max(1, min(n, _BLOCK_ENTRIES // n))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        b = stop - start
        D = Xc[start:stop] @ Xc.T
        D *= -2.0
        D += sq[start:stop, None]
        D += sq[None, :]
        local = np.arange(b)
        D[local, local + start] = np.inf  # a point is not its own neighbour
        kth = np.partition(D, k - 1, axis=1)[:, k - 1]
        r, c = np.nonzero(D <= (kth + slack[start:stop])[:, None])
        other = c != start + r  # a point is never its own neighbour, whatever D holds
        r, c = r[other], c[other]
        exact = _row_scaled_squares(Xs[start + r] - Xs[c], r, b)
        order = np.lexsort((c, exact, r))
        c = c[order]
        first = np.searchsorted(r[order], local)  # r is sorted by row
        out[start:stop] = c[first[:, None] + np.arange(k)]
    return out


def knn_indices(X: Any, *, k: int) -> np.ndarray:
    r"""Indices of the :math:`k` nearest neighbours of every point, the point itself excluded.

    Each row is sorted by the Euclidean distance (computed from the
    differences, scaled so that no square under- or overflows, so that
    duplicates are at distance exactly 0), ties broken by the smaller index:
    a point with duplicates lists them first, in increasing index order, and
    never lists itself. The candidates are preselected on ``X`` divided by a
    power of two (exact) and ranked by distances from the differences at the
    data's own scale, so any finite magnitude works, mixed magnitudes too.
    Candidates are preselected with :math:`\|x\|^2 + \|y\|^2 - 2x^Ty` (one
    matrix product per block of rows, bounded memory), keeping every point
    within a rounding margin of the k-th, so the preselection never changes
    the result.

    Parameters
    ----------
    X : array_like, shape (n, d)
    k : int
        ``1 <= k <= n - 1``.

    Returns
    -------
    ndarray of int64, shape (n, k)

    Raises
    ------
    ValueError
        On NaN or inf or ``k`` out of range.

    Examples
    --------
    >>> from sheaftopo.geometry import knn_indices
    >>> knn_indices([[0.0], [1.0], [3.0], [3.5]], k=2)
    array([[1, 2],
           [0, 2],
           [3, 1],
           [2, 1]])
    """
    X = as_points(X, "X", dtype=np.float64)
    return _knn(X, check_k(k, X.shape[0]))


def _local_covariances(
    X: np.ndarray, k: int, shrinkage: str | float | None, nbrs: np.ndarray | None = None
) -> np.ndarray:
    n, d = X.shape
    if nbrs is None:
        nbrs = _knn(X, k)
    idx = np.concatenate([np.arange(n)[:, None], nbrs], axis=1)  # (n, k + 1)
    out = np.empty((n, d, d))
    rows = max(1, min(n, _BLOCK_ENTRIES // max(1, (k + 1) * d + d * d)))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        out[start:stop] = _batched_covariance(X[idx[start:stop]], shrinkage)
    return out


def local_covariances(X: Any, *, k: int, shrinkage: Any = None) -> np.ndarray:
    r"""Covariance of every point's k-nearest neighbourhood, vectorised.

    For each point :math:`i`, the covariance (as :func:`covariance`, with the
    same ``shrinkage`` options) of the :math:`k + 1` points
    :math:`\{x_i\} \cup \mathrm{kNN}_k(x_i)`, centred at their own mean.
    Scaled as :func:`covariance` (too large for float64: ``ValueError``).
    Without shrinkage these matrices have rank at most :math:`\min(k, d)`,
    so they are singular when :math:`k < d`; use ``shrinkage`` to feed them
    to the SPD functions.

    Parameters
    ----------
    X : array_like, shape (n, d)
    k : int
        Neighbours per point, ``1 <= k <= n - 1``.
    shrinkage : {None, "ledoit_wolf", "oas"} or float in [0, 1], default None

    Returns
    -------
    ndarray, shape (n, d, d)

    Raises
    ------
    ValueError
        On NaN or inf, ``k`` out of range, a bad ``shrinkage``, or a
        covariance above the float64 range.

    Examples
    --------
    Points on a line have rank-one local covariances along it:

    >>> import numpy as np
    >>> from sheaftopo.geometry import local_covariances
    >>> X = np.column_stack([np.arange(5.0), np.zeros(5)])
    >>> C = local_covariances(X, k=2)
    >>> C.shape, float(C[2, 0, 0]), float(C[2, 1, 1])
    ((5, 2, 2), 0.6666666666666666, 0.0)
    """
    X = as_points(X, "X", dtype=np.float64)
    k = check_k(k, X.shape[0])
    shrink = check_shrinkage(shrinkage)
    s = power_of_two_scale(X)
    return _scale_back(_local_covariances(X / s, k, shrink), s)


@dataclass(frozen=True)
class LocalAlignment:
    """The local-geometry alignment term of two paired embedding sets.

    Attributes
    ----------
    values : ndarray, shape (n,)
        The divergence between the two local covariances at each paired point.
    mean : float
        Their mean, the alignment term.
    divergence : str
        Which divergence (see :func:`local_alignment`).
    """

    values: np.ndarray
    mean: float
    divergence: str


def local_alignment(
    X: Any,
    Y: Any,
    *,
    k: int,
    divergence: str = "stein",
    shrinkage: Any = "ledoit_wolf",
) -> LocalAlignment:
    r"""Compare the local covariances of two paired embedding sets point by point.

    With :math:`\Sigma^X_i` and :math:`\Sigma^Y_i` the (shrunk) covariances of
    the k-nearest neighbourhoods of :math:`x_i` in :math:`X` and of
    :math:`y_i` in :math:`Y` (each in its own space; see
    :func:`local_covariances`), returns
    :math:`D(\Sigma^X_i, \Sigma^Y_i)` for each :math:`i` and their mean, with
    :math:`D` one of

    * ``"stein"`` (default): the Jensen–Bregman log-det divergence
      :func:`stein_divergence`, affine-invariant and cheap;
    * ``"affine"``, ``"log_euclidean"``, ``"bures"``: the squared geodesic
      distance ``spd_distance(..., metric=...) ** 2``;
    * ``"von_neumann"``: :func:`von_neumann_divergence`
      :math:`\operatorname{tr}(\Sigma^X\log\Sigma^X - \Sigma^X\log\Sigma^Y
      - \Sigma^X + \Sigma^Y)`, the divergence that completes the proposal's
      term :math:`\operatorname{tr}(\Sigma^X\log\Sigma^Y)`.

    Each is zero exactly when the two covariances agree. The proposal's
    :math:`\operatorname{tr}(\Sigma_V \log \Sigma_T)` alone is not offered: it
    is not zero at equality, is unbounded below and is not invariant to a
    common change of basis (``theory/spd-stein-divergence.md``).

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (n, d)
        Paired rows (row i of ``X`` and of ``Y`` describe the same item), same
        dimension ``d`` (covariances of different sizes cannot be compared).
    k : int
        Neighbours per point, ``1 <= k <= n - 1``.
    divergence : {"stein", "affine", "log_euclidean", "bures", "von_neumann"}
    shrinkage : {"ledoit_wolf", "oas", None} or float in [0, 1], default "ledoit_wolf"
        Passed to :func:`local_covariances`; with ``None`` and :math:`k < d`
        the covariances are singular and a ``ValueError`` says so.

    Returns
    -------
    LocalAlignment

    Raises
    ------
    ValueError
        On NaN or inf, different row counts or dimensions, ``k`` out of range,
        bad options, or local covariances that are not positive definite.

    References
    ----------
    .. [1] S. Sra, "Positive definite matrices and the S-divergence",
       Proceedings of the AMS 144(7), 2016.

    Examples
    --------
    Translating a set leaves its local covariances unchanged; doubling it
    multiplies them by 4, which costs :math:`d \log\cosh(\log 2) = d \log 1.25`
    at every point:

    >>> import numpy as np
    >>> from sheaftopo.geometry import local_alignment
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> local_alignment(X, X + 5.0, k=8).mean
    0.0
    >>> res = local_alignment(X, 2.0 * X, k=8, shrinkage=0.1)
    >>> bool(np.allclose(res.values, 3 * np.log(1.25)))
    True
    """
    X, Y = as_pair(X, Y, paired=True, same_dim=True)
    k = check_k(k, X.shape[0])
    divergence = check_choice(divergence, "divergence", DIVERGENCES)
    shrink = check_shrinkage(shrinkage)
    # common unit scale s (exact): Stein, affine and log-Euclidean values are invariant
    # under the common congruence by s, Bures^2 and von Neumann scale by s^2
    s = power_of_two_scale(np.array([np.abs(X).max(), np.abs(Y).max()]))
    SX = _local_covariances(X / s, k, shrink)
    SY = _local_covariances(Y / s, k, shrink)
    try:
        if divergence == "stein":
            values = stein_divergence(SX, SY)
        elif divergence == "von_neumann":
            values = von_neumann_divergence(SX, SY)
        else:
            values = spd_distance(SX, SY, metric=divergence) ** 2
    except ValueError as err:
        raise ValueError(
            f"the local covariances (k = {k}, shrinkage = {shrinkage!r}) are not all "
            f"positive definite: {err}. With k < d = {X.shape[1]} they are singular "
            "unless shrunk; pass shrinkage='ledoit_wolf' or a positive float"
        ) from None
    values = np.asarray(values, dtype=np.float64).reshape(X.shape[0])
    # the mean at unit scale (a power of two, exact), so the sum cannot overflow
    top = power_of_two_scale(values)
    mean = float(np.mean(values / top)) * top
    if divergence in ("bures", "von_neumann"):
        what = f"the {divergence} divergence of the local covariances of X and Y"
        values = _scale_back(values, s, what)
        mean = float(_scale_back(np.array(mean), s, what))
    return LocalAlignment(values=values, mean=mean, divergence=divergence)
