r"""Optimal transport on a given cost matrix, dense or sparse (POT's ``ot.solve`` counterpart).

The point-cloud functions (:func:`~sheaftopo.geometry.exact_transport`,
:func:`~sheaftopo.geometry.entropic_transport`) build the cost
:math:`\|x_i - y_j\|^p` themselves; :func:`solve_transport` takes any cost
matrix instead and runs the same solvers (network simplex, log-domain
Sinkhorn with its Newton finish) under the same conventions (weights,
result object, cost including the entropic term, dual potentials).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from .._validation import as_float_array, check_int, check_real
from ._checks import check_reg
from ._entropic import _unit_reg
from ._sinkhorn import _sinkhorn
from ._transport import (
    TransportResult,
    _exact,
    _fill_duals,
    _marginal_error,
    _restrict_sparse,
    _times_pow2,
    transport_weights,
)

__all__ = ["solve_transport"]


def _as_cost(cost: Any) -> Any:
    """A finite float64 cost: a new dense (n, m) array, or a new ``scipy.sparse.coo_array``."""
    import scipy.sparse as sp

    if sp.issparse(cost):
        if cost.dtype.kind not in "fiub":
            raise TypeError(f"cost must hold real numbers; got a sparse matrix of {cost.dtype}")
        C = sp.coo_array(cost, dtype=np.float64, copy=True)
        C.sum_duplicates()
        if C.ndim != 2 or min(C.shape) == 0 or C.nnz == 0:
            raise ValueError(
                "cost must be a sparse matrix of shape (n, m) with n, m >= 1 and at least one "
                f"stored entry; got shape {C.shape} with {C.nnz} stored entries"
            )
        data = C.data
    else:
        C = np.array(as_float_array(cost, "cost"), dtype=np.float64)
        if C.ndim != 2 or min(C.shape) == 0:
            raise ValueError(f"cost must be a 2-D array of shape (n, m), n, m >= 1; got {C.shape}")
        data = C
    bad = ~np.isfinite(data)
    if bad.any():
        raise ValueError(
            f"cost must not contain NaN or inf ({int(bad.sum())} such entries); a sparse cost "
            "leaves forbidden pairs out instead of storing inf"
        )
    return C


def _exponent(top: float) -> int:
    """``k`` with ``top / 2^k`` in [1/2, 1) (0 for ``top = 0``)."""
    return math.frexp(top)[1] if top > 0 else 0


def _scale_back(res: TransportResult, k: int, shift: float) -> TransportResult:
    """The result for the cost ``(U + shift) * 2^k`` from that for the unit-scale cost ``U``.

    ``shift`` (a constant added to every cost) moves ``cost``, ``linear_cost``
    and ``f`` by itself; then everything is multiplied by ``2^k`` (exact).
    """
    vals = [res.cost + shift, res.linear_cost + shift, res.dual_a + shift, res.dual_b]
    cost, linear, f, g = (_times_pow2(v, k) for v in vals)
    if not all(np.isfinite(v).all() for v in (cost, linear, f, g)):
        raise ValueError(
            "cost: the dual potentials overflow float64 (the costs are within a factor 2 of "
            "the float64 limit); divide cost by a constant (the plan does not change)"
        )
    return dataclasses.replace(res, cost=float(cost), linear_cost=float(linear), dual_a=f, dual_b=g)


def _dense(
    C: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float | None,
    iters: tuple[int | None, float],
    return_plan: bool,
) -> TransportResult:
    """Exact or entropic OT on a dense cost, solved at unit scale (and shifted to ``>= 0``)."""
    k = _exponent(float(np.abs(C).max()))
    U = np.ldexp(C, -k)  # max |U| in [1/2, 1): exact
    max_iter, tol = iters
    if reg is None:
        return _scale_back(_exact(U, a, b, return_plan, max_iter), k, 0.0)
    shift = float(U.min())
    U -= shift  # the plan does not change; costs move by the shift
    r = _unit_reg(reg, k, U)
    res = _sinkhorn(U, a, b, r, 10_000 if max_iter is None else max_iter, tol, return_plan)
    return _scale_back(res, k, shift)


def _sparse(
    C: Any, a: np.ndarray, b: np.ndarray, max_iter: int | None, return_plan: bool
) -> TransportResult:
    """Exact OT by POT's sparse network simplex: only the stored pairs may carry mass."""
    import ot
    import scipy.sparse as sp

    n, m = C.shape
    rows, cols, Cr, ar, br = _restrict_sparse(C, a, b)
    if max_iter is None:
        max_iter = max(100_000, 50 * (len(ar) + len(br)) ** 2)
    k = _exponent(float(np.abs(Cr.data).max()))
    Cr.data = np.ldexp(Cr.data, -k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        G, log = ot.emd(ar, br, Cr, numItermax=max_iter, log=True)
    code = int(log["result_code"])
    if code == 0:
        raise ValueError(
            "cost: no coupling of a and b uses only the stored entries of the sparse cost "
            "(the pairs allowed to carry mass); store more pairs, or pass a dense cost"
        )
    G = sp.coo_array(G)
    plan = sp.csr_array((G.data, (rows[G.row], cols[G.col])), shape=(n, m))
    err, _ = _marginal_error(plan, a, b)
    ok = code == 1
    f, g = _fill_duals(
        (C.row, C.col, np.ldexp(C.data, -k)), (n, m), (log["u"], log["v"]), (rows, cols)
    )
    res = TransportResult(
        cost=float(log["cost"]),
        linear_cost=float(log["cost"]),
        plan=plan if return_plan else None,
        n_iter=None,
        converged=ok,
        marginal_error=err,
        message="optimal" if ok else str(log["warning"]),
        dual_a=f,
        dual_b=g,
    )
    return _scale_back(res, k, 0.0)


def solve_transport(
    cost: Any,
    *,
    a: Any = None,
    b: Any = None,
    reg: float | None = None,
    max_iter: int | None = None,
    tol: float = 1e-9,
    return_plan: bool = False,
) -> TransportResult:
    r"""Optimal transport for a given cost matrix: exact, or entropic when ``reg`` is given.

    .. math::

        \min_{P \in \Pi(a, b)} \langle P, C\rangle \quad\text{(exact)},\qquad
        \min_{P \in \Pi(a, b)} \langle P, C\rangle
        + \varepsilon\,\mathrm{KL}(P \,\|\, a \otimes b) \quad\text{(entropic)},

    the problems of :func:`exact_transport` and :func:`entropic_transport`
    (same solvers, conventions and result) for any cost matrix :math:`C`
    (negative entries allowed), as POT's ``ot.solve(M, a, b, reg=...)``.

    **Sparse costs** (any ``scipy.sparse`` matrix or array) follow POT's
    sparse network simplex (``ot.emd`` with a sparse ``M``): the *stored*
    entries are the pairs allowed to carry mass (a stored 0 is a free pair);
    the missing ones are forbidden, not free. The plan is then a
    ``scipy.sparse.csr_array`` and nothing of size :math:`nm` is formed.
    Entropic transport on a sparse cost is refused: POT's Sinkhorn solvers
    take dense costs only, and densifying would either make the forbidden
    pairs free (zeros) or need an infinite cost; pass ``cost.toarray()``
    when missing entries are meant as zero costs.

    Parameters
    ----------
    cost : array_like or scipy.sparse matrix, shape (n, m)
        Finite costs :math:`C_{ij}` (float64 is used).
    a : array_like, shape (n,), optional
        Weights of the rows: non-negative, summing to one within 1e-6.
        None or an empty list/array (POT's ``a=[]``) means uniform.
    b : array_like, shape (m,), optional
        Weights of the columns, likewise.
    reg : float, optional
        Entropic regularisation :math:`\varepsilon > 0` in the units of the
        cost (see :func:`entropic_transport`); None (default) solves the
        exact problem.
    max_iter : int, optional
        Network simplex iterations (default ``max(100_000, 50 (n + m)^2)``),
        or Sinkhorn iterations and Newton steps (default 10,000).
    tol : float, default 1e-9
        Entropic only: the marginal error at which Sinkhorn stops.
    return_plan : bool, default False
        Whether to return the plan.

    Returns
    -------
    TransportResult
        ``cost``, ``linear_cost``, ``plan``, ``n_iter``, ``converged``,
        ``marginal_error``, and the dual potentials ``dual_a``, ``dual_b``
        (:math:`f, g` with :math:`\langle a, f\rangle + \langle b,
        g\rangle` = ``cost``; exact: :math:`f_i + g_j \le C_{ij}` with
        equality where the plan is positive).

    Raises
    ------
    ValueError
        On NaN or inf, a cost of the wrong shape, weights of the wrong
        length, negative or not summing to one, ``reg <= 0`` or below
        ``1e-14`` times the range of the costs, ``reg`` with a sparse cost,
        ``tol <= 0``, ``max_iter < 1``, or a sparse cost whose stored pairs
        admit no coupling of ``a`` and ``b``. The costs are solved at unit
        scale and scaled back (exact), so any finite magnitudes work.
    TypeError
        On a cost or weights that are not arrays of real numbers (torch
        tensors included).

    See Also
    --------
    exact_transport, entropic_transport, cost_matrix

    References
    ----------
    .. [1] R. Flamary et al., "POT: Python Optimal Transport", JMLR 22(78), 2021.
    .. [2] G. Peyré, M. Cuturi, "Computational optimal transport",
       Foundations and Trends in Machine Learning 11(5-6), 2019.

    Examples
    --------
    POT's own example (``ot.emd([.5, .5], [.5, .5], [[0, 1], [1, 0]])``):

    >>> from sheaftopo.geometry import solve_transport
    >>> res = solve_transport([[0.0, 1.0], [1.0, 0.0]], a=[], return_plan=True)
    >>> res.cost, res.plan
    (0.0, array([[0.5, 0. ],
           [0. , 0.5]]))
    >>> float(res.dual_a @ [0.5, 0.5] + res.dual_b @ [0.5, 0.5])  # strong duality
    0.0

    A sparse cost: only the stored pairs may carry mass.

    >>> import scipy.sparse as sp
    >>> C = sp.coo_array(([1.0, 2.0, 0.5], ([0, 0, 1], [0, 1, 1])), shape=(2, 2))
    >>> solve_transport(C, return_plan=True).plan.toarray()
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    C = _as_cost(cost)
    n, m = C.shape
    a = transport_weights(a, n, "a")
    b = transport_weights(b, m, "b")
    if reg is not None:
        reg = check_reg(reg)
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    if isinstance(C, np.ndarray):
        return _dense(C, a, b, reg, (max_iter, tol), bool(return_plan))
    if reg is not None:
        raise ValueError(
            "reg must be None for a sparse cost: POT's Sinkhorn solvers take dense costs only, "
            "and a sparse cost's missing entries are forbidden pairs, not zero costs; pass "
            "cost.toarray() if they are meant as zeros"
        )
    return _sparse(C, a, b, max_iter, bool(return_plan))
