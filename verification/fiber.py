"""Checks of the fiber theorems (theory/fiber-*.md), with the mutants they must kill.

Every check compares sheaftopo.fiber against an independent computation:

* fiber products: brute force over all pairs, membership decided in exact
  rational arithmetic (:class:`fractions.Fraction`, or int64 on integer
  lattices) wherever a pair lies within the documented rounding band of ε,
  so a one-ulp difference between two float evaluations can never raise a
  false alarm, and pairs at exactly ε (exact ties) must be in;
* Lipschitz stability: distances in numpy, the worst case built from the
  top singular vector of the embedding matrix (numpy SVD);
* concentration: scipy.stats for the probabilities, a log-domain series of
  the regularised incomplete gamma function for the deep tails, the page's
  closed forms for the bounds;
* ring arithmetic: Python's exact integers and ``pow(a, -1, n)``;
* shared subspaces: the population subspaces of a planted model and
  ``scipy.linalg.subspace_angles``; principal angles at 40 digits (mpmath).

Each page's mutants sit after its checks; ``python -m verification --mutants``
must kill every one of them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from sheaftopo.verify import Family, Statement, shrink_arrays

from ._mutants import mutant
from ._registry import register

# --------------------------------------------------------------------------
# brute force for fiber products, exact at the boundary
# --------------------------------------------------------------------------

_U = 2.0**-53
_SMALL = 2.0**-968
_MAX = float(np.finfo(np.float64).max)
_PLANS = (("auto", "auto"), ("blocked", "float32"), ("blocked", "float64"), ("kdtree", "auto"))


def _rescaled(t: np.ndarray) -> tuple[float, float]:
    """(m, sum of (t_k / m)**2 in order): the sum of squares of tiny or huge differences."""
    m = float(np.abs(t).max())
    if m == 0.0:
        return 0.0, 0.0
    s = 0.0
    for x in t:
        q = float(x) / m
        s = s + q * q
    return m, s


def _unit_rows(X: np.ndarray) -> np.ndarray:
    """Each row divided by 2**e (largest magnitude in [1/2, 1); exact), then by its norm."""
    U = np.empty_like(X)
    for i, x in enumerate(X):
        y = _pow2_normalised(x)
        s = 0.0
        for v in y:
            s = s + float(v) * float(v)
        U[i] = y / math.sqrt(s)
    return U


def _pow2_normalised(x: np.ndarray) -> np.ndarray:
    return np.ldexp(x, -int(np.frexp(np.abs(x).max())[1]))


def _canonical(F: np.ndarray, G: np.ndarray, metric: str) -> np.ndarray:
    """All N x M canonical distances in float64, features summed in order.

    Used to locate pairs: every value is within the rounding band of
    :func:`_band` of the exact distance, and pairs inside the band are decided
    in exact arithmetic, never by this value.
    """
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
            m, q = _rescaled(F[i] - G[j])
            D[i, j] = m * math.sqrt(q)
        for i, j in zip(*np.nonzero(np.isinf(s)), strict=True):
            m, q = _rescaled(0.5 * F[i] - 0.5 * G[j])
            D[i, j] = 2.0 * (m * math.sqrt(q)) if m * math.sqrt(q) <= _MAX / 2 else math.inf
        return D
    for i, j in zip(*np.nonzero(s < _SMALL), strict=True):
        m, q = _rescaled(F[i] - G[j])
        s[i, j] = m * (m * q)
    return np.minimum(0.5 * s, 2.0)


def _band(d: int, metric: str) -> float:
    """How far the canonical distance may be from the exact one.

    Euclidean: relative, (d + 4) 2**-52 (twice the page's (d + 2) 2**-53 and
    the final roundings); cosine: absolute, (8d + 32) 2**-53 (the roundings of
    the unit rows, the chord and its sum, with a factor 2 to spare).
    """
    return (d + 4) * 2.0**-52 if metric == "euclidean" else (8 * d + 32) * _U


def _lattice(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(A, B, k) with X = A 2**k, Y = B 2**k for int64 A, B below 2**26, else None.

    (With fewer than 2**9 features the squared distances of such rows are exact
    in int64.)
    """
    if X.shape[1] >= 2**9:
        return None
    Z = np.concatenate([X.ravel(), Y.ravel()])
    Z = Z[Z != 0]
    if Z.size == 0:
        return np.zeros(X.shape, np.int64), np.zeros(Y.shape, np.int64), 0
    mant, ex = np.frexp(Z)
    mi = np.abs(np.ldexp(mant, 53)).astype(np.int64)
    low = ex - 53 + np.log2(mi & -mi).astype(np.int64)
    k = int(low.min())
    A, B = np.ldexp(X, -k), np.ldexp(Y, -k)
    if max(np.abs(A).max(initial=0), np.abs(B).max(initial=0)) >= 2.0**26:
        return None
    return A.astype(np.int64), B.astype(np.int64), k


def _exact_sq(f: np.ndarray, g: np.ndarray) -> Fraction:
    """The squared Euclidean distance of two float rows, exactly."""
    diffs = (Fraction(float(a)) - Fraction(float(b)) for a, b in zip(f, g, strict=True))
    return sum((t * t for t in diffs), Fraction(0))


def _exact_sum(t: list[float], scale: float = 1.0) -> float | None:
    """fl(sum_k (t_k / scale)**2) in order when every operation is exact, else None."""
    s = 0.0
    for x in t:
        q = x / scale
        sq = q * q
        s2 = s + sq
        if (Fraction(q) * Fraction(scale) != Fraction(x) or Fraction(sq) != Fraction(q) ** 2
                or Fraction(s2) != Fraction(s) + Fraction(sq)):
            return None
        s = s2
    return s


def _exact_root(m: float, q: float | None) -> float | None:
    """fl(m * fl(sqrt(q))) when both operations are exact, else None."""
    if q is None:
        return None
    r = math.sqrt(q)
    if Fraction(r) ** 2 != Fraction(q) or Fraction(m * r) != Fraction(m) * Fraction(r):
        return None
    return m * r


def _exactly_canonical(f: np.ndarray, g: np.ndarray) -> float | None:
    """The page's canonical Euclidean distance when no operation rounds, else None.

    Follows the definition (theory/fiber-product.md): the branch is chosen by
    the float64 sum of squares as computed, and every difference, square,
    partial sum, rescaling, square root and product of that branch is checked
    exact in rationals. Where nothing rounds, any correct evaluation of the
    definition gives this value, the exact distance.
    """
    a = [float(v) for v in f]
    b = [float(v) for v in g]
    t = [x - y for x, y in zip(a, b, strict=True)]
    if any(Fraction(d) != Fraction(x) - Fraction(y) for d, x, y in zip(t, a, b, strict=True)):
        return None
    s = 0.0
    for x in t:  # the branch: the float sum as computed (inf when it overflows)
        s = s + x * x if abs(x) < 2.0**512 else math.inf
    if _SMALL <= s <= _MAX:
        return _exact_root(1.0, _exact_sum(t))
    if s < _SMALL:  # tiny differences, divided by the largest
        m = max(abs(x) for x in t)
        return 0.0 if m == 0.0 else _exact_root(m, _exact_sum(t, m))
    h = [0.5 * x - 0.5 * y for x, y in zip(a, b, strict=True)]  # overflowing: halved rows
    if any(Fraction(d) != (Fraction(x) - Fraction(y)) / 2 for d, x, y in zip(h, a, b, strict=True)):
        return None
    m = max(abs(x) for x in h)
    r = _exact_root(m, _exact_sum(h, m))
    return None if r is None or r > _MAX / 2 else 2.0 * r


def _is_square(q: Fraction) -> bool:
    """Whether a non-negative rational is the square of a rational."""
    n, d = q.numerator, q.denominator
    return math.isqrt(n) ** 2 == n and math.isqrt(d) ** 2 == d


def _cos_within(f: np.ndarray, g: np.ndarray, x: Fraction) -> bool:
    """Exactly: 1 - cos(f, g) <= x, i.e. f.g >= (1 - x) |f| |g|."""
    fa = [Fraction(float(v)) for v in f]
    ga = [Fraction(float(v)) for v in g]
    a = sum((p * q for p, q in zip(fa, ga, strict=True)), Fraction(0))
    bc = sum((p * p for p in fa), Fraction(0)) * sum((q * q for q in ga), Fraction(0))
    k = 1 - x
    if k <= 0:
        return a >= 0 or a * a <= k * k * bc
    return a > 0 and a * a >= k * k * bc


class _Oracle:
    """Brute-force membership for one (F, G, metric), exact at the boundary."""

    def __init__(self, F: np.ndarray, G: np.ndarray, metric: str):
        self.F = np.asarray(F, np.float64)
        self.G = np.asarray(G, np.float64)
        self.metric = metric
        self.D = _canonical(self.F, self.G, metric)
        self.eta = _band(self.F.shape[1], metric)
        self.lattice = _lattice(self.F, self.G) if metric == "euclidean" else None
        # cosine: rows equal up to a power-of-two factor have canonical distance 0
        self.same_direction = np.zeros(self.D.shape, bool)
        if metric == "cosine":
            pf = np.array([_pow2_normalised(x) for x in self.F])
            pg = np.array([_pow2_normalised(x) for x in self.G])
            self.same_direction = (pf[:, None, :] == pg[None]).all(-1)

    def _exact_on_lattice(self, E2: Fraction, e_int: int) -> bool:
        """On a lattice 2**k Z^d, no operation of the canonical distance rounds.

        Differences, squares and partial sums are 2**k or 2**(2k) times
        integers below 2**53 (representable when 2k >= -1074), and the sum is
        in the range where its square root is taken directly (exact when
        ``E2`` is a square, which the caller checks).
        """
        if self.lattice is None or not 0 <= e_int < 2**53:
            return False
        k = self.lattice[2]
        return 2 * k >= -1074 and Fraction(_SMALL) <= E2 <= Fraction(_MAX)

    def tolerance(self) -> np.ndarray:
        """How far a correct canonical distance may be from ``D``."""
        return 2 * self.eta * self.D if self.metric == "euclidean" else np.full_like(
            self.D, 2 * self.eta)

    def classify(self, eps: float) -> tuple[np.ndarray, np.ndarray, int]:
        """(must_in, must_out, exact ties at eps): pairs neither in nor out may go either way."""
        D, F, G = self.D, self.F, self.G
        if self.metric == "euclidean" and eps == 0.0:
            eq = (F[:, None, :] == G[None]).all(-1)
            return eq, ~eq, int(eq.sum())
        if self.metric == "euclidean":
            with np.errstate(invalid="ignore"):
                band = np.abs(D - eps) <= 4 * self.eta * np.maximum(D, eps)
        else:
            band = np.abs(D - eps) <= 4 * self.eta
            band &= ~self.same_direction
        must_in = (D <= eps) & ~band
        must_out = (D > eps) & ~band
        if self.metric == "cosine":
            must_in |= self.same_direction
            must_out &= ~self.same_direction
        rows, cols = np.nonzero(band)
        if not len(rows):
            return must_in, must_out, int(self.same_direction.sum())
        e = Fraction(eps)
        if self.metric == "cosine":
            lo, hi = e - Fraction(self.eta), e + Fraction(self.eta)
            for i, j in zip(rows, cols, strict=True):
                if _cos_within(F[i], G[j], lo):
                    must_in[i, j] = True
                elif not _cos_within(F[i], G[j], hi):
                    must_out[i, j] = True
            return must_in, must_out, int(self.same_direction.sum())
        eta = Fraction(self.eta)
        lo, hi, tie = (e * (1 - eta)) ** 2, (e * (1 + eta)) ** 2, e * e
        if self.lattice is not None:
            A, B, k = self.lattice
            diff = A[rows] - B[cols]
            E = np.einsum("ij,ij->i", diff, diff)  # < d 2**54: exact in int64 for d < 2**9
            scale = Fraction(2) ** (2 * k)
            exact = [Fraction(int(v)) * scale for v in E]
        else:
            exact = [_exact_sq(F[i], G[j]) for i, j in zip(rows, cols, strict=True)]
        ties = 0
        for idx, (i, j, E2) in enumerate(zip(rows, cols, exact, strict=True)):
            if _is_square(E2) and (
                self._exact_on_lattice(E2, int(E[idx]) if self.lattice else -1)
                or _exactly_canonical(F[i], G[j]) is not None
            ):  # computed without rounding: the canonical distance is the exact one
                must_in[i, j], must_out[i, j] = E2 <= tie, E2 > tie
                ties += int(E2 == tie)
            elif E2 <= lo:
                must_in[i, j] = True
            elif E2 > hi:
                must_out[i, j] = True
        return must_in, must_out, ties


# --------------------------------------------------------------------------
# instance families of pairs of embedding sets
# --------------------------------------------------------------------------

#: integer offsets with an integer Euclidean length: pairs at exactly eps
_PYTHAGOREAN = (((3, 4), 5), ((1, 2, 2), 3), ((2, 3, 6), 7), ((1, 4, 8), 9), ((2, 6, 9), 11),
                ((1,), 1), ((2, 2, 1), 3))


def _offset(rng: np.random.Generator, d: int, length: int) -> np.ndarray:
    """An integer vector of Euclidean length ``length`` (one of the _PYTHAGOREAN ones)."""
    choices = [p for p, n in _PYTHAGOREAN if n == length and len(p) <= d]
    v = np.zeros(d)
    p = choices[int(rng.integers(len(choices)))]
    v[rng.choice(d, len(p), replace=False)] = np.array(p) * rng.choice([-1, 1], len(p))
    return v


def _sets_gaussian(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    n, m = (int(v) for v in rng.integers(1, 90, 2))
    d = int(rng.choice([1, 2, 3, 5, 8, 17, 33]))
    return "gaussian", rng.standard_normal((n, d)), rng.standard_normal((m, d)), []


def _sets_ties(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    """Integer lattice times 2**s (s: subnormal to overflowing squares), pairs at exactly eps."""
    n, m = (int(v) for v in rng.integers(2, 30, 2))
    d = int(rng.choice([2, 3, 4, 8]))
    s = int(rng.choice([0, 0, -600, -1066, 400, 1000]))
    F = rng.integers(-3, 4, (n, d)).astype(float)
    lengths = [n_ for p, n_ in _PYTHAGOREAN if len(p) <= d]
    chosen = sorted({int(v) for v in rng.choice(lengths, 2)})
    G = F[rng.integers(0, n, m)] + np.array(
        [_offset(rng, d, int(rng.choice(chosen))) for _ in range(m)]
    )
    eps = [0.0] + [math.ldexp(float(c), s) for c in chosen]
    return f"lattice ties at eps = {chosen} x 2^{s}", np.ldexp(F, s), np.ldexp(G, s), eps


def _sets_hamming(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    """Binary grids: Hamming distance k**2 is Euclidean distance k exactly, in many pairs."""
    n, m = (int(v) for v in rng.integers(1, 120, 2))
    d = int(rng.choice([1, 2, 4, 9, 16]))
    F = rng.integers(0, 2, (n, d)).astype(float)
    G = rng.integers(0, 2, (m, d)).astype(float)
    eps = [float(k) for k in range(math.isqrt(d) + 1)]
    return f"binary grid d={d} (ties at every integer eps)", F, G, eps


def _sets_duplicates(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    """float32 rows at 1e3 and their copies (scaled by powers of two for cosine)."""
    n, m = (int(v) for v in rng.integers(1, 80, 2))
    d = int(rng.choice([1, 3, 8, 17]))
    F = (rng.standard_normal((n, d)) * 0.01 + 1e3).astype(np.float32)
    G = F[rng.integers(0, n, m)].copy()
    G[rng.random(m) < 0.3] += np.float32(0.01)
    if rng.random() < 0.5:  # for cosine: the same directions at other magnitudes
        G = G * np.float32(2.0) ** rng.integers(-3, 4, (m, 1)).astype(np.float32)
    return "float32 duplicates at 1e3", F, G, [0.0]


def _sets_clusters(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    n, m = (int(v) for v in rng.integers(1, 120, 2))
    d = int(rng.choice([2, 5, 17, 33]))
    k = int(rng.integers(2, 6))
    c = rng.standard_normal((k, d)) * 10
    F = c[rng.integers(0, k, n)] + rng.standard_normal((n, d)) * 0.1
    G = c[rng.integers(0, k, m)] + rng.standard_normal((m, d)) * 0.1
    return f"{k} tight clusters", F, G, []


def _sets_scaled(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    n, m = (int(v) for v in rng.integers(1, 60, 2))
    d = int(rng.choice([1, 2, 5, 17]))
    s = float(10.0 ** rng.integers(-300, 301))
    F, G = rng.standard_normal((n, d)) * s, rng.standard_normal((m, d)) * s
    return f"gaussian x {s:.0e}", F, G, []


def _sets_empty(rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray, list[float]]:
    """Empty fibers: eps below every distance, single rows."""
    n, m = (int(v) for v in rng.choice([1, 2, 40], 2))
    d = int(rng.choice([1, 4, 17]))
    F, G = rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.5
    dmin = float(np.min(np.linalg.norm(F[:, None] - G[None], axis=-1)))
    return "empty fibers", F, G, [0.0, dmin * 0.999, math.nextafter(dmin, 0) * (1 - 1e-12)]


def _fix_zero_rows(X: np.ndarray) -> np.ndarray:
    X = X.copy()
    X[(X == 0).all(axis=1), 0] = 1.0
    return X


def _pairs_family(
    name: str,
    make: Callable[[np.random.Generator], tuple[str, np.ndarray, np.ndarray, list[float]]],
    metrics: tuple[str, ...] = ("euclidean", "cosine"),
) -> Family:
    """A family of (F, G, eps grid, metric, method) instances built by ``make``.

    When ``make`` gives no grid, eps is 0, a distance that occurs (a tie at
    eps) and a small quantile of the distances.
    """

    def sample(rng: np.random.Generator) -> dict:
        label, F, G, eps = make(rng)
        metric = str(metrics[int(rng.integers(len(metrics)))])
        if metric == "cosine":
            F, G = _fix_zero_rows(F), _fix_zero_rows(G)
        if not eps:
            D = _canonical(np.asarray(F, float), np.asarray(G, float), metric)
            eps = [0.0, float(D.flat[rng.integers(D.size)]),
                   float(np.quantile(D, rng.uniform(0, 0.2)))]
        method, precision = _PLANS[int(rng.integers(len(_PLANS)))]
        n, m = len(F), len(G)
        true = rng.choice(n * m, int(rng.integers(1, min(n * m, 20) + 1)), replace=False)
        return {"F": F, "G": G, "eps": tuple(sorted(eps)), "metric": metric,
                "method": method, "precision": precision, "label": label,
                "true_i": true // m, "true_j": true % m,
                "fraction": float(rng.choice([1.0, 0.5, rng.uniform(0.01, 1.0)]))}

    def describe(inst: dict) -> str:
        (n, d), m = inst["F"].shape, len(inst["G"])
        eps = [float(f"{e:.4g}") for e in inst["eps"]]
        return (f"{inst['label']} n={n} m={m} d={d} {inst['metric']} "
                f"{inst['method']}/{inst['precision']} eps={eps}")

    return Family(name, sample, describe=describe, shrink=_shrink_pairs)


def _shrink_pairs(inst: dict) -> Iterator[dict]:
    """Drop one row of F or of G (and the true pairs through it), then round."""
    for key, idx in (("F", "true_i"), ("G", "true_j")):
        X = inst[key]
        for i in range(len(X) if len(X) > 1 else 0):
            keep = inst[idx] != i
            if keep.any():
                cand = {**inst, key: np.delete(X, i, axis=0),
                        "true_i": inst["true_i"][keep], "true_j": inst["true_j"][keep]}
                cand[idx] = cand[idx] - (cand[idx] > i)
                yield cand
    yield from shrink_arrays(inst)


def _product_families() -> list[Family]:
    return [
        _pairs_family("gaussian", _sets_gaussian),
        _pairs_family("lattice ties at exactly eps, 2^-1066..2^1000", _sets_ties, ("euclidean",)),
        _pairs_family("binary grids (many ties)", _sets_hamming, ("euclidean",)),
        _pairs_family("float32 duplicates", _sets_duplicates),
        _pairs_family("tight clusters", _sets_clusters),
        _pairs_family("scales 1e-300..1e300", _sets_scaled),
        _pairs_family("empty fibers", _sets_empty, ("euclidean",)),
    ]


# --------------------------------------------------------------------------
# fiber-product.md
# --------------------------------------------------------------------------


def _product_errors(inst: dict) -> tuple[float, float]:
    """Mismatches against the exact brute force (pairs, order, distances, profile counts)."""
    from sheaftopo.fiber import approximate_fiber_product, epsilon_star, fiber_profile

    F, G, metric = inst["F"], inst["G"], inst["metric"]
    kw = {"metric": metric, "method": inst["method"], "precision": inst["precision"],
          "n_jobs": 1}
    orc = _Oracle(F, G, metric)
    tol = orc.tolerance()
    M = len(G)
    wrong, sizes, bounds = 0, [], []
    for eps in inst["eps"]:
        res = approximate_fiber_product(F, G, eps, **kw)
        must_in, must_out, _ = orc.classify(eps)
        got = np.zeros(orc.D.shape, bool)
        got[res.rows, res.cols] = True
        wrong += int((must_in & ~got).sum() + (must_out & got).sum())
        key = res.rows * M + res.cols
        wrong += int(np.any(np.diff(key) <= 0))  # lexicographic, no repeats
        r, c, dist = res.rows, res.cols, res.distances
        with np.errstate(invalid="ignore"):
            wrong += int((dist > eps).sum() + (np.abs(dist - orc.D[r, c]) > tol[r, c]).sum())
        sizes.append(res.n_pairs)
        bounds.append((must_in, must_out))
    ti, tj, q = inst["true_i"], inst["true_j"], inst["fraction"]
    prof = fiber_profile(F, G, np.array(inst["eps"]), true_pairs=np.stack([ti, tj], 1),
                         fraction=q, **kw)
    for k, (must_in, must_out) in enumerate(bounds):
        count = int(prof.counts[k])
        wrong += int(not must_in.sum() <= count <= (~must_out).sum()) + int(count != sizes[k])
        # recall of the true pairs, within what must be in and what may be
        T = len(ti)
        rec = float(prof.recall[k])
        wrong += int(not must_in[ti, tj].sum() / T <= rec <= (~must_out[ti, tj]).sum() / T)
    # eps*: the ceil(qT)-th smallest true distance (order statistics move by at most the band)
    star = epsilon_star(F, G, np.stack([ti, tj], 1), fraction=q, metric=metric)
    order = np.sort(orc.D[ti, tj])
    kth = float(order[max(1, math.ceil(q * len(ti) - 1e-12 * len(ti))) - 1])
    slack = 2 * orc.eta * max(kth, star) if metric == "euclidean" else 2 * orc.eta
    wrong += int(not abs(star - kth) <= slack) + int(prof.epsilon_star != star)
    return float(wrong), 0.0


@register("fiber-product-exact", theory="fiber-product.md", kind="identity", quick=4, full=40)
def _product_exact() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-product-exact",
        _product_errors,
        rtol=0.0,
        description="approximate_fiber_product / fiber_profile = brute force over all pairs, "
        "decided exactly (rationals) within the rounding band of eps; exact ties must be in",
    )
    return st, _product_families()


def _monotone_errors(inst: dict) -> tuple[float, float]:
    """Pairs lost as eps grows, and Pi_0 against the pairs of equal rows (Euclidean)."""
    from sheaftopo.fiber import approximate_fiber_product

    F, G, metric = inst["F"], inst["G"], inst["metric"]
    D = _canonical(np.asarray(F, float), np.asarray(G, float), metric)
    grid = sorted({0.0, *inst["eps"], *np.quantile(D, [0.02, 0.3]).tolist()})
    prev: set = set()
    bad = 0
    for k, e in enumerate(grid):
        method = ("auto", "blocked", "kdtree")[k % 3]
        res = approximate_fiber_product(F, G, e, metric=metric, method=method, n_jobs=1)
        cur = set(zip(res.rows.tolist(), res.cols.tolist(), strict=True))
        bad += len(prev - cur)
        if k == 0 and metric == "euclidean":  # the exact fiber product: equal rows
            equal = (np.asarray(F, float)[:, None, :] == np.asarray(G, float)[None]).all(-1)
            er, ec = np.nonzero(equal)
            bad += len(cur ^ set(zip(er.tolist(), ec.tolist(), strict=True)))
        prev = cur
    return float(bad), 0.0


@register("fiber-monotone", theory="fiber-product.md", kind="identity", quick=3, full=15)
def _monotone() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-monotone",
        _monotone_errors,
        rtol=0.0,
        description="eps <= eps' => product(eps) is a subset of product(eps'); "
        "product(0) = {F_i = G_j}",
    )
    return st, _product_families()


def _product_with(original: Any, eps_map: Callable[[float], float], keep: Any = None) -> Any:
    """approximate_fiber_product run at a different eps, or with some pairs dropped."""

    def mutated(F: Any, G: Any, eps: float, **kw: Any) -> Any:
        res = original(F, G, eps_map(float(eps)), **kw)
        if keep is None:
            return dataclasses.replace(res, eps=eps)
        k = keep(res.distances, float(eps))
        return dataclasses.replace(res, rows=res.rows[k], cols=res.cols[k],
                                   distances=res.distances[k])

    return mutated


@mutant("fiber product: < instead of <=", page="fiber-product.md",
        target="sheaftopo.fiber:approximate_fiber_product", quick=True)
def _mut_strict(original: Any) -> Any:
    return _product_with(original, lambda e: e, keep=lambda d, e: d < e)


@mutant("fiber product: eps x (1 - 1e-9)", page="fiber-product.md",
        target="sheaftopo.fiber:approximate_fiber_product")
def _mut_eps_shrunk(original: Any) -> Any:
    return _product_with(original, lambda e: e * (1 - 1e-9))


@mutant("fiber product: eps x 2", page="fiber-product.md",
        target="sheaftopo.fiber:approximate_fiber_product")
def _mut_eps_doubled(original: Any) -> Any:
    return _product_with(original, lambda e: 2 * e)


@mutant("fiber product: squared distances reported", page="fiber-product.md",
        target="sheaftopo.fiber:approximate_fiber_product")
def _mut_squared(original: Any) -> Any:
    def mutated(F: Any, G: Any, eps: float, **kw: Any) -> Any:
        res = original(F, G, eps, **kw)
        return dataclasses.replace(res, distances=res.distances**2)

    return mutated


@mutant("epsilon_star: one true pair more than ceil(qT)", page="fiber-product.md",
        target="sheaftopo.fiber:epsilon_star")
def _mut_star(original: Any) -> Any:
    def mutated(F: Any, G: Any, true_pairs: Any = "diagonal", **kw: Any) -> Any:
        T = len(F) if isinstance(true_pairs, str) else len(true_pairs)
        q = min(1.0, kw.pop("fraction", 1.0) + 1.0 / T)
        return original(F, G, true_pairs, fraction=q, **kw)

    return mutated


@mutant("fiber_profile: counts off by one grid point", page="fiber-product.md",
        target="sheaftopo.fiber:fiber_profile")
def _mut_profile_shift(original: Any) -> Any:
    def mutated(F: Any, G: Any, eps_grid: Any, **kw: Any) -> Any:
        res = original(F, G, eps_grid, **kw)
        return dataclasses.replace(res, counts=np.concatenate([[0], res.counts[:-1]]))

    return mutated


# --------------------------------------------------------------------------
# fiber-polynomial-ring.md: ring arithmetic against Python's exact integers
# --------------------------------------------------------------------------


def _int_mul(P: list[int], Q: list[int], n: int) -> list[int]:
    """The product in Z[x] reduced mod n, exactly: numpy convolutions of 16-bit limbs
    (each below 2**41 for coefficients below 2**31 and lengths below 2**9), combined
    in Python integers."""
    a, b = np.array(P, np.int64), np.array(Q, np.int64)
    a1, a0, b1, b0 = a >> 16, a & 0xFFFF, b >> 16, b & 0xFFFF
    hi, lo = np.convolve(a1, b1), np.convolve(a0, b0)
    mid = np.convolve(a1, b0) + np.convolve(a0, b1)
    return [(int(h) * 2**32 + int(m) * 2**16 + int(w)) % n
            for h, m, w in zip(hi, mid, lo, strict=True)]


def _int_eval(P: list[int], x: int, n: int) -> int:
    return sum(c * pow(x, k, n) for k, c in enumerate(P)) % n


def _degree(P: list[int]) -> int:
    nz = [k for k, c in enumerate(P) if c]
    return nz[-1] if nz else -1


def _ring_family(name: str, moduli: Callable[[np.random.Generator], int], kind: str) -> Family:
    """Batches of polynomial pairs over Z_n; ``kind`` pushes coefficients to a hard corner."""

    def sample(rng: np.random.Generator) -> dict:
        n = moduli(rng)
        B = int(rng.integers(1, 5)) if kind != "long" else 1
        lp, lq = ((int(v) for v in rng.integers(1, 20, 2)) if kind != "long"
                  else (300, int(rng.integers(1, 300))))
        P = rng.integers(0, n, (B, lp), dtype=np.int64)
        Q = rng.integers(0, n, (B, lq), dtype=np.int64)
        if kind == "top":  # n - 1 - small: the overflow hazard of products and sums
            P, Q = n - 1 - P % 7, n - 1 - Q % 5
        elif kind == "zero-divisors" and n % 2 == 0 and n > 2:  # lc(P) lc(Q) = 0 in Z_n
            P[:, -1], Q[:, -1] = n // 2, 2
        elif kind == "tiny":  # zero polynomials, constants, zero leading coefficients, P = Q
            P[rng.random(P.shape) < 0.6] = 0
            Q[rng.random(Q.shape) < 0.6] = 0
            if rng.random() < 0.3:
                Q = P.copy()
        return {"P": P, "Q": Q, "pts": rng.integers(0, n, 3, dtype=np.int64),
                "a": rng.integers(0, n, 8, dtype=np.int64), "n": n}

    def describe(inst: dict) -> str:
        return (f"Z_{inst['n']}[x] batch {len(inst['P'])} lengths {inst['P'].shape[1]}, "
                f"{inst['Q'].shape[1]}")

    return Family(name, sample, describe=describe)


def _ring_errors(inst: dict) -> tuple[float, float]:
    """Mismatches of +, -, x, eval, degree, units and inverses against exact integers."""
    from sheaftopo.fiber import (
        is_unit,
        poly_add,
        poly_degree,
        poly_eval,
        poly_mul,
        poly_reduce,
        poly_sub,
        unit_inverse,
    )

    P, Q, pts, a, n = inst["P"], inst["Q"], inst["pts"], inst["a"], inst["n"]
    R = poly_mul(P, Q, modulus=n)
    S = poly_add(P, Q, modulus=n)
    T = poly_sub(P, Q, modulus=n)
    E, EQ = poly_eval(P, pts, modulus=n), poly_eval(Q, pts, modulus=n)
    lp, lq = P.shape[1], Q.shape[1]
    L = max(lp, lq)
    wrong = 0
    for b in range(len(P)):
        p, q = [int(v) for v in P[b]], [int(v) for v in Q[b]]
        pp, qq = p + [0] * (L - lp), q + [0] * (L - lq)
        wrong += int(R[b].tolist() != _int_mul(p, q, n))
        wrong += int(S[b].tolist() != [(u + v) % n for u, v in zip(pp, qq, strict=True)])
        wrong += int(T[b].tolist() != [(u - v) % n for u, v in zip(pp, qq, strict=True)])
        wrong += int(E[b].tolist() != [_int_eval(p, int(x), n) for x in pts])
        # evaluation is a ring homomorphism
        ER = poly_eval(R[b], pts, modulus=n).tolist()
        wrong += int(ER != [(int(u) * int(v)) % n for u, v in zip(E[b], EQ[b], strict=True)])
        # degrees: deg(PQ) = deg P + deg Q exactly when lc(P) lc(Q) != 0 in Z_n
        dp, dq, dr = _degree(p), _degree(q), int(poly_degree(R[b]))
        wrong += int(int(poly_degree(P[b])) != dp) + int(dr != _degree(_int_mul(p, q, n)))
        if dp >= 0 and dq >= 0:
            full = (p[dp] * q[dq]) % n != 0
            wrong += int((dr == dp + dq) != full or dr > dp + dq)
    # poly_reduce: any integers (negative ones included) into [0, n)
    wrong += int(poly_reduce(P * 3 - 5 * n, modulus=n).tolist() != (P * 3 % n).tolist())
    units = is_unit(a, modulus=n)
    wrong += int(units.tolist() != [math.gcd(int(v), n) == 1 for v in a])
    ua = [int(v) for v in a if math.gcd(int(v), n) == 1]
    if ua:
        inv = unit_inverse(np.array(ua, dtype=np.int64), modulus=n)
        wrong += int(inv.tolist() != [pow(v, -1, n) for v in ua])
    return float(wrong), 0.0


@register("fiber-ring", theory="fiber-polynomial-ring.md", kind="identity", quick=4, full=60)
def _ring() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-ring",
        _ring_errors,
        rtol=0.0,
        description="Z_n[x]: batched +, -, x, eval, reduce, degree = exact integer arithmetic "
        "mod n; eval is a ring homomorphism; deg(PQ) = deg P + deg Q iff lc(P)lc(Q) != 0; "
        "units and inverses",
    )
    listed = (2, 4, 256, 257, 1000, 65536, 2**31 - 1, 2**31)

    def some(rng: np.random.Generator) -> int:
        return int(rng.choice(listed))

    def random_n(rng: np.random.Generator) -> int:
        return int(rng.integers(2, 10**6))

    fams = [
        _ring_family("random n < 1e6", random_n, "random"),
        _ring_family("coefficients near n - 1 (overflow)", some, "top"),
        _ring_family("zero-divisor leading coefficients", some, "zero-divisors"),
        _ring_family("zero and constant polynomials", some, "tiny"),
        _ring_family("length 300 at n = 2^31", lambda rng: 2**31, "long"),
    ]
    return st, fams


@mutant("poly_mul drops the top coefficient", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:poly_mul", quick=True)
def _mut_mul_top(original: Any) -> Any:
    def mutated(P: Any, Q: Any, *, modulus: int) -> Any:
        R = original(P, Q, modulus=modulus).copy()
        R[..., -1] = 0
        return R

    return mutated


@mutant("unit_inverse modulo n + 1", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:unit_inverse")
def _mut_inverse_modulus(original: Any) -> Any:
    def mutated(a: Any, *, modulus: int) -> Any:
        m = modulus + 1
        return np.array([pow(int(v), -1, m) if math.gcd(int(v), m) == 1 else 1
                         for v in np.ravel(a)], dtype=np.int64)

    return mutated


@mutant("poly_eval with the coefficients reversed", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:poly_eval")
def _mut_eval_reversed(original: Any) -> Any:
    return lambda P, points, *, modulus: original(np.asarray(P)[..., ::-1], points,
                                                  modulus=modulus)


@mutant("poly_add without reduction mod n", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:poly_add")
def _mut_add_unreduced(original: Any) -> Any:
    def mutated(P: Any, Q: Any, *, modulus: int) -> Any:
        R = original(P, Q, modulus=modulus)
        A, B = np.asarray(P), np.asarray(Q)
        L = R.shape[-1]
        pad = [(0, 0)] * (A.ndim - 1)
        A = np.pad(A, [*pad, (0, L - A.shape[-1])])
        B = np.pad(B, [*([(0, 0)] * (B.ndim - 1)), (0, L - B.shape[-1])])
        return A + B

    return mutated


@mutant("is_unit: odd residues are the units", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:is_unit")
def _mut_is_unit_odd(original: Any) -> Any:
    return lambda a, *, modulus: np.asarray(a) % 2 == 1


@mutant("poly_degree off by one", page="fiber-polynomial-ring.md",
        target="sheaftopo.fiber:poly_degree")
def _mut_degree(original: Any) -> Any:
    return lambda P: original(P) + 1


# --------------------------------------------------------------------------
# fiber-lipschitz.md
# --------------------------------------------------------------------------


def _embedding(rng: np.random.Generator, L: int, n: int) -> Any:
    from sheaftopo.fiber import evaluation_embedding, projection_embedding

    k = int(rng.integers(1, 6))
    if rng.random() < 0.5:
        return evaluation_embedding(L, modulus=n, n_points=k)
    return projection_embedding(L, k, modulus=n, seed=int(rng.integers(2**31)))


def _isometry(rng: np.random.Generator, k: int, d: int, scale: float) -> np.ndarray:
    """scale times a k x d matrix with orthonormal rows (k <= d): norm exactly ``scale``."""
    Q = np.linalg.qr(rng.standard_normal((d, k)))[0]
    return scale * Q.T


def _lipschitz_random(rng: np.random.Generator) -> dict:
    """8-bit images and token sequences, random embeddings and perturbations (with duplicates)."""
    from sheaftopo.fiber import encode_image, encode_tokens

    N = int(rng.integers(5, 60))
    side = int(rng.choice([4, 8]))
    patch = int(rng.choice([2, side]))
    images = rng.integers(0, 256, (N, side, side)).astype(np.uint8)
    images[rng.random(N) < 0.2] = images[0]  # duplicate items
    vocab = int(rng.integers(2, 5000))
    tokens = rng.integers(0, vocab, (N, int(rng.integers(1, 12))))
    amp = int(rng.integers(0, 60))
    noisy = np.clip(images.astype(int) + rng.integers(-amp, amp + 1, images.shape), 0, 255)
    tokens2 = tokens.copy()
    flip = rng.random(tokens.shape) < rng.uniform(0, 0.3)
    tokens2[flip] = rng.integers(0, vocab, int(flip.sum()))
    P, P2 = encode_image(images, patch_size=patch), encode_image(noisy.astype(np.uint8),
                                                                  patch_size=patch)
    Q, Q2 = encode_tokens(tokens, vocab_size=vocab), encode_tokens(tokens2, vocab_size=vocab)
    f, g = _embedding(rng, P.shape[-1], 256), _embedding(rng, Q.shape[-1], vocab)
    d = int(rng.integers(2, 12))
    Wf = rng.standard_normal((f.matrix.shape[0] * (P.shape[1] if P.ndim == 3 else 1), d))
    Wg = rng.standard_normal((g.matrix.shape[0], d))
    return {"P": P, "P2": P2, "Q": Q, "Q2": Q2, "f": f, "g": g, "Wf": Wf, "Wg": Wg,
            "bg": np.zeros(d), "quantile": float(rng.uniform(0.01, 0.3)),
            "label": f"N={N} side={side} patch={patch} vocab={vocab} amp={amp} d={d}"}


def _lipschitz_aligned(rng: np.random.Generator) -> dict:
    """The sharp case: an item moves along the top right singular vector of its embedding
    matrix, its partner sits at distance eps exactly behind it on that line, the shared maps
    are scaled isometries; the ratio tends to 1 (integer rounding of the move only). One
    pair only: an unmoved pair near eps would reach ratio 1 whatever the constants."""
    N = 1
    nf, ng = int(rng.choice([256, 4096])), int(rng.integers(300, 5000))
    Lf, Lg = (int(v) for v in rng.integers(1, 17, 2))
    f, g = _embedding(rng, Lf, nf), _embedding(rng, Lg, ng)
    d = max(f.matrix.shape[0], g.matrix.shape[0]) + int(rng.integers(0, 3))
    scale = float(10 ** rng.uniform(-100, 100))  # one scale for both: no cancellation
    Wf = _isometry(rng, f.matrix.shape[0], d, scale * float(np.exp(rng.uniform(-2, 2))))
    Wg = _isometry(rng, g.matrix.shape[0], d, scale * float(np.exp(rng.uniform(-2, 2))))
    P = rng.integers(0, nf, (N, Lf))
    Q = rng.integers(0, ng, (N, Lg))
    move_f = bool(rng.random() < 0.5)
    A, n, X = (f.matrix, nf, P) if move_f else (g.matrix, ng, Q)
    v = np.linalg.svd(A)[2][0]
    x = np.rint(v * ((n - 1) // 2) / np.abs(v).max()).astype(np.int64)
    X[0] = ((n - 1) - x) // 2
    X2 = X.copy()
    X2[0] = X[0] + x
    P2, Q2 = (X2, Q.copy()) if move_f else (P.copy(), X2)
    F0, G0 = (f(P[:1]) @ Wf)[0], (g(Q[:1]) @ Wg)[0]
    if move_f:
        delta = (f(P2[:1]) @ Wf)[0] - F0
        e = delta / np.linalg.norm(delta)
        bg = F0 - float(np.exp(rng.uniform(-3, 1))) * np.linalg.norm(delta) * e - G0
    else:  # G sits at distance eps from F along e and moves further along e
        delta = (g(Q2[:1]) @ Wg)[0] - G0
        e = delta / np.linalg.norm(delta)
        bg = F0 + float(np.exp(rng.uniform(-3, 1))) * np.linalg.norm(delta) * e - G0
    return {"P": P, "P2": P2, "Q": Q, "Q2": Q2, "f": f, "g": g, "Wf": Wf, "Wg": Wg, "bg": bg,
            "quantile": None, "label": f"moving {'P' if move_f else 'Q'} d={d} scale={scale:.0e}"}


def _lipschitz_ratio(inst: dict) -> tuple[float, float]:
    """max over pairs of both eps-products of distance after / (eps + L_f d_P + L_g d_Q)."""
    from sheaftopo.fiber import poly_distance

    f, g, Wf, Wg, bg = inst["f"], inst["g"], inst["Wf"], inst["Wg"], inst["bg"]
    L_f = f.lipschitz * float(np.linalg.norm(Wf, 2))
    L_g = g.lipschitz * float(np.linalg.norm(Wg, 2))

    F, F2 = f(inst["P"]) @ Wf, f(inst["P2"]) @ Wf
    G, G2 = g(inst["Q"]) @ Wg + bg, g(inst["Q2"]) @ Wg + bg
    dP = poly_distance(inst["P"], inst["P2"], modulus=f.modulus)
    dQ = poly_distance(inst["Q"], inst["Q2"], modulus=g.modulus)
    D = np.linalg.norm(F[:, None] - G[None], axis=-1)
    D2 = np.linalg.norm(F2[:, None] - G2[None], axis=-1)
    eps = float(D[0, 0]) if inst["quantile"] is None else float(np.quantile(D, inst["quantile"]))
    slack = L_f * dP[:, None] + L_g * dQ[None, :]
    worst = 0.0
    for before, after in ((D, D2), (D2, D)):  # the product of (P, Q), and of (P', Q')
        inside = before <= eps
        if inside.any():
            worst = max(worst, float((after[inside] / (eps + slack[inside])).max()))
    return worst, 1.0


def _lipschitz_family(name: str, sample: Callable[[np.random.Generator], dict],
                      tight: bool = False) -> Family:
    return Family(name, sample, describe=lambda inst: inst["label"],
                  shrink=lambda inst: iter(()), tight=tight)


def _lipschitz_unmoved(rng: np.random.Generator) -> dict:
    """No perturbation of some items and duplicates: pairs at exactly eps give ratio 1."""
    inst = _lipschitz_random(rng)
    keep = rng.random(len(inst["P"])) < 0.5
    inst["P2"][keep] = inst["P"][keep]
    inst["Q2"][keep] = inst["Q"][keep]
    inst["label"] += " (half unmoved)"
    return inst


@register("fiber-lipschitz", theory="fiber-lipschitz.md", kind="bound", quick=4, full=150,
          tight_delta=1e-3)
def _lipschitz() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-lipschitz",
        _lipschitz_ratio,
        rtol=1e-9,
        description="|f(P')-g(Q')| <= eps + L_f d(P,P') + L_g d(Q,Q') for (P,Q) in the "
        "eps-product, and symmetrically",
    )
    return st, [
        _lipschitz_family("images and tokens, random perturbations", _lipschitz_random),
        _lipschitz_family("half unmoved, duplicates", _lipschitz_unmoved),
        _lipschitz_family("move along the top singular vector", _lipschitz_aligned, tight=True),
    ]


@mutant("Lipschitz constant halved", page="fiber-lipschitz.md",
        target="sheaftopo.fiber:PolynomialEmbedding.lipschitz", quick=True)
def _mut_lipschitz_half(original: Any) -> Any:
    return property(lambda self: original.fget(self) / 2)


@mutant("Lipschitz constant = Frobenius norm", page="fiber-lipschitz.md",
        target="sheaftopo.fiber:PolynomialEmbedding.lipschitz")
def _mut_lipschitz_frobenius(original: Any) -> Any:
    return property(lambda self: float(np.linalg.norm(self.matrix)) * 1.01)


@mutant("poly_distance halved", page="fiber-lipschitz.md", target="sheaftopo.fiber:poly_distance")
def _mut_distance_half(original: Any) -> Any:
    return lambda P, Q, *, modulus: original(P, Q, modulus=modulus) / 2


@mutant("poly_distance doubled", page="fiber-lipschitz.md",
        target="sheaftopo.fiber:poly_distance")
def _mut_distance_double(original: Any) -> Any:
    return lambda P, Q, *, modulus: original(P, Q, modulus=modulus) * 2


@mutant("embedding not divided by the modulus", page="fiber-lipschitz.md",
        target="sheaftopo.fiber:PolynomialEmbedding.__call__")
def _mut_embedding_scale(original: Any) -> Any:
    return lambda self, P: original(self, P) * self.modulus


# --------------------------------------------------------------------------
# fiber-concentration.md
# --------------------------------------------------------------------------


def _log_chi2_cdf(d: float, t: float) -> float:
    """log P(chi2_d <= t) for 0 < t < d, by the series of the regularised lower gamma function.

    P(a, x) = x^a e^-x / Gamma(a + 1) * sum_k x^k / ((a + 1)...(a + k)), a = d/2, x = t/2,
    summed in logarithms: independent of scipy, and never underflows.
    """
    a, x = d / 2.0, t / 2.0
    k = np.arange(1.0, 1.0 + max(1000.0, 60.0 * a / max(a - x, 1e-300)))
    logterms = np.cumsum(np.log(x) - np.log(a + k))
    return a * math.log(x) - x - math.lgamma(a + 1.0) + math.log1p(float(np.exp(logterms).sum()))


def _tail_logs(metric: str, d: int, sigma: float, eps: np.ndarray) -> tuple[np.ndarray, ...]:
    """(p, log p, log(1 - p)) of the fraction within each eps, from scipy.stats and the series."""
    from scipy import stats

    with np.errstate(divide="ignore"):
        if metric == "euclidean":
            t = (eps / sigma) ** 2 / 2
            p = stats.chi2.cdf(t, d)
            logp = np.array([_log_chi2_cdf(d, v) if 0 < v < d else float(lp)
                             for v, lp in zip(t, stats.chi2.logcdf(t, d), strict=True)])
            logq = stats.chi2.logsf(t, d)
        else:
            a = (d - 1) / 2
            p = stats.beta.sf(1 - eps / 2, a, a)
            logp, logq = stats.beta.logsf(1 - eps / 2, a, a), stats.beta.logcdf(1 - eps / 2, a, a)
    return p, logp, logq


def _page_bounds(metric: str, d: int, sigma: float, eps: np.ndarray) -> tuple[np.ndarray, ...]:
    """The page's closed forms p <= exp(-x_up), 1 - p <= exp(-x_low) (0 where silent),
    and how far a float64 evaluation of the exponents may be off (the cancellation in d - t)."""
    if metric == "euclidean":
        t = (eps / sigma) ** 2 / 2
        x_up = np.where(t < d, (d - t) ** 2 / (4 * d), 0.0)
        root = np.sqrt(np.maximum(2 * t - d, 0.0))
        x_low = np.where(t > d, ((root - math.sqrt(d)) / 2) ** 2, 0.0)
        gap = np.abs(d - t) + 1e-300
        x_tol = np.maximum(x_up, x_low) * (1e-12 + 16 * _U * (d + t) / gap)
    else:
        e = np.minimum(eps, 2.0)  # cosine distances are at most 2
        x_up = np.where(e <= 1, d * (1 - e) ** 2 / 2, 0.0)
        x_low = np.where(e >= 1, d * (e - 1) ** 2 / 2, 0.0)
        x_tol = np.maximum(x_up, x_low) * (1e-12 + 16 * _U / (np.abs(1 - e) + 1e-300))
    return x_up, x_low, x_tol


def _concentration_ratio(inst: dict) -> tuple[float, float]:
    """Worst of: the bounds in exponent form, the library against the oracle and the page's
    formulas, and the observed fraction of a sample within Hoeffding's radius."""
    from scipy.spatial.distance import cdist

    from sheaftopo.fiber import fraction_deviation, random_pair_fraction

    metric, d, sigma, eps = inst["metric"], inst["d"], inst["sigma"], inst["eps"]
    r = random_pair_fraction(eps, d, sigma=sigma, metric=metric)
    p, logp, logq = _tail_logs(metric, d, sigma, eps)
    ratios = [float(np.max(np.abs(r.expected - p))) / 1e-10]
    if d <= 10**6:  # relatively too (scipy's gammainc loses ~1e-2 relative near d = 1e8)
        ok = np.isfinite(logp) & (logp > -700)
        with np.errstate(divide="ignore"):
            ratios.append(float(np.max(np.abs(np.log(r.expected[ok]) - logp[ok]), initial=0))
                          / 1e-6)
    x_up, x_low, x_tol = _page_bounds(metric, d, sigma, eps)
    # the library returns the page's bounds (an error dx of the exponent is a relative
    # error dx of exp(-x) and at most dx of 1 - exp(-x))
    for got, want in ((r.upper_bound, np.exp(-x_up)), (r.lower_bound, -np.expm1(-x_low))):
        ratios.append(float(np.max(np.abs(got - want) / ((x_tol + 1e-12) * want + 1e-300))))
    with np.errstate(divide="ignore", invalid="ignore"):
        x_lib_up = -np.log(r.upper_bound)
        x_lib_low = -np.log1p(-r.lower_bound)
    # the bounds hold: -log p >= x (upper) and -log(1 - p) >= x* (lower), exponents compared
    with np.errstate(divide="ignore", invalid="ignore"):
        for x_lib, logt in ((x_lib_up, logp), (x_lib_low, logq)):
            use = np.isfinite(x_lib) & (x_lib > 0) & np.isfinite(logt)
            ratios.append(float(np.max(x_lib[use] / -logt[use], initial=0.0)))
    if "F" in inst:  # (c): a sample's fraction stays within the radius for delta = 1e-9
        F, G = inst["F"], inst["G"]
        N, M, dim = len(F), len(G), F.shape[1]
        rr = random_pair_fraction(inst["sample_eps"], dim, sigma=sigma, metric=metric)
        if metric == "cosine":
            F = F / np.linalg.norm(F, axis=1, keepdims=True)
            G = G / np.linalg.norm(G, axis=1, keepdims=True)
            D = 1 - F @ G.T
        else:
            D = cdist(F, G)
        frac = np.array([(D <= e).mean() for e in inst["sample_eps"]])
        radius = math.sqrt(math.log(2 / 1e-9) / (2 * min(N, M)))
        ratios.append(abs(fraction_deviation(N, M, delta=1e-9) - radius) / (1e-12 * radius))
        ratios.append(float(np.abs(frac - rr.expected).max()) / radius)
    return max(ratios), 1.0


def _concentration_family(name: str, metric: str, kind: str, tight: bool = False) -> Family:
    def sample(rng: np.random.Generator) -> dict:
        if kind == "deep":  # eps = (1 - eta) sigma sqrt(2d): exponent about 650, eta ~ 1e-3
            eta = float(rng.uniform(1.1e-3, 1.5e-3))
            d = int(650 * 4 / (2 * eta - eta**2) ** 2)
            sigma = float(np.exp(rng.uniform(-3, 3)))
            eps = np.array([(1 - eta) * sigma * math.sqrt(2 * d)])
            return {"metric": metric, "d": d, "sigma": sigma, "eps": eps,
                    "label": f"d={d:.3g} eta={eta:.2g}"}
        d = int(rng.integers(1 if metric == "euclidean" else 2, 600)) if kind != "small" else int(
            rng.integers(1 if metric == "euclidean" else 2, 4))
        sigma = float(10 ** rng.uniform(-100, 100)) if metric == "euclidean" else 1.0
        scale = sigma * math.sqrt(2 * d) if metric == "euclidean" else 1.0
        grid = rng.uniform(0, 2.0, 5) * scale
        eps = np.sort(np.concatenate([grid, grid[:1], [0.0, 2.5 * scale]]))  # with a tie
        N, M = (int(v) for v in rng.integers(1 if kind == "small" else 50, 300, 2))
        dim = min(d, 64)
        sample_eps = eps if metric == "cosine" else eps * math.sqrt(dim / d)
        mu = rng.standard_normal(dim) * (0 if metric == "cosine" else 5 * sigma)
        F = mu + rng.standard_normal((N, dim)) * sigma
        G = mu + rng.standard_normal((M, dim)) * sigma
        return {"metric": metric, "d": d, "sigma": sigma, "eps": eps, "F": F, "G": G,
                "sample_eps": sample_eps,
                "label": f"d={d} sigma={sigma:.3g} sample {N}x{M}x{dim}"}

    return Family(name, sample, describe=lambda inst: f"{metric} {inst['label']}",
                  shrink=lambda inst: iter(()), tight=tight)


@register("fiber-concentration", theory="fiber-concentration.md", kind="bound", quick=4,
          full=120, tight_delta=1e-2)
def _concentration() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-concentration",
        _concentration_ratio,
        rtol=1e-9,
        description="random pairs: -log p >= (d-t)^2/4d (chi-square), >= d(1-eps)^2/2 "
        "(sphere), and the lower bounds; the page's formulas; observed frac within "
        "Hoeffding's radius",
    )
    return st, [
        _concentration_family("euclidean, d < 600, sigma 1e-100..1e100", "euclidean", "random"),
        _concentration_family("cosine, d < 600", "cosine", "random"),
        _concentration_family("euclidean d <= 3, tiny samples", "euclidean", "small"),
        _concentration_family("cosine d <= 3, tiny samples", "cosine", "small"),
        _concentration_family("chi-square lower tail, d ~ 5e8, eta ~ 1e-3", "euclidean", "deep",
                              tight=True),
    ]


def _fraction_with(original: Any, change: Callable[[Any], dict]) -> Any:
    def mutated(eps: Any, dim: int, **kw: Any) -> Any:
        res = original(eps, dim, **kw)
        return dataclasses.replace(res, **change(res))

    return mutated


@mutant("random_pair_fraction: d - 1 degrees of freedom", page="fiber-concentration.md",
        target="sheaftopo.fiber:random_pair_fraction", quick=True)
def _mut_dof(original: Any) -> Any:
    def mutated(eps: Any, dim: int, **kw: Any) -> Any:
        res = original(eps, dim, **kw)
        low = original(eps, max(dim - 1, 2 if kw.get("metric") == "cosine" else 1), **kw)
        return dataclasses.replace(res, expected=low.expected)

    return mutated


@mutant("random_pair_fraction: upper bound doubled", page="fiber-concentration.md",
        target="sheaftopo.fiber:random_pair_fraction")
def _mut_upper_double(original: Any) -> Any:
    return _fraction_with(original, lambda r: {"upper_bound": np.minimum(1.0, 2 * r.upper_bound)})


@mutant("random_pair_fraction: upper exponent halved", page="fiber-concentration.md",
        target="sheaftopo.fiber:random_pair_fraction")
def _mut_upper_sqrt(original: Any) -> Any:
    return _fraction_with(original, lambda r: {"upper_bound": np.sqrt(r.upper_bound)})


@mutant("random_pair_fraction: lower bound exp(-x) for 1 - exp(-x)", page="fiber-concentration.md",
        target="sheaftopo.fiber:random_pair_fraction")
def _mut_lower(original: Any) -> Any:
    return _fraction_with(original, lambda r: {
        "lower_bound": np.where(r.lower_bound > 0, 1 - r.lower_bound, 0.0)})


@mutant("fraction_deviation halved", page="fiber-concentration.md",
        target="sheaftopo.fiber:fraction_deviation")
def _mut_deviation(original: Any) -> Any:
    return lambda n_rows, m_rows, **kw: original(n_rows, m_rows, **kw) / 2


# --------------------------------------------------------------------------
# fiber-shared-subspaces.md
# --------------------------------------------------------------------------


def _angles_oracle(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles by scipy, ascending; used for subspaces of equal dimension only
    (for intersecting subspaces of different dimensions scipy returns about 2e-8 for an
    angle that is 0)."""
    from scipy.linalg import subspace_angles

    return np.sort(subspace_angles(A, B))


def _angles_precise(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Principal angles of the column spaces in 40-digit arithmetic, ascending.

    Bases by scipy.linalg.orth (rank-revealing SVD), re-orthonormalised by a
    QR factorisation in mpmath, then arccos of the singular values of
    Q_A^T Q_B, all at 40 digits: near 0 the arccos loses only half of the
    40 digits, so tiny angles are as accurate as the float64 bases allow.
    """
    import mpmath
    from scipy.linalg import orth

    QA, QB = orth(A), orth(B)
    k = min(QA.shape[1], QB.shape[1])
    if k == 0:
        return np.empty(0)
    with mpmath.workdps(40):
        qa = mpmath.qr(mpmath.matrix(QA.tolist()), mode="skinny")[0]
        qb = mpmath.qr(mpmath.matrix(QB.tolist()), mode="skinny")[0]
        sv = mpmath.svd_r(qa.T * qb, compute_uv=False)
        return np.sort([float(mpmath.acos(min(mpmath.mpf(1), sv[i]))) for i in range(k)])


def _planted_family(name: str, kind: str) -> Family:
    """Planted models at exact moments; ``kind``: separate, common, equal correlations, or
    small noise (Sigma_xx with condition number (1 + s^2)/s^2 up to 1e6)."""

    def sample(rng: np.random.Generator) -> dict:
        common = kind == "common"
        k = int(rng.integers(1, 4))
        rx, ry = (int(v) for v in rng.integers(0, 3, 2))
        if common:
            dx = dy = k + rx + ry + int(rng.integers(0, 4))
        else:
            dx, dy = k + rx + int(rng.integers(0, 4)), k + ry + int(rng.integers(0, 4))
        noise = float(rng.uniform(0.05, 1.0)) if kind != "small noise" else float(
            10 ** rng.uniform(-3, -2))
        corr = rng.uniform(0.3, 1.0, k)
        if kind == "ties":
            corr[:] = corr[0]
        return {"k": k, "rx": rx, "ry": ry, "dx": dx, "dy": dy, "noise": noise, "corr": corr,
                "N": 2 * k + rx + ry + dx + dy + 1 + int(rng.integers(0, 200)), "common": common,
                "seed": int(rng.integers(2**31))}

    def describe(inst: dict) -> str:
        cond = (1 + inst["noise"] ** 2) / inst["noise"] ** 2
        return (f"k={inst['k']} r=({inst['rx']},{inst['ry']}) d=({inst['dx']},{inst['dy']}) "
                f"noise={inst['noise']:.2g} cond={cond:.2g} N={inst['N']} "
                f"common={inst['common']} rho={np.round(inst['corr'], 3).tolist()}")

    return Family(name, sample, describe=describe, shrink=lambda inst: iter(()))


def _planted_errors(inst: dict) -> tuple[float, float]:
    """Largest error against the population subspaces, over a tolerance scaled by cond."""
    from sheaftopo.fiber import make_planted_subspaces, subspace_decomposition

    k, rx, ry, dx, dy = inst["k"], inst["rx"], inst["ry"], inst["dx"], inst["dy"]
    noise, corr = inst["noise"], inst["corr"]
    data = make_planted_subspaces(
        inst["N"], dim_x=dx, dim_y=dy, n_shared=k, n_specific_x=rx, n_specific_y=ry,
        correlation=corr, noise=noise, common_space=inst["common"], exact_moments=True,
        seed=inst["seed"],
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
        if est.shape[1] != planted.shape[1]:
            err = max(err, 1.0)
        elif planted.shape[1]:
            err = max(err, float(np.sin(_angles_oracle(est, planted)).max()))
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
    if inst["common"] and k:
        err = max(err, float(_angles_oracle(dec.x.shared_basis, dec.y.shared_basis).max()))
    cond = (1 + noise**2) / noise**2  # of Sigma_xx
    return err, 1e-12 * cond


@register("fiber-planted-subspaces", theory="fiber-shared-subspaces.md", kind="identity",
          quick=3, full=60)
def _planted() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-planted-subspaces",
        _planted_errors,
        rtol=0.0,
        description="at population moments the decomposition recovers Z_s, Z_I, Z_T exactly; "
        "rho_i = c_i/(1+s^2); projectors orthogonal, summing to I",
    )
    return st, [
        _planted_family("separate spaces", "separate"),
        _planted_family("common space", "common"),
        _planted_family("equal correlations (ties)", "ties"),
        _planted_family("small noise, cond up to 1e6", "small noise"),
    ]


def _angle_pairs(rng: np.random.Generator) -> dict:
    """Subspace pairs: random, nearly equal (angles 1e-12..1e-3), duplicated columns, scaled."""
    d = int(rng.integers(2, 9))
    p, q = (int(v) for v in rng.integers(1, d + 1, 2))
    A = rng.standard_normal((d, p))
    kind = int(rng.integers(4))
    if kind == 1:  # B spans nearly the same space
        tilt = float(10 ** rng.uniform(-12, -3))
        B = A[:, :q] @ rng.standard_normal((min(p, q), min(p, q)))
        B = B + tilt * rng.standard_normal(B.shape)
    else:
        B = rng.standard_normal((d, q))
    if kind == 2 and p > 1:  # duplicated columns: rank-deficient
        A[:, -1] = A[:, 0]
    s = float(10.0 ** rng.integers(-150, 151)) if kind == 3 else 1.0
    return {"A": A * s, "B": B, "label": ("random", "nearly equal", "duplicated column",
                                          f"scaled {s:.0e}")[kind]}


def _angle_errors(inst: dict) -> tuple[float, float]:
    from sheaftopo.fiber import principal_angles

    got = principal_angles(inst["A"], inst["B"])
    want = _angles_precise(inst["A"], inst["B"])
    if got.shape != want.shape:
        return math.inf, 1e-12
    return float(np.abs(got - want).max(initial=0.0)), 1e-12


@register("fiber-principal-angles", theory="fiber-shared-subspaces.md", kind="identity",
          quick=10, full=300)
def _principal() -> tuple[Statement, list[Family]]:
    st = Statement(
        "fiber-principal-angles",
        _angle_errors,
        rtol=0.0,
        description="principal_angles = the angles in 40-digit arithmetic, ascending, radians "
        "(1e-12), tiny angles, intersecting and rank-deficient bases included",
    )
    return st, [Family("subspace pairs", _angle_pairs,
                       describe=lambda inst: f"{inst['label']} {inst['A'].shape} "
                       f"{inst['B'].shape}")]


@mutant("principal_angles in degrees", page="fiber-shared-subspaces.md",
        target="sheaftopo.fiber:principal_angles", quick=True)
def _mut_degrees(original: Any) -> Any:
    return lambda A, B: np.degrees(original(A, B))


@mutant("principal_angles descending", page="fiber-shared-subspaces.md",
        target="sheaftopo.fiber:principal_angles")
def _mut_descending(original: Any) -> Any:
    return lambda A, B: original(A, B)[::-1]


def _decomposition_with(original: Any, change: Callable[[Any], dict]) -> Any:
    def mutated(X: Any, Y: Any, **kw: Any) -> Any:
        dec = original(X, Y, **kw)
        return dataclasses.replace(dec, **change(dec))

    return mutated


def _swap(part: Any) -> Any:
    return dataclasses.replace(part, shared_basis=part.specific_basis,
                               specific_basis=part.shared_basis)


@mutant("subspace_decomposition swaps shared and specific", page="fiber-shared-subspaces.md",
        target="sheaftopo.fiber:subspace_decomposition")
def _mut_swap(original: Any) -> Any:
    return _decomposition_with(original, lambda dec: {"x": _swap(dec.x), "y": _swap(dec.y)})


@mutant("canonical correlations not shrunk by 1 + s^2", page="fiber-shared-subspaces.md",
        target="sheaftopo.fiber:subspace_decomposition")
def _mut_correlations(original: Any) -> Any:
    return _decomposition_with(original, lambda dec: {
        "correlations": np.minimum(1.0, dec.correlations * 1.001)})


@mutant("variance fractions of shared and specific swapped", page="fiber-shared-subspaces.md",
        target="sheaftopo.fiber:subspace_decomposition")
def _mut_variances(original: Any) -> Any:
    def swap(part: Any) -> Any:
        return dataclasses.replace(part, variance_shared=part.variance_specific,
                                   variance_specific=part.variance_shared)

    return _decomposition_with(original, lambda dec: {"x": swap(dec.x), "y": swap(dec.y)})
