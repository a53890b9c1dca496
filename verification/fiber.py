"""Checks of the fiber theorems (theory/fiber-*.md).

Every instance compares sheaftopo.fiber against an independent computation:
brute force over all pairs with the documented canonical distance, Python
integers for ring arithmetic, closed-form bounds for the concentration
statements, and the population (exact-moment) subspaces of a planted model.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register

# --------------------------------------------------------------------------
# brute force with the canonical distances of sheaftopo.fiber
# --------------------------------------------------------------------------

_SMALL = 2.0**-968


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Each row divided by 2**e (largest magnitude in [1/2, 1); exact), then by its norm."""
    U = np.empty_like(X)
    for i, x in enumerate(X):
        y = np.ldexp(x, -np.frexp(np.abs(x).max())[1])
        s = 0.0
        for v in y:
            s = s + v * v
        U[i] = y / np.sqrt(s)
    return U


def _rescaled(t: np.ndarray) -> tuple[float, float]:
    m = float(np.abs(t).max())
    return (m, sum((x / m) ** 2 for x in t)) if m > 0 else (0.0, 0.0)


def _canonical(F: np.ndarray, G: np.ndarray, metric: str) -> np.ndarray:
    """All N x M canonical distances, features summed in order (brute force).

    Euclidean: sqrt of the sum of squared differences (rescaled where it is
    tiny or overflows); cosine: half the squared chord of the unit rows.
    """
    F = np.asarray(F, np.float64)
    G = np.asarray(G, np.float64)
    if metric == "cosine":
        F, G = _unit_rows(F), _unit_rows(G)
    s = np.zeros((len(F), len(G)))
    with np.errstate(over="ignore"):
        for k in range(F.shape[1]):
            t = F[:, None, k] - G[None, :, k]
            s = s + t * t
    if metric == "euclidean":
        D = np.sqrt(s)
        for i, j in zip(*np.nonzero(s < _SMALL), strict=True):
            m, t = _rescaled(F[i] - G[j])
            D[i, j] = m * np.sqrt(t)
        for i, j in zip(*np.nonzero(np.isinf(s)), strict=True):
            m, t = _rescaled(0.5 * F[i] - 0.5 * G[j])
            with np.errstate(over="ignore"):
                D[i, j] = 2.0 * (m * np.sqrt(t))
        return D
    for i, j in zip(*np.nonzero(s < _SMALL), strict=True):
        m, t = _rescaled(F[i] - G[j])
        s[i, j] = m * (m * t)
    return np.minimum(0.5 * s, 2.0)


def _pair_sets(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, np.ndarray, str]:
    """Two embedding sets from rotating random and adversarial families."""
    family = i % 6
    n, m = (int(v) for v in rng.integers(1, 160, 2))
    d = int(rng.choice([1, 2, 3, 5, 8, 17, 33]))
    metric = "cosine" if i % 5 == 4 else "euclidean"
    if family == 0:
        F, G, label = rng.standard_normal((n, d)), rng.standard_normal((m, d)), "gaussian"
    elif family == 1:  # many pairs at exactly the same distance
        F = rng.integers(0, 2, (n, d)).astype(float)
        G = rng.integers(0, 2, (m, d)).astype(float)
        label = "binary grid (ties)"
    elif family == 2:  # duplicates across the sets, float32, far from the origin
        F = (rng.standard_normal((n, d)) * 0.01 + 1e3).astype(np.float32)
        G = np.concatenate([F[: min(n, m) // 2], F[: m - min(n, m) // 2]])[:m]
        if len(G) < m:
            G = np.concatenate([G, F[: m - len(G)]])
        label = "float32 duplicates at 1e3"
    elif family == 3:
        k = int(rng.integers(2, 6))
        c = rng.standard_normal((k, d)) * 10
        F = c[rng.integers(0, k, n)] + rng.standard_normal((n, d)) * 0.1
        G = c[rng.integers(0, k, m)] + rng.standard_normal((m, d)) * 0.1
        label = f"{k} tight clusters"
    elif family == 4:
        s = float(10.0 ** rng.integers(-150, 150))
        F, G = rng.standard_normal((n, d)) * s, rng.standard_normal((m, d)) * s
        label = f"gaussian scaled by {s:.0e}"
    else:
        F = rng.integers(-3, 4, (n, d)).astype(float)
        G = F[rng.integers(0, n, m)] + rng.integers(-1, 2, (m, d))
        label = "integer lattice, near copies"
    if metric == "cosine":
        F[(F == 0).all(axis=1), 0] = 1.0
        G[(G == 0).all(axis=1), 0] = 1.0
    return f"{label} n={n} m={m} d={d} {metric}", F, G, metric


def _eps_choices(rng: np.random.Generator, D: np.ndarray) -> list[float]:
    """0, a distance that occurs (a tie at eps), and a small quantile."""
    return [0.0, float(D.flat[rng.integers(0, D.size)]), float(np.quantile(D, rng.uniform(0, 0.2)))]


@register(
    "fiber-product-exact",
    theory="fiber-product.md",
    statement="approximate_fiber_product / fiber_profile = brute force over all pairs, exactly",
    kind="error",
    tolerance=0.0,
    quick=12,
    full=1500,
)
def _product_exact(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.fiber import approximate_fiber_product, fiber_profile

    plans = [("auto", "auto"), ("blocked", "float32"), ("blocked", "float64"), ("kdtree", "auto")]
    for i in range(n):
        label, F, G, metric = _pair_sets(rng, i)
        D = _canonical(F, G, metric)
        method, precision = plans[i % len(plans)]
        wrong = 0.0
        grid = np.sort(np.array(_eps_choices(rng, D)))
        for eps in grid:
            r, c = np.nonzero(D <= eps)
            res = approximate_fiber_product(
                F, G, eps, metric=metric, method=method, precision=precision
            )
            if not (np.array_equal(res.rows, r) and np.array_equal(res.cols, c)):
                ref = set(zip(r.tolist(), c.tolist(), strict=True))
                got = set(zip(res.rows.tolist(), res.cols.tolist(), strict=True))
                wrong += len(ref ^ got)
            elif not np.array_equal(res.distances, D[r, c]):
                wrong += 1
        prof = fiber_profile(
            F,
            G,
            grid,
            metric=metric,
            method="blocked" if method == "auto" else method,
            precision=precision,
        )
        wrong += float(np.abs(prof.counts - [(D <= e).sum() for e in grid]).sum())
        yield f"{label} {method}/{precision}", wrong


@register(
    "fiber-monotone",
    theory="fiber-product.md",
    statement="eps <= eps' => product(eps) is a subset of product(eps'); product(0) = {F_i = G_j}",
    kind="error",
    tolerance=0.0,
    quick=12,
    full=1500,
)
def _monotone(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.fiber import approximate_fiber_product

    for i in range(n):
        label, F, G, metric = _pair_sets(rng, i)
        if metric == "cosine":
            metric = "euclidean"
            label = label.replace("cosine", "euclidean")
        D = _canonical(F, G, metric)
        eps = np.sort(np.concatenate([[0.0], rng.choice(D.ravel(), 4)]))
        prev: set = set()
        bad = 0
        for k, e in enumerate(eps):
            res = approximate_fiber_product(F, G, e, method=("auto", "blocked", "kdtree")[k % 3])
            cur = set(zip(res.rows.tolist(), res.cols.tolist(), strict=True))
            bad += len(prev - cur)
            if k == 0:  # the exact fiber product: equal embeddings, coordinate by coordinate
                equal = (np.asarray(F, float)[:, None, :] == np.asarray(G, float)[None]).all(-1)
                er, ec = np.nonzero(equal)
                bad += len(cur ^ set(zip(er.tolist(), ec.tolist(), strict=True)))
            prev = cur
        yield label, float(bad)


# --------------------------------------------------------------------------
# Lipschitz stability of the product
# --------------------------------------------------------------------------


@register(
    "fiber-lipschitz",
    theory="fiber-lipschitz.md",
    statement="|f(P')-g(Q')| <= eps + L_f d(P,P') + L_g d(Q,Q') for (P,Q) in the eps-product",
    kind="ratio",
    tolerance=1e-9,
    quick=20,
    full=1000,
)
def _lipschitz(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.fiber import (
        approximate_fiber_product,
        encode_image,
        encode_tokens,
        evaluation_embedding,
        poly_distance,
        projection_embedding,
    )

    for i in range(n):
        N = int(rng.integers(20, 120))
        d = int(rng.integers(2, 12))
        side = int(rng.choice([4, 8]))
        patch = int(rng.choice([2, side]))
        images = rng.integers(0, 256, (N, side, side)).astype(np.uint8)
        P = encode_image(images, patch_size=patch)
        vocab = int(rng.integers(2, 5000))
        Q = encode_tokens(rng.integers(0, vocab, (N, int(rng.integers(1, 12)))), vocab_size=vocab)
        if i % 2:
            f = evaluation_embedding(P.shape[-1], modulus=256, n_points=int(rng.integers(1, 6)))
            g = evaluation_embedding(Q.shape[-1], modulus=vocab, n_points=int(rng.integers(1, 6)))
        else:
            seed = int(rng.integers(2**31))
            f = projection_embedding(P.shape[-1], int(rng.integers(1, 6)), modulus=256, seed=seed)
            g = projection_embedding(
                Q.shape[-1], int(rng.integers(1, 6)), modulus=vocab, seed=seed + 1
            )
        # linear maps into the shared space Z = R^d; Lipschitz constants multiply
        Wf = rng.standard_normal((f(P[:1]).shape[1], d))
        Wg = rng.standard_normal((g(Q[:1]).shape[1], d))
        L_f = f.lipschitz * float(np.linalg.norm(Wf, 2))
        L_g = g.lipschitz * float(np.linalg.norm(Wg, 2))
        F, G = f(P) @ Wf, g(Q) @ Wg
        eps = float(np.quantile(_canonical(F, G, "euclidean"), rng.uniform(0.01, 0.3)))
        # perturbations: saturating intensity noise, token substitutions
        amp = int(rng.integers(1, 60))
        P2 = encode_image(
            np.clip(images.astype(int) + rng.integers(-amp, amp + 1, images.shape), 0, 255).astype(
                np.uint8
            ),
            patch_size=patch,
        )
        Q2 = Q.copy()
        flip = rng.random(Q.shape) < rng.uniform(0, 0.3)
        Q2[flip] = rng.integers(0, vocab, int(flip.sum()))
        dP = poly_distance(P, P2, modulus=256)
        dQ = poly_distance(Q, Q2, modulus=vocab)
        F2, G2 = f(P2) @ Wf, g(Q2) @ Wg
        prod = approximate_fiber_product(F, G, eps)
        if prod.n_pairs == 0:
            continue
        moved = np.linalg.norm(F2[prod.rows] - G2[prod.cols], axis=1)
        bound = eps + L_f * dP[prod.rows] + L_g * dQ[prod.cols]
        ratio = float((moved / bound).max())
        # and the enlarged product, computed independently, contains every pair
        wide = approximate_fiber_product(F2, G2, eps + L_f * dP.max() + L_g * dQ.max())
        kept = set(zip(wide.rows.tolist(), wide.cols.tolist(), strict=True))
        if not kept >= set(zip(prod.rows.tolist(), prod.cols.tolist(), strict=True)):
            ratio = max(ratio, 2.0)
        yield f"N={N} d={d} vocab={vocab} amp={amp} pairs={prod.n_pairs}", ratio


# --------------------------------------------------------------------------
# concentration of random pairs
# --------------------------------------------------------------------------


@register(
    "fiber-concentration",
    theory="fiber-concentration.md",
    statement="random pairs: E frac <= exp(-(d-t)^2/4d) (chi-square), <= exp(-d(1-eps)^2/2) "
    "(sphere); observed frac within Hoeffding radius",
    kind="ratio",
    tolerance=1e-9,
    quick=20,
    full=1000,
)
def _concentration(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from scipy import stats

    from sheaftopo.fiber import fiber_profile, fraction_deviation, random_pair_fraction

    for i in range(n):
        metric = "cosine" if i % 2 else "euclidean"
        d = int(rng.integers(2, 600))
        sigma = float(np.exp(rng.uniform(-3, 3)))
        if metric == "euclidean":
            grid = np.sort(rng.uniform(0, 2.0, 8)) * sigma * np.sqrt(2 * d)
            r = random_pair_fraction(grid, d, sigma=sigma)
            exact = stats.chi2.cdf(grid**2 / (2 * sigma**2), d)
            tail = stats.chi2.sf(grid**2 / (2 * sigma**2), d)  # 1 - exact, accurately
        else:
            grid = np.sort(rng.uniform(0, 2.0, 8))
            r = random_pair_fraction(grid, d, metric="cosine")
            exact = stats.beta.sf(1 - grid / 2, (d - 1) / 2, (d - 1) / 2)
            tail = stats.beta.cdf(1 - grid / 2, (d - 1) / 2, (d - 1) / 2)
        # each bound is a tail bound: compare tail probabilities with it, where the
        # bound says something (upper < 1; lower > 0 with 1 - lower resolvable)
        upper = float(np.max(np.where(r.upper_bound < 1, exact / r.upper_bound, 0.0)))
        tail_bound = 1.0 - r.lower_bound
        usable = (r.lower_bound > 0) & (tail_bound > 1e-12)
        lower = float(np.max(np.where(usable, tail / np.where(usable, tail_bound, 1.0), 0.0)))
        ratio = max(upper, lower)
        if np.abs(exact - r.expected).max() > 1e-10:  # scipy.stats vs our scipy.special
            ratio = 2.0
        # the observed fraction of a sample stays within Hoeffding's radius (delta = 1e-9)
        N, M = (int(v) for v in rng.integers(50, 300, 2))
        dim = min(d, 64)
        rr = random_pair_fraction(
            grid if metric == "cosine" else grid * np.sqrt(dim / d), dim, sigma=sigma, metric=metric
        )
        mu = rng.standard_normal(dim) * (0 if metric == "cosine" else 5)
        F = mu + rng.standard_normal((N, dim)) * sigma
        G = mu + rng.standard_normal((M, dim)) * sigma
        prof = fiber_profile(F, G, rr.eps, metric=metric)
        dev = float(np.abs(prof.fractions - rr.expected).max())
        ratio = max(ratio, dev / fraction_deviation(N, M, delta=1e-9))
        yield f"{metric} d={d} sigma={sigma:.3g} sample {N}x{M}x{dim}", ratio


# --------------------------------------------------------------------------
# ring arithmetic
# --------------------------------------------------------------------------


def _int_mul(P: list[int], Q: list[int], n: int) -> list[int]:
    out = [0] * (len(P) + len(Q) - 1)
    for a, p in enumerate(P):
        for b, q in enumerate(Q):
            out[a + b] += p * q
    return [c % n for c in out]


def _int_eval(P: list[int], x: int, n: int) -> int:
    return sum(c * x**k for k, c in enumerate(P)) % n


def _degree(P: list[int]) -> int:
    nz = [k for k, c in enumerate(P) if c]
    return nz[-1] if nz else -1


@register(
    "fiber-ring",
    theory="fiber-polynomial-ring.md",
    statement="Z_n[x]: batched +, x, eval = exact integer arithmetic mod n; eval is a ring "
    "homomorphism; deg(PQ) = deg P + deg Q iff lc(P)lc(Q) != 0; unit inverses",
    kind="error",
    tolerance=0.0,
    quick=20,
    full=1500,
)
def _ring(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from math import gcd

    from sheaftopo.fiber import (
        is_unit,
        poly_add,
        poly_degree,
        poly_eval,
        poly_mul,
        unit_inverse,
    )

    moduli = [2, 4, 256, 257, 1000, 65536, 2**31 - 1, 2**31]
    for i in range(n):
        mod = moduli[i % len(moduli)] if i % 3 else int(rng.integers(2, 10**6))
        B = int(rng.integers(1, 6))
        lp, lq = (int(v) for v in rng.integers(1, 20, 2))
        P = rng.integers(0, mod, (B, lp), dtype=np.int64)
        Q = rng.integers(0, mod, (B, lq), dtype=np.int64)
        if i % 4 == 0:  # push coefficients to the top of the range (overflow hazard)
            P = mod - 1 - P % 7
            Q = mod - 1 - Q % 5
        if i % 4 == 1 and mod % 2 == 0:  # zero divisors in the leading coefficients
            P[:, -1] = mod // 2
            Q[:, -1] = 2
        pts = rng.integers(0, mod, 3, dtype=np.int64)
        R = poly_mul(P, Q, modulus=mod)
        S = poly_add(P, Q, modulus=mod)
        E = poly_eval(P, pts, modulus=mod)
        EQ = poly_eval(Q, pts, modulus=mod)
        wrong = 0
        for b in range(B):
            p, q = [int(v) for v in P[b]], [int(v) for v in Q[b]]
            r = _int_mul(p, q, mod)
            wrong += int(R[b].tolist() != r)
            L = max(lp, lq)
            s = [((p[k] if k < lp else 0) + (q[k] if k < lq else 0)) % mod for k in range(L)]
            wrong += int(S[b].tolist() != s)
            wrong += int(E[b].tolist() != [_int_eval(p, int(x), mod) for x in pts])
            # evaluation is a ring homomorphism
            ER = poly_eval(R[b], pts, modulus=mod).tolist()
            wrong += int(ER != [(int(u) * int(v)) % mod for u, v in zip(E[b], EQ[b], strict=True)])
            # the degree of a product drops exactly when lc(P) lc(Q) = 0 in Z_n
            dp, dq, dr = _degree(p), _degree(q), int(poly_degree(R[b]))
            if dp >= 0 and dq >= 0:
                full = (p[dp] * q[dq]) % mod != 0
                wrong += int((dr == dp + dq) != full or dr > dp + dq)
        a = rng.integers(0, mod, 8, dtype=np.int64)
        units = is_unit(a, modulus=mod)
        wrong += int(units.tolist() != [gcd(int(v), mod) == 1 for v in a])
        if units.any():
            inv = unit_inverse(a[units], modulus=mod)
            wrong += int(
                any((int(u) * int(w)) % mod != 1 for u, w in zip(a[units], inv, strict=True))
            )
        yield f"Z_{mod}[x] batch {B} lengths {lp}, {lq}", float(wrong)


# --------------------------------------------------------------------------
# shared subspaces of a planted model at exact moments
# --------------------------------------------------------------------------


@register(
    "fiber-planted-subspaces",
    theory="fiber-shared-subspaces.md",
    statement="at population moments the decomposition recovers Z_s, Z_I, Z_T exactly; rho_i = "
    "c_i/(1+s^2); projectors orthogonal, summing to I",
    kind="error",
    tolerance=1e-8,
    quick=20,
    full=1000,
)
def _planted(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.fiber import make_planted_subspaces, principal_angles, subspace_decomposition

    for i in range(n):
        common = i % 3 == 0
        k = int(rng.integers(1, 4))
        rx, ry = (int(v) for v in rng.integers(0, 3, 2))
        if common:
            dx = dy = k + rx + ry + int(rng.integers(0, 4))
        else:
            dx = k + rx + int(rng.integers(0, 4))
            dy = k + ry + int(rng.integers(0, 4))
        noise = float(rng.uniform(0.05, 1.0))
        corr = rng.uniform(0.3, 1.0, k)
        N = 2 * k + rx + ry + dx + dy + 1 + int(rng.integers(0, 200))
        data = make_planted_subspaces(
            N,
            dim_x=dx,
            dim_y=dy,
            n_shared=k,
            n_specific_x=rx,
            n_specific_y=ry,
            correlation=corr,
            noise=noise,
            common_space=common,
            exact_moments=True,
            seed=int(rng.integers(2**31)),
        )
        dec = subspace_decomposition(
            data.X, data.Y, n_shared="threshold", threshold=1e-6, n_specific=(rx, ry)
        )
        err = float(abs(dec.n_shared - k))
        err += float(np.abs(dec.correlations[:k] - np.sort(corr)[::-1] / (1 + noise**2)).max())
        err = max(err, float(np.abs(dec.correlations[k:]).max(initial=0.0)))
        for est, planted in (
            (dec.x.shared_basis, data.shared_x),
            (dec.y.shared_basis, data.shared_y),
            (dec.x.specific_basis, data.specific_x),
            (dec.y.specific_basis, data.specific_y),
        ):
            if planted.shape[1]:
                err = max(err, float(np.sin(principal_angles(est, planted)).max()))
        for part, d, r in ((dec.x, dx, rx), (dec.y, dy, ry)):
            Ps, Pi, Pr = part.shared, part.specific, part.residual
            err = max(
                err,
                float(np.abs(Ps + Pi + Pr - np.eye(d)).max()),
                float(np.abs(Ps @ Pi).max()),
                float(np.abs(Ps @ Ps - Ps).max()),
            )
            total = k + r + d * noise**2
            err = max(
                err,
                abs(part.variance_shared - k * (1 + noise**2) / total),
                abs(part.variance_specific - r * (1 + noise**2) / total),
            )
        if common and k:
            err = max(err, float(dec.common_shared_angles.max()))
        yield f"k={k} r=({rx},{ry}) d=({dx},{dy}) noise={noise:.2f} N={N} common={common}", err
