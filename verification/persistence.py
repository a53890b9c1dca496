"""Checks of the persistence theorems (theory/h0-*.md, sparsification, subsampling, SW).

Every oracle is written here, independent of the code under test: Euclidean
distances from the coordinates (on the points divided by a power of two, so
1e±150 magnitudes neither overflow nor underflow), Kruskal with a union-find,
connected components by ``scipy.sparse.csgraph``, GUDHI's Rips persistence,
exact diagram matchings by ``scipy.optimize.linear_sum_assignment`` (W_p) and
a threshold search with ``maximum_bipartite_matching`` (bottleneck), and the
sliced Wasserstein sum of sorted projections. Every check also compares the
library's numbers with these oracles, so a wrong library function fails the
check even where the inequality would still hold (see the mutants at the end).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._mutants import mutant
from ._registry import register

#: relative size of the near-tie window of the Gram-identity methods (theory/h0-rips-mst.md)
ETA = 1e-9
#: a few ulps: two float64 computations of the same Euclidean lengths differ by this (relative)
ULPS = 8 * float(np.finfo(np.float64).eps)

# --------------------------------------------------------------------------
# independent oracles
# --------------------------------------------------------------------------


def _pow2(top: float) -> int:
    """``e`` with ``top / 2**e`` in [0.5, 1) (0 for ``top == 0``)."""
    return math.frexp(top)[1] if top > 0 else 0


def _dist(X: np.ndarray) -> np.ndarray:
    """Euclidean distances, computed on X / 2**e (exact) and multiplied back."""
    X = np.asarray(X, dtype=np.float64)
    e = _pow2(float(np.abs(X).max()) if X.size else 0.0)
    Y = np.ldexp(X, -e)
    diff = Y[:, None, :] - Y[None, :, :]
    return np.ldexp(np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)), e)


def _kruskal(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges (i < j) and weights of a minimum spanning tree of D, in key order."""
    n = len(D)
    iu, ju = np.triu_indices(n, 1)
    w = D[iu, ju]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    edges = []
    for t in np.lexsort((ju, iu, w)):
        a, b = find(int(iu[t])), find(int(ju[t]))
        if a != b:
            parent[a] = b
            edges.append(t)
    idx = np.array(edges, dtype=np.int64)
    return np.stack([iu[idx], ju[idx]], 1).reshape(-1, 2), w[idx]


def _n_components(adjacent: np.ndarray) -> int:
    """Connected components of the graph of a boolean adjacency matrix."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    return int(connected_components(sp.csr_array(adjacent.astype(np.int8)), directed=False)[0])


def _gudhi_h0(D: np.ndarray) -> tuple[np.ndarray, int]:
    """Sorted finite H0 deaths of Rips(D) and the number of essential classes, by GUDHI."""
    import gudhi

    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    # min_persistence=-1 keeps zero-length bars (duplicate points); without
    # persistence_dim_max GUDHI skips the top dimension, which for a single
    # vertex is H0 itself, and reports no bar at all
    st.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    iv = st.persistence_intervals_in_dimension(0)
    deaths = iv[:, 1] if len(iv) else np.zeros(0)
    return np.sort(deaths[np.isfinite(deaths)]), int(np.isinf(deaths).sum())


def _finite(dgm: np.ndarray) -> np.ndarray:
    dgm = np.asarray(dgm, dtype=np.float64).reshape(-1, 2)
    return dgm[np.isfinite(dgm[:, 1])]


def _h0(deaths: np.ndarray) -> np.ndarray:
    """Finite H0 points (0, death)."""
    return np.stack([np.zeros(len(deaths)), np.asarray(deaths, dtype=np.float64)], 1)


def _matching_cost(A: np.ndarray, B: np.ndarray, p: float, q: float = math.inf) -> float:
    """W_p (p = inf: bottleneck) between finite diagrams with the L_q ground metric.

    An exact optimal assignment on the diagrams augmented by each other's
    diagonal slots: ``linear_sum_assignment`` on the costs to the power p, or
    for p = inf the smallest threshold admitting a perfect matching. Computed
    on the diagrams divided by a power of two and multiplied back.
    """
    from scipy.optimize import linear_sum_assignment

    A, B = _finite(A), _finite(B)
    n1, n2 = len(A), len(B)
    if n1 + n2 == 0:
        return 0.0
    e = _pow2(float(max(np.abs(A).max(initial=0.0), np.abs(B).max(initial=0.0))))
    A, B = np.ldexp(A, -e), np.ldexp(B, -e)
    N = n1 + n2
    C = np.full((N, N), np.inf)
    diff = np.abs(A[:, None, :] - B[None, :, :])
    C[:n1, :n2] = diff.max(-1) if math.isinf(q) else (diff**q).sum(-1) ** (1.0 / q)
    to_diag = 0.5 if math.isinf(q) else 2.0 ** (1.0 / q - 1.0)
    C[np.arange(n1), n2 + np.arange(n1)] = to_diag * (A[:, 1] - A[:, 0])
    C[n1 + np.arange(n2), np.arange(n2)] = to_diag * (B[:, 1] - B[:, 0])
    C[n1:, n2:] = 0.0
    if math.isinf(p):
        return math.ldexp(_bottleneck_threshold(C), e)
    Cp = C**p
    r, c = linear_sum_assignment(Cp)
    return math.ldexp(float(math.fsum(Cp[r, c])) ** (1.0 / p), e)


def _bottleneck_threshold(C: np.ndarray) -> float:
    """The smallest entry t of C such that the entries <= t hold a perfect matching."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import maximum_bipartite_matching

    vals = np.unique(C[np.isfinite(C)])
    lo, hi = 0, len(vals) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        match = maximum_bipartite_matching(sp.csr_array((C <= vals[mid]).astype(np.int8)))
        if (match >= 0).all():
            hi = mid
        else:
            lo = mid + 1
    return float(vals[lo])


def _max_path_weights(edges: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray | None:
    """M[a, b] = heaviest edge on the tree path a - b; None if ``edges`` is no spanning tree."""
    if edges.shape != (max(n - 1, 0), 2):
        return None
    label = np.arange(n)
    members = [[i] for i in range(n)]
    M = np.zeros((n, n))
    for t in np.argsort(weights, kind="stable"):
        a, b = label[edges[t, 0]], label[edges[t, 1]]
        if a == b:
            return None
        A, B = members[a], members[b]
        M[np.ix_(A, B)] = weights[t]
        M[np.ix_(B, A)] = weights[t]
        label[B] = a
        members[a] = A + B
        members[b] = []
    return M


def _forest_error(forest: Any, D: np.ndarray, eta: float) -> float:
    """How far ``forest`` is from a minimum spanning tree of D (ratio to its tolerance).

    Checks: edges ``i < j`` in range, sorted by (weight, i, j); weights equal
    the exact lengths of the edges (to 8 ulps); a spanning tree; and the cycle
    property within ``eta``: every pair is at least as long as the heaviest
    tree edge on its path, minus ``eta`` (a tree chosen on values within eta/2
    of D is minimal for such a D~).
    """
    n = len(D)
    E = np.asarray(forest.edges)
    w = np.asarray(forest.weights, dtype=np.float64)
    if E.shape != (max(n - 1, 0), 2) or w.shape != (len(E),):
        return math.inf
    if n < 2:
        return 0.0
    lo, hi = E[:, 0], E[:, 1]
    if (lo >= hi).any() or lo.min() < 0 or hi.max() >= n:
        return math.inf
    if not (np.lexsort((hi, lo, w)) == np.arange(len(w))).all():
        return math.inf
    length = D[lo, hi]
    tiny = np.finfo(np.float64).tiny
    err_w = float((np.abs(w - length) / (8 * np.finfo(np.float64).eps * length + tiny)).max())
    M = _max_path_weights(E, length, n)
    if M is None:
        return math.inf
    excess = float((M - D).max())
    err_cycle = 0.0 if excess <= 0 else (math.inf if eta == 0 else excess / eta)
    return max(err_w / 1.0, err_cycle)


def _worst(*pairs: tuple[float, float]) -> tuple[float, float]:
    """``(max_k observed_k / bound_k, 1.0)``; 0/0 counts as 0 and x/0 as inf."""
    worst = 0.0
    for obs, bound in pairs:
        obs, bound = float(obs), float(bound)
        if math.isnan(obs) or math.isnan(bound):
            return math.nan, 1.0
        if bound > 0:
            r = obs / bound
        else:
            r = 0.0 if obs <= 0 else math.inf
        worst = max(worst, r)
    return worst, 1.0


def _holds(observed: float, bound: float) -> tuple[float, float]:
    """A side inequality that does not set the reported ratio: (0, 1) if it holds, else (inf, 1)."""
    return (0.0 if observed <= bound else math.inf), 1.0


def _exact(a: Any, b: Any) -> tuple[float, float]:
    """An exact-equality requirement as a (observed, bound) pair: (0, 1) or (inf, 1)."""
    a, b = np.asarray(a), np.asarray(b)
    return (0.0 if a.shape == b.shape and np.array_equal(a, b) else math.inf), 1.0


def _close(a: Any, b: Any, rel: float, scale: float) -> tuple[float, float]:
    """``(max |a - b|, rel * scale)``, or inf when the shapes differ."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf, 1.0
    if a.size == 0:
        return 0.0, 1.0
    same_inf = (a == b) & np.isinf(a)
    with np.errstate(invalid="ignore"):
        err = float(np.where(same_inf, 0.0, np.abs(a - b)).max())
    return err, rel * scale + np.finfo(np.float64).tiny


# --------------------------------------------------------------------------
# instance families
# --------------------------------------------------------------------------

#: the tie example of issue 15: Prim/Borůvka and the KD-tree return different trees
ISSUE_TIES = np.array([[2, 1], [1, 0], [1, 1], [1, 0], [0, 0], [0, 1], [0, 0]], dtype=float)


def _tie_cloud(rng: np.random.Generator, n_max: int = 30) -> np.ndarray:
    """Lattice points with repeated rows (exact ties, duplicates), times 1, 2^±500 or 10^±150."""
    if rng.random() < 0.25:
        X = ISSUE_TIES[rng.permutation(len(ISSUE_TIES))]
    else:
        d = int(rng.integers(1, 4))
        side = int(rng.integers(2, 5))
        g = np.stack(np.meshgrid(*[np.arange(side, dtype=float)] * d, indexing="ij"), -1)
        g = g.reshape(-1, d)
        X = g[rng.integers(0, len(g), int(rng.integers(2, n_max + 1)))]
    scale = [1.0, 2.0**500, 2.0**-500, 1e150, 1e-150][int(rng.integers(0, 5))]
    return X * scale


def _label(X: np.ndarray) -> str:
    top = float(np.abs(X).max()) if X.size else 0.0
    n_dup = len(X) - len(np.unique(X, axis=0)) if X.size else 0
    return f"n={len(X)} d={X.shape[1]} |x|max={top:.2g} duplicates={n_dup}"


def _clouds(kind: str, n: tuple[int, int] = (1, 40)) -> Any:
    from sheaftopo.verify import Family, point_clouds

    if kind == "ties":
        def sample(rng: np.random.Generator) -> dict:
            return {"X": _tie_cloud(rng, n[1])}

        return Family("lattice ties and duplicates (issue 15 example)", sample,
                      describe=lambda inst: _label(inst["X"]))
    base = point_clouds(kind, n=n, dim=(1, 8))
    name = base.name if n[1] > 3 else f"{base.name}, n <= {n[1]}"
    return dataclasses.replace(
        base, name=name, describe=lambda inst: f"{inst.get('kind', kind)} {_label(inst['X'])}"
    )


def _with(family: Any, name: str, extra: Callable[[dict, np.random.Generator], dict],
          describe: Callable[[dict], str] | None = None, tight: bool = False) -> Any:
    """``family`` with keys added to each instance by ``extra(instance, rng)``."""
    def sample(rng: np.random.Generator) -> dict:
        inst = family.sample(rng)
        return {**inst, **extra(inst, rng)}

    return dataclasses.replace(family, name=name, sample=sample, tight=tight,
                               describe=describe or family.describe)


# --------------------------------------------------------------------------
# h0-rips-mst: deaths = GUDHI; each method's edges a minimum spanning tree
# --------------------------------------------------------------------------

def _rips_evaluate(inst: dict) -> tuple[float, float]:
    from sheaftopo.persistence import h0_diagram, mst

    X = np.asarray(inst["X"], dtype=np.float64)
    n = len(X)
    D = _dist(X)
    ref, n_inf = _gudhi_h0(D)
    diam = float(D.max()) if n else 0.0
    # from a matrix the pairs are canonical: the tree of the key (D_ij, i, j), Kruskal's
    pairs = [_exact(mst(D, metric="precomputed").edges, _kruskal(D)[0])]
    # Gram-identity methods: within the near-tie window; KD-tree (direct differences) and
    # matrices: exact up to the rounding of the lengths themselves
    runs = [(X, "euclidean", "prim", ETA), (X, "euclidean", "boruvka", ETA),
            (X, "euclidean", "kdtree", ULPS), (D, "precomputed", "auto", 0.0)]
    for data, metric, method, eta in runs:
        dgm = h0_diagram(data, metric=metric, method=method)
        if dgm.shape != (n, 2) or int(np.isinf(dgm[:, 1]).sum()) != n_inf or (dgm[:, 0] != 0).any():
            return math.inf, 1.0
        # deaths within 2 eta of GUDHI's (exactly equal from a matrix)
        pairs.append(_close(dgm[: n - n_inf, 1], ref, 2 * eta, diam))
        forest = mst(data, metric=metric, method=method)
        pairs.append((_forest_error(forest, D, eta * diam), 1.0))
        pairs.append(_exact(forest.diagram, dgm))
    return _worst(*pairs)


@register("h0-rips-mst", theory="h0-rips-mst.md", kind="identity", quick=4, full=45)
def _h0_rips_mst() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Statement

    st = Statement(
        "h0-rips-mst",
        _rips_evaluate,
        rtol=0.0,
        description="H0 deaths of Rips(X) = GUDHI's (Prim, Borůvka, KD-tree, matrix); each "
        "method's edges a minimum spanning tree of the exact distances (within 1e-9 diam for "
        "the Gram methods, 8 ulps for the KD-tree); from a matrix, Kruskal's tree exactly",
    )
    return st, [_clouds("mixed"), _clouds("ties"), _clouds("scaled"),
                _clouds("tight-clusters"), _clouds("duplicates", n=(1, 3))]


# --------------------------------------------------------------------------
# h0-stability: d_B(Dgm0 X, Dgm0 Y) <= max |D_X - D_Y|
# --------------------------------------------------------------------------


def _perturbed(inst: dict, rng: np.random.Generator) -> dict:
    X = inst["X"]
    n, d = X.shape
    scale = float(np.abs(X).max()) or 1.0
    move = int(rng.integers(0, 5))
    if move == 0:
        s = float(10.0 ** rng.uniform(-4, 0)) * scale
        Y, what = X + rng.normal(0, s, X.shape), f"noise {s:.2g}"
    elif move == 1:
        Y = X.copy()
        Y[rng.integers(0, n)] = X[rng.integers(0, n)]  # onto another point: a new duplicate
        what = "one point moved onto another"
    elif move == 2:
        Y, what = X * rng.uniform(0.5, 1.5, d), "anisotropic scaling"
    elif move == 3:
        Y, what = rng.standard_normal(X.shape) * scale, "independent cloud"
    else:
        Y, what = X.copy(), "Y = X"
    return {"Y": Y, "move": what}


def _stability_evaluate(inst: dict) -> tuple[float, float]:
    from sheaftopo.persistence import bottleneck, h0_diagram

    X, Y = inst["X"], inst["Y"]
    DX, DY = _dist(X), _dist(Y)
    bound = float(np.abs(DX - DY).max())
    top = float(max(DX.max(), DY.max()))
    dx, dy = h0_diagram(X), h0_diagram(Y)
    db = bottleneck(dx, dy)
    ox, oy = _kruskal(DX)[1], _kruskal(DY)[1]
    own = _matching_cost(_h0(ox), _h0(oy), math.inf)
    return _worst(
        (db, bound),
        _close(dx[:-1, 1], ox, 2 * ETA, top), _close(dy[:-1, 1], oy, 2 * ETA, top),
        _close(dx[-1], [0.0, math.inf], 0.0, 0.0), _close(dy[-1], [0.0, math.inf], 0.0, 0.0),
        # the library's d_B against an exact matching of the oracle diagrams
        _close(db, own, 4 * ETA, top),
    )


def _two_points(rng: np.random.Generator) -> dict:
    a = float(rng.uniform(1, 10)) * float(10.0 ** rng.choice([-150, 0, 150]))
    delta = float(rng.uniform(1e-6, 0.5)) * a
    d = int(rng.integers(1, 4))
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    return {"X": np.stack([np.zeros(d), a * u]), "Y": np.stack([np.zeros(d), (a + delta) * u]),
            "move": f"two points a={a:.3g} -> a + {delta / a:.2g} a"}


@register("h0-stability", theory="h0-stability.md", kind="bound", quick=4, full=80,
          tight_delta=1e-9)
def _h0_stability() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Family, Statement

    def describe(inst: dict) -> str:
        return f"{_label(inst['X'])}; {inst['move']}"

    st = Statement(
        "h0-stability",
        _stability_evaluate,
        rtol=1e-12,
        description="d_B(Dgm0 X, Dgm0 Y) <= max_ij |D_X(i,j) - D_Y(i,j)|, with d_B and both "
        "diagrams matched against an exact matching of Kruskal oracles",
    )
    fams = [_with(_clouds(k), f"{k} clouds, perturbed", _perturbed, describe)
            for k in ("mixed", "ties", "scaled", "tight-clusters")]
    fams.append(Family("two points a -> a + delta (sharp)", _two_points,
                       describe=lambda inst: inst["move"], tight=True))
    return st, fams


# --------------------------------------------------------------------------
# sparsification bound
# --------------------------------------------------------------------------


def _sparse_diagram_oracle(D: np.ndarray, eps: float) -> np.ndarray:
    """Finite deaths of D^eps (entries > eps set to max D), by Kruskal on that matrix."""
    T = float(D.max())
    De = np.where(D <= eps, D, T)
    np.fill_diagonal(De, 0.0)
    return _kruskal(De)[1]


def _sparsification_evaluate(inst: dict) -> tuple[float, float]:
    from sheaftopo.persistence import approximation_bound, sparsify

    X = inst["X"]
    D = _dist(X)
    n = len(D)
    T = float(D.max())
    pairs = []
    if "lam" in inst:
        g = sparsify(D, lam=inst["lam"])
        eps = g.eps
    else:
        eps = float(inst["eps"])
    off = ~np.eye(n, dtype=bool)
    m = _n_components((D <= eps) & off) - 1
    if "lam" in inst:
        pairs.append(_exact(g.n_components - 1, m))
    full = _kruskal(D)[1]
    sparse = _sparse_diagram_oracle(D, eps)
    affected = full[full > eps]
    # the theorem's description of Dgm0(D^eps), checked on the independent Kruskal of D^eps
    pairs.append(_exact(np.sort(sparse), np.sort(np.r_[full[full <= eps], np.full(m, T)])))
    pairs.append(_exact(len(affected), m))
    gap = max(T - eps, 0.0)
    for p in (1.0, 2.0, math.inf):
        w = _matching_cost(_h0(full), _h0(sparse), p)
        if math.isinf(p):
            middle = float(np.max(T - affected, initial=0.0))
            bound = gap if m else 0.0
        else:
            middle = math.fsum((T - affected) ** p) ** (1.0 / p)
            bound = m ** (1.0 / p) * gap
        res = approximation_bound(D, eps, p=p)
        pairs += [
            (w, bound * (1 + 1e-12)),  # the ratio reported: W_p / (m^(1/p) (T - eps))
            _holds(w, middle * (1 + 1e-12)),  # W_p <= (sum (T - w)^p)^(1/p)
            _holds(middle, bound * (1 + 1e-12)),  # <= m^(1/p) (T - eps)
            _holds(res.distance, res.bound * (1 + 1e-12)),
            _exact(res.n_affected, m),
            _exact(res.scale, T),
            _close(res.bound, bound, 1e-13, bound),
            _close(res.distance, w, 1e-9, T),
            _exact(res.exact_diagram[:-1, 1], full),
            _exact(res.sparse_diagram[:-1, 1], sparse),
            _exact(res.sparse_diagram[-1], [0.0, math.inf]),
        ]
    return _worst(*pairs)


def _lam(inst: dict, rng: np.random.Generator) -> dict:
    return {"lam": float(rng.choice([-0.5, 0.0, 0.5, 1.0, 2.0]))}


def _eps_at_a_distance(inst: dict, rng: np.random.Generator) -> dict:
    D = _dist(inst["X"])
    return {"eps": float(rng.choice(D.ravel()))}  # a tie at the threshold


def _eps_uniform(inst: dict, rng: np.random.Generator) -> dict:
    T = float(_dist(inst["X"]).max())
    return {"eps": float(rng.uniform(-0.1, 1.1)) * T}


def _sharp_sparsification(rng: np.random.Generator) -> dict:
    """The sharp family of theory/sparsification-bound.md: w_max >= T/2 and eps just below w_max.

    Either three collinear sites s apart (repeated points at each) with
    eps = s / (1 + delta), ratio (1 + delta) / (1 + 2 delta); or two clusters
    spanning rho <= gap/4 on a line with eps = w - delta (T - w), w the gap
    (the largest death), ratio 1 / (1 + delta). Scales 1 and 10^±150.
    """
    scale = float(10.0 ** rng.choice([-150, 0, 150]))
    delta = float(10.0 ** rng.uniform(-9, -4))
    d = int(rng.integers(1, 4))
    u = np.zeros(d)
    u[int(rng.integers(0, d))] = 1.0
    if rng.random() < 0.5:
        s = float(rng.uniform(0.5, 2.0)) * scale
        sites = np.arange(3)[rng.integers(0, 3, int(rng.integers(0, 6)))]
        t = np.r_[0, 1, 2, sites].astype(float)[rng.permutation(3 + len(sites))] * s
        return {"X": t[:, None] * u[None, :], "eps": s / (1.0 + delta), "delta": delta,
                "kind": "three sites"}
    gap = float(rng.uniform(1.0, 2.0))
    rho = gap * float(rng.uniform(0.01, 0.25))
    n1, n2 = (int(v) for v in rng.integers(0, 4, 2))
    # each cluster spans exactly [0, rho]: T - w = 2 rho, so eps < w is representable
    far = rho + gap + np.r_[0.0, rho, rng.uniform(0, rho, n2)]
    t = np.r_[0.0, rho, rng.uniform(0, rho, n1), far]
    X = (t[rng.permutation(len(t))] * scale)[:, None] * u[None, :]
    D = _dist(X)
    w, T = float(_kruskal(D)[1].max()), float(D.max())
    return {"X": X, "eps": w - delta * (T - w), "delta": delta, "kind": "two clusters"}


def _sparse_label(inst: dict) -> str:
    how = f"lam={inst['lam']:g}" if "lam" in inst else f"eps={inst['eps']:.4g}"
    extra = f" delta={inst['delta']:.2g}" if "delta" in inst else ""
    return f"{inst.get('kind', '')} {_label(inst['X'])}; {how}{extra}".strip()


@register("sparsification-bound", theory="sparsification-bound.md", kind="bound", quick=3,
          full=50, tight_delta=1e-3)
def _sparsification() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Family, Statement

    st = Statement(
        "sparsification-bound",
        _sparsification_evaluate,
        rtol=0.0,
        description="W_p(Dgm0 D, Dgm0 D^eps) <= (sum_{w>eps} (T-w)^p)^(1/p) <= m(eps)^(1/p) "
        "(T - eps), p in {1, 2, inf}; D^eps and W_p computed independently (Kruskal, exact "
        "assignment) and approximation_bound's numbers matched against them",
    )
    return st, [
        _with(_clouds("mixed", (2, 30)), "clouds, eps = sparsify(lam).eps", _lam, _sparse_label),
        _with(_clouds("ties", (2, 30)), "ties, eps = one of the distances", _eps_at_a_distance,
              _sparse_label),
        _with(_clouds("mixed", (2, 30)), "clouds, eps uniform in [-0.1 T, 1.1 T]",
              _eps_uniform, _sparse_label),
        Family("three sites or two clusters, eps just below w_max (sharp)",
               _sharp_sparsification, describe=_sparse_label, tight=True),
    ]


# --------------------------------------------------------------------------
# subsampling bound
# --------------------------------------------------------------------------


def _subsample_evaluate(inst: dict) -> tuple[float, float]:
    from sheaftopo.persistence import bottleneck, farthest_point_subsample, h0_diagram

    X = inst["X"]
    n = len(X)
    k = int(min(max(inst["k"], 1), n))
    start = int(inst["start"]) % n
    sub = farthest_point_subsample(X, k, start=start)
    S = np.asarray(sub.indices)
    D = _dist(X)
    top = float(D.max())
    if not 1 <= len(S) <= k or len(np.unique(S)) != len(S) or S.min() < 0 or S.max() >= n \
            or S[0] != start:
        return math.inf, 1.0
    # insertion radii: inf, then the covering radius of each prefix (greedy: the farthest point)
    prefix = np.minimum.accumulate(D[S], axis=0).max(axis=1)
    radii = np.r_[math.inf, prefix[:-1]]
    r = float(prefix[-1])
    if len(S) < k and r > 0:  # fewer than k points only once every point is covered
        return math.inf, 1.0
    db = bottleneck(h0_diagram(X), h0_diagram(X[S]))
    own = _matching_cost(_h0(_kruskal(D)[1]), _h0(_kruskal(D[np.ix_(S, S)])[1]), math.inf)
    return _worst(
        (db, sub.bottleneck_bound * (1 + 1e-12)),
        _holds(own, 2 * r * (1 + 1e-12)),
        _close(sub.covering_radius, r, 1e-14, top),
        _close(sub.insertion_radii, radii, 1e-14, top),
        _close(sub.bottleneck_bound, 2 * r, 1e-14, top),
        _close(db, own, 4 * ETA, top),
    )


def _sample_size(inst: dict, rng: np.random.Generator) -> dict:
    n = len(inst["X"])
    return {"k": int(rng.integers(1, n + 1)), "start": int(rng.integers(0, n))}


def _chain(rng: np.random.Generator) -> dict:
    """X = {0, r, a - r, a} on a line, a > 4r: FPS from 0 keeps {0, a}, d_B = 2r exactly."""
    r = float(rng.uniform(0.5, 1.0)) * float(10.0 ** rng.choice([-150, 0, 150]))
    a = r * float(rng.uniform(4.5, 20.0))
    d = int(rng.integers(1, 4))
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    perm = rng.permutation(4)
    t = np.array([0.0, r, a - r, a])[perm]
    return {"X": t[:, None] * u[None, :], "k": 2, "start": int(np.flatnonzero(perm == 0)[0]),
            "a/r": a / r}


def _sub_label(inst: dict) -> str:
    extra = f" a/r={inst['a/r']:.3g}" if "a/r" in inst else ""
    return f"{inst.get('kind', '')} {_label(inst['X'])}; k={inst['k']}{extra}".strip()


@register("subsample-bound", theory="subsample-bound.md", kind="bound", quick=4, full=60,
          tight_delta=1e-9)
def _subsample() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Family, Statement

    st = Statement(
        "subsample-bound",
        _subsample_evaluate,
        rtol=0.0,
        description="d_B(Dgm0 X, Dgm0 S) <= 2r for the farthest-point sample S with covering "
        "radius r; r, insertion radii and d_B matched against oracles",
    )
    fams = [_with(_clouds(k, (1, 40)), f"{k} clouds, random k and start", _sample_size,
                  _sub_label) for k in ("mixed", "ties", "scaled")]
    fams.append(Family("chain {0, r, a - r, a}, k = 2 (sharp)", _chain, describe=_sub_label,
                       tight=True))
    return st, fams


# --------------------------------------------------------------------------
# sliced Wasserstein upper bound
# --------------------------------------------------------------------------


def _sw_oracle(A: np.ndarray, B: np.ndarray, theta: np.ndarray, *, absolute: bool = False
               ) -> float:
    """SW_Theta of Carrière-Cuturi-Oudot: mean over theta of the sorted 1-D W_1 of the augmented
    diagrams. ``absolute=True`` is persim's |b + d| / 2 diagonal projection (a mutant)."""
    def proj(P: np.ndarray) -> np.ndarray:
        m = 0.5 * (P[:, 0] + P[:, 1])
        m = np.abs(m) if absolute else m
        return np.stack([m, m], 1)

    A2 = np.concatenate([A, proj(B)])
    B2 = np.concatenate([B, proj(A)])
    if len(A2) == 0:
        return 0.0
    U = np.stack([np.cos(theta), np.sin(theta)])
    a = np.sort(A2 @ U, axis=0)
    b = np.sort(B2 @ U, axis=0)
    return float(np.abs(a - b).sum(axis=0).mean())


def _default_angles(M: int) -> np.ndarray:
    return -np.pi / 2 + np.arange(M) * np.pi / M


def _sw_evaluate(inst: dict) -> tuple[float, float]:
    from sheaftopo.persistence import sliced_wasserstein, wasserstein

    A, B = inst["A"], inst["B"]
    if "theta" in inst:
        theta = np.asarray(inst["theta"], dtype=np.float64)
        sw = sliced_wasserstein(A, B, directions=theta)
    else:
        theta = _default_angles(int(inst["M"]))
        sw = sliced_wasserstein(A, B, n_directions=int(inst["M"]))
    own_sw = _sw_oracle(A, B, theta)
    w1 = wasserstein(A, B, p=1.0, internal_p=2.0)
    own_w1 = _matching_cost(A, B, 1.0, 2.0)
    own_w1_inf = _matching_cost(A, B, 1.0, math.inf)
    mass = float(np.abs(np.concatenate([A, B])).sum())
    # both sides are sums of differences of coordinates: rounding up to a few ulps of the mass
    slack = 64 * float(np.finfo(np.float64).eps) * mass
    return _worst(
        (sw, 2.0 * w1 + slack),
        _holds(own_sw, 2.0 * own_w1 + slack),
        _holds(own_w1, math.sqrt(2.0) * own_w1_inf * (1 + 1e-12)),  # W_1^(2) <= sqrt2 W_1^(inf)
        _close(sw, own_sw, 1e-12, 4 * mass),
        _close(w1, own_w1, 1e-9, mass),
    )


def _sliding(rng: np.random.Generator) -> dict:
    """One point slid by s along the diagonal, one direction pi/4 + eta, eta >= 4 s / life."""
    scale = float(10.0 ** rng.choice([-150, 0, 150]))
    b, life = float(rng.uniform(-1, 1)), float(rng.uniform(1, 10))
    rel = float(10.0 ** rng.uniform(-7, -5))
    eta = 4 * rel * float(rng.uniform(1, 2))
    A = np.array([[b, b + life]]) * scale
    return {"A": A, "B": A + rel * life * scale, "theta": np.array([np.pi / 4 + eta]),
            "kind": f"slide s/life={rel:.2g}, eta={eta:.2g}"}


def _directions(inst: dict, rng: np.random.Generator) -> dict:
    if rng.random() < 0.5:
        return {"M": int(rng.integers(1, 60))}
    return {"theta": rng.uniform(-np.pi, np.pi, int(rng.integers(1, 60)))}


def _scaled_diagrams(inst: dict, rng: np.random.Generator) -> dict:
    s = float(10.0 ** rng.choice([-150, 150]))
    return {"A": inst["A"] * s, "B": inst["B"] * s, **_directions(inst, rng)}


def _sw_label(inst: dict) -> str:
    dirs = f"M={inst['M']} default" if "M" in inst else f"{len(inst['theta'])} given"
    top = float(np.abs(np.concatenate([inst["A"], inst["B"]])).max(initial=0.0))
    return f"{inst.get('kind', '')} |A|={len(inst['A'])} |B|={len(inst['B'])} |x|max={top:.2g}; " \
           f"{dirs} directions"


@register("sliced-wasserstein-bound", theory="sliced-wasserstein-bound.md", kind="bound",
          quick=4, full=100, tight_delta=1e-6)
def _sw_bound() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Family, Statement, diagrams

    st = Statement(
        "sliced-wasserstein-bound",
        _sw_evaluate,
        rtol=0.0,
        description="SW_Theta(D1, D2) <= 2 W_1^(2)(D1, D2) <= 2 sqrt2 W_1^(inf); SW and W_1 "
        "matched against a sorted-projection oracle and an exact assignment",
    )
    fams = [_with(diagrams(k), f"diagrams ({k})", _directions, _sw_label)
            for k in ("mixed", "ties", "near-diagonal")]
    fams.append(_with(diagrams("random"), "diagrams at 1e±150", _scaled_diagrams, _sw_label))
    fams.append(Family("one point slid along the diagonal (sharp)", _sliding, describe=_sw_label,
                       tight=True))
    return st, fams


# --------------------------------------------------------------------------
# certified Borůvka on Dask = in-memory MST, bit for bit
# --------------------------------------------------------------------------


def _boruvka_evaluate(inst: dict) -> tuple[float, float]:
    import dask

    from sheaftopo.distributed import DaskOptions, mst_dask
    from sheaftopo.persistence import h0_diagram

    X = inst["X"]
    n = len(X)
    k = int(max(inst["k"], 1))
    b = int(min(max(inst["b"], 1), n))
    D = _dist(X)
    with dask.config.set(scheduler="synchronous"):
        forest = mst_dask(X, options=DaskOptions(block_rows=b), n_neighbors=k)
    ref = h0_diagram(X)
    own = _kruskal(D)[1]
    dgm = forest.diagram
    diam = float(D.max()) if n else 0.0
    return _worst(
        _close(dgm[-1:], [[0.0, math.inf]], 0.0, 0.0),
        # exact selection on float64 lengths: Kruskal's deaths up to the lengths' own rounding
        _close(dgm[:-1, 1], own, ULPS, diam),
        # the in-memory diagram: equal, except at near-ties inside its Gram-identity window
        _close(dgm[:-1, 1], ref[:-1, 1], 2 * ETA, diam),
        (_forest_error(forest, D, ULPS * diam), 1.0),
    )


def _blocks(inst: dict, rng: np.random.Generator) -> dict:
    n = len(inst["X"])
    return {"k": int(rng.choice([1, 2, 3, 8, 16])), "b": int(rng.integers(1, max(2, n)))}


def _far_clusters(rng: np.random.Generator) -> dict:
    """Tight clusters far apart with one-neighbour lists: most rounds need the certificate."""
    d = int(rng.integers(1, 5))
    k = int(rng.integers(2, 6))
    centres = rng.standard_normal((k, d)) * 100
    n = int(rng.integers(k, 40))
    X = centres[rng.integers(0, k, n)] + rng.standard_normal((n, d)) * 0.1
    return {"X": X, "k": 1, "b": int(rng.integers(1, max(2, n // 2))), "kind": f"{k} clusters"}


def _short_lists(rng: np.random.Generator) -> dict:
    """Gaussian clouds, two-neighbour lists: stale lists after merges, the certificate decides."""
    n = int(rng.integers(30, 41))
    X = rng.standard_normal((n, int(rng.integers(2, 5))))
    return {"X": X, "k": 2, "b": int(rng.choice([n, max(1, n // 4)])), "kind": "gaussian"}


def _dask_label(inst: dict) -> str:
    return f"{inst.get('kind', '')} {_label(inst['X'])}; k={inst['k']} block_rows={inst['b']}"


@register("h0-certified-boruvka", theory="h0-certified-boruvka.md", kind="identity", quick=3,
          full=30)
def _h0_certified_boruvka() -> tuple[Any, list[Any]]:
    from sheaftopo.verify import Family, Statement

    st = Statement(
        "h0-certified-boruvka",
        _boruvka_evaluate,
        rtol=0.0,
        description="Dask MST (k-NN warm start, certified Borůvka): deaths = Kruskal's on exact "
        "lengths to 8 ulps of diam, = in-memory h0_diagram's within 2e-9 diam; its edges a "
        "minimum spanning tree of the exact lengths",
    )
    fams = [_with(_clouds(kind, (1, 40)), f"{kind} clouds", _blocks, _dask_label)
            for kind in ("mixed", "ties", "scaled")]
    fams.append(Family("far clusters, k = 1", _far_clusters, describe=_dask_label))
    fams.append(Family("gaussian, k = 2 (stale lists)", _short_lists, describe=_dask_label))
    return st, fams


# --------------------------------------------------------------------------
# mutants: wrong versions of the library functions these checks must catch
# --------------------------------------------------------------------------


def _wrap(transform: Callable[..., Any]) -> Callable[[Any], Any]:
    """``make(original)`` whose replacement returns ``transform(original(...), *args, **kw)``."""
    def make(original: Any) -> Any:
        def replacement(*args: Any, **kwargs: Any) -> Any:
            return transform(original(*args, **kwargs), *args, **kwargs)

        return replacement

    return make


def _forest_with(forest: Any, edges: np.ndarray, weights: np.ndarray) -> Any:
    order = np.lexsort((edges[:, 1], edges[:, 0], weights))
    return dataclasses.replace(forest, edges=edges[order], weights=weights[order])


def _non_minimal(forest: Any, data: Any, *args: Any, metric: str = "euclidean", **kw: Any) -> Any:
    """Swap the lightest tree edge for the longest pair across the cut it makes."""
    E, n = forest.edges, forest.n_vertices
    if len(E) < 2 or metric not in ("euclidean", "precomputed"):
        return forest
    D = np.asarray(data, float) if metric == "precomputed" else _dist(np.asarray(data, float))
    keep = E[1:]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for i, j in keep:
        parent[find(int(i))] = find(int(j))
    side = np.array([find(i) == find(int(E[0, 0])) for i in range(n)])
    cross = np.where(side[:, None] & ~side[None, :], D, -1.0)
    a, b = np.unravel_index(int(np.argmax(cross)), cross.shape)
    edges = np.r_[keep, [[min(a, b), max(a, b)]]].astype(np.int64)
    return _forest_with(forest, edges, D[edges[:, 0], edges[:, 1]])


@mutant("h0_diagram drops the last finite death", page="h0-rips-mst.md",
        target="sheaftopo.persistence:h0_diagram", quick=True)
def _m_rips_drop(original: Any) -> Any:
    def last_death_lost(dgm: np.ndarray, *args: Any, **kw: Any) -> np.ndarray:
        out = dgm.copy()
        k = int(np.isfinite(out[:, 1]).sum())
        if k:
            out[k - 1, 1] = out[k - 2, 1] if k >= 2 else 0.0
        return out

    return _wrap(last_death_lost)(original)


@mutant("mst returns a non-minimal tree (lightest edge swapped across its cut)",
        page="h0-rips-mst.md", target="sheaftopo.persistence:mst")
def _m_rips_non_minimal(original: Any) -> Any:
    return _wrap(_non_minimal)(original)


@mutant("mst edges off by one vertex (weights kept)", page="h0-rips-mst.md",
        target="sheaftopo.persistence:mst")
def _m_rips_shifted(original: Any) -> Any:
    def shifted(forest: Any, *args: Any, **kw: Any) -> Any:
        n = forest.n_vertices
        if n < 3:
            return forest
        E = forest.edges.copy()
        E[-1, 1] = (E[-1, 1] + 1) % n if (E[-1, 1] + 1) % n != E[-1, 0] else (E[-1, 1] + 2) % n
        E.sort(axis=1)
        return dataclasses.replace(forest, edges=E)

    return _wrap(shifted)(original)


@mutant("mst weights rounded to float32", page="h0-rips-mst.md",
        target="sheaftopo.persistence:mst")
def _m_rips_float32(original: Any) -> Any:
    def rounded(forest: Any, *args: Any, **kw: Any) -> Any:
        w = forest.weights.astype(np.float32).astype(np.float64)
        return dataclasses.replace(forest, weights=w)

    return _wrap(rounded)(original)


@mutant("mst on a matrix breaks ties by another vertex numbering", page="h0-rips-mst.md",
        target="sheaftopo.persistence:mst")
def _m_rips_renumbered(original: Any) -> Any:
    def renumbered(data: Any, *args: Any, metric: str = "euclidean", **kw: Any) -> Any:
        if metric != "precomputed" or kw.get("weights") is not None:
            return original(data, *args, metric=metric, **kw)
        D = np.asarray(data)
        n = len(D)
        f = original(D[::-1, ::-1], *args, metric=metric, **kw)
        E = np.sort(n - 1 - f.edges, axis=1)
        return _forest_with(f, E, f.weights)

    return renumbered


@mutant("bottleneck returns half", page="h0-stability.md",
        target="sheaftopo.persistence:bottleneck", quick=True)
def _m_stab_half(original: Any) -> Any:
    return _wrap(lambda d, *a, **k: 0.5 * d)(original)


@mutant("bottleneck returns 0", page="h0-stability.md", target="sheaftopo.persistence:bottleneck")
def _m_stab_zero(original: Any) -> Any:
    return _wrap(lambda d, *a, **k: 0.0)(original)


@mutant("bottleneck ignores the diagonal (sorted deaths matched)", page="h0-stability.md",
        target="sheaftopo.persistence:bottleneck")
def _m_stab_no_diagonal(original: Any) -> Any:
    def sorted_match(dgm1: Any, dgm2: Any, **kw: Any) -> float:
        a, b = np.sort(_finite(dgm1)[:, 1]), np.sort(_finite(dgm2)[:, 1])
        if len(a) != len(b):
            return original(dgm1, dgm2, **kw)
        return float(np.abs(a - b).max(initial=0.0))

    return sorted_match


@mutant("h0_diagram doubles every death", page="h0-stability.md",
        target="sheaftopo.persistence:h0_diagram")
def _m_stab_double(original: Any) -> Any:
    return _wrap(lambda dgm, *a, **k: dgm * 2.0)(original)


@mutant("approximation_bound reports half the bound", page="sparsification-bound.md",
        target="sheaftopo.persistence:approximation_bound", quick=True)
def _m_sparse_half(original: Any) -> Any:
    return _wrap(lambda res, *a, **k: dataclasses.replace(res, bound=res.bound / 2))(original)


@mutant("approximation_bound reports distance 0", page="sparsification-bound.md",
        target="sheaftopo.persistence:approximation_bound")
def _m_sparse_zero(original: Any) -> Any:
    return _wrap(lambda res, *a, **k: dataclasses.replace(res, distance=0.0))(original)


@mutant("approximation_bound counts removed edges as m(eps)", page="sparsification-bound.md",
        target="sheaftopo.persistence:approximation_bound")
def _m_sparse_removed(original: Any) -> Any:
    def removed(res: Any, D: Any, eps: float, *, p: float = 2.0) -> Any:
        Dv = np.asarray(D, float)
        m = int((Dv[np.triu_indices(len(Dv), 1)] > eps).sum())
        gap = max(res.scale - eps, 0.0)
        bound = 0.0 if m == 0 else (gap if math.isinf(p) else m ** (1 / p) * gap)
        return dataclasses.replace(res, n_affected=m, bound=bound)

    return _wrap(removed)(original)


@mutant("approximation_bound completes D^eps at eps instead of T", page="sparsification-bound.md",
        target="sheaftopo.persistence:approximation_bound")
def _m_sparse_at_eps(original: Any) -> Any:
    def at_eps(res: Any, D: Any, eps: float, *, p: float = 2.0) -> Any:
        from sheaftopo.persistence import bottleneck, wasserstein

        sparse = res.sparse_diagram.copy()
        sparse[sparse[:, 1] == res.scale, 1] = max(eps, 0.0)
        dist = bottleneck(res.exact_diagram, sparse) if math.isinf(p) else wasserstein(
            res.exact_diagram, sparse, p=p)
        return dataclasses.replace(res, sparse_diagram=sparse, distance=dist)

    return _wrap(at_eps)(original)


@mutant("approximation_bound drops the 1/p root (m (T - eps))", page="sparsification-bound.md",
        target="sheaftopo.persistence:approximation_bound")
def _m_sparse_no_root(original: Any) -> Any:
    def no_root(res: Any, *a: Any, **k: Any) -> Any:
        return dataclasses.replace(res, bound=res.n_affected * max(res.scale - res.eps, 0.0))

    return _wrap(no_root)(original)


@mutant("sparsify counts one component too many", page="sparsification-bound.md",
        target="sheaftopo.persistence:sparsify")
def _m_sparse_components(original: Any) -> Any:
    return _wrap(lambda g, *a, **k: dataclasses.replace(g, n_components=g.n_components + 1))(
        original)


@mutant("farthest_point_subsample covering radius halved", page="subsample-bound.md",
        target="sheaftopo.persistence:farthest_point_subsample", quick=True)
def _m_sub_half(original: Any) -> Any:
    return _wrap(lambda s, *a, **k: dataclasses.replace(s, covering_radius=s.covering_radius / 2))(
        original)


@mutant("farthest_point_subsample insertion radii shifted by one", page="subsample-bound.md",
        target="sheaftopo.persistence:farthest_point_subsample")
def _m_sub_shift(original: Any) -> Any:
    def shifted(s: Any, *a: Any, **k: Any) -> Any:
        radii = np.r_[s.insertion_radii[:1], s.insertion_radii[2:], s.covering_radius]
        return dataclasses.replace(s, insertion_radii=radii)

    return _wrap(shifted)(original)


@mutant("farthest_point_subsample takes the nearest point", page="subsample-bound.md",
        target="sheaftopo.persistence:farthest_point_subsample")
def _m_sub_nearest(original: Any) -> Any:
    def nearest(data: Any, n_samples: int, *, start: int = 0, **kw: Any) -> Any:
        s = original(data, n_samples, start=start, **kw)
        D = _dist(np.asarray(data, float))
        idx = [start]
        radii = [math.inf]
        while len(idx) < n_samples:
            d = D[idx].min(axis=0)
            d[idx] = math.inf
            j = int(np.argmin(d))
            idx.append(j)
            radii.append(float(d[j]))
        r = float(D[idx].min(axis=0).max())
        return dataclasses.replace(s, indices=np.array(idx), insertion_radii=np.array(radii),
                                   covering_radius=r)

    return nearest


@mutant("Subsample.bottleneck_bound is r, not 2r", page="subsample-bound.md",
        target="sheaftopo.persistence:Subsample.bottleneck_bound")
def _m_sub_bound(original: Any) -> Any:
    return property(lambda self: self.covering_radius)


@mutant("sliced_wasserstein returns 0", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein", quick=True)
def _m_sw_zero(original: Any) -> Any:
    return _wrap(lambda sw, *a, **k: 0.0)(original)


@mutant("sliced_wasserstein scaled 2x", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein")
def _m_sw_double(original: Any) -> Any:
    return _wrap(lambda sw, *a, **k: 2.0 * sw)(original)


@mutant("sliced_wasserstein scaled 3x", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein")
def _m_sw_triple(original: Any) -> Any:
    return _wrap(lambda sw, *a, **k: 3.0 * sw)(original)


@mutant("sliced_wasserstein ignores the given directions", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein")
def _m_sw_directions(original: Any) -> Any:
    def default_set(dgm1: Any, dgm2: Any, *, directions: Any = None, **kw: Any) -> float:
        if directions is not None:
            kw["n_directions"] = len(np.atleast_1d(directions))
        return original(dgm1, dgm2, **kw)

    return default_set


@mutant("sliced_wasserstein default angles off by half a step", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein")
def _m_sw_half_step(original: Any) -> Any:
    def shifted(dgm1: Any, dgm2: Any, *, n_directions: int = 50, directions: Any = None,
                **kw: Any) -> float:
        if directions is None and kw.get("seed") is None:
            directions = _default_angles(n_directions) + np.pi / (2 * n_directions)
        return original(dgm1, dgm2, directions=directions, **kw)

    return shifted


@mutant("sliced_wasserstein projects with |b + d| / 2 (persim)", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:sliced_wasserstein")
def _m_sw_persim(original: Any) -> Any:
    def persim(dgm1: Any, dgm2: Any, *, n_directions: int = 50, directions: Any = None,
               **kw: Any) -> float:
        theta = _default_angles(n_directions) if directions is None else np.asarray(directions)
        A, B = np.asarray(dgm1, float).reshape(-1, 2), np.asarray(dgm2, float).reshape(-1, 2)
        return _sw_oracle(A, B, theta, absolute=True)

    return persim


@mutant("wasserstein returns half", page="sliced-wasserstein-bound.md",
        target="sheaftopo.persistence:wasserstein")
def _m_sw_w1_half(original: Any) -> Any:
    return _wrap(lambda w, *a, **k: 0.5 * w)(original)


@mutant("certified Borůvka certifies without the list bounds", page="h0-certified-boruvka.md",
        target="sheaftopo.distributed._mst:_certify", quick=True)
def _m_dask_uncertified(original: Any) -> Any:
    def uncertified(labels: Any, c: int, W: Any, Q: Any, bound: Any) -> Any:
        return original(labels, c, W, Q, np.full_like(bound, np.inf))

    return uncertified


@mutant("certified Borůvka takes each component's heaviest candidate",
        page="h0-certified-boruvka.md", target="sheaftopo.distributed._mst:_component_minima")
def _m_dask_heaviest(original: Any) -> Any:
    def heaviest(comp: Any, w: Any, p: Any, q: Any) -> Any:
        ok = q >= 0
        comp, w, p, q = comp[ok], w[ok], p[ok], q[ok]
        lo, hi = np.minimum(p, q), np.maximum(p, q)
        order = np.lexsort((hi, lo, -w, comp))
        comp, w, lo, hi = comp[order], w[order], lo[order], hi[order]
        first = np.ones(len(comp), bool)
        first[1:] = comp[1:] != comp[:-1]
        return comp[first], w[first], lo[first], hi[first]

    return heaviest


@mutant("mst_dask weights rounded to float32", page="h0-certified-boruvka.md",
        target="sheaftopo.distributed:mst_dask")
def _m_dask_float32(original: Any) -> Any:
    def rounded(forest: Any, *a: Any, **k: Any) -> Any:
        return dataclasses.replace(forest, weights=forest.weights.astype(np.float32).astype(float))

    return _wrap(rounded)(original)
