r"""Optimal transport between weighted point clouds, and between Gaussians.

Thin, validated wrappers around POT [1]_ (imported inside the functions): the
exact network simplex (``ot.emd``), log-domain Sinkhorn
(``ot.bregman.sinkhorn_log``, the solver behind
``ot.sinkhorn(..., method="sinkhorn_log")``) and sliced Wasserstein
(``ot.sliced_wasserstein_distance``); plus the closed-form 2-Wasserstein
distance between Gaussians, computed natively.

Conventions shared by every function here:

* a measure is ``sum_i a_i delta_{x_i}`` with the rows ``x_i`` of ``X``; the
  weights ``a`` (keyword, default uniform) must be non-negative and sum to one
  within 1e-6. They are **not** renormalised silently: weights summing to
  anything else raise ``ValueError`` (the total mass changes every transport
  cost). Points of weight zero are dropped before calling the solver (their
  rows and columns of the plan are zero);
* the ground cost is :math:`C_{ij} = \|x_i - y_j\|_2^p` (``p=2``, the squared
  Euclidean distance, by default), so the exact cost is :math:`W_p^p`;
* computations are in float64; the results are :class:`TransportResult`
  objects, whatever the options.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_float_array,
    as_weights,
    check_int,
    check_random_state,
    check_real,
    power_of_two_scale,
)
from ._checks import (
    as_pair,
    as_spd,
    broadcast_batch,
    check_order,
    check_reg,
    cloud_scale,
)
from ._local import _distances
from ._spd_linalg import _bures_distance, _result

__all__ = [
    "TransportResult",
    "cost_matrix",
    "entropic_transport",
    "exact_transport",
    "gaussian_wasserstein",
    "sinkhorn_divergence",
    "sliced_transport",
]


@dataclass(frozen=True)
class TransportResult:
    r"""The outcome of a transport computation; the same type for every solver and option.

    Attributes
    ----------
    cost : float
        The value the function computes (see its documentation):
        :math:`\min_P \langle P, C\rangle = W_p^p` for :func:`exact_transport`;
        :math:`\langle P_\varepsilon, C\rangle + \varepsilon\,
        \mathrm{KL}(P_\varepsilon \,\|\, a \otimes b)` for
        :func:`entropic_transport`; the debiased combination of those for
        :func:`sinkhorn_divergence`; :math:`SW_p^p` for
        :func:`sliced_transport`.
    linear_cost : float
        The transport part alone: :math:`\langle P, C\rangle` of the returned
        plan (equal to ``cost`` for the exact and sliced solvers; for
        :func:`sinkhorn_divergence`, the same debiased combination of the
        linear costs, the "sharp" variant of POT's
        ``ot.bregman.empirical_sinkhorn_divergence``).
    plan : ndarray of shape (n, m), or None
        The transport plan when ``return_plan=True`` (None otherwise, and
        always None for sliced Wasserstein).
    n_iter : int or None
        Sinkhorn iterations (summed over the three problems of
        :func:`sinkhorn_divergence`); None where the solver does not report
        them (network simplex, sliced Wasserstein).
    converged : bool
        Exact: POT's network simplex reached an optimal plan (result code 1).
        Sinkhorn: the marginal error POT monitors fell below ``tol`` within
        ``max_iter`` iterations (all three problems for the divergence).
        Sliced: always True (a closed form per direction).
    marginal_error : float
        :math:`\|P\mathbf{1} - a\|_1 + \|P^T\mathbf{1} - b\|_1` of the plan
        computed (the largest of the three for the divergence; 0.0 for
        sliced Wasserstein).
    message : str
        ``"optimal"`` (exact), ``"converged"`` (Sinkhorn), ``"closed form per
        direction"`` (sliced), or the solver's explanation when it stopped
        early.
    """

    cost: float
    linear_cost: float
    plan: np.ndarray | None
    n_iter: int | None
    converged: bool
    marginal_error: float
    message: str


def _log2(s: float) -> int:
    """``log2(s)`` for a power of two ``s``."""
    return math.frexp(s)[1] - 1


def _unit_scale(*clouds: np.ndarray) -> float:
    """The power of two that brings the largest coordinate of all ``clouds`` into [1/2, 1).

    (Not the largest of the clouds' own scales: an all-zero cloud has scale 1.)
    """
    return power_of_two_scale(np.array([max(float(np.abs(Z).max(initial=0.0)) for Z in clouds)]))


def _unit_cost(X: np.ndarray, Y: np.ndarray, p: float) -> tuple[np.ndarray, float]:
    """``(U, k)`` with ``||x_i - y_j||_2 ** p = U_ij * 2 ** k`` and ``max U`` in [2^-p, 1].

    The distances (:func:`sheaftopo.geometry._local._distances`, accurate at
    every magnitude), divided by a power of two bringing their maximum into
    [1/2, 1) (exact; for
    ``p > 1000`` by the maximum itself, so that the largest cost stays 1
    after the power) and raised to the power ``p``; ``k`` collects the
    scales. Nothing overflows, whatever the magnitude of the coordinates or
    ``p``.
    """
    C = _distances(X, Y)
    top = float(C.max())
    if not math.isfinite(top):
        raise _overflow_error("the cost matrix", math.inf, p)
    if p <= 1000.0 or top == 0.0:
        t = power_of_two_scale(C)
        C /= t
        log2t = float(_log2(t))
    else:
        C /= top
        log2t = math.log2(top)
    with np.errstate(under="ignore"):
        if p == 2.0:
            np.square(C, out=C)
        elif p != 1.0:
            np.power(C, p, out=C)
    return C, p * log2t


def _times_pow2(x: Any, k: float) -> Any:
    """``x * 2 ** k`` (exact for integer ``k``); inf or 0 where float64 overflows or underflows."""
    k = min(max(float(k), -4000.0), 4000.0)
    whole = math.floor(k)
    with np.errstate(over="ignore", under="ignore"):
        # 2^(k - floor k) in [1, 2) first, then the exact power of two (0 stays 0)
        return np.ldexp(np.multiply(x, 2.0 ** (k - whole)), whole)


def _overflow_error(what: str, k: float, p: float) -> ValueError:
    return ValueError(
        f"{what} overflows float64: the points of X and Y are too far apart for the ground "
        f"cost ||x - y||^p with p = {p:g} (its largest value is about 2^{k:.6g}); rescale X "
        "and Y (the plan does not change under a common scaling) or lower p"
    )


def cost_matrix(X: Any, Y: Any, *, p: float = 2.0) -> np.ndarray:
    r"""The ground cost :math:`C_{ij} = \|x_i - y_j\|_2^p` used by the transport functions.

    Distances computed as :math:`(\|x\|^2 + \|y\|^2 - 2 x^T y)^{1/2}` after
    centring both clouds on their pooled mean (entries where that cancels to
    worse than a relative 1.1e-8 are recomputed from the differences, so
    every distance is accurate to that), then raised to the power
    :math:`p`; the Gram identity works on the points divided by a power of
    two (exact) and small distances are recomputed at the data's own scale:
    any finite coordinates work. Costs too large for float64
    raise a ``ValueError`` (never inf); costs below the smallest float64
    underflow to 0, as the correctly rounded value does.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)
    p : float, default 2.0
        Exponent :math:`p \ge 1`; ``2`` is the squared Euclidean distance.

    Returns
    -------
    ndarray, shape (n, m)

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, ``p < 1``, or a cost above the
        float64 range (naming ``X`` and ``Y``).

    Examples
    --------
    >>> from sheaftopo.geometry import cost_matrix
    >>> cost_matrix([[0.0, 0.0]], [[3.0, 4.0], [0.0, 1.0]])
    array([[25.,  1.]])
    >>> cost_matrix([[0.0, 0.0]], [[3.0, 4.0]], p=1)
    array([[5.]])
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    p = check_order(p)
    d = _distances(X, Y)
    with np.errstate(over="ignore", under="ignore"):
        # every entry the correctly rounded power of the computed distance (0 where it
        # underflows)
        C = np.square(d) if p == 2.0 else (d if p == 1.0 else np.power(d, p))
    if not np.isfinite(C).all():
        raise _overflow_error("the cost matrix", p * math.log2(max(float(d.max()), 1e-300)), p)
    return C


def _support(w: np.ndarray) -> np.ndarray | None:
    """Indices of the positive weights, or None when all are positive."""
    if (w > 0).all():
        return None
    return np.flatnonzero(w > 0)


def _embed(
    P: np.ndarray, ia: np.ndarray | None, ib: np.ndarray | None, n: int, m: int
) -> np.ndarray:
    if ia is None and ib is None:
        return P
    full = np.zeros((n, m))
    full[np.ix_(np.arange(n) if ia is None else ia, np.arange(m) if ib is None else ib)] = P
    return full


def _restrict(
    C: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    ia, ib = _support(a), _support(b)
    if ia is not None:
        C, a = C[ia], a[ia]
    if ib is not None:
        C, b = C[:, ib], b[ib]
    return np.ascontiguousarray(C), a, b, ia, ib


def _marginal_error(P: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    r = P.sum(axis=1)
    c = P.sum(axis=0)
    return float(np.abs(r - a).sum() + np.abs(c - b).sum()), r


def _exact(
    C: np.ndarray, a: np.ndarray, b: np.ndarray, return_plan: bool, max_iter: int | None
) -> TransportResult:
    import ot

    n, m = C.shape
    C, a, b, ia, ib = _restrict(C, a, b)
    if max_iter is None:
        max_iter = max(100_000, 50 * (len(a) + len(b)) ** 2)
    # POT's pivoting tolerances are absolute: bring the largest cost into (1/2, 1]
    # by a power of two (exact; the plan is unchanged) and scale the cost back.
    top = float(C.max())
    k = math.frexp(top)[1] if top > 0 else 0
    if k:
        np.ldexp(C, -k, out=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        G, log = ot.emd(a, b, C, numItermax=max_iter, log=True)
    cost = math.ldexp(float(log["cost"]), k)
    err, _ = _marginal_error(G, a, b)
    ok = int(log["result_code"]) == 1
    return TransportResult(
        cost=cost,
        linear_cost=cost,
        plan=_embed(G, ia, ib, n, m) if return_plan else None,
        n_iter=None,
        converged=ok,
        marginal_error=err,
        message="optimal" if ok else str(log["warning"]),
    )


def exact_transport(
    X: Any,
    Y: Any,
    *,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    return_plan: bool = False,
    max_iter: int | None = None,
) -> TransportResult:
    r"""Exact optimal transport between two weighted point clouds (POT's network simplex).

    .. math::

        \mathrm{OT}(a, b) = \min_{P \in \Pi(a, b)} \sum_{ij} P_{ij} \|x_i - y_j\|_2^p
        = W_p^p(\mu, \nu),

    over couplings :math:`\Pi(a, b) = \{P \ge 0 : P\mathbf{1} = a,
    P^T\mathbf{1} = b\}` of :math:`\mu = \sum_i a_i \delta_{x_i}` and
    :math:`\nu = \sum_j b_j \delta_{y_j}`. ``cost`` is :math:`W_p^p` (take
    ``cost ** (1 / p)`` for the distance). The cost matrix is divided by a
    power of two before calling ``ot.emd`` (POT's pivoting tolerances are
    absolute) and the cost multiplied back, which is exact.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Support of the first measure.
    Y : array_like, shape (m, d)
        Support of the second measure (same ``d``).
    a : array_like, shape (n,), optional
        Weights of ``X``: non-negative, summing to one within 1e-6 (refused
        otherwise, not renormalised). Uniform by default.
    b : array_like, shape (m,), optional
        Weights of ``Y``, likewise.
    p : float, default 2.0
        Exponent of the ground cost, :math:`p \ge 1`.
    return_plan : bool, default False
        Whether to return the optimal plan (shape (n, m)) in ``plan``.
    max_iter : int, optional
        Network simplex iteration limit; default
        ``max(100_000, 50 * (n + m) ** 2)``. When reached, ``converged`` is
        False and ``message`` says so; POT's partial solution is then not
        meaningful (its plan need not even be feasible: see
        ``marginal_error``).

    Returns
    -------
    TransportResult
        ``cost = linear_cost`` :math:`= W_p^p`, ``n_iter = None`` (POT does
        not report it), ``converged`` (result code 1), ``marginal_error``.

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, bad weights (wrong length,
        negative, not summing to one), ``p < 1``, or a cost above the float64
        range. The costs are computed at unit scale and the optimum scaled
        back (exact), so any finite coordinates work.

    See Also
    --------
    entropic_transport, sliced_transport, gaussian_wasserstein

    References
    ----------
    .. [1] R. Flamary et al., "POT: Python Optimal Transport", JMLR 22(78), 2021.
    .. [2] N. Bonneel, M. van de Panne, S. Paris, W. Heidrich, "Displacement
       interpolation using Lagrangian mass transport", ACM TOG 30(6), 2011.

    Examples
    --------
    Moving two points up by one unit costs 1 (squared Euclidean cost):

    >>> import numpy as np
    >>> from sheaftopo.geometry import exact_transport
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> res = exact_transport(X, X + [0.0, 1.0], return_plan=True)
    >>> res.cost, res.converged
    (1.0, True)
    >>> res.plan
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> exact_transport(X, X + [0.0, 1.0], b=[1.0, 0.0], p=1).cost  # (1 + sqrt 2) / 2
    1.2071067811865475
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    a = as_weights(a, X.shape[0], "a")
    b = as_weights(b, Y.shape[0], "b")
    p = check_order(p)
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
    U, k = _unit_cost(X, Y, p)
    return _scaled_result(_exact(U, a, b, bool(return_plan), max_iter), k, p)


def _softmin(C: np.ndarray, g: np.ndarray, w: np.ndarray, reg: float) -> np.ndarray:
    """``f_i = -reg log sum_j w_j exp((g_j - C_ij) / reg)``, in cost units, for every ``reg``.

    The weights ``w`` are taken to sum to one exactly: after subtracting the
    row maximum ``m_i`` of the exponents, ``log sum_j w_j e^{z_ij}`` is
    evaluated as ``log1p(sum_j w_j expm1(z_ij))`` whenever that sum is above
    -1/2, which keeps full relative accuracy when ``reg`` dwarfs the costs
    (the exponents are then all tiny) instead of losing it in ``log(1 + tiny)``.
    """
    Z = (g[None, :] - C) / reg
    m = Z.max(axis=1)
    Z -= m[:, None]
    with np.errstate(under="ignore"):
        s1 = np.expm1(Z) @ w
        s0 = np.exp(Z) @ w
    lse = np.where(s1 > -0.5, np.log1p(np.maximum(s1, -0.5)), np.log(s0))
    return -reg * (m + lse)


def _finish(
    C: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float,
    g: np.ndarray,
    dims: tuple[int, int, np.ndarray | None, np.ndarray | None],
    return_plan: bool,
) -> tuple[float, float, np.ndarray | None, float]:
    """Cost, linear cost, plan and marginal error after a last row update from ``g``.

    With ``f`` the softmin of ``g`` (cost units), the plan
    ``P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg)`` has row sums ``a``, and
    its primal value ``<P, C> + reg KL(P | a x b)`` equals
    ``<a, f> + <P^T 1, g>`` exactly; evaluated that way it has no
    cancellation, whatever ``reg`` (the form ``reg * (...)`` through
    dimensionless potentials loses everything once ``reg`` dwarfs the costs).
    """
    g = g - float(b @ g)  # the potentials are defined up to f + K, g - K: centre them
    f = _softmin(C, g, b, reg)
    with np.errstate(under="ignore", over="ignore"):
        P = np.exp((f[:, None] + g[None, :] - C) / reg) * a[:, None] * b[None, :]
    if not np.isfinite(P).all():  # pragma: no cover - rows are normalised by f
        raise ValueError(f"the entropic plan is not representable in float64 for reg = {reg:g}")
    err, _ = _marginal_error(P, a, b)
    c = P.sum(axis=0)
    cost = float(a @ f + c @ g)
    linear = float(np.vdot(P, C))
    n, m, ia, ib = dims
    return cost, linear, (_embed(P, ia, ib, n, m) if return_plan else None), err


#: Sinkhorn iterations tried before switching to Newton steps (when the problem is small)
NEWTON_AFTER = 1000
#: Newton steps are used when ``n m^2 + m^3`` (the cost of one step) is at most this
NEWTON_MAX_WORK = 2e8


def _semi_dual_state(
    C: np.ndarray, a: np.ndarray, b: np.ndarray, reg: float, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Plan, column sums, marginal error and semi-dual value at the potential ``g``.

    With ``f`` the softmin of ``g``, the plan ``P_ij = a_i b_j exp((f_i + g_j -
    C_ij) / reg)`` has row sums ``a``; the semi-dual ``F(g) = <a, f> + <b, g>``
    is concave, with gradient ``b - P^T 1``.
    """
    f = _softmin(C, g, b, reg)
    with np.errstate(under="ignore"):
        P = np.exp((f[:, None] + g[None, :] - C) / reg) * a[:, None] * b[None, :]
    c = P.sum(axis=0)
    return P, c, float(np.linalg.norm(c - b)), float(a @ f + b @ g)


def _grounded_laplacian_solve(W: np.ndarray, ground: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Solve ``(diag(W 1) - W + diag(ground)) x = r`` for weights ``W, ground >= 0``.

    The matrix is the Laplacian of the graph with weights ``W`` (its diagonal
    ignored) plus a ground connection of weight ``ground_j`` at each node.
    Gaussian elimination in the GTH form: every pivot is recomputed as the
    sum of the non-negative weights of its node, to the remaining nodes and to
    the ground, never as a difference, so the solve stays accurate when the
    weights span hundreds of orders of magnitude (a nearly deterministic
    plan).
    """
    m = len(r)
    W = W.copy()
    np.fill_diagonal(W, 0.0)
    ground, r = ground.astype(float), r.astype(float)
    pivots = np.empty(m)
    for j in range(m):
        rest = slice(j + 1, m)
        pivot = float(W[j, rest].sum() + ground[j]) or 1e-300
        pivots[j] = pivot
        col = W[rest, j] / pivot
        W[rest, rest] += col[:, None] * W[j, rest][None, :]
        ground[rest] += col * ground[j]
        r[rest] += col * r[j]
    x = np.zeros(m)
    for j in range(m - 1, -1, -1):
        x[j] = (r[j] + W[j, j + 1 :] @ x[j + 1 :]) / pivots[j]
    return x


def _newton_level(
    C: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float,
    g: np.ndarray,
    tol: float,
    budget: int,
) -> tuple[np.ndarray, float, int]:
    """Levenberg–Marquardt ascent of the semi-dual at one ``reg``, from ``g``.

    The Hessian of ``F`` is ``-L / reg`` with ``L`` the Laplacian of the
    graph on the columns with weights ``W_jk = sum_i P_ij P_ik / a_i``
    (``L = diag(c) - P^T diag(1/a) P``, ``c = P^T 1``, assembled from the
    off-diagonal weights so that no cancellation occurs when the plan is
    nearly a permutation). A step solves ``(L + mu diag(c)) delta =
    reg (b - c)`` (:func:`_grounded_laplacian_solve`): ``mu -> 0`` is
    Newton's step, ``mu = 1`` about a Sinkhorn half-step
    (``g_j += reg log(b_j / c_j)`` to first order). It is kept when the
    semi-dual increases or the marginal error decreases, and ``mu`` is then
    divided by 10; otherwise ``mu`` is multiplied by 10 and the step
    recomputed. Returns the potential, the marginal error and the number of
    steps taken.
    """
    P, c, err, F = _semi_dual_state(C, a, b, reg, g)
    steps, mu = 0, 1e-3
    while err >= tol and steps < budget:
        steps += 1
        W = (P / a[:, None]).T @ P
        while mu <= 1e8:
            delta = _grounded_laplacian_solve(W, mu * c, reg * (b - c))
            if not np.isfinite(delta).all():
                mu *= 10.0
                continue
            state = _semi_dual_state(C, a, b, reg, g + delta)
            if state[3] > F or state[2] < err:
                break
            mu *= 10.0
        else:
            break
        g = g + delta
        P, c, err, F = state
        mu = max(mu / 10.0, 1e-14)
    return g, err, steps


def _newton_sinkhorn(
    C: np.ndarray, a: np.ndarray, b: np.ndarray, reg: float, tol: float, budget: int
) -> tuple[np.ndarray, float, int]:
    """Entropic OT by Newton steps on the semi-dual, with reg-scaling.

    Solves at ``reg_0 = max C``, then halves ``reg`` down to the target,
    warm-starting each level from the potentials (in cost units) of the
    previous one, which change by O(reg) between levels: every level then
    starts inside Newton's region of fast convergence. Intermediate levels
    stop at a marginal error of ``max(tol, 1e-6)``. Used where alternating
    Sinkhorn stalls (``reg`` small against the gaps between costs: its
    contraction factor tends to 1 like ``1 - exp(-C / reg)``), for problems
    small enough that an ``m x m`` solve per step is cheap.
    """
    level = max(float(C.max()), reg)
    g = np.zeros(len(b))
    used = 0
    while True:
        last = level <= reg
        g, err, steps = _newton_level(
            C, a, b, level, g, tol if last else max(tol, 1e-6), budget - used
        )
        used += steps
        if last or used >= budget:
            return g, (err if last else math.inf), used
        level = max(0.5 * level, reg)


def _sinkhorn(
    C: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float,
    max_iter: int,
    tol: float,
    return_plan: bool,
) -> TransportResult:
    """Entropic OT at unit cost scale: POT's log-domain Sinkhorn while ``reg < max C``.

    When ``reg`` is at least the largest cost, POT's dimensionless potentials
    cannot resolve the costs (they are ``log a_i + O(C / reg)``), and the
    alternating iterations run here in cost units instead (:func:`_softmin`);
    they then contract by at least ``tanh(1/4)`` per step. When POT has not
    converged after :data:`NEWTON_AFTER` iterations on a small problem
    (``n m^2 + m^3 <= NEWTON_MAX_WORK``), the remaining iterations are Newton
    steps with reg-scaling (:func:`_newton_sinkhorn`), which converge where
    Sinkhorn stalls (``reg`` ~ 1e-3 of the largest cost and below).
    """
    from ot.bregman import sinkhorn_log

    n, m = C.shape
    C, a, b, ia, ib = _restrict(C, a, b)
    newton_ok = len(a) * len(b) ** 2 + len(b) ** 3 <= NEWTON_MAX_WORK
    how = ""
    if reg < float(C.max()):
        # POT also returns the scalings exp(log_u), exp(log_v), which overflow harmlessly
        # for small reg (only the log-domain potentials are used here).
        first = min(max_iter, NEWTON_AFTER) if newton_ok else max_iter
        with np.errstate(over="ignore", under="ignore"):
            _, log = sinkhorn_log(a, b, C, reg, numItermax=first, stopThr=tol, log=True, warn=False)
        g = reg * (log["log_v"] - np.log(b))
        n_iter, last = min(int(log["niter"]) + 1, first), float(log["err"][-1])
        if not last < tol and newton_ok and n_iter < max_iter:
            g_newton, err, steps = _newton_sinkhorn(C, a, b, reg, tol, max_iter - n_iter)
            n_iter += steps
            how = f" (after {first} Sinkhorn iterations, {steps} Newton steps)"
            if err < last:
                g, last = g_newton, err
    else:
        g = np.zeros(len(b))
        n_iter, last = 0, math.inf
        while True:
            f = _softmin(C, g, b, reg)
            with np.errstate(under="ignore"):
                c = np.exp((f[:, None] + g[None, :] - C) / reg).T @ a * b
            last = float(np.linalg.norm(c - b))
            if last < tol or n_iter == max_iter:
                break
            g = _softmin(C.T, f, a, reg)
            n_iter += 1
    cost, linear, plan, err = _finish(C, a, b, reg, g, (n, m, ia, ib), return_plan)
    converged = last < tol
    return TransportResult(
        cost=cost,
        linear_cost=linear,
        plan=plan,
        n_iter=n_iter,
        converged=converged,
        marginal_error=err,
        message="converged"
        if converged
        else (
            f"max_iter = {max_iter} iterations reached with a marginal error "
            f"{last:.3g} > tol = {tol:g}{how}; increase max_iter or reg"
        ),
    )


def _symmetric_sinkhorn(
    C: np.ndarray,
    a: np.ndarray,
    reg: float,
    max_iter: int,
    tol: float,
    *,
    return_plan: bool = False,
) -> TransportResult:
    """OT_reg(a, a) for a symmetric cost, by the averaged symmetric Sinkhorn iteration.

    The optimal plan is P_ij = a_i a_j exp((g_i + g_j - C_ij) / reg) for the
    fixed point g = T(g), T(g)_i = -reg log sum_j a_j exp((g_j - C_ij) / reg)
    (potentials in cost units, :func:`_softmin`). Alternating Sinkhorn (POT)
    converges very slowly on this problem when the kernel is close to
    diagonal (reg small against the distances between points: the half-step
    Jacobian then has eigenvalues near -1); the averaged update
    g <- (g + T(g)) / 2 of Feydy et al. (2019) has eigenvalues near 0 there
    and converges in a few dozen iterations. The stopping rule is POT's: the
    L2 norm of the marginal error, which for this plan is
    ||a (exp((g - T(g)) / reg) - 1)||_2.
    """
    n = len(a)
    C, a, _, ia, ib = _restrict(C, a, a)  # drop zero weights (rows and columns)
    g = np.zeros(len(a))
    it = 0
    while True:
        Tg = _softmin(C, g, a, reg)
        err = float(np.linalg.norm(a * np.expm1((g - Tg) / reg)))
        if err < tol or it == max_iter:
            break
        g = 0.5 * (g + Tg)
        it += 1
    cost, linear, plan, marginal = _finish(C, a, a, reg, g, (n, n, ia, ib), return_plan)
    converged = err < tol
    return TransportResult(
        cost=cost,
        linear_cost=linear,
        plan=plan,
        n_iter=it,
        converged=converged,
        marginal_error=marginal,
        message="converged"
        if converged
        else (
            f"max_iter = {max_iter} symmetric iterations reached with a marginal error "
            f"{err:.3g} > tol = {tol:g}"
        ),
    )


#: entropic solvers refuse ``reg`` below this multiple of the largest cost (see _unit_reg)
MIN_RELATIVE_REG = 1e-14


def _unit_reg(reg: float, k: float, U: np.ndarray) -> float:
    """``reg`` in the units of the unit-scale cost ``U`` (``C = U * 2^k``).

    Refused below :data:`MIN_RELATIVE_REG` times the largest cost: there the
    rounding of the costs alone (relative 1.1e-16) moves the exponents
    ``C / reg`` of the kernel by more than 1 %, so no plan can be computed
    in float64. Capped at 1e300 when it dwarfs the costs (the plan is then
    ``a b^T`` to float64 precision, and the cost unchanged to that precision).
    """
    r = float(_times_pow2(reg, -k))
    top = float(U.max())
    if top == 0.0:  # all costs 0: the plan is a b^T and the cost 0 for every reg
        return 1.0
    if not r >= MIN_RELATIVE_REG * top:
        raise ValueError(
            f"reg = {reg!r} is too small against the costs (the largest is about "
            f"2^{k + math.log2(top):.6g}): below {MIN_RELATIVE_REG:g} times the largest cost, "
            "float64 rounding of the costs alone changes exp(-cost / reg) by more than 1 %; "
            "use exact_transport, or a larger reg"
        )
    return min(r, 1e300)


def _scaled_result(res: TransportResult, k: float, p: float) -> TransportResult:
    """``res`` for the cost ``U * 2^k`` (plans and marginal errors do not change)."""
    cost = float(_times_pow2(res.cost, k))
    linear = float(_times_pow2(res.linear_cost, k))
    if not (math.isfinite(cost) and math.isfinite(linear)):
        raise _overflow_error("the transport cost", k, p)
    return dataclasses.replace(res, cost=cost, linear_cost=linear)


def _entropic_args(
    X: Any, Y: Any, a: Any, b: Any, reg: Any, p: Any, max_iter: Any, tol: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, int, float]:
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    a = as_weights(a, X.shape[0], "a")
    b = as_weights(b, Y.shape[0], "b")
    reg = check_reg(reg)
    p = check_order(p)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    return X, Y, a, b, reg, p, max_iter, tol


def entropic_transport(
    X: Any,
    Y: Any,
    *,
    reg: float,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    max_iter: int = 10_000,
    tol: float = 1e-9,
    return_plan: bool = False,
) -> TransportResult:
    r"""Entropy-regularised optimal transport, solved by log-domain Sinkhorn (POT).

    .. math::

        \mathrm{OT}_\varepsilon(a, b) = \min_{P \in \Pi(a, b)}
        \langle P, C\rangle + \varepsilon\, \mathrm{KL}(P \,\|\, a \otimes b),
        \qquad \mathrm{KL}(P \,\|\, Q) = \sum_{ij} P_{ij}\log\frac{P_{ij}}{Q_{ij}}
        - \sum_{ij} P_{ij} + \sum_{ij} Q_{ij},

    with :math:`C_{ij} = \|x_i - y_j\|_2^p` and :math:`\varepsilon` = ``reg``
    in the units of :math:`C`. **Cost convention**: ``cost`` *includes* the
    entropic term (it is the regularised optimum, Feydy et al.'s
    :math:`\mathrm{OT}_\varepsilon`, the one that makes
    :func:`sinkhorn_divergence` non-negative); ``linear_cost`` is
    :math:`\langle P_\varepsilon, C\rangle` alone, the value of POT's
    ``ot.sinkhorn2``. Both are evaluated at the plan returned by POT's
    ``ot.bregman.sinkhorn_log`` (or, when ``X`` and ``Y`` are the same points
    with the same weights, by the symmetric iteration described in
    :func:`sinkhorn_divergence`, which converges much faster on that
    problem); ``cost`` through its dual potentials
    (:math:`\log P_{ij} = u_i + v_j - C_{ij}/\varepsilon`), exactly equal to
    the primal expression at that plan. As :math:`\varepsilon \to 0`,
    :math:`\mathrm{OT}_0 \le \mathrm{OT}_\varepsilon \le \mathrm{OT}_0 +
    \varepsilon \min(H(a), H(b))` (``theory/ot-entropic.md``).

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)
    reg : float
        Regularisation :math:`\varepsilon > 0`, in the units of the cost.
        The log-domain iterations are stable for small values, but their
        number grows quickly as :math:`\varepsilon` decreases (their
        contraction factor tends to 1 like :math:`1 - e^{-C/\varepsilon}`);
        on small problems (:math:`nm^2 + m^3 \le 2\cdot10^8`) that have not
        converged after 1,000 of them, Newton steps on the semi-dual with
        :math:`\varepsilon`-scaling take over and converge (e.g. 7 points at
        :math:`\varepsilon = 3\cdot10^{-3}` times the squared diameter, where
        :math:`10^5` Sinkhorn iterations stop at a marginal error of
        :math:`10^{-6}`). Values below
        ``1e-14`` times the largest cost are refused (float64 rounding of
        the costs alone would then change the kernel by more than 1 %).
        Values at least the largest cost are solved by the same alternating
        iterations run here with potentials in cost units, which stay
        accurate however large ``reg`` is (the cost tends to
        :math:`\langle a b^T, C\rangle`).
    a, b : array_like, optional
        Weights, as for :func:`exact_transport` (refused unless they sum to one).
    p : float, default 2.0
        Exponent of the ground cost, :math:`p \ge 1`.
    max_iter : int, default 10000
        Iteration limit: Sinkhorn iterations and Newton steps together.
    tol : float, default 1e-9
        Stop when POT's marginal error :math:`\|P^T\mathbf{1} - b\|_2` (checked
        every 10 iterations) is below ``tol``.
    return_plan : bool, default False
        Whether to return the plan :math:`P_\varepsilon`.

    Returns
    -------
    TransportResult
        ``cost``, ``linear_cost``, ``plan``, ``n_iter``, ``converged``,
        ``marginal_error`` as above. Not converging is reported in
        ``converged`` and ``message``, not raised.

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, bad weights, ``reg <= 0`` or
        ``reg`` below 1e-14 times the largest cost, ``p < 1``, ``tol <= 0``,
        ``max_iter < 1``, or a cost above the float64 range. The problem is
        solved at unit scale (``OT_reg(C) = 2^k OT_{reg/2^k}(C / 2^k)``,
        exact), so any finite coordinates work.

    References
    ----------
    .. [1] M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal
       transport", NeurIPS 2013.
    .. [2] J. Feydy, T. Séjourné, F.-X. Vialard, S. Amari, A. Trouvé,
       G. Peyré, "Interpolating between optimal transport and MMD using
       Sinkhorn divergences", AISTATS 2019.
    .. [3] G. Peyré, M. Cuturi, "Computational optimal transport",
       Foundations and Trends in Machine Learning 11(5-6), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import entropic_transport, exact_transport
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(30, 2)), rng.normal(size=(40, 2)) + 1.0
    >>> exact = exact_transport(X, Y).cost
    >>> res = entropic_transport(X, Y, reg=0.1)
    >>> res.converged, res.linear_cost <= res.cost
    (True, True)
    >>> bool(0.0 <= res.cost - exact <= 0.1 * np.log(30))  # OT_0 <= OT_eps <= OT_0 + eps H(a)
    True
    """
    X, Y, a, b, reg, p, max_iter, tol = _entropic_args(X, Y, a, b, reg, p, max_iter, tol)
    return _entropic(X, Y, a, b, reg, p, max_iter, tol, bool(return_plan))


def _entropic(
    X: np.ndarray,
    Y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float,
    p: float,
    max_iter: int,
    tol: float,
    return_plan: bool,
) -> TransportResult:
    """OT_reg between the weighted clouds, solved at unit cost scale and scaled back.

    ``OT_reg(C) = 2^k OT_{reg / 2^k}(C / 2^k)`` (plan unchanged), exactly.
    """
    U, k = _unit_cost(X, Y, p)
    if not np.isfinite(_times_pow2(float(U.max()), k)):
        raise _overflow_error("the cost matrix", k, p)
    r = _unit_reg(reg, k, U)
    if _same_measure(X, Y, a, b):
        res = _symmetric_sinkhorn(U, a, r, max_iter, tol, return_plan=return_plan)
    else:
        res = _sinkhorn(U, a, b, r, max_iter, tol, return_plan)
    return _scaled_result(res, k, p)


def _same_measure(X: np.ndarray, Y: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    return X.shape == Y.shape and np.array_equal(X, Y) and np.array_equal(a, b)


def sinkhorn_divergence(
    X: Any,
    Y: Any,
    *,
    reg: float,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    max_iter: int = 10_000,
    tol: float = 1e-9,
    return_plan: bool = False,
) -> TransportResult:
    r"""The debiased Sinkhorn divergence of Feydy et al.

    .. math::

        S_\varepsilon(a, b) = \mathrm{OT}_\varepsilon(a, b)
        - \tfrac12 \mathrm{OT}_\varepsilon(a, a) - \tfrac12 \mathrm{OT}_\varepsilon(b, b),

    with :math:`\mathrm{OT}_\varepsilon` the regularised optimum *including*
    the entropic term, exactly the ``cost`` of :func:`entropic_transport`.
    The cross term :math:`\mathrm{OT}_\varepsilon(a, b)` is solved by POT's
    log-domain Sinkhorn; the two symmetric terms by the averaged symmetric
    iteration :math:`g \leftarrow \tfrac12 (g + T(g))` of [1]_, computed here
    in the log domain (POT has no symmetric solver, and alternating Sinkhorn
    converges very slowly on :math:`X` vs :math:`X` when ``reg`` is small
    against the distances between points: on 30 Gaussian points at
    ``reg=0.1`` its marginal error is still :math:`3\cdot10^{-7}` after
    :math:`10^4` iterations, while the symmetric iteration reaches
    :math:`10^{-12}` in about 30). With this convention, and the
    squared Euclidean cost (``p=2``) or any other positive-definite kernel
    :math:`e^{-C/\varepsilon}`, :math:`S_\varepsilon \ge 0` with equality iff
    the measures coincide, and :math:`S_\varepsilon \to W_p^p` as
    :math:`\varepsilon \to 0` [1]_. ``linear_cost`` is the same combination
    of the linear costs :math:`\langle P, C\rangle` (the "sharp" variant,
    the value of POT's ``ot.bregman.empirical_sinkhorn_divergence``), which
    can be negative.

    Parameters
    ----------
    X, Y, reg, a, b, p, max_iter, tol
        As for :func:`entropic_transport`.
    return_plan : bool, default False
        Whether to return the plan of the cross problem (``X`` to ``Y``).

    Returns
    -------
    TransportResult
        ``cost`` :math:`= S_\varepsilon`; ``n_iter`` summed over the three
        problems (Sinkhorn iterations for the cross term, symmetric updates
        for the others); ``converged`` when all three converged;
        ``marginal_error`` the largest of the three.

    Raises
    ------
    ValueError
        As for :func:`entropic_transport`.

    References
    ----------
    .. [1] J. Feydy, T. Séjourné, F.-X. Vialard, S. Amari, A. Trouvé,
       G. Peyré, "Interpolating between optimal transport and MMD using
       Sinkhorn divergences", AISTATS 2019.
    .. [2] A. Genevay, G. Peyré, M. Cuturi, "Learning generative models with
       Sinkhorn divergences", AISTATS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import sinkhorn_divergence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2))
    >>> sinkhorn_divergence(X, X, reg=0.1).cost
    0.0
    >>> res = sinkhorn_divergence(X, X + 1.0, reg=0.5)
    >>> res.converged, res.cost > 0
    (True, True)
    """
    X, Y, a, b, reg, p, max_iter, tol = _entropic_args(X, Y, a, b, reg, p, max_iter, tol)
    return_plan = bool(return_plan)
    if _same_measure(X, Y, a, b):  # the cross problem is the symmetric one: S = 0 exactly
        xx = _entropic(X, X, a, a, reg, p, max_iter, tol, return_plan)
        xy = yy = xx
    else:
        xx = _entropic(X, X, a, a, reg, p, max_iter, tol, False)
        xy = _entropic(X, Y, a, b, reg, p, max_iter, tol, return_plan)
        yy = _entropic(Y, Y, b, b, reg, p, max_iter, tol, False)
    parts = (xy, xx, yy)
    converged = all(r.converged for r in parts)
    failed = [
        f"{name}: {r.message}"
        for name, r in zip(("X-Y", "X-X", "Y-Y"), parts, strict=True)
        if not r.converged
    ]
    same = xy is xx  # S_eps(a, a) = 0 exactly (no subnormal rounding of the halves)
    return TransportResult(
        cost=0.0 if same else xy.cost - (0.5 * xx.cost + 0.5 * yy.cost),
        linear_cost=0.0 if same else xy.linear_cost - (0.5 * xx.linear_cost + 0.5 * yy.linear_cost),
        plan=xy.plan,
        n_iter=sum(int(r.n_iter or 0) for r in {id(r): r for r in parts}.values()),
        converged=converged,
        marginal_error=max(r.marginal_error for r in parts),
        message="converged" if converged else "; ".join(failed),
    )


def sliced_transport(
    X: Any,
    Y: Any,
    *,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    n_projections: int = 50,
    seed: Any = 0,
    directions: Any = None,
) -> TransportResult:
    r"""Sliced Wasserstein cost between two weighted point clouds (POT).

    Formerly ``sliced_wasserstein``: the old name still works, with a
    ``DeprecationWarning``, and will be removed in sheaftopo 0.3. It sits with
    :func:`exact_transport` and :func:`entropic_transport`, whose results it
    shares, and is a different quantity from
    :func:`sheaftopo.persistence.sliced_wasserstein` (persistence diagrams,
    a float).

    .. math::

        SW_p^p(\mu, \nu) = \frac{1}{M} \sum_{k=1}^{M}
        W_p^p\big(\langle\theta_k, \cdot\rangle_\# \mu,
        \langle\theta_k, \cdot\rangle_\# \nu\big),

    the mean over :math:`M` unit directions :math:`\theta_k` of the 1-D
    transport costs of the projected measures (quantile functions).
    ``cost`` is :math:`SW_p^p`, in the same units as
    ``exact_transport(..., p=p).cost`` (:math:`W_p^p`), and never exceeds it
    (projections are 1-Lipschitz). ``cost ** (1 / p)`` is what
    ``ot.sliced_wasserstein_distance`` returns. The directions are drawn here
    (Gaussian vectors normalised, from ``seed``) and passed to POT as
    ``projections``, so results are reproducible.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)
    a, b : array_like, optional
        Weights, as for :func:`exact_transport`.
    p : float, default 2.0
        Order :math:`p \ge 1`.
    n_projections : int, default 50
        Number :math:`M` of random directions (ignored with ``directions``).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Source of the directions. The default ``0`` gives the same directions
        on every call; in a training loop pass one ``numpy.random.Generator``
        so that each call draws fresh directions. ``None`` draws from fresh
        OS entropy. Must be left at its default when ``directions`` is given.
    directions : array_like, shape (M, d), optional
        Directions used exactly as given, after normalising each row to unit
        length (rows must be non-zero).

    Returns
    -------
    TransportResult
        ``cost = linear_cost`` :math:`= SW_p^p`; ``plan = None``,
        ``n_iter = None``, ``converged = True``, ``marginal_error = 0.0``.

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, bad weights, ``p < 1``,
        ``n_projections < 1``, zero or wrongly shaped ``directions``, a
        ``seed`` given together with ``directions``, or a cost above the
        float64 range (the clouds are projected at unit scale, exact, and the
        cost scaled back).

    References
    ----------
    .. [1] N. Bonneel, J. Rabin, G. Peyré, H. Pfister, "Sliced and Radon
       Wasserstein barycenters of measures", J. Math. Imaging Vis. 51, 2015.

    Examples
    --------
    Along the only direction of a line the sliced cost is the exact one:

    >>> import numpy as np
    >>> from sheaftopo.geometry import sliced_transport
    >>> X = np.array([[0.0], [1.0]])
    >>> sliced_transport(X, X + 2.0).cost
    4.0
    >>> sliced_transport(np.zeros((1, 2)), [[3.0, 4.0]], directions=[[1.0, 0.0]]).cost
    9.0
    """
    import ot

    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    a = as_weights(a, X.shape[0], "a")
    b = as_weights(b, Y.shape[0], "b")
    p = check_order(p)
    d = X.shape[1]
    if directions is None:
        M = check_int(n_projections, "n_projections", minimum=1)
        rng = check_random_state(seed)
        theta = rng.standard_normal((d, M))
        norms = np.linalg.norm(theta, axis=0)
        while (norms == 0).any():  # pragma: no cover - probability zero
            zero = norms == 0
            theta[:, zero] = rng.standard_normal((d, int(zero.sum())))
            norms = np.linalg.norm(theta, axis=0)
        theta /= norms
    else:
        if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed == 0):
            raise ValueError(
                f"seed has no effect when directions is given; pass one of them (got seed = "
                f"{seed!r})"
            )
        D = as_float_array(directions, "directions", dtype=np.float64)
        if D.ndim != 2 or D.shape[1] != d or D.shape[0] == 0:
            raise ValueError(
                f"directions must have shape (n_directions, {d}) with at least one row; got "
                f"shape {D.shape}"
            )
        if not np.isfinite(D).all():
            raise ValueError("directions must not contain NaN or inf")
        norms = np.linalg.norm(D, axis=1)
        if (norms == 0).any():
            raise ValueError(f"directions has a zero row (row {int(np.argmin(norms))})")
        theta = (D / norms[:, None]).T.copy()
    # SW_p^p is homogeneous of degree p: project the clouds at unit scale (powers of
    # two, exact) and scale back; each 1-D cost is at most 2^p there
    s = _unit_scale(X, Y)
    with np.errstate(under="ignore"):
        _, log = ot.sliced_wasserstein_distance(
            X / s, Y / s, a, b, p=p, projections=theta, log=True
        )
        cost = float(_times_pow2(float(np.mean(log["projected_emds"])), p * _log2(s)))
    if not math.isfinite(cost):
        raise _overflow_error("the sliced Wasserstein cost", p * (_log2(s) + 1), p)
    return TransportResult(
        cost=cost,
        linear_cost=cost,
        plan=None,
        n_iter=None,
        converged=True,
        marginal_error=0.0,
        message="closed form per direction",
    )


def gaussian_wasserstein(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
    r"""Closed-form 2-Wasserstein distance between Gaussians (Bures–Wasserstein), batched.

    .. math::

        W_2\big(\mathcal{N}(m_1, \Sigma_1), \mathcal{N}(m_2, \Sigma_2)\big)
        = \Big(\|m_1 - m_2\|_2^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
        - 2 \operatorname{tr}\big(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}\big)^{1/2}\Big)^{1/2},

    the distance, not its square (as ``ot.gaussian.bures_wasserstein_distance``
    returns), i.e. ``hypot(||m1 - m2||, spd_distance(cov1, cov2, metric="bures"))``.
    The optimal map is :math:`x \mapsto m_2 + T(x - m_1)` with
    :math:`T = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\Sigma_1^{-1/2}`.

    Parameters
    ----------
    mean1 : array_like, shape (..., d)
    cov1 : array_like, shape (..., d, d)
        Symmetric positive definite covariances.
    mean2 : array_like, shape (..., d)
    cov2 : array_like, shape (..., d, d)
        All batch dimensions broadcast against each other.

    Returns
    -------
    numpy.float64 or ndarray, shape (...)

    Raises
    ------
    ValueError
        On NaN or inf, non-SPD (also numerically singular) covariances,
        mismatched dimensions, batch shapes that do not broadcast, or a
        distance above the float64 range.

    References
    ----------
    .. [1] D. C. Dowson, B. V. Landau, "The Fréchet distance between
       multivariate normal distributions", J. Multivariate Anal. 12(3), 1982.
    .. [2] C. R. Givens, R. M. Shortt, "A class of Wasserstein metrics for
       probability distributions", Michigan Math. J. 31(2), 1984.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import gaussian_wasserstein
    >>> float(gaussian_wasserstein([0.0, 0.0], np.eye(2), [3.0, 0.0], 4 * np.eye(2)))  # 9 + 2
    3.3166247903554
    """
    m1 = as_float_array(mean1, "mean1", dtype=np.float64)
    m2 = as_float_array(mean2, "mean2", dtype=np.float64)
    S1 = as_spd(cov1, "cov1")
    S2 = as_spd(cov2, "cov2")
    batch = broadcast_batch(S1, S2, ("cov1", "cov2"))
    d = S1.shape[-1]
    for name, m in (("mean1", m1), ("mean2", m2)):
        if m.ndim < 1 or m.shape[-1] != d:
            raise ValueError(
                f"{name} must have shape (..., {d}) to match the {d} x {d} covariances; "
                f"got shape {m.shape}"
            )
        if not np.isfinite(m).all():
            raise ValueError(f"{name} must not contain NaN or inf")
    try:
        np.broadcast_shapes(batch, m1.shape[:-1], m2.shape[:-1])
    except ValueError:
        raise ValueError(
            f"the batch shapes of mean1 {m1.shape[:-1]}, mean2 {m2.shape[:-1]} and the "
            f"covariances {batch} do not broadcast"
        ) from None
    # ||m1 - m2|| at the common unit scale of the means (powers of two: exact), scaled back
    s = cloud_scale(m1, m2)
    with np.errstate(over="ignore"):
        dm = np.linalg.norm(m1 / s - m2 / s, axis=-1) * s
        out = np.hypot(dm, _bures_distance(S1, S2, ("cov1", "cov2")))
    if not np.isfinite(out).all():
        raise ValueError(
            "the 2-Wasserstein distance overflows float64: mean1 and mean2 are too far apart"
        )
    return _result(out)
