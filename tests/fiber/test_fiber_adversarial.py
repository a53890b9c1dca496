"""Bad and extreme input through every public name of sheaftopo.fiber and the Dask fiber functions.

Issue 14. Every public function is fed NaN, inf, empty, one-row, wrongly typed
(int, bool, complex, object, str, float16), strided and read-only input,
magnitudes 1e-300 .. 1e300, duplicates and identical points, absurd
hyperparameters and lists through :func:`_adversarial.check_call` (a finite
result or a ValueError / TypeError naming the argument, bounded in time), and
every finite result is checked against an oracle: the brute-force canonical
distances for fiber products and profiles (bit for bit), scipy and mpmath for
principal angles, Python's big integers for the ring arithmetic, scipy's
distribution functions and mpmath for the random-pair bounds, the in-memory
functions for the Dask ones (bit for bit), and the same problem divided by a
power of two (exact) for the homogeneous quantities.
"""

from __future__ import annotations

import math
import tempfile

import mpmath
import numpy as np
import pytest
from _adversarial import (
    BAD_SCALARS,
    MAGNITUDES,
    arrays_in_layouts,
    bad_arrays,
    check_call,
    examples,
    point_clouds,
)
from _fiber_helpers import canonical
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from scipy.linalg import subspace_angles

import sheaftopo.fiber as fiber
from sheaftopo.fiber import (
    MAX_MODULUS,
    FiberProduct,
    FiberProfile,
    ModalitySubspaces,
    PlantedSubspaces,
    PolynomialEmbedding,
    RandomPairFraction,
    SubspaceDecomposition,
    approximate_fiber_product,
    encode_image,
    encode_tokens,
    epsilon_star,
    evaluation_embedding,
    fiber_profile,
    fraction_deviation,
    is_unit,
    make_planted_subspaces,
    poly_add,
    poly_degree,
    poly_distance,
    poly_eval,
    poly_mul,
    poly_reduce,
    poly_sub,
    principal_angles,
    projection_embedding,
    random_pair_fraction,
    subspace_decomposition,
    unit_inverse,
)

SUB = "fiber"
METHODS = [("auto", "auto"), ("blocked", "float32"), ("blocked", "float64"), ("kdtree", "auto")]
#: what a caller may pass where a 2-D real array is expected, and must see refused
BAD_POINTS = bad_arrays((5, 3))


def _top(*arrays):
    return max(float(np.abs(np.asarray(a, np.float64)).max(initial=0.0)) for a in arrays)


@st.composite
def cloud_pairs(draw, max_rows=9, max_cols=4):
    """F and G in the same space: extreme magnitudes, duplicates, odd layouts, float32."""
    F = draw(point_clouds(max_rows=max_rows, max_cols=max_cols))
    d = F.shape[1]
    G = draw(point_clouds(max_rows=max_rows, min_cols=d, max_cols=d))
    if draw(st.booleans()):
        G = np.concatenate([np.asarray(F[: len(G) // 2 + 1], np.float64), G])  # shared rows
    return F, G


@st.composite
def tolerances(draw, F, G, metric):
    """0, tiny, typical and absurd tolerances on the scale of the data."""
    if metric == "cosine":
        return draw(st.sampled_from([0.0, 1e-300, 1e-12, 0.3, 1.0, 2.0, 1e300, 1.7e308]))
    top = _top(F, G)
    factor = draw(st.sampled_from([0.0, 1e-300, 1e-3, 0.5, 1.0, 3.0, 1e300]))
    return float(min(factor * top, 1.7e308)) if top else factor


# ---------------------------------------------------------------------------
# fiber products, profiles, epsilon*: exactly the brute-force canonical pairs
# ---------------------------------------------------------------------------


def _brute_force_product(F, G, eps, metric):
    def check(res):
        assert isinstance(res, FiberProduct)
        D = canonical(F, G, metric)
        r, c = np.nonzero(D <= eps)
        assert res.shape == (len(F), len(G)) and res.metric == metric
        assert np.array_equal(res.rows, r) and np.array_equal(res.cols, c)
        assert np.array_equal(res.distances, D[r, c])
        S = res.to_sparse()
        assert S.nnz == len(r) and np.array_equal(S.toarray()[r, c], D[r, c])
        assert 0.0 <= res.density <= 1.0

    return check


def _brute_force_profile(F, G, grid, metric, diagonal):
    def check(res):
        assert isinstance(res, FiberProfile)
        D = canonical(F, G, metric)
        assert res.counts.tolist() == [int((D <= e).sum()) for e in grid]
        if diagonal:
            diag = np.diagonal(D)
            assert np.array_equal(res.true_distances, diag)
            assert res.epsilon_star == diag.max()
            assert np.array_equal(res.recall, [(diag <= e).mean() for e in grid])

    return check


@settings(max_examples=examples(80, 800))
@given(data=st.data(), pair=cloud_pairs(), metric=st.sampled_from(["euclidean", "cosine"]))
def test_products_and_profiles_are_the_brute_force_ones(data, pair, metric):
    F, G = pair
    eps = data.draw(tolerances(F, G, metric))
    method, precision = data.draw(st.sampled_from(METHODS))
    check_call(
        SUB,
        approximate_fiber_product,
        F,
        G,
        eps,
        metric=metric,
        method=method,
        precision=precision,
        names=("F", "G"),  # cosine: zero rows are refused, naming F or G
        check=_brute_force_product(F, G, eps, metric),
    )
    grid = np.unique([0.0, eps, min(2.0 * eps, 1.7e308)])
    G2 = G[: len(F)] if len(G) >= len(F) else G
    diagonal = len(G2) == len(F)
    check_call(
        SUB,
        fiber_profile,
        F,
        G2,
        grid,
        true_pairs="diagonal" if diagonal else None,
        metric=metric,
        method=method,
        precision=precision,
        names=("F", "G", "true_pairs"),  # true pairs beyond 1.8e308 are refused
        check=_brute_force_profile(F, G2, grid, metric, diagonal),
    )
    if diagonal:
        fraction = data.draw(st.sampled_from([1e-9, 0.5, 1.0]))

        def star_check(value):
            diag = np.sort(np.diagonal(canonical(F, G2, metric)))
            assert value == diag[max(1, math.ceil(fraction * len(diag) - 1e-12 * len(diag))) - 1]

        check_call(
            SUB,
            epsilon_star,
            F,
            G2,
            fraction=fraction,
            metric=metric,
            names=("F", "G", "true_pairs"),
            check=star_check,
        )


@pytest.mark.parametrize(
    "call",
    [
        lambda X, Y: approximate_fiber_product(X, Y, 1.0),
        lambda X, Y: fiber_profile(X, Y, [0.0, 1.0]),
        lambda X, Y: epsilon_star(X, Y, [[0, 0]]),
    ],
    ids=["product", "profile", "epsilon_star"],
)
@settings(max_examples=examples(12, 100))
@given(bad=BAD_POINTS, first=st.booleans())
def test_products_refuse_bad_arrays(call, bad, first):
    good = np.arange(15.0).reshape(5, 3)
    args = (bad, good) if first else (good, bad)
    status, _ = check_call(SUB, call, *args, names="F" if first else "G")
    assert status == "error"


F0 = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0], [1.0, 1.0]])
G0 = np.array([[0.0, 0.0], [0.0, 5.0], [3.0, 4.0], [1.0, 1.0]])
HYPER = ["eps", "memory_budget", "max_pairs", "n_jobs", "metric", "method", "precision"]


@settings(max_examples=examples(40, 200))
@given(value=st.sampled_from(BAD_SCALARS), which=st.sampled_from(HYPER))
def test_product_hyperparameters(value, which):
    eps = value if which == "eps" else 5.0
    kwargs = {} if which == "eps" else {which: value}
    status, res = check_call(SUB, approximate_fiber_product, F0, G0, eps, names=which, **kwargs)
    if status == "ok":
        metric = kwargs.get("metric", "euclidean")
        _brute_force_product(F0, G0, float(eps), metric)(res)
        if which == "max_pairs" and value is not None:
            assert res.n_pairs <= value


@settings(max_examples=examples(20, 200))
@given(value=st.sampled_from([*BAD_SCALARS, 1e-300, 0.25, [0.0, np.nan], [[1.0]], [2.0, 1.0]]))
def test_profile_grid_fraction_and_epsilon_for_recall(value):
    status, _ = check_call(SUB, fiber_profile, F0, G0, value, names="eps_grid")
    if status == "ok":
        assert np.ndim(value) <= 1
    status, prof = check_call(
        SUB, fiber_profile, F0, G0, [1.0], true_pairs="diagonal", fraction=value, names="fraction"
    )
    if status == "ok":
        assert prof.epsilon_star == epsilon_star(F0, G0, fraction=value)
    prof = fiber_profile(F0, G0, [1.0], true_pairs="diagonal")
    status, star = check_call(SUB, prof.epsilon_for_recall, value, names="fraction")
    if status == "ok":
        assert star == epsilon_star(F0, G0, fraction=value)


@settings(max_examples=examples(15, 200))
@given(
    value=st.sampled_from([None, "x", [[0, 0], [0, 0]], [[9, 0]], [[0.5, 1]], [0, 1], [[-1, 0]]])
)
def test_true_pairs_are_validated(value):
    status, _ = check_call(SUB, epsilon_star, F0, G0, value, names="true_pairs")
    assert status == "error"


# ---------------------------------------------------------------------------
# principal angles and the subspace decomposition
# ---------------------------------------------------------------------------


def _mp_angle(a, b):
    mpmath.mp.dps = 60
    va = [mpmath.mpf(float(x)) for x in a]
    vb = [mpmath.mpf(float(x)) for x in b]
    dot = mpmath.fsum(x * y for x, y in zip(va, vb, strict=True))
    na2 = mpmath.fsum(x * x for x in va)
    nb2 = mpmath.fsum(x * x for x in vb)
    return float(mpmath.atan2(mpmath.sqrt(max(na2 * nb2 - dot**2, 0)), abs(dot)))


def _mp_angles(A, B):
    """Principal angles in 60-digit arithmetic (QR, then the SVD of Qa^T Qb), ascending."""
    mpmath.mp.dps = 60
    Qa = mpmath.qr(mpmath.matrix(A.tolist()))[0]
    Qb = mpmath.qr(mpmath.matrix(B.tolist()))[0]
    Qa = Qa[:, : A.shape[1]]
    Qb = Qb[:, : B.shape[1]]
    cos = mpmath.svd_r(Qa.T * Qb, compute_uv=False)
    k = min(A.shape[1], B.shape[1])
    return np.sort([float(mpmath.acos(min(cos[i], 1))) for i in range(k)])


@settings(max_examples=examples(30, 400))
@given(
    t=st.one_of(st.floats(1e-15, 1e-6), st.floats(1e-6, 1.57)),
    d=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from(MAGNITUDES),
)
def test_principal_angles_match_mpmath_at_any_angle(t, d, seed, scale):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    a = Q[:, 0]
    b = np.cos(t) * Q[:, 0] + np.sin(t) * Q[:, 1]
    exact = _mp_angle(a, b)  # the angle between the float64 vectors, 60 digits

    def check(ang):
        assert ang.shape == (1,)
        assert abs(ang[0] - exact) <= 2e-15 + 1e-13 * exact, (ang[0], exact)

    check_call(SUB, principal_angles, (a * scale)[:, None], b[:, None], names="A", check=check)


@settings(max_examples=examples(25, 300))
@given(data=st.data())
def test_principal_angles_on_point_clouds(data):
    A = data.draw(point_clouds(max_rows=7, max_cols=4))
    B = data.draw(point_clouds(min_rows=len(A), max_rows=len(A), max_cols=4))

    def check(ang):
        assert np.all((ang >= 0) & (ang <= np.pi / 2)) and np.all(np.diff(ang) >= 0)
        assert len(ang) <= min(A.shape[1], B.shape[1])
        # the column space does not depend on the scale: compare at unit scale with scipy
        a = np.asarray(A, np.float64)
        b = np.asarray(B, np.float64)
        a = a / np.abs(a).max() if a.any() else a
        b = b / np.abs(b).max() if b.any() else b
        tall = a.shape[0] >= a.shape[1] and b.shape[0] >= b.shape[1]
        if tall and np.linalg.cond(a) < 1e6 and np.linalg.cond(b) < 1e6:
            # scipy near 0 is only good to ~1e-8 (two planes in R^3 meet at 3.7e-8
            # there); 60-digit arithmetic is the oracle, scipy a coarse cross-check
            ref = _mp_angles(a, b)
            assert np.allclose(ang, ref, rtol=1e-10, atol=1e-14), (ang, ref)
            assert np.allclose(ang, np.sort(subspace_angles(a, b)), atol=1e-7)

    check_call(SUB, principal_angles, A, B, names=("A", "B"), check=check)


@settings(max_examples=examples(10, 100))
@given(bad=BAD_POINTS, first=st.booleans())
def test_principal_angles_and_decomposition_refuse_bad_arrays(bad, first):
    good = np.random.default_rng(0).standard_normal((5, 3))
    args = (bad, good) if first else (good, bad)
    status, _ = check_call(SUB, principal_angles, *args, names="A" if first else "B")
    assert status == "error"
    status, _ = check_call(
        SUB, subspace_decomposition, *args, n_permutations=9, names="X" if first else "Y"
    )
    assert status == "error"


def _decomposition_invariants(dec):
    assert isinstance(dec, SubspaceDecomposition)
    rho, ang = dec.correlations, dec.angles
    assert np.all((rho >= 0) & (rho <= 1)) and np.all(np.diff(rho) <= 0)
    assert np.all((ang >= 0) & (ang <= np.pi / 2 + 1e-15)) and np.all(np.diff(ang) >= 0)
    assert np.allclose(np.cos(ang), rho, atol=1e-12)
    for m in (dec.x, dec.y):
        assert isinstance(m, ModalitySubspaces)
        Q = np.hstack([m.shared_basis, m.specific_basis, m.residual_basis])
        assert np.allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-9)
        total = m.variance_shared + m.variance_specific + m.variance_residual
        assert total == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=examples(20, 200))
@given(
    data=st.data(),
    kind=st.sampled_from(["rotated", "independent", "shifted"]),
    rule=st.sampled_from(["permutation", "threshold", 1]),
    reg=st.sampled_from([0.0, 0.0, 0.1, 1e300]),
)
def test_subspace_decomposition_on_point_clouds(data, kind, rule, reg):
    X = data.draw(point_clouds(min_rows=3, max_rows=12, max_cols=4))
    X64 = np.asarray(X, np.float64)
    d = X.shape[1]
    rng = np.random.default_rng(len(X))
    if kind == "rotated":
        Y = X64 @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    elif kind == "independent":
        Y = rng.standard_normal((len(X), 2)) * data.draw(st.sampled_from(MAGNITUDES))
    else:
        Y = X64 * 3.0 + 1e5 * _top(X64)
    status, dec = check_call(
        SUB,
        subspace_decomposition,
        X,
        Y,
        n_shared=rule,
        reg=reg,
        n_permutations=9,
        seed=0,
        names=("X", "Y", "n_shared"),
        check=_decomposition_invariants,
    )
    if status != "ok":
        return
    # correlations and angles do not depend on the magnitude: the data divided by
    # powers of two (exact) give the same numbers, bit for bit
    e = math.frexp(_top(X64))[1]
    f = math.frexp(_top(Y))[1]
    ref = subspace_decomposition(
        np.ldexp(X64, -e), np.ldexp(Y, -f), n_shared=rule, reg=reg, n_permutations=9, seed=0
    )
    assert np.array_equal(dec.correlations, ref.correlations)
    assert np.array_equal(dec.angles, ref.angles)
    assert np.array_equal(dec.x.loadings, np.ldexp(ref.x.loadings, e))
    if kind == "rotated" and reg == 0.0:
        assert dec.angles.max() < 1e-11  # a rotated copy: rounding errors, not 1e-8
    coords = dec.x.shared_coordinates(X)
    assert coords.shape == (len(X), dec.n_shared) and np.isfinite(coords).all()


@settings(max_examples=examples(25, 200))
@given(
    value=st.sampled_from(BAD_SCALARS),
    which=st.sampled_from(
        ["n_shared", "threshold", "alpha", "n_permutations", "n_specific", "reg", "seed"]
    ),
)
def test_subspace_decomposition_hyperparameters(value, which):
    data = make_planted_subspaces(60, dim_x=4, dim_y=3, n_shared=1, n_specific_x=1,
                                  n_specific_y=1, seed=1)
    kwargs = {"n_permutations": 19, which: value}
    status, dec = check_call(
        SUB, subspace_decomposition, data.X, data.Y, names=which,
        check=_decomposition_invariants, **kwargs,
    )
    if status == "ok" and which == "n_shared":
        assert dec.n_shared == value


@settings(max_examples=examples(15, 150))
@given(X=st.one_of(BAD_POINTS, point_clouds(max_rows=5, min_cols=4, max_cols=4)))
def test_shared_coordinates(X):
    data = make_planted_subspaces(80, dim_x=4, dim_y=3, n_shared=2, n_specific_x=1,
                                  n_specific_y=1, seed=2)
    dec = subspace_decomposition(data.X, data.Y, n_shared=2)

    def check(U):
        with np.errstate(over="ignore", invalid="ignore"):
            direct = (np.asarray(X, np.float64) - dec.x.mean) @ dec.x.weights
        if np.isfinite(direct).all():
            scale = max(np.abs(direct).max(initial=0.0), 1.0)
            assert np.abs(U - direct).max(initial=0.0) <= 1e-12 * scale

    check_call(SUB, dec.x.shared_coordinates, X, names="X", check=check)


PLANTED_ARGS = [
    "n_samples", "dim_x", "dim_y", "n_shared", "n_specific_x", "n_specific_y",
    "correlation", "noise", "common_space", "exact_moments", "seed",
]


@settings(max_examples=examples(30, 300))
@given(
    which=st.sampled_from(PLANTED_ARGS),
    value=st.sampled_from([*BAD_SCALARS, False, 0.5, 10**15, [0.5, 0.6], "0.5"]),
)
def test_make_planted_subspaces(which, value):
    kwargs = {"dim_x": 5, "dim_y": 5, "n_shared": 2, "n_specific_x": 1, "n_specific_y": 1}
    kwargs[which] = value
    n = kwargs.pop("n_samples", 40)

    def check(data):
        assert isinstance(data, PlantedSubspaces)
        assert data.X.shape == (n, kwargs["dim_x"]) and data.Y.shape[0] == n
        for B in (np.hstack([data.shared_x, data.specific_x]),
                  np.hstack([data.shared_y, data.specific_y])):
            assert np.allclose(B.T @ B, np.eye(B.shape[1]), atol=1e-12)
        assert np.all((data.correlations > 0) & (data.correlations <= 1))

    check_call(SUB, make_planted_subspaces, n, names=which, check=check, **kwargs)


# ---------------------------------------------------------------------------
# random-pair fractions
# ---------------------------------------------------------------------------


@settings(max_examples=examples(30, 300))
@given(
    eps=st.one_of(
        bad_arrays((3,)),
        st.sampled_from(MAGNITUDES).map(lambda s: np.array([0.0, 0.5, 2.0]) * s),
        st.sampled_from(BAD_SCALARS),
    ),
    dim=st.sampled_from([1, 2, 3, 64, 2**53, *BAD_SCALARS]),
    sigma=st.sampled_from([1.0, *MAGNITUDES, *BAD_SCALARS]),
    metric=st.sampled_from(["euclidean", "cosine", "manhattan"]),
)
def test_random_pair_fraction(eps, dim, sigma, metric):
    def check(r):
        assert isinstance(r, RandomPairFraction)
        assert np.all((r.expected >= 0) & (r.expected <= 1))
        assert np.all(r.lower_bound <= r.expected + 1e-12)
        assert np.all(r.expected <= r.upper_bound + 1e-12)
        e = np.atleast_1d(np.asarray(eps, np.float64))
        if metric == "euclidean" and r.dim <= 64:
            with np.errstate(over="ignore"):
                x = np.minimum((e / r.sigma) ** 2, 1e300) / 2.0
            assert np.allclose(r.expected, special.chdtr(r.dim, x), atol=1e-12)
        if metric == "cosine" and r.dim <= 64:
            a = (r.dim - 1) / 2.0
            ref = stats.beta.sf(1.0 - np.minimum(e, 2.0) / 2.0, a, a)
            assert np.allclose(r.expected, ref, atol=1e-12)

    check_call(
        SUB, random_pair_fraction, eps, dim, sigma=sigma, metric=metric,
        names=("eps", "dim", "sigma", "metric"), check=check,
    )


@settings(max_examples=examples(25, 300))
@given(
    n=st.sampled_from([1, 7, 2**60, 10**400, *BAD_SCALARS]),
    m=st.sampled_from([1, 1000, *BAD_SCALARS]),
    delta=st.sampled_from([1e-6, 0.5, 1.0, 5e-324, 1e-300, *BAD_SCALARS]),
)
def test_fraction_deviation(n, m, delta):
    def check(r):
        mpmath.mp.dps = 30
        ref = mpmath.sqrt(mpmath.log(2 / mpmath.mpf(delta)) / (2 * mpmath.mpf(min(n, m))))
        assert r == pytest.approx(float(ref), rel=1e-13)

    check_call(
        SUB, fraction_deviation, n, m, delta=delta, names=("n_rows", "m_rows", "delta"),
        check=check,
    )


# ---------------------------------------------------------------------------
# polynomial rings: Python big integers as the oracle
# ---------------------------------------------------------------------------

MODULI = [2, 3, 256, 257, 2**31 - 1, MAX_MODULUS]


@st.composite
def ring_polys(draw, max_len=6):
    n = draw(st.sampled_from(MODULI))
    lp = draw(st.integers(1, max_len))
    lq = draw(st.integers(1, max_len))
    P = draw(st.lists(st.integers(0, n - 1), min_size=lp, max_size=lp))
    Q = draw(st.lists(st.integers(0, n - 1), min_size=lq, max_size=lq))
    dtype = draw(st.sampled_from([np.int64, np.uint32, np.int32, object, None]))
    if dtype is not None and (dtype is object or n <= np.iinfo(dtype).max + 1):
        P = np.array(P, dtype=dtype)
    return n, P, Q


def _py_mul(P, Q, n):
    out = [0] * (len(P) + len(Q) - 1)
    for i, a in enumerate(P):
        for j, b in enumerate(Q):
            out[i + j] = (out[i + j] + int(a) * int(b)) % n
    return out


@settings(max_examples=examples(40, 500))
@given(ring_polys(), st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=4))
def test_ring_arithmetic_equals_big_integers(args, raw_points):
    n, P, Q = args
    p, q = [int(v) for v in P], [int(v) for v in Q]
    L = max(len(p), len(q))
    pp, qq = p + [0] * (L - len(p)), q + [0] * (L - len(q))
    for fn, ref in (
        (poly_add, [(a + b) % n for a, b in zip(pp, qq, strict=True)]),
        (poly_sub, [(a - b) % n for a, b in zip(pp, qq, strict=True)]),
        (poly_mul, _py_mul(p, q, n)),
    ):
        check_call(SUB, fn, P, Q, modulus=n, names=("P", "Q", "modulus"),
                   check=lambda r, ref=ref: r.tolist() == ref or pytest.fail(f"{r} != {ref}"))
    pts = [x % n for x in raw_points]
    ev = [sum(c * pow(x, k, n) for k, c in enumerate(p)) % n for x in pts]
    check_call(SUB, poly_eval, P, pts, modulus=n, names="P",
               check=lambda r: r.tolist() == ev or pytest.fail(f"{r} != {ev}"))
    deg = max((k for k, c in enumerate(p) if c), default=-1)
    check_call(SUB, poly_degree, P, names="P", check=lambda r: int(r) == deg or pytest.fail())
    units = [math.gcd(x, n) == 1 for x in pts]
    check_call(SUB, is_unit, pts, modulus=n, names="a",
               check=lambda r: r.tolist() == units or pytest.fail())
    status, inv = check_call(SUB, unit_inverse, pts, modulus=n, names="a")
    assert (status == "ok") == all(units)
    if status == "ok":
        assert inv.tolist() == [pow(x, -1, n) for x in pts]
    big = np.array([x * 10**30 - 7 for x in raw_points], dtype=object)
    check_call(SUB, poly_reduce, big, modulus=n, names="P",
               check=lambda r: r.tolist() == [int(v) % n for v in big] or pytest.fail())


RING_CALLS = {
    "poly_add": lambda X, n: poly_add(X, [1, 2], modulus=n),
    "poly_sub": lambda X, n: poly_sub([1, 2], X, modulus=n),
    "poly_mul": lambda X, n: poly_mul(X, [1, 2], modulus=n),
    "poly_eval": lambda X, n: poly_eval(X, [0, 1], modulus=n),
    "poly_reduce": lambda X, n: poly_reduce(X, modulus=n),
    "poly_degree": lambda X, n: poly_degree(X),
    "poly_distance": lambda X, n: poly_distance(X, X, modulus=n),
    "is_unit": lambda X, n: is_unit(X, modulus=n),
    "unit_inverse": lambda X, n: unit_inverse(X, modulus=n),
    "encode_image": lambda X, n: encode_image(X),
    "encode_tokens": lambda X, n: encode_tokens(X, vocab_size=n),
}
RING_NAMES = {"poly_sub": "Q", "is_unit": "a", "unit_inverse": "a", "encode_image": "image",
              "encode_tokens": "tokens"}


@settings(max_examples=examples(40, 400))
@given(
    fn=st.sampled_from(sorted(RING_CALLS)),
    bad=st.one_of(
        bad_arrays((3, 4)),
        st.sampled_from([[[1, 2], [3]], np.ones((2, 2), bool), np.full((2, 2), 2**40), [[-1, 0]],
                         np.array([[1.5, 2.0]], np.float16)]),
    ),
)
def test_ring_functions_refuse_non_integers_and_outside_values(fn, bad):
    status, _ = check_call(SUB, RING_CALLS[fn], bad, 257, names=RING_NAMES.get(fn, "P"))
    ragged = isinstance(bad, list) and len({len(r) for r in bad}) > 1
    integers = not ragged and isinstance(bad, (list, np.ndarray)) and (
        np.asarray(bad).dtype.kind == "i"
    )
    # poly_degree and poly_reduce take any integers; encode_tokens pads ragged sequences
    if not ((fn in ("poly_degree", "poly_reduce") and integers)
            or (fn == "encode_tokens" and ragged)):
        assert status == "error"


@settings(max_examples=examples(25, 200))
@given(fn=st.sampled_from(sorted(RING_CALLS)), modulus=st.sampled_from(
    [*BAD_SCALARS, 1, 2**31 + 1, 10**100, np.int64(5), np.uint8(7)]))
def test_ring_functions_validate_the_modulus(fn, modulus):
    P = np.array([[1, 3, 1, 3], [3, 1, 3, 1]])  # units of every valid modulus drawn
    names = "vocab_size" if fn == "encode_tokens" else "modulus"
    status, _ = check_call(SUB, RING_CALLS[fn], P, modulus, names=names)
    if fn not in ("poly_degree", "encode_image"):
        valid = isinstance(modulus, (int, np.integer)) and not isinstance(modulus, bool)
        assert (status == "ok") == (valid and 2 <= int(modulus) <= MAX_MODULUS)


@settings(max_examples=examples(20, 200))
@given(
    shape=st.sampled_from([(4, 4), (2, 4, 6), (3, 2, 2, 2), (1, 1), (0, 4), (4,)]),
    patch=st.sampled_from([None, 1, 2, (2, 1), (4, 2), 3, 0, -1, (2,), "2", 2.0, True]),
    seed=st.integers(0, 100),
)
def test_encode_image(shape, patch, seed):
    img = np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)

    def check(out):
        H, W = img.shape[-2:]
        ph, pw = (H, W) if patch is None else (patch, patch) if isinstance(patch, int) else patch
        lead = img.shape[:-2]
        assert out.shape == (*lead, (H // ph) * (W // pw), ph * pw) and out.dtype == np.uint8
        for a in range(H // ph):
            for b in range(W // pw):
                block = img[..., a * ph:(a + 1) * ph, b * pw:(b + 1) * pw]
                assert np.array_equal(out[..., a * (W // pw) + b, :],
                                      block.reshape(*lead, ph * pw))

    check_call(SUB, encode_image, img, patch_size=patch, names=("image", "patch_size"),
               check=check)


@settings(max_examples=examples(15, 200))
@given(st.lists(st.lists(st.integers(0, 9), min_size=0, max_size=4), min_size=0, max_size=4))
def test_encode_tokens_pads_or_refuses(seqs):
    def check(out):
        width = max(len(s) for s in seqs)
        assert out.tolist() == [s + [0] * (width - len(s)) for s in seqs]

    status, _ = check_call(SUB, encode_tokens, seqs, vocab_size=10, names="tokens", check=check)
    assert (status == "ok") == (bool(seqs) and all(seqs))


# ---------------------------------------------------------------------------
# embeddings of polynomials into a real space
# ---------------------------------------------------------------------------


@settings(max_examples=examples(25, 300))
@given(
    n_coeffs=st.sampled_from([1, 3, 40, 400, *BAD_SCALARS]),
    points=st.one_of(
        st.none(),
        bad_arrays((3,)),
        st.sampled_from(MAGNITUDES).map(lambda s: np.array([-1.0, 0.5, 1.0]) * s),
        arrays_in_layouts(np.array([0.0, -0.25, 0.9])),
    ),
    n_points=st.sampled_from([1, 5, *BAD_SCALARS]),
)
def test_evaluation_embedding(n_coeffs, points, n_points):
    def check(emb):
        t = (np.cos(np.pi * (np.arange(n_points) + 0.5) / n_points) if points is None
             else np.asarray(points, np.float64))
        V = np.array([[math.pow(x, k) for k in range(n_coeffs)] for x in t])
        assert np.allclose(emb.matrix, V, rtol=1e-14, atol=0)
        P = np.random.default_rng(0).integers(0, 7, (3, n_coeffs))
        out = emb(P)
        assert np.allclose(out, (P / 7) @ V.T, rtol=1e-12, atol=1e-12 * _top(V))
        assert math.isfinite(emb.lipschitz)

    check_call(SUB, evaluation_embedding, n_coeffs, points, modulus=7, n_points=n_points,
               names=("n_coeffs", "points", "n_points"), check=check)


@settings(max_examples=examples(20, 200))
@given(
    scale=st.sampled_from([*MAGNITUDES, 1e-292, *BAD_SCALARS]),
    dim=st.sampled_from([1, 4, *BAD_SCALARS]),
    seed=st.sampled_from([0, 3, np.random.default_rng(5), "0", -1, 1.5]),
)
def test_projection_embedding(scale, dim, seed):
    def check(emb):
        rng = np.random.default_rng(seed if isinstance(seed, int) else None)
        if isinstance(seed, int):
            ref = rng.standard_normal((dim, 6)) * (scale / math.sqrt(dim))
            assert np.array_equal(emb.matrix, ref)
        P = np.full((2, 6), 12)
        assert np.isfinite(emb(P)).all() and math.isfinite(emb.lipschitz)

    check_call(SUB, projection_embedding, 6, dim, modulus=13, seed=seed, scale=scale,
               names=("scale", "dim", "seed"), check=check)


@settings(max_examples=examples(20, 200))
@given(
    matrix=st.one_of(BAD_POINTS, point_clouds(max_rows=4, max_cols=3)),
    modulus=st.sampled_from([5, 256, *BAD_SCALARS]),
    P=st.one_of(bad_arrays((2, 3)), st.just(np.array([[0, 1, 2], [4, 4, 4]]))),
)
def test_polynomial_embedding_class(matrix, modulus, P):
    status, emb = check_call(SUB, PolynomialEmbedding, matrix, modulus,
                             names=("matrix", "modulus", "description"))
    if status != "ok":
        return
    A = np.asarray(matrix, np.float64)
    assert np.array_equal(emb.matrix, A) and not emb.matrix.flags.writeable

    def check(out):
        ref = (np.asarray(P) / modulus) @ A.T
        assert np.allclose(out, ref, rtol=1e-12, atol=1e-12 * _top(A))

    check_call(SUB, emb, P, names="P", check=check)
    assert math.isfinite(emb.lipschitz)


@settings(max_examples=examples(10, 100))
@given(P=st.one_of(bad_arrays((2, 3)), st.just(np.array([[0, 1, 2], [6, 6, 6]]))))
def test_poly_distance(P):
    Q = np.array([[1, 1, 1], [0, 0, 0]])

    def check(dist):
        ref = np.sqrt((((np.asarray(P) - Q) / 7.0) ** 2).sum(axis=1))
        assert np.allclose(dist, ref, rtol=1e-15)

    check_call(SUB, poly_distance, P, Q, modulus=7, names="P", check=check)


# ---------------------------------------------------------------------------
# the Dask fiber functions: equal to the in-memory ones, bit for bit
# ---------------------------------------------------------------------------


@settings(max_examples=examples(12, 100))
@given(
    data=st.data(),
    pair=cloud_pairs(max_rows=7, max_cols=3),
    metric=st.sampled_from(["euclidean", "cosine"]),
    block_rows=st.sampled_from([1, 3, 100]),
)
def test_dask_functions_equal_in_memory(data, pair, metric, block_rows):
    dask = pytest.importorskip("dask")
    pytest.importorskip("pyarrow")
    from sheaftopo.distributed import (
        DaskOptions,
        fiber_product_dask,
        fiber_profile_dask,
        true_distances_dask,
        write_fiber_product_dask,
    )

    opts = DaskOptions(block_rows=block_rows)
    F, G = pair
    eps = data.draw(tolerances(F, G, metric))
    with dask.config.set(scheduler="synchronous"):
        status, got = check_call(SUB, fiber_product_dask, F, G, eps, metric=metric,
                                 options=opts, names=("F", "G"))
        if status == "ok":
            ref = approximate_fiber_product(F, G, eps, metric=metric)
            assert np.array_equal(got.rows, ref.rows) and np.array_equal(got.cols, ref.cols)
            assert got.distances.tobytes() == ref.distances.tobytes()
            with tempfile.TemporaryDirectory() as tmp:
                files = write_fiber_product_dask(F, G, eps, f"{tmp}/p", metric=metric,
                                                 options=opts)
                assert files.n_pairs == ref.n_pairs
        G2 = G[: len(F)]
        diagonal = len(G2) == len(F)
        grid = np.unique([0.0, eps, min(2.0 * eps, 1.7e308)])
        check_call(
            SUB, fiber_profile_dask, F, G2, grid, true_pairs="diagonal" if diagonal else None,
            metric=metric, options=opts, names=("F", "G", "true_pairs"),
            check=_brute_force_profile(F, G2, grid, metric, diagonal),
        )
        if diagonal:
            status, got = check_call(SUB, true_distances_dask, F, G2, "diagonal", metric=metric,
                                     options=opts, names=("F", "G"))
            if status == "ok":
                ref = fiber_profile(F, G2, grid, true_pairs="diagonal", metric=metric)
                assert got.tobytes() == ref.true_distances.tobytes()


@settings(max_examples=examples(10, 100))
@given(bad=BAD_POINTS.filter(lambda b: not isinstance(b, str)), first=st.booleans(),
       eps=st.sampled_from([1.0, *BAD_SCALARS]))
def test_dask_functions_refuse_bad_input(bad, first, eps):
    dask = pytest.importorskip("dask")
    from sheaftopo.distributed import fiber_product_dask, fiber_profile_dask, true_distances_dask

    good = np.arange(15.0).reshape(5, 3)
    args = (bad, good) if first else (good, bad)
    with dask.config.set(scheduler="synchronous"):
        status, _ = check_call(SUB, fiber_product_dask, *args, 1.0, names="F" if first else "G")
        assert status == "error"
        status, _ = check_call(SUB, fiber_profile_dask, *args, [1.0], names="F" if first else "G")
        assert status == "error"
        status, _ = check_call(SUB, true_distances_dask, *args, [[0, 0]],
                               names="F" if first else "G")
        assert status == "error"
        status, _ = check_call(SUB, true_distances_dask, good, good, [[0, 9]], names="true_pairs")
        assert status == "error"
        status, res = check_call(SUB, fiber_product_dask, good, good + 0.5, eps, names="eps")
        if status == "ok":
            assert res.n_pairs == approximate_fiber_product(good, good + 0.5, eps).n_pairs


def test_every_public_name_is_covered():
    covered = {
        "MAX_MODULUS", "FiberProduct", "FiberProfile", "ModalitySubspaces", "PlantedSubspaces",
        "PolynomialEmbedding", "RandomPairFraction", "SubspaceDecomposition",
        "approximate_fiber_product", "encode_image", "encode_tokens", "epsilon_star",
        "evaluation_embedding", "fiber_profile", "fraction_deviation", "is_unit",
        "make_planted_subspaces", "poly_add", "poly_degree", "poly_distance", "poly_eval",
        "poly_mul", "poly_reduce", "poly_sub", "principal_angles", "projection_embedding",
        "random_pair_fraction", "subspace_decomposition", "unit_inverse",
    }
    assert set(fiber.__all__) == covered
