"""The POT wrappers of issue 19, against POT on its own test inputs.

Arbitrary (dense and sparse) cost matrices, dual potentials, ``a=[]`` as
uniform weights (POT's ``test_emd_empty``), barycenters and Gaussian maps.
POT's inputs: ``test_ot.py`` (``test_dual_variables``, ``test_emd_empty``,
``test_lp_barycenter``, ``test_free_support_barycenter``),
``test_bregman.py`` (barycenter of two 1-D Gaussian histograms) and
``test_gaussian.py`` (``make_data_classif("3gauss")`` to ``"3gauss2"``).
"""

from __future__ import annotations

import warnings

import numpy as np
import ot
import pytest
import scipy.sparse as sp
from _geometry_helpers import make_rng
from ot.datasets import make_1D_gauss as gauss
from ot.datasets import make_data_classif

from sheaftopo.geometry import (
    Barycenter,
    GaussianMap,
    TransportResult,
    cost_matrix,
    empirical_gaussian_map,
    entropic_transport,
    exact_transport,
    fixed_support_barycenter,
    free_support_barycenter,
    gaussian_map,
    gaussian_wasserstein,
    sinkhorn_divergence,
    sliced_transport,
    solve_transport,
)


def pot_dual_example():
    """POT's test_dual_variables: two 1-D Gaussian histograms, cost |x - y|."""
    n, m = 500, 600
    x, y = np.arange(n, dtype=float), np.arange(m, dtype=float)
    a, b = gauss(n, m=300, s=5), gauss(m, m=400, s=10)
    return a, b, ot.dist(x[:, None], y[:, None]) ** 0.5


def check_exact_duality(res, a, b, C, atol=1e-9):
    """Strong duality, feasibility and complementary slackness of exact potentials."""
    f, g = res.dual_a, res.dual_b
    scale = float(np.abs(C).max())
    assert a @ f + b @ g == pytest.approx(res.cost, rel=1e-12, abs=atol * scale)
    reduced = C - f[:, None] - g[None, :]
    assert reduced.min() >= -atol * scale
    P = res.plan.toarray() if sp.issparse(res.plan) else res.plan
    assert np.abs(reduced[P > 0]).max() <= atol * scale


def test_dense_cost_and_duals_match_pot_dual_variables_example():
    a, b, M = pot_dual_example()
    res = solve_transport(M, a=a, b=b, return_plan=True)
    _, log = ot.emd(a, b, M, log=True)
    assert isinstance(res, TransportResult) and res.converged
    assert res.cost == pytest.approx(100.0, rel=1e-12)  # |mean1 - mean2|, as POT checks
    assert res.cost == pytest.approx(log["cost"], rel=1e-13)
    # POT's centred potentials wherever the weight is positive (zero-weight bins are free)
    np.testing.assert_allclose(res.dual_a[a > 0], log["u"][a > 0], atol=1e-9)
    np.testing.assert_allclose(res.dual_b[b > 0], log["v"][b > 0], atol=1e-9)
    check_exact_duality(res, a, b, M)


def test_point_cloud_duals_with_zero_weights():
    rng = make_rng(19)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(11, 2)) + 1.0
    a, b = rng.random(8), rng.random(11)
    a[[0, 5]], b[3] = 0.0, 0.0
    a, b = a / a.sum(), b / b.sum()
    for p in (1.0, 2.0):
        res = exact_transport(X, Y, a=a, b=b, p=p, return_plan=True)
        check_exact_duality(res, a, b, cost_matrix(X, Y, p=p))
        same = solve_transport(cost_matrix(X, Y, p=p), a=a, b=b)
        assert same.cost == pytest.approx(res.cost, rel=1e-12)


@pytest.mark.parametrize("reg", [0.2, 1.0, 50.0])
def test_entropic_cost_matrix_and_duals_match_pot(reg):
    rng = make_rng(7)
    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(12, 2))
    a, b = rng.random(9) + 0.1, rng.random(12) + 0.1
    a, b = a / a.sum(), b / b.sum()
    M = ot.dist(X, Y) - 3.0  # negative costs too: the plan is shift-invariant
    res = solve_transport(M, a=a, b=b, reg=reg, return_plan=True, tol=1e-12)
    ref = ot.solve(M, a, b, reg=reg, max_iter=100_000, tol=1e-13)  # reg_type "KL"
    assert res.converged
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-10)
    assert res.cost == pytest.approx(float(ref.value), rel=1e-8, abs=1e-10)
    assert res.linear_cost == pytest.approx(float(ref.value_linear), rel=1e-8, abs=1e-10)
    # f = reg (log_u - log a) up to a constant moved between f and g
    f_pot = reg * (np.asarray(ref.potentials[0]) - np.log(a))
    d = res.dual_a - f_pot
    np.testing.assert_allclose(d, d.mean(), atol=1e-8 * max(reg, 1.0))
    # strong duality of the entropic problem and the plan from the potentials
    assert a @ res.dual_a + b @ res.dual_b == pytest.approx(res.cost, rel=1e-9, abs=1e-10)
    P = np.outer(a, b) * np.exp((res.dual_a[:, None] + res.dual_b[None, :] - M) / reg)
    np.testing.assert_allclose(P, res.plan, atol=1e-12)
    # the same problem through the point-cloud function
    pc = entropic_transport(X, Y, a=a, b=b, reg=reg, tol=1e-12)
    assert pc.cost - 3.0 == pytest.approx(res.cost, rel=1e-8, abs=1e-10)


def test_entropic_duals_of_zero_weight_points_and_divergence():
    rng = make_rng(3)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(7, 2)) + 0.5
    a = np.array([0.3, 0.0, 0.2, 0.1, 0.4, 0.0])
    b = np.full(7, 1 / 7)
    res = entropic_transport(X, Y, a=a, b=b, reg=0.2, return_plan=True, tol=1e-12)
    C = cost_matrix(X, Y)
    # a zero-weight point's potential is the soft-min transform of g
    soft = -0.2 * np.log(np.exp((res.dual_b[None, :] - C) / 0.2) @ b)
    np.testing.assert_allclose(res.dual_a[a == 0], soft[a == 0], rtol=1e-10)
    div = sinkhorn_divergence(X, Y, a=a, b=b, reg=0.2, tol=1e-12)
    assert a @ div.dual_a + b @ div.dual_b == pytest.approx(div.cost, rel=1e-8, abs=1e-12)
    same = sinkhorn_divergence(X, X, reg=0.2)
    assert same.cost == 0.0 and not same.dual_a.any() and not same.dual_b.any()


def test_sparse_cost_follows_pots_sparse_network_simplex():
    a, b, M = pot_dual_example()
    x, y = np.arange(len(a)), np.arange(len(b))
    band = np.abs(x[:, None] + 100 - y[None, :]) <= 40  # the allowed pairs
    rows, cols = np.nonzero(band)
    S = sp.coo_array((M[rows, cols], (rows, cols)), shape=M.shape)
    res = solve_transport(S, a=a, b=b, return_plan=True)
    _, log = ot.emd(a, b, S, log=True)
    assert res.converged and isinstance(res.plan, sp.csr_array)
    assert res.cost == pytest.approx(float(log["cost"]), rel=1e-12)
    assert res.plan.toarray()[~band].max() == 0.0
    f, g = res.dual_a, res.dual_b
    assert a @ f + b @ g == pytest.approx(res.cost, rel=1e-11)  # POT's own gap: 4e-13
    assert (M[rows, cols] - f[rows] - g[cols]).min() >= -1e-9  # feasible on the allowed pairs
    # a stored zero is a free pair; a missing entry is forbidden
    Z = sp.coo_array(([0.0, 5.0], ([0, 0], [0, 1])), shape=(2, 2))  # row 1 has no pair
    with pytest.raises(ValueError, match=r"^cost: no coupling of a and b"):
        solve_transport(Z)
    assert solve_transport(Z, a=[1.0, 0.0], b=[1.0, 0.0]).cost == 0.0
    with pytest.raises(ValueError, match=r"^reg must be None for a sparse cost"):
        solve_transport(S, reg=1.0)


@pytest.mark.parametrize("s", [1e-300, 1e-150, 1e150, 1e300])
def test_cost_matrices_scale_exactly(s):
    rng = make_rng(5)
    C = rng.random((6, 5)) - 0.3
    for reg in (None, 0.1):
        unit = solve_transport(C, reg=reg, return_plan=True)
        big = solve_transport(C * s, reg=None if reg is None else reg * s, return_plan=True)
        assert big.cost == pytest.approx(unit.cost * s, rel=1e-12)
        np.testing.assert_allclose(big.dual_a, unit.dual_a * s, rtol=1e-12, atol=1e-12 * s)
        np.testing.assert_allclose(big.plan, unit.plan, atol=1e-14)
    Ss = sp.coo_array(C * s)
    assert solve_transport(Ss).cost == pytest.approx(solve_transport(C).cost * s, rel=1e-12)


def test_empty_weights_mean_uniform_as_in_pot():
    # POT's test_emd_empty: ot.emd([], [], M) is uniform
    rng = np.random.RandomState(0)
    x = rng.randn(100, 2)
    M = ot.dist(x, x)
    res = solve_transport(M, a=[], b=np.array([]), return_plan=True)
    np.testing.assert_allclose(res.plan, np.eye(100) / 100)
    assert res.cost == 0.0
    X, Y = x[:10], x[10:17]
    for fn, kw in (
        (exact_transport, {}),
        (entropic_transport, {"reg": 0.5}),
        (sinkhorn_divergence, {"reg": 0.5}),
        (sliced_transport, {"seed": 0}),
    ):
        assert fn(X, Y, a=[], b=(), **kw).cost == fn(X, Y, **kw).cost
    with pytest.raises(ValueError, match=r"^a must be a 1-D array of 10 weights"):
        exact_transport(X, Y, a=np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"^b must be a 1-D array of 7 weights"):
        exact_transport(X, Y, b=[0.5, 0.5])


def pot_gaussian_example():
    """POT's test_gaussian.py: make_data_classif("3gauss") to ("3gauss2"), 50 points each."""
    Xs, _ = make_data_classif("3gauss", 50, random_state=0)
    Xt, _ = make_data_classif("3gauss2", 50, random_state=1)
    return Xs, Xt


def test_gaussian_map_matches_pot_and_pushes_forward():
    Xs, Xt = pot_gaussian_example()
    ms, mt, Cs, Ct = Xs.mean(0), Xt.mean(0), np.cov(Xs.T), np.cov(Xt.T)
    A, b = ot.gaussian.bures_wasserstein_mapping(ms[None], mt[None], Cs, Ct)
    T = gaussian_map(ms, Cs, mt, Ct)
    assert isinstance(T, GaussianMap)
    np.testing.assert_allclose(T.linear, A, atol=1e-12)
    np.testing.assert_allclose(T.offset, b.ravel(), atol=1e-12)
    np.testing.assert_allclose(T.apply(Xs), Xs @ A + b, atol=1e-12)  # POT applies x @ A
    # the pushforward of N(ms, Cs) is N(mt, Ct); its cost is W2^2
    np.testing.assert_allclose(T.linear @ Cs @ T.linear.T, Ct, atol=1e-12)
    np.testing.assert_allclose(T.apply(ms), mt, atol=1e-12)
    w2 = np.trace(Cs) + np.trace(Ct) - 2 * np.trace(T.linear @ Cs) + np.sum((ms - mt) ** 2)
    assert np.sqrt(w2) == pytest.approx(gaussian_wasserstein(ms, Cs, mt, Ct), rel=1e-10)
    # scale: N(s m, s^2 C) to N(m, C) has the map A / s
    for s in (1e-150, 1e150):
        Ts = gaussian_map(ms * s, Cs * s * s, mt, Ct)
        np.testing.assert_allclose(Ts.linear * s, T.linear, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(Ts.offset, T.offset, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_empirical_gaussian_map_matches_pot(weighted):
    Xs, Xt = pot_gaussian_example()
    w = make_rng(0).random(50) if weighted else np.ones(50)
    w /= w.sum()
    A, b = ot.gaussian.empirical_bures_wasserstein_mapping(Xs, Xt, ws=w[:, None])
    T = empirical_gaussian_map(Xs, Xt, a=w if weighted else [])
    np.testing.assert_allclose(T.linear, A, atol=1e-12)
    np.testing.assert_allclose(T.offset, b.ravel(), atol=1e-12)
    # the fitted source moments go to the fitted target moments
    Y = T.apply(Xs)
    np.testing.assert_allclose(w @ Y, Xt.mean(0), atol=1e-12)
    Cy, Ct = (Y - w @ Y).T @ ((Y - w @ Y) * w[:, None]), np.cov(Xt.T, bias=True)
    np.testing.assert_allclose(Cy + 1e-6 * T.linear @ T.linear, Ct + 1e-6 * np.eye(2), atol=1e-12)
    for s in (1e-300, 1e300):  # scale-free without reg
        Ts, T1 = (
            empirical_gaussian_map(Xs * s, Xt * s, reg=0.0),
            empirical_gaussian_map(Xs, Xt, reg=0.0),
        )
        np.testing.assert_allclose(Ts.linear, T1.linear, atol=1e-12)
        np.testing.assert_allclose(Ts.offset / s, T1.offset, atol=1e-12)
    with pytest.raises(ValueError, match=r"the covariance of X .* singular"):
        empirical_gaussian_map(np.ones((5, 2)), Xt, reg=0.0)
    assert np.isfinite(empirical_gaussian_map(np.ones((5, 2)), Xt).linear).all()  # reg 1e-6


def pot_bregman_example():
    """POT's test_bregman.py barycenter: two 1-D Gaussian histograms on 100 bins, M / max M."""
    n = 100
    x = np.arange(n, dtype=float)
    H = np.vstack((gauss(n, m=30, s=10), gauss(n, m=40, s=10)))
    M = ot.dist(x[:, None], x[:, None])
    return x, H, M / M.max()


def test_fixed_support_barycenter_matches_pot():
    # POT's test_lp_barycenter: the barycenter of Diracs at bins 0 and 2 is bin 1
    H, C = [[1.0, 0, 0], [0, 0, 1.0]], [[0, 1.0, 4.0], [1.0, 0, 1.0], [4.0, 1.0, 0]]
    bary = fixed_support_barycenter(H, C, weights=[0.5, 0.5])
    assert isinstance(bary, Barycenter) and bary.support is None and bary.converged
    np.testing.assert_allclose(bary.weights, [0, 1, 0], atol=1e-7)
    assert bary.cost == pytest.approx(1.0, rel=1e-9)
    # POT's test_bregman histograms, exact (LP): the optimal objective of POT's barycenter
    # (the LP optimum need not be unique), centred at the mean of the means
    x, H, M = pot_bregman_example()
    w = np.array([0.5, 0.5])
    lp = fixed_support_barycenter(H, M, weights=w)
    pot_lp = ot.lp.barycenter(H.T, M, w)
    assert lp.cost == pytest.approx(float(w @ ot.emd2(pot_lp, H.T, M)), rel=1e-6)
    assert lp.weights @ x == pytest.approx(35.0, abs=0.05)


def test_entropic_fixed_support_barycenter_matches_pot():
    # POT's test_bregman barycenter: the same histogram as POT's log-domain solver
    x, H, M = pot_bregman_example()
    w = np.array([0.5, 0.5])
    ref = ot.bregman.barycenter(H.T, M, 1e-2, w, method="sinkhorn_log", stopThr=1e-10)
    ent = fixed_support_barycenter(H, M, weights=w, reg=1e-2, tol=1e-10)
    assert ent.converged and ent.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(ent.weights, ref, atol=1e-12)
    assert ent.weights @ x == pytest.approx(35.0, abs=0.05)
    # scale and shift of the cost do not move the barycenter
    for s in (1e-300, 1e300):
        moved = fixed_support_barycenter(H, M * s - s, weights=w, reg=1e-2 * s, tol=1e-10)
        np.testing.assert_allclose(moved.weights, ent.weights, atol=1e-12)
        assert moved.cost == pytest.approx((ent.cost - 1.0) * s, rel=1e-9)


def test_free_support_barycenter_matches_pot():
    # POT's test_free_support_barycenter: Diracs at -1 and 1, from -12, end at 0
    bary = free_support_barycenter([[[-1.0]], [[1.0]]], a=[[1.0], [1.0]], init=[[-12.0]])
    np.testing.assert_allclose(bary.support, [[0.0]], atol=1e-7)
    assert bary.converged and bary.cost == pytest.approx(1.0)
    # point clouds: the same iterates as POT from the same start, and translations average
    rng = make_rng(11)
    base = rng.normal(size=(10, 2))
    shifts = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]])
    clouds = [base + t for t in shifts]
    Z0 = rng.normal(size=(10, 2))
    ref = ot.lp.free_support_barycenter(clouds, [np.full(10, 0.1)] * 3, Z0)
    fb = free_support_barycenter(clouds, init=Z0)
    np.testing.assert_allclose(fb.support, ref, atol=1e-12)
    own = free_support_barycenter(clouds)  # from clouds[0]: the mean translation
    np.testing.assert_allclose(own.support, base + shifts.mean(0), atol=1e-12)
    expected = np.mean([np.sum((t - shifts.mean(0)) ** 2) for t in shifts])
    assert own.cost == pytest.approx(expected, rel=1e-12)
    big = free_support_barycenter([c * 1e150 for c in clouds])
    np.testing.assert_allclose(big.support / 1e150, own.support, rtol=1e-12)
    assert big.cost == pytest.approx(own.cost * 1e300, rel=1e-12)
    with pytest.raises(ValueError, match=r"^clouds: the barycenter.s cost overflows"):
        free_support_barycenter([c * 1e300 for c in clouds])


def test_entropic_free_support_barycenter_matches_pot():
    rng = make_rng(12)
    # coordinates below 1/2 keep the power-of-two scale at 1: the same problem for POT and us
    clouds = [rng.normal(size=(12, 2)) / 8.0, (rng.normal(size=(9, 2)) + 3.0) / 8.0]
    ws = [np.full(12, 1 / 12), np.full(9, 1 / 9)]
    Z0 = np.array(clouds[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = ot.bregman.free_support_sinkhorn_barycenter(
            clouds, ws, Z0, 0.01, b=np.full(12, 1 / 12), numItermax=5, method="sinkhorn_log"
        )
    fb = free_support_barycenter(clouds, init=Z0, reg=0.01, max_iter=5)
    np.testing.assert_allclose(fb.support, ref, atol=1e-9)
    exact = free_support_barycenter(clouds, init=Z0)
    blurred = free_support_barycenter(clouds, init=Z0, reg=0.05, max_iter=5)
    # more entropy, more blur: the exact cost of the returned support moves away from the exact
    assert exact.cost < fb.cost < blurred.cost
    with pytest.raises(ValueError, match=r"^reg must be > 0"):
        free_support_barycenter(clouds, reg=0.0)
