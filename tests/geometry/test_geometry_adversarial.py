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
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp
from _adversarial import (
    MAGNITUDES,
    bad_arrays,
    bad_scalars,
    check_call,
    examples,
    point_clouds,
)
from _geometry_helpers import PR_DISTANCE, PR_GEODESIC, make_rng, random_spd
from hypothesis import given, settings
from hypothesis import strategies as st

import sheaftopo.geometry as geo
from sheaftopo._validation import power_of_two_scale
from sheaftopo.geometry import (
    Barycenter,
    GaussianMap,
    LabelScores,
    LocalAlignment,
    ManifoldDiagnostics,
    MMDTest,
    SPDMean,
    TransportResult,
    cost_matrix,
    covariance,
    empirical_gaussian_map,
    entropic_transport,
    exact_transport,
    fixed_support_barycenter,
    free_support_barycenter,
    gaussian_map,
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
    mmd2_test,
    modality_gap,
    sinkhorn_divergence,
    sliced_transport,
    solve_transport,
    spd_distance,
    spd_exp,
    spd_from_tangent,
    spd_geodesic,
    spd_inner,
    spd_log,
    spd_mean,
    spd_to_tangent,
    spd_transport,
    stein_divergence,
    von_neumann_divergence,
)

SUB = "geometry"
RNG = make_rng(14)
A = random_spd(RNG, 3, cond=20.0)
B = random_spd(RNG, 3, cond=20.0)
V = 0.5 * (A - B)
EPS = np.finfo(np.float64).eps


def rel_close(x, y, rtol=1e-9, atol=0.0):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scale = np.maximum(np.abs(y).max(initial=0.0), 1e-300)
    assert np.abs(x - y).max(initial=0.0) <= rtol * scale + atol, (x, y)


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
    with pytest.raises(TypeError, match=r"^t must be .*not a boolean"):
        spd_geodesic(A, B, True)
    with pytest.raises(TypeError, match=r"^t must be"):
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
    ref_sw = sliced_transport(XT, YT, p=p).cost
    if log_factor < -700:  # the costs underflow: computed as the correctly rounded 0
        assert cost_matrix(XT * s, YT * s, p=p).max() < 1e-290
        assert exact_transport(XT * s, YT * s, p=p).cost < 1e-290
    elif log_factor + math.log(ref.max()) < math.log(1e308):
        factor = math.exp(log_factor)
        rel_close(cost_matrix(XT * s, YT * s, p=p), ref * factor, 1e-9)
        rel_close(exact_transport(XT * s, YT * s, p=p).cost, ref_exact * factor, 1e-9)
        rel_close(sliced_transport(XT * s, YT * s, p=p).cost, ref_sw * factor, 1e-9)
        ent = entropic_transport(XT * s, YT * s, reg=0.5 * factor, p=p)
        rel_close(ent.cost, entropic_transport(XT, YT, reg=0.5, p=p).cost * factor, 1e-7)
    else:
        for call in (
            lambda: cost_matrix(XT * s, YT * s, p=p),
            lambda: exact_transport(XT * s, YT * s, p=p),
            lambda: sliced_transport(XT * s, YT * s, p=p),
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


def test_regression_distances_far_below_the_largest_coordinate_keep_precision():
    # squares of distances 1e-160 times the largest coordinate are subnormal: the
    # distances are taken from scaled differences instead (median, MMD, costs)
    X = np.array([[1.2e159], [-1.3e159], [6.4e159]])
    Y = RNG.normal(size=(9, 1))
    Z = np.concatenate([X, Y])
    D = np.abs(Z - Z.T)  # exact in 1-D
    rel_close(median_bandwidth(X, Y), float(np.median(D[np.triu_indices(12, 1)])), 1e-15)
    sigma = float(np.median(D[np.triu_indices(12, 1)]))
    with np.errstate(over="ignore"):
        K = np.exp(-0.5 * (D / sigma) ** 2)
    expected = (K[:3, :3].sum() - 3) / 6 + (K[3:, 3:].sum() - 9) / 72 - 2 * K[:3, 3:].mean()
    rel_close(mmd2(X, Y), expected, 1e-12)
    rel_close(cost_matrix(X, Y, p=1)[:, :], np.abs(X - Y.T), 1e-15)
    rel_close(cost_matrix(Y * 1e-200, X * 1e-200, p=1)[:, :], np.abs(Y - X.T) * 1e-200, 1e-12)
    # a 1e-170 cloud against a 1e153 one: the median is among the small distances, which
    # a common unit scale would push into the subnormal range (was 7 % off)
    small = RNG.normal(size=(5, 3)) * 1e-170
    big = np.full((2, 3), 1.25e153)
    Z = np.concatenate([small, big])
    D = np.hypot.reduce(Z[:, None, :] - Z[None, :, :], axis=-1)
    sigma = float(np.median(D[np.triu_indices(7, 1)]))
    rel_close(median_bandwidth(small, big), sigma, 1e-12)
    with np.errstate(over="ignore"):
        K = np.exp(-0.5 * (D / sigma) ** 2)
    expected = (K[:5, :5].sum() - 5) / 20 + (K[5:, 5:].sum() - 2) / 2 - 2 * K[:5, 5:].mean()
    rel_close(mmd2(small, big), expected, 1e-10)


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


# ---------------------------------------------------------------------------
# the bad-input suite: every public name, hypothesis-drawn inputs
# ---------------------------------------------------------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import ot
    from pyriemann.geometry import distance as pr_distance
    from pyriemann.geometry import mean as pr_mean
    from scipy.spatial.distance import cdist

PR_MEAN = {
    "affine": lambda P: pr_mean.mean_riemann(P, tol=1e-14, maxiter=500),
    "log_euclidean": pr_mean.mean_logeuclid,
    "bures": lambda P: pr_mean.mean_wasserstein(P, tol=1e-14, maxiter=500),
}
METRICS = ("affine", "log_euclidean", "bures")

#: which test exercises each public name (checked against __all__ below)
COVERED = {
    "LabelScores": "label_scores", "LocalAlignment": "local_alignment",
    "ManifoldDiagnostics": "manifold_diagnostics", "SPDMean": "spd_mean",
    "TransportResult": "transport functions",
}


def covers(*names):
    def mark(fn):
        for name in names:
            COVERED[name] = fn.__name__
        return fn
    return mark


def times_pow2(x, k):
    """x * 2**k without intermediate overflow (inf / 0 where the value leaves float64)."""
    k = min(max(float(k), -4000.0), 4000.0)
    whole = math.floor(k)
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.asarray(x, dtype=float) * 2.0 ** (k - whole), whole)


def close_scaled(result, unit_expected, k, rtol, what):
    """``result`` equals ``unit_expected * 2**k`` to ``rtol`` of the largest value."""
    expected = times_pow2(unit_expected, k)
    result = np.asarray(result, dtype=float)
    assert np.isfinite(expected).all(), f"{what}: finite result {result} where float64 overflows"
    tol = rtol * float(np.abs(expected).max(initial=0.0)) + 1e-300
    assert np.abs(result - expected).max(initial=0.0) <= tol, (what, result, expected)


def hypot_dist(A, B):
    """Euclidean distances by numpy's hypot (scaled: no square under- or overflows)."""
    return np.hypot.reduce(A[:, None, :] - B[None, :, :], axis=-1)


def unit_cloud(*clouds):
    top = max(float(np.abs(np.asarray(Z, dtype=float)).max()) for Z in clouds)
    s = power_of_two_scale(np.array([top]))
    return [np.asarray(Z, dtype=float) / s for Z in clouds], math.log2(s)


pairs_of_clouds = st.tuples(
    point_clouds(max_rows=9, max_cols=3), point_clouds(max_rows=9, max_cols=3)
)


def same_dim(X, Y):
    """Y with X's number of columns (tiled or cut), keeping its magnitude and layout kind."""
    d = X.shape[1]
    Yc = np.tile(np.asarray(Y), (1, d))[:, :d]
    return Yc


# --- transport --------------------------------------------------------------


@covers("cost_matrix")
@settings(max_examples=examples(25, 500))
@given(pairs_of_clouds, st.sampled_from([1.0, 1.5, 2.0, 3.0]))
def test_cost_matrix_adversarial(pair, p):
    X, Y = pair
    Y = same_dim(X, Y)

    def check(C):
        # every distance to a relative 1.1e-8 (p times that after the power); the oracle
        # at the original scale where its distances fit (hypot: no square under- or
        # overflows), else at unit scale
        with np.errstate(over="ignore", under="ignore"):
            expected = hypot_dist(np.asarray(X, float), np.asarray(Y, float)) ** p
        if not np.isfinite(expected).all():
            (Xu, Yu), e = unit_cloud(X, Y)
            expected = times_pow2(hypot_dist(Xu, Yu) ** p, p * e)
        assert np.isfinite(expected).all()
        tiny = expected < 1e-290  # subnormal or underflowed: absolute comparison
        np.testing.assert_allclose(C[~tiny], expected[~tiny], rtol=4e-8 * p)
        assert np.abs(C[tiny] - expected[tiny]).max(initial=0.0) <= 1e-290

    check_call(SUB, cost_matrix, X, Y, p=p, names=("X", "Y"), check=check)


@covers("exact_transport")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds, st.sampled_from([1.0, 2.0]))
def test_exact_transport_adversarial(pair, p):
    X, Y = pair
    Y = same_dim(X, Y)

    def check(res):
        assert isinstance(res, TransportResult) and res.converged
        (Xu, Yu), e = unit_cloud(X, Y)
        n, m = len(X), len(Y)
        ref = ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), cdist(Xu, Yu) ** p)
        close_scaled(res.cost, ref, p * e, 1e-7, "exact_transport")
        # the dual potentials (at unit scale, where the costs are normal numbers):
        # feasible, and strong duality
        if times_pow2(1.0, p * e) > 1e-280:
            f, g = times_pow2(res.dual_a, -p * e), times_pow2(res.dual_b, -p * e)
            assert (f[:, None] + g[None, :] - cdist(Xu, Yu) ** p).max() <= 1e-7
            assert abs(f.mean() + g.mean() - ref) <= 1e-7

    check_call(SUB, exact_transport, X, Y, p=p, names=("X", "Y"), check=check)


@covers("entropic_transport")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds, st.sampled_from([1e-2, 1.0, 1e4, 1e300]))
def test_entropic_transport_adversarial(pair, rel_reg):
    X, Y = pair
    Y = same_dim(X, Y)
    (Xu, Yu), e = unit_cloud(X, Y)
    unit_max = float((cdist(Xu, Yu) ** 2).max())
    reg = float(times_pow2(rel_reg * max(unit_max, 1e-3), 2 * e))
    if not 0 < reg < math.inf:
        return

    def check(res):
        n, m = len(X), len(Y)
        exact = ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), cdist(Xu, Yu) ** 2)
        entropy = math.log(min(n, m))
        if res.converged:  # OT_0 <= OT_eps <= OT_0 + eps H
            lo = float(times_pow2(exact, 2 * e))
            hi = float(times_pow2(exact + rel_reg * max(unit_max, 1e-3) * entropy, 2 * e))
            slack = 1e-7 * max(hi, 1e-300)
            assert lo - slack <= res.cost <= hi + slack, (lo, res.cost, hi)
        else:
            assert "max_iter" in res.message

    check_call(SUB, entropic_transport, X, Y, reg=reg, max_iter=3000, names=("X", "Y", "reg"),
               check=check)


@covers("sinkhorn_divergence")
@settings(max_examples=examples(15, 300))
@given(pairs_of_clouds, st.sampled_from([1e-1, 1.0, 1e6]))
def test_sinkhorn_divergence_adversarial(pair, rel_reg):
    X, Y = pair
    Y = same_dim(X, Y)
    (Xu, Yu), e = unit_cloud(X, Y)
    reg = float(times_pow2(rel_reg, 2 * e))
    if not 0 < reg < math.inf:
        return

    def check(res):
        scale = float(times_pow2(max(float((cdist(Xu, Yu) ** 2).max()), 1.0), 2 * e))
        if res.converged:  # S_eps >= 0 for the squared Euclidean cost
            assert res.cost >= -1e-7 * scale - 1e-300
        if np.array_equal(np.asarray(X), np.asarray(Y)):
            assert res.cost == 0.0

    check_call(SUB, sinkhorn_divergence, X, Y, reg=reg, max_iter=3000,
               names=("X", "Y", "reg"), check=check)


@covers("sliced_transport")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds, st.sampled_from([1.0, 2.0]))
def test_sliced_wasserstein_adversarial(pair, p):
    X, Y = pair
    Y = same_dim(X, Y)

    def check(res):
        (Xu, Yu), e = unit_cloud(X, Y)
        n, m = len(X), len(Y)
        exact = ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), cdist(Xu, Yu) ** p)
        # projections are 1-Lipschitz: SW_p^p <= W_p^p; and on a line they agree
        bound = float(times_pow2(exact * (1 + 1e-7) + 1e-12, p * e))
        assert 0.0 <= res.cost <= bound
        if X.shape[1] == 1:
            close_scaled(res.cost, exact, p * e, 1e-7, "sliced_transport on a line")

    check_call(SUB, sliced_transport, X, Y, p=p, names=("X", "Y"), check=check)


@covers("gaussian_wasserstein")
@settings(max_examples=examples(20, 400))
@given(st.integers(1, 4), st.sampled_from(MAGNITUDES), st.sampled_from(MAGNITUDES),
       st.integers(0, 2**32 - 1))
def test_gaussian_wasserstein_adversarial(d, s_mean, s_cov, seed):
    rng = np.random.default_rng(seed)
    m1, m2 = rng.normal(size=d) * s_mean, rng.normal(size=d) * s_mean
    S1, S2 = random_spd(rng, d, cond=30.0), random_spd(rng, d, cond=30.0)

    def check(w):
        dm = float(np.linalg.norm((m1 - m2) / s_mean)) * s_mean
        bures = float(pr_distance.distance_wasserstein(S1, S2)) * math.sqrt(s_cov)
        assert math.isclose(float(w), math.hypot(dm, bures), rel_tol=1e-9)

    check_call(SUB, gaussian_wasserstein, m1, S1 * s_cov, m2, S2 * s_cov,
               names=("mean1", "mean2", "cov1", "cov2"), check=check)


@covers("solve_transport")
@settings(max_examples=examples(25, 500))
@given(point_clouds(max_rows=8, max_cols=5), st.sampled_from([None, 1e-1, 1.0, 1e3]),
       st.booleans())
def test_solve_transport_adversarial(C, rel_reg, sparse):
    # a point cloud as a cost matrix: extreme magnitudes, negative entries, ties, layouts
    s = power_of_two_scale(np.asarray(C, dtype=float))
    U = np.asarray(C, dtype=float) / s  # exact
    reg = None if rel_reg is None else rel_reg * s
    cost = sp.coo_array(C) if sparse and reg is None else C  # (zeros are not stored)
    n, m = U.shape
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)

    def check(res):
        assert isinstance(res, TransportResult)
        k = math.log2(s)
        if reg is None:
            ref = ot.emd2(a, b, sp.coo_array(U) if sparse else U)
            close_scaled(res.cost, ref, k, 1e-9, "solve_transport")
        elif res.converged:  # OT_0 <= OT_eps <= OT_0 + eps log(min(n, m))
            lo = ot.emd2(a, b, U)
            hi = lo + rel_reg * math.log(min(n, m))
            assert times_pow2(lo - 1e-9, k) <= res.cost <= times_pow2(hi + 1e-9, k)
        if res.converged:  # strong duality, at unit scale
            fu, gu = times_pow2(res.dual_a, -k), times_pow2(res.dual_b, -k)
            assert abs(a @ fu + b @ gu - float(times_pow2(res.cost, -k))) <= 1e-7

    check_call(SUB, solve_transport, cost, reg=reg, names=("cost", "reg"), check=check)


@settings(max_examples=examples(40, 800))
@given(st.one_of(bad_arrays((5, 3)), st.sampled_from([[[]], [[1.0, np.nan]]])))
def test_solve_transport_refuses_bad_costs(bad):
    check_call(SUB, solve_transport, bad, names=("cost",))
    if isinstance(bad, np.ndarray) and bad.ndim == 2 and bad.size and bad.dtype.kind in "fc":
        check_call(SUB, solve_transport, sp.coo_array(bad), names=("cost",))


@settings(max_examples=examples(40, 800))
@given(st.sampled_from(["a", "b", "reg", "max_iter", "tol"]),
       st.one_of(bad_scalars(), bad_arrays((5,))))
def test_solve_transport_bad_hyperparameters(param, value):
    check_call(SUB, solve_transport, GOOD, **{param: value}, names=(param,))


@covers("gaussian_map", "GaussianMap")
@settings(max_examples=examples(20, 400))
@given(st.integers(1, 4), st.sampled_from(MAGNITUDES), st.sampled_from(MAGNITUDES),
       st.sampled_from(MAGNITUDES), st.integers(0, 2**32 - 1))
def test_gaussian_map_adversarial(d, s_mean, s1, s2, seed):
    rng = np.random.default_rng(seed)
    m1, m2 = rng.normal(size=d) * s_mean, rng.normal(size=d) * s_mean
    S1, S2 = random_spd(rng, d, cond=30.0), random_spd(rng, d, cond=30.0)

    def check(T):
        assert isinstance(T, GaussianMap)
        B = T.linear * (math.sqrt(s1) / math.sqrt(s2))  # the map between the unit covariances
        rel_close(B @ S1 @ B.T, S2, 1e-9)
        check_call(SUB, T.apply, m1, names=("X",))

    check_call(SUB, gaussian_map, m1, S1 * s1, m2, S2 * s2,
               names=("mean1", "mean2", "cov1", "cov2"), check=check)


@covers("empirical_gaussian_map")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds, st.sampled_from([0.0, 1e-6, 1.0]))
def test_empirical_gaussian_map_adversarial(pair, reg):
    X, Y = pair
    Y = same_dim(X, Y)

    def check(T):
        assert isinstance(T, GaussianMap)
        np.testing.assert_array_equal(T.linear, T.linear.T)

    check_call(SUB, empirical_gaussian_map, X, Y, reg=reg, names=("X", "Y", "reg"), check=check)


@settings(max_examples=examples(30, 600))
@given(bad_arrays((5, 2)), st.sampled_from(["X", "a", "reg", "apply"]))
def test_gaussian_maps_refuse_bad_input(bad, where):
    if where == "apply":
        T = gaussian_map(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
        check_call(SUB, T.apply, bad, names=("X",))
    elif where == "X":
        check_call(SUB, empirical_gaussian_map, bad, GOOD[:, :2], names=("X",))
    else:
        value = bad[:, 0] if isinstance(bad, np.ndarray) and bad.ndim == 2 else bad
        check_call(SUB, empirical_gaussian_map, GOOD[:, :2], GOOD[:, :2] + 1.0,
                   **{where: value}, names=(where,))


@covers("fixed_support_barycenter", "Barycenter")
@settings(max_examples=examples(20, 400))
@given(st.integers(1, 6), st.integers(1, 3), st.sampled_from(MAGNITUDES),
       st.sampled_from([None, 1e-1, 1.0]), st.integers(0, 2**32 - 1))
def test_fixed_support_barycenter_adversarial(n, N, s, rel_reg, seed):
    rng = np.random.default_rng(seed)
    H = rng.random((N, n)) * (rng.random((N, n)) < 0.7)  # zero bins
    H[:, 0] += 1e-3
    H /= H.sum(axis=1, keepdims=True)
    pts = rng.integers(-2, 3, size=(n, 1)).astype(float)  # ties and duplicate bins
    U = (pts - pts.T) ** 2 - 0.5
    reg = None if rel_reg is None else rel_reg * s

    def check(bary):
        assert isinstance(bary, Barycenter) and bary.support is None
        assert (bary.weights >= 0).all() and abs(bary.weights.sum() - 1) < 1e-9
        ref = np.mean(np.atleast_1d(ot.emd2(bary.weights, H.T.copy(), U)))
        close_scaled(bary.cost, ref, math.log2(s), 1e-7, "fixed_support_barycenter")

    check_call(SUB, fixed_support_barycenter, H, U * s, reg=reg, names=("cost", "reg"),
               check=check)


@covers("free_support_barycenter")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds)
def test_free_support_barycenter_adversarial(pair):
    X, Y = pair
    Y = same_dim(X, Y)

    def check(bary):
        assert isinstance(bary, Barycenter) and bary.support.shape == np.shape(X)
        # every iterate is a convex combination of the clouds' points
        pts = np.vstack([np.asarray(X, float), np.asarray(Y, float)])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        slack = 1e-9 * np.maximum(np.abs(lo), np.abs(hi))
        assert (bary.support >= lo - slack).all() and (bary.support <= hi + slack).all()
        assert bary.cost >= 0.0

    check_call(SUB, free_support_barycenter, [X, Y], names=("clouds",), check=check)


@settings(max_examples=examples(40, 800))
@given(st.sampled_from(["histograms", "cost", "weights", "reg", "tol", "max_iter", "clouds",
                        "a", "init", "init_weights"]),
       st.one_of(bad_arrays((2, 3)), bad_scalars()))
def test_barycenters_refuse_bad_input(where, bad):
    H, C = np.array([[1.0, 0, 0], [0, 0, 1.0]]), (np.arange(3.0)[:, None] - np.arange(3.0)) ** 2
    if where in ("histograms", "cost", "weights", "reg", "tol", "max_iter"):
        kw = {"histograms": H, "cost": C, where: bad}
        check_call(SUB, fixed_support_barycenter, kw.pop("histograms"), kw.pop("cost"), **kw,
                   names=(where,))
    elif where == "clouds":
        check_call(SUB, free_support_barycenter, [GOOD, bad], names=("clouds",))
        check_call(SUB, free_support_barycenter, bad, names=("clouds",))
    else:
        value = [bad, None] if where == "a" else bad
        check_call(SUB, free_support_barycenter, [GOOD, GOOD + 1.0], **{where: value},
                   names=(where,))


# --- SPD --------------------------------------------------------------------


@st.composite
def spd_cases(draw, batch=False):
    n = draw(st.integers(1, 4))
    # condition numbers up to 1e3 each: P^{-1} Q then has one up to 1e6, and its smallest
    # eigenvalue (whose logarithm the distances use) is determined to about 1e-10 by
    # the float64 data; beyond that the problem itself is ill-conditioned
    cond = draw(st.sampled_from([1.0, 10.0, 1e3]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (draw(st.integers(1, 3)),) if batch else ()
    P = random_spd(rng, n, shape, cond=cond)
    Q = random_spd(rng, n, shape, cond=cond)
    return P, Q, draw(st.sampled_from(MAGNITUDES))


def bad_matrices(n=3):
    sym = random_spd(np.random.default_rng(5), n)
    nonsym = sym + np.triu(np.ones((n, n)), 1)
    cases = [
        np.diag([1.0] + [0.0] * (n - 1)),  # singular
        np.diag([1.0] + [-1e-3] * (n - 1)),  # indefinite
        np.diag([1.0] + [1e-18] * (n - 1)),  # numerically singular
        np.zeros((n, n)),
        nonsym,
        np.ones((n, n + 1)),
        np.eye(n)[None][:0],  # empty batch
        np.eye(n).astype(np.float16),
        np.eye(n).astype(bool),
        np.eye(n, dtype=int),
        sym.tolist(),
        np.asfortranarray(sym),
        np.repeat(sym, 2, axis=0)[::2],
    ]
    return st.one_of(st.sampled_from(cases), bad_arrays((n, n)))


SPD_FUNCTIONS = {
    "spd_distance": lambda P, Q, metric: spd_distance(P, Q, metric=metric),
    "spd_log": lambda P, Q, metric: spd_log(P, Q, metric=metric),
    "spd_geodesic": lambda P, Q, metric: spd_geodesic(P, Q, 0.3, metric=metric),
    "spd_exp": lambda P, Q, metric: spd_exp(P, Q, metric=metric),  # P as V, Q as base
    "stein_divergence": lambda P, Q, metric: stein_divergence(P, Q),
    "von_neumann_divergence": lambda P, Q, metric: von_neumann_divergence(P, Q),
    "spd_mean": lambda P, Q, metric: spd_mean(
        np.stack([A, B]) if P is A else P, metric=metric, init=None if Q is A else Q
    ),
    "spd_inner": lambda P, Q, metric: spd_inner(P, V, Q, metric=metric),  # P as U, Q as base
    "spd_transport": lambda P, Q, metric: spd_transport(  # P as V, Q as base
        P, Q, B, metric="affine" if metric == "bures" else metric
    ),
    "spd_to_tangent": lambda P, Q, metric: spd_to_tangent(P, Q, metric=metric),
}


@covers(*SPD_FUNCTIONS)
@settings(max_examples=examples(40, 800))
@given(st.sampled_from(sorted(SPD_FUNCTIONS)), st.sampled_from(METRICS), bad_matrices(),
       st.booleans())
def test_spd_bad_matrices(name, metric, bad, first):
    args = (bad, A) if first else (A, bad)
    check_call(SUB, SPD_FUNCTIONS[name], *args, metric,
               names=("P", "Q", "base", "V", "init", "U"))


@covers("spd_distance", "stein_divergence", "von_neumann_divergence")
@settings(max_examples=examples(30, 600))
@given(spd_cases(batch=True), st.sampled_from(METRICS))
def test_spd_distances_against_pyriemann(case, metric):
    P, Q, s = case

    def check_distance(d):
        ref = PR_DISTANCE[metric](P, Q)
        factor = math.sqrt(s) if metric == "bures" else 1.0
        # pyRiemann's Bures distance comes from the trace formula, which cancels to
        # about sqrt(eps * tr P) near P = Q (ours does not)
        rel_close(np.asarray(d) / factor, ref, 1e-6, 1e-6 if metric == "bures" else 1e-9)

    check_call(SUB, spd_distance, P * s, Q * s, metric=metric, names=("P", "Q"),
               check=check_distance)

    def check_stein(v):
        ref = pr_distance.distance_logdet(P, Q) ** 2
        rel_close(v, ref, 1e-6, 1e-9)

    check_call(SUB, stein_divergence, P * s, Q * s, names=("P", "Q"), check=check_stein)

    def check_vn(v):
        ref = [
            np.trace(p @ (sl.logm(p) - sl.logm(q)).real - p + q) for p, q in zip(P, Q, strict=True)
        ]
        rel_close(np.asarray(v) / s, ref, 1e-5, 1e-10)
        assert (np.asarray(v) >= 0).all()

    check_call(SUB, von_neumann_divergence, P * s, Q * s, names=("P", "Q"), check=check_vn)


@covers("spd_log", "spd_exp", "spd_geodesic", "spd_mean")
@settings(max_examples=examples(20, 400))
@given(spd_cases(), st.sampled_from(METRICS), st.sampled_from([0.0, 0.3, 1.0, 2.0, -1.0]))
def test_spd_maps_against_pyriemann(case, metric, t):
    P, Q, s = case
    P, Q = 0.5 * (P + P.T), 0.5 * (Q + Q.T)

    def check_geodesic(G):
        ref = PR_GEODESIC[metric](P, Q, t)
        rel_close(G / s, ref, 1e-5)

    check_call(SUB, spd_geodesic, P * s, Q * s, t, metric=metric, names=("t", "P", "Q"),
               check=check_geodesic)

    def check_log(V):
        # Exp_Q(Log_Q(P)) = P, and |Log_Q(P)|_Q = d(P, Q): checked at unit scale
        back = spd_exp(V / s, Q, metric=metric)
        rel_close(back, P, 1e-5)

    check_call(SUB, spd_log, P * s, Q * s, metric=metric, names=("P", "base"), check=check_log)

    def check_mean(res):
        assert isinstance(res, SPDMean)
        if res.converged:
            rel_close(res.mean / s, PR_MEAN[metric](np.stack([P, Q])), 1e-5)

    check_call(SUB, spd_mean, np.stack([P, Q]) * s, metric=metric, names=("P",),
               check=check_mean)


@covers("spd_geodesic", "spd_mean", "spd_exp")
@settings(max_examples=examples(30, 600))
@given(st.sampled_from(["t", "tol", "max_iter", "weights", "init", "metric", "power", "squared"]),
       bad_scalars())
def test_spd_bad_hyperparameters(which, value):
    if which == "t":
        check_call(SUB, spd_geodesic, A, B, value, names=("t",))
        check_call(SUB, spd_geodesic, A, B, value, metric="euclidean", names=("t",))
    elif which == "metric":
        check_call(SUB, spd_distance, A, B, metric=value, names=("metric",))
        check_call(SUB, spd_exp, V, B, metric=value, names=("metric",))
        check_call(SUB, spd_transport, V, A, B, metric=value, names=("metric",))
        check_call(SUB, spd_inner, V, V, B, metric=value, names=("metric",))
    elif which == "power":
        check_call(SUB, spd_distance, A, B, metric="power", power=value, names=("power",))
        check_call(SUB, spd_mean, np.stack([A, B]), metric="power", power=value,
                   names=("power",))
        check_call(SUB, spd_to_tangent, A, B, metric="power", power=value, names=("power",))
    elif which == "squared":
        check_call(SUB, spd_distance, A, B, squared=value, names=("squared",))
    else:
        check_call(SUB, spd_mean, np.stack([A, B]), **{which: value}, names=(which,))


#: the metrics added in issue 19 with pyRiemann's distance and mean for them
NEW_METRICS = {
    ("log_cholesky", None): (pr_distance.distance_logchol, pr_mean.mean_logchol),
    ("power", 0.5): (lambda P, Q: pr_distance.distance_poweuclid(P, Q, 0.5),
                     lambda P: pr_mean.mean_poweuclid(P, 0.5)),
    ("power", -1.0): (lambda P, Q: pr_distance.distance_poweuclid(P, Q, -1.0),
                      pr_mean.mean_harmonic),
    ("euclidean", None): (pr_distance.distance_euclid, pr_mean.mean_euclid),
}


def _scaled_reference_distance(P, Q, s, metric, power, ref):
    """The distance of (P s, Q s) from pyRiemann's at unit scale and the exact scaling law."""
    if metric == "log_cholesky":
        low = np.tril(np.linalg.cholesky(P) - np.linalg.cholesky(Q), -1)
        diag2 = ref(P, Q) ** 2 - np.einsum("...ij,...ij->...", low, low)
        return np.sqrt(s * np.einsum("...ij,...ij->...", low, low) + diag2)
    return ref(P, Q) * s ** (1.0 if metric == "euclidean" else power)


@covers("spd_distance", "spd_mean", "spd_to_tangent", "spd_from_tangent")
@settings(max_examples=examples(20, 400))
@given(spd_cases(batch=True), st.sampled_from(sorted(NEW_METRICS, key=str)))
def test_spd_new_metrics_against_pyriemann(case, mp):
    P, Q, s = case
    P, Q = 0.5 * (P + np.swapaxes(P, -1, -2)), 0.5 * (Q + np.swapaxes(Q, -1, -2))
    metric, power = mp
    ref_d, ref_mean = NEW_METRICS[mp]
    kw = {} if power is None else {"power": power}

    def check_distance(d):
        if s in (1e-300, 1e300) and metric != "log_cholesky":
            return  # the reference's scale factor itself leaves float64 for some powers
        ref = _scaled_reference_distance(P, Q, s, metric, power, ref_d)
        # absolute floor: the references' own rounding when P is close to Q
        rel_close(d, ref, 1e-7, 1e-9 * _scaled_reference_distance(P, P + np.eye(P.shape[-1]),
                                                                  s, metric, power, ref_d).max())

    check_call(SUB, spd_distance, P * s, Q * s, metric=metric, names=("P", "Q"),
               check=check_distance, **kw)

    def check_mean(res):
        assert isinstance(res, SPDMean) and np.all(res.converged)
        rel_close(res.mean[0] / s, ref_mean(np.stack([P[0], Q[0]])), 1e-6)

    check_call(SUB, spd_mean, np.stack([P, Q], axis=1) * s, metric=metric, names=("P",),
               check=check_mean, **kw)

    def check_tangent(T):
        # isometric coordinates: |T| = d(P, Q), and spd_from_tangent inverts them
        d = spd_distance(P * s, Q * s, metric=metric, **kw)
        top = max(float(np.abs(T).max(initial=0.0)), 1e-300)  # np.linalg.norm underflows
        unit = spd_distance(P * s, 2 * P * s, metric=metric, **kw)  # the coordinates' scale
        rel_close(np.linalg.norm(T / top, axis=-1) * top, d, 1e-7, 1e-10 * float(np.max(unit)))
        rel_close(spd_from_tangent(T, Q * s, metric=metric, **kw) / s, P, 1e-6)

    check_call(SUB, spd_to_tangent, P * s, Q * s, metric=metric, names=("P", "base"),
               check=check_tangent, **kw)


@covers("spd_from_tangent")
@settings(max_examples=examples(20, 400))
@given(st.one_of(bad_arrays((6,)), st.sampled_from([np.ones(5), np.ones((2, 4)), np.zeros(0)])),
       st.sampled_from([None, A]))
def test_spd_from_tangent_bad_vectors(T, base):
    check_call(SUB, spd_from_tangent, T, base, names=("T", "base"))


# --- covariances and neighbourhoods ----------------------------------------


@covers("covariance")
@settings(max_examples=examples(25, 500))
@given(point_clouds(min_rows=1), st.sampled_from([None, "ledoit_wolf", "oas", 0.3]))
def test_covariance_adversarial(X, shrinkage):
    def check(C):
        (Xu,), e = unit_cloud(X)
        shifted = Xu - Xu[0]  # shift-invariant; identical rows give exactly 0
        ref = np.cov(shifted, rowvar=False, bias=True).reshape(C.shape)
        if shrinkage is not None:
            from sklearn.covariance import ledoit_wolf, oas

            if shrinkage == "ledoit_wolf":
                ref = ledoit_wolf(shifted)[0]
            elif shrinkage == "oas":
                ref = oas(shifted)[0]
            else:
                mu = np.trace(ref) / ref.shape[0]
                ref = 0.7 * ref + 0.3 * mu * np.eye(ref.shape[0])
        close_scaled(C, ref, 2 * e, 1e-9, "covariance")

    check_call(SUB, covariance, X, shrinkage=shrinkage, names=("X",), check=check)


@covers("local_covariances")
@settings(max_examples=examples(20, 400))
@given(point_clouds(min_rows=2), st.integers(1, 4))
def test_local_covariances_adversarial(X, k):
    def check(C):
        (Xu,), e = unit_cloud(X)
        nb = knn_indices(Xu, k=k)
        for i in range(len(X)):
            pts = Xu[np.concatenate([[i], nb[i]])]
            ref = np.cov(pts - pts[0], rowvar=False, bias=True).reshape(C.shape[1:])
            close_scaled(C[i], ref, 2 * e, 1e-9, "local_covariances")

    check_call(SUB, local_covariances, X, k=k, names=("X", "k"), check=check)


@covers("knn_indices")
@settings(max_examples=examples(30, 600))
@given(point_clouds(min_rows=2), st.integers(1, 5))
def test_knn_indices_adversarial(X, k):
    def check(idx):
        n = len(X)
        (Xu,), _ = unit_cloud(X)
        assert idx.shape == (n, k) and not (idx == np.arange(n)[:, None]).any()
        D = hypot_dist(Xu, Xu)
        np.fill_diagonal(D, np.inf)
        for i in range(n):
            order = np.lexsort((np.arange(n), D[i]))[:k]  # (distance, index)
            # equal up to exact ties (hypot and ours may round differently by an ulp)
            np.testing.assert_allclose(D[i, idx[i]], D[i, order], rtol=1e-12, atol=1e-300)
            assert len(set(idx[i])) == k

    check_call(SUB, knn_indices, X, k=k, names=("X", "k"), check=check)


@covers("knn_overlap", "knn_hausdorff", "manifold_diagnostics")
@settings(max_examples=examples(20, 400))
@given(pairs_of_clouds, st.integers(1, 3), st.sampled_from(MAGNITUDES))
def test_neighbourhood_diagnostics_adversarial(pair, k, s):
    X, Y = pair
    n = min(len(X), len(Y))
    X, Y = np.asarray(X)[:n], np.asarray(Y)[:n]

    def check_overlap(v):
        assert 0.0 <= v <= 1.0
        assert v == knn_overlap(X * 0.5, Y * 4.0, k=k)  # scale-free (powers of two: exact)

    check_call(SUB, knn_overlap, X, Y, k=k, names=("X", "Y", "k"), check=check_overlap)

    def check_hausdorff(v):
        assert v >= 0.0
        rel_close(v, knn_hausdorff(X * 0.25, Y * 8.0, k=k), 1e-12)

    check_call(SUB, knn_hausdorff, X, Y, k=k, names=("X", "Y", "k"), check=check_hausdorff)

    def check_diag(res):
        assert isinstance(res, ManifoldDiagnostics)
        assert res.knn_overlap == knn_overlap(X, Y, k=k)

    check_call(SUB, manifold_diagnostics, X, Y, k=k, names=("X", "Y", "k", "bandwidth"),
               check=check_diag)


@covers("median_bandwidth", "mmd2", "mmd2_test", "MMDTest", "modality_gap")
@settings(max_examples=examples(25, 500))
@given(pairs_of_clouds)
def test_distribution_diagnostics_adversarial(pair):
    X, Y = pair
    Y = same_dim(X, Y)
    (Xu, Yu), e = unit_cloud(X, Y)

    def check_median(v):
        # at the original scale where the distances fit, else at unit scale
        Z = np.concatenate([np.asarray(X, float), np.asarray(Y, float)])
        with np.errstate(over="ignore"):
            ref = float(np.median(hypot_dist(Z, Z)[np.triu_indices(len(Z), 1)]))
        if math.isfinite(ref):
            rel_close(v, ref, 1e-7)
            return
        Z = np.concatenate([Xu, Yu])
        ref = float(np.median(hypot_dist(Z, Z)[np.triu_indices(len(Z), 1)]))
        close_scaled(v, ref, e, 1e-7, "median_bandwidth")

    check_call(SUB, median_bandwidth, X, Y, names=("X", "Y"), check=check_median)

    def check_mmd(v, paired=False):
        # at the original scale where the distances fit (hypot neither under- nor
        # overflows), else at unit scale; paired: the partners' cross terms left out
        Z = np.concatenate([np.asarray(X, float), np.asarray(Y, float)])
        with np.errstate(over="ignore"):
            dist = hypot_dist(Z, Z)
        if not np.isfinite(dist).all():
            Z = np.concatenate([Xu, Yu])
            dist = hypot_dist(Z, Z)
        sigma = np.median(dist[np.triu_indices(len(Z), 1)])
        with np.errstate(over="ignore"):
            K = np.exp(-0.5 * (dist / sigma) ** 2)
        n, m = len(Xu), len(Yu)
        kxx = (K[:n, :n].sum() - n) / (n * (n - 1))
        kyy = (K[n:, n:].sum() - m) / (m * (m - 1))
        KXY = K[:n, n:]
        kxy = (KXY.sum() - np.trace(KXY)) / (n * (n - 1)) if paired else KXY.mean()
        assert abs(v - (kxx + kyy - 2 * kxy)) < 1e-6

    check_call(SUB, mmd2, X, Y, names=("X", "Y", "bandwidth"), check=check_mmd)

    def check_mmd_test(res, paired=False):
        # the statistic is mmd2's (paired: without the partners' cross terms); the p-value a
        # multiple of 1/(1 + B) in [1/(1 + B), 1]
        assert isinstance(res, MMDTest) and res.n_permutations == 9
        check_mmd(res.statistic, paired)
        assert res.null_statistics.shape == (9,) and np.isfinite(res.null_statistics).all()
        assert 0.1 <= res.p_value <= 1.0 and abs(res.p_value * 10 - round(res.p_value * 10)) < 1e-9

    check_call(SUB, mmd2_test, X, Y, n_permutations=9, names=("X", "Y", "bandwidth"),
               check=check_mmd_test)
    if len(X) == len(Y):
        check_call(SUB, mmd2_test, X, Y, n_permutations=9, paired=True,
                   names=("X", "Y", "bandwidth"), check=lambda r: check_mmd_test(r, True))

    def check_gap(v):
        rows = [np.asarray(Z, float) / np.abs(np.asarray(Z, float)).max(axis=1, keepdims=True)
                for Z in (X, Y)]
        U = [Z / np.linalg.norm(Z, axis=1, keepdims=True) for Z in rows]
        assert abs(v - np.linalg.norm(U[0].mean(0) - U[1].mean(0))) < 1e-9

    check_call(SUB, modality_gap, X, Y, names=("X", "Y"), check=check_gap)


@covers("local_alignment")
@settings(max_examples=examples(15, 300))
@given(pairs_of_clouds, st.sampled_from(["stein", "affine", "log_euclidean", "bures",
                                         "von_neumann"]))
def test_local_alignment_adversarial(pair, divergence):
    X, Y = pair
    n = min(len(X), len(Y))
    X, Y = np.asarray(X)[:n], same_dim(np.asarray(X)[:n], np.asarray(Y)[:n])
    k = max(1, min(3, n - 1))

    def check(res):
        assert isinstance(res, LocalAlignment) and (res.values >= -1e-12).all()
        same = local_alignment(X, X, k=k, divergence=divergence)
        # zero up to rounding: Bures and von Neumann values scale like the covariances
        with np.errstate(over="ignore"):
            top = np.float64(np.abs(X).max())
            cov_scale = float(top * top) if divergence in ("bures", "von_neumann") else 1.0
        assert np.abs(same.values).max() <= 1e-9 * max(1.0, cov_scale)

    check_call(SUB, local_alignment, X, Y, k=k, divergence=divergence,
               names=("X", "Y", "k", "local covariances"), check=check)


@covers("label_scores")
@settings(max_examples=examples(10, 200))
@given(point_clouds(min_rows=3, max_rows=8), st.sampled_from(["ints", "strs", "mixed", "none",
                                                                "bools", "floats_nan"]))
def test_label_scores_adversarial(X, kind):
    n = len(X)
    base = [i % 2 for i in range(n)]
    labels = {
        "ints": base,
        "strs": [str(v) for v in base],
        "mixed": [v if v else "a" for v in base],
        "none": [None if v else 1 for v in base],
        "bools": [bool(v) for v in base],
        "floats_nan": [float("nan") if v else 1.0 for v in base],
    }[kind]

    def check(res):
        assert isinstance(res, LabelScores) and -1 <= res.silhouette <= 1
        assert 0 <= res.nmi <= 1 + 1e-12

    check_call(SUB, label_scores, X, labels, names=("X", "labels"), check=check)


# --- bad arrays and hyperparameters for every point-cloud function ----------

CLOUD_FUNCTIONS = {
    "cost_matrix": (lambda X, Y, **kw: cost_matrix(X, Y, **kw), ("p",)),
    "exact_transport": (lambda X, Y, **kw: exact_transport(X, Y, **kw), ("p", "max_iter", "a")),
    "entropic_transport": (
        lambda X, Y, **kw: entropic_transport(X, Y, **{"reg": 1.0, **kw}),
        ("reg", "p", "max_iter", "tol", "b"),
    ),
    "sinkhorn_divergence": (
        lambda X, Y, **kw: sinkhorn_divergence(X, Y, **{"reg": 1.0, **kw}),
        ("reg", "tol", "max_iter"),
    ),
    "sliced_transport": (
        lambda X, Y, **kw: sliced_transport(X, Y, **kw),
        ("p", "n_projections", "seed", "directions"),
    ),
    "mmd2": (lambda X, Y, **kw: mmd2(X, Y, **kw), ("bandwidth",)),
    "mmd2_test": (
        lambda X, Y, **kw: mmd2_test(X, Y, **{"n_permutations": 9, **kw}),
        ("bandwidth", "n_permutations", "seed", "paired"),
    ),
    "median_bandwidth": (lambda X, Y, **kw: median_bandwidth(X, Y), ()),
    "modality_gap": (lambda X, Y, **kw: modality_gap(X, Y), ()),
    "knn_overlap": (lambda X, Y, **kw: knn_overlap(X, Y, **{"k": 2, **kw}), ("k",)),
    "knn_hausdorff": (lambda X, Y, **kw: knn_hausdorff(X, Y, **{"k": 2, **kw}), ("k",)),
    "manifold_diagnostics": (
        lambda X, Y, **kw: manifold_diagnostics(X, Y, **{"k": 2, **kw}),
        ("k", "bandwidth", "seed", "labels"),
    ),
    "local_alignment": (
        lambda X, Y, **kw: local_alignment(X, Y, **{"k": 2, **kw}),
        ("k", "divergence", "shrinkage"),
    ),
    "knn_indices": (lambda X, Y, **kw: knn_indices(X, **{"k": 2, **kw}), ("k",)),
    "local_covariances": (
        lambda X, Y, **kw: local_covariances(X, **{"k": 2, **kw}),
        ("k", "shrinkage"),
    ),
    "covariance": (lambda X, Y, **kw: covariance(X, **kw), ("shrinkage",)),
    "label_scores": (lambda X, Y, **kw: label_scores(X, [0, 1, 0, 1, 2], **kw), ("seed",)),
    "gaussian_wasserstein": (
        lambda X, Y, **kw: gaussian_wasserstein(X, np.eye(3), np.zeros(3), np.eye(3)),
        (),
    ),
}
GOOD = np.arange(15, dtype=float).reshape(5, 3) ** 1.5


@covers(*CLOUD_FUNCTIONS)
@settings(max_examples=examples(60, 1200))
@given(st.sampled_from(sorted(CLOUD_FUNCTIONS)), bad_arrays((5, 3)), st.booleans())
def test_point_cloud_functions_refuse_bad_arrays(name, bad, first):
    fn, _ = CLOUD_FUNCTIONS[name]
    args = (bad, GOOD) if first else (GOOD, bad)
    check_call(SUB, fn, *args, names=("X", "Y", "mean1"))


@settings(max_examples=examples(60, 1200))
@given(st.sampled_from(sorted(CLOUD_FUNCTIONS)), st.data())
def test_point_cloud_functions_bad_hyperparameters(name, data):
    fn, params = CLOUD_FUNCTIONS[name]
    if not params:
        return
    param = data.draw(st.sampled_from(params))
    value = data.draw(st.one_of(bad_scalars(), bad_arrays((5,))))
    check_call(SUB, fn, GOOD, GOOD + 1.0, **{param: value}, names=(param,))


def test_regression_sliced_wasserstein_seed_with_directions():
    for seed in (np.array([1, 2]), None, 1, "0", True):
        with pytest.raises(ValueError, match=r"^seed has no effect when directions is given"):
            sliced_transport(XT, YT, directions=[[1.0, 0.0]], seed=seed)
    ref = sliced_transport(XT, YT, directions=[[1.0, 0.0]]).cost
    assert sliced_transport(XT, YT, directions=[[1.0, 0.0]], seed=np.int64(0)).cost == ref


def test_regression_found_by_the_thorough_profile():
    # an all-zero cloud has power-of-two scale 1: the common scale is of both clouds
    assert cost_matrix([[1.25e-171]], [[0.0]], p=1)[0, 0] == 1.25e-171
    rel_close(gaussian_wasserstein([1e-200], [[1.0]], [0.0], [[1.0]]), 1e-200, 1e-15)
    assert gaussian_wasserstein(np.zeros((0, 1)), [[1.0]], [0.0], [[2.0]]).shape == (0,)
    # huge p: the largest cost keeps its place at 1 before the power
    with pytest.raises(ValueError, match=r"overflows float64: the points of X and Y"):
        cost_matrix(XT, YT + 10.0, p=1e300)
    with pytest.raises(ValueError, match=r"overflows float64: the points of X and Y"):
        entropic_transport(XT, YT + 10.0, p=1e300, reg=1.0)
    # S_eps(a, a) = 0 exactly, even where halving costs rounds (subnormal costs)
    assert sinkhorn_divergence(XT * 1e-160, XT * 1e-160, reg=1e-320).cost == 0.0
    # a 0-d array bandwidth is a scalar
    assert mmd2(XD, YD, bandwidth=np.array(1.0)) == mmd2(XD, YD, bandwidth=1.0)
    with pytest.raises(ValueError, match=r"^bandwidth must be > 0"):
        mmd2(XD, YD, bandwidth=np.array(0.0))
    # the mean of local divergences cannot overflow when the values do not
    res = local_alignment(XD * 1e150, YD * 1e150, k=4, divergence="bures")
    rel_close(res.mean, float(np.mean(res.values / 1e300)) * 1e300, 1e-12)


def test_every_public_name_is_covered():
    missing = sorted(set(geo.__all__) - set(COVERED))
    assert not missing, f"no adversarial test covers {missing}"


@pytest.mark.parametrize("dtype", [np.int64, np.int8, bool, np.float16, np.float32, ">f8"])
def test_dtypes_are_converted_not_misread(dtype):
    """Integer, boolean, float16 and byte-swapped input is read as the float64 values it holds."""
    Xi = (np.arange(12).reshape(6, 2) % 3 == 0) if dtype is bool else np.arange(12).reshape(6, 2)
    Xc = np.asarray(Xi, dtype=dtype)
    ref = np.asarray(Xc, dtype=np.float64)
    np.testing.assert_array_equal(cost_matrix(Xc, Xc), cost_matrix(ref, ref))
    np.testing.assert_array_equal(covariance(Xc), covariance(ref))
    np.testing.assert_array_equal(knn_indices(Xc, k=2), knn_indices(ref, k=2))
    M = np.asarray(np.diag([1, 2, 3]), dtype=dtype) if dtype is not bool else np.eye(3, dtype=bool)
    assert spd_distance(M, np.eye(3)) == spd_distance(np.asarray(M, float), np.eye(3))


def test_inputs_are_never_modified():
    """Read-only inputs go through (nothing writes to them); results never alias them."""
    def frozen(a):
        a = np.array(a, dtype=float)
        a.flags.writeable = False
        return a

    P, Q, X, Y = frozen(A), frozen(B), frozen(XD), frozen(YD)
    outs = [
        spd_log(P, Q), spd_exp(P, Q), spd_geodesic(P, Q, 0.0), spd_mean(np.stack([P, Q])).mean,
        spd_distance(P, Q), stein_divergence(P, Q), von_neumann_divergence(P, Q),
        covariance(X), local_covariances(X, k=3), cost_matrix(X, Y), knn_indices(X, k=3),
        exact_transport(X, Y, return_plan=True).plan,
        entropic_transport(X, Y, reg=1.0, return_plan=True).plan,
    ]
    for out in outs:
        for inp in (P, Q, X, Y):
            assert not np.shares_memory(np.asarray(out), inp)
    np.testing.assert_array_equal(P, A)
    np.testing.assert_array_equal(X, XD)


def test_lists_tensors_and_layouts():
    """Lists are accepted like arrays; torch tensors are refused naming the argument."""
    rel_close(cost_matrix(GOOD.tolist(), (GOOD + 1).tolist()), cost_matrix(GOOD, GOOD + 1))
    rel_close(spd_distance(A.tolist(), B.tolist()), spd_distance(A, B))
    ro = GOOD.copy()
    ro.flags.writeable = False
    knn_indices(ro, k=2)
    assert ro.flags.writeable is False
    torch = pytest.importorskip("torch")
    for call, name in (
        (lambda: cost_matrix(torch.tensor(GOOD), GOOD), "X"),
        (lambda: spd_distance(A, torch.tensor(B)), "Q"),
        (lambda: knn_indices(torch.tensor(GOOD), k=2), "X"),
    ):
        with pytest.raises(TypeError, match=rf"^{name} must be a NumPy array; got a torch"):
            call()
