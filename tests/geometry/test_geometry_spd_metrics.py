"""SPD metrics beyond the first three, batched means, transport and tangent vectors.

Checked against pyRiemann on the matrices its own tests draw
(``pyriemann.datasets.make_matrices(..., "spd", RandomState(1234))``, its
``get_mats`` fixture, and ``1 + rand`` weights, its ``get_weights``), and
against identities that hold whatever the implementation: exp∘log = id,
‖Log_B P‖_B = d(P, B), constant-speed geodesics, parallel transport is an
isometry whose inverse is transport back, it carries Log_P(Q) to -Log_Q(P),
and tangent vectors have the distance as Euclidean norm.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _geometry_helpers import make_rng, random_spd, random_sym

from sheaftopo.geometry import (
    SPDMean,
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
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyriemann.datasets import make_matrices
    from pyriemann.geometry import distance as prd
    from pyriemann.geometry import geodesic as prg
    from pyriemann.geometry import mean as prm
    from pyriemann.geometry import tangentspace as prt

#: (metric, power) for every metric; the new ones first
ALL = [
    ("log_cholesky", None),
    ("power", 0.5),
    ("power", -0.7),
    ("euclidean", None),
    ("log_euclidean", None),
    ("affine", None),
    ("bures", None),
]
NEW = ALL[:4]
#: our metric -> pyRiemann's name, where pyRiemann has the maps
PR_NAME = {
    "log_cholesky": "logchol",
    "euclidean": "euclid",
    "log_euclidean": "logeuclid",
    "affine": "riemann",
}


def pyriemann_mats(n_matrices, n_dim, seed=1234):
    return make_matrices(n_matrices, n_dim, "spd", np.random.RandomState(seed))


def close(a, b, rtol=1e-10):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.abs(a - b).max(initial=0.0) <= rtol * max(1.0, np.abs(b).max(initial=0.0)), (a, b)


def kw(power):
    return {} if power is None else {"power": power}


# ---------------------------------------------------------------------------
# distances, maps and means against pyRiemann
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("power", [0.5, -0.7, 2.0, 1.0, 0.0, -1.0])
def test_power_and_new_distances_match_pyriemann(power):
    X = pyriemann_mats(6, 4)
    P, Q = X[:3], X[3:]
    close(spd_distance(P, Q, metric="power", power=power), prd.distance_poweuclid(P, Q, power))
    # pyRiemann's squared=True divides the squared norm by |p|, not p^2 (so it is
    # not its distance squared for p != +-1): compare with the square of its distance
    close(
        spd_distance(P, Q, metric="power", power=power, squared=True),
        prd.distance_poweuclid(P, Q, power) ** 2,
    )
    close(spd_distance(P, Q, metric="log_cholesky"), prd.distance_logchol(P, Q))
    close(
        spd_distance(P, Q, metric="log_cholesky", squared=True),
        prd.distance_logchol(P, Q, squared=True),
    )
    close(spd_distance(P, Q, metric="euclidean"), prd.distance_euclid(P, Q))
    # power = 0 is the log-Euclidean metric; power = 1 the Euclidean one
    if power == 0.0:
        close(
            spd_distance(P, Q, metric="power", power=0.0),
            spd_distance(P, Q, metric="log_euclidean"),
            1e-14,
        )


@pytest.mark.parametrize("metric", ["log_cholesky", "euclidean", "log_euclidean"])
def test_flat_maps_match_pyriemann(metric):
    X = pyriemann_mats(5, 4)
    P, B = X[:4], X[4]
    name = PR_NAME[metric]
    V = spd_log(P, B, metric=metric)
    close(V, prt.log_map(P, B, metric=name), 1e-9)
    W = 0.2 * random_sym(make_rng(1), 4, (4,))
    close(spd_exp(W, B, metric=metric), prt.exp_map(W, B, metric=name), 1e-9)
    close(spd_geodesic(P, B, 0.3, metric=metric), prg.geodesic(P, B, 0.3, metric=name), 1e-9)
    pr_mean = {
        "logchol": prm.mean_logchol,
        "euclid": prm.mean_euclid,
        "logeuclid": prm.mean_logeuclid,
    }[name]
    close(spd_mean(P, metric=metric).mean, pr_mean(P), 1e-9)


def test_means_match_pyriemann_with_weights():
    X = pyriemann_mats(7, 3)
    w = 1 + np.random.RandomState(1234).rand(7)
    w /= w.sum()
    for p in (0.5, -1.0, 2.0, -0.3):
        res = spd_mean(X, metric="power", power=p, weights=w)
        close(res.mean, prm.mean_poweuclid(X, p, sample_weight=w), 1e-9)
        assert res.converged and res.n_iter == 0 and res.gradient_norm < 1e-12
    # the harmonic mean is the power mean of exponent -1
    close(
        spd_mean(X, metric="power", power=-1, weights=w).mean,
        prm.mean_harmonic(X, sample_weight=w),
        1e-12,
    )
    close(spd_mean(X, metric="log_cholesky", weights=w).mean, prm.mean_logchol(X, sample_weight=w))
    res = spd_mean(X, metric="stein", weights=w)
    assert res.converged and res.metric == "stein"
    close(res.mean, prm.mean_logdet(X, sample_weight=w, tol=1e-13, maxiter=500), 1e-8)


def test_stein_mean_minimises_the_stein_objective():
    X = pyriemann_mats(5, 3, seed=7)
    M = spd_mean(X, metric="stein").mean
    f = stein_divergence(M, X).sum()
    rng = make_rng(2)
    for _ in range(4):
        D = 1e-3 * random_sym(rng, 3)
        assert stein_divergence(M + D, X).sum() > f


# ---------------------------------------------------------------------------
# identities for every metric
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "power"), NEW)
def test_exp_log_geodesic_identities(metric, power):
    rng = make_rng(3, len(metric))
    P, B = random_spd(rng, 4, (3,), cond=30.0), random_spd(rng, 4, cond=30.0)
    V = spd_log(P, B, metric=metric, **kw(power))
    close(spd_exp(V, B, metric=metric, **kw(power)), P, 1e-9)
    d = spd_distance(P, B, metric=metric, **kw(power))
    close(np.sqrt(spd_inner(V, V, B, metric=metric, **kw(power))), d, 1e-9)
    for t in (0.25, 0.5, 1.0):
        G = spd_geodesic(B, P, t, metric=metric, **kw(power))
        close(spd_distance(B, G, metric=metric, **kw(power)), t * d, 1e-9)
    close(spd_geodesic(B, P, 0.0, metric=metric, **kw(power)), np.broadcast_to(B, P.shape), 1e-12)


def test_power_metric_tends_to_log_euclidean_and_equals_euclidean_at_one():
    rng = make_rng(4)
    P, B = random_spd(rng, 3, cond=10.0), random_spd(rng, 3, cond=10.0)
    V = random_sym(rng, 3, scale=0.1)
    for f in (spd_log, spd_exp):
        x = P if f is spd_log else V
        close(f(x, B, metric="power", power=1e-7), f(x, B, metric="log_euclidean"), 1e-6)
        close(f(x, B, metric="power", power=1.0), f(x, B, metric="euclidean"), 1e-12)
    close(
        spd_geodesic(P, B, 0.3, metric="power", power=1e-7),
        spd_geodesic(P, B, 0.3, metric="log_euclidean"),
        1e-6,
    )


def test_leaving_the_cone_raises():
    P, Q = np.diag([1.0, 2.0]), np.diag([2.0, 1.0])
    with pytest.raises(ValueError, match="leaves the cone"):
        spd_geodesic(P, Q, 3.0, metric="euclidean")
    close(spd_geodesic(P, Q, -0.5, metric="euclidean"), np.diag([0.5, 2.5]))
    with pytest.raises(ValueError, match="leaves the cone"):
        spd_exp(-2 * np.eye(2), np.eye(2), metric="power", power=0.5)
    with pytest.raises(ValueError, match="leaves the cone"):
        spd_exp(-np.eye(2), np.eye(2), metric="euclidean")
    # the log-Cholesky geodesics extend to every t
    G = spd_geodesic(P, Q, 5.0, metric="log_cholesky")
    assert np.all(np.linalg.eigvalsh(G) > 0)


# ---------------------------------------------------------------------------
# batched means
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "power"), [*ALL, ("stein", None)])
def test_batched_means_equal_a_loop_of_single_means(metric, power):
    rng = make_rng(5, len(metric))
    P = random_spd(rng, 3, (2, 3, 4), cond=50.0)
    P[1, 2] = random_spd(rng, 3, (4,), cond=1e4)  # a harder stack: more iterations
    # (the log-det fixed point converges linearly: slowly on the cond-1e4 stack)
    res = spd_mean(P, metric=metric, max_iter=400, **kw(power))
    assert res.mean.shape == (2, 3, 3, 3)
    for field in (res.n_iter, res.converged, res.gradient_norm):
        assert np.shape(field) == (2, 3)
    for i in range(2):
        for j in range(3):
            one = spd_mean(P[i, j], metric=metric, max_iter=400, **kw(power))
            close(res.mean[i, j], one.mean, 1e-12)
            assert res.n_iter[i, j] == one.n_iter
            assert res.converged[i, j] == one.converged
    assert res.converged.all()
    if metric in ("affine", "bures", "stein"):
        assert len(set(res.n_iter.ravel().tolist())) > 1  # each stack stops on its own


def test_batched_mean_flags_and_init():
    rng = make_rng(6)
    P = random_spd(rng, 3, (2, 5), cond=100.0)
    res = spd_mean(P, max_iter=1, tol=1e-14)
    assert res.converged.dtype == bool and not res.converged.any()
    assert (res.n_iter == 1).all()
    init = spd_mean(P).mean
    again = spd_mean(P, init=init)
    assert (again.n_iter == 0).all() and again.converged.all()
    one_init = spd_mean(P, init=init[0])  # broadcast over the batch
    assert one_init.mean.shape == (2, 3, 3)
    with pytest.raises(ValueError, match="init"):
        spd_mean(P, init=np.stack([init, init, init]))
    with pytest.raises(ValueError, match="at least one matrix"):
        spd_mean(P[:, :0])


# ---------------------------------------------------------------------------
# inner products, parallel transport, tangent vectors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["affine", "log_euclidean", "log_cholesky", "euclidean"])
def test_transport_and_inner_product_match_pyriemann(metric):
    X = pyriemann_mats(6, 4)
    P, A, B = X[:4], X[4], X[5]
    name = PR_NAME[metric]
    V = spd_log(P, A, metric=metric)
    W = spd_transport(V, A, B, metric=metric)
    close(W, prt.transport(V, A, B, metric=name), 1e-9)
    if metric != "euclidean":
        close(
            spd_inner(V[0], V[1], A, metric=metric),
            prt.innerproduct(V[0], V[1], A, metric=name),
            1e-9,
        )


@pytest.mark.parametrize(("metric", "power"), [m for m in ALL if m[0] != "bures"])
def test_transport_is_an_isometry_inverted_by_transport_back(metric, power):
    rng = make_rng(7, len(metric))
    P, Q = random_spd(rng, 3, cond=20.0), random_spd(rng, 3, cond=20.0)
    U, V = random_sym(rng, 3, (2,))
    TU = spd_transport(U, P, Q, metric=metric, **kw(power))
    TV = spd_transport(V, P, Q, metric=metric, **kw(power))
    close(
        spd_inner(TU, TV, Q, metric=metric, **kw(power)),
        spd_inner(U, V, P, metric=metric, **kw(power)),
        1e-9,
    )
    close(spd_transport(TU, Q, P, metric=metric, **kw(power)), U, 1e-9)
    # the geodesic's velocity: Log_P(Q) arrives at Q as -Log_Q(P)
    L = spd_log(Q, P, metric=metric, **kw(power))
    close(
        spd_transport(L, P, Q, metric=metric, **kw(power)),
        -spd_log(P, Q, metric=metric, **kw(power)),
        1e-9,
    )


def test_bures_transport_is_refused_and_bures_inner_product_is_the_definition():
    import scipy.linalg as sl

    rng = make_rng(8)
    B, U, V = random_spd(rng, 3), random_sym(rng, 3), random_sym(rng, 3)
    with pytest.raises(ValueError, match="metric"):
        spd_transport(U, B, B, metric="bures")
    X = sl.solve_continuous_lyapunov(B, U)  # B X + X B = U
    close(spd_inner(U, V, B, metric="bures"), 0.5 * np.trace(X @ V), 1e-10)


def test_tangent_vectors_match_pyriemann_tangent_space():
    X = pyriemann_mats(8, 4)
    ref = spd_mean(X).mean
    T = spd_to_tangent(X, ref)
    close(T, prt.tangent_space(X, ref, metric="riemann"), 1e-9)
    close(spd_from_tangent(T, ref), prt.untangent_space(T, ref, metric="riemann"), 1e-9)
    close(
        spd_to_tangent(X, metric="log_euclidean"),
        prt.tangent_space(X, np.eye(4), metric="logeuclid"),
        1e-9,
    )
    close(spd_to_tangent(X, ref, metric="euclidean"), prt.tangent_space(X, ref, metric="euclid"))
    close(
        prt.upper(X),
        spd_to_tangent(X, np.eye(4), metric="euclidean")
        + prt.upper(np.broadcast_to(np.eye(4), X.shape)),
    )


@pytest.mark.parametrize(("metric", "power"), ALL)
def test_tangent_vectors_are_isometric_and_invertible(metric, power):
    rng = make_rng(9, len(metric))
    P, B = random_spd(rng, 3, (2, 4), cond=20.0), random_spd(rng, 3, cond=20.0)
    T = spd_to_tangent(P, B, metric=metric, **kw(power))
    assert T.shape == (2, 4, 6)
    close(np.linalg.norm(T, axis=-1), spd_distance(P, B, metric=metric, **kw(power)), 1e-9)
    close(spd_from_tangent(T, B, metric=metric, **kw(power)), P, 1e-9)
    # inner products of the vectors are the Riemannian ones at B
    V = spd_log(P, B, metric=metric, **kw(power))
    close(
        np.einsum("...i,...i->...", T[0], T[1]),
        spd_inner(V[0], V[1], B, metric=metric, **kw(power)),
        1e-9,
    )


# ---------------------------------------------------------------------------
# squared distances and scale
# ---------------------------------------------------------------------------


def test_squared_distances():
    rng = make_rng(10)
    P, Q = random_spd(rng, 3, (500,), cond=100.0), random_spd(rng, 3, (500,), cond=100.0)
    for metric, power in ALL:
        d = spd_distance(P, Q, metric=metric, **kw(power))
        d2 = spd_distance(P, Q, metric=metric, squared=True, **kw(power))
        close(d2, d * d, 1e-12)
    lam = np.linalg.eigvals(np.linalg.solve(P[0], Q[0])).real
    close(spd_distance(P[0], Q[0], squared=True), np.sum(np.log(lam) ** 2), 1e-12)
    with pytest.raises(TypeError, match="squared"):
        spd_distance(P, Q, squared=1)


@pytest.mark.parametrize("s", [1e-300, 1e300])
def test_extreme_scales(s):
    rng = make_rng(11)
    P, Q = random_spd(rng, 3, cond=20.0), random_spd(rng, 3, cond=20.0)
    close(spd_distance(P * s, Q * s), spd_distance(P, Q), 1e-12)
    close(spd_distance(P * s, Q * s, squared=True), spd_distance(P, Q, squared=True), 1e-12)
    close(
        spd_distance(P * s, Q * s, metric="power", power=0.5) / math.sqrt(s),
        spd_distance(P, Q, metric="power", power=0.5),
        1e-10,
    )
    close(
        spd_distance(P * s, Q * s, metric="power", power=-0.5) * math.sqrt(s),
        spd_distance(P, Q, metric="power", power=-0.5),
        1e-10,
    )
    close(
        spd_distance(P * s, Q * s, metric="euclidean") / s,
        spd_distance(P, Q, metric="euclidean"),
        1e-12,
    )
    LP, LQ = np.linalg.cholesky(P), np.linalg.cholesky(Q)
    low = np.tril(LP - LQ, -1)
    diag = np.log(np.diag(LP)) - np.log(np.diag(LQ))
    close(
        spd_distance(P * s, Q * s, metric="log_cholesky", squared=True),
        s * np.sum(low**2) + np.sum(diag**2),
        1e-10,
    )
    for metric, power in NEW:
        k = kw(power)
        close(
            spd_log(P * s, Q * s, metric=metric, **k) / s, spd_log(P, Q, metric=metric, **k), 1e-9
        )
        close(
            spd_geodesic(P * s, Q * s, 0.3, metric=metric, **k) / s,
            spd_geodesic(P, Q, 0.3, metric=metric, **k),
            1e-9,
        )
        V = 0.1 * (P - Q)
        close(
            spd_exp(V * s, Q * s, metric=metric, **k) / s, spd_exp(V, Q, metric=metric, **k), 1e-9
        )
        close(
            spd_transport(V * s, P * s, Q * s, metric=metric, **k) / s,
            spd_transport(V, P, Q, metric=metric, **k),
            1e-9,
        )
    for metric, power in [*NEW, ("stein", None)]:
        close(
            spd_mean(np.stack([P, Q]) * s, metric=metric, **kw(power)).mean / s,
            spd_mean(np.stack([P, Q]), metric=metric, **kw(power)).mean,
            1e-9,
        )


def test_mixed_scales():
    big, small = 1e300 * np.eye(2), 1e-300 * np.eye(2)
    close(spd_distance(big, small, metric="power", power=0.5), math.sqrt(2) * 1e150 / 0.5, 1e-12)
    close(spd_distance(big, small, metric="euclidean"), math.sqrt(2) * 1e300, 1e-12)
    close(
        spd_distance(big, small, metric="log_cholesky"), math.sqrt(2) * 300 * math.log(10.0), 1e-12
    )
    with pytest.raises(ValueError, match="float64"):
        spd_distance(big, small, metric="power", power=2.0)
    # negative powers: the small matrix dominates (its inverse is huge)
    close(spd_distance(big, small, metric="power", power=-1.0), math.sqrt(2) * 1e300, 1e-12)
    close(spd_geodesic(big, small, 0.5, metric="power", power=-1.0), 2 * small, 1e-12)
    # power 1/2: Log_B(P) = 2 (P^1/2 - B^1/2) B^1/2 for commuting P, B
    close(spd_log(big, small, metric="power", power=0.5), 2 * np.eye(2), 1e-12)
    # Euclidean: P - B, B + V and their vectors at any pair of scales
    close(spd_log(big, small, metric="euclidean"), big, 1e-12)
    T = spd_to_tangent(big, small, metric="euclidean")
    close(spd_from_tangent(T, small, metric="euclidean"), big, 1e-12)
    close(spd_distance(small, small * 2, metric="log_cholesky"), math.sqrt(2) * math.log(2) / 2)


def test_metric_and_power_arguments():
    P = np.eye(2)
    with pytest.raises(ValueError, match="power=alpha"):
        spd_distance(P, P, metric="power")
    with pytest.raises(ValueError, match="power"):
        spd_distance(P, P, power=0.5)
    with pytest.raises(ValueError, match="power"):
        spd_log(P, P, metric="power", power=11.0)
    with pytest.raises(TypeError, match="power"):
        spd_exp(P, P, metric="power", power="half")
    with pytest.raises(ValueError, match="metric"):
        spd_log(P, P, metric="stein")
    with pytest.raises(ValueError, match="length"):
        spd_from_tangent(np.ones(4))
    res = spd_mean(np.stack([P, 4 * P]), metric="stein")
    assert isinstance(res, SPDMean) and isinstance(res.n_iter, int)
