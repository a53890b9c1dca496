"""Euclidean MSTs against quitefastmst (Gagolewski's exact Euclidean MST) as an oracle.

quitefastmst.mst_euclid returns the tree's edge weights (sorted) and its edges.
Every minimum spanning tree of a cloud has the same multiset of edge weights, so
the sorted weights (the finite H0 deaths) and the total weight are compared,
never the edges themselves (ties, duplicates and lattices have many trees).
"""

from __future__ import annotations

import numpy as np
import pytest

from sheaftopo.persistence import h0_diagram, mst

qfm = pytest.importorskip("quitefastmst")

RNG = np.random.default_rng(20261203)
POINT_METHODS = ("auto", "prim", "boruvka", "kdtree")
HIGH_DIM_METHODS = ("auto", "prim", "boruvka")


def _clusters(n, d, k, sep, rng=RNG):
    centres = rng.standard_normal((k, d)) * sep
    return centres[rng.integers(0, k, n)] + rng.standard_normal((n, d))


def _lattice(side, d):
    axes = np.meshgrid(*([np.arange(side, dtype=np.float64)] * d), indexing="ij")
    return np.stack(axes, -1).reshape(-1, d)


LOW_DIM = {
    "random-2d": RNG.standard_normal((600, 2)),
    "random-3d": RNG.standard_normal((3000, 3)),
    "random-8d": RNG.standard_normal((2500, 8)),
    "lattice-2d": _lattice(30, 2),
    "lattice-3d": _lattice(9, 3),
    "duplicates-3d": np.repeat(RNG.standard_normal((300, 3)), 4, axis=0),
    "clusters-2d": _clusters(2200, 2, 7, 80),
    "collinear-4d": np.linspace(0, 1, 400)[:, None] * RNG.standard_normal(4)[None, :],
    "offset-3d": RNG.standard_normal((800, 3)) + 1e4,
}

HIGH_DIM = {
    "random-64d": RNG.standard_normal((700, 64)),
    "unit-512d": (lambda X: X / np.linalg.norm(X, axis=1, keepdims=True))(
        RNG.standard_normal((300, 512))
    ),
    "clusters-64d": _clusters(600, 64, 8, 40),
    "duplicates-40d": np.repeat(RNG.standard_normal((120, 40)), 3, axis=0),
    "lattice-binary-12d": _lattice(2, 12),
}


def _oracle(X):
    weights, edges = qfm.mst_euclid(np.ascontiguousarray(X, dtype=np.float64))
    assert edges.shape == (len(X) - 1, 2)
    return np.sort(weights)


def _assert_same_tree_weights(forest, ref, X):
    ours = np.sort(np.asarray(forest.weights, dtype=np.float64))
    assert ours.shape == ref.shape
    scale = max(1.0, float(np.abs(X).max()))
    # both compute the selected lengths from coordinates in float64
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12 * scale)
    assert forest.total_weight == pytest.approx(ref.sum(), rel=1e-12, abs=1e-12 * scale)


@pytest.mark.parametrize("method", POINT_METHODS)
@pytest.mark.parametrize("name", list(LOW_DIM))
def test_low_dimensional_clouds_match_quitefastmst(name, method):
    X = LOW_DIM[name]
    _assert_same_tree_weights(mst(X, method=method), _oracle(X), X)


@pytest.mark.parametrize("method", HIGH_DIM_METHODS)
@pytest.mark.parametrize("name", list(HIGH_DIM))
def test_high_dimensional_clouds_match_quitefastmst(name, method):
    X = HIGH_DIM[name]
    _assert_same_tree_weights(mst(X, method=method), _oracle(X), X)


def test_blocked_boruvka_under_a_small_budget_matches_quitefastmst():
    X = HIGH_DIM["clusters-64d"]
    forest = mst(X, method="boruvka", memory_budget=200_000)
    _assert_same_tree_weights(forest, _oracle(X), X)


@pytest.mark.parametrize("name", ["random-3d", "duplicates-3d", "lattice-2d"])
@pytest.mark.parametrize("algorithm", ["single_kd_tree", "dual_kd_tree", "brute"])
def test_every_quitefastmst_algorithm_agrees_with_ours(name, algorithm):
    # the oracle's own variants must agree with each other and with us
    X = LOW_DIM[name]
    weights, _ = qfm.mst_euclid(X, algorithm=algorithm)
    _assert_same_tree_weights(mst(X), np.sort(weights), X)


def test_h0_deaths_are_the_quitefastmst_weights():
    X = LOW_DIM["clusters-2d"]
    dgm = h0_diagram(X)
    deaths = np.sort(dgm[np.isfinite(dgm[:, 1]), 1])
    assert np.isinf(dgm[:, 1]).sum() == 1
    np.testing.assert_allclose(deaths, _oracle(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", [3, 64])
def test_float32_input_matches_quitefastmst_on_the_same_coordinates(d):
    X32 = RNG.standard_normal((2500, d)).astype(np.float32)
    X64 = X32.astype(np.float64)  # the exact coordinates we were given
    forest = mst(X32)
    ref = _oracle(X64)
    # the tree is selected in float32 (Gram identity above the guard, d = 64) and
    # its lengths recomputed in float64: the total agrees to float32 roundoff
    assert forest.total_weight == pytest.approx(ref.sum(), rel=1e-6)
    np.testing.assert_allclose(np.sort(forest.weights), ref, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------
# the KD-tree (method="kdtree", "auto" in low dimension) on hard inputs
# --------------------------------------------------------------------------

KDTREE_HARD = {
    # big lattices: every edge ties with many others (the edge key decides)
    "lattice-3d-big": _lattice(22, 3),
    "lattice-2d-big": _lattice(120, 2),
    # heavy duplicates: blobs of 50 identical points, and one blob of 5000
    "duplicate-blobs": np.repeat(RNG.standard_normal((100, 3)), 50, axis=0),
    "one-point-5000-times": np.repeat(RNG.standard_normal((1, 4)), 5000, axis=0),
    "collinear-3d": np.linspace(-1, 1, 6000)[:, None] * RNG.standard_normal(3)[None, :],
    "integer-grid-noise": RNG.integers(0, 6, (6000, 3)).astype(np.float64),
    "clusters-8d": _clusters(5000, 8, 12, 30),
    "offset-1e150": RNG.standard_normal((3000, 3)) * 1e140 + 1e150,
    "tiny-1e-150": RNG.standard_normal((3000, 2)) * 1e-150,
}


@pytest.mark.parametrize("name", list(KDTREE_HARD))
def test_kdtree_hard_clouds_match_quitefastmst(name):
    X = KDTREE_HARD[name]
    _assert_same_tree_weights(mst(X, method="kdtree"), _oracle(X), X)


def test_kdtree_one_dimensional_cloud_is_the_sorted_gaps():
    # quitefastmst rejects d = 1; the MST of points on a line joins neighbours
    x = np.concatenate([RNG.standard_normal(4000), np.zeros(50), [3.5] * 7])
    forest = mst(x[:, None], method="kdtree")
    gaps = np.diff(np.sort(x))
    np.testing.assert_allclose(np.sort(forest.weights), np.sort(gaps), rtol=1e-12, atol=0)


def test_kdtree_float32_selects_on_the_given_coordinates():
    X32 = _clusters(6000, 3, 5, 20).astype(np.float32)
    forest = mst(X32, method="kdtree")
    # distances are accumulated in float64 from the float32 coordinates: exact
    _assert_same_tree_weights(forest, _oracle(X32.astype(np.float64)), X32)


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_auto_at_the_kdtree_threshold_matches_quitefastmst(delta):
    from sheaftopo.persistence._mst_points import KDTREE_MIN_POINTS

    n = KDTREE_MIN_POINTS + delta
    X = RNG.standard_normal((n, 3))
    forest = mst(X)
    assert forest.method == ("kdtree" if delta >= 0 else "prim")
    _assert_same_tree_weights(forest, _oracle(X), X)


def test_kdtree_input_is_not_mutated_and_strided_input_gives_the_same_tree():
    X = RNG.standard_normal((5000, 6))
    X.setflags(write=False)
    before = X.copy()
    full = mst(X, method="kdtree")
    strided = mst(np.asfortranarray(X)[:, ::2], method="kdtree")
    np.testing.assert_array_equal(X, before)
    _assert_same_tree_weights(full, _oracle(X), X)
    _assert_same_tree_weights(strided, _oracle(X[:, ::2]), X)


def test_kdtree_tree_does_not_depend_on_the_thread_count():
    from sheaftopo._core.threads import numba_threads

    X = np.repeat(RNG.standard_normal((20_000, 3)), 2, axis=0)  # ties everywhere
    parallel = mst(X, method="kdtree")
    with numba_threads(1):
        serial = mst(X, method="kdtree")
    np.testing.assert_array_equal(parallel.edges, serial.edges)
    np.testing.assert_array_equal(parallel.weights, serial.weights)


def test_kdtree_random_clouds_match_quitefastmst_property():
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(
        n=st.integers(2, 400),
        d=st.integers(2, 6),
        side=st.integers(1, 4),
        seed=st.integers(0, 2**32 - 1),
    )
    def check(n, d, side, seed):
        rng = np.random.default_rng(seed)
        # few distinct coordinates: ties and duplicates are the common case
        X = rng.integers(0, side + 1, (n, d)).astype(np.float64) + 0.25 * rng.random((n, d))
        _assert_same_tree_weights(mst(X, method="kdtree"), _oracle(X), X)

    check()
