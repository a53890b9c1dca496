r"""Wasserstein barycenters (POT): fixed support (exact LP or entropic) and free support.

:func:`fixed_support_barycenter` wraps ``ot.lp.barycenter`` (the linear
program, solved by HiGHS) and ``ot.bregman.barycenter`` (iterative Bregman
projections, log domain); :func:`free_support_barycenter` wraps
``ot.lp.free_support_barycenter`` (the fixed-point iteration of Cuturi and
Doucet on the support points). Both return a :class:`Barycenter`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import WEIGHT_SUM_ATOL, as_float_array, as_points, check_int, check_real
from ._checks import check_reg
from ._entropic import _unit_reg
from ._transport import _times_pow2, _unit_scale, transport_weights

__all__ = ["Barycenter", "fixed_support_barycenter", "free_support_barycenter"]


@dataclass(frozen=True)
class Barycenter:
    r"""A Wasserstein barycenter :math:`\arg\min_\mu \sum_k \lambda_k \mathrm{OT}(\mu, \mu_k)`.

    Attributes
    ----------
    support : ndarray of shape (k, d), or None
        The support points (free support); None for a fixed support (the
        barycenter lives on the bins of the cost matrix).
    weights : ndarray of shape (k,)
        The barycenter's weights (non-negative, summing to one).
    cost : float
        :math:`\sum_k \lambda_k \mathrm{OT}_0(\mu, \mu_k)`: the *exact*
        transport cost of the returned barycenter to the inputs (also after
        an entropic solve), in the units of the cost (squared Euclidean for
        free support).
    n_iter : int or None
        Iterations of the solver (HiGHS iterations for the exact LP, Bregman
        iterations, fixed-point iterations).
    converged : bool
        Whether the solver met its stopping criterion.
    message : str
        ``"converged"`` or the solver's explanation.
    """

    support: np.ndarray | None
    weights: np.ndarray
    cost: float
    n_iter: int | None
    converged: bool
    message: str


def _histograms(histograms: Any, cost: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(H, C)``: histograms as rows of shape (N, n) summing to one, and an (n, n) cost."""
    H = np.array(as_float_array(histograms, "histograms"), dtype=np.float64)
    if H.ndim != 2 or min(H.shape) == 0:
        raise ValueError(
            "histograms must have shape (n_histograms, n_bins) with both >= 1 (one histogram "
            f"per row; POT's A is its transpose); got {H.shape}"
        )
    if not np.isfinite(H).all() or (H < 0).any():
        raise ValueError("histograms must be finite and non-negative")
    sums = H.sum(axis=1)
    bad = np.abs(sums - 1.0) > WEIGHT_SUM_ATOL
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"histograms[{i}] must sum to 1 (within {WEIGHT_SUM_ATOL:g}); got {float(sums[i])!r}"
        )
    C = np.array(as_float_array(cost, "cost"), dtype=np.float64)
    n = H.shape[1]
    if C.shape != (n, n):
        raise ValueError(f"cost must have shape ({n}, {n}) (bins x bins); got {C.shape}")
    if not np.isfinite(C).all():
        raise ValueError("cost must not contain NaN or inf")
    return H / sums[:, None], C


def _exact_costs(bary: np.ndarray, H: np.ndarray, C: np.ndarray) -> np.ndarray:
    """``OT_0(bary, H[k])`` for every row ``k`` (POT's network simplex, one call)."""
    import ot

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return np.atleast_1d(np.asarray(ot.emd2(bary, np.ascontiguousarray(H.T), C), dtype=float))


def fixed_support_barycenter(
    histograms: Any,
    cost: Any,
    *,
    weights: Any = None,
    reg: float | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-9,
) -> Barycenter:
    r"""Wasserstein barycenter of histograms on a common fixed support.

    .. math::

        \min_{h \in \Delta_n} \sum_k \lambda_k \mathrm{OT}(h, h_k),

    exactly as a linear program (``reg=None``: ``ot.lp.barycenter``, HiGHS
    interior point) or with the entropic :math:`\mathrm{OT}_\varepsilon`
    (``ot.bregman.barycenter(..., method="sinkhorn_log")``, iterative
    Bregman projections). The cost matrix is shifted to be non-negative and
    divided by a power of two before the solve (neither changes the
    barycenter); ``cost`` is reported in the original units.

    Parameters
    ----------
    histograms : array_like, shape (N, n)
        One histogram per row (POT takes the transpose), each non-negative
        and summing to one within 1e-6.
    cost : array_like, shape (n, n)
        Ground cost between the bins (finite).
    weights : array_like, shape (N,), optional
        Barycentric weights :math:`\lambda` (non-negative, summing to one);
        None or empty means uniform.
    reg : float, optional
        Entropic regularisation :math:`\varepsilon > 0`, in the units of the
        cost; None (default) solves the exact linear program.
    max_iter : int, default 10000
        Bregman iterations (entropic only).
    tol : float, default 1e-9
        Stopping threshold of POT's marginal error (entropic only).

    Returns
    -------
    Barycenter
        ``support=None``, ``weights`` (shape (n,)), ``cost``, ``n_iter``,
        ``converged``, ``message``.

    Raises
    ------
    ValueError
        On NaN or inf, histograms that are negative or do not sum to one, a
        cost of the wrong shape, bad weights, ``reg <= 0`` or below 1e-14
        times the range of the costs, ``max_iter < 1`` or ``tol <= 0``.

    References
    ----------
    .. [1] M. Agueh, G. Carlier, "Barycenters in the Wasserstein space", SIAM
       J. Math. Anal. 43(2), 2011.
    .. [2] J.-D. Benamou, G. Carlier, M. Cuturi, L. Nenna, G. Peyré, "Iterative
       Bregman projections for regularized transportation problems", SIAM J.
       Sci. Comput. 37(2), 2015.

    Examples
    --------
    POT's test_lp_barycenter: between two Diracs at the ends of three bins.

    >>> import numpy as np
    >>> from sheaftopo.geometry import fixed_support_barycenter
    >>> H = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    >>> C = [[0.0, 1.0, 4.0], [1.0, 0.0, 1.0], [4.0, 1.0, 0.0]]
    >>> bary = fixed_support_barycenter(H, C)
    >>> bary.weights.round(6), bary.cost
    (array([0., 1., 0.]), 1.0)
    >>> fixed_support_barycenter(H, C, reg=0.1).weights.round(3)
    array([0., 1., 0.])
    """
    H, C = _histograms(histograms, cost)
    lam = transport_weights(weights, H.shape[0], "weights")
    if reg is not None:
        reg = check_reg(reg)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    # C = (U + shift) 2^k with U >= 0: the barycenter of U is that of C
    k = math.frexp(float(np.abs(C).max()))[1] if C.any() else 0
    U = np.ldexp(C, -k)
    shift = float(U.min())
    U -= shift
    bary, n_iter, ok, message = _solve_fixed(H, U, lam, reg, k, max_iter, tol)
    unit = float(lam @ _exact_costs(bary, H, U)) + shift
    return Barycenter(
        support=None,
        weights=bary,
        cost=float(_times_pow2(unit, k)),
        n_iter=n_iter,
        converged=ok,
        message=message,
    )


def _solve_fixed(
    H: np.ndarray,
    U: np.ndarray,
    lam: np.ndarray,
    reg: float | None,
    k: int,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, int | None, bool, str]:
    """The barycenter weights for the unit cost ``U`` (``reg`` in the units of ``U * 2^k``)."""
    import ot

    A = np.ascontiguousarray(H.T)
    if reg is None:
        bary, log = ot.lp.barycenter(A, U, lam, log=True)
        ok = bool(log["success"])
        n_iter, message = int(log["nit"]), "converged" if ok else str(log["message"])
    else:
        r = _unit_reg(reg, k, U)
        with np.errstate(divide="ignore", under="ignore", over="ignore"):
            bary, log = ot.bregman.barycenter(
                A,
                U,
                r,
                lam,
                method="sinkhorn_log",
                numItermax=max_iter,
                stopThr=tol,
                log=True,
                warn=False,
            )
        err = float(log["err"][-1]) if len(log["err"]) else math.inf
        ok = err < tol
        n_iter = int(log["niter"])
        message = (
            "converged"
            if ok
            else (
                f"max_iter = {max_iter} iterations reached with a marginal error {err:.3g} > "
                f"tol = {tol:g}; increase max_iter or reg"
            )
        )
    bary = np.maximum(np.asarray(bary, dtype=float), 0.0)
    return bary / bary.sum(), n_iter, ok, message


def _clouds(clouds: Any, a: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The point clouds (same dimension) and their weights (None or empty: uniform)."""
    if isinstance(clouds, np.ndarray) and clouds.ndim == 3:
        clouds = list(clouds)
    if not isinstance(clouds, (list, tuple)) or len(clouds) == 0:
        raise TypeError(
            "clouds must be a non-empty list of point clouds of shape (n_k, d); got "
            f"{type(clouds).__name__}"
        )
    Xs = [as_points(X, f"clouds[{i}]", dtype=np.float64) for i, X in enumerate(clouds)]
    d = Xs[0].shape[1]
    for i, X in enumerate(Xs):
        if X.shape[1] != d:
            raise ValueError(f"clouds[{i}] has {X.shape[1]} features; clouds[0] has {d}")
    if a is None or (isinstance(a, (list, tuple)) and len(a) == 0):
        a = [None] * len(Xs)
    if not isinstance(a, (list, tuple)) or len(a) != len(Xs):
        raise ValueError(f"a must be a list of {len(Xs)} weight vectors (one per cloud) or None")
    ws = [
        transport_weights(w, len(X), f"a[{i}]") for i, (X, w) in enumerate(zip(Xs, a, strict=True))
    ]
    return Xs, ws


def free_support_barycenter(
    clouds: Any,
    *,
    a: Any = None,
    weights: Any = None,
    init: Any = None,
    init_weights: Any = None,
    reg: float | None = None,
    max_iter: int = 100,
    tol: float = 1e-7,
) -> Barycenter:
    r"""Free-support 2-Wasserstein barycenter of point clouds, exact or entropic.

    Minimises :math:`\sum_k \lambda_k W_2^2(\mu, \mu_k)` over the positions
    of :math:`\mu = \sum_j b_j \delta_{z_j}` with fixed weights :math:`b`,
    by the fixed-point iteration :math:`z \leftarrow \sum_k \lambda_k
    \mathrm{diag}(1/b) P_k Y_k` from ``init``, each :math:`P_k` an optimal
    plan to :math:`\mu_k` (``reg=None``: ``ot.lp.free_support_barycenter``)
    or the entropic plan of regularisation ``reg``
    (``ot.bregman.free_support_sinkhorn_barycenter`` with the log-domain
    Sinkhorn). The clouds are divided by a common power
    of two first and the support multiplied back (exact), so any finite
    coordinates work; ``tol`` is then relative to the squared scale.

    Parameters
    ----------
    clouds : list of array_like, each of shape (n_k, d)
        The measures' supports (same ``d``).
    a : list of array_like, optional
        Their weights, one vector per cloud (each non-negative, summing to
        one; None or empty for uniform); None or empty: all uniform.
    weights : array_like, shape (N,), optional
        Barycentric weights :math:`\lambda`; uniform by default.
    init : array_like, shape (k, d), optional
        Initial support; by default the points of ``clouds[0]``.
    init_weights : array_like, shape (k,), optional
        The barycenter's (fixed) weights :math:`b`; uniform by default, or
        ``a[0]`` when ``init`` is the default.
    reg : float, optional
        Entropic regularisation :math:`\varepsilon > 0` of the plans, in the
        units of the squared distances; None (default) for exact plans. The
        entropic plans blur the support towards the clouds' means as ``reg``
        grows; ``cost`` is always the exact :math:`\sum_k \lambda_k W_2^2` of
        the returned support.
    max_iter : int, default 100
        Fixed-point iterations.
    tol : float, default 1e-7
        Stop when the squared displacement of the support (at unit scale)
        falls below ``tol``.

    Returns
    -------
    Barycenter
        ``support`` (shape (k, d)), ``weights`` (:math:`b`), ``cost``
        (:math:`\sum_k \lambda_k W_2^2`), ``n_iter``, ``converged``.

    Raises
    ------
    ValueError
        On NaN or inf, clouds of different dimensions, bad weights, an
        ``init`` of the wrong dimension, ``max_iter < 1`` or ``tol <= 0``.
    TypeError
        When ``clouds`` is not a list of arrays.

    References
    ----------
    .. [1] M. Cuturi, A. Doucet, "Fast computation of Wasserstein
       barycenters", ICML 2014.

    Examples
    --------
    POT's test_free_support_barycenter: two Diracs at -1 and 1, from -12.

    >>> from sheaftopo.geometry import free_support_barycenter
    >>> bary = free_support_barycenter([[[-1.0]], [[1.0]]], init=[[-12.0]])
    >>> bary.support, bary.cost, bary.converged
    (array([[0.]]), 1.0, True)
    """
    Xs, ws = _clouds(clouds, a)
    lam = transport_weights(weights, len(Xs), "weights")
    if init is None:
        Z0 = Xs[0]
        b = (
            ws[0]
            if init_weights is None
            else transport_weights(init_weights, len(Z0), "init_weights")
        )
    else:
        Z0 = as_points(init, "init", dtype=np.float64)
        if Z0.shape[1] != Xs[0].shape[1]:
            raise ValueError(f"init must have {Xs[0].shape[1]} features; got shape {Z0.shape}")
        b = transport_weights(init_weights, len(Z0), "init_weights")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    if reg is not None:
        reg = check_reg(reg)
    return _free_support(Xs, ws, lam, Z0, b, reg, max_iter, tol)


def _free_support(
    Xs: list[np.ndarray],
    ws: list[np.ndarray],
    lam: np.ndarray,
    Z0: np.ndarray,
    b: np.ndarray,
    reg: float | None,
    max_iter: int,
    tol: float,
) -> Barycenter:
    import ot

    s = _unit_scale(Z0, *Xs)
    units = [X / s for X in Xs]
    common = {"b": b, "weights": lam, "numItermax": max_iter, "stopThr": tol, "log": True}
    with warnings.catch_warnings(), np.errstate(divide="ignore", under="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        if reg is None:
            Z, log = ot.lp.free_support_barycenter(units, ws, Z0 / s, **common)
        else:
            top = max(float(ot.dist(Z0 / s, Y).max()) for Y in units)
            r = _unit_reg(reg, 2 * math.log2(s), np.array([top]))
            Z, log = ot.bregman.free_support_sinkhorn_barycenter(
                units, ws, Z0 / s, r, method="sinkhorn_log", **common
            )
        costs = np.array([ot.emd2(b, w, ot.dist(Z, Y)) for Y, w in zip(units, ws, strict=True)])
    moves = log["displacement_square_norms"]
    ok = bool(moves) and float(moves[-1]) <= tol
    support = Z * s
    cost = float(_times_pow2(float(lam @ costs), 2 * math.log2(s)))
    if not (np.isfinite(support).all() and math.isfinite(cost)):
        raise ValueError("clouds: the barycenter's cost overflows float64; rescale the clouds")
    return Barycenter(
        support=support,
        weights=b,
        cost=cost,
        n_iter=len(moves),
        converged=ok,
        message="converged"
        if ok
        else (
            f"max_iter = {max_iter} iterations reached with a squared displacement "
            f"{float(moves[-1]):.3g} > tol = {tol:g}"
        ),
    )
