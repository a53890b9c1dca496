"""Manifold diagnostics: MMD (brute force, closed-form population value, unbiasedness),
k-NN overlap and Hausdorff mismatch (brute force, invariances), modality gap, label scores."""

from __future__ import annotations

import numpy as np
import pytest
from _geometry_helpers import make_rng
from scipy.spatial.distance import cdist, directed_hausdorff, pdist
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, silhouette_score

from sheaftopo.geometry import (
    LabelScores,
    ManifoldDiagnostics,
    knn_hausdorff,
    knn_indices,
    knn_overlap,
    label_scores,
    manifold_diagnostics,
    median_bandwidth,
    mmd2,
    modality_gap,
)


def brute_mmd2(X, Y, sigmas):
    def k(A, B):
        D = cdist(A, B, "sqeuclidean")
        return np.mean([np.exp(-D / (2 * s**2)) for s in sigmas], axis=0)

    n, m = len(X), len(Y)
    kxx = (k(X, X).sum() - np.trace(k(X, X))) / (n * (n - 1))
    kyy = (k(Y, Y).sum() - np.trace(k(Y, Y))) / (m * (m - 1))
    return kxx + kyy - 2 * k(X, Y).mean()


def population_mmd2(d, mu, s1, s2, sigma):
    """MMD^2 between N(0, s1^2 I) and N(mu, s2^2 I) for exp(-|x - y|^2 / (2 sigma^2))."""

    def ek(tau2, shift2):
        return (sigma**2 / (sigma**2 + tau2)) ** (d / 2) * np.exp(-shift2 / (2 * (sigma**2 + tau2)))

    return ek(2 * s1**2, 0.0) + ek(2 * s2**2, 0.0) - 2 * ek(s1**2 + s2**2, float(mu @ mu))


def test_mmd_matches_brute_force():
    rng = make_rng(1)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(25, 3)) + 0.5
    for bw in (0.5, [0.3, 1.0, 4.0]):
        sig = np.atleast_1d(bw)
        assert mmd2(X, Y, bandwidth=bw) == pytest.approx(brute_mmd2(X, Y, sig), rel=1e-12)
    med = np.median(pdist(np.vstack([X, Y])))
    assert median_bandwidth(X, Y) == pytest.approx(med, rel=1e-12)
    assert mmd2(X, Y) == pytest.approx(brute_mmd2(X, Y, [med]), rel=1e-12)


@pytest.mark.parametrize("N", [2, 3, 4, 7, 10])
def test_median_bandwidth_even_and_odd_counts(N):
    rng = make_rng(N)
    Z = rng.normal(size=(N, 2))
    assert median_bandwidth(Z) == pytest.approx(np.median(pdist(Z)), rel=1e-12)


def test_mmd_of_identical_samples():
    rng = make_rng(2)
    X = rng.normal(size=(40, 2))
    K = np.exp(-cdist(X, X, "sqeuclidean") / 2)
    off = (K.sum() - 40) / (40 * 39)
    # with X = Y the U-statistic is -(2/n) (1 - mean off-diagonal kernel) <= 0
    assert mmd2(X, X, bandwidth=1.0) == pytest.approx(-(2 / 40) * (1 - off), rel=1e-10)
    assert -2 / 40 <= mmd2(X, X, bandwidth=1.0) <= 0


def test_mmd_is_unbiased():
    """The mean over many draws matches the closed-form population MMD^2 (a fixed bandwidth:
    the median heuristic depends on the data), while the V-statistic is visibly biased."""
    rng = make_rng(3)
    d, n, R, sigma = 2, 12, 3000, 1.0
    for mu_shift, s2 in [(0.0, 1.0), (0.5, 1.0), (0.0, 1.5)]:
        mu = np.full(d, mu_shift)
        pop = population_mmd2(d, mu, 1.0, s2, sigma)
        vals, biased = np.empty(R), np.empty(R)
        for r in range(R):
            X = rng.normal(size=(n, d))
            Y = mu + s2 * rng.normal(size=(n, d))
            vals[r] = mmd2(X, Y, bandwidth=sigma)
            Z = np.vstack([X, Y])
            K = np.exp(-cdist(Z, Z, "sqeuclidean") / (2 * sigma**2))
            # the V-statistic keeps the diagonal k(x, x) = 1: biased upwards by O(1/n)
            biased[r] = K[:n, :n].mean() + K[n:, n:].mean() - 2 * K[:n, n:].mean()
        se = vals.std(ddof=1) / np.sqrt(R)
        assert abs(vals.mean() - pop) < 4 * se
        assert abs(biased.mean() - pop) > 10 * se


def test_knn_overlap_matches_brute_force_and_works_across_dimensions():
    rng = make_rng(4)
    X, Y = rng.normal(size=(50, 6)), rng.normal(size=(50, 2))
    k = 7
    NX, NY = knn_indices(X, k=k), knn_indices(Y, k=k)
    ref = np.mean(
        [len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(NX, NY, strict=True)]
    )
    assert knn_overlap(X, Y, k=k) == pytest.approx(ref, rel=1e-14)
    R, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert knn_overlap(X, 5 * X @ R + 3, k=k) == 1.0
    assert knn_overlap(X, X[rng.permutation(50)], k=k) < 0.5


def brute_hausdorff(X, Y, k):
    NX = [list(r) for r in knn_indices(X, k=k)]
    NY = [list(r) for r in knn_indices(Y, k=k)]

    def dh(A, B):
        return max(directed_hausdorff(A, B)[0], directed_hausdorff(B, A)[0])

    rX = np.mean([np.linalg.norm(X[i] - X[NX[i][-1]]) for i in range(len(X))])
    rY = np.mean([np.linalg.norm(Y[i] - Y[NY[i][-1]]) for i in range(len(Y))])
    h = [0.5 * (dh(X[NX[i]], X[NY[i]]) / rX + dh(Y[NX[i]], Y[NY[i]]) / rY) for i in range(len(X))]
    return float(np.mean(h)), np.array(h)


def test_knn_hausdorff_matches_brute_force_and_invariances():
    rng = make_rng(5)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    ref, ref_pp = brute_hausdorff(X, Y, 6)
    assert knn_hausdorff(X, Y, k=6) == pytest.approx(ref, rel=1e-12)
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert knn_hausdorff(X, 0.01 * Y @ R - 4, k=6) == pytest.approx(ref, rel=1e-9)
    assert knn_hausdorff(X, 2 * X + 1, k=6) == 0.0
    diag = manifold_diagnostics(X, Y, k=6)
    assert np.allclose(diag.hausdorff_per_point, ref_pp, rtol=1e-12)


def test_modality_gap():
    rng = make_rng(6)
    X, Y = rng.normal(size=(30, 4)) + 2, rng.normal(size=(20, 4)) - 2
    ref = np.linalg.norm(
        (X / np.linalg.norm(X, axis=1, keepdims=True)).mean(0)
        - (Y / np.linalg.norm(Y, axis=1, keepdims=True)).mean(0)
    )
    assert modality_gap(X, Y) == pytest.approx(ref, rel=1e-14)
    assert modality_gap(X, 3 * X) < 1e-15
    assert 0 <= modality_gap(X, Y) <= 2


def test_label_scores_match_sklearn():
    rng = make_rng(7)
    X = np.concatenate([rng.normal(size=(25, 3)) + c for c in (0, 4, 8)])
    labels = np.repeat(["cat", "dog", "eel"], 25)
    s = label_scores(X, labels, seed=3)
    assert isinstance(s, LabelScores) and s.n_labels == 3
    codes = np.repeat([0, 1, 2], 25)
    assert s.silhouette == pytest.approx(silhouette_score(X, codes), rel=1e-12)
    km = KMeans(n_clusters=3, n_init=10, random_state=3).fit(X)
    assert s.nmi == pytest.approx(normalized_mutual_info_score(codes, km.labels_), rel=1e-12)
    assert label_scores(X, labels, seed=3) == s
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert label_scores(X, labels, seed=g1) == label_scores(X, labels, seed=g2)


def test_manifold_diagnostics_bundles_the_individual_functions():
    rng = make_rng(8)
    X = rng.normal(size=(40, 3))
    Y = X @ rng.normal(size=(3, 3)) + 0.1 * rng.normal(size=(40, 3))
    labels = (X[:, 0] > 0).astype(int)
    diag = manifold_diagnostics(X, Y, k=5, labels=labels, bandwidth=1.0)
    assert isinstance(diag, ManifoldDiagnostics) and diag.n_points == 40 and diag.k == 5
    assert diag.knn_overlap == pytest.approx(knn_overlap(X, Y, k=5), rel=1e-14)
    assert diag.knn_overlap_per_point.shape == (40,)
    assert diag.hausdorff_mismatch == pytest.approx(knn_hausdorff(X, Y, k=5), rel=1e-14)
    assert diag.mmd2 == pytest.approx(mmd2(X, Y, bandwidth=1.0), rel=1e-14)
    assert diag.modality_gap == pytest.approx(modality_gap(X, Y), rel=1e-14)
    assert diag.labels_x == label_scores(X, labels) and diag.labels_y == label_scores(Y, labels)
    other = manifold_diagnostics(X, Y[:, :2], k=5)
    assert other.mmd2 is None and other.modality_gap is None and other.labels_x is None
    assert np.isfinite(other.knn_overlap) and np.isfinite(other.hausdorff_mismatch)
