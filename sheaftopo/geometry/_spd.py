r"""Geometry of symmetric positive definite (SPD) matrices, native NumPy and batched.

Three Riemannian metrics on the cone :math:`\mathcal{S}_{++}^n` of SPD
matrices, selected everywhere by ``metric=``:

``"affine"`` (affine-invariant, the default)
    :math:`g_P(U, V) = \operatorname{tr}(P^{-1} U P^{-1} V)`, with

    .. math::

        d(P, Q) = \|\log(P^{-1/2} Q P^{-1/2})\|_F
                = \Big(\sum_i \log^2 \lambda_i(P^{-1} Q)\Big)^{1/2}, \qquad
        \operatorname{Log}_P(Q) = P^{1/2} \log(P^{-1/2} Q P^{-1/2}) P^{1/2},

    :math:`\operatorname{Exp}_P(V) = P^{1/2} \exp(P^{-1/2} V P^{-1/2}) P^{1/2}`
    and :math:`\gamma(t) = P^{1/2} (P^{-1/2} Q P^{-1/2})^t P^{1/2}`.
    Every formula :math:`P^{1/2} f(P^{-1/2} X P^{-1/2}) P^{1/2}` is computed as
    :math:`L f(L^{-1} X L^{-T}) L^T` with the Cholesky factor :math:`P = L L^T`
    (equal, since :math:`P^{1/2} = L O` with :math:`O` orthogonal), which costs
    one Cholesky factorisation and one symmetric eigendecomposition instead of
    matrix square roots.

``"log_euclidean"``
    The pullback of the Euclidean metric on symmetric matrices by the matrix
    logarithm: :math:`d(P, Q) = \|\log P - \log Q\|_F`,
    :math:`\gamma(t) = \exp((1 - t)\log P + t \log Q)`,
    :math:`\operatorname{Log}_P(Q) = D\exp_{\log P}[\log Q - \log P]` and
    :math:`\operatorname{Exp}_P(V) = \exp(\log P + D\log_P[V])`, the
    differentials by the Daleckii–Krein formula
    :math:`D f(A)[H] = U (f^{[1]}(\lambda) \circ (U^T H U)) U^T` for
    :math:`A = U \operatorname{diag}(\lambda) U^T`, with the first divided
    differences :math:`f^{[1]}(\lambda)_{ij} = (f(\lambda_i) - f(\lambda_j)) /
    (\lambda_i - \lambda_j)` (:math:`f'(\lambda_i)` when equal), evaluated in a
    cancellation-free form.

``"bures"`` (Bures–Wasserstein)
    The Wasserstein-2 geometry of centred Gaussians,
    :math:`g_P(U, V) = \tfrac12 \operatorname{tr}(\mathcal{L}_P[U] V)` with
    :math:`\mathcal{L}_P[V]` the solution :math:`X` of :math:`PX + XP = V`:

    .. math::

        d(P, Q)^2 = \operatorname{tr} P + \operatorname{tr} Q
                    - 2 \operatorname{tr}(P^{1/2} Q P^{1/2})^{1/2}, \qquad
        \operatorname{Log}_P(Q) = (T - I) P + P (T - I),

    :math:`\operatorname{Exp}_P(V) = (I + \mathcal{L}_P[V]) P (I + \mathcal{L}_P[V])`
    and :math:`\gamma(t) = ((1-t) I + t T) P ((1-t) I + t T)`, where
    :math:`T = P^{-1/2}(P^{1/2} Q P^{1/2})^{1/2} P^{-1/2}` is the optimal
    transport map from :math:`\mathcal{N}(0, P)` to :math:`\mathcal{N}(0, Q)`
    (the SPD solution of :math:`TPT = Q`). The distance is evaluated as
    :math:`\min_{O \in O(n)} \|L_P - L_Q O\|_F` with Cholesky factors (the
    optimal :math:`O` from one SVD), which has no cancellation when
    :math:`P \approx Q`.

With these normalisations :math:`\|\operatorname{Log}_P(Q)\|_P = d(P, Q)`
for every metric. All functions take batches of shape ``(..., n, n)`` (batch
dimensions broadcast against each other), compute in float64, check
symmetry (relative tolerance 1e-7, see
:data:`sheaftopo.geometry._checks.SYMMETRY_RTOL`) and positive definiteness,
and use only the symmetric part ``(P + P.T) / 2`` of their input.

**Singular matrices.** A matrix counts as singular, and is refused with a
``ValueError`` naming the argument, when its smallest eigenvalue is at most
:math:`n \varepsilon` times its largest (:math:`n` the size,
:math:`\varepsilon \approx 2.2 \cdot 10^{-16}`; see
:data:`sheaftopo.geometry._checks.SINGULAR_RTOL_PER_N`): below that level
the smallest eigenvalue is rounding noise of the largest, and every
quantity here (logarithms, inverses) would be noise too.

**Scale.** Every matrix with entries beyond :math:`2^{\pm 300}` (about
1e±90) is brought to unit scale by a power of two (exact) before it is
factorised, and the scale is put back in closed form
(logarithms add :math:`k \log 2`, Bures quantities scale by square roots),
so any finite scale from about 1e-300 to 1e300 works, also for pairs at
very different scales; results that do not fit in float64 raise a
``ValueError`` instead of returning inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_weights, check_choice, check_int, check_real
from ._checks import (
    as_spd,
    as_spd_batch,
    as_symmetric,
    broadcast_batch,
    cholesky,
    matrix_scale_exponents,
    not_positive_definite,
    spd_eigh,
    unit_scaled,
)

__all__ = [
    "SPDMean",
    "spd_distance",
    "spd_exp",
    "spd_geodesic",
    "spd_log",
    "spd_mean",
    "stein_divergence",
    "von_neumann_divergence",
]

METRICS = ("affine", "log_euclidean", "bures")

_LN2 = math.log(2.0)
#: spd_mean refuses stacks whose matrices differ in scale by more than 2^_SCALE_SPAN
#: (at a common scale the smallest would fall below the float64 range)
_SCALE_SPAN = 900
#: exp(x) overflows float64 above this, and is below the smallest normal number under -this
_EXP_LIMIT = 708.0


# ---------------------------------------------------------------------------
# small matrix helpers
# ---------------------------------------------------------------------------


def _t(A: np.ndarray) -> np.ndarray:
    return np.swapaxes(A, -1, -2)


def _sym(A: np.ndarray) -> np.ndarray:
    return 0.5 * (A + _t(A))


def _from_eig(f: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``U diag(f) U^T`` for batches, exactly symmetric."""
    return _sym((U * f[..., None, :]) @ _t(U))


def _weighted_sum_from_eig(w: np.ndarray, f: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``sum_k w_k U_k diag(f_k) U_k^T`` (one matrix product over the stack), symmetric."""
    A = U * (w[:, None] * f)[:, None, :]
    return _sym(np.tensordot(A, U, axes=([0, 2], [0, 2])))


def _sinhc(x: np.ndarray) -> np.ndarray:
    """``sinh(x) / x`` with the value 1 at 0, accurate everywhere."""
    out = np.ones_like(x)
    small = np.abs(x) < 1e-3
    xs = x[small] ** 2
    out[small] = 1.0 + xs / 6.0 * (1.0 + xs / 20.0)
    big = ~small
    out[big] = np.sinh(x[big]) / x[big]
    return out


def _exp_divided_difference(mu: np.ndarray) -> np.ndarray:
    """``(e^{mu_i} - e^{mu_j}) / (mu_i - mu_j)`` (``e^{mu_i}`` on ties), exactly symmetric."""
    a = mu[..., :, None]
    b = mu[..., None, :]
    return np.exp(0.5 * (a + b)) * _sinhc(0.5 * (a - b))


def _logcosh(x: np.ndarray) -> np.ndarray:
    """``log cosh x`` without cancellation near 0 or overflow for large ``|x|``."""
    ax = np.abs(x)
    out = np.empty_like(ax)
    small = ax <= 20.0
    out[small] = np.log1p(2.0 * np.sinh(0.5 * ax[small]) ** 2)
    big = ~small
    out[big] = ax[big] + np.log1p(np.exp(-2.0 * ax[big])) - math.log(2.0)
    return out


def _result(x: np.ndarray) -> Any:
    """A 0-d result as a NumPy scalar, otherwise the array."""
    return x[()] if x.ndim == 0 else x


def _chol_inv(P: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factor ``L`` of ``P`` and its inverse."""
    L = cholesky(P, name)
    return L, np.linalg.inv(L)


def _whiten(Linv: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``L^{-1} X L^{-T}``."""
    return Linv @ X @ _t(Linv)


#: From this matrix size on, the eigenvalues of P^{-1} Q are computed pair by pair
#: with LAPACK's dsygvd (Cholesky, reduction and eigenvalues in one call, about
#: 20 % faster at n = 64 than the batched NumPy route, equal at n = 16 and
#: slower below, where the per-call overhead dominates).
_LAPACK_MIN_N = 24


def _log_times_pow2(lam: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``log(lam * 2^d)`` for positive ``lam`` and integer exponents ``d`` (broadcast).

    ``lam * 2^d`` itself (exact) where it is a normal float64, so that ordinary
    scales give bit-for-bit the unscaled result; ``log(lam) + d log 2`` where it
    would overflow or underflow.
    """
    with np.errstate(over="ignore", under="ignore"):
        z = np.ldexp(lam, d)
        ok = np.isfinite(z) & (z >= np.finfo(np.float64).tiny)
        return np.where(ok, np.log(np.where(ok, z, 1.0)), np.log(lam) + d * _LN2)


def _general_log_eigvals(P: np.ndarray, Q: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """Logarithms of the eigenvalues of ``P^{-1} Q`` (SPD P, Q), batched, ascending.

    Each matrix is first brought to unit scale by a power of two (exact), and
    the scales are added back as logarithms, so P and Q may lie anywhere in the
    float64 range, even at very different scales.
    """
    P, eP = unit_scaled(P, even=True)  # powers of four: exact Cholesky factors of 4^k I
    Q, eQ = unit_scaled(Q)
    return _log_times_pow2(_general_eigvals(P, Q, names), (eQ - eP)[..., None])


def _general_eigvals(P: np.ndarray, Q: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """Eigenvalues of ``P^{-1} Q`` (all positive for SPD P, Q), batched, ascending."""
    n = P.shape[-1]
    if n >= _LAPACK_MIN_N:
        from scipy.linalg import lapack

        shape = np.broadcast_shapes(P.shape, Q.shape)
        Pb = np.broadcast_to(P, shape).reshape(-1, n, n)
        Qb = np.broadcast_to(Q, shape).reshape(-1, n, n)
        flat = np.empty((Pb.shape[0], n))
        for i in range(Pb.shape[0]):
            w, _, info = lapack.dsygvd(Qb[i], Pb[i], itype=1, jobz="N", uplo="L")
            if info > n:  # a leading minor of P is not positive definite
                raise not_positive_definite(P, names[0])
            if info != 0:  # pragma: no cover - LAPACK convergence failure
                raise RuntimeError(f"LAPACK dsygvd failed (info = {info}) on pair {i}")
            flat[i] = w
        lam = flat.reshape(shape[:-1])
    else:
        _, Linv = _chol_inv(P, names[0])
        lam = np.linalg.eigvalsh(_whiten(Linv, Q))
    lam = _small_end_from_inverse(P, Q, lam, names)
    if not (lam[..., 0] > 0).all():
        raise not_positive_definite(np.broadcast_to(Q, lam.shape + lam.shape[-1:]), names[1])
    return lam


#: eigenvalues of P^{-1} Q spanning more than this ratio get their small end from Q^{-1} P
_SPREAD_RECOMPUTE = 1e8


def _small_end_from_inverse(
    P: np.ndarray, Q: np.ndarray, lam: np.ndarray, names: tuple[str, str]
) -> np.ndarray:
    """Eigenvalues of ``P^{-1} Q`` with the ones below 1 recomputed as ``1 / eig(Q^{-1} P)``.

    Whitening by ``P`` gives every eigenvalue with an absolute error of about
    ``eps * lam_max``: when the spectrum spans many orders of magnitude (cond(P)
    cond(Q) near or beyond 1/eps), the small ones lose their digits or even
    come out negative, although P and Q are SPD. They are the reciprocals of
    the large eigenvalues of ``Q^{-1} P``, which whitening by ``Q`` computes to
    the same relative accuracy as the large ones here. Only the pairs whose
    spread exceeds :data:`_SPREAD_RECOMPUTE` are recomputed.
    """
    spread = ~(lam[..., 0] * _SPREAD_RECOMPUTE > lam[..., -1])
    if not spread.any():
        return lam
    shape = lam.shape[:-1]
    n = lam.shape[-1]
    Pb = np.broadcast_to(P, (*shape, n, n))[spread]
    Qb = np.broadcast_to(Q, (*shape, n, n))[spread]
    _, Linv = _chol_inv(Qb, names[1])
    mu = np.linalg.eigvalsh(_whiten(Linv, Pb))  # ascending: 1 / mu[::-1] ascending
    with np.errstate(divide="ignore"):
        inv = 1.0 / mu[..., ::-1]
    sub = lam[spread]
    lam = lam.copy()
    lam[spread] = np.where(sub >= 1.0, sub, inv)
    return lam


def _whitened_eigh(M: np.ndarray, X: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and vectors of ``W = M X M^T`` for SPD ``X``, invertible ``M``.

    (``M = L^{-1}`` whitens by ``P = L L^T``; ``M = L^T`` gives the Bures
    matrix ``L^T X L``.)

    ``eigh(W)`` gives every eigenvalue with an absolute error of about
    ``eps * lam_max``; when the spectrum spans more than
    :data:`_SPREAD_RECOMPUTE` (cond(P) cond(X) large, e.g. clustered spectra
    at cond 1e12 each) the small eigenvalues lose their digits or come out
    negative although ``X`` is SPD. For those matrices ``W = N N^T`` with
    ``N = M L_X`` (``L_X`` the Cholesky factor of ``X``), and the
    singular values of ``N`` carry absolute errors ``eps * sigma_max``, i.e.
    ``lam_i`` is recomputed as ``sigma_i^2`` with error about
    ``eps sqrt(lam_i lam_max)`` instead of ``eps lam_max``.
    """
    W = M @ X @ _t(M)
    lam, U = np.linalg.eigh(W)
    bad = ~(lam[..., 0] * _SPREAD_RECOMPUTE > lam[..., -1])
    if not bad.any():
        return lam, U
    full = lam.shape[:-1]
    n = lam.shape[-1]
    Lx = cholesky(np.broadcast_to(X, (*full, n, n))[bad], name)
    N = np.broadcast_to(M, (*full, n, n))[bad] @ Lx
    Un, sv, _ = np.linalg.svd(N)
    lam, U = lam.copy(), U.copy()
    lam[bad] = np.square(sv)[..., ::-1]
    U[bad] = Un[..., ::-1]
    return lam, U


def _spd_log(P: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log P``, the logarithms of the eigenvalues of ``P`` and its eigenvectors.

    The eigendecomposition is of ``P`` brought to unit scale by a power of two
    (exact), whose logarithm is added back, so no scale overflows.
    """
    Ps, e = unit_scaled(P)
    lam, U = spd_eigh(Ps, name)
    loglam = _log_times_pow2(lam, e[..., None])
    return _from_eig(loglam, U), loglam, U


_TANGENT_TOO_LARGE = "the tangent vector V is too large"


def _spd_exp_sym(S: np.ndarray, cause: str = _TANGENT_TOO_LARGE) -> np.ndarray:
    """``exp S`` for symmetric ``S``, refusing overflow and underflow to singularity.

    ``cause`` completes the error message (which argument is to blame).
    """
    if not np.isfinite(S).all():
        raise ValueError(f"the matrix exponential overflows: {cause} (its exponent overflows)")
    z, W = np.linalg.eigh(S)
    if z[..., -1].max(initial=-np.inf) > 709.0:
        raise ValueError(
            f"the matrix exponential overflows: {cause} "
            f"(an eigenvalue of the exponent is {float(z[..., -1].max()):.6g} > 709)"
        )
    if z[..., 0].min(initial=np.inf) < -_EXP_LIMIT:
        raise ValueError(
            f"the matrix exponential underflows to a singular matrix: {cause} "
            f"(an eigenvalue of the exponent is {float(z[..., 0].min()):.6g} < -708)"
        )
    return _from_eig(np.exp(z), W)


def _finite_output(M: np.ndarray, what: str, cause: str) -> np.ndarray:
    """``M`` when finite; else a ``ValueError`` saying that ``what`` overflows float64."""
    if not np.isfinite(M).all():
        raise ValueError(f"{what} overflows float64: {cause}")
    return M


# ---------------------------------------------------------------------------
# Bures–Wasserstein building blocks
# ---------------------------------------------------------------------------


def _bures_distance(
    P: np.ndarray, Q: np.ndarray, names: tuple[str, str] = ("P", "Q")
) -> np.ndarray:
    """``min_O ||L_P - L_Q O||_F`` over orthogonal ``O``, batched (no cancellation).

    The Cholesky factors are of the matrices brought to unit scale by powers of
    four (exact), scaled back by the square roots (powers of two), and the norm
    is taken at unit scale too, so every scale in the float64 range works.
    """
    Ps, eP = unit_scaled(P, even=True)
    Qs, eQ = unit_scaled(Q, even=True)
    A = np.ldexp(cholesky(Ps, names[0]), (eP // 2)[..., None, None])
    B = np.ldexp(cholesky(Qs, names[1]), (eQ // 2)[..., None, None])
    W, _, Vt = np.linalg.svd(_t(B) @ A)
    diff, e = unit_scaled(A - B @ (W @ Vt))
    return np.ldexp(np.sqrt(np.einsum("...ij,...ij->...", diff, diff)), e)


def _bures_map_times_base(P: np.ndarray, Q: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """``T P`` with ``T`` the Bures map from ``P`` to ``Q`` (``T P T = Q``).

    Computed on ``P`` and ``Q`` at unit scale (powers of four, exact):
    ``T P = 2^((e_P + e_Q) / 2) T' P'``. The product is checked to be finite.
    """
    P, eP = unit_scaled(P, even=True)
    Q, eQ = unit_scaled(Q, even=True)
    L, Linv = _chol_inv(P, names[0])
    lam, U = _whitened_eigh(_t(L), Q, names[1])  # L^T Q L
    if not (lam[..., 0] > 0).all():
        raise not_positive_definite(np.broadcast_to(Q, U.shape), names[1])
    root = _from_eig(np.sqrt(lam), U)  # (L^T Q L)^{1/2}
    # T = L^{-T} root L^{-1}, so T P = L^{-T} root L^T.
    with np.errstate(over="ignore"):
        TP = np.ldexp(_t(Linv) @ root @ _t(L), ((eP + eQ) // 2)[..., None, None])
    return _finite_output(TP, "the Bures map", f"{names[0]} and {names[1]} are too large")


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------


def spd_distance(P: Any, Q: Any, *, metric: str = "affine") -> Any:
    r"""Geodesic distance between SPD matrices for the chosen metric.

    .. math::

        d_{\mathrm{AI}}(P, Q) = \Big(\sum_i \log^2 \lambda_i(P^{-1} Q)\Big)^{1/2},\quad
        d_{\mathrm{LE}}(P, Q) = \|\log P - \log Q\|_F,\quad
        d_{\mathrm{BW}}(P, Q) = \big(\operatorname{tr} P + \operatorname{tr} Q
        - 2 \operatorname{tr}(P^{1/2} Q P^{1/2})^{1/2}\big)^{1/2}.

    All three are distances (not squared). :math:`d_{\mathrm{AI}}` is computed
    from the eigenvalues of :math:`L^{-1} Q L^{-T}` (:math:`P = LL^T`), one
    Cholesky factorisation and one ``eigvalsh`` per pair (batched NumPy below
    24 x 24, LAPACK's ``dsygvd`` pair by pair from there on);
    :math:`d_{\mathrm{BW}}` as :math:`\min_{O} \|L_P - L_Q O\|_F` (one SVD),
    which equals the trace formula and stays accurate when :math:`P \approx Q`.

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; the batch dimensions broadcast against each other.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"
        See the module documentation.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)
        The distances, over the broadcast batch shape.

    Raises
    ------
    ValueError
        If a matrix is not symmetric (relative tolerance 1e-7), not positive
        definite, contains NaN or inf, or if the shapes do not broadcast.

    See Also
    --------
    stein_divergence : a cheaper affine-invariant divergence.

    References
    ----------
    .. [1] X. Pennec, P. Fillard, N. Ayache, "A Riemannian framework for tensor
       computing", International Journal of Computer Vision 66(1), 2006.
    .. [2] V. Arsigny, P. Fillard, X. Pennec, N. Ayache, "Geometric means in a
       novel vector space structure on symmetric positive-definite matrices",
       SIAM J. Matrix Anal. Appl. 29(1), 2007.
    .. [3] R. Bhatia, T. Jain, Y. Lim, "On the Bures–Wasserstein distance between
       positive definite matrices", Expositiones Mathematicae 37(2), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_distance
    >>> P, Q = np.eye(2), np.diag([np.e, 1.0])
    >>> float(spd_distance(P, Q))
    1.0
    >>> float(spd_distance(P, 4 * P, metric="bures"))  # tr I + tr 4I - 2 tr 2I = 2
    1.4142135623730951
    >>> spd_distance(np.stack([P, Q]), Q).shape
    (2,)
    """
    metric = check_choice(metric, "metric", METRICS)
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    if metric == "affine":
        logs = _general_log_eigvals(P, Q, ("P", "Q"))
        return _result(np.sqrt(np.einsum("...i,...i->...", logs, logs)))
    if metric == "log_euclidean":
        diff = _spd_log(P, "P")[0] - _spd_log(Q, "Q")[0]
        return _result(np.sqrt(np.einsum("...ij,...ij->...", diff, diff)))
    return _result(_bures_distance(P, Q))


def spd_log(P: Any, base: Any, *, metric: str = "affine") -> np.ndarray:
    r"""Riemannian logarithm: the tangent vector at ``base`` that points to ``P``.

    For ``metric="affine"``,
    :math:`\operatorname{Log}_B(P) = B^{1/2}\log(B^{-1/2} P B^{-1/2}) B^{1/2}`;
    for ``"log_euclidean"``, :math:`D\exp_{\log B}[\log P - \log B]`; for
    ``"bures"``, :math:`(T - I)B + B(T - I)` with :math:`T` the optimal map
    from :math:`\mathcal{N}(0, B)` to :math:`\mathcal{N}(0, P)`. In every case
    :math:`\operatorname{Exp}_B(\operatorname{Log}_B(P)) = P` and the norm of
    the result at ``base`` is ``spd_distance(P, base, metric=metric)``.

    Parameters
    ----------
    P : array_like, shape (..., n, n)
        The target point(s), SPD.
    base : array_like, shape (..., n, n)
        The base point(s), SPD; batch dimensions broadcast with ``P``'s.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"

    Returns
    -------
    ndarray, shape (..., n, n)
        Symmetric tangent vectors (exactly symmetric), float64.

    Raises
    ------
    ValueError
        On non-symmetric, non-positive-definite (also numerically singular)
        or non-finite input, shapes that do not broadcast, or a tangent vector
        beyond the float64 range (``P`` too far from ``base``).

    See Also
    --------
    spd_exp : the inverse map.

    References
    ----------
    .. [1] X. Pennec, P. Fillard, N. Ayache, "A Riemannian framework for tensor
       computing", International Journal of Computer Vision 66(1), 2006.
    .. [2] L. Malagò, L. Montrucchio, G. Pistone, "Wasserstein Riemannian
       geometry of Gaussian densities", Information Geometry 1, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_log
    >>> spd_log(np.diag([np.e, 1.0]), np.eye(2))
    array([[1., 0.],
           [0., 0.]])
    >>> spd_log(4 * np.eye(2), np.eye(2), metric="bures")  # T = 2I: (T - I) + (T - I)
    array([[2., 0.],
           [0., 2.]])
    """
    metric = check_choice(metric, "metric", METRICS)
    P = as_spd(P, "P")
    B = as_spd(base, "base")
    broadcast_batch(P, B, ("P", "base"))
    too_far = "P is too far from base"
    if metric == "affine":
        # Log_B(P) = 2^e_B L' (log W' + (e_P - e_B) log 2 I) L'^T with B, P at unit scale
        Bs, eB = unit_scaled(B, even=True)
        Ps, eP = unit_scaled(P)
        L, Linv = _chol_inv(Bs, "base")
        lam, U = _whitened_eigh(Linv, Ps, "P")
        if not (lam[..., 0] > 0).all():
            raise not_positive_definite(np.broadcast_to(P, U.shape), "P")
        LU = L @ U
        logs = _log_times_pow2(lam, (eP - eB)[..., None])
        with np.errstate(over="ignore"):
            out = np.ldexp(_sym((LU * logs[..., None, :]) @ _t(LU)), eB[..., None, None])
        return _finite_output(out, "the logarithm", too_far)
    if metric == "log_euclidean":
        logP = _spd_log(P, "P")[0]
        _, m, U = _spd_log(B, "base")
        H = _t(U) @ logP @ U
        H = H - np.eye(H.shape[-1]) * m[..., None, :]
        with np.errstate(over="ignore", invalid="ignore"):
            out = _sym(U @ (H * _exp_divided_difference(m)) @ _t(U))
        return _finite_output(out, "the logarithm", too_far)
    X = _bures_map_times_base(B, P, ("base", "P"))  # T B
    with np.errstate(over="ignore", invalid="ignore"):
        out = _sym(X + _t(X) - 2.0 * B)
    return _finite_output(out, "the logarithm", too_far)


def spd_exp(V: Any, base: Any, *, metric: str = "affine") -> np.ndarray:
    r"""Riemannian exponential :math:`\operatorname{Exp}_B(V)` of a symmetric tangent vector.

    For ``metric="affine"``,
    :math:`\operatorname{Exp}_B(V) = B^{1/2}\exp(B^{-1/2} V B^{-1/2}) B^{1/2}`
    (defined for every symmetric :math:`V`); for ``"log_euclidean"``,
    :math:`\exp(\log B + D\log_B[V])`; for ``"bures"``,
    :math:`(I + X) B (I + X) = B + V + X B X` with :math:`X = \mathcal{L}_B[V]`
    the solution of :math:`BX + XB = V`. The Bures exponential is positive
    semi-definite for every :math:`V` but positive definite only when
    :math:`I + X` is invertible, and :math:`t \mapsto \operatorname{Exp}_B(tV)`
    is a geodesic only while :math:`I + tX` stays positive semi-definite.

    Parameters
    ----------
    V : array_like, shape (..., n, n)
        Symmetric tangent vector(s) (any definiteness).
    base : array_like, shape (..., n, n)
        SPD base point(s); batch dimensions broadcast with ``V``'s.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"

    Returns
    -------
    ndarray, shape (..., n, n)
        The points reached, exactly symmetric, float64.

    Raises
    ------
    ValueError
        On non-symmetric or non-finite input, a ``base`` that is not positive
        definite, mismatched shapes, or (affine and log-Euclidean metrics) a
        tangent vector so large that the matrix exponential overflows or
        underflows to a singular matrix.

    See Also
    --------
    spd_log : the inverse map.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_exp
    >>> np.round(spd_exp(np.diag([1.0, 0.0]), np.eye(2)), 6)
    array([[2.718282, 0.      ],
           [0.      , 1.      ]])
    >>> spd_exp(2 * np.eye(2), np.eye(2), metric="bures")  # X = I: (2I) I (2I)
    array([[4., 0.],
           [0., 4.]])
    """
    metric = check_choice(metric, "metric", METRICS)
    V = as_symmetric(V, "V")
    B = as_spd(base, "base")
    broadcast_batch(V, B, ("V", "base"))
    if metric == "log_euclidean":
        _, m, U = _spd_log(B, "base")
        H = _t(U) @ V @ U
        with np.errstate(over="ignore", invalid="ignore"):
            Z = H / _exp_divided_difference(m) + np.eye(H.shape[-1]) * m[..., None, :]
        return _sym(U @ _spd_exp_sym(_sym(Z)) @ _t(U))
    # affine and Bures: Exp_{cB}(cV) = c Exp_B(V); work with base at unit scale
    Bs, eB = unit_scaled(B, even=True)
    with np.errstate(over="ignore"):
        Vs = np.ldexp(V, -eB[..., None, None])
    if metric == "affine":
        L, Linv = _chol_inv(Bs, "base")
        with np.errstate(over="ignore", invalid="ignore"):
            E = _spd_exp_sym(_whiten(Linv, Vs))
        out = _sym(L @ E @ _t(L))
    else:
        mu, U = spd_eigh(Bs, "base")
        if not np.isfinite(Vs).all():
            raise ValueError(f"the Bures exponential overflows float64: {_TANGENT_TOO_LARGE}")
        H = _t(U) @ Vs @ U
        X = H / (mu[..., :, None] + mu[..., None, :])  # the Lyapunov solution in U's basis
        with np.errstate(over="ignore", invalid="ignore"):
            inner = np.eye(H.shape[-1]) * mu[..., None, :] + H + (X * mu[..., None, :]) @ X
            out = _sym(U @ inner @ _t(U))
    with np.errstate(over="ignore"):
        out = np.ldexp(out, eB[..., None, None])
    return _finite_output(out, "the exponential", _TANGENT_TOO_LARGE)


def spd_geodesic(P: Any, Q: Any, t: Any, *, metric: str = "affine") -> np.ndarray:
    r"""The point at parameter ``t`` on the geodesic from ``P`` (``t = 0``) to ``Q`` (``t = 1``).

    .. math::

        \gamma_{\mathrm{AI}}(t) = P^{1/2}(P^{-1/2} Q P^{-1/2})^t P^{1/2},\quad
        \gamma_{\mathrm{LE}}(t) = \exp((1-t)\log P + t\log Q),\quad
        \gamma_{\mathrm{BW}}(t) = (1-t)^2 P + t(1-t)(TP + PT) + t^2 Q,

    the last being :math:`((1-t)I + tT) P ((1-t)I + tT)` with :math:`TPT = Q`.
    Along each, :math:`d(P, \gamma(t)) = |t|\, d(P, Q)` (for
    :math:`t \in [0, 1]` in the Bures case).

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD end points; batch dimensions broadcast.
    t : float or array_like, shape (...)
        Parameter(s), broadcast with the batch dimensions. Any real for the
        affine and log-Euclidean metrics (the geodesics extend); ``[0, 1]``
        for ``"bures"``, whose curve is a geodesic only there.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"

    Returns
    -------
    ndarray, shape (..., n, n)
        The points, exactly symmetric, float64.

    Raises
    ------
    TypeError
        If ``t`` is a boolean (or boolean array) or not real.
    ValueError
        On invalid matrices or shapes, non-finite ``t``, ``t`` outside
        ``[0, 1]`` for ``metric="bures"``, or a ``t`` so far along the
        (extended) geodesic that the point's eigenvalues leave the float64
        range (about :math:`e^{\pm 708}`).

    Examples
    --------
    The affine-invariant midpoint of :math:`I` and :math:`4I` is the geometric
    mean :math:`2I`; the Bures midpoint is :math:`(1.5)^2 I`:

    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_geodesic
    >>> spd_geodesic(np.eye(2), 4 * np.eye(2), 0.5)
    array([[2., 0.],
           [0., 2.]])
    >>> spd_geodesic(np.eye(2), 4 * np.eye(2), 0.5, metric="bures")
    array([[2.25, 0.  ],
           [0.  , 2.25]])
    >>> spd_geodesic(np.eye(2), 4 * np.eye(2), [0.0, 1.0]).shape
    (2, 2, 2)
    """
    metric = check_choice(metric, "metric", METRICS)
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    batch = broadcast_batch(P, Q, ("P", "Q"))
    tt = _as_parameter(t)
    if metric == "bures" and ((tt < 0).any() or (tt > 1).any()):
        raise ValueError(
            f"t must lie in [0, 1] for metric='bures' (the curve is a geodesic only there); "
            f"got values in [{float(tt.min())}, {float(tt.max())}]"
        )
    try:
        shape = np.broadcast_shapes(batch, tt.shape)
    except ValueError:
        raise ValueError(
            f"t of shape {tt.shape} does not broadcast with the batch shape {batch} of P and Q"
        ) from None
    tt = np.broadcast_to(tt, shape)
    full = shape + P.shape[-2:]
    far = (
        f"t (values in [{float(tt.min()) if tt.size else 0.0:g}, "
        f"{float(tt.max()) if tt.size else 0.0:g}]) reaches points of the geodesic outside "
        "the float64 range; use a smaller |t|"
    )
    if metric == "affine":
        # gamma(t) = 2^e_P L' exp(t log W) L'^T, log W = log W' + (e_Q - e_P) log 2,
        # with P = 2^e_P L' L'^T and W' = L'^{-1} Q' L'^{-T} at unit scale
        Ps, eP = unit_scaled(P, even=True)
        Qs, eQ = unit_scaled(Q)
        L, Linv = _chol_inv(Ps, "P")
        lam, U = _whitened_eigh(Linv, Qs, "Q")
        if not (lam[..., 0] > 0).all():
            raise not_positive_definite(np.broadcast_to(Q, U.shape), "Q")
        LU = np.broadcast_to(L @ U, full)
        with np.errstate(over="ignore", invalid="ignore"):
            ell = _log_times_pow2(lam, (eQ - eP)[..., None]) * tt[..., None]
            # log of the scale of the point's eigenvalues: exp(ell) times the scale of P
            logscale = np.log(np.abs(Ps).max(axis=(-1, -2))) + eP * _LN2
            top = ell + np.broadcast_to(logscale, shape)[..., None]
        if tt.size and not (np.abs(top) < _EXP_LIMIT).all():
            raise ValueError(far)
        out = _sym((LU * np.exp(ell)[..., None, :]) @ _t(LU))
        with np.errstate(over="ignore"):
            out = np.ldexp(out, np.broadcast_to(eP, shape)[..., None, None])
        return _finite_output(out, "the geodesic point", far)
    if metric == "log_euclidean":
        logP = _spd_log(P, "P")[0]
        logQ = _spd_log(Q, "Q")[0]
        w = tt[..., None, None]
        with np.errstate(over="ignore", invalid="ignore"):
            S = (1.0 - w) * logP + w * logQ
        return _spd_exp_sym(S, far)
    X = _bures_map_times_base(P, Q, ("P", "Q"))  # T P
    w = tt[..., None, None]
    with np.errstate(over="ignore", invalid="ignore"):
        out = _sym((1.0 - w) ** 2 * P + w * (1.0 - w) * (X + _t(X)) + w**2 * Q)
    return _finite_output(out, "the geodesic point", "P and Q are too large")


def _as_parameter(t: Any) -> np.ndarray:
    """The geodesic parameter(s): finite real numbers (not booleans), as float64."""
    try:
        kind = np.asarray(t).dtype.kind
    except (ValueError, TypeError):  # ragged nested sequences
        raise TypeError(f"t must be a real number or an array of them; got {t!r}") from None
    if kind == "b":
        raise TypeError(f"t must be a real number or an array of them, not a boolean; got {t!r}")
    tt = as_float_array(t, "t", dtype=np.float64)
    if not np.isfinite(tt).all():
        raise ValueError(f"t must be finite; got {t!r}")
    return tt


@dataclass(frozen=True)
class SPDMean:
    """A weighted Fréchet (Karcher) mean of SPD matrices, with solver diagnostics.

    Attributes
    ----------
    mean : ndarray, shape (n, n)
        The mean, exactly symmetric.
    n_iter : int
        Iterations performed (0 for closed forms).
    converged : bool
        Whether the gradient norm fell to ``tol`` within ``max_iter``
        iterations (always True for closed forms).
    gradient_norm : float
        Riemannian norm of the gradient of :math:`\\tfrac12 \\sum_i w_i
        d^2(M, P_i)` at the returned mean, i.e. :math:`\\|\\sum_i w_i
        \\operatorname{Log}_M(P_i)\\|_M` (for ``"log_euclidean"``,
        :math:`\\|\\sum_i w_i \\log P_i - \\log M\\|_F`).
    metric : str
        The metric used.
    """

    mean: np.ndarray
    n_iter: int
    converged: bool
    gradient_norm: float
    metric: str


def _affine_gradient(
    P: np.ndarray, w: np.ndarray, M: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Cholesky factor ``L`` of ``M``, ``G = sum_i w_i log(L^{-1} P_i L^{-T})`` and ``||G||_F``."""
    L, Linv = _chol_inv(M, "the current mean")
    lam, U = _whitened_eigh(Linv, P, "P")
    if not (lam[:, 0] > 0).all():
        raise not_positive_definite(P, "P")
    G = _weighted_sum_from_eig(w, np.log(lam), U)
    return L, G, float(np.linalg.norm(G))


def _affine_mean(P: np.ndarray, w: np.ndarray, M: np.ndarray, tol: float, max_iter: int) -> SPDMean:
    L, G, gnorm = _affine_gradient(P, w, M)
    step, it = 1.0, 0
    prev: tuple[np.ndarray, float] | None = None
    while gnorm > tol and it < max_iter:
        it += 1
        if prev is not None:
            # Barzilai-Borwein step from the last two gradients, in the whitened
            # coordinates of their base points, clamped to [0.1, 2].
            s_vec = prev[1] * prev[0]
            y_vec = prev[0] - G
            sy = float(np.vdot(s_vec, y_vec))
            step = min(max(float(np.vdot(s_vec, s_vec)) / sy, 0.1), 2.0) if sy > 0 else 1.0
        # Riemannian gradient step M <- Exp_M(step * sum_i w_i Log_M(P_i)); the step is
        # halved (from the same point) while the gradient norm would grow.
        while True:
            M_new = _sym(L @ _spd_exp_sym(step * G) @ _t(L))
            L_new, G_new, g_new = _affine_gradient(P, w, M_new)
            if g_new <= gnorm or step < 1e-6:
                break
            step *= 0.5
        prev = (G, step)
        M, L, G, gnorm = M_new, L_new, G_new, g_new
    return SPDMean(M, it, gnorm <= tol, gnorm, "affine")


def _bures_mean(P: np.ndarray, w: np.ndarray, S: np.ndarray, tol: float, max_iter: int) -> SPDMean:
    n = P.shape[-1]
    eye = np.eye(n)

    def mean_map(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        L, Linv = _chol_inv(S, "the current mean")
        lam, U = np.linalg.eigh(_t(L) @ P @ L)
        if not (lam[:, 0] > 0).all():
            raise not_positive_definite(P, "P")
        root = _weighted_sum_from_eig(w, np.sqrt(lam), U)
        T = _sym(_t(Linv) @ root @ Linv)  # sum_i w_i T_{S -> P_i}
        D = (T - eye) @ L
        # ||grad||_S = tr((T - I) S (T - I))^{1/2}, relative to tr(S)^{1/2}
        return T, D, float(np.linalg.norm(D) / math.sqrt(np.trace(S)))

    T, _, gnorm = mean_map(S)
    it = 0
    while gnorm > tol and it < max_iter:
        it += 1
        S = _sym(T @ S @ T)  # the fixed-point map of Álvarez-Esteban et al.
        T, _, gnorm = mean_map(S)
    return SPDMean(S, it, gnorm <= tol, gnorm * math.sqrt(np.trace(S)), "bures")


def spd_mean(
    P: Any,
    *,
    metric: str = "affine",
    weights: Any = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    init: Any = None,
) -> SPDMean:
    r"""Weighted Fréchet (Karcher) mean :math:`\arg\min_M \sum_i w_i\, d^2(M, P_i)`.

    * ``"log_euclidean"``: the closed form :math:`\exp(\sum_i w_i \log P_i)`.
    * ``"affine"``: Riemannian gradient descent
      :math:`M \leftarrow \operatorname{Exp}_M(\tau \sum_i w_i
      \operatorname{Log}_M(P_i))` started at the arithmetic mean (or
      ``init``), with :math:`\tau = 1` (the Karcher flow) for the first step
      and Barzilai–Borwein steps (clamped to :math:`[0.1, 2]`) after, each
      halved from the same point while the gradient norm would grow. The
      mean exists and is unique (the manifold has non-positive curvature).
      When the :math:`P_i` commute, the first step from their (commuting)
      arithmetic mean lands on the closed form :math:`\exp(\sum_i w_i \log
      P_i)`. Stops when :math:`\|\sum_i w_i \log(M^{-1/2} P_i M^{-1/2})\|_F \le`
      ``tol`` (the Riemannian gradient norm, dimensionless).
    * ``"bures"``: the fixed-point iteration
      :math:`S \leftarrow \bar T S \bar T`, :math:`\bar T = \sum_i w_i T_{S \to P_i}`
      of Álvarez-Esteban et al. [3]_, which converges from any SPD start (the
      arithmetic mean by default). Stops when the Riemannian gradient norm
      :math:`\operatorname{tr}((\bar T - I) S (\bar T - I))^{1/2}` is at most
      ``tol`` times :math:`(\operatorname{tr} S)^{1/2}` (relative, as the
      Bures distance scales like the square root of the matrices).

    Parameters
    ----------
    P : array_like, shape (N, n, n)
        The SPD matrices.
    metric : {"affine", "log_euclidean", "bures"}, default "affine"
    weights : array_like, shape (N,), optional
        Non-negative weights summing to one (within 1e-6; they are refused
        otherwise, not renormalised); uniform by default.
    tol : float, default 1e-10
        Gradient-norm tolerance, see above.
    max_iter : int, default 100
        Iteration limit; ``converged`` is False when it is reached first.
    init : array_like, shape (n, n), optional
        Starting point of the iterative methods (ignored for
        ``"log_euclidean"``).

    Returns
    -------
    SPDMean
        The mean with ``n_iter``, ``converged`` and ``gradient_norm``.

    Raises
    ------
    ValueError
        On invalid matrices, a stack that is not (N, n, n), bad weights,
        ``tol <= 0`` or ``max_iter < 0``.

    References
    ----------
    .. [1] H. Karcher, "Riemannian center of mass and mollifier smoothing",
       Comm. Pure Appl. Math. 30(5), 1977.
    .. [2] M. Moakher, "A differential geometric approach to the geometric mean
       of symmetric positive-definite matrices", SIAM J. Matrix Anal. Appl.
       26(3), 2005.
    .. [3] P. C. Álvarez-Esteban, E. del Barrio, J. A. Cuesta-Albertos,
       C. Matrán, "A fixed-point approach to barycenters in Wasserstein
       space", J. Math. Anal. Appl. 441(2), 2016.

    Examples
    --------
    For commuting matrices every mean has a closed form; the affine one is
    the geometric mean:

    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_mean
    >>> P = np.stack([np.diag([1.0, 4.0]), np.diag([4.0, 1.0])])
    >>> res = spd_mean(P)
    >>> res.mean, res.n_iter, res.converged
    (array([[2., 0.],
           [0., 2.]]), 1, True)
    >>> spd_mean(P, metric="bures").mean  # ((1 + 2) / 2)^2
    array([[2.25, 0.  ],
           [0.  , 2.25]])
    """
    metric = check_choice(metric, "metric", METRICS)
    P = as_spd_batch(P, "P")
    w = as_weights(weights, P.shape[0], "weights")
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    M0 = None
    if init is not None:
        M0 = as_spd(init, "init")
        if M0.shape != P.shape[1:]:
            raise ValueError(f"init must have shape {P.shape[1:]}; got shape {M0.shape}")
    # Every mean is scale-equivariant (mean(cP) = c mean(P)): compute at the common
    # unit scale 4^-k (exact) and scale back.
    e_each = matrix_scale_exponents(P, even=True)
    e = int(e_each.max())
    if e - int(e_each.min()) > _SCALE_SPAN:
        i, j = int(np.argmax(e_each)), int(np.argmin(e_each))
        raise ValueError(
            f"P holds matrices of too different scales for a mean in float64: P[{i}] is "
            f"about 2^{e_each[i]} and P[{j}] about 2^{e_each[j]} (ratio above 2^{_SCALE_SPAN})"
        )
    P = np.ldexp(P, -e)
    if M0 is not None:
        M0 = np.ldexp(M0, -e)
        cholesky(M0, "init")
    if metric == "log_euclidean":
        target = np.tensordot(w, _spd_log(P, "P")[0], axes=1)
        M = _spd_exp_sym(target)
        gnorm = float(np.linalg.norm(target - _spd_log(M, "the mean")[0]))
        return SPDMean(np.ldexp(M, e), 0, True, gnorm, "log_euclidean")
    start = _sym(np.tensordot(w, P, axes=1)) if M0 is None else M0
    if metric == "bures":
        res = _bures_mean(P, w, start, tol, max_iter)
        return SPDMean(
            np.ldexp(res.mean, e),
            res.n_iter,
            res.converged,
            math.ldexp(res.gradient_norm, e // 2),
            "bures",
        )
    res = _affine_mean(P, w, start, tol, max_iter)
    return SPDMean(np.ldexp(res.mean, e), res.n_iter, res.converged, res.gradient_norm, "affine")


def stein_divergence(P: Any, Q: Any) -> Any:
    r"""Jensen–Bregman log-det (Stein) divergence between SPD matrices.

    .. math::

        S(P, Q) = \log\det\frac{P + Q}{2} - \frac12 \log\det P - \frac12 \log\det Q
                = \sum_i \log\cosh\Big(\tfrac12 \log \lambda_i(P^{-1}Q)\Big),

    evaluated by the right-hand side (one Cholesky factorisation and one
    ``eigvalsh`` per pair, no cancellation near :math:`P = Q`). It is
    symmetric, non-negative, zero exactly when :math:`P = Q`, invariant under
    every congruence :math:`P \mapsto APA^T` (:math:`A` invertible) and under
    inversion, :math:`\sqrt{S}` is a metric [1]_, and
    :math:`S \le d_{\mathrm{AI}}^2 / 8` (since :math:`\log\cosh x \le x^2/2`),
    with equality to second order as :math:`Q \to P`.

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; batch dimensions broadcast.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On invalid matrices or shapes.

    References
    ----------
    .. [1] S. Sra, "Positive definite matrices and the S-divergence",
       Proceedings of the AMS 144(7), 2016.
    .. [2] A. Cherian, S. Sra, A. Banerjee, N. Papanikolopoulos,
       "Jensen-Bregman LogDet divergence with application to efficient
       similarity search for covariance matrices", IEEE TPAMI 35(9), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import stein_divergence
    >>> P = np.diag([1.0, 2.0])
    >>> float(stein_divergence(P, P))
    0.0
    >>> round(float(stein_divergence(np.eye(2), 4 * np.eye(2))), 12)  # 2 log(5/4)
    0.446287102628
    """
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    return _result(_logcosh(0.5 * _general_log_eigvals(P, Q, ("P", "Q"))).sum(axis=-1))


def _scalar_bregman(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``lam log(lam / mu) - lam + mu`` (>= 0), accurate when ``lam ~ mu``."""
    x = lam / mu - 1.0
    out = np.empty_like(x)
    small = np.abs(x) < 0.05
    xs = x[small]
    # (1 + x) log(1 + x) - x = sum_{k >= 2} (-1)^k x^k / (k (k - 1))
    series = np.zeros_like(xs)
    power = xs * xs
    for k in range(2, 16):
        series += (-1) ** k * power / (k * (k - 1))
        power = power * xs
    out[small] = series
    big = ~small
    xb = x[big]
    # (1 + x) log(1 + x) -> 0 as x -> -1 (lam underflowed to 0 against mu)
    out[big] = np.where(xb == -1.0, 0.0, (1.0 + xb) * np.log1p(np.maximum(xb, -1.0))) - xb
    return mu * out


def von_neumann_divergence(P: Any, Q: Any) -> Any:
    r"""Von Neumann (quantum relative entropy) divergence :math:`D(P \,\|\, Q)`.

    .. math::

        D(P \,\|\, Q) = \operatorname{tr}(P \log P - P \log Q - P + Q)
        = \sum_{i,j} (u_i^T v_j)^2 \big(\lambda_i \log\tfrac{\lambda_i}{\mu_j}
          - \lambda_i + \mu_j\big),

    with :math:`P = \sum_i \lambda_i u_i u_i^T`,
    :math:`Q = \sum_j \mu_j v_j v_j^T`; every term of the right-hand side is
    non-negative, which is how it is evaluated. It is the Bregman divergence
    of :math:`\operatorname{tr}(X \log X - X)`: non-negative and zero exactly
    when :math:`P = Q` (Klein's inequality), but neither symmetric nor
    affine-invariant. The trace :math:`\operatorname{tr}(P \log Q)` alone is
    none of these (see ``theory/spd-stein-divergence.md``).

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; batch dimensions broadcast.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On invalid matrices or shapes, or a divergence above the float64
        range (it is computed at the common unit scale of ``P`` and ``Q``,
        exactly, and scaled back).

    References
    ----------
    .. [1] B. Kulis, M. Sustik, I. Dhillon, "Low-rank kernel learning with
       Bregman matrix divergences", JMLR 10, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import von_neumann_divergence
    >>> round(float(von_neumann_divergence(2 * np.eye(2), np.eye(2))), 12)  # 2 (2 log 2 - 1)
    0.772588722240
    """
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    # D(cP || cQ) = c D(P || Q): compute at the common unit scale, scale back
    Ps, eP = unit_scaled(P)
    Qs, eQ = unit_scaled(Q)
    e = np.maximum(eP, eQ)
    lam, U = spd_eigh(Ps, "P")
    mu, V = spd_eigh(Qs, "Q")
    C = (_t(U) @ V) ** 2
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        lam = np.ldexp(lam, (eP - e)[..., None])
        mu = np.ldexp(mu, (eQ - e)[..., None])
        terms = _scalar_bregman(lam[..., :, None], mu[..., None, :])
        out = np.ldexp(np.einsum("...ij,...ij->...", C, terms), e)
    return _result(_finite_output(out, "the von Neumann divergence", "P is too large against Q"))
