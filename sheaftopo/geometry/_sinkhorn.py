"""The log-domain Sinkhorn solvers behind :func:`~sheaftopo.geometry.entropic_transport`
and :func:`~sheaftopo.geometry.sinkhorn_divergence`.

POT's ``sinkhorn_log`` iterations, followed (on small enough problems that
have not converged) by Newton steps on the semi-dual, which converge where
plain iterations stall for small ``reg``; the symmetric (debiasing) problem
of the Sinkhorn divergence; and the soft-min and the finishing of a result
(cost, plan, marginal error) from the potentials.
"""

from __future__ import annotations

import math

import numpy as np

from ._transport import TransportResult, _embed, _marginal_error, _restrict


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
) -> tuple[float, float, np.ndarray | None, float, np.ndarray, np.ndarray]:
    """Cost, linear cost, plan, marginal error and potentials after a last row update from ``g``.

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
    return cost, linear, (_embed(P, ia, ib, n, m) if return_plan else None), err, f, g


def _soft_fill(
    C: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    reg: float,
    fg: tuple[np.ndarray, np.ndarray],
    kept: tuple[np.ndarray | None, np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Full-length entropic potentials from those of the points of positive weight.

    ``C`` is the full cost, ``a``, ``b`` the kept weights. A point of weight
    zero gets the soft-min transform of the other potential (the value its
    potential takes at the fixed point of the Sinkhorn updates); the kept
    entries are returned as they are.
    """
    f, g = fg
    ia, ib = kept
    if ia is None and ib is None:
        return f, g
    n, m = C.shape
    rows = np.arange(n) if ia is None else ia
    cols = np.arange(m) if ib is None else ib
    F, G = np.zeros(n), np.zeros(m)
    F[rows], G[cols] = f, g
    if ia is not None:
        F = _softmin(C[:, cols], g, b, reg)
        F[rows] = f
    if ib is not None:
        G = _softmin(C[rows].T, f, a, reg)
        G[cols] = g
    return F, G


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
    full = C
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
    cost, linear, plan, err, f, g = _finish(C, a, b, reg, g, (n, m, ia, ib), return_plan)
    f, g = _soft_fill(full, a, b, reg, (f, g), (ia, ib))
    converged = last < tol
    return TransportResult(
        dual_a=f,
        dual_b=g,
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
    full = C
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
    cost, linear, plan, marginal, f, g = _finish(C, a, a, reg, g, (n, n, ia, ib), return_plan)
    f, g = _soft_fill(full, a, a, reg, (f, g), (ia, ib))
    converged = err < tol
    return TransportResult(
        dual_a=f,
        dual_b=g,
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
