"""Learned restriction maps (CCA) against a generalized-eigenproblem oracle and planted models."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sla

from sheaftopo.sheaf import CellularSheaf, _learn, dirichlet_energy
from sheaftopo.sheaf._learn import RestrictionFit, fit_restriction_maps, learn_sheaf

# ----------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------


def _cov(X, center=True):
    Xc = X - X.mean(0) if center else X
    return Xc.T @ Xc / len(X)


def _ridge(S, reg):
    """The regularised covariance and the ridge lambda = reg * mean eigenvalue."""
    lam = reg * np.trace(S) / len(S)
    return S + lam * np.eye(len(S)), lam


def _reference(X, Y, k, reg, center):
    """CCA as the generalized eigenproblem [[0, Suv], [Svu, 0]] w = rho blockdiag(Suu, Svv) w."""
    du = X.shape[1]
    Xc = X - X.mean(0) if center else X
    Yc = Y - Y.mean(0) if center else Y
    Suu, _ = _ridge(Xc.T @ Xc / len(X), reg)
    Svv, _ = _ridge(Yc.T @ Yc / len(Y), reg)
    Suv = Xc.T @ Yc / len(X)
    A = np.block([[np.zeros_like(Suu), Suv], [Suv.T, np.zeros_like(Svv)]])
    B = sla.block_diag(Suu, Svv)
    w, V = sla.eigh(A, B)
    order = np.argsort(w)[::-1][:k]
    # w^T B w = 1 splits evenly between the two blocks when rho > 0
    V = V[:, order] * np.sqrt(2.0)
    return w[order], V[:du].T, V[du:].T


def _planted(rng, N, du, dv, k, noise, private=False):
    """x_u = A_u z (+ private signal) + noise; returns X_u, X_v, A_u, A_v."""
    z = rng.standard_normal((N, k))
    A_u = rng.standard_normal((du, k))
    A_v = rng.standard_normal((dv, k))
    X_u = z @ A_u.T + noise * rng.standard_normal((N, du))
    X_v = z @ A_v.T + noise * rng.standard_normal((N, dv))
    if private:
        X_u = X_u + rng.standard_normal((N, du - k)) @ rng.standard_normal((du - k, du))
        X_v = X_v + rng.standard_normal((N, dv - k)) @ rng.standard_normal((dv - k, dv))
    return X_u, X_v, A_u, A_v


def _rel_consistency(fit_tail, fit_head, A_u, A_v):
    P, Q = fit_tail @ A_u, fit_head @ A_v
    return np.linalg.norm(P - Q) / np.linalg.norm(P)


# ----------------------------------------------------------------------
# against an independent oracle
# ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("N", "du", "dv", "k", "reg", "center"),
    [
        (300, 4, 3, 2, 0.0, True),
        (300, 5, 5, 5, 0.0, True),
        (200, 3, 6, 1, 1e-3, True),
        (250, 6, 4, 3, 0.0, False),
        (120, 7, 2, 2, 1e-2, False),
    ],
)
def test_matches_generalized_eigenproblem(N, du, dv, k, reg, center):
    rng = np.random.default_rng([N, du, dv, k])
    # correlated, offset data with distinct canonical correlations
    X = rng.standard_normal((N, du)) @ rng.standard_normal((du, du)) + 2.0
    Y = X[:, :1] @ rng.standard_normal((1, dv)) + rng.standard_normal((N, dv))
    Y[:, : min(du, dv)] += 0.7 * X[:, : min(du, dv)]
    fit = fit_restriction_maps(X, Y, k, reg=reg, center=center)
    rho, Fu_ref, Fv_ref = _reference(X, Y, k, reg, center)
    np.testing.assert_allclose(fit.correlations, rho, rtol=0, atol=1e-10)
    # maps agree row by row up to a common sign per canonical pair
    sign = np.sign(np.sum(fit.tail * Fu_ref, axis=1))
    np.testing.assert_allclose(fit.tail, sign[:, None] * Fu_ref, atol=1e-8 * np.abs(Fu_ref).max())
    np.testing.assert_allclose(fit.head, sign[:, None] * Fv_ref, atol=1e-8 * np.abs(Fv_ref).max())
    assert fit.tail.shape == (k, du) and fit.head.shape == (k, dv)
    assert fit.tail.dtype == np.float64


def test_objective_identity_and_constraints():
    rng = np.random.default_rng(100)
    for reg in (0.0, 1e-6, 1e-2):
        for center in (True, False):
            X, Y, _, _ = _planted(rng, 400, 6, 5, 3, 0.5)
            X = X + 1.5
            k = 3
            fit = fit_restriction_maps(X, Y, k, reg=reg, center=center)
            Suu, lam_u = _ridge(_cov(X, center), reg)
            Svv, lam_v = _ridge(_cov(Y, center), reg)
            # constraints F Sigma F^T = I with the regularised covariances
            np.testing.assert_allclose(fit.tail @ Suu @ fit.tail.T, np.eye(k), atol=1e-10)
            np.testing.assert_allclose(fit.head @ Svv @ fit.head.T, np.eye(k), atol=1e-10)
            # the attained objective: exactly 2(k - sum rho) minus the ridge penalties
            formula = 2 * (k - fit.correlations.sum())
            penalty = lam_u * np.sum(fit.tail**2) + lam_v * np.sum(fit.head**2)
            assert fit.objective == pytest.approx(formula - penalty, abs=1e-10)
            if reg == 0:
                assert fit.objective == pytest.approx(formula, abs=1e-10)
            # and it is the mean squared inconsistency of the (centred) training data
            mu_u = X.mean(0) if center else np.zeros(6)
            mu_v = Y.mean(0) if center else np.zeros(5)
            np.testing.assert_array_equal(fit.mean_u, mu_u)
            np.testing.assert_array_equal(fit.mean_v, mu_v)
            R = (X - mu_u) @ fit.tail.T - (Y - mu_v) @ fit.head.T
            assert fit.objective == pytest.approx(np.mean(np.sum(R**2, 1)), rel=1e-12)


def test_optimal_among_feasible_maps_and_orthogonal_invariance():
    rng = np.random.default_rng(101)
    X, Y, _, _ = _planted(rng, 300, 5, 4, 2, 1.0)
    k = 2
    fit = fit_restriction_maps(X, Y, k, reg=0.0)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)

    def J(Fu, Fv):
        R = Xc @ Fu.T - Yc @ Fv.T
        return np.mean(np.sum(R**2, 1))

    Wu = sla.fractional_matrix_power(_cov(X), -0.5).real
    Wv = sla.fractional_matrix_power(_cov(Y), -0.5).real
    for _ in range(200):
        # a random feasible pair: orthonormal rows times the whitening matrices
        Gu = np.linalg.qr(rng.standard_normal((5, k)))[0].T
        Gv = np.linalg.qr(rng.standard_normal((4, k)))[0].T
        assert fit.objective <= J(Gu @ Wu, Gv @ Wv) + 1e-12
    # any common Q in O(k) gives another optimum
    Q = np.linalg.qr(rng.standard_normal((k, k)))[0]
    assert J(Q @ fit.tail, Q @ fit.head) == pytest.approx(fit.objective, abs=1e-12)
    np.testing.assert_allclose(Q @ fit.tail @ _cov(X) @ fit.tail.T @ Q.T, np.eye(k), atol=1e-10)


# ----------------------------------------------------------------------
# planted recovery
# ----------------------------------------------------------------------


def test_noiseless_planted_recovery_is_exact():
    rng = np.random.default_rng(102)
    # shared latent plus private signal (full-rank covariances, reg = 0)
    for k, du, dv in ((1, 3, 4), (3, 6, 5), (2, 2, 7)):
        X, Y, A_u, A_v = _planted(rng, 300, du, dv, k, 0.0, private=True)
        fit = fit_restriction_maps(X, Y, k, reg=0.0)
        np.testing.assert_allclose(fit.correlations, 1.0, atol=1e-12)
        assert fit.objective < 1e-20
        assert _rel_consistency(fit.tail, fit.head, A_u, A_v) < 1e-10


def test_noisy_planted_recovery_improves_with_noise():
    rng = np.random.default_rng(7)
    N, du, dv, k = 3000, 8, 6, 3
    z_test = rng.standard_normal((k, 50))
    errors, gaps = [], []
    for noise in (1e-4, 1e-3, 1e-2, 1e-1):
        X, Y, A_u, A_v = _planted(np.random.default_rng(11), N, du, dv, k, noise)
        fit = fit_restriction_maps(X, Y, k)
        errors.append(_rel_consistency(fit.tail, fit.head, A_u, A_v))
        gaps.append(1 - fit.correlations.min())
        # held-out planted events have near-zero Dirichlet energy on the learned sheaf
        sheaf = learn_sheaf([[0, 1]], [X, Y], k)
        x = np.concatenate([A_u @ z_test, A_v @ z_test])  # (du + dv, 50) stack of 0-cochains
        e_planted = dirichlet_energy(sheaf, x)
        e_random = dirichlet_energy(sheaf, rng.standard_normal(x.shape) * x.std(1, keepdims=True))
        if noise <= 1e-2:
            assert np.median(e_planted / e_random) < 10 * noise
    assert errors[0] < 1e-4 and gaps[0] < 1e-5
    assert np.all(np.diff(errors) > 0), errors
    assert np.all(np.diff(gaps) > 0), gaps


@pytest.mark.parametrize("ragged", [False, True])
def test_learn_sheaf_on_graphs_matches_per_edge_fits(ragged):
    rng = np.random.default_rng(5 + ragged)
    N, k_lat = 600, 2
    graphs = [nx.cycle_graph(6), nx.gnp_random_graph(9, 0.45, seed=3)]
    for G in graphs:
        n = G.number_of_nodes()
        dims = rng.integers(2, 6, n) if ragged else np.full(n, 4)
        z = rng.standard_normal((N, k_lat))
        A = [rng.standard_normal((int(d), k_lat)) for d in dims]
        feats = [
            z @ a.T + 1e-3 * rng.standard_normal((N, int(d)))
            for a, d in zip(A, dims, strict=True)
        ]
        edges = np.array(list(G.edges()))
        cap = np.minimum(dims[edges[:, 0]], dims[edges[:, 1]])
        if ragged:
            ks = rng.integers(1, cap + 1)
            ks = np.minimum(ks, k_lat)  # consistency is only promised up to the latent rank
            features = feats
        else:
            ks = k_lat
            features = np.stack(feats)
        sheaf = learn_sheaf(G, features, ks)
        assert isinstance(sheaf, CellularSheaf)
        assert sheaf.vertex_labels == list(G.nodes)
        np.testing.assert_array_equal(sheaf.edges, edges)
        np.testing.assert_array_equal(sheaf.vertex_dims, dims)
        for e, (u, v) in enumerate(edges):
            k = int(np.broadcast_to(ks, len(edges))[e])
            fit = fit_restriction_maps(feats[u], feats[v], k)
            np.testing.assert_allclose(sheaf.tail_map(e), fit.tail, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(sheaf.head_map(e), fit.head, rtol=1e-9, atol=1e-9)
            err = _rel_consistency(sheaf.tail_map(e), sheaf.head_map(e), A[u], A[v])
            assert err < 1e-2, (e, err)
        # a held-out event seen by every vertex is (nearly) a global section
        z1 = rng.standard_normal(k_lat)
        x = np.concatenate([a @ z1 for a in A])
        assert dirichlet_energy(sheaf, x) < 1e-4 * np.sum(x**2)


def test_learn_sheaf_chunked_paths_agree(monkeypatch):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 50, 3)) + rng.standard_normal((1, 50, 3))
    edges = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 0], [0, 3]]
    ref = learn_sheaf(edges, X, 2)
    monkeypatch.setattr(_learn, "_CHUNK_BYTES", 1)  # one edge / vertex per chunk
    chunked = learn_sheaf(edges, X, 2)
    np.testing.assert_allclose(chunked.tail_maps, ref.tail_maps, atol=1e-12)
    np.testing.assert_allclose(chunked.head_maps, ref.head_maps, atol=1e-12)


def test_learn_sheaf_edge_list_isolated_and_empty():
    rng = np.random.default_rng(4)
    feats = [rng.standard_normal((40, d)) for d in (3, 2, 4, 1)]
    # vertex 3 is isolated: it keeps its dimension, and its features are not whitened
    feats[3] = np.zeros((40, 1))
    F = learn_sheaf(np.array([[0, 1], [2, 0]]), feats, 1, n_vertices=4)
    np.testing.assert_array_equal(F.vertex_dims, [3, 2, 4, 1])
    np.testing.assert_array_equal(F.edge_dims, [1, 1])
    E = learn_sheaf(np.zeros((0, 2), dtype=int), feats, 1, n_vertices=4)
    assert E.n_edges == 0 and E.n_vertices == 4


# ----------------------------------------------------------------------
# invariance
# ----------------------------------------------------------------------


def test_correlations_invariant_under_linear_maps_of_the_data():
    rng = np.random.default_rng(103)
    X, Y, _, _ = _planted(rng, 500, 5, 4, 3, 0.7)
    base = fit_restriction_maps(X, Y, 3, reg=0.0)
    T = rng.standard_normal((5, 5)) + 3 * np.eye(5)
    for Xt in (X * 1e4, X * 1e-3, X * 1e150, X * 1e-150, X @ T.T, X @ T.T + 100.0):
        fit = fit_restriction_maps(Xt, Y, 3, reg=0.0)
        np.testing.assert_allclose(fit.correlations, base.correlations, atol=1e-9)
    # the maps transform contravariantly: F_u' T = F_u (up to the sign of each pair)
    fit = fit_restriction_maps(X @ T.T, Y, 3, reg=0.0)
    sign = np.sign(np.sum((fit.tail @ T) * base.tail, axis=1))
    np.testing.assert_allclose(sign[:, None] * (fit.tail @ T), base.tail, atol=1e-8)
    np.testing.assert_allclose(sign[:, None] * fit.head, base.head, atol=1e-8)
    # swapping the roles of u and v swaps the maps
    swapped = fit_restriction_maps(Y, X, 3, reg=0.0)
    np.testing.assert_allclose(swapped.correlations, base.correlations, atol=1e-12)


def test_float32_and_result_object():
    rng = np.random.default_rng(104)
    X, Y, _, _ = _planted(rng, 200, 4, 4, 2, 0.3)
    fit = fit_restriction_maps(X.astype(np.float32), Y.astype(np.float32), 2)
    assert isinstance(fit, RestrictionFit)
    assert fit.tail.dtype == np.float64 and isinstance(fit.objective, float)
    with pytest.raises(ValueError):
        fit.tail[0, 0] = 1.0  # read-only
    with pytest.raises(AttributeError):
        fit.objective = 0.0  # frozen
    assert "edge_dim=2" in repr(fit)


# ----------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------


def test_fit_bad_input():
    rng = np.random.default_rng(105)
    X = rng.standard_normal((30, 4))
    Y = rng.standard_normal((30, 3))
    with pytest.raises(ValueError, match="same number of paired samples"):
        fit_restriction_maps(X, Y[:20], 2)
    with pytest.raises(ValueError, match="at least 2 paired samples"):
        fit_restriction_maps(X[:1], Y[:1], 1)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="X_u must not contain NaN"):
        fit_restriction_maps(Xn, Y, 2)
    Yi = Y.copy()
    Yi[0, 0] = np.inf
    with pytest.raises(ValueError, match="X_v must not contain"):
        fit_restriction_maps(X, Yi, 2)
    with pytest.raises(ValueError, match="edge_dim must be >= 1"):
        fit_restriction_maps(X, Y, 0)
    with pytest.raises(ValueError, match=r"edge_dim must be <= min\(d_u, d_v\)"):
        fit_restriction_maps(X, Y, 4)
    with pytest.raises(TypeError, match="edge_dim must be an integer"):
        fit_restriction_maps(X, Y, 2.0)
    with pytest.raises(TypeError, match="edge_dim must be an integer"):
        fit_restriction_maps(X, Y, True)
    with pytest.raises(ValueError, match="X_u must be a 2-D array"):
        fit_restriction_maps(X[:, 0], Y, 1)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        fit_restriction_maps(X, Y, 2, reg=-1e-3)
    with pytest.raises(ValueError, match="reg must be a finite"):
        fit_restriction_maps(X, Y, 2, reg=np.nan)
    with pytest.raises(TypeError, match="center must be True or False"):
        fit_restriction_maps(X, Y, 2, center="yes")
    with pytest.raises(TypeError, match="X_u must hold real numbers"):
        fit_restriction_maps(X.astype(complex), Y, 2)
    with pytest.raises(ValueError, match="X_v is constant"):
        fit_restriction_maps(X, np.ones((30, 3)), 2)
    # rank deficiency: singular with reg = 0, fine with the default ridge
    Xs = np.hstack([X, X[:, :1]])
    with pytest.raises(ValueError, match=r"X_u has a singular covariance.*reg > 0"):
        fit_restriction_maps(Xs, Y, 2, reg=0.0)
    assert np.all(np.isfinite(fit_restriction_maps(Xs, Y, 2).correlations))
    with pytest.raises(ValueError, match="singular covariance"):
        fit_restriction_maps(X[:4], Y[:4], 2, reg=0.0)  # N - 1 < d after centring


def test_learn_sheaf_bad_input():
    rng = np.random.default_rng(106)
    X = rng.standard_normal((3, 20, 4))
    edges = [[0, 1], [1, 2]]
    with pytest.raises(ValueError, match=r"features must have shape \(n_vertices=3, N, d\)"):
        learn_sheaf(edges, X[:2], 2)
    with pytest.raises(ValueError, match="features must have shape"):
        learn_sheaf(edges, X[0], 2)
    with pytest.raises(ValueError, match="one \\(N, d_v\\) array per vertex, 3 in all"):
        learn_sheaf(edges, list(X[:2]), 2)
    with pytest.raises(ValueError, match="same number N of paired samples"):
        learn_sheaf(edges, [X[0], X[1][:10], X[2]], 2)
    with pytest.raises(ValueError, match="at least 2 samples"):
        learn_sheaf(edges, X[:, :1], 1)
    with pytest.raises(ValueError, match=r"features\[2\] must be a 2-D array"):
        learn_sheaf(edges, [X[0], X[1], X[2][:, 0]], 1)
    Xn = X.copy()
    Xn[1, 5, 2] = np.nan
    with pytest.raises(ValueError, match=r"features must be finite; features\[1, 5, 2\]"):
        learn_sheaf(edges, Xn, 2)
    with pytest.raises(ValueError, match=r"features\[1\] must not contain NaN"):
        learn_sheaf(edges, list(Xn), 2)
    with pytest.raises(ValueError, match="edge_dim must be >= 1"):
        learn_sheaf(edges, X, 0)
    with pytest.raises(ValueError, match=r"edge 1 = \(1, 2\).*edge_dim\[1\] = 3"):
        learn_sheaf(edges, [X[0], X[1], X[2][:, :2]], np.array([2, 3]))
    with pytest.raises(ValueError, match=r"edge_dim must be an int or have shape \(2,\)"):
        learn_sheaf(edges, X, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="reg must be >= 0"):
        learn_sheaf(edges, X, 2, reg=-1.0)
    with pytest.raises(TypeError, match="features must be an array"):
        learn_sheaf(edges, {0: X[0]}, 2)
    with pytest.raises(ValueError, match="repeats the edge"):
        learn_sheaf([[0, 1], [1, 0]], X, 2)
    Xc = X.copy()
    Xc[2] = 5.0
    with pytest.raises(ValueError, match=r"features\[2\] \(vertex 2\) is constant"):
        learn_sheaf(edges, Xc, 2)
    with pytest.raises(ValueError, match=r"features\[0\].*singular covariance"):
        learn_sheaf(edges, X[:, :4], 2, reg=0.0)  # N = 4 samples in dimension 4


def test_inputs_are_never_modified():
    rng = np.random.default_rng(107)
    X, Y, _, _ = _planted(rng, 100, 4, 3, 2, 0.2)
    X, Y = X + 1.0, Y - 2.0
    X0, Y0 = X.copy(), Y.copy()
    X.setflags(write=False)
    Y.setflags(write=False)
    fit_restriction_maps(X, Y, 2)
    fit_restriction_maps(X, Y, 2, center=False)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)
    F = np.stack([X[:, :3], Y, X[:, 1:]])
    F0 = F.copy()
    F.setflags(write=False)
    learn_sheaf([[0, 1], [1, 2], [2, 0]], F, 2)
    learn_sheaf([[0, 1], [1, 2]], [X, Y, X], 2)
    np.testing.assert_array_equal(F, F0)
    np.testing.assert_array_equal(X, X0)
    ks = np.array([1, 2])
    ks.setflags(write=False)
    learn_sheaf([[0, 1], [1, 2]], [X, Y, X], ks)
    np.testing.assert_array_equal(ks, [1, 2])
