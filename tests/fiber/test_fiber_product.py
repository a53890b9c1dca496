"""The approximate fiber product and its profile: exactly the brute-force pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from _fiber_helpers import canonical
from scipy.spatial.distance import cdist

from sheaftopo.fiber import approximate_fiber_product, epsilon_star, fiber_profile
from sheaftopo.fiber._balls import ball_leaves
from sheaftopo.fiber._blocked import Blocked
from sheaftopo.fiber._screening import prepare, screen_threshold

METHODS = [("auto", "auto"), ("blocked", "float32"), ("blocked", "float64"), ("kdtree", "auto")]


def assert_brute_force(F, G, eps, metric="euclidean", **kw):
    D = canonical(F, G, metric)
    ref_r, ref_c = np.nonzero(D <= eps)
    for method, precision in METHODS:
        res = approximate_fiber_product(
            F, G, eps, metric=metric, method=method, precision=precision, **kw
        )
        assert np.array_equal(res.rows, ref_r), (method, precision)
        assert np.array_equal(res.cols, ref_c), (method, precision)
        assert np.array_equal(res.distances, D[ref_r, ref_c]), (method, precision)
    return len(ref_r)


RNG = np.random.default_rng(11)


@pytest.mark.parametrize("d", [1, 3, 8, 17, 64])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_equals_brute_force_on_random_data(d, metric):
    F = RNG.standard_normal((300, d))
    G = RNG.standard_normal((420, d))
    D = canonical(F, G, metric)
    for q in (0.001, 0.02, 0.3):
        assert_brute_force(F, G, float(np.quantile(D, q)), metric)


def test_euclidean_distances_are_cdist_exactly():
    F = RNG.standard_normal((200, 33)) * 5 + 3
    G = RNG.standard_normal((150, 33)) * 5 + 3
    D = cdist(F, G)
    eps = float(np.quantile(D, 0.05))
    res = approximate_fiber_product(F, G, eps)
    r, c = np.nonzero(D <= eps)
    assert np.array_equal(res.rows, r) and np.array_equal(res.cols, c)
    assert np.array_equal(res.distances, D[r, c])


@pytest.mark.parametrize("d", [2, 5, 12])
def test_ties_at_exactly_eps_on_an_integer_grid(d):
    F = RNG.integers(0, 2, (250, d)).astype(float)  # distances are sqrt(Hamming)
    G = RNG.integers(0, 2, (260, d)).astype(float)
    D = canonical(F, G)
    for eps in (0.0, 1.0, 2.0, float(np.sqrt(2.0)), 3.0):
        n = assert_brute_force(F, G, eps)
        if eps > 0:
            assert n > 0
        if 0 < eps**2 <= d:
            assert (D == eps).any()  # the grid really has pairs at exactly eps


def test_three_four_five_boundary_pairs_are_kept():
    F = np.array([[0.0, 0.0], [3.0, 4.0]])
    G = np.array([[3.0, 4.0], [6.0, 8.0], [0.0, 5.0]])
    res = approximate_fiber_product(F, G, 5.0, method="blocked")
    pairs = [(0, 0), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert list(zip(res.rows.tolist(), res.cols.tolist(), strict=True)) == pairs
    assert res.distances.tolist() == [5.0, 5.0, 0.0, 5.0, np.sqrt(10.0)]
    res = approximate_fiber_product(F, G, np.nextafter(5.0, 0.0), method="kdtree")
    assert list(zip(res.rows.tolist(), res.cols.tolist(), strict=True)) == [(1, 0), (1, 2)]


def test_duplicates_offsets_and_float32_input():
    base = (RNG.standard_normal((300, 24)) * 0.01 + 1000.0).astype(np.float32)
    F = np.concatenate([base, base[:50]])
    G = np.concatenate([base[100:], base[:20], base[:20]])
    for eps in (0.0, 0.01, 0.03):
        n = assert_brute_force(F, G, eps)
        assert n >= 280  # 200 + 2 x 2 x 20 equal pairs
    exact = approximate_fiber_product(F, G, 0.0)
    assert exact.method == "exact-match" and (exact.distances == 0).all()
    assert ((F[exact.rows] == G[exact.cols]).all(axis=1)).all()


def test_eps_zero_is_the_exact_fiber_product_even_when_squares_underflow():
    F = np.array([[1e-170, 0.0], [0.0, 0.0], [-0.0, 0.0]])
    G = np.array([[0.0, 0.0], [1e-170, 0.0]])
    for method in ("auto", "blocked", "kdtree"):
        res = approximate_fiber_product(F, G, 0.0, method=method)
        pairs = list(zip(res.rows.tolist(), res.cols.tolist(), strict=True))
        assert pairs == [(0, 1), (1, 0), (2, 0)], method
        # the squared difference 1e-340 underflows, yet the distance is 1e-170
        near = approximate_fiber_product(F, G, 1.5e-170, method=method)
        assert near.n_pairs == 6
        assert near.distances[(near.rows == 0) & (near.cols == 0)][0] == 1e-170
        assert approximate_fiber_product(F, G, 0.5e-170, method=method).n_pairs == 3
    # tiny differences with partly subnormal squares
    F = np.array([[3e-162, 4e-162], [1e-300, 0.0]])
    G = np.zeros((1, 2))
    assert_brute_force(F, G, 5e-162)
    assert canonical(F, G)[0, 0] == pytest.approx(5e-162, rel=1e-15)


def test_pruned_blocks_on_clustered_data_still_give_every_pair():
    centers = RNG.standard_normal((40, 16)) * 30
    F = centers[np.repeat(np.arange(40), 100)] + RNG.standard_normal((4000, 16))
    G = centers[np.repeat(np.arange(40), 60)] + RNG.standard_normal((2400, 16))
    eps = 3.0
    p = prepare(F, G, "euclidean")
    eng = Blocked(p, screen_threshold(p, eps), "float32", 1 << 24, 1)
    assert eng.alive.mean() < 0.5  # most pairs of blocks are skipped
    assert assert_brute_force(F, G, eps, n_jobs=2) > 300


def test_dense_products_regrow_the_buffers():
    F = RNG.standard_normal((700, 5))
    G = RNG.standard_normal((600, 5))
    n = assert_brute_force(F, G, 100.0)
    assert n == 700 * 600


def test_ball_leaves_partition_the_rows():
    X = RNG.standard_normal((1000, 7))
    X[:300] = 0.0  # a block of identical points
    perm, leaves = ball_leaves(X, 64)
    assert np.array_equal(np.sort(perm), np.arange(1000))
    assert leaves[0][0] == 0 and leaves[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(leaves))
    assert all(0 < e - s <= 64 for s, e in leaves)


def test_cosine_is_scale_invariant_and_matches_cdist():
    F = RNG.standard_normal((120, 10))
    G = RNG.standard_normal((90, 10))
    eps = 0.4
    a = approximate_fiber_product(F, G, eps, metric="cosine")
    b = approximate_fiber_product(F * 7.5, G * 0.001, eps, metric="cosine")
    assert a.n_pairs > 0
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
    assert np.allclose(a.distances, cdist(F, G, "cosine")[a.rows, a.cols], atol=1e-14)


def test_result_object_and_sparse_matrix():
    F = np.array([[0.0], [1.0], [5.0]])
    G = np.array([[0.0], [1.5]])
    res = approximate_fiber_product(F, G, 1.0)
    assert len(res) == res.n_pairs == 3
    assert res.density == pytest.approx(3 / 6)
    A = res.to_sparse()
    assert isinstance(A, sp.csr_array) and A.shape == (3, 2) and A.nnz == 3
    assert A[0, 0] == 0 and A.has_canonical_format  # the zero distance is an explicit entry
    assert A.toarray().tolist() == [[0.0, 0.0], [1.0, 0.5], [0.0, 0.0]]
    assert "n_pairs=3" in repr(res)


def test_inputs_are_not_modified_and_results_are_deterministic():
    F = RNG.standard_normal((400, 20))
    G = RNG.standard_normal((300, 20))
    F0, G0 = F.copy(), G.copy()
    a = approximate_fiber_product(F, G, 5.0, n_jobs=1)
    b = approximate_fiber_product(F, G, 5.0, n_jobs=2)
    assert np.array_equal(F, F0) and np.array_equal(G, G0)
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)


def test_max_pairs():
    F = RNG.standard_normal((100, 4))
    with pytest.raises(ValueError, match="more than max_pairs=50 pairs"):
        approximate_fiber_product(F, F, 3.0, max_pairs=50)
    with pytest.raises(ValueError, match="max_pairs=50"):
        approximate_fiber_product(F, F, 3.0, max_pairs=50, method="kdtree")
    with pytest.raises(ValueError, match="max_pairs=5"):
        approximate_fiber_product(np.zeros((3, 2)), np.zeros((3, 2)), 0.0, max_pairs=5)
    assert approximate_fiber_product(F, F, 0.5, max_pairs=10**6).n_pairs >= 100


# -- the profile -------------------------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("method", ["auto", "blocked", "kdtree"])
def test_profile_counts_equal_brute_force_over_the_grid(metric, method):
    F = RNG.integers(-2, 3, (300, 4)).astype(float)
    G = np.concatenate([F[:50], RNG.integers(-2, 3, (200, 4)).astype(float)])
    if metric == "cosine":
        F[(F == 0).all(1)] = 1.0
        G[(G == 0).all(1)] = 1.0
    D = canonical(F, G, metric)
    grid = np.unique(np.concatenate([[0.0], np.quantile(D, [0.01, 0.1, 0.5]), D.ravel()[:7]]))
    for prec in ("float32", "float64"):
        prof = fiber_profile(F, G, grid, metric=metric, method=method, precision=prec)
        assert prof.counts.tolist() == [int((D <= e).sum()) for e in grid]
        assert prof.n_total == D.size
    for e, c in zip(grid, prof.counts, strict=True):
        assert len(approximate_fiber_product(F, G, e, metric=metric)) == c


def test_profile_recall_and_epsilon_star():
    F = RNG.standard_normal((500, 12))
    G = F + RNG.standard_normal((500, 12)) * 0.3
    true_d = canonical(F, G)[np.arange(500), np.arange(500)]
    grid = np.linspace(0, 3, 31)
    prof = fiber_profile(F, G, grid, true_pairs="diagonal", fraction=0.9)
    assert np.array_equal(prof.true_distances, true_d)
    assert np.allclose(prof.recall, [(true_d <= e).mean() for e in grid])
    assert (np.diff(prof.counts) >= 0).all() and (np.diff(prof.recall) >= 0).all()
    s = np.sort(true_d)
    assert prof.epsilon_star == s[449]  # ceil(0.9 * 500) = 450th smallest
    assert prof.epsilon_for_recall(1.0) == s[-1] == epsilon_star(F, G)
    assert epsilon_star(F, G, fraction=0.9) == prof.epsilon_star
    # exactness: at eps* the product holds >= 90% of the true pairs, just below it fewer
    star = prof.epsilon_star
    inside = approximate_fiber_product(F, G, star)
    hits = inside.rows == inside.cols
    assert hits.sum() >= 450
    below = approximate_fiber_product(F, G, np.nextafter(star, 0))
    assert (below.rows == below.cols).sum() < 450
    pairs = np.array([[0, 1], [2, 2], [499, 0]])
    p2 = fiber_profile(F, G, grid, true_pairs=pairs)
    assert np.array_equal(p2.true_distances, canonical(F, G)[pairs[:, 0], pairs[:, 1]])
    assert "epsilon_star" in repr(p2) and p2.fractions[-1] == p2.counts[-1] / 250000


def test_profile_without_true_pairs():
    F = RNG.standard_normal((50, 3))
    prof = fiber_profile(F, F, 1.0)
    assert prof.recall is None and prof.epsilon_star is None and prof.counts.shape == (1,)
    with pytest.raises(ValueError, match="without true_pairs"):
        prof.epsilon_for_recall(0.5)


# -- bad input ---------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    F = np.zeros((4, 3))
    G = np.ones((5, 3))
    with pytest.raises(ValueError, match=r"same number of columns d\); got F of shape \(4, 3\)"):
        approximate_fiber_product(F, np.ones((5, 2)), 1.0)
    with pytest.raises(ValueError, match=r"eps must be >= 0\.0; got -1\.0"):
        approximate_fiber_product(F, G, -1.0)
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="eps must be a finite real number"):
            approximate_fiber_product(F, G, bad)
    with pytest.raises(TypeError, match="eps must be a real number"):
        approximate_fiber_product(F, G, "1")
    Fn = F.copy()
    Fn[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"F must not contain NaN or inf; found .*nan.* \(2, 1\)"):
        approximate_fiber_product(Fn, G, 1.0)
    with pytest.raises(ValueError, match="G must not contain NaN or inf"):
        fiber_profile(F, np.full((2, 3), np.inf), [1.0])
    with pytest.raises(ValueError, match="F must contain at least one point"):
        approximate_fiber_product(np.zeros((0, 3)), G, 1.0)
    with pytest.raises(ValueError, match="G must have at least one feature"):
        approximate_fiber_product(np.zeros((2, 3)), np.zeros((2, 0)), 1.0)
    with pytest.raises(ValueError, match=r"cosine distance is undefined for zero vectors; F\[0\]"):
        approximate_fiber_product(F, G, 0.5, metric="cosine")
    with pytest.raises(ValueError, match=r"G\[1\] is zero"):
        fiber_profile(G[:2] + 1, np.array([[1.0, 0, 0], [0, 0, 0]]), [0.5], metric="cosine")
    with pytest.raises(ValueError, match="metric must be one of"):
        approximate_fiber_product(F, G, 1.0, metric="manhattan")
    with pytest.raises(ValueError, match="method must be one of"):
        approximate_fiber_product(F, G, 1.0, method="balltree")
    with pytest.raises(ValueError, match="n_jobs must be >= 1"):
        approximate_fiber_product(F, G, 1.0, n_jobs=0)


def test_bad_grids_and_true_pairs():
    F = np.zeros((4, 2))
    G = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"non-decreasing; eps_grid\[0\] = 2.0 > eps_grid\[1\]"):
        fiber_profile(F, G, [2.0, 1.0])
    with pytest.raises(ValueError, match="eps_grid must be >= 0"):
        fiber_profile(F, G, [-1.0, 1.0])
    with pytest.raises(ValueError, match="eps_grid must be finite"):
        fiber_profile(F, G, [0.0, np.nan])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        fiber_profile(F, G, [])
    with pytest.raises(ValueError, match="needs N == M; got N=4, M=3"):
        fiber_profile(F, G, [1.0], true_pairs="diagonal")
    with pytest.raises(ValueError, match=r"true_pairs\[1\] = \(4, 0\) is out of range"):
        fiber_profile(F, G, [1.0], true_pairs=[[0, 0], [4, 0]])
    with pytest.raises(ValueError, match=r"lists the pair \(1, 2\) more than once"):
        epsilon_star(F, G, [[1, 2], [0, 0], [1, 2]])
    with pytest.raises(ValueError, match=r"shape \(T, 2\)"):
        epsilon_star(F, G, [0, 1])
    with pytest.raises(TypeError, match="integer array"):
        epsilon_star(F, G, [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"fraction must be > 0\.0"):
        epsilon_star(F, F, fraction=0.0)
    with pytest.raises(ValueError, match="true_pairs must be one of 'diagonal'"):
        epsilon_star(F, F, "identity")


# ----------------------------------------------------------------------
# regressions (issue 14)
# ----------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 9])
def test_regression_cosine_eps_zero_finds_exact_duplicates(d):
    # issue 14: 1 - sum u^2 left ~1e-16 for a row against itself, so eps = 0 missed it
    X = np.random.default_rng(d).standard_normal((40, d))
    X = np.vstack([X, X[:7] * 4.0])  # power-of-two multiples: the same unit rows
    for method, precision in METHODS:
        prod = approximate_fiber_product(
            X, X, 0.0, metric="cosine", method=method, precision=precision
        )
        pairs = set(zip(prod.rows.tolist(), prod.cols.tolist(), strict=True))
        assert {(i, i) for i in range(len(X))} <= pairs, method
        assert {(i, 40 + i) for i in range(7)} <= pairs
        assert (prod.distances == 0).all()
    prof = fiber_profile(X, X, [0.0, 1e-300], metric="cosine", true_pairs="diagonal")
    assert prof.counts[0] == len(X) + 2 * 7 and prof.recall[0] == 1.0
    assert prof.epsilon_star == 0.0
    assert epsilon_star(X, X, metric="cosine") == 0.0
    assert_brute_force(X, X, 0.0, metric="cosine")


@pytest.mark.parametrize("scale", [1e-300, 1e-170, 1e-160, 1e154, 1e200, 1e300])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_regression_extreme_magnitudes_give_the_rescaled_answer(scale, metric):
    # issue 14: OverflowError for tiny inputs; entries beyond 1e150 were refused
    rng = np.random.default_rng(4)
    F = rng.standard_normal((60, 3))
    G = np.vstack([F[:20] + 1e-3 * rng.standard_normal((20, 3)), rng.standard_normal((30, 3))])
    F2, G2 = np.ldexp(F, round(np.log2(scale))), np.ldexp(G, round(np.log2(scale)))
    s = 2.0 ** round(np.log2(scale))  # a power of two: the scaled problem is exact
    eps = 0.5 if metric == "cosine" else 0.5 * s
    n = assert_brute_force(F2, G2, eps, metric=metric)
    ref = approximate_fiber_product(F, G, 0.5, metric=metric)
    got = approximate_fiber_product(F2, G2, eps, metric=metric)
    assert n == ref.n_pairs
    assert np.array_equal(got.rows, ref.rows) and np.array_equal(got.cols, ref.cols)
    unit = 1.0 if metric == "cosine" else s
    assert np.allclose(got.distances / unit, ref.distances, rtol=1e-14, atol=0)
    grid = np.array([0.0, 0.1, 0.5, 1.0, 1e300 if metric == "euclidean" else 2.0])
    grid2 = grid if metric == "cosine" else np.minimum(grid, 1e308 / s) * s
    p_ref = fiber_profile(F[:20], G[:20], grid, true_pairs="diagonal", metric=metric)
    p_got = fiber_profile(F2[:20], G2[:20], grid2, true_pairs="diagonal", metric=metric)
    assert np.array_equal(p_got.counts, p_ref.counts)
    assert p_got.counts[-1] == 400
    assert p_got.epsilon_star == pytest.approx(p_ref.epsilon_star * unit, rel=1e-14)
    assert epsilon_star(F2, F2 + 0.0, metric=metric) == 0.0


def test_regression_tiny_and_huge_tolerances():
    # issue 14: approximate_fiber_product([[1e-300, 0]], [[2e-300, 0]], 1e-10) overflowed
    prod = approximate_fiber_product([[1e-300, 0.0]], [[2e-300, 0.0]], 1e-10)
    assert prod.n_pairs == 1 and prod.distances[0] == 1e-300
    assert approximate_fiber_product([[1e-300, 0.0]], [[2e-300, 0.0]], 9e-301).n_pairs == 0
    assert approximate_fiber_product([[5e-324]], [[1e-323]], 5e-324).distances[0] == 5e-324
    for metric in ("euclidean", "cosine"):
        F = RNG.standard_normal((30, 5))
        G = RNG.standard_normal((20, 5))
        for eps in (1e300, 1.7e308):
            assert approximate_fiber_product(F, G, eps, metric=metric).n_pairs == 600
            prof = fiber_profile(F, G, [0.0, 1.0, eps], metric=metric)
            assert prof.counts[-1] == 600
        assert_brute_force(F * 1e-300, G * 1e-300, 1e-299, metric=metric)


def test_regression_distances_beyond_the_float64_range():
    F = np.array([[1.5e308, 0.0], [1e308, 1e308]])
    G = np.array([[-1.5e308, 0.0], [1e308, 1e308 - 2.0**971]])
    D = canonical(F, G)
    assert np.isinf(D[0, 0]) and np.isinf(D[1, 0]) and D[1, 1] == 2.0**971
    assert D[0, 1] == pytest.approx(np.hypot(0.5, 1.0) * 1e308, rel=1e-15)
    for method, precision in METHODS:
        prod = approximate_fiber_product(F, G, 1.2e308, method=method, precision=precision)
        assert list(zip(prod.rows.tolist(), prod.cols.tolist(), strict=True)) == [(0, 1), (1, 1)]
        assert np.array_equal(prod.distances, D[prod.rows, prod.cols])
    assert epsilon_star(F, G, [[1, 1], [0, 1]]) == D[0, 1]
    with pytest.raises(ValueError, match=r"true_pairs\[0\] = \(0, 0\).*largest float64"):
        epsilon_star(F, G)
    with pytest.raises(ValueError, match="largest float64"):
        fiber_profile(F, G, [1.0], true_pairs="diagonal")
    # cosine is scale-free: huge rows are just directions
    prod = approximate_fiber_product(F, G, 0.0, metric="cosine")
    assert prod.n_pairs == 0 or (prod.distances == 0).all()
    assert approximate_fiber_product(F, -F, 2.0, metric="cosine").n_pairs == 4
