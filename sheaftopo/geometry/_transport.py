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

This module holds the result type, the cost matrix, the scaling helpers and
exact transport; entropic transport and the Sinkhorn divergence are in
:mod:`~sheaftopo.geometry._entropic` (solvers in
:mod:`~sheaftopo.geometry._sinkhorn`), sliced transport in
:mod:`~sheaftopo.geometry._sliced`, the Gaussian distance in
:mod:`~sheaftopo.geometry._gaussian`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_weights,
    check_int,
    power_of_two_scale,
)
from ._checks import (
    as_pair,
    check_order,
)
from ._local import _distances

__all__ = [
    "TransportResult",
    "cost_matrix",
    "exact_transport",
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
    plan : ndarray of shape (n, m), scipy.sparse.csr_array, or None
        The transport plan when ``return_plan=True`` (None otherwise, and
        always None for sliced Wasserstein); a sparse array when
        :func:`solve_transport` was given a sparse cost.
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
    dual_a : ndarray of shape (n,), or None
        The dual potential :math:`f` on the points of the first measure, in
        the units of the cost (None for sliced Wasserstein). Exact: the
        Kantorovich potentials of ``ot.emd(..., log=True)`` (``log["u"]``,
        centred as POT does), with :math:`f_i + g_j \le C_{ij}`, equality
        where the plan is positive, and :math:`\langle a, f\rangle +
        \langle b, g\rangle` = ``cost``. Entropic: the potentials with
        :math:`P_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}` (POT's
        ``reg * log_u`` minus ``reg * log(a)``, up to a constant moved from
        :math:`f` to :math:`g`), for which :math:`\langle a, f\rangle +
        \langle b, g\rangle` = ``cost``. Sinkhorn divergence: the debiased
        potentials :math:`f_{ab} - f_{aa}` of Feydy et al. Points of weight
        zero get the (c- or soft-) transform of the other potential.
    dual_b : ndarray of shape (m,), or None
        The dual potential :math:`g` on the points of the second measure.
    """

    cost: float
    linear_cost: float
    plan: Any
    n_iter: int | None
    converged: bool
    marginal_error: float
    message: str
    dual_a: np.ndarray | None = None
    dual_b: np.ndarray | None = None


def transport_weights(w: Any, n: int, name: str) -> np.ndarray:
    """:func:`~sheaftopo._validation.as_weights`, with an empty list or 1-D array meaning uniform.

    As in POT (``a=[]``); None also means uniform. Any other length is refused.
    """
    if isinstance(w, (list, tuple)) and len(w) == 0:
        w = None
    elif isinstance(w, np.ndarray) and w.shape == (0,):
        w = None
    return as_weights(w, n, name)


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


def _fill_duals(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    shape: tuple[int, int],
    fg: tuple[np.ndarray, np.ndarray],
    kept: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Full-length exact potentials from those ``fg`` of the points of positive weight.

    ``edges = (rows, cols, costs)`` lists the pairs allowed to carry mass
    (every pair of a dense cost), ``kept`` the indices of the points of
    positive weight. A point of weight zero gets the c-transform of the other
    potential over its pairs (``g_j = min_i C_ij - f_i`` over the kept rows
    first, then ``f_i = min_j C_ij - g_j`` over all columns; 0 for a point
    with no pair), which keeps ``f_i + g_j <= C_ij`` on every pair and
    changes neither the dual value nor the slackness.
    """
    (n, m), (r, c, w) = shape, edges
    F, G = np.zeros(n), np.zeros(m)
    F[kept[0]], G[kept[1]] = fg
    in_a, in_b = np.zeros(n, bool), np.zeros(m, bool)
    in_a[kept[0]], in_b[kept[1]] = True, True
    for target, other, idx, oidx, sel in (
        (G, F, c, r, in_a[r] & ~in_b[c]),
        (F, G, r, c, ~in_a[r]),
    ):
        best = np.full(len(target), np.inf)
        np.minimum.at(best, idx[sel], w[sel] - other[oidx[sel]])
        fill = ~(in_b if target is G else in_a)
        target[fill] = np.where(np.isfinite(best[fill]), best[fill], 0.0)
    return F, G


def _restrict_sparse(
    C: Any, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray, np.ndarray]:
    """The points of positive weight of a sparse (COO) problem: ``(rows, cols, C', a', b')``.

    ``C'`` is a new COO array on the kept rows and columns (their pairs only).
    """
    import scipy.sparse as sp

    rows, cols = np.flatnonzero(a > 0), np.flatnonzero(b > 0)
    new_r, new_c = np.full(len(a), -1), np.full(len(b), -1)
    new_r[rows], new_c[cols] = np.arange(len(rows)), np.arange(len(cols))
    keep = (new_r[C.row] >= 0) & (new_c[C.col] >= 0)
    Cr = sp.coo_array(
        (C.data[keep], (new_r[C.row[keep]], new_c[C.col[keep]])), shape=(len(rows), len(cols))
    )
    return rows, cols, Cr, a[rows], b[cols]


def _exact(
    C: np.ndarray, a: np.ndarray, b: np.ndarray, return_plan: bool, max_iter: int | None
) -> TransportResult:
    """Exact OT on the cost ``C`` (any finite values; ``C`` itself is not modified)."""
    import ot

    n, m = C.shape
    Cr, a, b, ia, ib = _restrict(C, a, b)
    if max_iter is None:
        max_iter = max(100_000, 50 * (len(a) + len(b)) ** 2)
    # POT's pivoting tolerances are absolute: bring the largest |cost| into (1/2, 1]
    # by a power of two (exact; the plan is unchanged) and scale cost and duals back.
    top = float(np.abs(Cr).max())
    k = math.frexp(top)[1] if top > 0 else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        G, log = ot.emd(a, b, np.ldexp(Cr, -k), numItermax=max_iter, log=True)
    cost = math.ldexp(float(log["cost"]), k)
    err, _ = _marginal_error(G, a, b)
    ok = int(log["result_code"]) == 1
    f, g = np.ldexp(log["u"], k), np.ldexp(log["v"], k)
    if ia is not None or ib is not None:
        r, c = np.indices((n, m)).reshape(2, -1)
        kept = (np.arange(n) if ia is None else ia, np.arange(m) if ib is None else ib)
        f, g = _fill_duals((r, c, C.ravel()), (n, m), (f, g), kept)
    return TransportResult(
        cost=cost,
        linear_cost=cost,
        plan=_embed(G, ia, ib, n, m) if return_plan else None,
        n_iter=None,
        converged=ok,
        marginal_error=err,
        message="optimal" if ok else str(log["warning"]),
        dual_a=f,
        dual_b=g,
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
    a = transport_weights(a, X.shape[0], "a")
    b = transport_weights(b, Y.shape[0], "b")
    p = check_order(p)
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
    U, k = _unit_cost(X, Y, p)
    return _scaled_result(_exact(U, a, b, bool(return_plan), max_iter), k, p)


def _scaled_result(res: TransportResult, k: float, p: float) -> TransportResult:
    """``res`` for the cost ``U * 2^k`` (plans and marginal errors do not change)."""
    cost = float(_times_pow2(res.cost, k))
    linear = float(_times_pow2(res.linear_cost, k))
    duals = [None if d is None else _times_pow2(d, k) for d in (res.dual_a, res.dual_b)]
    if not (
        math.isfinite(cost)
        and math.isfinite(linear)
        and all(d is None or np.isfinite(d).all() for d in duals)
    ):
        raise _overflow_error("the transport cost", k, p)
    return dataclasses.replace(res, cost=cost, linear_cost=linear, dual_a=duals[0], dual_b=duals[1])
