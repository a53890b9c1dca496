"""Checks of the geometry theory pages (theory/ot-*.md, theory/spd-*.md, theory/diagnostics-*.md).

Every oracle is written here, independent of the code under test: mpmath at 40
digits for the affine-invariant distance, the Stein divergence and the
Bures-Wasserstein distance (so ill-conditioned pairs, cond up to 1e12, are
compared with the exact value of the given float matrices); eigendecomposition
based matrix functions and scipy's ``expm_frechet`` for the Riemannian maps;
scipy's ``linear_sum_assignment`` and HiGHS linear programs for exact
transport; scipy's trust-region Newton (``trust-exact``) on the semi-dual,
with regularisation continuation and a Newton polish, for entropic transport
and the Sinkhorn divergence; brute-force loops for the neighbourhood
diagnostics and the MMD estimator; closed-form population values for MMD.

Tolerances of the SPD checks scale with the condition number ``kappa`` of the
matrices involved (a float64 SPD computation is accurate to about
``kappa * eps`` relative): ``tol = C * n * eps * kappa``, with a small constant
``C`` stated at each check. The mutants at the end of the module show that
every check can fail.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._mutants import mutant
from ._registry import register

EPS = float(np.finfo(np.float64).eps)

# --------------------------------------------------------------------------
# shared helpers: symmetric matrix functions, condition numbers, families
# --------------------------------------------------------------------------


def _sym_fn(P: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """f(P) for a symmetric matrix, by numpy's eigendecomposition (not the library's code)."""
    lam, U = np.linalg.eigh(0.5 * (P + P.T))
    out = (U * f(lam)) @ U.T
    return 0.5 * (out + out.T)


def _sqrtm(P: np.ndarray) -> np.ndarray:
    return _sym_fn(P, lambda x: np.sqrt(np.maximum(x, 0.0)))


def _logm(P: np.ndarray) -> np.ndarray:
    return _sym_fn(P, np.log)


def _expm(S: np.ndarray) -> np.ndarray:
    return _sym_fn(S, np.exp)


def _spd_inv(P: np.ndarray) -> np.ndarray:
    """P^-1 by the eigendecomposition: SPD by construction even at cond 1e12, where an LU
    inverse may come out indefinite (its errors, ~cond eps |P^-1|, exceed lambda_min)."""
    return _sym_fn(P, lambda x: 1.0 / x)


def _kappa(*mats: np.ndarray) -> float:
    """The largest 2-norm condition number of the SPD matrices given."""
    out = 1.0
    for M in mats:
        lam = np.linalg.eigvalsh(0.5 * (M + M.T))
        out = max(out, float(lam[-1] / lam[0]) if lam[0] > 0 else math.inf)
    return out


def _spd_tol(n: int, *mats: np.ndarray, c: float = 64.0) -> float:
    """``c * n * eps * kappa``: the rounding allowance of an SPD computation.

    Raises when a matrix is not numerically SPD (an infinite allowance would
    make the comparison vacuous).
    """
    kappa = _kappa(*mats)
    if not math.isfinite(kappa):
        raise ValueError("an input of the comparison is not numerically positive definite")
    return c * max(n, 1) * EPS * kappa


def _with(base: Any, name: str, extra: Callable[[np.random.Generator, dict], dict],
          *, tight: bool = False) -> Any:
    """``base`` with keys added to every instance by ``extra(rng, instance)``."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        inst = base.sample(rng)
        return {**inst, **extra(rng, inst)}

    return Family(name, sample, describe=base.describe, project=base.project, tight=tight)


def _spd_bases(dim: tuple[int, int] = (1, 6)) -> list[Any]:
    """SPD pair families, from benign to ill-conditioned (cond up to 1e12) and clustered."""
    from sheaftopo.verify import spd_pairs

    return [
        spd_pairs("random", dim=dim, cond=1e4),
        spd_pairs("near-equal", dim=dim, cond=1e4),
        spd_pairs("scaled", dim=dim, cond=1e4),
        spd_pairs("commuting", dim=dim, cond=1e12),
        spd_pairs("clustered", dim=dim, cond=1e12),
        spd_pairs("random", dim=dim, cond=1e12),
    ]


def _invertible(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random invertible matrix with condition number at most e^2."""
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (U * np.exp(rng.uniform(-1.0, 1.0, n))) @ V


def _add_A(rng: np.random.Generator, inst: dict) -> dict:
    return {"A": _invertible(rng, inst["P"].shape[0])}


def _congruence(A: np.ndarray, P: np.ndarray) -> np.ndarray:
    M = A @ P @ A.T
    return 0.5 * (M + M.T)


# --------------------------------------------------------------------------
# mpmath oracles (40 digits, on the exact float64 inputs)
# --------------------------------------------------------------------------


def _mp_matrix(P: np.ndarray, e: int = 0) -> Any:
    """``P * 2^-e`` as an mpmath matrix (exact)."""
    import mpmath as mp

    return mp.matrix(np.ldexp(np.asarray(P, dtype=float), -e).tolist())


def _exponent(*mats: np.ndarray) -> int:
    """A common power of two bringing the matrices near unit scale (mpmath's
    Cholesky has an absolute tolerance)."""
    return math.frexp(max(float(np.abs(M).max()) for M in mats))[1]


def _mp_log_eigs(P: np.ndarray, Q: np.ndarray) -> list[Any]:
    """log of the eigenvalues of P^-1 Q, at 40 digits (Cholesky whitening in mpmath)."""
    import mpmath as mp

    e = _exponent(P, Q)
    with mp.workdps(40):
        L = mp.cholesky(_mp_matrix(0.5 * (P + P.T), e))
        Li = L**-1
        M = Li * _mp_matrix(Q, e) * Li.T
        M = (M + M.T) / 2
        E = mp.eigsy(M, eigvals_only=True)
        return [mp.log(e) for e in E]


def _mp_affine(P: np.ndarray, Q: np.ndarray) -> float:
    import mpmath as mp

    with mp.workdps(40):
        return float(mp.sqrt(mp.fsum(x**2 for x in _mp_log_eigs(P, Q))))


def _mp_stein(P: np.ndarray, Q: np.ndarray) -> float:
    """log det((P + Q)/2) - (log det P + log det Q)/2 at 40 digits."""
    import mpmath as mp

    e = _exponent(P, Q)
    with mp.workdps(40):
        MP, MQ = _mp_matrix(P, e), _mp_matrix(Q, e)
        return float(mp.log(mp.det((MP + MQ) / 2)) - (mp.log(mp.det(MP)) + mp.log(mp.det(MQ))) / 2)


def _mp_von_neumann(P: np.ndarray, Q: np.ndarray) -> float:
    """tr(P log P - P log Q - P + Q) at 40 digits (logarithms by mpmath's eigsy)."""
    import mpmath as mp

    e = _exponent(P, Q)
    with mp.workdps(40):
        MP, MQ = _mp_matrix(0.5 * (P + P.T), e), _mp_matrix(0.5 * (Q + Q.T), e)

        def logm(M: Any) -> Any:
            E, U = mp.eigsy(M)
            return U * mp.diag([mp.log(x) for x in E]) * U.T

        D = MP * (logm(MP) - logm(MQ)) - MP + MQ
        n = MP.rows
        # D_vN(cP || cQ) = c D_vN(P || Q): scale back by 2^e
        return math.ldexp(float(mp.fsum(D[i, i] for i in range(n))), e)


def _mp_bures2(P: np.ndarray, Q: np.ndarray) -> float:
    """tr P + tr Q - 2 tr (P^1/2 Q P^1/2)^1/2 at 40 digits (no cancellation left)."""
    import mpmath as mp

    e = _exponent(P, Q)
    with mp.workdps(40):
        MP, MQ = _mp_matrix(0.5 * (P + P.T), e), _mp_matrix(0.5 * (Q + Q.T), e)
        E, U = mp.eigsy(MP)
        n = MP.rows
        R = U * mp.diag([mp.sqrt(e) for e in E]) * U.T
        M = R * MQ * R
        M = (M + M.T) / 2
        F = mp.eigsy(M, eigvals_only=True)
        tr = mp.fsum(MP[i, i] + MQ[i, i] for i in range(n))
        return math.ldexp(float(tr - 2 * mp.fsum(mp.sqrt(max(f, 0)) for f in F)), e)


# --------------------------------------------------------------------------
# SPD geometry: affine-invariant distance
# --------------------------------------------------------------------------


@register("spd-affine-invariance", theory="spd-affine-invariant.md", kind="identity",
          quick=2, full=12)
def _affine_invariance() -> tuple[Any, list[Any]]:
    """d(P, Q), d(APA^T, AQA^T), d(P^-1, Q^-1) against the 40-digit eigenvalue formula."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import spd_distance

        P, Q, A = inst["P"], inst["Q"], inst["A"]
        n = P.shape[0]
        ref = _mp_affine(P, Q)
        scale = max(1.0, ref)
        worst = 0.0
        for X, Y in ((P, Q), (_congruence(A, P), _congruence(A, Q)),
                     (_spd_inv(P), _spd_inv(Q))):
            X, Y = 0.5 * (X + X.T), 0.5 * (Y + Y.T)
            err = abs(float(spd_distance(X, Y)) - ref) / scale
            worst = max(worst, err / _spd_tol(n, X, Y))
        return worst, 1.0

    st = Statement("spd-affine-invariance", evaluate, rtol=0.0,
                   description="d_AI(P, Q) = d_AI(APA^T, AQA^T) = d_AI(P^-1, Q^-1) = "
                   "|log eig(P^-1 Q)| (mpmath, 40 digits), within 64 n eps cond")
    return st, [_with(b, f"{b.name} + A", _add_A) for b in _spd_bases()]


# --------------------------------------------------------------------------
# SPD geometry: Exp, Log, geodesics, distances of the three metrics
# --------------------------------------------------------------------------

_METRICS = ("affine", "log_euclidean", "bures")


def _oracle_maps(P: np.ndarray, Q: np.ndarray, t: float, metric: str
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """(Log_P Q, gamma(t), d(P, Q)) by the formulas of theory/spd-metrics.md."""
    import scipy.linalg as sl

    if metric == "affine":  # L f(L^-1 Q L^-T) L^T in mpmath: cond(P) cond(Q) may reach 1e24
        import mpmath as mp

        e = _exponent(P, Q)
        with mp.workdps(40):
            L = mp.cholesky(_mp_matrix(0.5 * (P + P.T), e))
            Li = L**-1
            W = Li * _mp_matrix(Q, e) * Li.T
            E, U = mp.eigsy((W + W.T) / 2)
            logs = [mp.log(x) for x in E]

            def through(f: Callable[[Any], Any]) -> np.ndarray:
                M = L * U * mp.diag([f(x) for x in logs]) * U.T * L.T
                return np.ldexp(np.array(M.tolist(), dtype=float), e)

            dist = float(mp.sqrt(mp.fsum(x**2 for x in logs)))
            return through(lambda x: x), through(lambda x: mp.exp(t * x)), dist
    if metric == "log_euclidean":
        LP, LQ = _logm(P), _logm(Q)
        return (sl.expm_frechet(LP, LQ - LP, compute_expm=False), _expm((1 - t) * LP + t * LQ),
                float(np.linalg.norm(LP - LQ)))
    R = _sqrtm(P)
    Ri = np.linalg.inv(R)
    T = Ri @ _sqrtm(R @ Q @ R) @ Ri
    T = 0.5 * (T + T.T)
    eye = np.eye(len(P))
    G = (1 - t) * eye + t * T
    return ((T - eye) @ P + P @ (T - eye), G @ P @ G,
            float(np.linalg.norm((T - eye) @ R)))


@register("spd-exp-log", theory="spd-metrics.md", kind="identity", quick=1, full=10)
def _exp_log() -> tuple[Any, list[Any]]:
    """Log, Exp, geodesic and distance of each metric against their closed forms."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import spd_distance, spd_exp, spd_geodesic, spd_log

        P, Q, t, metric = inst["P"], inst["Q"], float(inst["t"]), inst["metric"]
        n = P.shape[0]
        log_o, geo_o, d_o = _oracle_maps(P, Q, t, metric)
        log_o = 0.5 * (log_o + log_o.T)  # expm_frechet's result is symmetric only to rounding
        # maps: normwise relative to the data; the distance relative to its own scale
        scale = float(np.linalg.norm(P) + np.linalg.norm(Q))
        unit = math.sqrt(float(np.trace(P) + np.trace(Q))) if metric == "bures" else 1.0
        tol = _spd_tol(n, P, Q, c=256.0)  # Exp, Log, geodesic: a few matrix functions each
        if metric == "log_euclidean":  # log P - log Q cancels: errors ~ eps max |log eig|
            tol *= 1.0 + max(float(np.abs(np.log(np.linalg.eigvalsh(M))).max()) for M in (P, Q))
        errs = [
            np.linalg.norm(spd_log(Q, P, metric=metric) - log_o) / (scale * max(1.0, d_o / unit)),
            np.linalg.norm(spd_exp(log_o, P, metric=metric) - Q) / scale,
            np.linalg.norm(spd_geodesic(P, Q, t, metric=metric) - geo_o) / scale,
            abs(float(spd_distance(P, Q, metric=metric)) - d_o) / max(unit, d_o),
        ]
        return max(float(e) for e in errs) / tol, 1.0

    fams = []
    for metric in _METRICS:
        for b in _spd_bases((1, 5)):
            fams.append(_with(b, f"{metric}: {b.name}",
                              lambda rng, inst, m=metric: {"t": float(rng.uniform(0, 1)),
                                                           "metric": m}))
    st = Statement("spd-exp-log", evaluate, rtol=0.0,
                   description="each metric: Log_P Q, Exp_P(Log_P Q), gamma(t), d(P, Q) = their "
                   "closed forms (affine: mpmath; numpy eigh, scipy expm_frechet), within "
                   "256 n eps cond (log-Euclidean: times 1 + max |log eig|)")
    return st, fams


#: the pullback metrics checked by spd-flat-metrics: (metric, power)
_FLAT = (("log_cholesky", None), ("euclidean", None), ("power", 0.5), ("power", -1.0))


def _flat_chart(metric: str, power: Any) -> tuple[Callable, Callable]:
    """(phi, phi^-1): the chart in which the metric is the Frobenius one (theory/spd-metrics.md)."""
    if metric == "log_cholesky":  # phi(P) = strict lower part of L + log of its diagonal

        def phi(P: np.ndarray) -> np.ndarray:
            L = np.linalg.cholesky(0.5 * (P + P.T))
            return np.tril(L, -1) + np.diag(np.log(np.diag(L)))

        def inv(X: np.ndarray) -> np.ndarray:
            K = np.tril(X, -1) + np.diag(np.exp(np.diag(X)))
            return K @ K.T

        return phi, inv
    if metric == "euclidean":
        return (lambda P: P), (lambda X: X)
    a = float(power)

    def power_chart(P: np.ndarray) -> np.ndarray:
        return _sym_fn(P, lambda x: x**a) / a

    def power_inverse(X: np.ndarray) -> np.ndarray:
        return _sym_fn(a * X, lambda x: x ** (1 / a))

    return power_chart, power_inverse


@register("spd-flat-metrics", theory="spd-metrics.md", kind="identity", quick=1, full=10)
def _flat_metrics() -> tuple[Any, list[Any]]:
    """log-Cholesky, Euclidean and power-Euclidean: distance and geodesic in their chart."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import spd_distance, spd_exp, spd_geodesic, spd_inner, spd_log

        P, Q, t = inst["P"], inst["Q"], float(inst["t"])
        kw = {"metric": inst["metric"], "power": inst["power"]}
        phi, inv = _flat_chart(inst["metric"], inst["power"])
        XP, XQ = phi(P), phi(Q)
        d_o = float(np.linalg.norm(XP - XQ))
        geo_o = inv((1 - t) * XP + t * XQ)
        # the chart's values are accurate to about n eps kappa of their size; the norm of
        # Log_P Q at P and the round trip Exp_P(Log_P Q) go through the differential of the
        # chart at P and back (power -1: Q = (P^-1 - P^-1 V P^-1)^-1 with V = P - P Q^-1 P),
        # which loses up to spread^(2 |power|) more, the spread of the pair's eigenvalues
        # (numpy's closed form for power -1 loses as much: 2e-5 at cond 1e4, 2 x 2)
        tol = _spd_tol(P.shape[0], P, Q, c=256.0)
        a = 0.0 if inst["power"] is None else abs(float(inst["power"]))
        lp, lq = np.linalg.eigvalsh(P), np.linalg.eigvalsh(Q)
        spread = max(float(lp[-1] / lq[0]), float(lq[-1] / lp[0]), _kappa(P, Q))
        chart = max(float(np.linalg.norm(XP) + np.linalg.norm(XQ)), 1e-300)
        scale = float(np.linalg.norm(P) + np.linalg.norm(Q))
        V = spd_log(Q, P, **kw)
        norm_v = math.sqrt(max(float(spd_inner(V, V, P, **kw)), 0.0))
        errs = [
            abs(float(spd_distance(P, Q, **kw)) - d_o) / chart,
            np.linalg.norm(spd_geodesic(P, Q, t, **kw) - geo_o) / scale,
            np.linalg.norm(spd_exp(V, P, **kw) - Q) / scale / spread ** (2 * a),
            abs(norm_v - d_o) / chart / spread ** (2 * a),
            abs(float(spd_distance(P, geo_o, **kw)) - t * d_o) / chart,
        ]
        return max(float(e) for e in errs) / tol, 1.0

    from sheaftopo.verify import spd_pairs

    fams = []
    for metric, power in _FLAT:
        name = metric if power is None else f"power {power:g}"
        # cond <= 1e4 (power: 1e2, where spread^(2 |power|) still leaves a sharp tolerance)
        cond = 1e4 if power is None else 1e2
        bases = [spd_pairs(k, dim=(1, 5), cond=cond) for k in ("random", "near-equal", "scaled")]
        for b in bases:
            fams.append(_with(b, f"{name}: {b.name}",
                              lambda rng, inst, m=metric, a=power: {
                                  "t": float(rng.uniform(0, 1)), "metric": m, "power": a}))
    st = Statement("spd-flat-metrics", evaluate, rtol=0.0,
                   description="log-Cholesky, Euclidean, power-Euclidean (0.5, -1): d(P, Q) = "
                   "|phi(P) - phi(Q)|_F, gamma(t) = phi^-1((1-t) phi(P) + t phi(Q)), "
                   "Exp_P Log_P Q = Q, |Log_P Q|_P = d, d(P, gamma(t)) = t d (numpy chart "
                   "oracles), within 256 n eps kappa (the norm of Log and the round trip: times "
                   "the pair's eigenvalue spread^(2 |power|))")
    return st, fams


# --------------------------------------------------------------------------
# SPD geometry: Fréchet means
# --------------------------------------------------------------------------


def _mean_family(kind: str, metric: str, cond: float) -> Any:
    """``{"P": (N, k, k), "w": (N,), "metric", "kind"}``: commuting, duplicated or random."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        k, N = int(rng.integers(1, 5)), int(rng.integers(1, 9))
        w = rng.random(N) * (rng.random(N) > 0.25)
        if not w.any():
            w[0] = 1.0
        w = w / w.sum()
        half = 0.5 * math.log(cond)
        U, _ = np.linalg.qr(rng.standard_normal((k, k)))
        if kind == "commuting":
            lam = np.exp(rng.uniform(-half, half, (N, k)))
        elif kind == "duplicates":
            lam = np.repeat(np.exp(rng.uniform(-half, half, (1, k))), N, axis=0)
        else:
            lam = np.exp(rng.uniform(-half, half, (N, k)))
            U = np.linalg.qr(rng.standard_normal((N, k, k)))[0]
            P = (U * lam[:, None, :]) @ np.swapaxes(U, 1, 2)
            return {"P": 0.5 * (P + np.swapaxes(P, 1, 2)), "w": w, "lam": lam,
                    "metric": metric, "kind": kind}
        P = (U * lam[:, None, :]) @ U.T
        return {"P": 0.5 * (P + np.swapaxes(P, 1, 2)), "w": w, "lam": lam, "U": U,
                "metric": metric, "kind": kind}

    def describe(inst: dict) -> str:
        P = inst["P"]
        return (f"{metric} {kind} N={P.shape[0]} k={P.shape[1]} "
                f"cond<={_kappa(*P):.2g} zero weights={int((inst['w'] == 0).sum())}")

    return Family(f"{metric}: {kind} (cond<={cond:g})", sample, describe=describe,
                  shrink=lambda inst: iter(()))


@register("spd-frechet-mean", theory="spd-frechet-mean.md", kind="identity", quick=2, full=12)
def _frechet() -> tuple[Any, list[Any]]:
    """Closed forms (commuting, duplicated, log-Euclidean) or the gradient condition."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import spd_mean

        P, w, metric, kind = inst["P"], inst["w"], inst["metric"], inst["kind"]
        k = P.shape[1]
        # the solver's own tolerance: 1e-12, or what rounding allows (cond * eps)
        rounding = _spd_tol(k, *P[w > 0], c=16.0)
        res = spd_mean(P, metric=metric, weights=w, tol=1e-12 + rounding, max_iter=500)
        if not res.converged:
            raise RuntimeError(f"spd_mean did not converge ({res.n_iter} iterations)")
        M = res.mean
        tol = 1e-10 + _spd_tol(k, M, *P[w > 0])
        if kind in ("commuting", "duplicates"):
            lam, U = inst["lam"], inst["U"]
            ref_lam = (w @ np.sqrt(lam)) ** 2 if metric == "bures" else np.exp(w @ np.log(lam))
            ref = (U * ref_lam) @ U.T
            return float(np.linalg.norm(M - ref) / np.linalg.norm(ref)) / tol, 1.0
        if metric == "log_euclidean":
            ref = _expm(sum(wi * _logm(p) for wi, p in zip(w, P, strict=True)))
            return float(np.linalg.norm(M - ref) / np.linalg.norm(ref)) / tol, 1.0
        if metric == "affine":
            Ri = np.linalg.inv(_sqrtm(M))
            G = sum(wi * _logm(Ri @ p @ Ri) for wi, p in zip(w, P, strict=True))
            return float(np.linalg.norm(G)) / tol, 1.0
        R = _sqrtm(M)
        Ri = np.linalg.inv(R)
        T = sum(wi * Ri @ _sqrtm(R @ p @ R) @ Ri for wi, p in zip(w, P, strict=True))
        D = T - np.eye(k)
        grad = math.sqrt(max(float(np.trace(D @ M @ D)), 0.0) / float(np.trace(M)))
        return grad / tol, 1.0

    fams = []
    for metric in _METRICS:
        fams += [_mean_family("commuting", metric, 1e12), _mean_family("duplicates", metric, 1e12),
                 _mean_family("random", metric, 1e3)]
    st = Statement("spd-frechet-mean", evaluate, rtol=0.0,
                   description="commuting / duplicated matrices and log-Euclidean: mean = closed "
                   "form; otherwise the Riemannian gradient (recomputed) vanishes; "
                   "within 1e-10 + 64 k eps cond")
    return st, fams


# --------------------------------------------------------------------------
# SPD geometry: the Stein divergence
# --------------------------------------------------------------------------


@register("stein-divergence", theory="spd-stein-divergence.md", kind="identity",
          quick=2, full=12)
def _stein() -> tuple[Any, list[Any]]:
    """S(P, Q), S(Q, P), S(APA^T, AQA^T), S(P^-1, Q^-1) against 40-digit log-determinants."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import stein_divergence, von_neumann_divergence

        P, Q, A = inst["P"], inst["Q"], inst["A"]
        n = P.shape[0]
        ref = _mp_stein(P, Q)
        worst = 0.0
        for X, Y in ((P, Q), (Q, P), (_congruence(A, P), _congruence(A, Q)),
                     (_spd_inv(P), _spd_inv(Q))):
            X, Y = 0.5 * (X + X.T), 0.5 * (Y + Y.T)
            err = abs(float(stein_divergence(X, Y)) - ref)
            # each log eigenvalue x_i moves by delta ~ kappa eps, and S = sum log cosh(x_i/2)
            # by about sum |x_i| delta / 4 + delta^2 / 8 <= delta (sqrt(S) + delta) (n small)
            delta = _spd_tol(n, X, Y, c=256.0)
            worst = max(worst, err / (delta * (math.sqrt(max(ref, 0.0)) + delta)))
        # statement 5: D_vN(P || Q) and D_vN(Q || P) (not symmetric) against 40 digits,
        # relative to (tr P + tr Q) (1 + |log cond|): its terms are lambda log(lambda / mu)
        unit = float(np.trace(P) + np.trace(Q)) * (1.0 + math.log(_kappa(P, Q)))
        for X, Y in ((P, Q), (Q, P)):
            err = abs(float(von_neumann_divergence(X, Y)) - _mp_von_neumann(X, Y))
            worst = max(worst, err / (_spd_tol(n, X, Y) * unit))
        return worst, 1.0

    st = Statement("stein-divergence", evaluate, rtol=0.0,
                   description="S(P, Q) = S(Q, P) = S(APA^T, AQA^T) = S(P^-1, Q^-1) = "
                   "log det((P+Q)/2) - (log det P + log det Q)/2 (mpmath, 40 digits), "
                   "within delta (sqrt(S) + delta), delta = 256 n eps cond; D_vN(P||Q), "
                   "D_vN(Q||P) = tr(P log P - P log Q - P + Q) (mpmath) within "
                   "64 n eps cond tr(P + Q) (1 + log cond)")
    return st, [_with(b, f"{b.name} + A", _add_A) for b in _spd_bases()]


def _near_pairs(delta: float) -> Any:
    """Well-conditioned P and Q = P^1/2 exp(delta H) P^1/2, |H| = 1: the limit Q -> P."""
    from sheaftopo.verify import spd_pairs

    base = spd_pairs("random", dim=(1, 6), cond=10.0)

    def extra(rng: np.random.Generator, inst: dict) -> dict:
        P = inst["P"]
        n = P.shape[0]
        H = rng.standard_normal((n, n))
        H = (H + H.T) / np.linalg.norm(H + H.T)
        R = _sqrtm(P)
        Q = R @ _expm(delta * H) @ R
        s = float(rng.uniform(0.1, 0.9))
        M = R @ _expm(s * delta * H) @ R
        return {"Q": 0.5 * (Q + Q.T), "M": 0.5 * (M + M.T), "kind": f"|log eig| ~ {delta:g}"}

    return _with(base, f"near-equal (|log eig(P^-1 Q)| ~ {delta:g})", extra, tight=True)


@register("stein-bound", theory="spd-stein-divergence.md", kind="bound", quick=3, full=25,
          tight_delta=1e-6)
def _stein_bound() -> tuple[Any, list[Any]]:
    """8 S(P, Q) <= d_AI(P, Q)^2, sharp as Q -> P."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import stein_divergence

        P, Q = inst["P"], inst["Q"]
        # rounding moves each log eigenvalue by ~ kappa eps: room for it when P ~ Q
        tol = _spd_tol(P.shape[0], P, Q)
        d = _mp_affine(P, Q)
        return 8.0 * float(stein_divergence(P, Q)), d * d + 2.0 * d * tol + tol * tol

    from sheaftopo.verify import spd_pairs

    fams = [spd_pairs("random", dim=(1, 6), cond=1e4), spd_pairs("commuting", dim=(1, 6),
            cond=1e12), spd_pairs("clustered", dim=(1, 6), cond=1e12), _near_pairs(1e-3)]
    st = Statement("stein-bound", evaluate, rtol=1e-9,
                   description="8 S(P, Q) <= (d_AI(P, Q) + 64 n eps cond)^2 (d_AI by mpmath, "
                   "40 digits); sharp as Q -> P")
    return st, fams


@register("stein-triangle", theory="spd-stein-divergence.md", kind="bound", quick=4, full=25,
          tight_delta=1e-5)
def _stein_triangle() -> tuple[Any, list[Any]]:
    """sqrt S(P, Q) <= sqrt S(P, M) + sqrt S(M, Q), sharp for M on a short geodesic P -> Q."""
    from sheaftopo.verify import Statement, spd_pairs

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import stein_divergence

        P, Q, M = inst["P"], inst["Q"], inst["M"]
        return (math.sqrt(float(stein_divergence(P, Q))),
                math.sqrt(float(stein_divergence(P, M))) + math.sqrt(float(stein_divergence(M, Q))))

    def third(rng: np.random.Generator, inst: dict) -> dict:
        n = inst["P"].shape[0]
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        M = (Q * np.exp(rng.uniform(-3, 3, n))) @ Q.T
        return {"M": 0.5 * (M + M.T)}

    fams = [_with(spd_pairs("random", dim=(1, 6), cond=1e4), "random triples", third),
            _with(spd_pairs("clustered", dim=(1, 6), cond=1e12), "clustered triples", third),
            _near_pairs(1e-3)]
    st = Statement("stein-triangle", evaluate, rtol=1e-9,
                   description="sqrt S is a metric: sqrt S(P, Q) <= sqrt S(P, M) + sqrt S(M, Q); "
                   "sharp for M on a short geodesic from P to Q")
    return st, fams


# --------------------------------------------------------------------------
# optimal transport: instance families and oracles
# --------------------------------------------------------------------------

_CLOUD_KINDS = ("gaussian", "lattice", "duplicates", "near-copies", "scaled")


def _weights(rng: np.random.Generator, n: int, mode: str) -> np.ndarray:
    if mode == "uniform":
        return np.full(n, 1.0 / n)
    w = rng.random(n) + 0.05
    if mode == "zeros" and n > 2:
        w[rng.permutation(n)[: max(1, n // 4)]] = 0.0
    return w / w.sum()


def _ot_family(kind: str, *, n: tuple[int, int] = (2, 10), dim: tuple[int, int] = (1, 3),
               reg: tuple[float, float] | None = None, p: float | None = None,
               square_uniform: bool = False, name: str | None = None,
               tight: bool = False) -> Any:
    """``{"X", "Y", "a", "b", "p", "reg"}``: weighted point clouds of one kind.

    ``kind``: Gaussian; ``lattice`` (integer points: ties); ``duplicates``
    (repeated rows); ``near-copies`` (Y = rows of X + 1e-3 noise);
    ``scaled`` (times 2^k, |k| <= 60); ``separated`` (X on a unit lattice and
    Y a permutation of it + 1e-3 noise, uniform weights: the entropic bound's
    sharp family); ``one-d`` (dimension 1). ``reg`` is drawn log-uniformly
    in the given range times the squared diameter.
    """
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        nx = int(rng.integers(n[0], n[1] + 1))
        ny = nx if square_uniform or kind == "separated" else int(rng.integers(n[0], n[1] + 1))
        d = int(rng.integers(dim[0], dim[1] + 1)) if kind != "one-d" else 1
        if kind in ("lattice", "separated"):
            X = rng.integers(0, 3, (nx, d)).astype(float)
            if kind == "separated":
                X = np.arange(nx, dtype=float)[:, None] * np.ones((1, d))
                Y = X[rng.permutation(nx)] + 1e-3 * rng.standard_normal((nx, d))
            else:
                Y = rng.integers(0, 3, (ny, d)).astype(float)
        elif kind == "duplicates":
            base = rng.standard_normal((max(1, (nx + ny) // 3), d))
            X, Y = base[rng.integers(0, len(base), nx)], base[rng.integers(0, len(base), ny)]
        elif kind == "near-copies":
            X = rng.standard_normal((nx, d))
            Y = X[rng.integers(0, nx, ny)] + 1e-3 * rng.standard_normal((ny, d))
        else:
            X, Y = rng.standard_normal((nx, d)), rng.standard_normal((ny, d)) + 0.5
            if kind == "scaled":
                s = 2.0 ** int(rng.integers(-60, 61))
                X, Y = X * s, Y * s
        if square_uniform or kind == "separated":
            mode_a = mode_b = "uniform"
        else:
            mode_a = ("uniform", "random", "zeros")[int(rng.integers(3))]
            mode_b = ("uniform", "random", "zeros")[int(rng.integers(3))]
        inst = {"X": X, "Y": Y, "a": _weights(rng, nx, mode_a), "b": _weights(rng, ny, mode_b),
                "p": float(p if p is not None else (1.0, 2.0, 3.0)[int(rng.integers(3))]),
                "seed": int(rng.integers(2**31))}
        if reg is not None:
            diam2 = float(np.ptp(np.vstack([X, Y]), axis=0).max()) ** 2 or 1.0
            inst["reg"] = diam2 * float(10.0 ** rng.uniform(*np.log10(reg)))
            if kind == "separated":
                inst["reg"] = reg[0]
        return inst

    def describe(inst: dict) -> str:
        X, Y = inst["X"], inst["Y"]
        extra = ""
        if "reg" in inst:
            diam2 = float(np.ptp(np.vstack([X, Y]), axis=0).max()) ** 2 or 1.0
            extra = f" reg={inst['reg'] / diam2:.2g} diam^2"
        return (f"{kind} n={len(X)} m={len(Y)} d={X.shape[1]} p={inst['p']:g}"
                f" zero weights={int((inst['a'] == 0).sum() + (inst['b'] == 0).sum())}{extra}")

    def project(inst: dict) -> dict:
        out = dict(inst)
        for key in ("a", "b"):
            w = np.clip(inst[key], 0.0, None)
            out[key] = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
        return out

    return Family(name or f"{kind} clouds", sample, describe=describe, project=project,
                  tight=tight)


def _cost(X: np.ndarray, Y: np.ndarray, p: float) -> np.ndarray:
    """``|x_i - y_j|^p`` from the differences, on the points divided by a power of two."""
    e = math.frexp(float(max(np.abs(X).max(), np.abs(Y).max())) or 1.0)[1]
    D = np.ldexp(X, -e)[:, None, :] - np.ldexp(Y, -e)[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", D, D)) ** p * 2.0 ** (e * p)


def _lp_transport(a: np.ndarray, b: np.ndarray, C: np.ndarray) -> float:
    """Exact OT: scipy's assignment for uniform square problems, HiGHS dual simplex otherwise."""
    from scipy.optimize import linear_sum_assignment, linprog

    n, m = C.shape
    if n == m and np.all(a == a[0]) and np.all(b == b[0]):
        r, c = linear_sum_assignment(C)
        return float(C[r, c].mean())
    A_eq = np.zeros((n + m, n * m))
    for i in range(n):
        A_eq[i, i * m:(i + 1) * m] = 1.0
    for j in range(m):
        A_eq[n + j, j::m] = 1.0
    scale = max(float(C.max()), 1e-300)  # HiGHS's tolerances are absolute
    res = linprog(C.ravel() / scale, A_eq=A_eq, b_eq=np.concatenate([a, b]), bounds=(0, None),
                  method="highs-ds",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    return float(res.fun) * scale


def _entropic_oracle(C: np.ndarray, a: np.ndarray, b: np.ndarray, eps: float
                     ) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """OT_eps, <P, C>, P, f, g by scipy's trust-region Newton on the semi-dual.

    Continuation from eps_0 >= max C down to eps by factors of 4, then a
    Newton polish with a least-squares solve. Independent of the library's
    solvers (POT's Sinkhorn and its own Newton steps). Zero weights are
    dropped; f and g are returned on the supports.
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    ia, ib = a > 0, b > 0
    C, a, b = C[np.ix_(ia, ib)], a[ia], b[ib]
    lb = np.log(b)

    def parts(g: np.ndarray, e: float) -> tuple[np.ndarray, np.ndarray]:
        Z = (g[None, :] - C) / e + lb[None, :]
        lse = logsumexp(Z, axis=1)
        return -e * lse, np.exp(Z - lse[:, None])

    def fun(g: np.ndarray, e: float) -> tuple[float, np.ndarray]:
        f, Pi = parts(g, e)
        return -float(a @ f + b @ g), -(b - a @ Pi)

    def hess(g: np.ndarray, e: float) -> np.ndarray:
        _, Pi = parts(g, e)
        return (np.diag(a @ Pi) - (Pi * a[:, None]).T @ Pi) / e

    levels = [eps]
    while levels[-1] < float(C.max()):
        levels.append(levels[-1] * 4.0)
    g = np.zeros(len(b))
    for e in reversed(levels):
        g = minimize(fun, g, args=(e,), jac=True, hess=hess, method="trust-exact",
                     options={"gtol": 1e-14, "maxiter": 500}).x
    for _ in range(40):
        _, grad = fun(g, eps)
        if np.abs(grad).sum() < 1e-15:
            break
        step = np.linalg.lstsq(hess(g, eps), grad, rcond=1e-15)[0]
        for t in (1.0, 0.5, 0.25, 0.125, 0.0625):
            if np.abs(fun(g - t * step, eps)[1]).sum() < np.abs(grad).sum():
                g = g - t * step
                break
        else:
            break
    f, Pi = parts(g, eps)
    P = Pi * a[:, None]
    return float(a @ f + P.sum(0) @ g), float(np.vdot(P, C)), P, f, g


def _entropy(w: np.ndarray) -> float:
    w = w[w > 0]
    return float(-(w * np.log(w)).sum())


# --------------------------------------------------------------------------
# optimal transport: exact and sliced
# --------------------------------------------------------------------------


@register("ot-exact", theory="ot-exact-sliced.md", kind="identity", quick=2, full=30)
def _ot_exact() -> tuple[Any, list[Any]]:
    """exact_transport = assignment / HiGHS LP; the plan is a non-negative coupling."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import exact_transport

        X, Y, a, b, p = inst["X"], inst["Y"], inst["a"], inst["b"], inst["p"]
        C = _cost(X, Y, p)
        res = exact_transport(X, Y, a=a, b=b, p=p, return_plan=True)
        scale = max(float(C.max()), 1e-300)
        err = abs(res.cost - _lp_transport(a, b, C)) / scale
        err += float(np.abs(res.plan.sum(1) - a).sum() + np.abs(res.plan.sum(0) - b).sum())
        err += 0.0 if res.converged and (res.plan >= 0).all() else 1.0
        return err, 1e-8

    fams = [_ot_family(k) for k in _CLOUD_KINDS]
    fams.append(_ot_family("lattice", square_uniform=True, name="lattice, uniform n = m"))
    fams.append(_ot_family("gaussian", square_uniform=True, name="gaussian, uniform n = m"))
    st = Statement("ot-exact", evaluate, rtol=0.0,
                   description="exact_transport = linear_sum_assignment (uniform, n = m) or "
                   "HiGHS LP (weighted, zero weights), relative to max C; plan a coupling")
    return st, fams


@register("sliced-below-exact", theory="ot-exact-sliced.md", kind="bound", quick=2, full=30,
          tight_delta=1e-9)
def _sliced() -> tuple[Any, list[Any]]:
    """SW_p^p <= W_p^p for any directions, with equality in one dimension."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import sliced_transport

        X, Y, a, b, p = inst["X"], inst["Y"], inst["a"], inst["b"], inst["p"]
        W = _lp_transport(a, b, _cost(X, Y, p))
        S = sliced_transport(X, Y, a=a, b=b, p=p, n_projections=20, seed=inst["seed"])
        return S.cost, W

    fams = [_ot_family(k) for k in ("gaussian", "lattice", "duplicates", "scaled")]
    fams.append(_ot_family("one-d", name="one dimension (equality)", tight=True))
    st = Statement("sliced-below-exact", evaluate, rtol=1e-9,
                   description="SW_p^p (20 directions) <= W_p^p (LP oracle); equality in 1-D")
    return st, fams


# --------------------------------------------------------------------------
# entropic transport
# --------------------------------------------------------------------------


def _solve_entropic(inst: dict) -> Any:
    from sheaftopo.geometry import entropic_transport

    res = entropic_transport(inst["X"], inst["Y"], a=inst["a"], b=inst["b"], reg=inst["reg"],
                             p=inst["p"], max_iter=20_000, tol=1e-12)
    if not res.converged:
        raise RuntimeError(f"entropic_transport did not converge: {res.message}")
    return res


def _entropic_families(tight: bool) -> list[Any]:
    fams = [
        _ot_family("gaussian", reg=(1e-2, 3.0), p=2.0, name="gaussian, reg in [1e-2, 3] diam^2"),
        _ot_family("lattice", reg=(1e-2, 1.0), name="lattice (ties), reg in [1e-2, 1] diam^2"),
        _ot_family("near-copies", reg=(1e-2, 1.0), p=2.0, name="near-copies"),
        _ot_family("gaussian", n=(7, 7), reg=(3e-3, 3e-3), p=2.0,
                   name="hard: n = 7, reg = 3e-3 diam^2"),
    ]
    if tight:
        fams.append(_ot_family("separated", n=(2, 8), reg=(0.01, 0.01), p=2.0, tight=True,
                               name="separated permutation, reg = 0.01 gap^2"))
    return fams


@register("sinkhorn-limit", theory="ot-entropic.md", kind="bound", quick=2, full=10,
          tight_delta=1e-2)
def _sinkhorn_limit() -> tuple[Any, list[Any]]:
    """OT_eps - OT_0 <= eps min(H(a), H(b)), sharp on separated permutations."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        res = _solve_entropic(inst)
        exact = _lp_transport(inst["a"], inst["b"], _cost(inst["X"], inst["Y"], inst["p"]))
        return res.cost - exact, inst["reg"] * min(_entropy(inst["a"]), _entropy(inst["b"]))

    st = Statement("sinkhorn-limit", evaluate, rtol=1e-6,
                   description="OT_eps <= OT_0 + eps min(H(a), H(b)) (OT_0 by LP); sharp for "
                   "well-separated permutations at small eps")
    return st, _entropic_families(True)


@register("entropic-oracle", theory="ot-entropic.md", kind="identity", quick=3, full=10)
def _entropic_identity() -> tuple[Any, list[Any]]:
    """OT_eps and <P_eps, C> against scipy's Newton solver; OT_0 <= <P, C> <= OT_eps."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        X, Y, a, b, p, reg = (inst[k] for k in ("X", "Y", "a", "b", "p", "reg"))
        res = _solve_entropic(inst)
        C = _cost(X, Y, p)
        cost, lin, *_ = _entropic_oracle(C, a, b, reg)
        exact = _lp_transport(a, b, C)
        scale = max(float(C.max()), reg)  # OT_eps ~ max C + eps H (all costs may be 0)
        err = max(abs(res.cost - cost), abs(res.linear_cost - lin),
                  exact - res.linear_cost, res.linear_cost - res.cost) / scale
        return max(err, res.marginal_error), 1e-9

    st = Statement("entropic-oracle", evaluate, rtol=0.0,
                   description="OT_eps and <P_eps, C> = scipy trust-region Newton on the "
                   "semi-dual, and OT_0 <= <P_eps, C> <= OT_eps, relative to max C")
    return st, _entropic_families(False)


# --------------------------------------------------------------------------
# the Sinkhorn divergence
# --------------------------------------------------------------------------


def _divergence_families(large: bool) -> list[Any]:
    fams = [
        _ot_family("gaussian", reg=(1e-2, 10.0), p=2.0, name="gaussian, reg in [1e-2, 10] diam^2"),
        _ot_family("lattice", reg=(1e-2, 1.0), p=2.0, name="lattice (ties)"),
        _ot_family("duplicates", reg=(1e-2, 1.0), p=2.0, name="duplicates"),
        _ot_family("gaussian", n=(7, 7), reg=(3e-3, 3e-3), p=2.0,
                   name="hard: n = 7, reg = 3e-3 diam^2"),
    ]
    if large:
        fams.append(_ot_family("gaussian", reg=(1e3, 1e4), p=2.0, tight=True,
                               name="large reg (1e3 to 1e4 diam^2): S -> MMD^2_{-C}/2"))
    return fams


def _divergence_oracle(inst: dict) -> tuple[float, float, float]:
    """(S_eps, sharp variant, (eps/2)|mu - nu|_k^2) from the oracle's three solves."""
    X, Y, a, b, p, reg = (inst[k] for k in ("X", "Y", "a", "b", "p", "reg"))
    xy, lxy, *_ = _entropic_oracle(_cost(X, Y, p), a, b, reg)
    xx, lxx, _, fa, ga = _entropic_oracle(_cost(X, X, p), a, a, reg)
    yy, lyy, _, fb, gb = _entropic_oracle(_cost(Y, Y, p), b, b, reg)
    # mu = exp(f_a / eps) a, nu = exp(f_b / eps) b with the symmetric potentials: the
    # optimal pairs are (f_a + K, f_a - K), so f_a is the average of the two returned
    Xs, Ys = X[a > 0], Y[b > 0]
    logmu = 0.5 * (fa + ga) / reg + np.log(a[a > 0])
    lognu = 0.5 * (fb + gb) / reg + np.log(b[b > 0])

    def quad(lu: np.ndarray, U: np.ndarray, lv: np.ndarray, V: np.ndarray) -> float:
        return float(np.exp(lu[:, None] + lv[None, :] - _cost(U, V, p) / reg).sum())

    lower = 0.5 * reg * (quad(logmu, Xs, logmu, Xs) + quad(lognu, Ys, lognu, Ys)
                         - 2.0 * quad(logmu, Xs, lognu, Ys))
    return xy - 0.5 * (xx + yy), lxy - 0.5 * (lxx + lyy), lower


def _divergence(inst: dict, swap: bool = False) -> Any:
    from sheaftopo.geometry import sinkhorn_divergence

    X, Y, a, b = inst["X"], inst["Y"], inst["a"], inst["b"]
    if swap:
        X, Y, a, b = Y, X, b, a
    res = sinkhorn_divergence(X, Y, a=a, b=b, reg=inst["reg"], p=inst["p"], max_iter=20_000,
                              tol=1e-12)
    if not res.converged:
        raise RuntimeError(f"sinkhorn_divergence did not converge: {res.message}")
    return res


@register("sinkhorn-divergence", theory="ot-sinkhorn-divergence.md", kind="identity",
          quick=3, full=7)
def _divergence_identity() -> tuple[Any, list[Any]]:
    """S_eps and the sharp variant against the oracle; symmetry; S(a, a) = 0."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import sinkhorn_divergence

        S, T = _divergence(inst), _divergence(inst, swap=True)
        ref, sharp, _ = _divergence_oracle(inst)
        # OT_eps is of the order of max C + eps H: relative to that (all costs may be 0)
        scale = max(float(_cost(inst["X"], inst["Y"], inst["p"]).max()), inst["reg"])
        same = sinkhorn_divergence(inst["X"], inst["X"], a=inst["a"], b=inst["a"],
                                   reg=inst["reg"], p=inst["p"]).cost
        err = max(abs(S.cost - ref), abs(S.linear_cost - sharp), abs(T.cost - ref), abs(same))
        return err / scale, 1e-9

    st = Statement("sinkhorn-divergence", evaluate, rtol=0.0,
                   description="S_eps(a, b) = S_eps(b, a) = OT - (OT_aa + OT_bb)/2 from scipy's "
                   "Newton solver, sharp variant likewise, S_eps(a, a) = 0; relative to max C; "
                   "non-convergence is a violation")
    return st, _divergence_families(False)


@register("sinkhorn-divergence-bound", theory="ot-sinkhorn-divergence.md", kind="bound",
          quick=2, full=7, tight_delta=2e-3)
def _divergence_bound() -> tuple[Any, list[Any]]:
    """(eps/2) |mu - nu|^2_k <= S_eps, sharp as eps -> infinity."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        S = _divergence(inst)
        return _divergence_oracle(inst)[2], S.cost

    st = Statement("sinkhorn-divergence-bound", evaluate, rtol=1e-7,
                   description="(eps/2)|mu - nu|^2_{k_eps} <= S_eps, mu = e^{f_a/eps} a, "
                   "nu = e^{f_b/eps} b (symmetric potentials from the oracle); sharp as "
                   "eps -> infinity")
    return st, _divergence_families(True)


# --------------------------------------------------------------------------
# Gaussian W2
# --------------------------------------------------------------------------


@register("gaussian-w2", theory="ot-gaussian-w2.md", kind="identity", quick=2, full=10)
def _gaussian() -> tuple[Any, list[Any]]:
    """W2 = 40-digit closed form; the Brenier map matches every sample optimally."""
    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import exact_transport, gaussian_wasserstein

        S1, S2, m1, m2 = inst["P"], inst["Q"], inst["m1"], inst["m2"]
        d = S1.shape[0]
        W = float(gaussian_wasserstein(m1, S1, m2, S2))
        ref = math.sqrt(float(np.sum((m1 - m2) ** 2)) + max(_mp_bures2(S1, S2), 0.0))
        scale = math.sqrt(float(np.trace(S1) + np.trace(S2)))
        err = abs(W - ref) / max(ref, scale * math.sqrt(EPS)) / _spd_tol(d, S1, S2)
        if _kappa(S1, S2) <= 1e4:  # statement 3: the Brenier map is an optimal matching
            R = _sqrtm(S1)
            Ri = np.linalg.inv(R)
            T = Ri @ _sqrtm(R @ S2 @ R) @ Ri
            rng = np.random.default_rng(inst["seed"])
            k = int(rng.integers(2, 12))
            X = m1 + rng.standard_normal((k, d)) @ R
            Y = m2 + (X - m1) @ (0.5 * (T + T.T))
            res = exact_transport(X, Y, return_plan=True)
            err = max(err, float(np.abs(res.plan * k - np.eye(k)).max()) / 1e-9)
        return err, 1.0

    def means(rng: np.random.Generator, inst: dict) -> dict:
        d, s = inst["P"].shape[0], math.sqrt(float(np.trace(inst["P"])))
        return {"m1": s * rng.standard_normal(d), "m2": s * rng.standard_normal(d),
                "seed": int(rng.integers(2**31))}

    st = Statement("gaussian-w2", evaluate, rtol=0.0,
                   description="W2 = sqrt(|m1 - m2|^2 + tr S1 + tr S2 "
                   "- 2 tr (S1^1/2 S2 S1^1/2)^1/2) (mpmath, 40 digits) within 64 d eps cond; "
                   "the Brenier map's matching of a sample is the exact optimal plan")
    return st, [_with(b, f"{b.name} + means", means) for b in _spd_bases()]


# --------------------------------------------------------------------------
# diagnostics: MMD
# --------------------------------------------------------------------------


def _mmd_brute(X: np.ndarray, Y: np.ndarray, sigmas: list[float]) -> float:
    """The U-statistic by its definition, one pair at a time."""
    def k(x: np.ndarray, y: np.ndarray) -> float:
        d2 = float(np.sum((x - y) ** 2))
        return sum(math.exp(-d2 / (2 * s * s)) for s in sigmas) / len(sigmas)

    n, m = len(X), len(Y)
    xx = sum(k(X[i], X[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(Y[i], Y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(X[i], Y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def _mmd_family(kind: str) -> Any:
    from sheaftopo.verify import point_clouds

    base = point_clouds(kind, n=(2, 12), dim=(1, 3))

    def extra(rng: np.random.Generator, inst: dict) -> dict:
        X = inst["X"]
        Y = base.sample(rng)["X"][:, : X.shape[1]]
        if Y.shape[1] < X.shape[1]:
            Y = np.hstack([Y, np.zeros((len(Y), X.shape[1] - Y.shape[1]))])
        if len(Y) < 2:
            Y = np.vstack([Y, Y])
        mode = int(rng.integers(3))
        bw: Any = None if mode == 0 else (float(rng.uniform(0.3, 3.0)) if mode == 1 else
                                          [float(s) for s in rng.uniform(0.3, 3.0, 3)])
        return {"Y": Y if rng.random() < 0.8 else X.copy(), "bandwidth": bw}

    return _with(base, f"{kind} pairs", extra)


@register("mmd-estimator", theory="diagnostics-mmd.md", kind="identity", quick=3, full=30)
def _mmd_estimator() -> tuple[Any, list[Any]]:
    """mmd2 = the U-statistic by brute force (median heuristic: numpy's median of pdist)."""
    from scipy.spatial.distance import pdist

    from sheaftopo.verify import Statement

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import mmd2

        X, Y, bw = inst["X"], inst["Y"], inst["bandwidth"]
        if bw is None:
            med = float(np.median(pdist(np.vstack([X, Y]))))
            if med == 0:
                return 0.0, 1.0  # all pooled distances 0 (duplicates): refused, not checked
            sig = [med]
        else:
            sig = [bw] if isinstance(bw, float) else list(bw)
        ref = _mmd_brute(X, Y, sig)
        err = abs(float(mmd2(X, Y, bandwidth=bw)) - ref)
        if np.array_equal(X, Y):  # statement 3: -(2/n)(1 - mean off-diagonal kernel)
            n = len(X)
            kbar = (ref * n / 2 + 1.0) if n > 1 else 1.0
            err = max(err, abs(ref + 2.0 / n * (1.0 - kbar)))
        return err, 1e-12

    st = Statement("mmd-estimator", evaluate, rtol=0.0,
                   description="mmd2 = the U-statistic by its definition (one and three "
                   "bandwidths, median heuristic), to 1e-12; X = Y gives -(2/n)(1 - k bar)")
    return st, [_mmd_family(k) for k in ("gaussian", "duplicates", "lattice", "clusters")]


def _population_mmd2(d: int, shift: float, s1: float, s2: float, sigma: float) -> float:
    def ek(tau2: float, shift2: float) -> float:
        v = sigma**2 + tau2
        return (sigma**2 / v) ** (d / 2) * math.exp(-shift2 / (2 * v))

    return ek(2 * s1**2, 0.0) + ek(2 * s2**2, 0.0) - 2 * ek(s1**2 + s2**2, d * shift**2)


@register("mmd-unbiased", theory="diagnostics-mmd.md", kind="identity", quick=10, full=25)
def _mmd_unbiased() -> tuple[Any, list[Any]]:
    """E[MMD^2_u] = the Gaussian closed form, within 5 standard errors of 150 draws."""
    from sheaftopo.verify import Family, Statement

    def sample(rng: np.random.Generator) -> dict:
        return {"d": int(rng.integers(1, 4)), "nx": int(rng.integers(2, 8)),
                "ny": int(rng.integers(2, 8)), "shift": float(rng.choice([0.0, 0.3, 1.0])),
                "s2": float(rng.choice([1.0, 1.5])), "sigma": float(rng.uniform(0.5, 2.0)),
                "seed": int(rng.integers(2**31))}

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import mmd2

        d, nx, ny, shift, s2, sigma = (inst[k] for k in ("d", "nx", "ny", "shift", "s2", "sigma"))
        rng = np.random.default_rng(inst["seed"])
        vals = np.array([mmd2(rng.standard_normal((nx, d)),
                              shift + s2 * rng.standard_normal((ny, d)), bandwidth=sigma)
                         for _ in range(150)])
        se = float(vals.std(ddof=1)) / math.sqrt(len(vals))
        return abs(float(vals.mean()) - _population_mmd2(d, shift, 1.0, s2, sigma)), 5 * se

    fam = Family("Gaussian samples, n, m in [2, 7]", sample, shrink=lambda inst: iter(()))
    st = Statement("mmd-unbiased", evaluate, rtol=0.0,
                   description="|mean of 150 MMD^2_u - closed form| <= 5 standard errors")
    return st, [fam]


# --------------------------------------------------------------------------
# diagnostics: neighbourhoods
# --------------------------------------------------------------------------


def _brute_knn(Z: np.ndarray, k: int) -> list[list[int]]:
    """k nearest other points, by distance then index (sorted tuples)."""
    n = len(Z)
    D = [[float(np.sum((Z[i] - Z[j]) ** 2)) for j in range(n)] for i in range(n)]
    return [[j for _, j in sorted((D[i][j], j) for j in range(n) if j != i)[:k]]
            for i in range(n)]


def _knn_family(kind: str, relation: str) -> Any:
    from sheaftopo.verify import point_clouds

    base = point_clouds(kind, n=(3, 25), dim=(1, 4))

    def extra(rng: np.random.Generator, inst: dict) -> dict:
        X = inst["X"]
        N = len(X)
        dy = int(rng.integers(1, 5))
        if relation == "integers":
            Y = rng.integers(-2, 3, (N, dy)).astype(float)
        elif relation == "linear":
            Y = X[:, :1] @ rng.standard_normal((1, dy)) + 0.1 * rng.standard_normal((N, dy))
        else:
            Y = rng.standard_normal((N, dy))
        return {"Y": Y, "k": int(rng.integers(1, N)), "seed": int(rng.integers(2**31))}

    return _with(base, f"X {kind}, Y {relation}", extra)


def _gap_error(X: np.ndarray, rng: np.random.Generator) -> float:
    """Statement 4: the modality gap of X and a rotated, noisy, partly rescaled copy.

    Against the definition (rows normalised here), in [0, 2], unchanged by
    positive row rescalings (powers of two: exact) and by a common rotation;
    a zero row must be refused.
    """
    from sheaftopo.geometry import modality_gap

    d = X.shape[1]
    R, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Y = X @ R + 0.3 * rng.standard_normal(X.shape) + rng.choice([0.0, 1.0])
    if not (np.abs(X).max(axis=1) > 0).all():
        try:
            modality_gap(X, Y)
        except ValueError:
            return 0.0
        return 1.0

    def centroid(A: np.ndarray) -> np.ndarray:
        return np.mean([a / math.sqrt(float(a @ a)) for a in A], axis=0)

    ref = float(np.linalg.norm(centroid(X) - centroid(Y)))
    gap = modality_gap(X, Y)
    scaled = X * np.ldexp(1.0, rng.integers(-20, 21, len(X)))[:, None]
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    err = abs(gap - ref) + max(0.0, gap - 2.0) + abs(modality_gap(scaled, Y) - gap)
    return err + abs(modality_gap(X @ Q, Y @ Q) - gap) / 100.0  # rotation: rounding only


@register("knn-diagnostics", theory="diagnostics-knn.md", kind="identity", quick=2, full=20)
def _knn() -> tuple[Any, list[Any]]:
    """k-NN overlap and Hausdorff mismatch = brute force; similarity invariance."""
    from scipy.spatial.distance import directed_hausdorff

    from sheaftopo.verify import Statement

    def dh(A: np.ndarray, B: np.ndarray) -> float:
        return max(directed_hausdorff(A, B)[0], directed_hausdorff(B, A)[0])

    def evaluate(inst: dict) -> tuple[float, float]:
        from sheaftopo.geometry import knn_hausdorff, knn_overlap

        X, Y, k = inst["X"], inst["Y"], int(inst["k"])
        N = len(X)
        NX, NY = _brute_knn(X, k), _brute_knn(Y, k)
        jac = float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b))
                             for a, b in zip(NX, NY, strict=True)]))
        err = abs(knn_overlap(X, Y, k=k) - jac)
        rX = float(np.mean([np.linalg.norm(X[j] - X[NX[j][-1]]) for j in range(N)]))
        rY = float(np.mean([np.linalg.norm(Y[j] - Y[NY[j][-1]]) for j in range(N)]))
        if rX == 0 or rY == 0:  # every k-th neighbour a duplicate: must be refused
            try:
                knn_hausdorff(X, Y, k=k)
            except ValueError:
                return err, 1e-9
            return 1.0, 1e-9
        haus = float(np.mean([0.5 * (dh(X[NX[j]], X[NY[j]]) / rX + dh(Y[NX[j]], Y[NY[j]]) / rY)
                              for j in range(N)]))
        got = knn_hausdorff(X, Y, k=k)
        err += abs(got - haus) / max(1.0, haus)
        # a similarity of Y keeping exact ties exact: power-of-two scaling, signed
        # permutation of the axes, integer shift
        rng = np.random.default_rng(inst["seed"])
        dy = Y.shape[1]
        R = np.eye(dy)[rng.permutation(dy)] * rng.choice([-1.0, 1.0], dy)
        Y2 = 4.0 * Y @ R + 3.0
        err += abs(knn_overlap(X, Y2, k=k) - jac) + abs(knn_hausdorff(X, Y2, k=k) - haus) / max(
            1.0, haus)
        return err + _gap_error(X, rng), 1e-9

    fams = [_knn_family("lattice", "integers"), _knn_family("duplicates", "linear"),
            _knn_family("gaussian", "linear"), _knn_family("collinear", "independent"),
            _knn_family("gaussian", "integers")]
    st = Statement("knn-diagnostics", evaluate, rtol=0.0,
                   description="k-NN overlap and Hausdorff mismatch = brute-force definitions "
                   "(ties by index, scipy directed_hausdorff); unchanged under an exact "
                   "similarity of Y; refused when r = 0; the modality gap = its definition, "
                   "invariant under row rescaling and a common rotation")
    return st, fams


# --------------------------------------------------------------------------
# mutants: every check above must be able to fail
# --------------------------------------------------------------------------


def _replace(res: Any, **changes: Any) -> Any:
    return dataclasses.replace(res, **changes)


# spd-affine-invariant.md -------------------------------------------------


@mutant("affine distance is the log-Euclidean one", page="spd-affine-invariant.md",
        target="sheaftopo.geometry:spd_distance", quick=True)
def _m_affine_le(original: Any) -> Any:
    def f(P: Any, Q: Any, *, metric: str = "affine") -> Any:
        return original(P, Q, metric="log_euclidean" if metric == "affine" else metric)
    return f


@mutant("affine distance squared", page="spd-affine-invariant.md",
        target="sheaftopo.geometry:spd_distance")
def _m_affine_sq(original: Any) -> Any:
    def f(P: Any, Q: Any, *, metric: str = "affine") -> Any:
        d = original(P, Q, metric=metric)
        return d * d if metric == "affine" else d
    return f


@mutant("affine distance from eig(P Q) instead of eig(P^-1 Q)", page="spd-affine-invariant.md",
        target="sheaftopo.geometry:spd_distance")
def _m_affine_pq(original: Any) -> Any:
    def f(P: Any, Q: Any, *, metric: str = "affine") -> Any:
        if metric != "affine":
            return original(P, Q, metric=metric)
        return original(np.linalg.inv(P), Q, metric=metric)
    return f


# spd-metrics.md ------------------------------------------------------------


@mutant("log-Euclidean Exp without the differential: exp(log P + V)", page="spd-metrics.md",
        target="sheaftopo.geometry:spd_exp", quick=True)
def _m_exp_le(original: Any) -> Any:
    def f(V: Any, base: Any, *, metric: str = "affine") -> Any:
        if metric != "log_euclidean":
            return original(V, base, metric=metric)
        return _expm(_logm(np.asarray(base)) + np.asarray(V))
    return f


@mutant("geodesic runs backwards (t -> 1 - t)", page="spd-metrics.md",
        target="sheaftopo.geometry:spd_geodesic")
def _m_geodesic(original: Any) -> Any:
    def f(P: Any, Q: Any, t: Any, *, metric: str = "affine") -> Any:
        return original(P, Q, 1.0 - np.asarray(t), metric=metric)
    return f


@mutant("affine Log as log Q - log P", page="spd-metrics.md",
        target="sheaftopo.geometry:spd_log")
def _m_log_naive(original: Any) -> Any:
    def f(P: Any, base: Any, *, metric: str = "affine") -> Any:
        if metric != "affine":
            return original(P, base, metric=metric)
        return _logm(np.asarray(P)) - _logm(np.asarray(base))
    return f


@mutant("power-Euclidean distance without its 1/|power|", page="spd-metrics.md",
        target="sheaftopo.geometry:spd_distance")
def _m_power_scale(original: Any) -> Any:
    def f(P: Any, Q: Any, *, metric: str = "affine", power: Any = None,
          squared: bool = False) -> Any:
        d = original(P, Q, metric=metric, power=power, squared=squared)
        if metric == "power":
            return d * abs(power) ** (2 if squared else 1)
        return d
    return f

@mutant("Bures distance times sqrt(2)", page="spd-metrics.md",
        target="sheaftopo.geometry:spd_distance")
def _m_bures_const(original: Any) -> Any:
    def f(P: Any, Q: Any, *, metric: str = "affine") -> Any:
        d = original(P, Q, metric=metric)
        return d * math.sqrt(2.0) if metric == "bures" else d
    return f


# spd-frechet-mean.md -------------------------------------------------------


def _mean_result(M: np.ndarray) -> Any:
    from sheaftopo.geometry import SPDMean

    return SPDMean(mean=M, n_iter=1, converged=True, gradient_norm=0.0)


def _weights_of(P: np.ndarray, weights: Any) -> np.ndarray:
    return np.full(len(P), 1.0 / len(P)) if weights is None else np.asarray(weights, dtype=float)


@mutant("Fréchet mean returns the arithmetic mean", page="spd-frechet-mean.md",
        target="sheaftopo.geometry:spd_mean", quick=True)
def _m_mean_arith(original: Any) -> Any:
    def f(P: Any, *, metric: str = "affine", weights: Any = None, **kw: Any) -> Any:
        P = np.asarray(P, dtype=float)
        return _mean_result(np.einsum("i,ijk->jk", _weights_of(P, weights), P))
    return f


@mutant("affine mean returns the log-Euclidean mean", page="spd-frechet-mean.md",
        target="sheaftopo.geometry:spd_mean")
def _m_mean_le(original: Any) -> Any:
    def f(P: Any, *, metric: str = "affine", **kw: Any) -> Any:
        return original(P, metric="log_euclidean" if metric == "affine" else metric, **kw)
    return f


@mutant("Fréchet mean ignores the weights", page="spd-frechet-mean.md",
        target="sheaftopo.geometry:spd_mean")
def _m_mean_unweighted(original: Any) -> Any:
    def f(P: Any, *, weights: Any = None, **kw: Any) -> Any:
        return original(P, **kw)
    return f


@mutant("Fréchet mean returns the harmonic mean", page="spd-frechet-mean.md",
        target="sheaftopo.geometry:spd_mean")
def _m_mean_harmonic(original: Any) -> Any:
    def f(P: Any, *, metric: str = "affine", weights: Any = None, **kw: Any) -> Any:
        P = np.asarray(P, dtype=float)
        inv = np.einsum("i,ijk->jk", _weights_of(P, weights), np.linalg.inv(P))
        return _mean_result(np.linalg.inv(inv))
    return f


# spd-stein-divergence.md ---------------------------------------------------


@mutant("Stein divergence is 0", page="spd-stein-divergence.md",
        target="sheaftopo.geometry:stein_divergence", quick=True)
def _m_stein_zero(original: Any) -> Any:
    return lambda P, Q: 0.0 * original(P, Q)


@mutant("Stein divergence halved", page="spd-stein-divergence.md",
        target="sheaftopo.geometry:stein_divergence")
def _m_stein_half(original: Any) -> Any:
    return lambda P, Q: 0.5 * original(P, Q)


@mutant("Stein divergence returns its bound d_AI^2 / 8", page="spd-stein-divergence.md",
        target="sheaftopo.geometry:stein_divergence")
def _m_stein_bound(original: Any) -> Any:
    def f(P: Any, Q: Any) -> Any:
        from sheaftopo.geometry import spd_distance

        return spd_distance(P, Q) ** 2 / 8.0
    return f


@mutant("Stein divergence without the halves: log det((P+Q)/2) - log det P",
        page="spd-stein-divergence.md", target="sheaftopo.geometry:stein_divergence")
def _m_stein_asym(original: Any) -> Any:
    def f(P: Any, Q: Any) -> Any:
        P, Q = np.asarray(P, dtype=float), np.asarray(Q, dtype=float)
        return np.linalg.slogdet(0.5 * (P + Q))[1] - np.linalg.slogdet(P)[1]
    return f


@mutant("von Neumann divergence with its arguments swapped", page="spd-stein-divergence.md",
        target="sheaftopo.geometry:von_neumann_divergence")
def _m_vn_swap(original: Any) -> Any:
    return lambda P, Q: original(Q, P)


# ot-exact-sliced.md --------------------------------------------------------


@mutant("exact transport returns the cost of the independent coupling a b^T",
        page="ot-exact-sliced.md", target="sheaftopo.geometry:exact_transport", quick=True)
def _m_exact_indep(original: Any) -> Any:
    def f(X: Any, Y: Any, *, a: Any = None, b: Any = None, p: float = 2.0, **kw: Any) -> Any:
        res = original(X, Y, a=a, b=b, p=p, **kw)
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        a = np.full(len(X), 1 / len(X)) if a is None else np.asarray(a, float)
        b = np.full(len(Y), 1 / len(Y)) if b is None else np.asarray(b, float)
        return _replace(res, cost=float(a @ _cost(X, Y, p) @ b))
    return f


@mutant("exact transport returns W_p instead of W_p^p", page="ot-exact-sliced.md",
        target="sheaftopo.geometry:exact_transport")
def _m_exact_root(original: Any) -> Any:
    def f(X: Any, Y: Any, *, p: float = 2.0, **kw: Any) -> Any:
        res = original(X, Y, p=p, **kw)
        return _replace(res, cost=res.cost ** (1.0 / p))
    return f


@mutant("sliced Wasserstein is 0", page="ot-exact-sliced.md",
        target="sheaftopo.geometry:sliced_transport")
def _m_sliced_zero(original: Any) -> Any:
    return lambda *args, **kw: _replace(original(*args, **kw), cost=0.0)


@mutant("sliced Wasserstein sums the directions instead of averaging",
        page="ot-exact-sliced.md", target="sheaftopo.geometry:sliced_transport")
def _m_sliced_sum(original: Any) -> Any:
    def f(*args: Any, n_projections: int = 50, **kw: Any) -> Any:
        res = original(*args, n_projections=n_projections, **kw)
        return _replace(res, cost=res.cost * n_projections)
    return f


# ot-entropic.md ------------------------------------------------------------


@mutant("entropic cost without the entropic term (cost = <P, C>)", page="ot-entropic.md",
        target="sheaftopo.geometry:entropic_transport", quick=True)
def _m_entropic_linear(original: Any) -> Any:
    def f(*args: Any, **kw: Any) -> Any:
        res = original(*args, **kw)
        return _replace(res, cost=res.linear_cost)
    return f


@mutant("entropic transport solved at 2 reg", page="ot-entropic.md",
        target="sheaftopo.geometry:entropic_transport")
def _m_entropic_reg(original: Any) -> Any:
    def f(*args: Any, reg: float, **kw: Any) -> Any:
        return original(*args, reg=2.0 * reg, **kw)
    return f


@mutant("entropic linear cost reported as the regularised cost", page="ot-entropic.md",
        target="sheaftopo.geometry:entropic_transport")
def _m_entropic_lin(original: Any) -> Any:
    def f(*args: Any, **kw: Any) -> Any:
        res = original(*args, **kw)
        return _replace(res, linear_cost=res.cost)
    return f


@mutant("entropic transport reports convergence after 50 iterations", page="ot-entropic.md",
        target="sheaftopo.geometry:entropic_transport")
def _m_entropic_early(original: Any) -> Any:
    def f(*args: Any, max_iter: int = 10_000, **kw: Any) -> Any:
        return _replace(original(*args, max_iter=50, **kw), converged=True)
    return f


# ot-sinkhorn-divergence.md -------------------------------------------------


@mutant("sinkhorn divergence is 0", page="ot-sinkhorn-divergence.md",
        target="sheaftopo.geometry:sinkhorn_divergence", quick=True)
def _m_div_zero(original: Any) -> Any:
    return lambda *args, **kw: _replace(original(*args, **kw), cost=0.0)


@mutant("sinkhorn divergence returns the linear OT cost", page="ot-sinkhorn-divergence.md",
        target="sheaftopo.geometry:sinkhorn_divergence")
def _m_div_linear(original: Any) -> Any:
    def f(X: Any, Y: Any, **kw: Any) -> Any:
        from sheaftopo.geometry import entropic_transport

        res = original(X, Y, **kw)
        kw.pop("return_plan", None)
        return _replace(res, cost=entropic_transport(X, Y, **kw).linear_cost)
    return f


@mutant("sinkhorn divergence without the debiasing terms (= OT_eps)",
        page="ot-sinkhorn-divergence.md", target="sheaftopo.geometry:sinkhorn_divergence")
def _m_div_biased(original: Any) -> Any:
    def f(X: Any, Y: Any, **kw: Any) -> Any:
        from sheaftopo.geometry import entropic_transport

        res = original(X, Y, **kw)
        kw.pop("return_plan", None)
        return _replace(res, cost=entropic_transport(X, Y, **kw).cost)
    return f


@mutant("sinkhorn divergence returns the sharp variant", page="ot-sinkhorn-divergence.md",
        target="sheaftopo.geometry:sinkhorn_divergence")
def _m_div_sharp(original: Any) -> Any:
    def f(*args: Any, **kw: Any) -> Any:
        res = original(*args, **kw)
        return _replace(res, cost=res.linear_cost)
    return f


# ot-gaussian-w2.md ---------------------------------------------------------


def _bw_cross(cov1: np.ndarray, cov2: np.ndarray) -> float:
    R = _sqrtm(cov1)
    return float(np.trace(_sqrtm(R @ cov2 @ R)))


@mutant("Gaussian W2 without the factor 2 in the cross term", page="ot-gaussian-w2.md",
        target="sheaftopo.geometry:gaussian_wasserstein", quick=True)
def _m_w2_factor(original: Any) -> Any:
    def f(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
        m1, m2, c1, c2 = (np.asarray(x, float) for x in (mean1, mean2, cov1, cov2))
        w2 = float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - _bw_cross(c1, c2))
        return math.sqrt(max(w2, 0.0))
    return f


@mutant("Gaussian W2 returns W2^2", page="ot-gaussian-w2.md",
        target="sheaftopo.geometry:gaussian_wasserstein")
def _m_w2_square(original: Any) -> Any:
    return lambda *args: original(*args) ** 2


@mutant("Gaussian W2 ignores the means", page="ot-gaussian-w2.md",
        target="sheaftopo.geometry:gaussian_wasserstein")
def _m_w2_means(original: Any) -> Any:
    return lambda m1, c1, m2, c2: original(m1, c1, m1, c2)


@mutant("Gaussian W2 cross term 2 sqrt(tr(S1 S2))", page="ot-gaussian-w2.md",
        target="sheaftopo.geometry:gaussian_wasserstein")
def _m_w2_trace(original: Any) -> Any:
    def f(mean1: Any, cov1: Any, mean2: Any, cov2: Any) -> Any:
        m1, m2, c1, c2 = (np.asarray(x, float) for x in (mean1, mean2, cov1, cov2))
        w2 = float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2)
                   - 2 * math.sqrt(max(float(np.trace(c1 @ c2)), 0.0)))
        return math.sqrt(max(w2, 0.0))
    return f


# diagnostics-mmd.md ----------------------------------------------------------


def _mmd_kernels(X: np.ndarray, Y: np.ndarray, bandwidth: Any) -> tuple[np.ndarray, ...]:
    from sheaftopo.geometry import median_bandwidth

    sig = [median_bandwidth(X, Y)] if bandwidth is None else list(np.atleast_1d(bandwidth))

    def k(A: np.ndarray, B: np.ndarray) -> np.ndarray:
        D2 = np.sum((A[:, None] - B[None]) ** 2, -1)
        return sum(np.exp(-D2 / (2 * s * s)) for s in sig) / len(sig)

    return k(X, X), k(Y, Y), k(X, Y)


@mutant("MMD: biased V-statistic", page="diagnostics-mmd.md",
        target="sheaftopo.geometry:mmd2", quick=True)
def _m_mmd_biased(original: Any) -> Any:
    def f(X: Any, Y: Any, *, bandwidth: Any = None) -> float:
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        Kxx, Kyy, Kxy = _mmd_kernels(X, Y, bandwidth)
        return float(Kxx.mean() + Kyy.mean() - 2 * Kxy.mean())
    return f


@mutant("MMD: cross term without the factor 2", page="diagnostics-mmd.md",
        target="sheaftopo.geometry:mmd2")
def _m_mmd_cross(original: Any) -> Any:
    def f(X: Any, Y: Any, *, bandwidth: Any = None) -> float:
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        Kxx, Kyy, Kxy = _mmd_kernels(X, Y, bandwidth)
        n, m = len(X), len(Y)
        return float((Kxx.sum() - np.trace(Kxx)) / (n * (n - 1))
                     + (Kyy.sum() - np.trace(Kyy)) / (m * (m - 1)) - Kxy.mean())
    return f


@mutant("MMD: kernel exp(-d^2 / sigma^2)", page="diagnostics-mmd.md",
        target="sheaftopo.geometry:mmd2")
def _m_mmd_bandwidth(original: Any) -> Any:
    def f(X: Any, Y: Any, *, bandwidth: Any = None) -> float:
        from sheaftopo.geometry import median_bandwidth

        bw = median_bandwidth(X, Y) if bandwidth is None else bandwidth
        return original(X, Y, bandwidth=np.asarray(bw, float) / math.sqrt(2.0))
    return f


# diagnostics-knn.md ----------------------------------------------------------


def _jaccard_of(NX: list[list[int]], NY: list[list[int]]) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b))
                          for a, b in zip(NX, NY, strict=True)]))


@mutant("k-NN overlap includes each point as its own neighbour", page="diagnostics-knn.md",
        target="sheaftopo.geometry:knn_overlap", quick=True)
def _m_knn_self(original: Any) -> Any:
    def f(X: Any, Y: Any, *, k: int) -> float:
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        NX = [[i, *nb[: k - 1]] for i, nb in enumerate(_brute_knn(X, k))]
        NY = [[i, *nb[: k - 1]] for i, nb in enumerate(_brute_knn(Y, k))]
        return _jaccard_of(NX, NY)
    return f


@mutant("k-NN overlap with k + 1 neighbours", page="diagnostics-knn.md",
        target="sheaftopo.geometry:knn_overlap")
def _m_knn_plus(original: Any) -> Any:
    def f(X: Any, Y: Any, *, k: int) -> float:
        return original(X, Y, k=min(k + 1, len(np.asarray(X)) - 1))
    return f


@mutant("k-NN ties broken by the larger index", page="diagnostics-knn.md",
        target="sheaftopo.geometry:knn_overlap")
def _m_knn_ties(original: Any) -> Any:
    def f(X: Any, Y: Any, *, k: int) -> float:
        X, Y = np.asarray(X, float), np.asarray(Y, float)

        def knn(Z: np.ndarray) -> list[list[int]]:
            n = len(Z)
            return [[j for _, j in sorted((float(np.sum((Z[i] - Z[j]) ** 2)), -j)
                                          for j in range(n) if j != i)[:k]] for i in range(n)]

        return _jaccard_of([[-j for j in r] for r in knn(X)], [[-j for j in r] for r in knn(Y)])
    return f


@mutant("modality gap without normalising the rows", page="diagnostics-knn.md",
        target="sheaftopo.geometry:modality_gap")
def _m_gap_raw(original: Any) -> Any:
    def f(X: Any, Y: Any) -> float:
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        return float(np.linalg.norm(X.mean(axis=0) - Y.mean(axis=0)))
    return f


@mutant("Hausdorff mismatch normalised by r_X in both spaces", page="diagnostics-knn.md",
        target="sheaftopo.geometry:knn_hausdorff")
def _m_knn_radius(original: Any) -> Any:
    def f(X: Any, Y: Any, *, k: int) -> float:
        from scipy.spatial.distance import directed_hausdorff

        X, Y = np.asarray(X, float), np.asarray(Y, float)
        NX, NY = _brute_knn(X, k), _brute_knn(Y, k)
        rX = float(np.mean([np.linalg.norm(X[j] - X[NX[j][-1]]) for j in range(len(X))]))

        def dh(A: np.ndarray, B: np.ndarray) -> float:
            return max(directed_hausdorff(A, B)[0], directed_hausdorff(B, A)[0])

        return float(np.mean([0.5 * (dh(X[NX[j]], X[NY[j]]) + dh(Y[NX[j]], Y[NY[j]])) / rX
                              for j in range(len(X))]))
    return f
