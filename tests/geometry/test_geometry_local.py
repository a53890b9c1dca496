"""Covariances with shrinkage (vs scikit-learn), k-nearest neighbours (vs brute force) and
the local-covariance alignment term."""

from __future__ import annotations

import numpy as np
import pytest
from _geometry_helpers import make_rng
from scipy.spatial.distance import cdist
from sklearn.covariance import empirical_covariance, ledoit_wolf, oas

from sheaftopo.geometry import (
    LocalAlignment,
    covariance,
    knn_indices,
    local_alignment,
    local_covariances,
    spd_distance,
    stein_divergence,
    von_neumann_divergence,
)


def brute_knn(X, k):
    D = cdist(X, X)
    out = []
    for i in range(len(X)):
        order = sorted((D[i, j], j) for j in range(len(X)) if j != i)
        out.append([j for _, j in order[:k]])
    return np.array(out)


@pytest.mark.parametrize(("n", "d"), [(2, 3), (5, 5), (40, 3), (8, 30)])
def test_covariance_matches_sklearn(n, d):
    rng = make_rng(n, d)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 3.0
    assert np.allclose(covariance(X), empirical_covariance(X), rtol=0, atol=1e-12)
    assert np.allclose(covariance(X), np.cov(X.T, bias=True).reshape(d, d), atol=1e-12)
    lw, _ = ledoit_wolf(X)
    assert np.allclose(covariance(X, shrinkage="ledoit_wolf"), lw, rtol=0, atol=1e-12)
    oa, _ = oas(X)
    assert np.allclose(covariance(X, shrinkage="oas"), oa, rtol=0, atol=1e-12)
    S = covariance(X)
    mu = np.trace(S) / d
    assert np.allclose(covariance(X, shrinkage=0.3), 0.7 * S + 0.3 * mu * np.eye(d), atol=1e-14)
    if n == 2:  # two samples: the Ledoit-Wolf coefficient is 0 (as in scikit-learn)
        assert np.allclose(covariance(X, shrinkage="ledoit_wolf"), S, atol=1e-14)
    elif n <= d:  # shrinkage makes a rank-deficient estimate positive definite
        assert np.linalg.eigvalsh(S)[0] < 1e-12
        assert np.linalg.eigvalsh(covariance(X, shrinkage="ledoit_wolf"))[0] > 1e-6
        assert np.linalg.eigvalsh(covariance(X, shrinkage="oas"))[0] > 1e-6


def test_covariance_of_one_feature_and_constant_data():
    x = np.array([[1.0], [3.0], [4.0]])
    for shrink in (None, "ledoit_wolf", "oas", 0.5):
        assert covariance(x, shrinkage=shrink) == pytest.approx(np.var(x), rel=1e-14)
    same = np.ones((4, 3))
    for shrink in (None, "ledoit_wolf", "oas"):
        assert not covariance(same, shrinkage=shrink).any()


def test_knn_matches_brute_force_with_ties():
    rng = make_rng(1)
    X = rng.normal(size=(60, 4))
    for k in (1, 5, 59):
        assert np.array_equal(knn_indices(X, k=k), brute_knn(X, k))
    grid = np.array([[i, j] for i in range(5) for j in range(4)], dtype=float)  # many ties
    for k in (1, 3, 4, 8, 19):
        assert np.array_equal(knn_indices(grid, k=k), brute_knn(grid, k))
    dup = np.array([[0.0], [0.0], [0.0], [1.0]])  # duplicates: ties at distance 0
    assert np.array_equal(knn_indices(dup, k=2), [[1, 2], [0, 2], [0, 1], [0, 1]])


def test_knn_in_blocks(monkeypatch):
    import sheaftopo.geometry._local as local

    rng = make_rng(2)
    X = rng.normal(size=(70, 3))
    ref = knn_indices(X, k=6)
    monkeypatch.setattr(local, "_BLOCK_ENTRIES", 150)  # two rows per block
    assert np.array_equal(knn_indices(X, k=6), ref)
    assert np.array_equal(knn_indices(X, k=6), brute_knn(X, 6))


@pytest.mark.parametrize("shrinkage", [None, "ledoit_wolf", "oas", 0.2])
def test_local_covariances_match_a_loop(shrinkage):
    rng = make_rng(3, len(str(shrinkage)))
    X = rng.normal(size=(30, 4))
    k = 6
    C = local_covariances(X, k=k, shrinkage=shrinkage)
    nbrs = brute_knn(X, k)
    for i in range(30):
        ref = covariance(X[np.r_[i, nbrs[i]]], shrinkage=shrinkage)
        assert np.allclose(C[i], ref, atol=1e-13)


def test_local_alignment_values_and_invariances():
    rng = make_rng(4)
    X = rng.normal(size=(50, 3))
    res = local_alignment(X, X + 7.0, k=8)
    assert isinstance(res, LocalAlignment) and res.divergence == "stein"
    assert res.values.shape == (50,) and np.abs(res.values).max() < 1e-12
    doubled = local_alignment(X, 2.0 * X, k=8, shrinkage=0.1)
    assert np.allclose(doubled.values, 3 * np.log(1.25), atol=1e-12)
    # rotating one set changes its local covariances to R S R^T: an affine-invariant
    # divergence sees the rotation, unless it is compared with the rotated first set
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    Y = rng.normal(size=(50, 3))
    a = local_alignment(X, Y, k=8).values
    b = local_alignment(X @ R.T, Y @ R.T, k=8).values
    assert np.allclose(a, b, rtol=1e-9)
    SX = local_covariances(X, k=8, shrinkage="ledoit_wolf")
    SY = local_covariances(Y, k=8, shrinkage="ledoit_wolf")
    for div, ref in [
        ("stein", stein_divergence(SX, SY)),
        ("von_neumann", von_neumann_divergence(SX, SY)),
        ("affine", spd_distance(SX, SY) ** 2),
        ("log_euclidean", spd_distance(SX, SY, metric="log_euclidean") ** 2),
        ("bures", spd_distance(SX, SY, metric="bures") ** 2),
    ]:
        got = local_alignment(X, Y, k=8, divergence=div)
        assert np.allclose(got.values, ref, rtol=1e-12, atol=0)
        assert got.mean == pytest.approx(float(np.mean(ref)), rel=1e-12)
        assert (got.values > 0).all()


def test_local_alignment_without_shrinkage_needs_enough_neighbours():
    rng = make_rng(5)
    X, Y = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
    with pytest.raises(ValueError, match=r"not all positive definite.*shrinkage"):
        local_alignment(X, Y, k=3, shrinkage=None)
    ok = local_alignment(X, Y, k=12, shrinkage=None)
    assert np.isfinite(ok.values).all()


def test_local_alignment_needs_paired_rows_of_equal_dimension():
    rng = make_rng(6)
    with pytest.raises(ValueError, match="same number of features"):
        local_alignment(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)), k=3)
    with pytest.raises(ValueError, match="same number of rows"):
        local_alignment(rng.normal(size=(10, 3)), rng.normal(size=(11, 3)), k=3)


def test_knn_exact_ties_go_to_the_smaller_index():
    """Regression (issue 15): |(4, 1, 1)| = |(3, 3, 0)| = sqrt(18) exactly, but m |d / m|
    rounds them an ulp apart (m = 4 vs 3), which ranked index 2 before index 1."""
    from sheaftopo.geometry._local import _norms

    a, b = np.array([[4.0, 1.0, 1.0]]), np.array([[3.0, 3.0, 0.0]])
    assert _norms(a)[0] != _norms(b)[0]  # the rounding that used to decide
    X = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, 1.0], [3.0, 3.0, 0.0], [9.0, 9.0, 9.0]])
    assert knn_indices(X, k=1)[0, 0] == 1
    assert knn_indices(X, k=2)[0].tolist() == [1, 2]
