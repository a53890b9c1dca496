r"""Tangent spaces of the SPD cone: inner products, parallel transport, vectorisation.

Every metric of :mod:`sheaftopo.geometry._spd` has, at each base point
:math:`B`, an isometry :math:`F_B` from the tangent space (symmetric matrices
with the metric :math:`g_B`) onto symmetric matrices with the Frobenius inner
product, the *whitening*:

* ``"affine"``: :math:`F_B(V) = B^{-1/2} V B^{-1/2}` (symmetric square root);
* ``"bures"``: :math:`F_B(V) = U (H_{ij} / \sqrt{2(\mu_i + \mu_j)}) U^T` for
  :math:`B = U \operatorname{diag}(\mu) U^T`, :math:`H = U^T V U`;
* the flat metrics (``"log_euclidean"``, ``"power"``, ``"euclidean"``):
  :math:`F_B = D\varphi_B`, the differential of their chart;
* ``"log_cholesky"``: :math:`D\varphi_B[V]` is lower triangular; its strictly
  lower part :math:`X` is spread symmetrically as :math:`(X + X^T)/\sqrt2`.

The inner product is :math:`g_B(U, V) = \langle F_B(U), F_B(V) \rangle_F`, and
the vectorisation of :math:`P` at :math:`B` is the upper triangle of
:math:`F_B(\operatorname{Log}_B(P))` with :math:`\sqrt2` on the off-diagonal
entries (pyRiemann's ``upper``), so that its Euclidean norm is the distance
:math:`d(P, B)` for every metric.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_float_array
from ._checks import as_spd, as_symmetric, broadcast_batch, spd_eigh, unit_scaled
from ._spd import spd_exp, spd_log
from ._spd_linalg import _chol_inv, _finite_output, _from_eig, _sym, _t, _whitened_eigh
from ._spd_metrics import FLAT_METRICS, flat_pull, flat_push, flat_transport, metric_args

__all__ = ["spd_from_tangent", "spd_inner", "spd_to_tangent", "spd_transport"]

_SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------
# the whitening F_B and its inverse
# ---------------------------------------------------------------------------


def _whiten_tangent(V: np.ndarray, B: np.ndarray, metric: str, alpha: float) -> np.ndarray:
    """:math:`F_B(V)`, symmetric, with :math:`\\|F_B(V)\\|_F = \\|V\\|_B`."""
    if metric in FLAT_METRICS:
        X = flat_push(V, B, metric, alpha)
        if metric != "log_cholesky":
            return X
        low = np.tril(X, -1)
        return (low + _t(low)) / _SQRT2 + np.tril(np.triu(X))
    Bs, e = unit_scaled(B, even=True)
    mu, U = spd_eigh(Bs, "base")
    with np.errstate(over="ignore", under="ignore"):
        H = _t(U) @ np.ldexp(V, -e[..., None, None]) @ U  # V at the scale of Bs
    if metric == "affine":
        r = 1.0 / np.sqrt(mu)
        K = H * r[..., :, None] * r[..., None, :]
        return _finite_output(_sym(U @ K @ _t(U)), "the whitened tangent vector", "V is too large")
    K = H / np.sqrt(2.0 * (mu[..., :, None] + mu[..., None, :]))
    with np.errstate(over="ignore", under="ignore"):  # Bures norms scale like 2^(e/2)
        out = np.ldexp(_sym(U @ K @ _t(U)), (e // 2)[..., None, None])
    return _finite_output(out, "the whitened tangent vector", "V is too large")


def _unwhiten_tangent(K: np.ndarray, B: np.ndarray, metric: str, alpha: float) -> np.ndarray:
    """The inverse of :func:`_whiten_tangent`: the tangent vector at ``B``."""
    if metric in FLAT_METRICS:
        if metric == "log_cholesky":
            K = _SQRT2 * np.tril(K, -1) + np.tril(np.triu(K))
        return flat_pull(K, B, metric, alpha)
    Bs, e = unit_scaled(B, even=True)
    mu, U = spd_eigh(Bs, "base")
    H = _t(U) @ K @ U
    if metric == "affine":
        r = np.sqrt(mu)
        V, shift = U @ (H * r[..., :, None] * r[..., None, :]) @ _t(U), e
    else:
        V = U @ (H * np.sqrt(2.0 * (mu[..., :, None] + mu[..., None, :]))) @ _t(U)
        shift = e - e // 2
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(_sym(V), shift[..., None, None])
    return _finite_output(out, "the tangent vector", "the coordinates are too large")


# ---------------------------------------------------------------------------
# upper triangles with sqrt(2) weights
# ---------------------------------------------------------------------------


def _upper(K: np.ndarray) -> np.ndarray:
    n = K.shape[-1]
    i, j = np.triu_indices(n)
    return K[..., i, j] * np.where(i == j, 1.0, _SQRT2)


def _unupper(T: np.ndarray, n: int) -> np.ndarray:
    i, j = np.triu_indices(n)
    vals = T / np.where(i == j, 1.0, _SQRT2)
    K = np.zeros((*T.shape[:-1], n, n))
    K[..., i, j] = vals
    K[..., j, i] = vals
    return K


def _size_from_length(d: int) -> int:
    n = (math.isqrt(8 * d + 1) - 1) // 2
    if d == 0 or n * (n + 1) // 2 != d:
        raise ValueError(
            f"T must hold vectors of length n (n + 1) / 2 for a matrix size n >= 1 "
            f"(1, 3, 6, 10, ...); got length {d}"
        )
    return n


def _base_or_identity(base: Any, n: int) -> np.ndarray:
    return np.eye(n) if base is None else as_spd(base, "base")


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------


def spd_inner(U: Any, V: Any, base: Any, *, metric: str = "affine", power: Any = None) -> Any:
    r"""Riemannian inner product :math:`g_B(U, V)` of tangent vectors at ``base``.

    .. math::

        g^{\mathrm{AI}}_B(U, V) = \operatorname{tr}(B^{-1} U B^{-1} V),\quad
        g^{\mathrm{BW}}_B(U, V) = \tfrac12 \operatorname{tr}(\mathcal{L}_B[U] V),\quad
        g^{\varphi}_B(U, V) = \langle D\varphi_B[U], D\varphi_B[V] \rangle_F

    (the last for the flat metrics, see :func:`spd_distance`), computed as
    :math:`\langle F_B(U), F_B(V)\rangle_F` with the whitening of the module
    documentation. ``spd_inner(V, V, B)`` is :math:`\|V\|_B^2`, and
    ``spd_inner(L, L, B)`` with ``L = spd_log(P, B)`` is
    ``spd_distance(P, B) ** 2``.

    Parameters
    ----------
    U, V : array_like, shape (..., n, n)
        Symmetric tangent vectors; batch dimensions broadcast.
    base : array_like, shape (..., n, n)
        SPD base point(s).
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``.
    power : float, optional
        Exponent of ``metric="power"`` (required there only).

    Returns
    -------
    numpy.float64 or ndarray, shape (...)
        The inner products.

    Raises
    ------
    ValueError
        On non-symmetric or non-finite tangent vectors, a base that is not SPD,
        shapes that do not broadcast, or a bad ``metric`` / ``power``.

    References
    ----------
    .. [1] X. Pennec, P. Fillard, N. Ayache, "A Riemannian framework for tensor
       computing", International Journal of Computer Vision 66(1), 2006.
    .. [2] Z. Lin, "Riemannian geometry of symmetric positive definite matrices
       via Cholesky decomposition", SIAM J. Matrix Anal. Appl. 40(4), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_inner
    >>> float(spd_inner(np.eye(2), np.eye(2), 2 * np.eye(2)))  # tr((I/2)(I/2))
    0.5
    >>> float(spd_inner(np.eye(2), np.eye(2), 2 * np.eye(2), metric="bures"))  # tr(I/4) / 2
    0.25
    """
    metric, alpha = metric_args(metric, power)
    U = as_symmetric(U, "U")
    V = as_symmetric(V, "V")
    B = as_spd(base, "base")
    broadcast_batch(U, V, ("U", "V"))
    broadcast_batch(V, B, ("V", "base"))
    KU = _whiten_tangent(U, B, metric, alpha)
    KV = _whiten_tangent(V, B, metric, alpha)
    out = np.einsum("...ij,...ij->...", KU, KV)
    out = _finite_output(np.asarray(out), "the inner product", "U or V is too large")
    return out[()] if out.ndim == 0 else out


def spd_transport(
    V: Any, base: Any, target: Any, *, metric: str = "affine", power: Any = None
) -> np.ndarray:
    r"""Parallel transport of tangent vectors at ``base`` to ``target`` along the geodesic.

    * ``"affine"``: :math:`E V E^T` with :math:`E = (Q B^{-1})^{1/2}`
      (:math:`Q` the target), computed as :math:`L W^{1/2} L^{-1}` with
      :math:`B = LL^T` and :math:`W = L^{-1} Q L^{-T}`;
    * the flat metrics: :math:`D\varphi_Q^{-1}[D\varphi_B[V]]` (their
      connection is flat, so transport does not depend on the path): the
      identity for ``"euclidean"``, :math:`D\exp_{\log Q}[D\log_B[V]]` for
      ``"log_euclidean"``, Lin's Proposition 7 for ``"log_cholesky"``;
    * ``"bures"`` has no closed form and is refused.

    Transport preserves the inner product (:func:`spd_inner`) and transporting
    back to ``base`` gives ``V`` again.

    Parameters
    ----------
    V : array_like, shape (..., n, n)
        Symmetric tangent vector(s) at ``base``.
    base, target : array_like, shape (..., n, n)
        SPD start and end points of the geodesic; batch dimensions broadcast.
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"log_cholesky"``,
        ``"power"``, ``"euclidean"`` (no closed form for ``"bures"``).
    power : float, optional
        Exponent of ``metric="power"`` (required there only).

    Returns
    -------
    ndarray, shape (..., n, n)
        The transported vectors, exactly symmetric.

    Raises
    ------
    ValueError
        On invalid matrices or shapes, ``metric="bures"``, a bad ``power``, or
        a result beyond the float64 range.

    References
    ----------
    .. [1] S. Sra, R. Hosseini, "Conic geometric optimization on the manifold of
       positive definite matrices", SIAM J. Optim. 25(1), 2015 (Eq. 3.4).
    .. [2] Z. Lin, "Riemannian geometry of symmetric positive definite matrices
       via Cholesky decomposition", SIAM J. Matrix Anal. Appl. 40(4), 2019.

    Examples
    --------
    From :math:`I` to :math:`4I`, :math:`E = 2I`:

    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_transport
    >>> spd_transport(np.diag([1.0, -1.0]), np.eye(2), 4 * np.eye(2))
    array([[ 4.,  0.],
           [ 0., -4.]])
    """
    metric, alpha = metric_args(
        metric, power, ("affine", "euclidean", "log_cholesky", "log_euclidean", "power")
    )
    V = as_symmetric(V, "V")
    B = as_spd(base, "base")
    Q = as_spd(target, "target")
    broadcast_batch(V, B, ("V", "base"))
    broadcast_batch(B, Q, ("base", "target"))
    broadcast_batch(V, Q, ("V", "target"))
    if metric in FLAT_METRICS:
        return flat_transport(V, B, Q, metric, alpha)
    Bs, eB = unit_scaled(B, even=True)
    Qs, eQ = unit_scaled(Q, even=True)
    L, Linv = _chol_inv(Bs, "base")
    lam, U = _whitened_eigh(Linv, Qs, "target")
    E = L @ _from_eig(np.sqrt(lam), U) @ Linv  # E = (Q B^{-1})^{1/2} at unit scales
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        out = np.ldexp(_sym(E @ V @ _t(E)), (eQ - eB)[..., None, None])
    return _finite_output(out, "the transported vector", "V is too large or target too far")


def spd_to_tangent(
    P: Any, base: Any = None, *, metric: str = "affine", power: Any = None
) -> np.ndarray:
    r"""Tangent-space vectors of SPD matrices at a reference point, for linear models.

    The upper triangle (row by row, as ``numpy.triu_indices``) of the
    whitened logarithm :math:`F_B(\operatorname{Log}_B(P))`, off-diagonal
    entries times :math:`\sqrt2`, so that the Euclidean norm of the vector is
    :math:`d(P, B)` and inner products of vectors are the Riemannian inner
    products at :math:`B`. For ``metric="affine"`` this is
    :math:`\operatorname{upper}(\log(B^{-1/2} P B^{-1/2}))`, exactly
    pyRiemann's ``tangent_space(P, B, metric="riemann")``; for
    ``"euclidean"`` it is pyRiemann's ``metric="euclid"`` at any reference,
    and for ``"log_euclidean"`` pyRiemann's ``"logeuclid"`` at the identity
    (elsewhere pyRiemann vectorises :math:`\operatorname{Log}_B(P)` without
    whitening, which is not isometric). Use the mean of the training matrices
    as the reference (``spd_mean(P).mean``) for scikit-learn pipelines.

    Parameters
    ----------
    P : array_like, shape (..., n, n)
        SPD matrices.
    base : array_like, shape (..., n, n), optional
        The reference point(s), SPD; the identity by default.
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``.
    power : float, optional
        Exponent of ``metric="power"`` (required there only).

    Returns
    -------
    ndarray, shape (..., n (n + 1) / 2)
        The vectors.

    Raises
    ------
    ValueError
        On invalid matrices or shapes, a bad ``metric`` / ``power``, or
        vectors beyond the float64 range.

    See Also
    --------
    spd_from_tangent : the inverse map.

    References
    ----------
    .. [1] A. Barachant, S. Bonnet, M. Congedo, C. Jutten, "Classification of
       covariance matrices using a Riemannian-based kernel for BCI
       applications", Neurocomputing 112, 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_to_tangent
    >>> P = np.array([[np.e, 0.0], [0.0, 1.0]])
    >>> spd_to_tangent(P)  # upper(log P)
    array([1., 0., 0.])
    """
    metric, alpha = metric_args(metric, power)
    P = as_spd(P, "P")
    B = _base_or_identity(base, P.shape[-1])
    V = spd_log(P, B, metric=metric, power=power)
    return _upper(_whiten_tangent(V, np.broadcast_to(B, V.shape), metric, alpha))


def spd_from_tangent(
    T: Any, base: Any = None, *, metric: str = "affine", power: Any = None
) -> np.ndarray:
    r"""SPD matrices from their tangent-space vectors: the inverse of :func:`spd_to_tangent`.

    :math:`\operatorname{Exp}_B(F_B^{-1}(\operatorname{unupper}(t)))`, with
    pyRiemann's ``unupper`` (off-diagonal entries divided by :math:`\sqrt2`).

    Parameters
    ----------
    T : array_like, shape (..., n (n + 1) / 2)
        Tangent vectors.
    base : array_like, shape (..., n, n), optional
        The reference point(s), SPD; the identity by default.
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``.
    power : float, optional
        Exponent of ``metric="power"`` (required there only).

    Returns
    -------
    ndarray, shape (..., n, n)
        The SPD matrices.

    Raises
    ------
    ValueError
        On a length that is not :math:`n(n+1)/2`, NaN or inf, a ``base`` of
        another size, a bad ``metric`` / ``power``, or vectors whose
        exponential leaves the cone or the float64 range.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import spd_from_tangent
    >>> np.round(spd_from_tangent([1.0, 0.0, 0.0]), 6)
    array([[2.718282, 0.      ],
           [0.      , 1.      ]])
    """
    metric, alpha = metric_args(metric, power)
    T = as_float_array(T, "T", dtype=np.float64)
    if T.ndim < 1:
        raise ValueError(f"T must be a vector or a batch of vectors; got shape {T.shape}")
    if not np.isfinite(T).all():
        raise ValueError("T must not contain NaN or inf")
    n = _size_from_length(T.shape[-1])
    B = _base_or_identity(base, n)
    if B.shape[-1] != n:
        raise ValueError(
            f"base must hold {n} x {n} matrices for vectors of length {T.shape[-1]}; "
            f"got shape {B.shape}"
        )
    K = _unupper(T, n)
    broadcast_batch(K, B, ("T", "base"))
    shape = np.broadcast_shapes(K.shape, B.shape)
    Bb = np.broadcast_to(B, shape)
    V = _unwhiten_tangent(np.broadcast_to(K, shape), Bb, metric, alpha)
    return spd_exp(V, Bb, metric=metric, power=power)
