"""Optimal transport wrappers: against POT called directly, assignment, and closed forms.

POT is the solver; what is checked here is everything around it: the cost
matrix, weights (uniform, zero, refused), the cost conventions (W_p^p, the
entropic term, SW_p^p), the diagnostics, and the theorems that tie the
solvers together (Sinkhorn → exact as ε → 0, sliced ≤ exact, the Brenier map
between Gaussians is the optimal matching).
"""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
from _geometry_helpers import make_rng, random_spd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from sheaftopo.geometry import (
    TransportResult,
    cost_matrix,
    entropic_transport,
    exact_transport,
    gaussian_wasserstein,
    sinkhorn_divergence,
    sliced_transport,
    spd_distance,
)


def simplex(rng, n):
    w = rng.random(n) + 0.05
    return w / w.sum()


def entropy(w):
    w = w[w > 0]
    return float(-(w * np.log(w)).sum())


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_cost_matrix_matches_cdist(p):
    rng = make_rng(1)
    X, Y = rng.normal(size=(20, 4)) + 100.0, rng.normal(size=(15, 4)) + 100.0
    ref = cdist(X, Y) ** p
    assert np.allclose(cost_matrix(X, Y, p=p), ref, rtol=1e-9, atol=0)


def test_exact_matches_assignment_and_pot():
    rng = make_rng(2)
    for n, d, p in [(12, 2, 2.0), (20, 5, 1.0), (7, 3, 3.0)]:
        X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        C = cdist(X, Y) ** p
        r, c = linear_sum_assignment(C)
        res = exact_transport(X, Y, p=p, return_plan=True)
        assert isinstance(res, TransportResult)
        assert res.cost == pytest.approx(C[r, c].sum() / n, rel=1e-12)
        assert res.linear_cost == res.cost and res.converged and res.message == "optimal"
        assert res.n_iter is None and res.marginal_error < 1e-14
        perm = np.zeros((n, n))
        perm[r, c] = 1.0 / n
        assert np.allclose(res.plan, perm, atol=1e-15)
        a, b = simplex(rng, n), simplex(rng, n + 3)
        Y2 = rng.normal(size=(n + 3, d))
        got = exact_transport(X, Y2, a=a, b=b, p=p)
        ref = ot.emd2(a, b, cdist(X, Y2) ** p)
        assert got.cost == pytest.approx(ref, rel=1e-12)
        assert got.plan is None


def test_exact_plan_marginals_and_zero_weights():
    rng = make_rng(3)
    X, Y = rng.normal(size=(10, 2)), rng.normal(size=(8, 2))
    a, b = simplex(rng, 10), simplex(rng, 8)
    a[[2, 5]] = 0.0
    a /= a.sum()
    b[0] = 0.0
    b /= b.sum()
    res = exact_transport(X, Y, a=a, b=b, return_plan=True)
    P = res.plan
    assert P.shape == (10, 8) and (P >= 0).all()
    assert np.allclose(P.sum(1), a, atol=1e-15) and np.allclose(P.sum(0), b, atol=1e-15)
    assert not P[[2, 5]].any() and not P[:, 0].any()
    keep_a, keep_b = a > 0, b > 0
    sub = exact_transport(X[keep_a], Y[keep_b], a=a[keep_a], b=b[keep_b])
    assert res.cost == pytest.approx(sub.cost, rel=1e-13)


def test_exact_scales_exactly_with_tiny_and_huge_data():
    rng = make_rng(4)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    base = exact_transport(X, Y).cost
    for s in (1e-9, 1e9):
        assert exact_transport(s * X, s * Y).cost == pytest.approx(s**2 * base, rel=1e-10)


def test_exact_reports_an_iteration_limit():
    rng = make_rng(5)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    res = exact_transport(X, Y, max_iter=3, return_plan=True)
    assert not res.converged and "numItermax" in res.message
    assert res.marginal_error > 0.1  # POT's partial plan is not even feasible
    assert exact_transport(X, Y).converged


def test_entropic_matches_pot_and_its_own_definition():
    rng = make_rng(6)
    X, Y = rng.normal(size=(25, 3)), rng.normal(size=(30, 3)) + 0.5
    a, b = simplex(rng, 25), simplex(rng, 30)
    M = cdist(X, Y, "sqeuclidean")
    for reg in (0.1, 1.0, 10.0):
        res = entropic_transport(X, Y, reg=reg, a=a, b=b, return_plan=True)
        assert res.converged and res.n_iter >= 1 and res.marginal_error < 1e-8
        P_ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", stopThr=1e-9, numItermax=10_000)
        assert np.allclose(res.plan, P_ref, rtol=0, atol=1e-13)
        lin = ot.sinkhorn2(a, b, M, reg, method="sinkhorn_log", stopThr=1e-9, numItermax=10_000)
        assert res.linear_cost == pytest.approx(float(lin), rel=1e-10)
        P = res.plan
        kl = float((P * np.log(P / np.outer(a, b))).sum() - P.sum() + 1.0)
        assert res.cost == pytest.approx(float((P * M).sum()) + reg * kl, rel=1e-10)


def test_entropic_cost_tends_to_exact_within_the_entropy_bound():
    rng = make_rng(7)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(15, 2)) + 1.0
    a, b = simplex(rng, 20), simplex(rng, 15)
    exact = exact_transport(X, Y, a=a, b=b).cost
    bound = min(entropy(a), entropy(b))
    previous = math.inf
    for reg in (4.0, 1.0, 0.25, 0.06):
        res = entropic_transport(X, Y, reg=reg, a=a, b=b, max_iter=200_000)
        assert res.converged
        gap = res.cost - exact
        assert -1e-9 <= gap <= reg * bound * (1 + 1e-9)
        assert res.linear_cost >= exact - 1e-9 and res.linear_cost <= res.cost + 1e-12
        assert res.cost <= previous  # OT_eps is non-decreasing in eps
        previous = res.cost


def test_entropic_reports_non_convergence():
    rng = make_rng(8)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2))
    res = entropic_transport(X, Y, reg=1e-3, max_iter=5)
    assert not res.converged and res.n_iter == 5 and "max_iter" in res.message
    assert np.isfinite(res.cost) and res.marginal_error > 1e-9


def pot_entropic_cost(X, a, reg, max_iter=20_000):
    """OT_reg(a, a) from POT's alternating log-domain Sinkhorn plan, evaluated by its definition."""
    M = cdist(X, X, "sqeuclidean")
    P = ot.sinkhorn(
        a, a, M, reg, method="sinkhorn_log", stopThr=1e-10, numItermax=max_iter, warn=False
    )
    Q = np.outer(a, a)
    pos = P > 0
    kl = float((P[pos] * np.log(P[pos] / Q[pos])).sum() - P.sum() + 1.0)
    return float((P * M).sum()) + reg * kl


def test_symmetric_problems_use_the_symmetric_iteration():
    rng = make_rng(17)
    X = rng.normal(size=(25, 2))
    a = simplex(rng, 25)
    for reg in (1.0, 3.0):  # where POT's alternating iterations converge on this problem
        res = entropic_transport(X, X, reg=reg, a=a, b=a, return_plan=True, tol=1e-12)
        assert res.converged and res.n_iter < 200
        assert res.cost == pytest.approx(pot_entropic_cost(X, a, reg), rel=1e-10)
        assert np.allclose(res.plan, res.plan.T, atol=1e-15)
        assert np.allclose(res.plan.sum(axis=0), a, atol=1e-11)
    # at small reg the symmetric iteration converges where alternating Sinkhorn crawls
    fast = entropic_transport(X, X, reg=0.01, a=a, b=a, tol=1e-12)
    assert fast.converged and fast.n_iter < 200
    Y = X.copy()
    Y[0, 0] += 1e-12  # not the same measure: POT's alternating solver, which stalls here,
    # then Newton steps on the semi-dual (reg-scaling), which converge
    cross = entropic_transport(X, Y, reg=0.01, a=a, b=a, tol=1e-12, max_iter=2_000)
    assert cross.converged and cross.n_iter > 1000
    assert cross.cost == pytest.approx(fast.cost, rel=1e-9)
    stalled = entropic_transport(X, Y, reg=0.01, a=a, b=a, tol=1e-12, max_iter=1_000)
    assert not stalled.converged and "max_iter" in stalled.message


def test_entropic_converges_at_small_reg():
    """Regression (issue 15): reg = 3e-3 diam^2 on 7 points, where 20,000 (and 100,000)
    alternating Sinkhorn iterations do not converge; the Newton steps do, to the value
    of an independent solver (the averaged symmetric iteration at X = Y is not used here)."""
    rng = make_rng(15)
    for _ in range(4):
        X, Y = rng.normal(size=(7, 2)), rng.normal(size=(7, 2)) + 0.5
        reg = 3e-3 * float(np.ptp(np.vstack([X, Y]), axis=0).max()) ** 2
        res = entropic_transport(X, Y, reg=reg, tol=1e-11, max_iter=100_000, return_plan=True)
        assert res.converged and res.n_iter < 1_500
        assert res.marginal_error < 1e-10
        # at a converged plan the cost equals its primal value <P, C> + reg KL(P | a x b)
        a = np.full(7, 1 / 7)
        M = cdist(X, Y, "sqeuclidean")
        P = res.plan
        kl = float((P[P > 0] * np.log(P[P > 0] / np.outer(a, a)[P > 0])).sum() - P.sum() + 1.0)
        assert res.cost == pytest.approx(float((P * M).sum()) + reg * kl, rel=1e-9)
        assert res.cost >= exact_transport(X, Y).cost


def test_sinkhorn_divergence_properties():
    rng = make_rng(9)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.3
    a, b = simplex(rng, 30), simplex(rng, 25)
    for reg in (0.05, 0.5, 5.0):
        S = sinkhorn_divergence(X, Y, reg=reg, a=a, b=b)
        assert S.converged and S.cost > 0
        assert sinkhorn_divergence(Y, X, reg=reg, a=b, b=a).cost == pytest.approx(S.cost, rel=1e-9)
        same = sinkhorn_divergence(X, X, reg=reg, a=a, b=a, return_plan=True)
        assert same.cost == 0.0 and same.converged
        assert np.allclose(same.plan.sum(axis=1), a, atol=1e-9)
    for reg in (0.5, 5.0):  # POT's alternating iterations on X vs X are slow but get there
        S = sinkhorn_divergence(X, Y, reg=reg, a=a, b=b)
        xy = entropic_transport(X, Y, reg=reg, a=a, b=b).cost
        xx = pot_entropic_cost(X, a, reg)
        yy = pot_entropic_cost(Y, b, reg)
        assert S.cost == pytest.approx(xy - 0.5 * (xx + yy), rel=1e-7)
        near = sinkhorn_divergence(X, X + 1e-3, reg=reg, a=a, b=a)
        assert near.converged and 0 < near.cost < 1e-5
    # S_eps -> W_2^2 as eps -> 0
    W = exact_transport(X, Y, a=a, b=b).cost
    small = sinkhorn_divergence(X, Y, reg=0.01, a=a, b=b, max_iter=100_000)
    assert small.converged and abs(small.cost - W) < 0.05 * W


def test_sinkhorn_divergence_sharp_variant_matches_pot():
    rng = make_rng(10)
    X, Y = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 1.0
    reg = 1.0
    S = sinkhorn_divergence(X, Y, reg=reg, tol=1e-12, max_iter=100_000)
    ref = ot.bregman.empirical_sinkhorn_divergence(
        X, Y, reg, method="sinkhorn_log", stopThr=1e-12, numIterMax=100_000
    )
    assert S.linear_cost == pytest.approx(float(ref), rel=1e-9)


def test_sinkhorn_divergence_plan_and_zero_weights():
    rng = make_rng(11)
    X, Y = rng.normal(size=(12, 2)), rng.normal(size=(10, 2))
    a = simplex(rng, 12)
    a[3] = 0.0
    a /= a.sum()
    S = sinkhorn_divergence(X, Y, reg=0.5, a=a, return_plan=True)
    assert S.plan.shape == (12, 10) and not S.plan[3].any()
    keep = a > 0
    sub = sinkhorn_divergence(X[keep], Y, reg=0.5, a=a[keep])
    assert S.cost == pytest.approx(sub.cost, rel=1e-10)


def test_sliced_matches_pot_and_is_reproducible():
    rng = make_rng(12)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(30, 5)) + 0.2
    a, b = simplex(rng, 40), simplex(rng, 30)
    D = rng.normal(size=(17, 5))
    for p in (1.0, 2.0, 3.0):
        res = sliced_transport(X, Y, a=a, b=b, p=p, directions=D)
        proj = (D / np.linalg.norm(D, axis=1, keepdims=True)).T
        ref = ot.sliced_wasserstein_distance(X, Y, a, b, p=p, projections=proj)
        assert res.cost ** (1 / p) == pytest.approx(float(ref), rel=1e-12)
        assert res.plan is None and res.converged and res.n_iter is None
    s1 = sliced_transport(X, Y, seed=3).cost
    assert sliced_transport(X, Y, seed=3).cost == s1
    assert sliced_transport(X, Y, seed=4).cost != s1
    g = np.random.default_rng(0)
    assert sliced_transport(X, Y, seed=g).cost != sliced_transport(X, Y, seed=g).cost
    assert sliced_transport(X, Y, directions=3 * D).cost == pytest.approx(
        sliced_transport(X, Y, directions=D).cost, rel=1e-13
    )


def test_sliced_never_exceeds_exact_and_is_exact_in_one_dimension():
    rng = make_rng(13)
    for _ in range(10):
        X, Y = rng.normal(size=(15, 3)), rng.normal(size=(20, 3)) * 2
        for p in (1.0, 2.0):
            assert sliced_transport(X, Y, p=p, n_projections=30, seed=1).cost <= exact_transport(
                X, Y, p=p
            ).cost * (1 + 1e-12)
    x, y = rng.normal(size=(9, 1)), rng.normal(size=(13, 1))
    a, b = simplex(rng, 9), simplex(rng, 13)
    for p in (1.0, 2.0, 3.0):
        assert sliced_transport(x, y, a=a, b=b, p=p).cost == pytest.approx(
            exact_transport(x, y, a=a, b=b, p=p).cost, rel=1e-10
        )


def test_gaussian_wasserstein_matches_pot_and_closed_forms():
    rng = make_rng(14)
    d = 4
    m1, m2 = rng.normal(size=(6, d)), rng.normal(size=(6, d))
    S1, S2 = random_spd(rng, d, (6,)), random_spd(rng, d, (6,))
    ours = gaussian_wasserstein(m1, S1, m2, S2)
    ref = ot.gaussian.bures_wasserstein_distance(m1, m2, S1, S2, paired=True)  # not squared
    assert np.allclose(ours, ref, rtol=1e-10, atol=0)
    assert np.allclose(
        ours**2, np.sum((m1 - m2) ** 2, 1) + spd_distance(S1, S2, metric="bures") ** 2
    )
    # 1-D: W2^2 = (m1 - m2)^2 + (s1 - s2)^2
    assert float(gaussian_wasserstein([1.0], [[4.0]], [3.0], [[9.0]])) == pytest.approx(
        math.hypot(2.0, 1.0), rel=1e-14
    )
    # commuting covariances: ||S1^{1/2} - S2^{1/2}||_F
    U, _ = np.linalg.qr(rng.normal(size=(d, d)))
    l1, l2 = rng.uniform(0.5, 3, d), rng.uniform(0.5, 3, d)
    C1, C2 = (U * l1) @ U.T, (U * l2) @ U.T
    assert float(gaussian_wasserstein(np.zeros(d), C1, np.zeros(d), C2)) == pytest.approx(
        np.linalg.norm(np.sqrt(l1) - np.sqrt(l2)), rel=1e-12
    )
    # broadcasting: one Gaussian against a batch
    assert gaussian_wasserstein(m1[0], S1[0], m2, S2).shape == (6,)


def test_brenier_map_between_gaussians_is_the_optimal_matching():
    """x -> m2 + T(x - m1), T = S1^-1/2 (S1^1/2 S2 S1^1/2)^1/2 S1^-1/2, is the gradient of a
    convex function, so on any sample it is the optimal discrete matching, and
    E||x - T x||^2 = W2^2 of the Gaussians."""
    rng = make_rng(15)
    d = 3
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    S1, S2 = random_spd(rng, d, cond=20.0), random_spd(rng, d, cond=20.0)
    lam, U = np.linalg.eigh(S1)
    r1 = (U * np.sqrt(lam)) @ U.T
    r1i = (U / np.sqrt(lam)) @ U.T
    mu, V = np.linalg.eigh(r1 @ S2 @ r1)
    T = r1i @ ((V * np.sqrt(mu)) @ V.T) @ r1i
    W2 = float(gaussian_wasserstein(m1, S1, m2, S2))
    assert np.trace((np.eye(d) - T) @ S1 @ (np.eye(d) - T)) + np.sum((m1 - m2) ** 2) == (
        pytest.approx(W2**2, rel=1e-12)
    )
    X = rng.multivariate_normal(m1, S1, size=60)
    Y = m2 + (X - m1) @ T.T
    res = exact_transport(X, Y, return_plan=True)
    assert np.allclose(res.plan, np.eye(60) / 60, atol=1e-15)
    assert res.cost == pytest.approx(np.mean(np.sum((X - Y) ** 2, axis=1)), rel=1e-12)
    big = rng.multivariate_normal(m1, S1, size=200_000)
    sample = np.mean(np.sum((big - (m2 + (big - m1) @ T.T)) ** 2, axis=1))
    assert sample == pytest.approx(W2**2, rel=0.02)


def test_transport_inputs_are_not_modified():
    rng = make_rng(16)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(9, 2))
    a = np.full(8, 1 / 8)
    copies = [X.copy(), Y.copy(), a.copy()]
    exact_transport(X, Y, a=a, return_plan=True)
    entropic_transport(X, Y, a=a, reg=0.5)
    sinkhorn_divergence(X, Y, a=a, reg=0.5)
    sliced_transport(X, Y, a=a)
    for before, after in zip(copies, (X, Y, a), strict=True):
        assert np.array_equal(before, after)


def test_sliced_wasserstein_is_the_deprecated_name_of_sliced_transport():
    import sheaftopo.geometry as geometry

    rng = make_rng(5)
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 0.5
    msg = r"renamed sliced_transport.*removed in sheaftopo 0\.3"
    with pytest.warns(DeprecationWarning, match=msg):
        old = geometry.sliced_wasserstein
    assert old is sliced_transport
    assert "sliced_wasserstein" not in geometry.__all__
    assert old(X, Y, p=1.5, seed=2) == sliced_transport(X, Y, p=1.5, seed=2)
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        geometry.not_a_function  # noqa: B018
