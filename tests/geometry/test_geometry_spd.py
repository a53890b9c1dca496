"""SPD geometry: against pyRiemann and geomstats (when it imports), and the defining identities.

Every metric is checked three ways: against independent implementations
(pyRiemann always; geomstats where it imports, i.e. with numpy < 2.4),
against closed forms (commuting matrices, scalar multiples of the identity),
and against identities that hold whatever the implementation (affine
invariance, exp∘log = id, d(P, γ(t)) = t d(P, Q), ‖Log_P Q‖_P = d(P, Q)).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sl
from _geometry_helpers import PR_DISTANCE, PR_GEODESIC, make_rng, random_spd, random_sym

from sheaftopo.geometry import (
    SPDMean,
    spd_distance,
    spd_exp,
    spd_geodesic,
    spd_log,
    spd_mean,
    stein_divergence,
    von_neumann_divergence,
)

METRICS = ("affine", "log_euclidean", "bures")
TOL = 1e-10

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyriemann.geometry import distance as pr_distance
    from pyriemann.geometry import mean as pr_mean
    from pyriemann.geometry import tangentspace as pr_tangent



def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))


# ---------------------------------------------------------------------------
# independent references written here
# ---------------------------------------------------------------------------


def sqrtm(P):
    lam, U = np.linalg.eigh(P)
    return (U * np.sqrt(lam)) @ U.T


def riemannian_norm(V, P, metric):
    """The norm of the symmetric V at P, from the definition of each metric."""
    if metric == "affine":
        R = np.linalg.inv(sqrtm(P))
        return np.linalg.norm(R @ V @ R)
    if metric == "log_euclidean":  # ||D log_P[V]||_F by central differences of scipy's logm
        h = 1e-6
        D = (sl.logm(P + h * V) - sl.logm(P - h * V)).real / (2 * h)
        return np.linalg.norm(D)
    X = sl.solve_continuous_lyapunov(P, V)  # P X + X P = V
    return np.sqrt(0.5 * np.trace(X @ V))


# ---------------------------------------------------------------------------
# agreement with pyRiemann
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_distance_matches_pyriemann(metric, n):
    rng = make_rng(n, len(metric))
    P = random_spd(rng, n, (20,), cond=1e3)
    Q = random_spd(rng, n, (20,), cond=1e3)
    ours = spd_distance(P, Q, metric=metric)
    ref = PR_DISTANCE[metric](P, Q)
    assert ours.shape == (20,)
    assert rel(ours, ref) < TOL


@pytest.mark.parametrize("n", [2, 6])
def test_log_exp_match_pyriemann(n):
    rng = make_rng(n, 1)
    P = random_spd(rng, n, (8,))
    B = random_spd(rng, n, (8,))
    V = spd_log(P, B)
    assert rel(V, pr_tangent.log_map_riemann(P, B, C12=True)) < TOL
    assert rel(spd_exp(V, B), pr_tangent.exp_map_riemann(V, B, Cm12=True)) < TOL
    Vb = spd_log(P, B, metric="bures")
    assert rel(Vb, pr_tangent.log_map_wasserstein(P, B)) < TOL
    for i in range(len(B)):  # pyRiemann's Bures exp does not broadcast batches
        ref = pr_tangent.exp_map_wasserstein(Vb[i], B[i])
        assert rel(spd_exp(Vb[i], B[i], metric="bures"), ref) < TOL


@pytest.mark.parametrize("metric", METRICS)
def test_geodesic_matches_pyriemann(metric):
    rng = make_rng(7, len(metric))
    P = random_spd(rng, 4, (6,))
    Q = random_spd(rng, 4, (6,))
    for t in (0.0, 0.25, 0.5, 1.0):
        assert rel(spd_geodesic(P, Q, t, metric=metric), PR_GEODESIC[metric](P, Q, t)) < TOL


@pytest.mark.parametrize("metric", METRICS)
def test_mean_matches_pyriemann(metric):
    rng = make_rng(9, len(metric))
    P = random_spd(rng, 5, (40,), cond=50.0)
    w = rng.random(40)
    w /= w.sum()
    res = spd_mean(P, metric=metric, weights=w, tol=1e-13, max_iter=500)
    assert isinstance(res, SPDMean) and res.converged and res.metric == metric
    if metric == "affine":
        ref = pr_mean.mean_riemann(P, tol=1e-14, maxiter=500, sample_weight=w)
    elif metric == "bures":
        ref = pr_mean.mean_wasserstein(P, tol=1e-14, maxiter=500, sample_weight=w)
    else:
        ref = pr_mean.mean_logeuclid(P, sample_weight=w)
    assert rel(res.mean, ref) < TOL
    assert res.gradient_norm < 1e-12 * max(1.0, np.sqrt(np.trace(res.mean)))


# ---------------------------------------------------------------------------
# geomstats (an optional oracle: it needs numpy < 2.4)
# ---------------------------------------------------------------------------


def _geomstats_metrics(n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs_spd = pytest.importorskip("geomstats.geometry.spd_matrices")
    space = gs_spd.SPDMatrices(n, equip=False)
    return {
        "affine": gs_spd.SPDAffineMetric(space),
        "log_euclidean": gs_spd.SPDLogEuclideanMetric(space),
        "bures": gs_spd.SPDBuresWassersteinMetric(space),
    }


@pytest.mark.parametrize("metric", METRICS)
def test_matches_geomstats(metric):
    n = 4
    gs_metric = _geomstats_metrics(n)[metric]
    rng = make_rng(11, len(metric))
    P = random_spd(rng, n, (10,))
    B = random_spd(rng, n, (10,))
    assert rel(spd_distance(P, B, metric=metric), gs_metric.dist(P, B)) < TOL
    V = spd_log(P, B, metric=metric)
    assert rel(V, gs_metric.log(P, B)) < TOL
    W = 0.3 * random_sym(rng, n, (10,))
    assert rel(spd_exp(W, B, metric=metric), gs_metric.exp(W, B)) < TOL
    geo = gs_metric.geodesic(initial_point=B, end_point=P)
    ref = geo(np.array([0.3]))  # shape (10, 1, n, n)
    assert rel(spd_geodesic(B, P, 0.3, metric=metric), ref[:, 0]) < TOL


# ---------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 8])
def test_affine_invariance(n):
    rng = make_rng(n, 2)
    P = random_spd(rng, n, (10,))
    Q = random_spd(rng, n, (10,))
    U, _ = np.linalg.qr(rng.normal(size=(10, n, n)))
    A = U * np.exp(rng.uniform(-1.5, 1.5, size=(10, 1, n)))  # invertible, cond <= e^3
    At = np.swapaxes(A, -1, -2)
    d = spd_distance(P, Q)
    assert rel(spd_distance(A @ P @ At, A @ Q @ At), d) < 1e-11
    assert rel(spd_distance(np.linalg.inv(P), np.linalg.inv(Q)), d) < 1e-11
    s = stein_divergence(P, Q)
    assert rel(stein_divergence(A @ P @ At, A @ Q @ At), s) < 1e-11
    assert rel(stein_divergence(np.linalg.inv(P), np.linalg.inv(Q)), s) < 1e-11
    # the log-Euclidean and Bures metrics are only orthogonally invariant
    Ut = np.swapaxes(U, -1, -2)
    for metric in ("log_euclidean", "bures"):
        d = spd_distance(P, Q, metric=metric)
        assert rel(spd_distance(U @ P @ Ut, U @ Q @ Ut, metric=metric), d) < 1e-11
        assert rel(spd_distance(A @ P @ At, A @ Q @ At, metric=metric), d) > 1e-3


@pytest.mark.parametrize("metric", METRICS)
def test_exp_log_roundtrip_and_norm(metric):
    rng = make_rng(3, len(metric))
    n = 5
    P = random_spd(rng, n, (12,), cond=1e3)
    B = random_spd(rng, n, (12,), cond=1e3)
    V = spd_log(P, B, metric=metric)
    assert np.array_equal(V, np.swapaxes(V, -1, -2))
    assert rel(spd_exp(V, B, metric=metric), P) < TOL
    d = spd_distance(P, B, metric=metric)
    for i in range(3):
        tol = 1e-6 if metric == "log_euclidean" else 1e-10
        assert abs(riemannian_norm(V[i], B[i], metric) - d[i]) < tol * max(1.0, d[i])
    # log of exp for a tangent vector W = B X + X B with ||X||_2 <= 0.3: the Bures
    # exponential is a geodesic only while I + L_B[W] = I + X >= 0
    X = random_sym(rng, n, (12,))
    X *= 0.3 / np.abs(np.linalg.eigvalsh(X)).max(axis=-1)[:, None, None]
    W = B @ X + X @ B
    assert rel(spd_log(spd_exp(W, B, metric=metric), B, metric=metric), W) < 1e-9


@pytest.mark.parametrize("metric", METRICS)
def test_geodesic_is_constant_speed(metric):
    rng = make_rng(4, len(metric))
    P = random_spd(rng, 4, (5,))
    Q = random_spd(rng, 4, (5,))
    d = spd_distance(P, Q, metric=metric)
    assert rel(spd_geodesic(P, Q, 0.0, metric=metric), P) < 1e-12
    assert rel(spd_geodesic(P, Q, 1.0, metric=metric), Q) < 1e-10
    ts = np.array([0.1, 0.5, 0.9])
    G = spd_geodesic(P[:, None], Q[:, None], ts, metric=metric)  # batch (5, 3)
    assert G.shape == (5, 3, 4, 4)
    got = spd_distance(P[:, None], G, metric=metric)
    assert rel(got, ts * d[:, None]) < 1e-10
    got = spd_distance(G, Q[:, None], metric=metric)
    assert rel(got, (1 - ts) * d[:, None]) < 1e-10


def test_geodesic_extends_beyond_the_endpoints():
    rng = make_rng(5)
    P, Q = random_spd(rng, 3), random_spd(rng, 3)
    for metric in ("affine", "log_euclidean"):
        G = spd_geodesic(P, Q, 2.0, metric=metric)
        assert rel(spd_distance(P, G, metric=metric), 2 * spd_distance(P, Q, metric=metric)) < 1e-10
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\] for metric='bures'"):
        spd_geodesic(P, Q, 1.5, metric="bures")


@pytest.mark.parametrize("n", [1, 3])
def test_closed_forms_on_multiples_of_the_identity(n):
    I = np.eye(n)
    for a, b in [(1.0, 4.0), (0.25, 9.0), (2.0, 2.0)]:
        P, Q = a * I, b * I
        assert spd_distance(P, Q) == pytest.approx(np.sqrt(n) * abs(np.log(b / a)), abs=1e-14)
        assert spd_distance(P, Q, metric="log_euclidean") == pytest.approx(
            np.sqrt(n) * abs(np.log(b / a)), abs=1e-14
        )
        assert spd_distance(P, Q, metric="bures") == pytest.approx(
            np.sqrt(n) * abs(np.sqrt(a) - np.sqrt(b)), abs=1e-14
        )
        assert stein_divergence(P, Q) == pytest.approx(
            n * np.log((a + b) / (2 * np.sqrt(a * b))), abs=1e-14
        )


def commuting_family(rng, N, n):
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam = np.exp(rng.uniform(-2, 2, size=(N, n)))
    return (U * lam[:, None, :]) @ U.T, U, lam


@pytest.mark.parametrize("metric", METRICS)
def test_mean_of_commuting_matrices_is_closed_form(metric):
    rng = make_rng(6, len(metric))
    P, U, lam = commuting_family(rng, 30, 5)
    w = rng.random(30)
    w /= w.sum()
    if metric == "bures":
        mean_lam = (w @ np.sqrt(lam)) ** 2
    else:
        mean_lam = np.exp(w @ np.log(lam))
    ref = (U * mean_lam) @ U.T
    res = spd_mean(P, metric=metric, weights=w, tol=1e-12)
    assert res.converged
    assert rel(res.mean, ref) < 1e-12
    if metric == "affine":  # one step from the arithmetic mean lands on the closed form
        assert res.n_iter == 1


def test_mean_gradient_vanishes_and_beats_perturbations():
    rng = make_rng(8)
    P = random_spd(rng, 4, (25,), cond=30.0)
    res = spd_mean(P)
    assert res.converged and res.gradient_norm <= 1e-10
    V = sum(spd_log(p, res.mean) for p in P)  # sum_i Log_M(P_i) = 0 at the mean
    L = np.linalg.cholesky(res.mean)
    Li = np.linalg.inv(L)
    assert np.linalg.norm(Li @ V @ Li.T) < 1e-8

    def F(M):
        return float(np.sum(spd_distance(P, M) ** 2))

    f0 = F(res.mean)
    for _ in range(5):
        M = spd_exp(0.05 * random_sym(rng, 4), res.mean)
        assert F(M) > f0


def test_mean_options_and_diagnostics():
    rng = make_rng(10)
    P = random_spd(rng, 3, (10,), cond=1e4)
    one = spd_mean(P[:1])
    assert rel(one.mean, P[0]) < 1e-12
    capped = spd_mean(P, max_iter=1, tol=1e-15)
    assert capped.n_iter == 1 and not capped.converged and capped.gradient_norm > 1e-15
    from_init = spd_mean(P, init=P[3], tol=1e-12)
    assert rel(from_init.mean, spd_mean(P, tol=1e-12).mean) < 1e-10
    w = np.zeros(10)
    w[4] = 1.0
    assert rel(spd_mean(P, weights=w).mean, P[4]) < 1e-10
    assert rel(spd_mean(P, weights=w, metric="bures").mean, P[4]) < 1e-10


def test_bures_distance_is_accurate_near_the_diagonal():
    rng = make_rng(12)
    P = random_spd(rng, 6)
    assert spd_distance(P, P, metric="bures") < 1e-14
    E = random_sym(rng, 6, scale=1e-9)
    # first order: d_BW(P, P + E) = ||E||_P (the Bures norm of E at P)
    expected = riemannian_norm(E, P, "bures")
    assert abs(spd_distance(P, P + E, metric="bures") / expected - 1) < 1e-5
    # the trace formula loses half the digits here
    tr = np.trace(P) + np.trace(P + E) - 2 * np.trace(sqrtm(sqrtm(P) @ (P + E) @ sqrtm(P)))
    assert abs(np.sqrt(max(tr, 0.0)) / expected - 1) > 1e-3


def test_stein_divergence_properties():
    rng = make_rng(13)
    P = random_spd(rng, 4, (30,), cond=1e3)
    Q = random_spd(rng, 4, (30,), cond=1e3)
    R = random_spd(rng, 4, (30,), cond=1e3)
    S = stein_divergence(P, Q)
    logdet = (
        np.linalg.slogdet((P + Q) / 2)[1]
        - 0.5 * np.linalg.slogdet(P)[1]
        - 0.5 * np.linalg.slogdet(Q)[1]
    )
    assert rel(S, logdet) < 1e-12
    assert (S > 0).all() and rel(stein_divergence(Q, P), S) < 1e-12
    assert (S <= spd_distance(P, Q) ** 2 / 8 * (1 + 1e-12)).all()
    assert np.abs(stein_divergence(P, P)).max() < 1e-14
    # sqrt(S) is a metric (Sra 2016): triangle inequality
    lhs = np.sqrt(stein_divergence(P, R))
    assert (lhs <= np.sqrt(S) + np.sqrt(stein_divergence(Q, R)) + 1e-12).all()
    # second-order agreement with d^2 / 8 near the diagonal
    E = random_sym(rng, 4, scale=1e-4)
    assert (
        abs(stein_divergence(P[0], P[0] + E) / (spd_distance(P[0], P[0] + E) ** 2 / 8) - 1) < 1e-6
    )


def test_von_neumann_divergence_properties():
    rng = make_rng(14)
    P = random_spd(rng, 4, (10,))
    Q = random_spd(rng, 4, (10,))
    D = von_neumann_divergence(P, Q)
    ref = [
        np.trace(p @ sl.logm(p) - p @ sl.logm(q) - p + q).real for p, q in zip(P, Q, strict=True)
    ]
    assert rel(D, ref) < 1e-11
    assert (D > 0).all()
    assert np.abs(von_neumann_divergence(P, P)).max() < 1e-13
    assert rel(von_neumann_divergence(Q, P), D) > 1e-3  # not symmetric
    E = random_sym(rng, 4, scale=1e-6)
    small = von_neumann_divergence(P[0], P[0] + E)
    assert 0 < small < 1e-10  # no cancellation to a negative value


def test_batch_broadcasting_and_dtypes():
    rng = make_rng(15)
    P = random_spd(rng, 3, (4, 1))
    Q = random_spd(rng, 3, (5,))
    for metric in METRICS:
        d = spd_distance(P, Q, metric=metric)
        assert d.shape == (4, 5)
        assert rel(d[2, 3], spd_distance(P[2, 0], Q[3], metric=metric)) < 1e-13
        assert spd_log(P, Q, metric=metric).shape == (4, 5, 3, 3)
    single = spd_distance(P[0, 0], Q[0])
    assert isinstance(single, np.floating) and np.ndim(single) == 0
    d32 = spd_distance(P.astype(np.float32), Q.astype(np.float32))
    assert d32.dtype == np.float64
    assert rel(d32, spd_distance(P, Q)) < 1e-5


def test_inputs_are_not_modified_and_only_the_symmetric_part_is_used():
    rng = make_rng(16)
    P = random_spd(rng, 4)
    Q = random_spd(rng, 4)
    P_noisy = P.copy()
    P_noisy[0, 1] += 1e-12  # within the symmetry tolerance
    before = P_noisy.copy()
    for metric in METRICS:
        spd_distance(P_noisy, Q, metric=metric)
        spd_log(P_noisy, Q, metric=metric)
        spd_mean(np.stack([P_noisy, Q]), metric=metric)
    assert np.array_equal(P_noisy, before)
    sym = 0.5 * (P_noisy + P_noisy.T)
    assert spd_distance(P_noisy, Q) == spd_distance(sym, Q)


def test_extreme_tangent_vectors_raise_instead_of_overflowing():
    with pytest.raises(ValueError, match="overflows"):
        spd_exp(1000.0 * np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="underflows"):
        spd_exp(-1000.0 * np.eye(2), np.eye(2), metric="log_euclidean")


def test_large_matrices_use_lapack_pairwise_with_the_same_results(monkeypatch):
    import sheaftopo.geometry._spd_linalg as spd

    rng = make_rng(17)
    n = spd._LAPACK_MIN_N + 2
    P = random_spd(rng, n, (3, 1), cond=1e3)
    Q = random_spd(rng, n, (4,), cond=1e3)
    d = spd_distance(P, Q)
    s = stein_divergence(P, Q)
    assert d.shape == (3, 4)
    assert rel(d, pr_distance.distance_riemann(np.broadcast_to(P, (3, 4, n, n)), Q)) < TOL
    monkeypatch.setattr(spd, "_LAPACK_MIN_N", 10_000)  # force the batched NumPy route
    assert rel(spd_distance(P, Q), d) < 1e-11
    assert rel(stein_divergence(P, Q), s) < 1e-11
    monkeypatch.undo()
    bad = P[0, 0].copy()
    bad[0, 0] = -1.0
    with pytest.raises(ValueError, match=r"^P must be symmetric positive definite"):
        spd_distance(bad, Q)
    with pytest.raises(ValueError, match=r"^Q must be symmetric positive definite"):
        spd_distance(Q, bad)


def test_ill_conditioned_pairs_are_not_refused():
    """Regression (issue 15): SPD P, Q with cond 1e12 each and clustered spectra, where
    P^-1 Q has eigenvalues from 1e-12 to 1e12. Whitening by P alone computed the small ones
    as negative numbers and refused Q as "not positive definite"; they now come from
    Q^-1 P, and the distance and divergence match 40-digit values to ~cond * eps."""
    import mpmath as mp

    lam_p = np.array([1e-6, 1e-6 * (1 + 1e-8), 1e6])
    lam_q = np.array([1e6, 1e6 * (1 - 1e-8), 1e-6])
    U, _ = np.linalg.qr(make_rng(15).normal(size=(3, 3)))
    P, Q = (U * lam_p) @ U.T, (U * lam_q) @ U.T
    P, Q = 0.5 * (P + P.T), 0.5 * (Q + Q.T)
    with mp.workdps(40):
        MP, MQ = mp.matrix(P.tolist()), mp.matrix(Q.tolist())
        L = mp.cholesky(MP)
        Li = L**-1
        ev = mp.eigsy(Li * MQ * Li.T, eigvals_only=True)
        d_ref = float(mp.sqrt(mp.fsum(mp.log(e) ** 2 for e in ev)))
        s_ref = float(mp.log(mp.det((MP + MQ) / 2)) - (mp.log(mp.det(MP)) + mp.log(mp.det(MQ))) / 2)
    assert float(spd_distance(P, Q)) == pytest.approx(d_ref, rel=1e-5)
    assert float(stein_divergence(P, Q)) == pytest.approx(s_ref, rel=1e-5)
    # the maps whiten too: Log_P(Q) and gamma(t) = L f(L^-1 Q L^-T) L^T at 40 digits
    with mp.workdps(40):
        E, V = mp.eigsy(Li * MQ * Li.T)

        def through(f):
            return np.array((L * V * mp.diag([f(e) for e in E]) * V.T * L.T).tolist(), dtype=float)

        log_ref, geo_ref = through(mp.log), through(lambda e: e**0.3)
    scale = np.linalg.norm(P) + np.linalg.norm(Q)
    # within cond * eps = 2.2e-4 (observed 1.3e-5; before: "Q not positive definite")
    assert np.linalg.norm(spd_log(Q, P) - log_ref) / scale < 1e-4
    assert np.linalg.norm(spd_geodesic(P, Q, 0.3) - geo_ref) / scale < 1e-4
    # the Bures map diagonalises L^T Q L, as spread out: Exp_P(Log_P Q) = Q again
    V = spd_log(Q, P, metric="bures")
    assert np.linalg.norm(spd_exp(V, P, metric="bures") - Q) / scale < 1e-4
