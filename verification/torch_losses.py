"""Checks of the torch adapter (theory/h0-gradient.md, theory/spd-daleckii-krein.md).

Every oracle here is independent of the library: the H0 diagrams come from a
Prim's algorithm written below on distances computed below, Wasserstein
distances from an optimal assignment (scipy), thresholds from their
definition, and matrix-function derivatives from central differences at 60
digits with mpmath (the matrix functions evaluated by a high-precision
symmetric eigendecomposition). Registered only when PyTorch imports (the
adapter is an optional extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._mutants import mutant as _mutant
from ._registry import register as _register

try:
    import torch
except ImportError:  # pragma: no cover - the checks need the torch extra
    torch = None


def _skip(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """Without torch, neither the checks nor their mutants are registered."""
    return lambda f: f


register = _register if torch is not None else _skip
mutant = _mutant if torch is not None else _skip

H0_PAGE = "h0-gradient.md"
DK_PAGE = "spd-daleckii-krein.md"

#: The cloud of issue 15 whose distance ties make MST algorithms pick different edges.
ISSUE_TIE_CLOUD = np.array(
    [[2, 1], [1, 0], [1, 1], [1, 0], [0, 0], [0, 1], [0, 0]], dtype=np.float64
)


# --------------------------------------------------------------------------
# independent H0 oracles
# --------------------------------------------------------------------------


def _power_of_two(X: np.ndarray) -> float:
    """A power of two s with max|X| / s in [0.5, 1) (1 for a zero array): X / s is exact."""
    top = float(np.abs(X).max()) if X.size else 0.0
    return math.ldexp(1.0, math.frexp(top)[1]) if top > 0 else 1.0


def distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix (exactly symmetric), computed on X / s and scaled back."""
    s = _power_of_two(X)
    Y = X / s
    diff = Y[:, None, :] - Y[None, :, :]
    return np.sqrt((diff * diff).sum(-1)) * s


def prim(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights and edges of a minimum spanning tree of a dense matrix (Prim, O(n^2)).

    The H0 deaths of the Vietoris-Rips filtration are the weights (any minimum
    spanning tree has the same multiset of weights).
    """
    n = len(D)
    inside = np.zeros(n, dtype=bool)
    inside[0] = True
    best = D[0].astype(np.float64).copy()
    parent = np.zeros(n, dtype=np.int64)
    weights, edges = [], []
    for _ in range(n - 1):
        k = int(np.argmin(np.where(inside, np.inf, best)))
        weights.append(best[k])
        edges.append((int(parent[k]), k))
        inside[k] = True
        closer = ~inside & (D[k] < best)
        best[closer] = D[k][closer]
        parent[closer] = k
    return np.array(weights, dtype=np.float64), np.array(edges, dtype=np.int64).reshape(-1, 2)


def threshold(D: np.ndarray, lam: float) -> float:
    """ToMCLIP's ε = mean - λ std of the off-diagonal distances (population std, "exact")."""
    T = float(D.max())
    if T == 0:
        return 0.0
    off = D[~np.eye(len(D), dtype=bool)] / T
    return T * (float(off.mean()) - lam * float(off.std()))


def completed_deaths(X: np.ndarray, lam: float | None) -> tuple[np.ndarray, dict[str, float]]:
    """Sorted finite H0 deaths; with ``lam``, those of the ε-graph completed at T = max D.

    The deaths <= ε are the exact ones and the ``m`` others become T
    (theory/sparsification-bound.md). Also returns ε, T and m.
    """
    D = distances(X)
    w, _ = prim(D)
    w = np.sort(w)
    if lam is None:
        return w, {"eps": math.inf, "T": float(D.max()), "m": 0.0}
    eps, T = threshold(D, lam), float(D.max())
    m = int((w > eps).sum())
    return np.sort(np.concatenate([w[w <= eps], np.full(m, T)])), {"eps": eps, "T": T, "m": m}


def wasserstein_deaths(a: np.ndarray, b: np.ndarray, p: float) -> float:
    """W_p between the diagrams {(0, a_k)} and {(0, b_k)}, ground metric L1.

    An optimal assignment between the points and diagonal copies: a point
    (0, d) costs d to the diagonal in L1 (the largest of the L_q costs, so
    this W_p bounds every other L_q version from above), and two points with
    equal births cost |a - b| in every L_q.
    """
    pairs, to_diagonal_a, to_diagonal_b = optimal_matching(a, b, p)
    cost = (np.sum(np.abs(a[pairs[:, 0]] - b[pairs[:, 1]]) ** p)
            + np.sum(a[to_diagonal_a] ** p) + np.sum(b[to_diagonal_b] ** p))
    return float(cost ** (1.0 / p))


def optimal_matching(a: np.ndarray, b: np.ndarray, p: float) -> tuple[np.ndarray, ...]:
    """An optimal matching for :func:`wasserstein_deaths`: matched index pairs (i, j),
    the i sent to the diagonal, the j sent to the diagonal (scipy's assignment)."""
    from scipy.optimize import linear_sum_assignment

    k, l_ = len(a), len(b)
    C = np.full((k + l_, l_ + k), np.inf)
    C[:k, :l_] = np.abs(a[:, None] - b[None, :]) ** p
    C[np.arange(k), l_ + np.arange(k)] = a**p
    C[k + np.arange(l_), np.arange(l_)] = b**p
    C[k:, l_:] = 0.0
    rows, cols = linear_sum_assignment(C) if k + l_ else (np.zeros(0, int), np.zeros(0, int))
    matched = (rows < k) & (cols < l_)
    return (np.stack([rows[matched], cols[matched]], axis=1).reshape(-1, 2),
            rows[(rows < k) & (cols >= l_)], cols[(rows >= k) & (cols < l_)])


# --------------------------------------------------------------------------
# h0-gradient: autograd vs finite differences (generic), one-sided bound (ties)
# --------------------------------------------------------------------------


def _torch_deaths(X: np.ndarray, lam: float | None) -> tuple[Any, Any]:
    from sheaftopo.torch import finite_h0_diagram

    z = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    return z, finite_h0_diagram(z, lam=lam)[:, 1]


def _generic_error(inst: dict) -> float:
    """Value and gradient of sum_k w_k (delta_(k) / s)^2 against the oracle, relative."""
    X, w, lam = inst["X"], inst["w"], inst.get("lam")
    s = _power_of_two(X)
    z, deaths = _torch_deaths(X, lam)
    ref = completed_deaths(X, lam)[0]
    if deaths.shape != ref.shape:
        return math.inf
    value_err = float(np.abs(deaths.detach().numpy() - ref).max(initial=0.0)) / s
    (torch.tensor(w) * (deaths / s).square()).sum().backward()
    grad = z.grad.numpy() * s

    def loss(Y: np.ndarray) -> float:
        return float(np.sum(w * (completed_deaths(Y, lam)[0] / s) ** 2))

    h = 1e-6 * s
    fd = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[idx] += h
        down[idx] -= h
        fd[idx] = (loss(up) - loss(down)) / (2e-6)
    scale = max(float(np.abs(fd).max()), 1e-300)
    return max(value_err / 1e-12, float(np.abs(grad - fd).max()) / scale / 1e-5)


def _tie_error(inst: dict, rng: np.random.Generator) -> float:
    """At ties: exact values, and the torch gradient g of W = sum (delta / s)^2 satisfies

    W(Y + hV) <= W(Y) + h <g, V> + h^2 n ||V||^2 (Y = X / s)

    for every direction V: g is the gradient of the quadratic
    sum_{e in T*} |y_u - y_v|^2 of a minimum spanning tree T* (whose Hessian
    is a tree Laplacian, at most n), and W is the minimum of these over trees.
    """
    X = inst["X"]
    n = len(X)
    s = _power_of_two(X)
    z, deaths = _torch_deaths(X, None)
    ref = completed_deaths(X, None)[0]
    if deaths.shape != ref.shape:
        return math.inf
    value_err = float(np.abs(deaths.detach().numpy() - ref).max(initial=0.0)) / s
    (deaths / s).square().sum().backward()
    g = z.grad.numpy() * s
    Y = X / s

    def W(V: np.ndarray) -> float:
        return float(np.sum(completed_deaths(Y + V, None)[0] ** 2))

    base = W(np.zeros_like(Y))
    directions = [rng.standard_normal(Y.shape) for _ in range(3)]
    if np.abs(g).max() > 0:
        directions.append(-g)
    worst = value_err / 1e-12
    for V in directions:
        V = V / np.linalg.norm(V)
        for h in (1e-3, 1e-6):
            excess = W(h * V) - base - h * float(np.sum(g * V))
            worst = max(worst, excess / (h * h * n + 1e-13 * (1.0 + base)))
    return worst


def _h0_gradient_evaluate(inst: dict) -> tuple[float, float]:
    if inst["mode"] == "tie":
        rng = np.random.default_rng(int(inst.get("seed", 0)))
        return _tie_error(inst, rng), 1.0
    return _generic_error(inst), 1.0


def _cloud_family(base: Any, name: str, mode: str, lam: tuple[float, float] | None = None,
                  anisotropic: bool = False) -> Any:
    """``base`` (a point-cloud family) with the weights, λ and mode of the h0 checks."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        X = base.sample(rng)["X"]
        if anisotropic:
            X = X * 10.0 ** rng.uniform(-2, 2, X.shape[1])
        inst: dict[str, Any] = {"X": X, "mode": mode, "seed": int(rng.integers(2**31))}
        if mode == "generic":
            inst["w"] = rng.uniform(0.5, 2.0, len(X) - 1)
        if lam is not None:
            inst["lam"] = float(rng.uniform(*lam))
        return inst

    def describe(inst: dict) -> str:
        X = inst["X"]
        D = distances(X)
        ties = len(np.unique(np.round(D[np.triu_indices(len(X), 1)] / max(D.max(), 1e-300), 12)))
        label = f"n={len(X)} d={X.shape[1]} distinct distances {ties}/{len(X) * (len(X) - 1) // 2}"
        return label + (f" lam={inst['lam']:.3g}" if "lam" in inst else "")

    return Family(name, sample, describe=describe)


def _issue_tie_family() -> Any:
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        X = ISSUE_TIE_CLOUD[rng.permutation(len(ISSUE_TIE_CLOUD))]
        return {"X": X * math.ldexp(1.0, int(rng.integers(-40, 41))), "mode": "tie",
                "seed": int(rng.integers(2**31))}

    return Family("issue 15 tie cloud (permuted, scaled by 2^k)", sample,
                  describe=lambda inst: f"scale {float(np.abs(inst['X']).max()):.3g}")


@register("h0-gradient", theory=H0_PAGE, kind="identity", quick=2, full=40)
def _h0_gradient() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement, point_clouds

    small = {"n": (4, 12), "dim": (1, 4)}
    families = [
        _cloud_family(point_clouds("gaussian", **small), "gaussian", "generic"),
        _cloud_family(point_clouds("gaussian", **small), "anisotropic (axis scales 1e-2..1e2)",
                      "generic", anisotropic=True),
        _cloud_family(point_clouds("clusters", **small), "clusters", "generic"),
        _cloud_family(point_clouds("scaled", **small), "scaled 1e-150..1e150", "generic"),
        _cloud_family(point_clouds("clusters", **small), "sparsified (exact, lam in [-0.5, 1.5])",
                      "generic", lam=(-0.5, 1.5)),
        _cloud_family(point_clouds("lattice", n=(4, 12), dim=(1, 3)), "lattice (ties)", "tie"),
        _cloud_family(point_clouds("duplicates", n=(4, 12), dim=(1, 3)), "duplicates (ties)",
                      "tie"),
        _issue_tie_family(),
    ]
    statement = Statement(
        "h0-gradient",
        _h0_gradient_evaluate,
        rtol=0.0,
        description="generic clouds: torch H0 deaths = Prim oracle (1e-12) and autograd "
        "gradient of sum w_k delta_k^2 = central differences (1e-5 relative); ties: "
        "W(Y+hV) <= W(Y) + h<g,V> + h^2 n |V|^2 (g = gradient along one MST)",
    )
    return statement, families


# --------------------------------------------------------------------------
# the training diagram finite_h0_diagram(z, lam=...) satisfies the sparsification bound
# --------------------------------------------------------------------------


def _sparsified_bound_evaluate(inst: dict) -> tuple[float, float]:
    """(W_p(exact, torch sparsified) / T, m^(1/p) (T - eps)^+ / T), oracle m, eps, T."""
    X, lam, p = inst["X"], float(inst["lam"]), float(inst["p"])
    exact = completed_deaths(X, None)[0]
    _, info = completed_deaths(X, lam)
    T, eps, m = info["T"], info["eps"], info["m"]
    if T == 0:
        return 0.0, 0.0
    _, deaths = _torch_deaths(X, lam)
    observed = wasserstein_deaths(exact / T, deaths.detach().numpy() / T, p)
    bound = m ** (1.0 / p) * max(T - eps, 0.0) / T
    return observed, bound


def _sparsified_torch_ratio(t: dict) -> Any:
    """The ratio of ``h0-sparsified-bound`` in torch, for ``sheaftopo.verify.search``.

    The optimal matching and m(ε) are chosen on detached values; the matching's
    cost (through both torch diagrams) and the bound (through T and ε) are
    differentiated, so gradient ascent moves the points to raise the ratio.
    """
    from sheaftopo.torch import finite_h0_diagram, pairwise_distances

    z, lam, p = t["X"], float(t["lam"]), float(t["p"])
    D = pairwise_distances(z)
    T = D.max()
    off = D[~torch.eye(len(D), dtype=torch.bool)] / T
    eps = T * (off.mean() - lam * off.std(unbiased=False))
    exact = finite_h0_diagram(z)[:, 1] / T
    sparse = finite_h0_diagram(z, lam=lam)[:, 1] / T
    m = int((exact.detach() * T.detach() > eps.detach()).sum())
    if m == 0:
        return T * 0.0
    pairs, da, db = optimal_matching(exact.detach().numpy(), sparse.detach().numpy(), p)
    cost = ((exact[pairs[:, 0]] - sparse[pairs[:, 1]]).abs() ** p).sum() + (
        exact[da] ** p).sum() + (sparse[db] ** p).sum()
    return cost ** (1.0 / p) / (m ** (1.0 / p) * (T - eps).clamp_min(1e-300) / T)


def _sparsified_family(kind: str, lam: tuple[float, float], n: tuple[int, int]) -> Any:
    from sheaftopo.verify import Family, point_clouds

    base = point_clouds(kind, n=n, dim=(1, 3))

    def sample(rng: np.random.Generator) -> dict:
        return {"X": base.sample(rng)["X"], "lam": float(rng.uniform(*lam)),
                "p": int(rng.integers(1, 4))}

    return Family(f"{kind}, lam in [{lam[0]:g}, {lam[1]:g}]", sample, describe=_describe_sparse)


def _describe_sparse(inst: dict) -> str:
    X = inst["X"]
    _, info = completed_deaths(X, float(inst["lam"]))
    return (f"n={len(X)} d={X.shape[1]} lam={inst['lam']:.4g} p={inst['p']} "
            f"m={info['m']} eps/T={info['eps'] / max(info['T'], 1e-300):.4g}")


def _three_clusters_family() -> Any:
    """Three clusters on a line with λ = 0: the regime of the issue's counterexample."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        d = int(rng.integers(1, 4))
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        sizes = rng.integers(2, 7, 3)
        centres = np.concatenate([[0.0], np.cumsum(rng.uniform(1.0, 10.0, 2))])
        t = np.concatenate([c + rng.uniform(0, 0.3, k) for c, k in zip(centres, sizes,
                                                                          strict=True)])
        return {"X": t[:, None] * u[None, :] + 1e-3 * rng.standard_normal((len(t), d)),
                "lam": 0.0, "p": int(rng.integers(1, 4))}

    return Family("three clusters, lam = 0", sample, describe=_describe_sparse)


def _tight_sparsified_family() -> Any:
    """Two clusters; λ puts ε a fraction δ of (T - w) below the largest MST weight w.

    Then m = 1, the diagrams differ in one point (0, w) vs (0, T) and, as
    T <= 3w, W_p = T - w (moving it is cheaper than two diagonal moves):
    ratio (T - w) / (T - ε) = 1 / (1 + δ).
    """
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        d = int(rng.integers(1, 4))
        gap = rng.uniform(1.0, 5.0)
        a = rng.standard_normal((int(rng.integers(2, 8)), d)) * 0.1
        b = rng.standard_normal((int(rng.integers(2, 8)), d)) * 0.1
        b[:, 0] += gap
        X = np.concatenate([a, b])
        D = distances(X)
        w = float(prim(D)[0].max())
        T = float(D.max())
        delta = 10.0 ** rng.uniform(-4, -2.3)
        target = w - delta * (T - w)
        off = D[~np.eye(len(D), dtype=bool)] / T
        lam = (float(off.mean()) - target / T) / float(off.std())
        return {"X": X, "lam": lam, "p": int(rng.integers(1, 4))}

    return Family("two clusters, eps just below the largest MST weight", sample,
                  describe=_describe_sparse, tight=True)


@register("h0-sparsified-bound", theory=H0_PAGE, kind="bound", quick=3, full=60,
          tight_delta=0.01)
def _h0_sparsified_bound() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    families = [
        _three_clusters_family(),
        _sparsified_family("clusters", (-0.5, 2.0), (4, 30)),
        _sparsified_family("gaussian", (-1.0, 1.0), (4, 30)),
        _sparsified_family("duplicates", (-0.5, 1.0), (4, 20)),
        _sparsified_family("lattice", (-0.5, 1.0), (4, 20)),
        _tight_sparsified_family(),
    ]
    statement = Statement(
        "h0-sparsified-bound",
        _sparsified_bound_evaluate,
        rtol=1e-9,
        atol=1e-12,
        description="the training diagram finite_h0_diagram(z, lam) (convention 'exact'): "
        "W_p(Dgm0(D), it) <= m(eps)^(1/p) (T - eps)^+ (L1 ground metric, p in {1,2,3})",
        torch_ratio=_sparsified_torch_ratio,
    )
    return statement, families


# --------------------------------------------------------------------------
# spd-daleckii-krein: guarded eigh backward vs 60-digit central differences
# --------------------------------------------------------------------------

_FUNCS = ("log", "sqrt", "invsqrt", "exp")


def _mp_function(name: str) -> Callable[[Any], Any]:
    import mpmath

    return {"log": mpmath.log, "sqrt": mpmath.sqrt,
            "invsqrt": lambda x: 1 / mpmath.sqrt(x), "exp": mpmath.exp}[name]


def _mp_matrix_function(name: str, A: Any) -> Any:
    """f(A) for a symmetric mpmath matrix, by its eigendecomposition at the working precision."""
    import mpmath

    lam, U = mpmath.eigsy(A)
    f = _mp_function(name)
    F = mpmath.diag([f(x) for x in lam])
    return U * F * U.T


def _dk_oracle(name: str, A: np.ndarray, E: np.ndarray, W: np.ndarray) -> tuple[float, float]:
    """d/dt tr(W^T f(A + tE)) at t = 0 by a 60-digit central difference, and the scale

    ||W||_F ||E||_F max_i |f'(lambda_i)| (the norm of the Frechet derivative).
    """
    import mpmath

    n = len(A)
    with mpmath.workdps(60):
        Am, Em, Wm = (mpmath.matrix(M.tolist()) for M in (A, E, W))
        lam = mpmath.eigsy(Am)[0]
        h = mpmath.mpf(10) ** -30 * max(abs(x) for x in lam)
        up = _mp_matrix_function(name, Am + h * Em)
        down = _mp_matrix_function(name, Am - h * Em)
        exact = sum((up[a, b] - down[a, b]) * Wm[a, b] for a in range(n)
                    for b in range(n)) / (2 * h)
        f = _mp_function(name)
        deriv = max(abs(mpmath.diff(f, x)) for x in lam)
        scale = float(mpmath.mnorm(Wm, "f") * mpmath.mnorm(Em, "f") * deriv)
        return float(exact), scale


def _dk_evaluate(inst: dict) -> tuple[float, float]:
    """|<grad, E> - oracle| / (scale * tol), tol = 32 n eps_mach kappa.

    kappa = cond(A) for log, sqrt, inverse sqrt (the backward pass is the exact
    derivative at A + dA, |dA| ~ eps |A|, and |D^2 f| / |D f| ~ 1 / lambda_min),
    max(1, |A|) for exp.
    """
    from sheaftopo.torch import expm, invsqrtm, logm, sqrtm

    A, E, W = inst["A"], inst["E"], inst["W"]
    name = _FUNCS[int(inst["f"]) % 4]
    ours = {"log": logm, "sqrt": sqrtm, "invsqrt": invsqrtm, "exp": expm}[name]
    X = torch.tensor(A, requires_grad=True)
    (ours(X) * torch.tensor(W)).sum().backward()
    got = float((X.grad * torch.tensor(E)).sum())
    exact, scale = _dk_oracle(name, A, E, W)
    lam = np.linalg.eigvalsh(A)
    kappa = max(1.0, float(np.abs(lam).max())) if name == "exp" else float(
        lam.max() / lam.min())
    tol = 32 * len(A) * np.finfo(np.float64).eps * max(kappa, 1.0)
    return abs(got - exact) / scale, tol


def _dk_instance(rng: np.random.Generator, A: np.ndarray) -> dict:
    """A with a random symmetric direction E, weights W and function; exp gets max eig 2."""
    n = len(A)
    E = rng.standard_normal((n, n))
    f = int(rng.integers(4))
    if _FUNCS[f] == "exp":
        A = A * (2.0 / float(np.linalg.eigvalsh(A).max()))
    return {"A": A, "E": E + E.T, "W": rng.standard_normal((n, n)), "f": f}


def _dk_describe(inst: dict) -> str:
    lam = np.linalg.eigvalsh(inst["A"])
    gaps = np.diff(lam) / lam.max() if len(lam) > 1 else np.array([np.inf])
    return (f"{_FUNCS[int(inst['f']) % 4]} n={len(lam)} cond={lam.max() / lam.min():.2g} "
            f"min rel gap={float(gaps.min()):.1e}")


def _dk_project(inst: dict) -> dict | None:
    A = 0.5 * (inst["A"] + inst["A"].T)
    lam = np.linalg.eigvalsh(A)
    return {**inst, "A": A} if lam.min() > 1e-12 * abs(lam.max()) else None


def _dk_spd_family(kind: str, cond: float) -> Any:
    """The first matrix of ``sheaftopo.verify.spd_pairs`` instances."""
    from sheaftopo.verify import Family, spd_pairs

    base = spd_pairs(kind, dim=(2, 6), cond=cond)

    def sample(rng: np.random.Generator) -> dict:
        return _dk_instance(rng, base.sample(rng)["P"])

    return Family(f"spd_pairs {kind}, cond <= {cond:g}", sample, describe=_dk_describe,
                  project=_dk_project)


def _dk_gap_family() -> Any:
    """Clusters of eigenvalues with relative gaps 1e-1 .. 1e-13 (and exact repeats), cond <= 1e3."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        n = int(rng.integers(2, 6))
        gap = 0.0 if rng.random() < 0.15 else 10.0 ** -float(rng.integers(1, 14))
        base = rng.uniform(0.5, 3.0)
        lam = base * (1 + gap * np.arange(n) * rng.uniform(0.5, 1.0, n))
        if rng.random() < 0.5:
            lam[-1] = base * rng.uniform(2, 1e3)  # one separated eigenvalue
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * lam) @ Q.T
        return _dk_instance(rng, 0.5 * (A + A.T))

    return Family("clustered spectra, relative gaps 0 and 1e-13..1e-1", sample,
                  describe=_dk_describe, project=_dk_project)


def _dk_identity_family() -> Any:
    """c I: every eigenvalue repeated (autograd through eigh gives NaN here)."""
    from sheaftopo.verify import Family

    def sample(rng: np.random.Generator) -> dict:
        n = int(rng.integers(1, 6))
        return _dk_instance(rng, np.eye(n) * float(10.0 ** rng.uniform(-3, 3)))

    return Family("multiples of the identity", sample, describe=_dk_describe,
                  project=_dk_project)


@register("spd-daleckii-krein", theory=DK_PAGE, kind="identity", quick=2, full=40)
def _daleckii_krein() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    families = [
        _dk_gap_family(),
        _dk_identity_family(),
        _dk_spd_family("random", 1e12),
        _dk_spd_family("clustered", 1e12),
        _dk_spd_family("random", 1e6),
        _dk_spd_family("clustered", 1e4),
    ]
    statement = Statement(
        "spd-daleckii-krein",
        _dk_evaluate,
        rtol=0.0,
        description="<autograd of tr(W f(A)), E> (f = log, sqrt, invsqrt, exp) = 60-digit "
        "central difference, to 32 n eps cond(A) of ||W|| ||E|| max|f'(lambda)|",
    )
    return statement, families


# --------------------------------------------------------------------------
# mutants: wrong gradient formulas, dropped terms, old behaviours
# --------------------------------------------------------------------------


def _scaled_backward(t: Any, factor: float) -> Any:
    """``t`` in the forward pass, ``factor`` times its gradient in the backward pass."""
    return t * factor - t.detach() * (factor - 1.0)


@mutant("h0 gradient doubled", page=H0_PAGE, target="sheaftopo.torch:finite_h0_diagram", quick=True)
def _h0_doubled(original: Any) -> Any:
    return lambda z, **kw: _scaled_backward(original(z, **kw), 2.0)


@mutant("h0 edge-length gradient routed to the other endpoint", page=H0_PAGE,
        target="sheaftopo.torch._distances:_edge_lengths")
def _h0_wrong_endpoint(original: Any) -> Any:
    def lengths(z: Any, u: Any, v: Any, metric: str, name: str = "z") -> Any:
        exact = original(z, u, v, metric, name)
        diff = (z[u] - z[v]).detach()
        unit = diff / exact.detach().clamp_min(1e-300).unsqueeze(1)
        # value unchanged; the gradient of z_u's term lands on z_v (with z_u's sign)
        return exact.detach() + (unit * (z[v] - z[v].detach())).sum(dim=1)

    return lengths


@mutant("h0 diagram drops its largest death", page=H0_PAGE,
        target="sheaftopo.torch:finite_h0_diagram")
def _h0_off_by_one(original: Any) -> Any:
    return lambda z, **kw: original(z, **kw)[:-1]


@mutant("sparsified h0 drops the pairs that die at T (the old training diagram)",
        page=H0_PAGE, target="sheaftopo.torch:finite_h0_diagram")
def _h0_drop_completed(original: Any) -> Any:
    def diagram(z: Any, **kw: Any) -> Any:
        dgm = original(z, **kw)
        if kw.get("lam") is None or not len(dgm):
            return dgm
        from sheaftopo.torch import pairwise_distances

        T = pairwise_distances(z.detach()).max()
        return dgm[dgm[:, 1] < T]

    return diagram


@mutant("sparsified h0 completes at the longest kept edge instead of T", page=H0_PAGE,
        target="sheaftopo.torch._persistence:_select")
def _h0_complete_at_eps(original: Any) -> Any:
    def select(z: Any, D: Any, lam: Any, convention: str, metric: str, **kw: Any) -> Any:
        import dataclasses

        sel = original(z, D, lam, convention, metric, **kw)
        pairs = sel.h0
        if D is None or len(pairs) < 2:
            return sel
        vals = D.detach().numpy()[pairs[:, 0], pairs[:, 1]]
        top = vals == vals.max()
        if top.all() or top.sum() < 1:
            return sel
        kept = pairs[~top]
        longest = kept[int(np.argmax(vals[~top]))]
        return dataclasses.replace(sel, h0=np.where(top[:, None], longest, pairs))

    return select


@mutant("DK kernel: midpoint derivative for close eigenvalues (the old rule)", page=DK_PAGE,
        target="sheaftopo.torch._spd:_divided_differences")
def _dk_midpoint(original: Any) -> Any:
    def kernel(name: str, mu: Any, s: Any) -> Any:
        K = original(name, mu, s)
        a, b = mu.unsqueeze(-1), mu.unsqueeze(-2)
        close = (a - b).abs() <= np.finfo(np.float64).eps ** (1 / 3) * mu.abs().amax(
            -1, keepdim=True).unsqueeze(-1)
        mid = 0.5 * (a + b)
        deriv = {"log": lambda x: 1 / (x * s.unsqueeze(-1)),
                 "sqrt": lambda x: 0.5 / torch.sqrt(x * s.unsqueeze(-1)),
                 "invsqrt": lambda x: -0.5 * torch.rsqrt(x * s.unsqueeze(-1)) ** 3,
                 "exp": lambda x: torch.exp(x * s.unsqueeze(-1))}[name](mid)
        return torch.where(close, deriv, K)

    return kernel


@mutant("DK kernel: plain divided difference (cancellation)", page=DK_PAGE,
        target="sheaftopo.torch._spd:_divided_differences")
def _dk_plain(original: Any) -> Any:
    def kernel(name: str, mu: Any, s: Any) -> Any:
        K = original(name, mu, s)
        lam = mu * s
        f = {"log": torch.log, "sqrt": torch.sqrt, "invsqrt": torch.rsqrt,
             "exp": torch.exp}[name](lam)
        num = f.unsqueeze(-1) - f.unsqueeze(-2)
        den = lam.unsqueeze(-1) - lam.unsqueeze(-2)
        same = den == 0
        return torch.where(same, K, num / torch.where(same, torch.ones_like(den), den))

    return kernel


@mutant("DK kernel: off-diagonal terms dropped (eigenvector motion ignored)", page=DK_PAGE,
        target="sheaftopo.torch._spd:_divided_differences")
def _dk_diagonal(original: Any) -> Any:
    def kernel(name: str, mu: Any, s: Any) -> Any:
        K = original(name, mu, s)
        return K * torch.eye(K.shape[-1], dtype=K.dtype)

    return kernel


@mutant("DK kernel: sqrt divided difference 1/(2 sqrt(ab)) (geometric, not arithmetic)",
        page=DK_PAGE, target="sheaftopo.torch._spd:_divided_differences")
def _dk_sqrt_geometric(original: Any) -> Any:
    def kernel(name: str, mu: Any, s: Any) -> Any:
        if name != "sqrt":
            return original(name, mu, s)
        lam = mu * s
        return 0.5 * torch.rsqrt(lam.unsqueeze(-1) * lam.unsqueeze(-2))

    return kernel


@mutant("logm gradient doubled", page=DK_PAGE, target="sheaftopo.torch:logm", quick=True)
def _dk_logm_doubled(original: Any) -> Any:
    return lambda A: _scaled_backward(original(A), 2.0)
