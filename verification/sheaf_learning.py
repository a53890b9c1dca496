"""Check of the learned restriction maps (theory/sheaf-learned-maps.md), with its mutants.

Four families of seeded instances (dicts of the data and the planted model),
one per statement of the page; the truth comes from the planted model, from
the data themselves (J recomputed from the maps), from random feasible pairs,
and from an independent oracle: the generalized symmetric eigenproblem of CCA
solved by ``scipy.linalg.eigh``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ._mutants import mutant
from ._registry import register

TOL = 1e-8


def _mixing(rng: np.random.Generator, d: int, spread: float = 3.0) -> np.ndarray:
    """A random d x d matrix with singular values in [1/spread, spread]."""
    Q1 = np.linalg.qr(rng.standard_normal((d, d)))[0]
    Q2 = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (Q1 * np.exp(rng.uniform(-np.log(spread), np.log(spread), d))) @ Q2


def _planted(
    rng: np.random.Generator, N: int, du: int, dv: int, k: int, noise: float, private: bool,
    spread: float = 3.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_u = A_u z + B_u p_u + noise, x_v = A_v z + B_v p_v + noise (p private, z shared).

    [A_u B_u] has singular values in [1/spread, spread]: with the default 3 the
    data covariance is well conditioned when N is a few times d_u + d_v, and the
    check measures the theorem, not the conditioning of the instance (rounding
    errors grow like eps * cond(Sigma)); the ill-conditioned family widens it.
    """
    M_u, M_v = _mixing(rng, du, spread), _mixing(rng, dv, spread)
    A_u, A_v = M_u[:, :k], M_v[:, :k]
    z = rng.standard_normal((N, k))
    if rng.random() < 0.25:  # duplicated samples: ties in the data
        z = z[rng.integers(0, max(N // 2, 1), N)]
    X_u = z @ A_u.T
    X_v = z @ A_v.T
    if private:
        X_u = X_u + rng.standard_normal((N, du - k)) @ M_u[:, k:].T
        X_v = X_v + rng.standard_normal((N, dv - k)) @ M_v[:, k:].T
    if noise:
        X_u = X_u + noise * rng.standard_normal((N, du))
        X_v = X_v + noise * rng.standard_normal((N, dv))
    return X_u, X_v, A_u, A_v


def _sizes(rng: np.random.Generator) -> tuple[int, int, int]:
    k = int(rng.integers(1, 5))
    return k, k + int(rng.integers(0, 5)), k + int(rng.integers(0, 5))


def _inv_sqrt(S: np.ndarray) -> np.ndarray:
    w, Q = np.linalg.eigh(S)
    return (Q / np.sqrt(w)) @ Q.T


def _centred(X: np.ndarray, center: bool) -> np.ndarray:
    return X - X.mean(0) if center else X


def _sample(kind: str):
    """Sampler of one statement's instances: the data, k, reg, center and the planted maps."""

    def sample(rng: np.random.Generator) -> dict:
        k, du, dv = _sizes(rng)
        center = bool(rng.integers(0, 2))
        N = 2 * (du + dv) + int(rng.integers(10, 200 if kind == "planted" else 300))
        reg = 0.0
        if kind in ("planted", "ill-conditioned"):
            spread = 10 ** rng.uniform(0, 3) if kind == "ill-conditioned" else 3.0
            X_u, X_v, A_u, A_v = _planted(rng, N, du, dv, k, 0.0, private=True, spread=spread)
            scale = float(10.0 ** rng.integers(-4, 5))
            X_u, A_u = X_u * scale, A_u * scale
            if center:
                X_u = X_u + rng.standard_normal(du) * 1e3 * scale
            note = f"scale={scale:g}"
        else:
            lo = {"objective": -3.0, "optimality": -2.0, "oracle": -1.0}[kind]
            noise = float(10.0 ** rng.uniform(lo, 0.5))
            private = bool(rng.integers(0, 2)) if kind == "objective" else False
            X_u, X_v, A_u, A_v = _planted(rng, N, du, dv, k, noise, private=private)
            if kind != "optimality" and rng.integers(0, 2):
                reg = float(10.0 ** rng.uniform(-8 if kind == "objective" else -6, -1))
            note = f"noise={noise:.2g} reg={reg:.2g}"
        return {"X_u": X_u, "X_v": X_v, "A_u": A_u, "A_v": A_v, "k": k, "reg": reg,
                "center": center, "kind": kind, "note": note}

    return sample


def _describe(inst: dict) -> str:
    return (f"k={inst['k']} d=({inst['X_u'].shape[1]},{inst['X_v'].shape[1]}) "
            f"N={inst['X_u'].shape[0]} center={inst['center']} {inst['note']}")


def _evaluate(inst: dict) -> tuple[float, float]:
    import scipy.linalg as sla

    from sheaftopo.sheaf import fit_restriction_maps

    X_u, X_v, k = inst["X_u"], inst["X_v"], int(inst["k"])
    reg, center, kind = float(inst["reg"]), bool(inst["center"]), inst["kind"]
    N, du, dv = X_u.shape[0], X_u.shape[1], X_v.shape[1]
    fit = fit_restriction_maps(X_u, X_v, k, reg=reg, center=center)
    Xc, Yc = _centred(X_u, center), _centred(X_v, center)
    if kind in ("planted", "ill-conditioned"):  # statement 4: F_u A_u = F_v A_v (relative)
        P, Q = fit.tail @ inst["A_u"], fit.head @ inst["A_v"]
        err = float(np.linalg.norm(P - Q) / np.linalg.norm(P))
        if kind == "planted":
            return err, TOL
        # rounding in the whitening grows like eps cond(Sigma) (theory page)
        cond = max(float(np.linalg.cond(Xc.T @ Xc)), float(np.linalg.cond(Yc.T @ Yc)))
        inst["note"] = f"cond(Sigma)={cond:.2g}"
        return err, TOL + 1e-14 * cond
    if kind == "objective":  # statement 1: J from the data = 2(k - sum rho) - ridge penalties
        lam = [reg * float(np.sum(Z * Z)) / (N * Z.shape[1]) for Z in (Xc, Yc)]
        R = Xc @ fit.tail.T - Yc @ fit.head.T
        J = float(np.sum(R * R)) / N
        formula = (2 * (k - float(fit.correlations.sum())) - lam[0] * float(np.sum(fit.tail**2))
                   - lam[1] * float(np.sum(fit.head**2)))
        return max(abs(J - formula), abs(fit.objective - J)) / (2 * k), TOL
    if kind == "optimality":  # statement 1: J* <= J of any feasible pair; constraints hold
        W_u, W_v = _inv_sqrt(Xc.T @ Xc / N), _inv_sqrt(Yc.T @ Yc / N)
        rng = np.random.default_rng(N * 1000 + du * 10 + dv)
        best = np.inf
        for _ in range(20):
            G_u = np.linalg.qr(rng.standard_normal((du, k)))[0].T
            G_v = np.linalg.qr(rng.standard_normal((dv, k)))[0].T
            R = Xc @ (G_u @ W_u).T - Yc @ (G_v @ W_v).T
            best = min(best, float(np.sum(R * R)) / N)
        feas = max(float(np.abs(fit.tail @ (Xc.T @ Xc / N) @ fit.tail.T - np.eye(k)).max()),
                   float(np.abs(fit.head @ (Yc.T @ Yc / N) @ fit.head.T - np.eye(k)).max()))
        return max(max(0.0, fit.objective - best) / (2 * k), feas), TOL
    # the correlations against the generalized eigenproblem of CCA
    S = np.hstack([Xc, Yc]).T @ np.hstack([Xc, Yc]) / N
    Suu, Svv, Suv = S[:du, :du], S[du:, du:], S[:du, du:]
    Suu = Suu + reg * np.trace(Suu) / du * np.eye(du)
    Svv = Svv + reg * np.trace(Svv) / dv * np.eye(dv)
    A = np.block([[np.zeros((du, du)), Suv], [Suv.T, np.zeros((dv, dv))]])
    rho = sla.eigh(A, sla.block_diag(Suu, Svv), eigvals_only=True)[::-1][:k]
    return float(np.abs(fit.correlations - rho).max()), TOL


@register("sheaf-learned-maps", theory="sheaf-learned-maps.md", kind="identity", quick=6,
          full=200)
def _sheaf_learned_maps() -> tuple:
    from sheaftopo.verify import Family, Statement

    st = Statement("sheaf-learned-maps", _evaluate, rtol=0.0,
                   description="CCA maps: noiseless planted F_u A_u = F_v A_v; J (from the data) "
                               "= 2(k - sum rho) - ridge penalties = the reported objective; "
                               "J* <= J(any feasible pair), constraints F Σ Fᵀ = I; rho = "
                               "generalized-eigh oracle (errors <= 1e-8)")
    names = {"planted": "noiseless planted model, private signals, data scaled 1e-4..1e4",
             "ill-conditioned": "noiseless planted model, mixing singular values 1e-3..1e3 "
                                "(error <= 1e-8 + 1e-14 cond(Sigma))",
             "objective": "noisy planted data, objective identity (reg 0 or random)",
             "optimality": "noisy data, optimality against 20 random feasible pairs",
             "oracle": "noisy data, correlations against the CCA eigenproblem"}
    fams = [Family(label, _sample(kind), describe=_describe) for kind, label in names.items()]
    return st, fams


def _fit_changed(change: Any) -> Any:
    """A mutant maker: the original fit, then ``change(fit) -> dict of replaced fields``."""

    def make(original: Any) -> Any:
        def wrong(*args: Any, **kwargs: Any) -> Any:
            fit = original(*args, **kwargs)
            return replace(fit, **change(fit))

        return wrong

    return make


mutant("learned maps return the identity", page="sheaf-learned-maps.md",
       target="sheaftopo.sheaf:fit_restriction_maps", quick=True)(_fit_changed(
           lambda f: {"tail": np.eye(*f.tail.shape), "head": np.eye(*f.head.shape)}))
mutant("canonical correlations in ascending order", page="sheaf-learned-maps.md",
       target="sheaftopo.sheaf:fit_restriction_maps")(_fit_changed(
           lambda f: {"correlations": f.correlations[::-1].copy()}))
mutant("head map negated", page="sheaf-learned-maps.md",
       target="sheaftopo.sheaf:fit_restriction_maps")(_fit_changed(
           lambda f: {"head": -f.head}))
mutant("objective reported as 2(k - sum rho) without the ridge penalties",
       page="sheaf-learned-maps.md", target="sheaftopo.sheaf:fit_restriction_maps")(_fit_changed(
           lambda f: {"objective": 2 * (len(f.correlations) - float(f.correlations.sum()))}))
mutant("maps scaled by 1.001 (constraint off)", page="sheaf-learned-maps.md",
       target="sheaftopo.sheaf:fit_restriction_maps")(_fit_changed(
           lambda f: {"tail": 1.001 * f.tail, "head": 1.001 * f.head}))
