"""Shared/specific subspace decomposition: planted recovery, projector algebra, oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import subspace_angles

from sheaftopo.datasets import load_mfeat
from sheaftopo.fiber import (
    make_planted_subspaces,
    principal_angles,
    subspace_decomposition,
)


def _max_angle(A, B):
    return float(principal_angles(A, B).max())


def test_exact_moments_recover_the_planted_decomposition_exactly():
    data = make_planted_subspaces(
        200,
        dim_x=9,
        dim_y=7,
        n_shared=3,
        n_specific_x=2,
        n_specific_y=3,
        correlation=[0.95, 0.8, 0.6],
        noise=0.4,
        exact_moments=True,
        seed=3,
    )
    dec = subspace_decomposition(
        data.X, data.Y, n_shared="threshold", threshold=1e-6, n_specific=(2, 3)
    )
    assert dec.n_shared == 3 and dec.rule == "threshold"
    assert np.allclose(dec.correlations[:3], data.canonical_correlations, atol=1e-12)
    assert np.allclose(data.canonical_correlations, np.array([0.95, 0.8, 0.6]) / 1.16)
    assert np.abs(dec.correlations[3:]).max() < 1e-12
    for est, planted in (
        (dec.x.shared_basis, data.shared_x),
        (dec.x.specific_basis, data.specific_x),
        (dec.y.shared_basis, data.shared_y),
        (dec.y.specific_basis, data.specific_y),
    ):
        assert est.shape == planted.shape
        assert _max_angle(est, planted) < 1e-10
    # population variance fractions: (k (1 + s^2), r (1 + s^2), rest s^2) / trace
    s2 = 0.16
    total = 3 * 1 + 2 * 1 + 9 * s2
    assert dec.x.variance_shared == pytest.approx(3 * (1 + s2) / total, rel=1e-10)
    assert dec.x.variance_specific == pytest.approx(2 * (1 + s2) / total, rel=1e-10)


def test_sampled_recovery_improves_with_n_within_stated_angles():
    # stated bound for this configuration: max principal angle < 400 / sqrt(N) degrees
    worst = {}
    for n in (500, 5000, 50000):
        angles = []
        for seed in range(3):
            data = make_planted_subspaces(n, dim_x=16, dim_y=12, n_shared=3, seed=seed)
            dec = subspace_decomposition(
                data.X, data.Y, n_specific=(2, 2), seed=seed, n_permutations=19
            )
            assert dec.n_shared == 3
            angles.append(
                max(
                    _max_angle(dec.x.shared_basis, data.shared_x),
                    _max_angle(dec.y.shared_basis, data.shared_y),
                    _max_angle(dec.x.specific_basis, data.specific_x),
                    _max_angle(dec.y.specific_basis, data.specific_y),
                )
            )
        worst[n] = np.degrees(max(angles))
        assert worst[n] < 400 / np.sqrt(n), (n, worst[n])
    assert worst[50000] < worst[5000] < worst[500]


def test_projectors_are_orthogonal_and_sum_to_identity():
    data = make_planted_subspaces(800, dim_x=10, dim_y=8, n_shared=2, seed=1)
    for spec in (None, 3, (2, 1)):
        dec = subspace_decomposition(data.X, data.Y, n_specific=spec, seed=0)
        for part in (dec.x, dec.y):
            Ps, Pi, Pr = part.shared, part.specific, part.residual
            d = Ps.shape[0]
            for P in (Ps, Pi, Pr):
                assert np.allclose(P, P.T, atol=1e-13)
                assert np.allclose(P @ P, P, atol=1e-13)
            assert np.abs(Ps @ Pi).max() < 1e-13 and np.abs(Ps @ Pr).max() < 1e-13
            assert np.abs(Pi @ Pr).max() < 1e-13
            assert np.allclose(Ps + Pi + Pr, np.eye(d), atol=1e-13)
            total = part.variance_shared + part.variance_specific + part.variance_residual
            assert total == pytest.approx(1.0, abs=1e-12)
            if spec is None:
                assert part.residual_basis.shape[1] == 0 and part.variance_residual == 0.0


def test_correlations_match_the_covariance_eigen_oracle_and_are_affine_invariant():
    rng = np.random.default_rng(5)
    data = make_planted_subspaces(600, dim_x=7, dim_y=5, n_shared=2, seed=2)
    X, Y = data.X, data.Y
    dec = subspace_decomposition(X, Y, n_shared=2)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Sxx, Syy, Sxy = Xc.T @ Xc, Yc.T @ Yc, Xc.T @ Yc
    M = np.linalg.solve(Sxx, Sxy) @ np.linalg.solve(Syy, Sxy.T)
    rho2 = np.sort(np.linalg.eigvals(M).real)[::-1][:5]
    assert np.allclose(dec.correlations**2, rho2, atol=1e-12)
    A = rng.standard_normal((7, 7)) + 3 * np.eye(7)
    dec2 = subspace_decomposition(X @ A + 5.0, Y * 3.0, n_shared=2)
    assert np.allclose(dec.correlations, dec2.correlations, atol=1e-10)
    assert np.allclose(dec.angles, np.arccos(dec.correlations))


def test_shared_coordinates_are_the_canonical_variates():
    data = make_planted_subspaces(3000, dim_x=8, dim_y=6, n_shared=3, seed=4)
    dec = subspace_decomposition(data.X, data.Y, n_shared=3)
    U = dec.x.shared_coordinates(data.X)
    V = dec.y.shared_coordinates(data.Y)
    assert np.allclose(U.mean(0), 0, atol=1e-12) and np.allclose(U.T @ U / 3000, np.eye(3))
    assert np.allclose(np.diag(U.T @ V) / 3000, dec.correlations[:3], atol=1e-12)
    # loadings are covariances between the features and the variates
    Xc = data.X - data.X.mean(0)
    assert np.allclose(dec.x.loadings, Xc.T @ U / 3000, atol=1e-12)
    with pytest.raises(ValueError, match="must have 8 columns"):
        dec.x.shared_coordinates(data.Y)


def test_permutation_rule_finds_nothing_shared_in_independent_data():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((400, 6))
    Y = rng.standard_normal((400, 5))
    dec = subspace_decomposition(X, Y, seed=0, n_permutations=99)
    assert dec.n_shared == 0 and dec.p_values is not None
    assert dec.x.shared_basis.shape == (6, 0) and dec.x.variance_shared == 0.0
    assert ((dec.p_values > 0) & (dec.p_values <= 1)).all()
    again = subspace_decomposition(X, Y, seed=0, n_permutations=99)
    assert np.array_equal(dec.p_values, again.p_values)


def test_common_space_angles():
    data = make_planted_subspaces(
        20000,
        dim_x=12,
        dim_y=12,
        n_shared=3,
        n_specific_x=2,
        n_specific_y=2,
        common_space=True,
        seed=6,
    )
    assert np.array_equal(data.shared_x, data.shared_y)
    dec = subspace_decomposition(data.X, data.Y, n_shared=3, n_specific=2)
    assert dec.common_shared_angles.max() < np.radians(3)
    assert dec.common_specific_angles.min() > np.radians(80)
    other = make_planted_subspaces(500, dim_x=8, dim_y=6, seed=0)
    dec2 = subspace_decomposition(other.X, other.Y, n_shared=2)
    assert dec2.common_shared_angles is None and dec2.common_specific_angles is None


def test_ridge_handles_more_features_than_samples():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 50))
    Y = X[:, :40] @ rng.standard_normal((40, 45)) + rng.standard_normal((30, 45))
    dec = subspace_decomposition(X, Y, n_shared=2, reg=0.1)
    assert (dec.correlations < 1).all() and dec.correlations[0] > 0.5
    raw = subspace_decomposition(X, Y, n_shared=2)  # column spaces overlap: spurious 1s
    assert raw.correlations[0] == pytest.approx(1.0, abs=1e-10)


def test_principal_angles_against_scipy_and_tiny_angles():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((20, 4))
    B = rng.standard_normal((20, 6))
    assert np.allclose(principal_angles(A, B), np.sort(subspace_angles(A, B)), atol=1e-12)
    Q = np.linalg.qr(rng.standard_normal((20, 3)))[0]
    tilt = Q + 1e-9 * rng.standard_normal((20, 3))
    ang = principal_angles(Q, tilt)
    assert ang.max() < 1e-8 and ang.max() > 1e-11  # small angles resolved, not sqrt(eps)
    assert np.allclose(principal_angles(np.eye(3)[:, :1], np.eye(3)[:, 1:]), [np.pi / 2] * 1)
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(A, B[:5])


def test_mfeat_fourier_and_karhunen_loeve_views_share_a_subspace():
    mv = load_mfeat(["fou", "kar"], standardize=True)
    dec = subspace_decomposition(mv["fou"], mv["kar"], seed=0)
    assert dec.n_shared == 15
    assert dec.correlations[0] > 0.9 and dec.p_values[dec.n_shared] > 0.05
    assert 0.4 < dec.x.variance_shared < 0.55 and 0.4 < dec.y.variance_shared < 0.55
    assert dec.x.shared_basis.shape == (76, 15) and dec.y.shared_basis.shape == (64, 15)
    # the views are of the same digits: their shared coordinates agree across views
    U = dec.x.shared_coordinates(mv["fou"])
    V = dec.y.shared_coordinates(mv["kar"])
    assert np.corrcoef(U[:, 0], V[:, 0])[0, 1] == pytest.approx(dec.correlations[0])


def test_bad_inputs():
    X = np.zeros((10, 3)) + np.arange(3)
    X[::2] += 1.0
    Y = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match=r"same number of rows .* X of shape \(10, 3\) and Y of"):
        subspace_decomposition(X, Y[:9])
    with pytest.raises(ValueError, match="at least 3 paired rows"):
        subspace_decomposition(X[:2], Y[:2])
    with pytest.raises(ValueError, match="Y has zero variance"):
        subspace_decomposition(X, np.ones((10, 2)))
    with pytest.raises(ValueError, match="X must not contain NaN"):
        subspace_decomposition(np.full((10, 3), np.nan), Y)
    with pytest.raises(ValueError, match="n_shared must be <= the number of canonical"):
        subspace_decomposition(X, Y, n_shared=5)
    with pytest.raises(ValueError, match="n_shared must be an int or one of"):
        subspace_decomposition(X, Y, n_shared="auto")
    with pytest.raises(ValueError, match="n_specific for X must be <="):
        subspace_decomposition(X, Y, n_shared=1, n_specific=3)
    with pytest.raises(TypeError, match="n_specific must be None"):
        subspace_decomposition(X, Y, n_specific="all")
    with pytest.raises(ValueError, match=r"alpha must be < 1\.0"):
        subspace_decomposition(X, Y, alpha=1.0)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        subspace_decomposition(X, Y, reg=-1.0)
    with pytest.raises(ValueError, match="correlation must be in"):
        make_planted_subspaces(50, correlation=1.5)
    with pytest.raises(ValueError, match="common_space=True needs dim_x == dim_y"):
        make_planted_subspaces(50, common_space=True)
    with pytest.raises(ValueError, match="exact_moments needs n_samples >"):
        make_planted_subspaces(20, exact_moments=True)
    with pytest.raises(ValueError, match="n_shared \\+ n_specific_x <= dim_x"):
        make_planted_subspaces(50, dim_x=3, n_shared=2, n_specific_x=2)


# ----------------------------------------------------------------------
# regressions (issue 14)
# ----------------------------------------------------------------------


def _exact_angle(a, b):
    """The angle between two vectors, in 50-digit arithmetic from their float64 entries."""
    import mpmath

    mpmath.mp.dps = 50
    va = [mpmath.mpf(float(x)) for x in a]
    vb = [mpmath.mpf(float(x)) for x in b]
    dot = mpmath.fsum(x * y for x, y in zip(va, vb, strict=True))
    na = mpmath.sqrt(mpmath.fsum(x * x for x in va))
    nb = mpmath.sqrt(mpmath.fsum(x * x for x in vb))
    cross = mpmath.sqrt(max(na**2 * nb**2 - dot**2, mpmath.mpf(0)))
    return float(mpmath.atan2(cross, dot))


@pytest.mark.parametrize("t", [1e-10, 1e-13, 3e-8, 0.3, np.pi / 4, 1.2, np.pi / 2 - 1e-9])
def test_regression_principal_angles_are_accurate_for_tiny_angles(t):
    # one tilted direction at an exactly known angle (mpmath from the float64 entries),
    # plus two common directions whose angle is exactly 0
    a = np.zeros(5)
    a[0] = 1.0
    b = np.zeros(5)
    b[0], b[1] = np.cos(t), np.sin(t)
    A = np.column_stack([a, np.eye(5)[:, 2], np.eye(5)[:, 3]])
    B = np.column_stack([b, np.eye(5)[:, 2], np.eye(5)[:, 3]])
    exact = _exact_angle(a, b)
    ang = principal_angles(A, B)
    assert ang[:2].max() <= 1e-15
    assert ang[2] == pytest.approx(exact, rel=1e-14, abs=1e-16)
    # rotated into a random orientation, and at extreme magnitudes
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((5, 5)))[0]
    for scale in (1e-300, 1.0, 1e300):
        ang = principal_angles(Q @ A * scale, Q @ B)
        assert ang[2] == pytest.approx(exact, rel=1e-12, abs=2e-15)
        assert ang[:2].max() < 2e-15
    # scipy agrees where its formulas are well conditioned (near pi/2 it loses ~1e-8
    # after a rotation, while the angle above matches mpmath to 1e-12)
    if t <= 1.2:
        ref = np.sort(subspace_angles(Q @ A, Q @ B))
        assert np.allclose(principal_angles(Q @ A, Q @ B), ref, rtol=1e-12, atol=2e-15)


def test_regression_correlation_angles_of_identical_spaces_are_rounding_errors():
    # issue 14: arccos of correlations 1 - 2**-52 gave ~2e-8 rad for a rotated copy
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 12)) @ rng.standard_normal((12, 12))
    Q = np.linalg.qr(rng.standard_normal((12, 12)))[0]
    for reg in (0.0, 0.1):
        dec = subspace_decomposition(X, X @ Q, n_shared="threshold", reg=reg)
        if reg == 0.0:
            assert dec.angles.max() < 1e-13, dec.angles
        # the angles are the arccos of the correlations, computed stably
        assert np.allclose(np.cos(dec.angles), dec.correlations, atol=1e-14)
        assert np.all(np.diff(dec.angles) >= 0)
    dec = subspace_decomposition(X, X.copy(), n_shared="threshold")
    assert dec.angles.max() < 1e-14


@pytest.mark.parametrize("sx,sy", [(1e300, 1e-300), (1e-300, 1.0), (1e200, 1e200)])
def test_regression_subspace_decomposition_at_extreme_magnitudes(sx, sy):
    data = make_planted_subspaces(400, dim_x=6, dim_y=5, n_shared=2, seed=2)
    ref = subspace_decomposition(data.X, data.Y, n_specific=(2, 2), seed=0)
    dec = subspace_decomposition(data.X * sx, data.Y * sy, n_specific=(2, 2), seed=0)
    assert dec.n_shared == ref.n_shared
    assert np.allclose(dec.correlations, ref.correlations, atol=1e-12)
    assert np.allclose(dec.angles, ref.angles, atol=1e-12)
    assert dec.x.variance_shared == pytest.approx(ref.x.variance_shared, rel=1e-10)
    assert np.allclose(dec.x.loadings / sx, ref.x.loadings, rtol=1e-9, atol=1e-12)
    assert np.allclose(dec.y.weights * sy, ref.y.weights, rtol=1e-9, atol=1e-12)
    assert np.allclose(dec.x.mean / sx, ref.x.mean, rtol=1e-12)
    U = dec.x.shared_coordinates(data.X * sx)
    assert np.allclose(U, ref.x.shared_coordinates(data.X), atol=1e-9)
    assert _max_angle(dec.x.shared_basis, ref.x.shared_basis) < 1e-9


def test_regression_subspace_decomposition_refuses_what_float64_cannot_hold():
    data = make_planted_subspaces(60, dim_x=4, dim_y=3, n_shared=1, seed=0)
    with pytest.raises(ValueError, match=r"X's spread .* overflow; rescale X"):
        subspace_decomposition(data.X * 1e-320, data.Y)
    with pytest.raises(ValueError, match="n_permutations must be <= 1000000"):
        subspace_decomposition(data.X, data.Y, n_permutations=10**12)
    # far outside the fitted scale, the variates are still right (no overflow of X - mean)
    dec = subspace_decomposition(data.X, data.Y, seed=0)
    D = np.random.default_rng(0).standard_normal((5, 4))
    for t in (1e300, -1e300, 1e250):
        got = dec.x.shared_coordinates(dec.x.mean + t * D)
        assert np.allclose(got / t, D @ dec.x.weights, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bad", ["0.5", True, np.array([True, True, True]), [0.5, "a", 1]])
def test_regression_planted_correlation_must_be_real(bad):
    with pytest.raises(TypeError, match="correlation"):
        make_planted_subspaces(50, correlation=bad)


def test_regression_planted_generator_validates_shapes_flags_and_sizes():
    with pytest.raises(ValueError, match=r"correlation must be a scalar or have shape \(3,\)"):
        make_planted_subspaces(50, correlation=[0.5, 0.5])
    with pytest.raises(TypeError, match="common_space must be True or False"):
        make_planted_subspaces(50, common_space="False")
    with pytest.raises(TypeError, match="exact_moments must be True or False"):
        make_planted_subspaces(50, exact_moments=1)
    with pytest.raises(ValueError, match=r"n_samples=1000000000000.* GiB"):
        make_planted_subspaces(10**12)
    with pytest.raises(ValueError, match="noise"):
        make_planted_subspaces(50, noise=1e308)
    data = make_planted_subspaces(50, noise=1e300, seed=0)
    assert np.isfinite(data.X).all() and (data.canonical_correlations == 0).all()
