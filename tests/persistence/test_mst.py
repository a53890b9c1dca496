"""Minimum spanning trees and H0 diagrams against ripser, GUDHI, scipy and networkx."""

from __future__ import annotations

import warnings

import gudhi
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

from sheaftopo.persistence import (
    SpanningForest,
    _mst_points,
    h0_diagram,
    h0_diagram_batch,
    mst,
    mst_batch,
    spanning_forest,
)

ripser = pytest.importorskip("ripser")

POINT_METHODS = ("prim", "boruvka", "kdtree")
RNG = np.random.default_rng(20261122)


def _ripser_h0(X, metric="euclidean"):
    """ripser's finite deaths above 1e-6, and its number of essential classes.

    ripser drops bars of length zero and, through scikit-learn's Gram-identity
    distances, reports duplicate points as ~3e-8 apart; comparisons with it
    therefore ignore deaths below 1e-6 (GUDHI is the exact oracle).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dgm = ripser.ripser(X, maxdim=0, metric=metric, distance_matrix=metric == "precomputed")[
            "dgms"
        ][0]
    fin = np.sort(dgm[np.isfinite(dgm[:, 1]), 1])
    return fin[fin > 1e-6], int(np.isinf(dgm[:, 1]).sum())


def _above(x, t=1e-6):
    return x[x > t]


def _gudhi_h0(D):
    st_ = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    st_.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    iv = st_.persistence_intervals_in_dimension(0)
    return np.sort(iv[np.isfinite(iv[:, 1]), 1]), int(np.isinf(iv[:, 1]).sum())


def _clusters(n, d, k, sep, rng=RNG):
    centres = rng.standard_normal((k, d)) * sep
    return centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))


CLOUDS = {
    "gaussian-3d": RNG.standard_normal((200, 3)),
    "gaussian-40d": RNG.standard_normal((150, 40)),
    "gaussian-300d": RNG.standard_normal((120, 300)),
    "clusters-2d": _clusters(250, 2, 6, 60),
    "clusters-64d": _clusters(200, 64, 8, 40),
    "duplicates": np.repeat(RNG.standard_normal((40, 5)), 3, axis=0),
    "collinear": np.linspace(0, 1, 50)[:, None] * RNG.standard_normal(7)[None, :],
    "lattice": np.stack(np.meshgrid(np.arange(9), np.arange(9)), -1).reshape(-1, 2) * 1.0,
    "n=1": RNG.standard_normal((1, 4)),
    "n=2": RNG.standard_normal((2, 4)),
}


def _finite_deaths(dgm):
    return dgm[np.isfinite(dgm[:, 1]), 1]


@pytest.mark.parametrize("name", list(CLOUDS))
@pytest.mark.parametrize("method", POINT_METHODS)
def test_points_match_ripser_and_gudhi(name, method):
    X = CLOUDS[name]
    dgm = h0_diagram(X, method=method)
    assert dgm.shape == (len(X), 2)
    assert (dgm[:, 0] == 0).all()
    ours = _finite_deaths(dgm)
    assert np.all(np.diff(ours) >= 0)
    ref, n_inf = _ripser_h0(X)
    assert n_inf == 1 == int(np.isinf(dgm[:, 1]).sum())
    # ripser works in float32: compare at its precision
    np.testing.assert_allclose(_above(ours), ref, rtol=1e-6, atol=1e-6)
    gref, g_inf = _gudhi_h0(cdist(X, X))
    assert g_inf == 1
    np.testing.assert_allclose(ours, gref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(CLOUDS))
def test_dense_matrix_matches_gudhi(name):
    X = CLOUDS[name]
    D = cdist(X, X)
    ours = _finite_deaths(h0_diagram(D, metric="precomputed"))
    ref, _ = _gudhi_h0(D)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    rref, _ = _ripser_h0(D, metric="precomputed")
    np.testing.assert_allclose(_above(ours), rref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["gaussian-3d", "clusters-64d", "duplicates", "lattice"])
def test_sparse_complete_graph_matches_points(name):
    X = CLOUDS[name]
    D = cdist(X, X)
    rows, cols = np.triu_indices(len(X), 1)
    G = sp.coo_array((D[rows, cols], (rows, cols)), shape=D.shape)  # explicit zeros kept
    forest = spanning_forest(G)
    np.testing.assert_allclose(forest.weights, mst(X).weights, atol=1e-12)
    edges = np.stack([rows, cols], 1)
    forest2 = spanning_forest(edges, weights=D[rows, cols])
    np.testing.assert_array_equal(forest2.edges, forest.edges)


def test_scipy_and_networkx_agree_on_connected_graphs_without_zero_weights():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        n = 80
        A = sp.random_array((n, n), density=0.15, random_state=rng, format="coo")
        A.data = rng.uniform(0.1, 5.0, A.nnz)
        A = sp.coo_array(A + A.T)
        A.setdiag(0)
        A = sp.csr_array(A)
        A.eliminate_zeros()
        A = A + sp.diags_array(np.full(n - 1, 10.0), offsets=1, shape=(n, n))  # connected
        forest = spanning_forest(A)
        assert forest.n_components == 1
        ref = minimum_spanning_tree(A).sum()
        assert forest.total_weight == pytest.approx(ref, rel=1e-12)
        G = nx.from_scipy_sparse_array(A)
        T = nx.minimum_spanning_tree(G)
        assert forest.total_weight == pytest.approx(T.size(weight="weight"), rel=1e-12)


def test_duplicate_points_are_zero_weight_edges_not_missing_edges():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    forest = mst(X)
    np.testing.assert_array_equal(forest.weights, [0.0, 5.0])
    assert forest.n_components == 1
    # the scipy pitfall this avoids: dense csgraph reads the zero as "no edge"
    # and joins both copies to the third point, a tree of weight 10, not 5
    D = cdist(X, X)
    assert minimum_spanning_tree(D).sum() == 10.0
    dgm = h0_diagram(D, metric="precomputed")
    np.testing.assert_array_equal(dgm, [[0, 0], [0, 5], [0, np.inf]])


def test_disconnected_graph_gives_a_forest():
    edges = np.array([[0, 1], [1, 2], [3, 4]])
    forest = spanning_forest(edges, weights=[1.0, 2.0, 0.5], n_vertices=6)
    assert forest.n_components == 3
    np.testing.assert_array_equal(forest.labels, [0, 0, 0, 1, 1, 2])
    dgm = forest.diagram
    np.testing.assert_array_equal(dgm[:, 1], [0.5, 1.0, 2.0, np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(forest.edges, [[3, 4], [0, 1], [1, 2]])


def test_symmetric_sparse_matrix_counts_each_edge_once_and_takes_the_lighter_duplicate():
    A = sp.coo_array(([3.0, 1.0, 2.0], ([0, 1, 1], [1, 0, 2])), shape=(3, 3))
    forest = spanning_forest(A)
    np.testing.assert_array_equal(forest.weights, [1.0, 2.0])


def test_forest_fields_and_persistence_pairs():
    X = CLOUDS["clusters-2d"]
    forest = mst(X)
    assert isinstance(forest, SpanningForest)
    assert forest.edges.dtype == np.int64 and forest.edges.shape == (len(X) - 1, 2)
    assert (forest.edges[:, 0] < forest.edges[:, 1]).all()
    # the pairs: each death is the length of its killing edge
    lengths = np.linalg.norm(X[forest.edges[:, 0]] - X[forest.edges[:, 1]], axis=1)
    np.testing.assert_allclose(forest.weights, lengths, rtol=1e-14)
    np.testing.assert_array_equal(_finite_deaths(forest.diagram), forest.weights)
    # a tree: connected, n - 1 edges
    G = nx.Graph(forest.edges.tolist())
    assert nx.is_tree(G) and G.number_of_nodes() == len(X)
    assert "SpanningForest(" in repr(forest)


def test_methods_pick_the_same_tree_on_generic_input():
    X = CLOUDS["gaussian-40d"]
    trees = [mst(X, method=m).edges for m in POINT_METHODS]
    for t in trees[1:]:
        np.testing.assert_array_equal(t, trees[0])


@pytest.mark.parametrize("n_neighbors", [1, 2, 5])
@pytest.mark.parametrize("budget", [2**31, 60_000, 8_000])
@pytest.mark.parametrize("name", ["clusters-64d", "clusters-2d", "duplicates", "lattice"])
def test_blocked_boruvka_is_exact_with_small_blocks_and_short_lists(name, budget, n_neighbors):
    """Small budgets split clusters across blocks and force every fallback sweep."""
    X = CLOUDS[name]
    work, sq, ref, _ = _mst_points.prepare_points(X, "euclidean")
    u, v = _mst_points._boruvka_points(work, sq, ref, budget, n_neighbors=n_neighbors)
    assert len(u) == len(X) - 1
    w = np.sort(np.linalg.norm(X[u] - X[v], axis=1))
    np.testing.assert_allclose(w, mst(X, method="prim").weights, atol=1e-9)


def test_auto_method_choice():
    assert mst(RNG.standard_normal((100, 3))).method == "prim"
    assert mst(RNG.standard_normal((3000, 3))).method == "kdtree"
    X = RNG.standard_normal((300, 20))
    assert mst(X, memory_budget=300 * 300 * 8 - 1).method == "boruvka"
    assert mst(cdist(X, X), metric="precomputed").method == "prim"


def test_prim_refuses_a_matrix_over_budget():
    with pytest.raises(ValueError, match="memory_budget"):
        mst(RNG.standard_normal((300, 5)), method="prim", memory_budget=10_000)


def test_cosine_matches_ripser_and_is_scale_invariant():
    X = RNG.standard_normal((120, 16))
    dgm = h0_diagram(X, metric="cosine")
    ref, _ = _ripser_h0(X, metric="cosine")
    np.testing.assert_allclose(_above(_finite_deaths(dgm)), ref, rtol=1e-5, atol=1e-6)
    scaled = X * RNG.uniform(0.1, 10, (len(X), 1))
    np.testing.assert_allclose(h0_diagram(scaled, metric="cosine"), dgm, atol=1e-12)
    with pytest.raises(ValueError, match="zero vectors"):
        mst(np.vstack([X, np.zeros(16)]), metric="cosine")


@pytest.mark.parametrize("method", POINT_METHODS)
def test_float32_works_and_weights_are_exact_for_the_chosen_edges(method):
    X = RNG.standard_normal((400, 8)).astype(np.float32)
    forest = mst(X, method=method)
    X64 = X.astype(np.float64)
    lengths = np.linalg.norm(X64[forest.edges[:, 0]] - X64[forest.edges[:, 1]], axis=1)
    np.testing.assert_allclose(forest.weights, lengths, rtol=1e-15)
    # the tree is minimal up to float32 rounding of the Gram identity
    ref = mst(X64, method="prim")
    assert forest.total_weight == pytest.approx(ref.total_weight, rel=1e-6)


@pytest.mark.parametrize("method", ("auto", *POINT_METHODS))
def test_inputs_are_not_modified(method):
    X = CLOUDS["clusters-2d"].copy()
    X.setflags(write=False)  # any write would raise
    before = X.copy()
    mst(X, method=method)
    mst(X, metric="cosine", method=method)
    np.testing.assert_array_equal(X, before)
    D = cdist(X, X)
    D.setflags(write=False)
    h0_diagram(D, metric="precomputed")


def test_batch_equals_one_by_one():
    B = RNG.standard_normal((6, 64, 20))
    batch = mst_batch(B)
    for b, forest in enumerate(batch):
        single = mst(B[b])
        np.testing.assert_array_equal(forest.edges, single.edges)
        np.testing.assert_array_equal(forest.weights, single.weights)
    ragged = [RNG.standard_normal((n, 3)) for n in (5, 17, 1)]
    dgms = h0_diagram_batch(ragged)
    assert [d.shape for d in dgms] == [(5, 2), (17, 2), (1, 2)]
    for x, d in zip(ragged, dgms, strict=True):
        np.testing.assert_array_equal(d, h0_diagram(x))
    dmats = [cdist(x, x) for x in ragged]
    for x, d in zip(dmats, h0_diagram_batch(dmats, metric="precomputed"), strict=True):
        np.testing.assert_array_equal(d, h0_diagram(x, metric="precomputed"))
    cos = mst_batch(B, metric="cosine")
    np.testing.assert_allclose(cos[2].weights, mst(B[2], metric="cosine").weights)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
clouds = st.integers(1, 40).flatmap(
    lambda n: st.integers(1, 6).flatmap(lambda d: arrays(np.float64, (n, d), elements=finite))
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(clouds, st.randoms(use_true_random=False), st.sampled_from(POINT_METHODS))
def test_property_invariant_under_permutation(X, rnd, method):
    perm = np.arange(len(X))
    rnd.shuffle(perm)
    a = h0_diagram(X, method=method)
    b = h0_diagram(X[perm], method=method)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


@SETTINGS
@given(clouds, st.floats(1e-3, 1e3), st.sampled_from(POINT_METHODS))
def test_property_equivariant_under_scaling(X, c, method):
    a = h0_diagram(X, method=method)
    b = h0_diagram(X * c, method=method)
    np.testing.assert_allclose(b, a * c, rtol=1e-9, atol=1e-9 * c * (1 + np.abs(X).max()))


@SETTINGS
@given(clouds, st.sampled_from(POINT_METHODS))
def test_property_matches_gudhi(X, method):
    ours = _finite_deaths(h0_diagram(X, method=method))
    ref, n_inf = _gudhi_h0(cdist(X, X))
    assert n_inf == 1
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9 * (1 + np.abs(X).max()))


@SETTINGS
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0, 10)),
                max_size=60,
            ),
        )
    )
)
def test_property_forest_on_arbitrary_graphs(arg):
    n, triples = arg
    G = nx.Graph()
    G.add_nodes_from(range(n))
    for i, j, w in triples:
        if i != j and (not G.has_edge(i, j) or G[i][j]["weight"] > w):
            G.add_edge(i, j, weight=w)
    edges = np.array([[i, j] for i, j, _ in triples], dtype=np.int64).reshape(-1, 2)
    weights = np.array([w for _, _, w in triples])
    forest = spanning_forest(edges, weights=weights, n_vertices=n)
    assert forest.n_components == nx.number_connected_components(G)
    ref = nx.minimum_spanning_tree(G).size(weight="weight")
    assert forest.total_weight == pytest.approx(ref, abs=1e-9)
    assert len(forest.weights) == n - forest.n_components
    for comp in nx.connected_components(G):
        assert len({int(forest.labels[v]) for v in comp}) == 1


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kwargs", "exc", "match"),
    [
        (np.array([[0.0, np.nan]]), {}, ValueError, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), {}, ValueError, "inf"),
        (np.zeros(5), {}, ValueError, "2-D"),
        (np.zeros((2, 3, 4)), {}, ValueError, "2-D"),
        (np.zeros((0, 3)), {}, ValueError, "at least one point"),
        (np.zeros((3, 0)), {}, ValueError, "at least one feature"),
        (np.array([["a", "b"]]), {}, TypeError, "real numbers"),
        (np.array([[1, None]], dtype=object), {}, TypeError, "real numbers"),
        (np.zeros((2, 3)), {"metric": "precomputed"}, ValueError, "square"),
        (np.array([[0.0, 1.0], [2.0, 0.0]]), {"metric": "precomputed"}, ValueError, "symmetric"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), {"metric": "precomputed"}, ValueError,
         "non-negative"),
        (np.array([[1.0, 1.0], [1.0, 0.0]]), {"metric": "precomputed"}, ValueError,
         "zero diagonal"),
        (np.zeros((3, 2)), {"metric": "manhattan"}, ValueError, "metric"),
        (np.zeros((3, 2)), {"method": "fast"}, ValueError, "method"),
        (np.zeros((3, 2)), {"method": "kruskal"}, ValueError, "point cloud"),
        (np.zeros((3, 2)), {"memory_budget": 10}, ValueError, "memory_budget"),
        (np.zeros((3, 2)), {"memory_budget": 2.5e9}, TypeError, "memory_budget"),
        (sp.eye_array(3), {}, ValueError, "metric='precomputed'"),
        (sp.eye_array(3), {"method": "prim", "metric": "precomputed"}, ValueError, "graph"),
        (np.zeros((2, 2)), {"n_vertices": 2}, ValueError, "n_vertices"),
    ],
)
def test_bad_input(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mst(data, **kwargs)


@pytest.mark.parametrize(
    ("graph", "kwargs", "exc", "match"),
    [
        (sp.coo_array(([-1.0], ([0], [1])), shape=(2, 2)), {}, ValueError, "non-negative"),
        (sp.coo_array(([np.nan], ([0], [1])), shape=(2, 2)), {}, ValueError, "NaN"),
        (sp.eye_array(3, 2), {}, ValueError, "square"),
        (sp.eye_array(2) * 0, {"weights": [1.0]}, ValueError, "weights= is only for edge lists"),
        (sp.eye_array(2) * 0, {"n_vertices": 2}, ValueError, "n_vertices= is only for edge"),
        (np.array([[0, 1]]), {}, TypeError, "graph must be a scipy.sparse matrix"),
        (np.array([[0, 1]]), {"weights": [1.0, 2.0]}, ValueError, "one per row"),
        (np.array([[0, 5]]), {"weights": [1.0], "n_vertices": 3}, ValueError, r"\[0, 3\)"),
        (np.array([[0.5, 1.0]]), {"weights": [1.0]}, TypeError, "integer"),
        (np.array([[0, 1]]), {"weights": [-1.0]}, ValueError, "non-negative"),
    ],
)
def test_bad_graph_input(graph, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        spanning_forest(graph, **kwargs)
    if "weights" in kwargs or sp.issparse(graph):  # the deprecated forms fail the same way
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(exc, match=match.replace("graph must", "data must")):
                mst(graph, metric="precomputed", **kwargs)


def _graph_cases():
    D = np.array([[0.0, 3.0, 1.0], [3.0, 0.0, 2.0], [1.0, 2.0, 0.0]])
    edges = np.array([[0, 1], [1, 2], [0, 2], [3, 4]])
    w = np.array([1.0, 2.0, 3.0, 0.5])
    return [
        (sp.csr_array(D), {}),
        (sp.coo_matrix(D), {}),
        (edges, {"weights": w}),
        (edges, {"weights": w, "n_vertices": 7}),
    ]


@pytest.mark.parametrize("case", range(4))
def test_deprecated_graph_forms_warn_and_give_the_same_result(case):
    """mst, h0_diagram, mst_batch, h0_diagram_batch of a graph: deprecated, same result."""
    graph, kw = _graph_cases()[case]
    ref = spanning_forest(graph, **kw)
    with pytest.warns(DeprecationWarning, match=r"sheaftopo 0\.3.*spanning_forest\(graph\)") as rec:
        forest = mst(graph, metric="precomputed", **kw)
    assert rec[0].filename == __file__  # points at the caller's line
    for name in SpanningForest.__dataclass_fields__:
        a, b = getattr(forest, name), getattr(ref, name)
        assert (a.tobytes() == b.tobytes()) if isinstance(a, np.ndarray) else a == b
    new = r"h0_diagram\(\).*spanning_forest\(graph\)\.diagram"
    with pytest.warns(DeprecationWarning, match=new) as rec:
        dgm = h0_diagram(graph, metric="precomputed", **kw)
    assert rec[0].filename == __file__
    assert dgm.tobytes() == ref.diagram.tobytes()
    if not kw:
        with pytest.warns(DeprecationWarning, match=r"mst_batch\(\)") as rec:
            (batch,) = mst_batch([graph], metric="precomputed")
        assert rec[0].filename == __file__
        assert batch.edges.tobytes() == ref.edges.tobytes()
        with pytest.warns(DeprecationWarning, match=r"h0_diagram_batch\(\)") as rec:
            (bdgm,) = h0_diagram_batch([graph], metric="precomputed")
        assert rec[0].filename == __file__
        assert bdgm.tobytes() == ref.diagram.tobytes()


def test_points_and_matrices_do_not_warn():
    X = RNG.standard_normal((20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        mst(X)
        h0_diagram(cdist(X, X), metric="precomputed")
        mst_batch(X[None])
        h0_diagram_batch([X])


def test_bad_batches():
    with pytest.raises(ValueError, match="3-D"):
        mst_batch(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="at least one"):
        mst_batch([])
    with pytest.raises(ValueError, match="NaN"):
        mst_batch(np.full((2, 3, 2), np.nan))


def _multiscale(dtype, d=16, spread=1e-6, seed=0):
    """Tight clusters far out (1e3): Gram-identity rounding would swamp their
    internal distances without the guard."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, d)) * 1e3
    X = centres[rng.integers(0, 6, 300)] + rng.standard_normal((300, d)) * spread
    X[:5] = X[5]  # and exact duplicates
    return X.astype(dtype)


@pytest.mark.parametrize("method", POINT_METHODS)
def test_near_duplicates_far_from_the_origin_are_resolved_exactly(method):
    X = _multiscale(np.float64)
    ours = _finite_deaths(h0_diagram(X, method=method))
    ref, _ = _gudhi_h0(cdist(X, X))
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15)
    Xc = _multiscale(np.float64, d=300)
    ours = _finite_deaths(h0_diagram(Xc, method=method))
    ref, _ = _gudhi_h0(cdist(Xc, Xc))
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("method", POINT_METHODS)
def test_float32_near_duplicates_match_the_float64_truth(method):
    X = _multiscale(np.float32, d=64, spread=1e-2)
    ours = _finite_deaths(h0_diagram(X, method=method))
    X64 = X.astype(np.float64)
    ref, _ = _gudhi_h0(cdist(X64, X64))
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12)


# --------------------------------------------------------------------------
# regressions (issue 14): magnitudes, sparse diagonals, layouts
# --------------------------------------------------------------------------

#: exponents k of 2**k: squares of the scaled coordinates over- or underflow without rescaling
EXPONENTS = (-1000, -565, -530, 512, 532, 1000)


@pytest.mark.parametrize("method", ("prim", "boruvka", "kdtree", "auto"))
@pytest.mark.parametrize("k", EXPONENTS)
def test_regression_deaths_scale_exactly_by_powers_of_two(method, k):
    """Used to give zeros (below ~1e-160) or inf (above ~1e154); kdtree/auto hung."""
    X = CLOUDS["clusters-2d"]
    ref = mst(X, method=method)
    got = mst(np.ldexp(X, k), method=method)
    np.testing.assert_array_equal(got.edges, ref.edges)
    assert got.weights.tobytes() == np.ldexp(ref.weights, k).tobytes()


@pytest.mark.parametrize("method", ("kdtree", "auto"))
@pytest.mark.parametrize("s", (1e154, 1e160, 1e300, 1e-170, 1e-300))
def test_regression_kdtree_and_auto_return_at_extreme_magnitudes(method, s):
    from _adversarial import check_call

    X = np.random.default_rng(7).standard_normal((5000, 2))
    ref = _finite_deaths(h0_diagram(X))
    _, dgm = check_call("persistence", h0_diagram, X * s, method=method, allow_posinf=True,
                        seconds=30)
    # X * s rounds each coordinate (relative 1.1e-16): deaths move by that much of |X|
    np.testing.assert_allclose(_finite_deaths(dgm) / s, ref, rtol=0, atol=1e-14 * np.abs(X).max())


@pytest.mark.parametrize("s", (1e-300, 1e-170, 1e160, 1e200, 1e300))
def test_regression_cosine_is_scale_free(s):
    """metric='cosine' on X * 1e200 gave all-zero deaths; X * 1e-170 refused non-zero rows."""
    X = CLOUDS["gaussian-40d"]
    ref = h0_diagram(X, metric="cosine")
    np.testing.assert_allclose(h0_diagram(X * s, metric="cosine"), ref, rtol=1e-13, atol=1e-15)
    # rows of wildly different magnitudes: each row's direction is what counts
    Y = X * np.logspace(-300, 300, len(X))[:, None]
    np.testing.assert_allclose(h0_diagram(Y, metric="cosine"), ref, rtol=1e-13, atol=1e-15)


def test_regression_cosine_zero_row_is_refused_naming_the_argument():
    X = np.ones((4, 3))
    X[2] = 0.0
    with pytest.raises(ValueError, match=r"data must not contain zero vectors.*row 2 of data"):
        h0_diagram(X, metric="cosine")
    with pytest.raises(ValueError, match=r"row 2 of data\[1\]"):
        h0_diagram_batch(np.stack([np.ones((4, 3)), X]), metric="cosine")


@pytest.mark.parametrize("k", (-1000, 600, 1000))
def test_regression_batches_rescale_each_cloud(k):
    stack = RNG.standard_normal((3, 40, 5))
    stack[1] = np.ldexp(stack[1], k)  # one cloud far out, the others at unit scale
    ours = h0_diagram_batch(stack)
    for b in range(3):
        assert ours[b].tobytes() == h0_diagram(stack[b]).tobytes()
    ref = h0_diagram(stack[0])
    assert h0_diagram(np.ldexp(stack[0], k)).tobytes() == np.ldexp(ref, k).tobytes()
    listed = h0_diagram_batch([np.ldexp(stack[0], k), stack[2][:7]])
    assert listed[0].tobytes() == np.ldexp(ref, k).tobytes()


@pytest.mark.parametrize("method", POINT_METHODS)
def test_regression_distances_beyond_float64_are_refused(method):
    X = np.array([[1.5e308, 0.0], [-1.5e308, 0.0], [-1.5e308, 1.0]])
    with pytest.raises(ValueError, match="data: distances between its points exceed"):
        mst(X, method=method)
    # the largest finite coordinates are fine as long as the distances are
    Y = np.array([[1.7e308], [1.6e308], [1.0e308]])
    expected = [Y[0, 0] - Y[1, 0], Y[1, 0] - Y[2, 0]]
    np.testing.assert_array_equal(mst(Y, method=method).weights, expected)


def test_regression_sparse_nonzero_diagonal_is_refused():
    """Used to read data[i, i] as nothing (births 0); the dense form already refused."""
    G = sp.csr_matrix(np.array([[1.0, 3.0], [3.0, 2.0]]))
    with pytest.raises(ValueError, match=r"graph must have a zero diagonal.*graph\[0, 0\] = 1\.0"):
        spanning_forest(G)
    with pytest.raises(ValueError, match="zero diagonal"):
        h0_diagram(G.toarray(), metric="precomputed")
    from sheaftopo.persistence import h1_births

    with pytest.raises(ValueError, match="zero diagonal"):
        h1_births(G)
    # explicit zeros on the diagonal are births at 0: accepted
    Z = sp.coo_matrix(([0.0, 3.0, 3.0, 0.0], ([0, 0, 1, 1], [0, 1, 0, 1])), shape=(2, 2))
    np.testing.assert_array_equal(spanning_forest(Z).diagram, [[0, 3], [0, np.inf]])


def test_regression_sparse_conflicting_entries_the_smaller_weight_wins():
    """The statement of spanning_forest's docstring, and scipy.sparse.csgraph's reading."""
    D = np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 5.0], [0.0, 2.0, 0.0]])
    forest = spanning_forest(sp.csr_matrix(D))
    np.testing.assert_array_equal(forest.edges, [[0, 1], [1, 2]])
    np.testing.assert_array_equal(forest.weights, [1.0, 2.0])
    assert forest.total_weight == minimum_spanning_tree(sp.csr_matrix(D)).sum()
    # duplicate COO entries of one (i, j) are summed first, as toarray() sums them
    C = sp.coo_matrix(([1.0, 2.0, 4.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    assert C.toarray()[0, 1] == 3.0
    assert spanning_forest(C).weights.tolist() == [3.0]
    assert spanning_forest(C).total_weight == minimum_spanning_tree(C).sum()
    assert C.nnz == 3  # the caller's matrix is untouched


def _dispatchers():
    import numba

    from sheaftopo._core import mst_kernels as _mst_kernels
    from sheaftopo.persistence import _kdtree, _subsample_kernels

    mods = (_mst_kernels, _kdtree, _subsample_kernels)
    return {
        f"{m.__name__}.{k}": v
        for m in mods
        for k, v in vars(m).items()
        if isinstance(v, numba.core.registry.CPUDispatcher)
    }


def _signature_counts():
    return {k: len(v.signatures) for k, v in _dispatchers().items()}


def test_regression_read_only_and_strided_input_compile_nothing_new():
    """A read-only or non-contiguous array used to make numba compile a new specialisation."""
    from sheaftopo.persistence import farthest_point_subsample, h1_births, sparsify

    X = RNG.standard_normal((300, 3))
    D = cdist(X[:60], X[:60])

    def run(X, D):
        for method in POINT_METHODS:
            mst(X, method=method)
        mst(X, metric="cosine")
        mst_batch(np.stack([X[:50], X[50:100]]))
        mst(D, metric="precomputed")
        spanning_forest(np.array([[0, 1], [1, 2]]), weights=D[0, 1:3])
        g = sparsify(D)
        h1_births(g.graph)
        farthest_point_subsample(X, 10)
        farthest_point_subsample(D, 10, metric="precomputed")

    run(X, D)  # compiles (or loads) the C-contiguous specialisations
    before = _signature_counts()
    ro_X, ro_D = X.copy(), D.copy()
    ro_X.flags.writeable = False
    ro_D.flags.writeable = False
    for Xv, Dv in [
        (ro_X, ro_D),
        (np.asfortranarray(X), np.asfortranarray(D)),
        (np.repeat(X, 2, axis=0)[::2], np.repeat(np.repeat(D, 2, 0), 2, 1)[::2, ::2]),
        (X.astype(">f8"), D.astype(">f8")),
    ]:
        run(Xv, Dv)
    assert _signature_counts() == before


def test_batch_errors_say_which_cloud():
    with pytest.raises(ValueError, match=r"^data\[1\]: data must not contain NaN"):
        mst_batch([np.ones((3, 2)), np.full((2, 2), np.nan)])
    with pytest.raises(TypeError, match=r"^data\[0\]: "):
        h0_diagram_batch([np.array([["a"]]), np.ones((2, 2))])


ISSUE_15_TIES = np.array([[2, 1], [1, 0], [1, 1], [1, 0], [0, 0], [0, 1], [0, 0]], dtype=float)


def _key_tree(D):
    """Kruskal on the key (D_ij, i, j): the unique tree of that strict total order."""
    n = len(D)
    iu, ju = np.triu_indices(n, 1)
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    out = []
    for t in np.lexsort((ju, iu, D[iu, ju])):
        a, b = find(iu[t]), find(ju[t])
        if a != b:
            parent[a] = b
            out.append((iu[t], ju[t]))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("seed", range(5))
def test_regression_matrix_pairs_are_canonical_at_ties(seed):
    """Issue 15: dense Prim broke equal distances by discovery order, so the persistence
    pairs of a matrix depended on the numbering; they are now the key-minimal tree."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(4.0), np.arange(3.0)), -1).reshape(-1, 2)
    X = ISSUE_15_TIES if seed == 0 else grid[rng.integers(0, len(grid), 20)]
    D = cdist(X, X)
    f = mst(D, metric="precomputed")
    np.testing.assert_array_equal(f.edges, _key_tree(D))
    (batch,) = mst_batch([D], metric="precomputed")
    np.testing.assert_array_equal(batch.edges, f.edges)


def test_point_methods_agree_on_deaths_not_on_pairs_at_ties():
    """theory/h0-rips-mst.md: at ties the methods on points may return different trees
    (here Prim and the KD-tree do), all minimal, with the same deaths."""
    trees = {m: mst(ISSUE_15_TIES, method=m) for m in ("prim", "boruvka", "kdtree")}
    for f in trees.values():
        np.testing.assert_array_equal(f.weights, trees["kdtree"].weights)
        assert f.total_weight == mst(cdist(ISSUE_15_TIES, ISSUE_15_TIES),
                                     metric="precomputed").total_weight
