"""ToMCLIP sparsification, H1 births and the sparsification bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from sheaftopo.persistence import (
    approximation_bound,
    h0_diagram,
    h1_births,
    mst,
    spanning_forest,
    sparsify,
    wasserstein,
)

RNG = np.random.default_rng(7)


def _cloud(n=60, d=4, k=3, sep=8.0, rng=RNG):
    c = rng.standard_normal((k, d)) * sep
    return c[rng.integers(0, k, n)] + rng.standard_normal((n, d))


def _D(X):
    D = cdist(X, X)
    return (D + D.T) / 2


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0, -0.5])
def test_threshold_matches_numpy_reference(lam):
    D = _D(_cloud())
    n = len(D)
    off = D[~np.eye(n, dtype=bool)]
    g = sparsify(D, lam=lam)
    assert g.eps == pytest.approx(off.mean() - lam * off.std(), rel=1e-12)
    # ToMCLIP's released code: all n^2 entries (zero diagonal included), unbiased std
    t = sparsify(D, lam=lam, convention="tomclip")
    assert t.eps == pytest.approx(D.mean() - lam * D.std(ddof=1), rel=1e-12)
    assert t.eps < g.eps or lam <= 0


def test_graph_keeps_exactly_the_pairs_below_eps_with_explicit_zeros():
    X = np.vstack([_cloud(40), _cloud(5)[:2]])
    X = np.vstack([X, X[:3]])  # duplicates: distance-0 pairs
    D = _D(X)
    g = sparsify(D, lam=0.5)
    A = g.graph
    assert isinstance(A, sp.csr_array)
    assert (A != A.T).nnz == 0
    dense_mask = (D <= g.eps) & ~np.eye(len(D), dtype=bool)
    coo = A.tocoo()
    stored = np.zeros_like(dense_mask)
    stored[coo.row, coo.col] = True
    np.testing.assert_array_equal(stored, dense_mask)
    assert g.n_edges == int(dense_mask.sum() // 2)
    np.testing.assert_array_equal(A.toarray()[dense_mask], D[dense_mask])
    assert (coo.data == 0).sum() >= 6  # the duplicate pairs survive as explicit zeros
    ref = connected_components(sp.csr_array(dense_mask.astype(float)), directed=False)[0]
    assert g.n_components == ref


def test_sparse_diagram_is_the_exact_one_truncated_at_eps():
    D = _D(_cloud(80, k=4, sep=10))
    g = sparsify(D, lam=0.5)
    exact = h0_diagram(D, metric="precomputed")
    sparse = spanning_forest(g.graph).diagram
    ex = exact[np.isfinite(exact[:, 1]), 1]
    spd = sparse[np.isfinite(sparse[:, 1]), 1]
    np.testing.assert_array_equal(spd, ex[ex <= g.eps])
    assert int(np.isinf(sparse[:, 1]).sum()) == g.n_components


def test_tomclip_convention_rescales_kept_weights_by_their_maximum():
    D = _D(_cloud(50))
    g = sparsify(D, lam=0.5, convention="tomclip")
    A = g.graph.toarray()
    kept = (D <= g.eps) & ~np.eye(len(D), dtype=bool)
    assert g.weight_scale == pytest.approx(D[kept].max())
    np.testing.assert_allclose(A[kept], D[kept] / D[kept].max())
    assert A[kept].max() == pytest.approx(1.0)


def test_h1_births_are_the_non_forest_edges():
    D = _D(_cloud(40))
    g = sparsify(D, lam=0.3)
    births = h1_births(g.graph)
    n = len(D)
    assert len(births) == g.n_edges - (n - g.n_components)
    iu = np.triu_indices(n, 1)
    w = D[iu]
    kept = np.sort(w[w <= g.eps])
    forest = spanning_forest(g.graph).weights
    # multiset difference: kept edge weights minus forest weights
    remaining = list(kept)
    for f in forest:
        remaining.remove(f)
    np.testing.assert_allclose(births, np.sort(remaining))
    assert np.all(np.diff(births) >= 0)


def test_h1_births_of_a_tree_and_of_a_cycle():
    assert h1_births(np.array([[0, 1], [1, 2]]), weights=[1.0, 2.0]).size == 0
    np.testing.assert_array_equal(
        h1_births(np.array([[0, 1], [1, 2], [2, 0]]), weights=[1.0, 2.0, 3.0]), [3.0]
    )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5, np.inf])
def test_bound_holds_and_reports_truth(p):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        D = _D(_cloud(30, k=int(rng.integers(1, 5)), rng=rng))
        for eps in [sparsify(D).eps, float(rng.uniform(0, D.max())), D.max(), -1.0]:
            res = approximation_bound(D, eps, p=p)
            assert res.distance <= res.bound * (1 + 1e-9) + 1e-12
            assert res.ratio <= 1 + 1e-9
            exact_deaths = mst(D, metric="precomputed").weights
            assert res.n_affected == int((exact_deaths > eps).sum())
            assert res.scale == D.max()
            if np.isfinite(p):
                ref = wasserstein(res.exact_diagram, res.sparse_diagram, p=p)
                assert res.distance == pytest.approx(ref)


def _gudhi_finite_deaths(D):
    gudhi = pytest.importorskip("gudhi")
    st = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    st.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    iv = st.persistence_intervals_in_dimension(0)
    return np.sort(iv[np.isfinite(iv[:, 1]), 1])


def _ties(rng):
    grid = np.stack(np.meshgrid(np.arange(3.0), np.arange(3.0)), -1).reshape(-1, 2)
    return grid[rng.integers(0, 9, 14)]  # exact distance ties and duplicate points


@pytest.mark.parametrize("seed", range(6))
def test_regression_sparse_diagram_is_the_persistence_of_d_eps(seed):
    """Issue 15: the sparsified diagram was written from the theorem's conclusion
    (deaths > eps replaced by T); it must be Dgm0 of D^eps, computed here by GUDHI."""
    rng = np.random.default_rng(seed)
    D = _D(_ties(rng) if seed % 2 else _cloud(25, k=3, rng=rng))
    T = D.max()
    iu = np.triu_indices(len(D), 1)
    for eps in (float(rng.choice(D[iu])), float(rng.uniform(0, T)), -1.0, 0.0, T):
        Deps = np.where(D <= eps, D, T)
        np.fill_diagonal(Deps, 0.0)
        for p in (1.0, np.inf):
            res = approximation_bound(D, eps, p=p)
            np.testing.assert_array_equal(res.sparse_diagram[:-1, 1], _gudhi_finite_deaths(Deps))
            assert res.sparse_diagram[-1, 1] == np.inf
            adjacent = sp.csr_array(((D <= eps) & ~np.eye(len(D), dtype=bool)).astype(np.int8))
            assert res.n_affected == connected_components(adjacent, directed=False)[0] - 1


@pytest.mark.parametrize("p", [1.0, 2.0, np.inf])
@pytest.mark.parametrize("delta", [1e-3, 1e-6])
def test_three_collinear_points_are_the_sharp_family(p, delta):
    """theory/sparsification-bound.md: X = {0, s, 2s}, eps = s / (1 + delta) gives
    W_p = 2^(1/p) s and bound 2^(1/p) (2s - eps): ratio (1 + delta) / (1 + 2 delta)."""
    s = 3.0
    X = np.array([[0.0], [s], [2 * s]])
    res = approximation_bound(_D(X), s / (1 + delta), p=p)
    assert res.n_affected == 2
    assert res.distance == pytest.approx(2 ** (1 / p) * s, rel=1e-12)
    assert res.ratio == pytest.approx((1 + delta) / (1 + 2 * delta), rel=1e-9)


@pytest.mark.parametrize("delta", [1e-3, 1e-6])
def test_two_clusters_are_sharp_only_with_eps_just_below_the_gap(delta):
    """theory/sparsification-bound.md: with eps = w - delta (T - w) the ratio is
    1 / (1 + delta); with the clusters eps (1 + delta) apart and a tiny spread (the
    family the page used to call sharp) it is tiny."""
    X = np.array([[0.0], [0.2], [1.2], [1.4]])  # gap w = 1, T = 1.4
    D = _D(X)
    res = approximation_bound(D, 1.0 - delta * 0.4, p=2)
    assert res.n_affected == 1
    assert res.ratio == pytest.approx(1 / (1 + delta), rel=1e-9)
    X = np.repeat(np.array([[0.0], [1.0 + 1e-6]]), 3, axis=0)
    X += np.random.default_rng(0).uniform(0, 1e-9, X.shape)
    res = approximation_bound(_D(X), 1.0, p=2)
    assert res.n_affected == 1 and res.ratio < 0.01


def test_bound_m_counts_components_of_the_eps_graph():
    D = _D(_cloud(60, k=5, sep=30))
    g = sparsify(D, lam=0.5)
    res = approximation_bound(D, g.eps)
    assert res.n_affected == g.n_components - 1
    sparse = res.sparse_diagram
    assert int(np.isinf(sparse[:, 1]).sum()) == 1
    assert int((sparse[:, 1] == res.scale).sum()) >= res.n_affected


def test_bound_is_zero_when_nothing_is_cut():
    D = _D(_cloud(20))
    res = approximation_bound(D, D.max())
    assert res.n_affected == 0 and res.bound == 0.0 and res.distance == 0.0
    assert res.ratio == 0.0


def test_printed_bound_does_not_cover_the_released_codes_rescaling():
    """theory/sparsification-bound.md: m = 0, bound 0, yet the rescaled diagram moved."""
    D = np.array([[0.0, 0.5, 1.0], [0.5, 0.0, 0.5], [1.0, 0.5, 0.0]])
    eps = 0.6
    res = approximation_bound(D, eps, p=2)
    assert res.n_affected == 0 and res.bound == 0.0
    g = sparsify(D, lam=-0.5, convention="tomclip")
    assert 0.5 < g.eps < 1.0 and g.n_components == 1
    rescaled = spanning_forest(g.graph).diagram
    np.testing.assert_allclose(rescaled[:2, 1], [1.0, 1.0])
    assert wasserstein(h0_diagram(D, metric="precomputed"), rescaled, p=2) > 0.1


def test_inputs_not_modified():
    D = _D(_cloud(30))
    D.setflags(write=False)
    sparsify(D)
    sparsify(D, convention="tomclip")
    approximation_bound(D, 1.0)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: sparsify(np.zeros((1, 1))), ValueError, "at least 2"),
        (lambda: sparsify(np.array([[0.0, 1.0], [2.0, 0.0]])), ValueError, "symmetric"),
        (lambda: sparsify(np.zeros((3, 3)), lam=np.nan), ValueError, "lam"),
        (lambda: sparsify(np.zeros((3, 3)), lam="0.5"), TypeError, "lam"),
        (lambda: sparsify(np.zeros((3, 3)), convention="paper"), ValueError, "convention"),
        (lambda: approximation_bound(np.zeros((3, 3)), 0.5, p=0.5), ValueError, "p"),
        (lambda: approximation_bound(np.zeros((3, 3)), np.inf), ValueError, "eps"),
        (lambda: approximation_bound(np.full((2, 2), np.nan), 0.5), ValueError, "NaN"),
        (lambda: h1_births(np.zeros((3, 3))), TypeError, "edge list"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------
# regressions (issue 14): magnitudes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", (-1000, -600, 520, 1000))
@pytest.mark.parametrize("convention", ["exact", "tomclip"])
def test_regression_sparsify_eps_scales_exactly(k, convention):
    """eps was NaN above ~1e154 (squares overflowed) and wrong below ~1e-160."""
    D = _D(_cloud())
    ref = sparsify(D, convention=convention)
    got = sparsify(np.ldexp(D, k), convention=convention)
    assert got.eps == math.ldexp(ref.eps, k)
    assert (got.n_edges, got.n_components) == (ref.n_edges, ref.n_components)
    scale = 1.0 if convention == "tomclip" else math.ldexp(1.0, k)
    np.testing.assert_array_equal(got.graph.toarray(), ref.graph.toarray() * scale)


@pytest.mark.parametrize("s", [1e-300, 1e300])
def test_regression_sparsify_decimal_scales(s):
    D = _D(_cloud())
    assert math.isclose(sparsify(D * s).eps / s, sparsify(D).eps, rel_tol=1e-13)


def test_regression_sparsify_threshold_out_of_range_names_lam():
    D = _D(_cloud()) * 1e300
    with pytest.raises(ValueError, match=r"lam=1e\+300 puts the threshold"):
        sparsify(D, lam=1e300)
    with pytest.raises(ValueError, match="lam="):
        sparsify(D, lam=-1e300)
    assert sparsify(D, lam=5.0).n_edges == 0  # a finite, negative threshold


@pytest.mark.parametrize("k", (-1000, 1000))
def test_regression_bound_and_h1_births_scale_exactly(k):
    D = _D(_cloud())
    eps = sparsify(D, lam=1.0).eps
    ref = approximation_bound(D, eps, p=2)
    got = approximation_bound(np.ldexp(D, k), math.ldexp(eps, k), p=2)
    assert ref.n_affected > 0
    assert got.n_affected == ref.n_affected
    assert math.isclose(got.bound, math.ldexp(ref.bound, k), rel_tol=1e-15)
    assert math.isclose(got.distance, math.ldexp(ref.distance, k), rel_tol=1e-12)
    g = sparsify(D).graph
    np.testing.assert_array_equal(h1_births(g * math.ldexp(1.0, k)), np.ldexp(h1_births(g), k))


def test_regression_bound_beyond_float64_names_eps():
    D = np.array([[0.0, 1e308], [1e308, 0.0]])
    with pytest.raises(ValueError, match=r"eps=-1e\+308 is so far below"):
        approximation_bound(D, -1e308)
    assert approximation_bound(D, 0.0, p=np.inf).bound == 1e308
