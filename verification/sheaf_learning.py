"""Check of the learned restriction maps (theory/sheaf-learned-maps.md)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register


def _mixing(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random d x d matrix with singular values in [1/3, 3] (condition number <= 9)."""
    Q1 = np.linalg.qr(rng.standard_normal((d, d)))[0]
    Q2 = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (Q1 * np.exp(rng.uniform(-np.log(3), np.log(3), d))) @ Q2


def _planted(
    rng: np.random.Generator, N: int, du: int, dv: int, k: int, noise: float, private: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_u = A_u z + B_u p_u + noise, x_v = A_v z + B_v p_v + noise (p private, z shared).

    [A_u B_u] is a well-conditioned d_u x d_u matrix, so that the data covariance
    is well conditioned when N is a few times d_u + d_v: the check measures the
    theorem, not the conditioning of the instance (rounding errors grow like
    eps * cond(Sigma)).
    """
    M_u, M_v = _mixing(rng, du), _mixing(rng, dv)
    A_u, A_v = M_u[:, :k], M_v[:, :k]
    z = rng.standard_normal((N, k))
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


@register(
    "sheaf-learned-maps",
    theory="sheaf-learned-maps.md",
    statement="CCA maps: noiseless planted F_u A_u = F_v A_v; J = 2(k - sum rho) - ridge "
    "penalties; J <= J(any feasible pair); rho = generalized-eigh oracle",
    kind="error",
    tolerance=1e-8,
    quick=32,
    full=2000,
)
def _sheaf_learned_maps(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import scipy.linalg as sla

    from sheaftopo.sheaf._learn import fit_restriction_maps

    for i in range(n):
        family = i % 4
        k, du, dv = _sizes(rng)
        center = bool(rng.integers(0, 2))
        if family == 0:
            # noiseless planted model: shared latent + private signal, reg = 0
            N = 2 * (du + dv) + int(rng.integers(10, 200))
            scale = float(10.0 ** rng.integers(-4, 5))
            X_u, X_v, A_u, A_v = _planted(rng, N, du, dv, k, 0.0, private=True)
            X_u = X_u * scale
            A_u = A_u * scale
            if center:
                X_u = X_u + rng.standard_normal(du) * 1e3 * scale
            fit = fit_restriction_maps(X_u, X_v, k, reg=0.0, center=center)
            P, Q = fit.tail @ A_u, fit.head @ A_v
            err = float(np.linalg.norm(P - Q) / np.linalg.norm(P))
            label = f"noiseless planted k={k} d=({du},{dv}) N={N} scale={scale:g} center={center}"
            yield label, err
        elif family == 1:
            # objective identity J = 2(k - sum rho) - lambda_u |F_u|^2 - lambda_v |F_v|^2
            N = 2 * (du + dv) + int(rng.integers(10, 300))
            noise = float(10.0 ** rng.uniform(-3, 0.5))
            reg = 0.0 if rng.integers(0, 2) else float(10.0 ** rng.uniform(-8, -1))
            X_u, X_v, _, _ = _planted(rng, N, du, dv, k, noise, private=bool(rng.integers(0, 2)))
            fit = fit_restriction_maps(X_u, X_v, k, reg=reg, center=center)
            lam = []
            for X in (X_u, X_v):
                Xc = X - X.mean(0) if center else X
                lam.append(reg * float(np.sum(Xc * Xc)) / (N * X.shape[1]))
            formula = (
                2 * (k - float(fit.correlations.sum()))
                - lam[0] * float(np.sum(fit.tail**2))
                - lam[1] * float(np.sum(fit.head**2))
            )
            label = f"objective identity k={k} d=({du},{dv}) noise={noise:.2g} reg={reg:.2g}"
            yield label, abs(fit.objective - formula) / (2 * k)
        elif family == 2:
            # optimality against random feasible pairs (reg = 0)
            N = 2 * (du + dv) + int(rng.integers(10, 300))
            noise = float(10.0 ** rng.uniform(-2, 0.5))
            X_u, X_v, _, _ = _planted(rng, N, du, dv, k, noise, private=False)
            fit = fit_restriction_maps(X_u, X_v, k, reg=0.0, center=center)
            Xc = X_u - X_u.mean(0) if center else X_u
            Yc = X_v - X_v.mean(0) if center else X_v
            W_u = _inv_sqrt(Xc.T @ Xc / N)
            W_v = _inv_sqrt(Yc.T @ Yc / N)
            best = np.inf
            for _ in range(20):
                G_u = np.linalg.qr(rng.standard_normal((du, k)))[0].T
                G_v = np.linalg.qr(rng.standard_normal((dv, k)))[0].T
                R = Xc @ (G_u @ W_u).T - Yc @ (G_v @ W_v).T
                best = min(best, float(np.sum(R * R)) / N)
            label = f"optimality k={k} d=({du},{dv}) noise={noise:.2g}"
            yield label, max(0.0, fit.objective - best) / (2 * k)
        else:
            # correlations against the generalized eigenproblem of CCA
            N = 2 * (du + dv) + int(rng.integers(10, 300))
            noise = float(10.0 ** rng.uniform(-1, 0.5))
            X_u, X_v, _, _ = _planted(rng, N, du, dv, k, noise, private=False)
            reg = 0.0 if rng.integers(0, 2) else float(10.0 ** rng.uniform(-6, -1))
            fit = fit_restriction_maps(X_u, X_v, k, reg=reg, center=center)
            Xc = X_u - X_u.mean(0) if center else X_u
            Yc = X_v - X_v.mean(0) if center else X_v
            S = np.hstack([Xc, Yc]).T @ np.hstack([Xc, Yc]) / N
            Suu, Svv, Suv = S[:du, :du], S[du:, du:], S[:du, du:]
            Suu = Suu + reg * np.trace(Suu) / du * np.eye(du)
            Svv = Svv + reg * np.trace(Svv) / dv * np.eye(dv)
            A = np.block([[np.zeros((du, du)), Suv], [Suv.T, np.zeros((dv, dv))]])
            rho = sla.eigh(A, sla.block_diag(Suu, Svv), eigvals_only=True)[::-1][:k]
            label = f"eigenproblem oracle k={k} d=({du},{dv}) noise={noise:.2g} reg={reg:.2g}"
            yield label, float(np.abs(fit.correlations - rho).max())
