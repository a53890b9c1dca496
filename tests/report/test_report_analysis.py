"""Analysis numbers: equal to the library's, zero for copies, invariant under rotations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist
from scipy.stats import ortho_group

from sheaftopo.report import (
    AnalysisConfig,
    analyze,
    distance_alignment,
    retrieval_recall,
    rms_pairwise_distance,
)

CFG = AnalysisConfig(k=6, dense_max_points=90, n_permutations=19, max_points=0)


def value(entry, *path):
    for k in path:
        entry = entry[k]
    return entry["value"]


@pytest.fixture(scope="module")
def labelled(paired):
    A, B, labels = paired
    return A, B, labels, analyze({"a": A, "b": B}, labels=labels, config=CFG)


# ----------------------------------------------------------------------
# every number is the library's number on the same input
# ----------------------------------------------------------------------


def test_persistence_numbers_are_the_library_functions(labelled):
    from sheaftopo.persistence import bottleneck, h0_diagram, mst, sliced_wasserstein

    A, B, _, res = labelled
    d = res.data
    da, db = h0_diagram(A), h0_diagram(B)
    sa, sb = rms_pairwise_distance(A), rms_pairwise_distance(B)
    pair = res.pair("a", "b")["persistence"]
    assert value(pair, "sliced_wasserstein") == sliced_wasserstein(
        da / sa, db / sb, n_directions=50, essential="drop"
    )
    assert value(pair, "bottleneck") == bottleneck(da / sa, db / sb)
    per = d["sets"]["a"]["persistence"]
    assert value(per, "total_persistence") == mst(A).total_weight
    assert value(per, "death_max") == da[np.isfinite(da[:, 1]), 1].max()
    assert value(per, "rms_pairwise_distance") == pytest.approx(np.sqrt(np.mean(pdist(A) ** 2)))


def test_sparsification_numbers_are_the_library_functions(labelled):
    from sheaftopo.persistence import approximation_bound, sparsify

    A, _, _, res = labelled
    pos = np.asarray(res.data["inputs"]["dense_subsample"]["positions"])
    assert len(pos) == 90
    D = cdist(A[pos], A[pos])
    g = sparsify(D, lam=0.5)
    b = approximation_bound(D, g.eps, p=2.0)
    sp = res.data["sets"]["a"]["sparsification"]
    assert value(sp, "eps") == g.eps
    assert value(sp, "n_edges") == g.n_edges and value(sp, "n_components") == g.n_components
    assert value(sp, "bound") == b.bound and value(sp, "w2_exact_vs_sparse") == b.distance
    assert value(sp, "w2_exact_vs_sparse") <= value(sp, "bound") + 1e-12


def test_neighbourhood_and_label_numbers_are_the_library_functions(labelled):
    from sheaftopo.geometry import knn_hausdorff, knn_overlap, label_scores

    A, B, labels, res = labelled
    nb = res.pair("a", "b")["neighbourhoods"]
    assert value(nb, "overlap") == pytest.approx(knn_overlap(A, B, k=6), abs=1e-15)
    assert value(nb, "hausdorff_mismatch") == knn_hausdorff(A, B, k=6)
    s = label_scores(B, labels, seed=0)
    lab = res.data["sets"]["b"]["labels"]
    assert value(lab, "silhouette") == s.silhouette and value(lab, "nmi") == s.nmi


def shared_space(A, B):
    from sheaftopo.sheaf import fit_restriction_maps

    fit = fit_restriction_maps(A, B, min(A.shape[1], B.shape[1]))
    rho = np.asarray(fit.correlations)
    return (A - fit.mean_u) @ fit.tail.T * rho, (B - fit.mean_v) @ fit.head.T * rho


def test_shared_space_numbers_are_the_library_functions(labelled):
    from sheaftopo.fiber import epsilon_star
    from sheaftopo.geometry import (
        covariance,
        exact_transport,
        gaussian_wasserstein,
        median_bandwidth,
        mmd2,
        modality_gap,
    )

    A, B, _, res = labelled
    ZA, ZB = shared_space(A, B)
    pair = res.pair("a", "b")
    assert pair["shared_space"]["kind"] == "cca"
    assert value(pair, "shared_space", "dim") == 7
    dist = pair["distributions"]
    pos = np.asarray(res.data["inputs"]["dense_subsample"]["positions"])
    assert value(dist, "ot_cost") == pytest.approx(
        exact_transport(ZA[pos], ZB[pos]).cost, rel=1e-12
    )
    bw = median_bandwidth(ZA[pos], ZB[pos])
    assert value(dist, "mmd") == pytest.approx(mmd2(ZA[pos], ZB[pos], bandwidth=bw), abs=1e-12)
    assert value(dist, "modality_gap") == pytest.approx(modality_gap(ZA, ZB), rel=1e-12)
    expected_bw = gaussian_wasserstein(ZA.mean(0), covariance(ZA), ZB.mean(0), covariance(ZB))
    assert value(dist, "bures_wasserstein") == pytest.approx(float(expected_bw), rel=1e-10)
    fib = pair["fiber_product"]
    assert value(fib, "eps_star") == pytest.approx(epsilon_star(ZA, ZB), rel=1e-12)
    assert fib["profile_recall"]["values"][-1] == 1.0
    r = retrieval_recall(ZA, ZB)
    assert value(pair, "retrieval", "recall_a_to_b", "@5") == r.recall_ab[5]


def test_subspace_numbers_are_the_library_functions(labelled):
    from sheaftopo.fiber import subspace_decomposition

    A, B, _, res = labelled
    dec = subspace_decomposition(A, B, n_shared="threshold", threshold=0.5, seed=0)
    sub = res.pair("a", "b")["subspaces"]
    assert value(sub, "n_shared") == dec.n_shared
    assert np.allclose(sub["principal_angles"]["values"], dec.angles, rtol=0, atol=0)
    assert value(sub, "variance_shared_a") == dec.x.variance_shared
    assert value(sub, "variance_specific_b") == dec.y.variance_specific


def test_permutation_rule_is_the_library_function(paired):
    from sheaftopo.fiber import subspace_decomposition

    A, B, _ = paired
    cfg = AnalysisConfig(k=5, dense_max_points=40, shared_rule="permutation", n_permutations=19)
    sub = analyze({"a": A, "b": B}, config=cfg).pair("a", "b")["subspaces"]
    dec = subspace_decomposition(A, B, n_shared="permutation", n_permutations=19, seed=0)
    assert value(sub, "n_shared") == dec.n_shared
    assert "19 row permutations" in sub["n_shared"]["note"]


def test_distance_alignment_matches_brute_force(labelled):
    from scipy.stats import pearsonr

    A, B, _, res = labelled
    da, db = pdist(A), pdist(B)
    sa, sb = np.sqrt(np.mean(da**2)), np.sqrt(np.mean(db**2))
    al = res.pair("a", "b")["distance_alignment"]
    assert value(al, "correlation") == pytest.approx(pearsonr(da, db)[0], abs=1e-10)
    assert value(al, "rms_error") == pytest.approx(
        np.sqrt(np.mean((da / sa - db / sb) ** 2)), abs=1e-10
    )
    assert value(al, "n_pairs") == len(da)


def test_distance_alignment_blocks_agree_with_one_block(monkeypatch, paired):
    import sheaftopo.report._measures as m

    A, B, _ = paired
    whole = distance_alignment(A, B)
    monkeypatch.setattr(m, "_square_block", lambda n, budget=0: 64)  # 3 x 3 blocks of 150
    blocked = distance_alignment(A, B)
    assert blocked.correlation == pytest.approx(whole.correlation, abs=1e-12)
    assert blocked.rms_error == pytest.approx(whole.rms_error, abs=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_matches_brute_force_ranks(paired, metric, monkeypatch):
    import sheaftopo.report._measures as m

    A, B, _ = paired
    rng = np.random.default_rng(1)
    Z1, Z2 = A[:, :7], B + 0.5 * rng.standard_normal(B.shape)
    if metric == "cosine":
        S = (Z1 / np.linalg.norm(Z1, axis=1, keepdims=True)) @ (
            Z2 / np.linalg.norm(Z2, axis=1, keepdims=True)
        ).T
    else:
        S = -cdist(Z1, Z2, "sqeuclidean")
    ranks_ab = (S > np.diag(S)[:, None]).sum(axis=1)
    ranks_ba = (S > np.diag(S)[None, :]).sum(axis=0)
    monkeypatch.setattr(m, "_block_rows", lambda n, budget=0: 64)
    r = retrieval_recall(Z1, Z2, ks=(1, 5, 10), metric=metric)
    assert np.array_equal(r.ranks_ab, ranks_ab) and np.array_equal(r.ranks_ba, ranks_ba)
    for k in (1, 5, 10):
        assert r.recall_ab[k] == np.mean(ranks_ab < k)
    assert r.mrr_ba == pytest.approx(np.mean(1 / (ranks_ba + 1)))


# ----------------------------------------------------------------------
# two copies of one set; a set against a rotation of itself
# ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def copies(paired):
    A, _, labels = paired
    return analyze({"x": A, "y": A.copy()}, labels=labels, config=CFG)


def test_two_copies_agree_perfectly(copies):
    p = copies.pair("x", "y")
    assert p["shared_space"]["kind"] == "raw"
    assert value(p, "persistence", "sliced_wasserstein") == 0.0
    assert value(p, "persistence", "bottleneck") == 0.0
    assert value(p, "distance_alignment", "rms_error") == 0.0
    assert value(p, "distance_alignment", "correlation") == pytest.approx(1.0, abs=1e-12)
    assert value(p, "neighbourhoods", "overlap") == 1.0
    assert value(p, "neighbourhoods", "hausdorff_mismatch") == 0.0
    for direction in ("recall_a_to_b", "recall_b_to_a"):
        for k in ("@1", "@5", "@10"):
            assert value(p, "retrieval", direction, k) == 1.0
    # the ground costs come from a Gram identity: zero up to rounding
    assert value(p, "distributions", "ot_cost") == pytest.approx(0.0, abs=1e-10)
    assert value(p, "distributions", "modality_gap") == 0.0
    assert value(p, "distributions", "bures_wasserstein") == pytest.approx(0.0, abs=1e-6)
    assert abs(value(p, "distributions", "mmd")) < 2.0 / 90  # unbiased estimate: O(1/m)
    assert value(p, "fiber_product", "eps_star") == 0.0
    assert p["fiber_product"]["profile_recall"]["values"][0] == 1.0
    assert value(p, "subspaces", "smallest_angle") == pytest.approx(0.0, abs=1e-5)
    assert value(p, "subspaces", "variance_shared_a") == pytest.approx(
        value(p, "subspaces", "variance_shared_b")
    )
    sx, sy = copies.data["sets"]["x"], copies.data["sets"]["y"]
    assert sx["persistence"] == sy["persistence"]
    assert sx["sparsification"] == sy["sparsification"]


INVARIANT = (
    ("persistence", "sliced_wasserstein"),
    ("persistence", "bottleneck"),
    ("distance_alignment", "correlation"),
    ("distance_alignment", "rms_error"),
    ("neighbourhoods", "overlap"),
    ("neighbourhoods", "hausdorff_mismatch"),
    ("subspaces", "n_shared"),
    ("subspaces", "n_correlations"),
    ("subspaces", "median_angle"),
    ("subspaces", "variance_shared_a"),
    ("subspaces", "variance_shared_b"),
)


def test_rotation_leaves_the_invariant_quantities_unchanged(paired, copies):
    A, _, labels = paired
    Q = ortho_group.rvs(A.shape[1], random_state=5)
    rotated = analyze({"x": A, "y": A @ Q}, labels=labels, config=CFG)
    p, p0 = rotated.pair("x", "y"), copies.pair("x", "y")
    for path in INVARIANT:
        assert value(p, *path) == pytest.approx(value(p0, *path), abs=1e-7), path
    # a rotated copy spans the same column space: every principal angle is a
    # rounding error. Small angles come from sines, accurate to ~1e-15 rad; an
    # arccos of correlations 1 - 2**-52 would give ~2e-8 rad (1e-6 degrees)
    for pair in (p, p0):
        angles = np.asarray(pair["subspaces"]["principal_angles"]["values"])
        assert angles.max() < 1e-13, angles
        assert value(pair, "subspaces", "median_angle") < 1e-11  # degrees
    s, s0 = rotated.data["sets"]["y"], copies.data["sets"]["y"]
    for key in ("total_persistence", "death_max", "rms_pairwise_distance"):
        assert value(s, "persistence", key) == pytest.approx(value(s0, "persistence", key))
    for key in ("eps", "bound", "w2_exact_vs_sparse", "n_components"):
        assert value(s, "sparsification", key) == pytest.approx(
            value(s0, "sparsification", key), abs=1e-9
        )
    assert value(s, "labels", "silhouette") == pytest.approx(value(s0, "labels", "silhouette"))
    # in a CCA shared space the rotation is undone: retrieval is perfect again
    cca = analyze(
        {"x": A, "y": A @ Q},
        config=AnalysisConfig(**{**CFG.__dict__, "shared_space": "cca"}),
    ).pair("x", "y")
    assert value(cca, "retrieval", "recall_a_to_b", "@1") == 1.0
    assert value(cca, "fiber_product", "eps_star") == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------
# configuration, subsampling, several sets
# ----------------------------------------------------------------------


def test_three_sets_give_every_pair(paired):
    A, B, _ = paired
    C = A[:, :5] + 0.1
    res = analyze({"a": A, "b": B, "c": C}, config=CFG)
    assert res.pair_keys == ["a | b", "a | c", "b | c"]
    assert set(res.data["sets"]) == {"a", "b", "c"}


def test_subsample_is_the_same_rows_of_every_set(paired):
    A, _, _ = paired
    cfg = AnalysisConfig(k=5, max_points=50, dense_max_points=40, n_permutations=9)
    res = analyze({"a": A, "b": A.copy()}, config=cfg)
    assert res.data["inputs"]["n_rows_analysed"]["value"] == 50
    p = res.pair("a", "b")
    assert value(p, "retrieval", "recall_a_to_b", "@1") == 1.0  # pairing kept
    assert value(p, "fiber_product", "eps_star") == 0.0


def test_inputs_are_not_modified(paired):
    A, B, labels = paired
    A0, B0, l0 = A.copy(), B.copy(), labels.copy()
    analyze(
        {"a": A, "b": B},
        labels=labels,
        config=AnalysisConfig(**{**CFG.__dict__, "preprocess": "standardize"}),
    )
    assert np.array_equal(A, A0) and np.array_equal(B, B0) and np.array_equal(labels, l0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_points": -1}, "max_points must be >= 0"),
        ({"shared_space": "both"}, "shared_space must be one of"),
        ({"preprocess": "whiten"}, "preprocess must be one of"),
        ({"ks": ()}, "at least one cut-off"),
    ],
)
def test_bad_configuration(paired, kwargs, match):
    A, B, _ = paired
    with pytest.raises(ValueError, match=match):
        analyze({"a": A, "b": B}, config=AnalysisConfig(**kwargs))


def test_bad_sets(paired):
    A, B, _ = paired
    with pytest.raises(ValueError, match="at least 2 embedding sets"):
        analyze({"a": A})
    with pytest.raises(ValueError, match="has 149 rows"):
        analyze({"a": A, "b": B[:-1]})
    with pytest.raises(ValueError, match="labels must be 1-D"):
        analyze({"a": A, "b": B}, labels=np.zeros(3))
    with pytest.raises(ValueError, match="same vector"):
        analyze({"a": A, "b": np.ones_like(B)}, config=CFG)
