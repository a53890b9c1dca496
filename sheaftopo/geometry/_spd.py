r"""Geometry of symmetric positive definite (SPD) matrices, native NumPy and batched.

Six Riemannian metrics on the cone :math:`\mathcal{S}_{++}^n` of SPD
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

``"log_cholesky"``, ``"power"`` (``power=`` :math:`\alpha`) and ``"euclidean"``
    The flat metrics, pullbacks of the Frobenius inner product by a chart
    :math:`\varphi` (:math:`L L^T \mapsto \lfloor L \rfloor + \log
    \mathbb{D}(L)`, :math:`P \mapsto P^\alpha / \alpha`, the identity); the
    log-Euclidean metric is the power metric with :math:`\alpha = 0`. Their
    maps are in :mod:`~sheaftopo.geometry._spd_metrics`, with the one
    dispatch on ``metric=`` and ``power=`` of every SPD function. The power
    and Euclidean geodesics leave the cone beyond their end points in general
    (a ``ValueError`` then).

This module holds the maps (distance, Log, Exp, geodesic); the Fréchet means
are in :mod:`~sheaftopo.geometry._spd_mean`, the Stein and von Neumann
divergences in :mod:`~sheaftopo.geometry._divergences`, and the matrix
building blocks they share in :mod:`~sheaftopo.geometry._spd_linalg`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array
from ._checks import (
    as_spd,
    as_symmetric,
    broadcast_batch,
    not_positive_definite,
    spd_eigh,
    unit_scaled,
)
from ._spd_linalg import (
    _EXP_LIMIT,
    _LN2,
    _TANGENT_TOO_LARGE,
    _bures_distance,
    _bures_map_times_base,
    _chol_inv,
    _finite_output,
    _general_log_eigvals,
    _log_times_pow2,
    _result,
    _spd_exp_sym,
    _sym,
    _t,
    _whiten,
    _whitened_eigh,
)
from ._spd_metrics import (
    FLAT_METRICS,
    flat_distance,
    flat_exp,
    flat_geodesic,
    flat_log,
    metric_args,
)

__all__ = [
    "spd_distance",
    "spd_exp",
    "spd_geodesic",
    "spd_log",
]

# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------


def spd_distance(
    P: Any, Q: Any, *, metric: str = "affine", power: Any = None, squared: bool = False
) -> Any:
    r"""Geodesic distance between SPD matrices for the chosen metric.

    .. math::

        d_{\mathrm{AI}}(P, Q) = \Big(\sum_i \log^2 \lambda_i(P^{-1} Q)\Big)^{1/2},\quad
        d_{\mathrm{LE}}(P, Q) = \|\log P - \log Q\|_F,\quad
        d_{\mathrm{BW}}(P, Q) = \big(\operatorname{tr} P + \operatorname{tr} Q
        - 2 \operatorname{tr}(P^{1/2} Q P^{1/2})^{1/2}\big)^{1/2},

    and for the flat metrics :math:`d(P, Q) = \|\varphi(P) - \varphi(Q)\|_F`:
    :math:`d_{\mathrm{LC}}(P, Q)^2 = \|\lfloor L_P \rfloor - \lfloor L_Q
    \rfloor\|_F^2 + \|\log \mathbb{D}(L_P) - \log \mathbb{D}(L_Q)\|_F^2`
    (Lin [4]_, pyRiemann's ``distance_logchol``),
    :math:`d_{\alpha}(P, Q) = \|P^\alpha - Q^\alpha\|_F / |\alpha|`
    (Dryden et al. [5]_, pyRiemann's ``distance_poweuclid``; the
    log-Euclidean distance at :math:`\alpha = 0`) and
    :math:`d_{\mathrm{E}}(P, Q) = \|P - Q\|_F`. The power and Euclidean
    distances are computed with the pair brought to a common scale and the
    exact factor :math:`c^{\alpha}` put back, so that they stay finite at
    any scale where they are finite mathematically.

    All are distances (not squared, unless ``squared=True``). :math:`d_{\mathrm{AI}}` is computed
    from the eigenvalues of :math:`L^{-1} Q L^{-T}` (:math:`P = LL^T`), one
    Cholesky factorisation and one ``eigvalsh`` per pair (batched NumPy below
    24 x 24, LAPACK's ``dsygvd`` pair by pair from there on);
    :math:`d_{\mathrm{BW}}` as :math:`\min_{O} \|L_P - L_Q O\|_F` (one SVD),
    which equals the trace formula and stays accurate when :math:`P \approx Q`.

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD matrices; the batch dimensions broadcast against each other.
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``; see the module
        documentation.
    power : float, optional
        The exponent :math:`\alpha \in [-10, 10]` of ``metric="power"``
        (required there, refused with the other metrics).
    squared : bool, default False
        Return :math:`d^2` (for ``"affine"`` and the flat metrics without
        forming the square root).

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
    .. [4] Z. Lin, "Riemannian geometry of symmetric positive definite matrices
       via Cholesky decomposition", SIAM J. Matrix Anal. Appl. 40(4), 2019.
    .. [5] I. L. Dryden, X. Pennec, J.-M. Peyrat, "Power Euclidean metrics for
       covariance matrices with application to diffusion tensor imaging",
       arXiv:1009.3045, 2010.

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
    >>> float(spd_distance(P, 9 * P, metric="power", power=0.5))  # |I - 3I|_F / 0.5
    5.656854249492381
    >>> float(spd_distance(P, Q, squared=True))
    1.0
    """
    metric, alpha = metric_args(metric, power)
    if not isinstance(squared, (bool, np.bool_)):
        raise TypeError(f"squared must be True or False; got {squared!r}")
    P = as_spd(P, "P")
    Q = as_spd(Q, "Q")
    broadcast_batch(P, Q, ("P", "Q"))
    if metric == "affine":
        logs = _general_log_eigvals(P, Q, ("P", "Q"))
        sq = np.einsum("...i,...i->...", logs, logs)
    elif metric == "bures":
        d = _bures_distance(P, Q)
        return _result(d * d if squared else d)
    else:
        return _result(flat_distance(P, Q, metric, alpha, squared))
    return _result(sq if squared else np.sqrt(sq))


def spd_log(P: Any, base: Any, *, metric: str = "affine", power: Any = None) -> np.ndarray:
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
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``; see the module
        documentation.
    power : float, optional
        The exponent :math:`\alpha \in [-10, 10]` of ``metric="power"``
        (required there, refused with the other metrics).

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
    metric, alpha = metric_args(metric, power)
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
    if metric in FLAT_METRICS:
        return flat_log(P, B, metric, alpha)
    X = _bures_map_times_base(B, P, ("base", "P"))  # T B
    with np.errstate(over="ignore", invalid="ignore"):
        out = _sym(X + _t(X) - 2.0 * B)
    return _finite_output(out, "the logarithm", too_far)


def spd_exp(V: Any, base: Any, *, metric: str = "affine", power: Any = None) -> np.ndarray:
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
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``; see the module
        documentation.
    power : float, optional
        The exponent :math:`\alpha \in [-10, 10]` of ``metric="power"``
        (required there, refused with the other metrics).

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
    metric, alpha = metric_args(metric, power)
    V = as_symmetric(V, "V")
    B = as_spd(base, "base")
    broadcast_batch(V, B, ("V", "base"))
    if metric in FLAT_METRICS:
        return flat_exp(V, B, metric, alpha, _TANGENT_TOO_LARGE)
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


def spd_geodesic(
    P: Any, Q: Any, t: Any, *, metric: str = "affine", power: Any = None
) -> np.ndarray:
    r"""The point at parameter ``t`` on the geodesic from ``P`` (``t = 0``) to ``Q`` (``t = 1``).

    .. math::

        \gamma_{\mathrm{AI}}(t) = P^{1/2}(P^{-1/2} Q P^{-1/2})^t P^{1/2},\quad
        \gamma_{\mathrm{LE}}(t) = \exp((1-t)\log P + t\log Q),\quad
        \gamma_{\mathrm{BW}}(t) = (1-t)^2 P + t(1-t)(TP + PT) + t^2 Q,

    the last being :math:`((1-t)I + tT) P ((1-t)I + tT)` with :math:`TPT = Q`.
    and :math:`\varphi^{-1}((1-t)\varphi(P) + t\varphi(Q))` for the flat
    metrics (see :func:`spd_distance`). Along each,
    :math:`d(P, \gamma(t)) = |t|\, d(P, Q)` (for :math:`t \in [0, 1]` in
    the Bures case).

    Parameters
    ----------
    P, Q : array_like, shape (..., n, n)
        SPD end points; batch dimensions broadcast.
    t : float or array_like, shape (...)
        Parameter(s), broadcast with the batch dimensions. Any real for the
        affine, log-Euclidean and log-Cholesky metrics (the geodesics
        extend); ``[0, 1]`` for ``"bures"``, whose curve is a geodesic only
        there; for ``"power"`` and ``"euclidean"`` any real at which the
        point stays positive definite (always in ``[0, 1]``; a
        ``ValueError`` outside the cone).
    metric : str, default "affine"
        One of ``"affine"``, ``"log_euclidean"``, ``"bures"``,
        ``"log_cholesky"``, ``"power"``, ``"euclidean"``; see the module
        documentation.
    power : float, optional
        The exponent :math:`\alpha \in [-10, 10]` of ``metric="power"``
        (required there, refused with the other metrics).

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
    metric, alpha = metric_args(metric, power)
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
    if metric in FLAT_METRICS:
        return flat_geodesic(P, Q, tt, metric, alpha, far)
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
