"""Bad and extreme input through every public name of sheaftopo.geometry (issue 14).

Two parts: ``test_regression_*`` pin each defect the issue lists for the
geometry subpackage (each failed on the code as it was); the hypothesis tests
feed every public function NaN, inf, empty, one-row, wrongly typed, strided
and read-only input, magnitudes 1e-300 .. 1e300, duplicates and singular or
indefinite matrices through :func:`_adversarial.check_call`, and check every
finite result against an oracle (pyRiemann, POT, scipy, scikit-learn) or
against the same problem at unit scale (homogeneity / scale invariance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _adversarial import (
    MAGNITUDES,
    arrays_in_layouts,
    bad_arrays,
    bad_scalars,
    check_call,
    examples,
    point_clouds,
)
from _geometry_helpers import make_rng, random_spd
from hypothesis import given, settings
from hypothesis import strategies as st

import sheaftopo.geometry as geo
from sheaftopo.geometry import (
    LabelScores,
    LocalAlignment,
    ManifoldDiagnostics,
    SPDMean,
    TransportResult,
    cost_matrix,
    covariance,
    entropic_transport,
    exact_transport,
    gaussian_wasserstein,
    knn_hausdorff,
    knn_indices,
    knn_overlap,
    label_scores,
    local_alignment,
    local_covariances,
    manifold_diagnostics,
    median_bandwidth,
    mmd2,
    modality_gap,
    sinkhorn_divergence,
    sliced_wasserstein,
    spd_distance,
    spd_exp,
    spd_geodesic,
    spd_log,
    spd_mean,
    stein_divergence,
    von_neumann_divergence,
)

SUB = "geometry"
RNG = make_rng(14)
A = random_spd(RNG, 3, cond=20.0)
B = random_spd(RNG, 3, cond=20.0)
V = 0.5 * (A - B)
EPS = np.finfo(np.float64).eps


def rel_close(x, y, rtol=1e-9):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scale = np.maximum(np.abs(y).max(initial=0.0), 1e-300)
    assert np.abs(x - y).max(initial=0.0) <= rtol * scale, (x, y)


# ---------------------------------------------------------------------------
# regressions: SPD functions
# ---------------------------------------------------------------------------

NEAR_SINGULAR = np.diag([1.0, 1e-17, 2.0])  # eigenvalue ratio 5e-18 < 3 eps: singular


@pytest.mark.parametrize(
    "call",
    [
        lambda S: spd_distance(S, A),
        lambda S: spd_distance(A, S, metric="log_euclidean"),
        lambda S: spd_distance(S, A, metric="bures"),
        lambda S: stein_divergence(A, S),
        lambda S: spd_log(S, A),
        lambda S: spd_geodesic(S, A, 0.5),
        lambda S: von_neumann_divergence(S, A),
        lambda S: spd_mean(np.stack([A, S])),
        lambda S: gaussian_wasserstein(np.zeros(3), S, np.zeros(3), A),
    ],
)
def test_regression_numerically_singular_matrices_are_refused(call):
    with pytest.raises(ValueError, match=r"positive definite.*singular.*n \* eps"):
        call(NEAR_SINGULAR)
    with pytest.raises(ValueError, match=r"positive definite.*indefinite"):
        call(np.diag([1.0, -1e-20, 2.0]))


def test_regression_spd_exp_blames_base_not_the_tangent_vector():
    with pytest.raises(ValueError, match=r"^base must be symmetric positive definite"):
        spd_exp(np.eye(3), NEAR_SINGULAR)
    for metric in ("affine", "log_euclidean", "bures"):
        with pytest.raises(ValueError, match=r"^base must be"):
            spd_exp(V, np.diag([1.0, 0.0, 1.0]), metric=metric)
    with pytest.raises(ValueError, match="tangent vector V is too large"):
        spd_exp(1e3 * np.eye(3), np.eye(3))


def test_regression_spd_geodesic_parameter():
    with pytest.raises(TypeError, match="^t must be .*not a boolean"):
        spd_geodesic(A, B, True)
    with pytest.raises(TypeError, match="^t must be"):
        spd_geodesic(A, B, np.array([True, False]))
    for metric in ("affine", "log_euclidean"):
        with pytest.raises(ValueError, match=r"t \(values in .*outside the float64 range"):
            spd_geodesic(A, B, 1e300, metric=metric)
        with pytest.raises(ValueError, match=r"t \(values in .*outside the float64 range"):
            spd_geodesic(A, B, -1e300, metric=metric)
    # far but representable extrapolation is computed, and exactly the closed form
    out = spd_geodesic(np.eye(2), np.diag([2.0, 0.5]), 1000.0)
    rel_close(np.diag(out), [2.0**1000, 2.0**-1000], 1e-12)


@pytest.mark.parametrize("s", [1e-300, 1e-200, 1e200, 1e300])
def test_regression_spd_scale_invariance_at_extreme_scales(s):
    rel_close(spd_distance(A * s, B * s), spd_distance(A, B), 1e-12)
    rel_close(stein_divergence(A * s, B * s), stein_divergence(A, B), 1e-12)
    rel_close(spd_distance(A * s, B * s, metric="log_euclidean"),
              spd_distance(A, B, metric="log_euclidean"), 1e-10)
    rel_close(spd_distance(A * s, B * s, metric="bures"),
              math.sqrt(s) * spd_distance(A, B, metric="bures"), 1e-12)
    rel_close(von_neumann_divergence(A * s, B * s), s * von_neumann_divergence(A, B), 1e-12)
    for metric in ("affine", "log_euclidean", "bures"):
        rel_close(spd_mean(np.stack([A * s, B * s]), metric=metric).mean,
                  s * spd_mean(np.stack([A, B]), metric=metric).mean, 1e-9)
        rel_close(spd_geodesic(A * s, B * s, 0.3, metric=metric),
                  s * spd_geodesic(A, B, 0.3, metric=metric), 1e-10)
        rel_close(spd_log(A * s, B * s, metric=metric), s * spd_log(A, B, metric=metric), 1e-9)
        rel_close(spd_exp(V * s, B * s, metric=metric), s * spd_exp(V, B, metric=metric), 1e-9)


def test_regression_spd_mixed_scales():
    # P^{-1} Q = 1e-600 I: representable logarithms although no product of the two is
    d = spd_distance(1e300 * np.eye(2), 1e-300 * np.eye(2))
    rel_close(d, math.sqrt(2.0) * 600 * math.log(10.0), 1e-12)
    rel_close(stein_divergence(1e300 * np.eye(2), 1e-300 * np.eye(2)),
              2 * (300 * math.log(10.0) - math.log(2.0)), 1e-12)
    rel_close(spd_geodesic(1e300 * np.eye(2), 1e-300 * np.eye(2), 0.5), np.eye(2), 1e-12)
    rel_close(spd_distance(1e300 * np.eye(2), 1e-300 * np.eye(2), metric="bures"),
              math.sqrt(2.0) * 1e150, 1e-12)
    with pytest.raises(ValueError, match="von Neumann divergence overflows"):
        von_neumann_divergence(1e300 * np.eye(2), 1e-300 * np.eye(2))


# ---------------------------------------------------------------------------
# regressions: transport
# ---------------------------------------------------------------------------

XT = RNG.normal(size=(6, 2))
YT = RNG.normal(size=(7, 2)) + 1.0


@pytest.mark.parametrize("s", [1e-300, 1e-170, 1e160, 1e200, 1e300])
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0])
def test_regression_cost_and_transport_rescale(s, p):
    log_factor = p * math.log(s)
    ref = cost_matrix(XT, YT, p=p)
    ref_exact = exact_transport(XT, YT, p=p).cost
    ref_sw = sliced_wasserstein(XT, YT, p=p).cost
    if log_factor < -700:  # the costs underflow: computed as the correctly rounded 0
        assert cost_matrix(XT * s, YT * s, p=p).max() < 1e-290
        assert exact_transport(XT * s, YT * s, p=p).cost < 1e-290
    elif log_factor + math.log(ref.max()) < math.log(1e308):
        factor = math.exp(log_factor)
        rel_close(cost_matrix(XT * s, YT * s, p=p), ref * factor, 1e-9)
        rel_close(exact_transport(XT * s, YT * s, p=p).cost, ref_exact * factor, 1e-9)
        rel_close(sliced_wasserstein(XT * s, YT * s, p=p).cost, ref_sw * factor, 1e-9)
        ent = entropic_transport(XT * s, YT * s, reg=0.5 * factor, p=p)
        rel_close(ent.cost, entropic_transport(XT, YT, reg=0.5, p=p).cost * factor, 1e-7)
    else:
        for call in (
            lambda: cost_matrix(XT * s, YT * s, p=p),
            lambda: exact_transport(XT * s, YT * s, p=p),
            lambda: sliced_wasserstein(XT * s, YT * s, p=p),
        ):
            with pytest.raises(ValueError, match=r"overflows float64: the points of X and Y"):
                call()


def test_regression_entropic_cost_with_huge_reg():
    # reg dwarfing the costs: OT_reg -> <a b^T, C> (was -2.2e284)
    C = cost_matrix(XT, YT)
    independent = float(C.mean())
    for reg in (1e10, 1e100, 1e300):
        res = entropic_transport(XT, YT, reg=reg)
        rel_close(res.cost, independent, 1e-8)
        rel_close(res.linear_cost, independent, 1e-8)
        sym = entropic_transport(XT, XT, reg=reg)
        rel_close(sym.cost, float(cost_matrix(XT, XT).mean()), 1e-8)
        div = sinkhorn_divergence(XT, YT, reg=reg)
        expected = independent - 0.5 * (cost_matrix(XT, XT).mean() + cost_matrix(YT, YT).mean())
        rel_close(div.cost, expected, 1e-7)


def test_regression_entropic_tiny_reg_is_flagged_or_refused():
    exact = exact_transport(XT, YT).cost
    for reg in (1e-3, 1e-8, 1e-12):
        res = entropic_transport(XT, YT, reg=reg, max_iter=300)
        assert math.isfinite(res.cost) and math.isfinite(res.linear_cost)
        if res.converged:
            assert exact - 1e-9 <= res.cost <= exact + reg * math.log(6) + 1e-9
        else:
            assert "max_iter" in res.message
    for reg in (1e-300, 1e-200, 1e-14):
        with pytest.raises(ValueError, match=rf"^reg = {reg!r} is too small"):
            entropic_transport(XT, YT, reg=reg)
    with pytest.raises(ValueError, match=r"^reg = 1e-300 is too small"):
        sinkhorn_divergence(XT, YT, reg=1e-300)


# ---------------------------------------------------------------------------
# regressions: point-cloud diagnostics and covariances
# ---------------------------------------------------------------------------

XD = RNG.normal(size=(12, 3))
YD = RNG.normal(size=(12, 3)) @ RNG.normal(size=(3, 3)) + 0.5


@pytest.mark.parametrize("s", [1e-300, 1e-170, 1e-160, 1e154, 1e160, 1e200, 1e300])
def test_regression_diagnostics_at_extreme_scales(s):
    rel_close(median_bandwidth(XD * s, YD * s), median_bandwidth(XD, YD) * s, 1e-12)
    rel_close(mmd2(XD * s, YD * s), mmd2(XD, YD), 1e-10)
    rel_close(mmd2(XD * s, YD * s, bandwidth=[0.5 * s, 2.0 * s]),
              mmd2(XD, YD, bandwidth=[0.5, 2.0]), 1e-10)
    np.testing.assert_array_equal(knn_indices(XD * s, k=4), knn_indices(XD, k=4))
    rel_close(knn_hausdorff(XD * s, YD / s, k=3), knn_hausdorff(XD, YD, k=3), 1e-10)
    rel_close(modality_gap(XD * s, YD * s), modality_gap(XD, YD), 1e-12)
    diag = manifold_diagnostics(XD * s, YD * s, k=3)
    ref = manifold_diagnostics(XD, YD, k=3)
    rel_close(diag.hausdorff_per_point, ref.hausdorff_per_point, 1e-10)
    rel_close(diag.mmd2, ref.mmd2, 1e-10)
    assert diag.knn_overlap == ref.knn_overlap
    for div in ("stein", "affine", "log_euclidean"):
        rel_close(local_alignment(XD * s, YD * s, k=4, divergence=div).values,
                  local_alignment(XD, YD, k=4, divergence=div).values, 1e-8)
    sq = s * s
    if sq < 1e300 and sq > 1e-290:
        rel_close(covariance(XD * s), covariance(XD) * sq, 1e-12)
        rel_close(covariance(XD * s, shrinkage="oas"), covariance(XD, shrinkage="oas") * sq, 1e-12)
        rel_close(local_covariances(XD * s, k=4), local_covariances(XD, k=4) * sq, 1e-12)
        rel_close(local_alignment(XD * s, YD * s, k=4, divergence="bures").values,
                  local_alignment(XD, YD, k=4, divergence="bures").values * sq, 1e-8)
    elif s >= 1e160:  # variances about 1e320
        for call in (lambda: covariance(XD * s), lambda: local_covariances(XD * s, k=4)):
            with pytest.raises(ValueError, match="covariance of X overflows"):
                call()


@pytest.mark.parametrize("s", [1e-300, 1.0, 1e300])
def test_regression_knn_never_lists_the_point_itself(s):
    X = np.repeat(RNG.normal(size=(3, 2)), 3, axis=0) * s  # every point three times
    idx = knn_indices(X, k=4)
    assert not (idx == np.arange(9)[:, None]).any()
    # duplicates first, by increasing index, then the rest by (distance, index)
    for i in range(9):
        dups = [j for j in range(9) if j != i and np.array_equal(X[j], X[i])]
        assert list(idx[i, :2]) == dups
    same = knn_indices(np.zeros((5, 2)), k=4)
    np.testing.assert_array_equal(same, [[j for j in range(5) if j != i] for i in range(5)])


def test_regression_label_scores_refuses_mixed_labels():
    X = RNG.normal(size=(6, 2))
    with pytest.raises(TypeError, match=r"^labels must all be of one kind.*number and str"):
        label_scores(X, [1, "a", 1, "a", 2, 2])
    with pytest.raises(TypeError, match=r"^labels must be integers.*None"):
        label_scores(X, [1, None, 1, None, 2, 2])
    with pytest.raises(TypeError, match=r"^labels must be integers"):
        label_scores(X, [1, [2], 1, 2, 2, 1])
    with pytest.raises(TypeError, match=r"^labels must be"):
        label_scores(X, "aabbcc")
    with pytest.raises(TypeError, match=r"^labels must all be of one kind"):
        manifold_diagnostics(X, X, k=2, labels=[1, "a", 1, "a", 2, 2])
    ref = label_scores(X, [0, 1, 0, 1, 2, 2])
    assert label_scores(X, ["x", "y", "x", "y", "z", "z"]) == ref
    assert label_scores(X, np.array([0, 1, 0, 1, 2, 2], dtype=object)) == ref
