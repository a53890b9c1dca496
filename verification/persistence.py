"""Checks of the persistence theorems (theory/h0-*.md, sparsification, subsampling, SW)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register

# --------------------------------------------------------------------------
# instance families
# --------------------------------------------------------------------------


def _cloud(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray]:
    """A point cloud from a rotating list of random and adversarial families."""
    family = i % 10
    n = int(rng.integers(3, 60))
    d = int(rng.integers(1, 9))
    if family == 0:
        return f"gaussian n={n} d={d}", rng.standard_normal((n, d))
    if family == 1:
        k = int(rng.integers(2, 6))
        centres = rng.standard_normal((k, d)) * 20
        return f"clusters n={n} k={k}", centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))
    if family == 2:
        base = rng.standard_normal((max(2, n // 3), d))
        X = base[rng.integers(0, len(base), n)]
        return f"duplicates n={n}", X
    if family == 3:
        t = np.sort(rng.uniform(0, 10, n))
        direction = rng.standard_normal(d)
        return f"collinear n={n}", t[:, None] * direction[None, :]
    if family == 4:
        side = int(rng.integers(2, 6))
        g = np.stack(np.meshgrid(*([np.arange(side)] * 2)), -1).reshape(-1, 2)
        return f"lattice {side}x{side} (ties)", g.astype(float)
    if family == 5:
        m = int(rng.integers(1, 3))
        return f"n={m}", rng.standard_normal((m, d))
    if family == 6:
        s = float(10.0 ** rng.integers(-6, 7))
        return f"gaussian scaled by {s:g}", rng.standard_normal((n, d)) * s
    if family == 7:
        X = rng.standard_normal((n, d))
        return f"gaussian + offset 1e3, n={n}", X + 1e3
    if family == 8:
        X = rng.standard_normal((n, d))
        return f"unit sphere n={n} d={d}", X / np.linalg.norm(X, axis=1, keepdims=True).clip(1e-12)
    # near-duplicates far from the origin: Gram-identity rounding hazard
    spread = float(10.0 ** rng.integers(-9, -3))
    centres = rng.standard_normal((3, d)) * 1e3
    X = centres[rng.integers(0, 3, n)] + rng.standard_normal((n, d)) * spread
    return f"tight clusters (spread {spread:g}) at 1e3, n={n}", X


def _gudhi_h0(D: np.ndarray) -> tuple[np.ndarray, int]:
    import gudhi

    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    # min_persistence=-1 keeps zero-length bars (duplicate points); without
    # persistence_dim_max GUDHI skips the top dimension, which for a single
    # vertex is H0 itself, and reports no bar at all
    st.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    iv = st.persistence_intervals_in_dimension(0)
    deaths = iv[:, 1] if len(iv) else np.zeros(0)
    return np.sort(deaths[np.isfinite(deaths)]), int(np.isinf(deaths).sum())


def _dist(X: np.ndarray) -> np.ndarray:
    diff = X[:, None, :] - X[None, :, :]
    D = np.sqrt((diff * diff).sum(-1))
    return (D + D.T) / 2


# --------------------------------------------------------------------------
# H0 of Rips = MST edge lengths
# --------------------------------------------------------------------------


@register(
    "h0-rips-mst",
    theory="h0-rips-mst.md",
    statement="finite H0 deaths of Rips(X) = MST edge lengths; one essential class",
    kind="error",
    tolerance=1e-9,
    quick=45,
    full=3000,
)
def _h0_rips_mst(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import h0_diagram

    methods = ("prim", "boruvka", "kdtree")
    for i in range(n):
        label, X = _cloud(rng, i)
        method = methods[i % 3]
        D = _dist(X)
        ref, n_inf = _gudhi_h0(D)
        for data, metric in ((X, "euclidean"), (D, "precomputed")):
            m = method if metric == "euclidean" else "auto"
            dgm = h0_diagram(data, metric=metric, method=m)
            ours = dgm[np.isfinite(dgm[:, 1]), 1]
            if len(ours) != len(ref) or int(np.isinf(dgm[:, 1]).sum()) != n_inf:
                yield f"{label} [{method}, {metric}]: sizes differ", np.inf
                continue
            scale = max(1.0, float(np.abs(ref).max()) if len(ref) else 1.0)
            err = float(np.abs(ours - ref).max()) / scale if len(ref) else 0.0
            yield f"{label} [{method}, {metric}]", err


# --------------------------------------------------------------------------
# stability: d_B(Dgm0 X, Dgm0 Y) <= max |D_X - D_Y|
# --------------------------------------------------------------------------


def _perturbed_pair(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, np.ndarray]:
    label, X = _cloud(rng, i)
    n, d = X.shape
    kind = i % 5
    scale = float(np.abs(X).max()) or 1.0
    if kind == 0:
        s = float(10.0 ** rng.uniform(-4, 0)) * scale
        return f"{label}; gaussian noise {s:.2g}", X, X + rng.normal(0, s, X.shape)
    if kind == 1:
        Y = X.copy()
        Y[rng.integers(0, n)] += rng.standard_normal(d) * scale
        return f"{label}; one point moved", X, Y
    if kind == 2:
        return f"{label}; anisotropic scaling", X, X * rng.uniform(0.5, 1.5, d)
    if kind == 3:
        return f"{label}; independent cloud", X, rng.standard_normal(X.shape) * scale
    a = float(rng.uniform(1, 10))
    delta = float(rng.uniform(1e-6, 0.1)) * a
    return f"two points {a:.3g} -> {a + delta:.3g} (tight)", np.array([[0.0], [a]]), np.array(
        [[0.0], [a + delta]]
    )


@register(
    "h0-stability",
    theory="h0-stability.md",
    statement="d_B(Dgm0 X, Dgm0 Y) <= max_ij |D_X(i,j) - D_Y(i,j)|",
    kind="ratio",
    tolerance=1e-9,
    quick=40,
    full=3000,
)
def _h0_stability(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import bottleneck, h0_diagram

    for i in range(n):
        label, X, Y = _perturbed_pair(rng, i)
        DX, DY = _dist(X), _dist(Y)
        bound = float(np.abs(DX - DY).max())
        dB = bottleneck(h0_diagram(DX, metric="precomputed"), h0_diagram(DY, metric="precomputed"))
        yield label, _ratio(dB, bound)


def _ratio(observed: float, bound: float) -> float:
    if bound == 0:
        return 0.0 if observed <= 1e-12 else np.inf
    return observed / bound


# --------------------------------------------------------------------------
# sparsification bound
# --------------------------------------------------------------------------


def _sparsification_instance(rng: np.random.Generator, i: int) -> tuple[str, np.ndarray, float]:
    from sheaftopo.persistence import sparsify

    kind = i % 4
    if kind == 3:
        # adversarial (tight in the limit): k = 2 or 3 tight clusters on a line
        # merging just above eps, so T ~ (k - 1) eps <= 3 eps and matching each
        # affected pair to T beats matching both to the diagonal
        k = int(rng.integers(2, 4))
        eps = 1.0
        centres = np.arange(k, dtype=float)[:, None] * eps * (1 + 1e-6)
        X = np.repeat(centres, 3, axis=0) + rng.uniform(0, 1e-9, (3 * k, 1))
        D = _dist(X)
        return f"adversarial: {k} clusters at eps+", D, eps
    label, X = _cloud(rng, i)
    D = _dist(X)
    if len(D) < 2:
        return label, D, 0.0
    if kind == 0:
        lam = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
        return f"{label}; sparsify lam={lam}", D, sparsify(D, lam=lam).eps
    T = float(D.max())
    eps = float(rng.uniform(0, T)) if T > 0 else 0.0
    return f"{label}; random eps", D, eps


@register(
    "sparsification-bound",
    theory="sparsification-bound.md",
    statement="W_p(Dgm0 D, Dgm0 D_eps) <= m(eps)^(1/p) (T - eps), p in {1, 2, inf}",
    kind="ratio",
    tolerance=1e-9,
    quick=30,
    full=2000,
)
def _sparsification(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import approximation_bound

    for i in range(n):
        label, D, eps = _sparsification_instance(rng, i)
        for p in (1.0, 2.0, np.inf):
            res = approximation_bound(D, eps, p=p)
            yield f"{label}, p={p:g}, m={res.n_affected}", _ratio(res.distance, res.bound)


# --------------------------------------------------------------------------
# subsampling bound
# --------------------------------------------------------------------------


@register(
    "subsample-bound",
    theory="subsample-bound.md",
    statement="d_B(Dgm0 X, Dgm0 S) <= 2 r for a sample S with covering radius r",
    kind="ratio",
    tolerance=1e-9,
    quick=30,
    full=2000,
)
def _subsample(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import bottleneck, farthest_point_subsample, h0_diagram

    for i in range(n):
        if i % 4 == 3:
            # adversarial (tight in the limit): a chain bridging two sample points
            a = float(rng.uniform(5, 10))
            r = float(rng.uniform(0.5, 1.0))
            X = np.array([[0.0], [a], [r], [a - r]])
            S = np.array([0, 1])
            label = f"chain a={a:.3g} r={r:.3g}"
            cover = r
        else:
            label, X = _cloud(rng, i)
            k = int(rng.integers(1, len(X) + 1))
            sub = farthest_point_subsample(X, k, start=int(rng.integers(0, len(X))))
            S, cover = sub.indices, sub.covering_radius
            label = f"{label}; k={len(S)}"
        dB = bottleneck(h0_diagram(X), h0_diagram(X[S]))
        yield label, _ratio(dB, 2 * cover)


# --------------------------------------------------------------------------
# sliced Wasserstein upper bound
# --------------------------------------------------------------------------


def _random_diagram(rng: np.random.Generator, n: int) -> np.ndarray:
    b = rng.uniform(-1, 1, n)
    life = rng.exponential(0.5, n) * rng.choice([1e-3, 1.0], n)
    return np.stack([b, b + life], axis=1)


@register(
    "sliced-wasserstein-bound",
    theory="sliced-wasserstein-bound.md",
    statement="SW(D1, D2) <= 2 W_1(D1, D2) with the L2 ground metric (any directions)",
    kind="ratio",
    tolerance=1e-9,
    quick=40,
    full=3000,
)
def _sw_bound(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.persistence import sliced_wasserstein, wasserstein

    for i in range(n):
        n1, n2 = (int(v) for v in rng.integers(0, 25, 2))
        if i % 5 == 3:
            # adversarial (tight in the limit): a point far from the diagonal
            # slid along it, seen from a direction just off the diagonal's:
            # the point and its diagonal projection both move by the full shift
            b, life, shift = rng.uniform(0, 1), rng.uniform(5, 10), rng.uniform(1e-3, 1e-2)
            A = np.array([[b, b + life]])
            B = A + shift
            theta = np.pi / 4 + float(rng.uniform(2e-3, 1e-2))
            sw = sliced_wasserstein(A, B, directions=np.array([theta]))
            w1 = wasserstein(A, B, p=1.0, internal_p=2.0)
            yield "point slid along the diagonal, one direction near pi/4", _ratio(sw, 2.0 * w1)
            continue
        if i % 5 == 4:
            n1 = max(n1, 1)
            A = _random_diagram(rng, n1)
            B = A + rng.normal(0, 1e-3, A.shape)
            B[:, 1] = np.maximum(B[:, 1], B[:, 0])
            label = f"perturbed copy, {n1} points"
        else:
            A, B = _random_diagram(rng, n1), _random_diagram(rng, n2)
            label = f"random diagrams {n1} vs {n2}"
        M = int(rng.integers(1, 60))
        sw = sliced_wasserstein(A, B, n_directions=M, seed=int(rng.integers(0, 2**31)))
        w1 = wasserstein(A, B, p=1.0, internal_p=2.0)
        yield f"{label}, {M} directions", _ratio(sw, 2.0 * w1)


# --------------------------------------------------------------------------
# certified Borůvka on Dask = in-memory MST, bit for bit
# --------------------------------------------------------------------------


@register(
    "h0-certified-boruvka",
    theory="h0-certified-boruvka.md",
    statement="Dask MST (k-NN warm start, certified Borůvka) deaths = in-memory deaths bit for bit",
    kind="error",
    tolerance=0.0,
    quick=12,
    full=300,
)
def _h0_certified_boruvka(rng: np.random.Generator, n: int) -> Iterator[tuple[str, float]]:
    import dask

    from sheaftopo.distributed import mst_dask
    from sheaftopo.persistence import h0_diagram

    with dask.config.set(scheduler="synchronous"):
        for i in range(n):
            label, X = _cloud(rng, i)
            k = int(rng.choice([1, 2, 3, 8, 16]))
            b = int(rng.integers(1, max(2, X.shape[0])))
            ref = h0_diagram(X)
            dgm = mst_dask(X, block_rows=b, n_neighbors=k).diagram
            if dgm.shape != ref.shape:
                yield f"{label} [k={k}, block_rows={b}]: sizes differ", np.inf
                continue
            same = dgm.tobytes() == ref.tobytes()
            yield f"{label} [k={k}, block_rows={b}]", 0.0 if same else float(
                np.abs(dgm[:-1, 1] - ref[:-1, 1]).max() or np.inf
            )
