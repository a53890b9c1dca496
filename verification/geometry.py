"""Checks of the geometry theory pages (theory/ot-*.md, theory/spd-*.md, theory/diagnostics-*.md).

The oracles are independent of the code under test: scipy's generalized
symmetric eigensolver, ``logm``/``sqrtm``/Lyapunov solver and linear programs,
``linear_sum_assignment`` for exact transport, POT's own closed form for
Gaussians, brute-force loops for the neighbourhood diagnostics, and
closed-form population values for MMD.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register

# --------------------------------------------------------------------------
# instance families
# --------------------------------------------------------------------------


def _spd(rng: np.random.Generator, n: int, cond: float, batch: tuple[int, ...] = ()) -> np.ndarray:
    """SPD matrices, eigenvalues log-uniform in [cond^-1/2, cond^1/2], random eigenvectors."""
    Q, _ = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    half = 0.5 * math.log(cond)
    lam = np.exp(rng.uniform(-half, half, size=(*batch, n)))
    return (Q * lam[..., None, :]) @ np.swapaxes(Q, -1, -2)


def _spd_pair(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, np.ndarray]:
    """Two SPD matrices from a rotating list of families (near-equal, scaled, ill-conditioned)."""
    family = i % 5
    n = int(rng.integers(1, 9))
    if family == 0:
        return f"random n={n} cond<=1e2", _spd(rng, n, 1e2), _spd(rng, n, 1e2)
    if family == 1:
        return f"random n={n} cond<=1e4", _spd(rng, n, 1e4), _spd(rng, n, 1e4)
    if family == 2:
        P = _spd(rng, n, 1e2)
        E = rng.standard_normal((n, n)) * 1e-5
        return f"near-equal n={n}", P, P + 0.5 * (E + E.T) * np.abs(P).max()
    if family == 3:
        s = float(10.0 ** rng.integers(-6, 7))
        return f"scaled by {s:g}, n={n}", s * _spd(rng, n, 1e2), s * _spd(rng, n, 1e2)
    P = _spd(rng, n, 1e2)
    return f"Q = c P, n={n}", P, float(rng.uniform(0.1, 10)) * P


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max() / max(1.0, float(np.abs(b).max())))


def _sym_fn(P: np.ndarray, f) -> np.ndarray:
    """f(P) for a symmetric matrix, by its eigendecomposition (written here, not the library's)."""
    lam, U = np.linalg.eigh(0.5 * (P + P.T))
    return (U * f(lam)) @ U.T


def _sqrtm(P: np.ndarray) -> np.ndarray:
    return _sym_fn(P, np.sqrt)


def _logm(P: np.ndarray) -> np.ndarray:
    return _sym_fn(P, np.log)


def _weights(rng: np.random.Generator, n: int, i: int) -> np.ndarray:
    if i % 3 == 0:
        return np.full(n, 1.0 / n)
    w = rng.random(n) + (0.0 if i % 3 == 1 else 0.2)
    if i % 3 == 1:
        w[rng.random(n) < 0.2] = 0.0
        if not w.any():
            w[0] = 1.0
    return w / w.sum()


# --------------------------------------------------------------------------
# SPD geometry
# --------------------------------------------------------------------------


@register(
    "spd-affine-invariance",
    theory="spd-affine-invariant.md",
    statement="d_AI(APA^T, AQA^T) = d_AI(P^-1, Q^-1) = d_AI(P, Q) = |log eig(P^-1 Q)| (scipy)",
    kind="error",
    tolerance=1e-9,
    quick=40,
    full=3000,
)
def _affine_invariance(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import scipy.linalg as sl

    from sheaftopo.geometry import spd_distance

    for i in range(n):
        label, P, Q = _spd_pair(rng, i)
        k = P.shape[0]
        U, _ = np.linalg.qr(rng.standard_normal((k, k)))
        V, _ = np.linalg.qr(rng.standard_normal((k, k)))
        A = (U * np.exp(rng.uniform(-1.0, 1.0, k))) @ V  # invertible, cond <= e^2
        d = float(spd_distance(P, Q))
        oracle = float(np.linalg.norm(np.log(sl.eigh(Q, P, eigvals_only=True))))
        moved = float(spd_distance(A @ P @ A.T, A @ Q @ A.T))
        inverted = float(spd_distance(np.linalg.inv(P), np.linalg.inv(Q)))
        scale = max(1.0, d)
        err = max(abs(d - oracle), abs(moved - d), abs(inverted - d)) / scale
        yield label, err


def _riemannian_norm(V: np.ndarray, P: np.ndarray, metric: str) -> float:
    import scipy.linalg as sl

    if metric == "affine":
        R = np.linalg.inv(_sqrtm(P))
        return float(np.linalg.norm(R @ V @ R))
    X = sl.solve_continuous_lyapunov(P, V)  # P X + X P = V
    return float(np.sqrt(max(0.5 * np.trace(X @ V), 0.0)))


@register(
    "spd-exp-log",
    theory="spd-metrics.md",
    statement="all three metrics: Exp_P(Log_P Q) = Q, |Log_P Q|_P = d(P, Q), "
    "d(P, gamma(t)) = t d(P, Q)",
    kind="error",
    tolerance=1e-8,
    quick=30,
    full=2000,
)
def _exp_log(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import spd_distance, spd_exp, spd_geodesic, spd_log

    metrics = ("affine", "log_euclidean", "bures")
    for i in range(n):
        metric = metrics[i % 3]
        label, P, Q = _spd_pair(rng, i // 3)
        scale = max(1.0, float(np.abs(Q).max()))
        V = spd_log(Q, P, metric=metric)
        err = float(np.abs(spd_exp(V, P, metric=metric) - Q).max()) / scale
        d = float(spd_distance(Q, P, metric=metric))
        if metric != "log_euclidean":
            err = max(err, abs(_riemannian_norm(V, P, metric) - d) / max(1.0, d))
        t = float(rng.uniform(0.0, 1.0))
        G = spd_geodesic(P, Q, t, metric=metric)
        err = max(err, abs(float(spd_distance(P, G, metric=metric)) - t * d) / max(1.0, d))
        yield f"{metric}: {label}", err


@register(
    "spd-frechet-mean",
    theory="spd-frechet-mean.md",
    statement="commuting matrices: mean = closed form; otherwise the Riemannian gradient "
    "(recomputed from its definition) vanishes at the returned mean",
    kind="error",
    tolerance=1e-8,
    quick=15,
    full=600,
)
def _frechet(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import spd_mean

    metrics = ("affine", "log_euclidean", "bures")
    for i in range(n):
        metric = metrics[i % 3]
        k = int(rng.integers(1, 6))
        N = int(rng.integers(1, 25))
        w = _weights(rng, N, i)
        if (i // 3) % 2 == 0:  # commuting: shared eigenvectors
            U, _ = np.linalg.qr(rng.standard_normal((k, k)))
            lam = np.exp(rng.uniform(-3, 3, size=(N, k)))
            P = (U * lam[:, None, :]) @ U.T
            ref_lam = (w @ np.sqrt(lam)) ** 2 if metric == "bures" else np.exp(w @ np.log(lam))
            ref = (U * ref_lam) @ U.T
            res = spd_mean(P, metric=metric, weights=w, tol=1e-12, max_iter=200)
            err = _rel(res.mean, ref) + (0.0 if res.converged else 1.0)
            yield f"{metric}: {N} commuting {k}x{k}", err
            continue
        P = _spd(rng, k, 1e3, (N,))
        res = spd_mean(P, metric=metric, weights=w, tol=1e-12, max_iter=500)
        M = res.mean
        if metric == "affine":
            R = np.linalg.inv(_sqrtm(M))
            G = sum(wi * _logm(R @ p @ R) for wi, p in zip(w, P, strict=True))
            grad = float(np.linalg.norm(G))
        elif metric == "log_euclidean":
            G = sum(wi * _logm(p) for wi, p in zip(w, P, strict=True))
            grad = float(np.linalg.norm(G - _logm(M)))
        else:
            R = _sqrtm(M)
            Ri = np.linalg.inv(R)
            T = sum(wi * Ri @ _sqrtm(R @ p @ R) @ Ri for wi, p in zip(w, P, strict=True))
            D = T - np.eye(k)
            grad = float(np.sqrt(max(np.trace(D @ M @ D), 0.0)) / math.sqrt(np.trace(M)))
        yield f"{metric}: {N} random {k}x{k}", grad + (0.0 if res.converged else 1.0)


@register(
    "stein-divergence",
    theory="spd-stein-divergence.md",
    statement="S(P, Q) <= d_AI(P, Q)^2 / 8 and sqrt(S) satisfies the triangle inequality",
    kind="ratio",
    tolerance=1e-9,
    quick=40,
    full=3000,
)
def _stein(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import spd_distance, stein_divergence

    for i in range(n):
        label, P, Q = _spd_pair(rng, i)
        S = float(stein_divergence(P, Q))
        d2 = float(spd_distance(P, Q)) ** 2
        if d2 > 0:
            yield f"bound: {label}", 8.0 * S / d2
        R = _spd(rng, P.shape[0], 1e2) * float(np.trace(P)) / P.shape[0]
        lhs = math.sqrt(float(stein_divergence(P, R)))
        rhs = math.sqrt(S) + math.sqrt(float(stein_divergence(Q, R)))
        if rhs > 0:
            yield f"triangle: {label}", lhs / rhs


# --------------------------------------------------------------------------
# optimal transport
# --------------------------------------------------------------------------


def _clouds(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, np.ndarray]:
    n, m = int(rng.integers(2, 16)), int(rng.integers(2, 16))
    d = int(rng.integers(1, 5))
    family = i % 4
    X = rng.standard_normal((n, d))
    if family == 0:
        return f"gaussians n={n} m={m} d={d}", X, rng.standard_normal((m, d)) + 0.5
    if family == 1:
        s = float(10.0 ** rng.integers(-5, 6))
        return f"scaled by {s:g}", s * X, s * rng.standard_normal((m, d))
    if family == 2:
        Y = X[rng.integers(0, n, m)] + 1e-3 * rng.standard_normal((m, d))
        return f"near-copies n={n} m={m}", X, Y
    g = np.arange(n, dtype=float)[:, None] * np.ones((1, d))
    return f"lattice with ties n={n} m={m}", g, g[rng.integers(0, n, m)] + 1.0


def _lp_transport(a: np.ndarray, b: np.ndarray, C: np.ndarray) -> float:
    """Exact OT by scipy's HiGHS linear programming (an oracle independent of POT)."""
    from scipy.optimize import linprog

    n, m = C.shape
    A_eq = np.zeros((n + m, n * m))
    for i in range(n):
        A_eq[i, i * m : (i + 1) * m] = 1.0
    for j in range(m):
        A_eq[n + j, j::m] = 1.0
    # HiGHS's tolerances are absolute: solve with the costs scaled into [0, 1]
    scale = max(float(C.max()), 1e-300)
    res = linprog(
        C.ravel() / scale,
        A_eq=A_eq,
        b_eq=np.concatenate([a, b]),
        bounds=(0, None),
        method="highs-ds",  # dual simplex: an exact vertex of the transport polytope
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    return float(res.fun) * scale


@register(
    "ot-exact",
    theory="ot-exact-sliced.md",
    statement="exact_transport = assignment (uniform, n = m) and = HiGHS LP (weighted); "
    "the plan is a coupling",
    kind="error",
    tolerance=1e-8,
    quick=20,
    full=1500,
)
def _ot_exact(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    from sheaftopo.geometry import exact_transport

    for i in range(n):
        label, X, Y = _clouds(rng, i)
        p = (1.0, 2.0, 3.0)[i % 3]
        C = cdist(X, Y) ** p
        scale = max(float(C.max()), 1e-300)
        if i % 2 == 0:
            Y = Y[: len(X)] if len(Y) >= len(X) else np.concatenate([Y, X[len(Y) :] + 0.1])
            C = cdist(X, Y) ** p
            r, c = linear_sum_assignment(C)
            res = exact_transport(X, Y, p=p, return_plan=True)
            err = abs(res.cost - C[r, c].mean()) / scale
            yield f"assignment p={p:g}: {label}", err + res.marginal_error
            continue
        a, b = _weights(rng, len(X), i), _weights(rng, len(Y), i + 1)
        res = exact_transport(X, Y, a=a, b=b, p=p, return_plan=True)
        err = abs(res.cost - _lp_transport(a, b, C)) / scale
        err += float(np.abs(res.plan.sum(1) - a).sum() + np.abs(res.plan.sum(0) - b).sum())
        err += 0.0 if res.converged and (res.plan >= 0).all() else 1.0
        yield f"LP p={p:g} weighted: {label}", err


@register(
    "sliced-below-exact",
    theory="ot-exact-sliced.md",
    statement="SW_p^p <= W_p^p for any directions, with equality in one dimension",
    kind="ratio",
    tolerance=1e-9,
    quick=20,
    full=1500,
)
def _sliced(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import exact_transport, sliced_wasserstein

    for i in range(n):
        label, X, Y = _clouds(rng, i)
        p = (1.0, 2.0, 3.0)[i % 3]
        a, b = _weights(rng, len(X), i), _weights(rng, len(Y), i + 2)
        W = exact_transport(X, Y, a=a, b=b, p=p).cost
        if W == 0:
            continue
        S = sliced_wasserstein(X, Y, a=a, b=b, p=p, n_projections=20, seed=rng)
        yield f"p={p:g}: {label}", S.cost / W
        if X.shape[1] == 1:  # one dimension: the sliced cost is the exact one
            yield f"1-D equality p={p:g}: {label}", 1.0 + abs(S.cost / W - 1.0)


def _entropy(w: np.ndarray) -> float:
    w = w[w > 0]
    return float(-(w * np.log(w)).sum())


@register(
    "sinkhorn-limit",
    theory="ot-entropic.md",
    statement="OT_0 <= <P_eps, C> <= OT_eps <= OT_0 + eps min(H(a), H(b))",
    kind="ratio",
    tolerance=1e-6,
    quick=12,
    full=800,
)
def _sinkhorn_limit(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import entropic_transport, exact_transport

    for i in range(n):
        label, X, Y = _clouds(rng, i)
        a, b = _weights(rng, len(X), i), _weights(rng, len(Y), i + 1)
        exact = exact_transport(X, Y, a=a, b=b)
        H = min(_entropy(a), _entropy(b))
        if H == 0:
            continue
        C_scale = max(float(np.ptp(np.concatenate([X, Y]), axis=0).max()) ** 2, 1e-300)
        reg = C_scale * float(10.0 ** rng.uniform(-1.5, 0.5))
        res = entropic_transport(X, Y, a=a, b=b, reg=reg, max_iter=100_000, tol=1e-11)
        if not res.converged:
            yield f"did not converge: {label}", math.inf
            continue
        unit = reg * H
        tag = f"eps={reg:.2g}: {label}"
        yield f"upper {tag}", (res.cost - exact.cost) / unit
        yield f"lower {tag}", 1.0 + (exact.cost - res.linear_cost) / unit
        yield f"linear <= regularised {tag}", 1.0 + (res.linear_cost - res.cost) / unit


@register(
    "sinkhorn-divergence",
    theory="ot-sinkhorn-divergence.md",
    statement="S_eps(a, b) >= 0, S_eps(a, a) = 0, S_eps symmetric",
    kind="error",
    tolerance=1e-9,
    quick=12,
    full=800,
)
def _divergence(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import sinkhorn_divergence

    for i in range(n):
        label, X, Y = _clouds(rng, i)
        a, b = _weights(rng, len(X), i), _weights(rng, len(Y), i + 1)
        scale = max(float(np.ptp(np.concatenate([X, Y]), axis=0).max()) ** 2, 1e-300)
        reg = scale * float(10.0 ** rng.uniform(-1.0, 1.0))
        S = sinkhorn_divergence(X, Y, a=a, b=b, reg=reg, max_iter=100_000, tol=1e-11)
        T = sinkhorn_divergence(Y, X, a=b, b=a, reg=reg, max_iter=100_000, tol=1e-11)
        same = sinkhorn_divergence(X, X, a=a, b=a, reg=reg)
        err = max(0.0, -S.cost) / scale + abs(S.cost - T.cost) / scale + abs(same.cost) / scale
        err += 0.0 if S.converged and T.converged else 1.0
        yield f"eps={reg:.2g}: {label}", err


@register(
    "gaussian-w2",
    theory="ot-gaussian-w2.md",
    statement="Bures-Wasserstein W2 = POT's closed form; the Brenier map is the optimal "
    "matching of any sample, with mean cost W2^2",
    kind="error",
    tolerance=1e-9,
    quick=20,
    full=1500,
)
def _gaussian(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import ot

    from sheaftopo.geometry import exact_transport, gaussian_wasserstein

    for i in range(n):
        label, S1, S2 = _spd_pair(rng, i)
        d = S1.shape[0]
        m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
        W = float(gaussian_wasserstein(m1, S1, m2, S2))
        ref = float(ot.gaussian.bures_wasserstein_distance(m1, m2, S1, S2))
        scale = max(1.0, math.sqrt(float(np.trace(S1) + np.trace(S2))))
        err = abs(W - ref) / scale
        if "near-equal" in label:  # POT's trace formula loses half the digits there
            err = abs(W - ref) / scale * 1e-4
        # the Brenier map T = S1^-1/2 (S1^1/2 S2 S1^1/2)^1/2 S1^-1/2
        R = _sqrtm(S1)
        Ri = np.linalg.inv(R)
        T = Ri @ _sqrtm(R @ S2 @ R) @ Ri
        T = 0.5 * (T + T.T)
        expected = float(np.sum((m1 - m2) ** 2) + np.trace((np.eye(d) - T) @ S1 @ (np.eye(d) - T)))
        err = max(err, abs(expected - W**2) / scale**2)
        if i % 4 == 0 and "1e4" not in label and "scaled" not in label:
            k = int(rng.integers(2, 25))
            X = rng.multivariate_normal(m1, S1, size=k)
            Y = m2 + (X - m1) @ T.T
            res = exact_transport(X, Y, return_plan=True)
            plan_err = float(np.abs(res.plan * k - np.eye(k)).max())
            cost_err = abs(res.cost - float(np.mean(np.sum((X - Y) ** 2, 1)))) / max(res.cost, 1.0)
            err = max(err, plan_err, cost_err)
        yield label, err


# --------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------


def _population_mmd2(d: int, shift: float, s1: float, s2: float, sigma: float) -> float:
    def ek(tau2: float, shift2: float) -> float:
        v = sigma**2 + tau2
        return (sigma**2 / v) ** (d / 2) * math.exp(-shift2 / (2 * v))

    return ek(2 * s1**2, 0.0) + ek(2 * s2**2, 0.0) - 2 * ek(s1**2 + s2**2, d * shift**2)


@register(
    "mmd-unbiased",
    theory="diagnostics-mmd.md",
    statement="E[MMD^2_u] = MMD^2 (Gaussian kernel, Gaussian samples): "
    "|mean over draws - closed form| <= 5 standard errors",
    kind="ratio",
    tolerance=0.0,
    quick=10,
    full=300,
)
def _mmd(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.geometry import mmd2

    draws = 150
    for _ in range(n):
        d = int(rng.integers(1, 4))
        nx, ny = int(rng.integers(2, 12)), int(rng.integers(2, 12))
        shift = float(rng.choice([0.0, 0.3, 1.0]))
        s2 = float(rng.choice([1.0, 1.5]))
        sigma = float(rng.uniform(0.5, 2.0))
        pop = _population_mmd2(d, shift, 1.0, s2, sigma)
        vals = np.empty(draws)
        for r in range(draws):
            X = rng.standard_normal((nx, d))
            Y = shift + s2 * rng.standard_normal((ny, d))
            vals[r] = mmd2(X, Y, bandwidth=sigma)
        se = float(vals.std(ddof=1)) / math.sqrt(draws)
        yield (
            f"d={d} n={nx} m={ny} shift={shift} s2={s2} sigma={sigma:.2f}",
            abs(float(vals.mean()) - pop) / (5 * se),
        )


@register(
    "knn-diagnostics",
    theory="diagnostics-knn.md",
    statement="k-NN overlap and Hausdorff mismatch = their definitions (brute force); "
    "similarity transforms of either set leave them unchanged",
    kind="error",
    tolerance=1e-9,
    quick=15,
    full=1000,
)
def _knn(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from scipy.spatial.distance import cdist, directed_hausdorff

    from sheaftopo.geometry import knn_hausdorff, knn_overlap

    def brute_knn(Z: np.ndarray, k: int) -> list[list[int]]:
        D = cdist(Z, Z)
        return [
            [j for _, j in sorted((D[i, j], j) for j in range(len(Z)) if j != i)[:k]]
            for i in range(len(Z))
        ]

    for i in range(n):
        N = int(rng.integers(3, 30))
        dx, dy = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        k = int(rng.integers(1, N))
        X = rng.standard_normal((N, dx))
        if i % 3 == 0:  # integer coordinates: exact ties and duplicates
            Y = rng.integers(-3, 4, size=(N, dy)).astype(float)
        elif i % 3 == 1:
            Y = X[:, :1] @ rng.standard_normal((1, dy)) + 0.1 * rng.standard_normal((N, dy))
        else:
            Y = rng.standard_normal((N, dy))
        NX, NY = brute_knn(X, k), brute_knn(Y, k)
        jac = np.mean(
            [len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(NX, NY, strict=True)]
        )

        def dh(A: np.ndarray, B: np.ndarray) -> float:
            return max(directed_hausdorff(A, B)[0], directed_hausdorff(B, A)[0])

        rX = np.mean([np.linalg.norm(X[j] - X[NX[j][-1]]) for j in range(N)])
        rY = np.mean([np.linalg.norm(Y[j] - Y[NY[j][-1]]) for j in range(N)])
        if rY == 0:  # every k-th neighbour a duplicate: the mismatch is undefined
            continue
        haus = np.mean(
            [0.5 * (dh(X[NX[j]], X[NY[j]]) / rX + dh(Y[NX[j]], Y[NY[j]]) / rY) for j in range(N)]
        )
        got_j, got_h = knn_overlap(X, Y, k=k), knn_hausdorff(X, Y, k=k)
        err = abs(got_j - jac) + abs(got_h - haus) / max(1.0, haus)
        if i % 3 == 0:  # keep the ties exact: scale by a power of two, shift by an integer
            Y2 = 4.0 * Y + 3.0
        else:
            Q, _ = np.linalg.qr(rng.standard_normal((dy, dy)))
            Y2 = 3.7 * Y @ Q + 5.0
        err += abs(knn_overlap(X, Y2, k=k) - got_j)
        err += abs(knn_hausdorff(X, Y2, k=k) - got_h) / max(1.0, got_h)
        yield f"N={N} k={k} dx={dx} dy={dy} family {i % 3}", err
