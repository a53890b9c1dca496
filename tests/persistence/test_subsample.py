"""Greedy farthest-point subsampling against brute force and ripser's n_perm."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sheaftopo.persistence import bottleneck, farthest_point_subsample, h0_diagram

RNG = np.random.default_rng(3)


def _brute(X, k, start):
    D = cdist(X, X)
    idx = [start]
    mind = D[start].copy()
    radii = [np.inf]
    while len(idx) < k and mind.max() > 0:
        c = int(np.argmax(mind))
        radii.append(mind[c])
        idx.append(c)
        mind = np.minimum(mind, D[c])
    return np.array(idx), np.array(radii), mind.max()


@pytest.mark.parametrize("k", [1, 2, 10, 50])
def test_matches_brute_force(k):
    X = RNG.standard_normal((120, 5))
    s = farthest_point_subsample(X, k, start=7)
    idx, radii, r = _brute(X, k, 7)
    np.testing.assert_array_equal(s.indices, idx)
    np.testing.assert_allclose(s.insertion_radii, radii)
    assert s.covering_radius == pytest.approx(r)
    assert np.all(np.diff(s.insertion_radii[1:]) <= 0)
    assert s.bottleneck_bound == 2 * s.covering_radius
    sm = farthest_point_subsample(cdist(X, X), k, start=7, metric="precomputed")
    np.testing.assert_array_equal(sm.indices, s.indices)


def test_matches_ripser_n_perm():
    ripser = pytest.importorskip("ripser")
    X = RNG.standard_normal((300, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ripser.ripser(X, maxdim=0, n_perm=40)
    s = farthest_point_subsample(X, 40)
    np.testing.assert_array_equal(s.indices, res["idx_perm"])
    assert s.covering_radius == pytest.approx(res["r_cover"], rel=1e-6)


def test_bound_holds():
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((80, 3)) * rng.uniform(0.1, 10)
        s = farthest_point_subsample(X, int(rng.integers(1, 80)))
        dB = bottleneck(h0_diagram(X), h0_diagram(X[s.indices]))
        assert dB <= s.bottleneck_bound * (1 + 1e-9) + 1e-12


def test_max_radius_stops_early_and_duplicates_stop_at_zero():
    X = RNG.standard_normal((200, 2))
    s = farthest_point_subsample(X, 200, max_radius=0.5)
    assert s.covering_radius <= 0.5 < s.insertion_radii[-1]
    Y = np.repeat(RNG.standard_normal((5, 2)), 4, axis=0)
    t = farthest_point_subsample(Y, 20)
    assert len(t.indices) == 5 and t.covering_radius == 0.0


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n_samples": 0}, ValueError, "n_samples"),
        ({"n_samples": 11}, ValueError, "n_samples"),
        ({"n_samples": 2.0}, TypeError, "n_samples"),
        ({"n_samples": 2, "start": 10}, ValueError, "start"),
        ({"n_samples": 2, "metric": "cosine"}, ValueError, "metric"),
        ({"n_samples": 2, "max_radius": -1.0}, ValueError, "max_radius"),
    ],
)
def test_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        farthest_point_subsample(np.zeros((10, 2)), **kwargs)


# --------------------------------------------------------------------------
# regressions (issue 14): magnitudes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", (-1000, -560, 520, 1000))
def test_regression_radii_scale_exactly(k):
    """Radii were 0 below ~1e-160 and inf above ~1e154."""
    X = RNG.standard_normal((80, 3))
    ref = farthest_point_subsample(X, 12)
    got = farthest_point_subsample(np.ldexp(X, k), 12)
    np.testing.assert_array_equal(got.indices, ref.indices)
    assert got.insertion_radii.tobytes() == np.ldexp(ref.insertion_radii, k).tobytes()
    assert got.covering_radius == np.ldexp(ref.covering_radius, k)
    stop = farthest_point_subsample(np.ldexp(X, k), 80, max_radius=np.ldexp(ref.covering_radius, k))
    np.testing.assert_array_equal(stop.indices, ref.indices)


@pytest.mark.parametrize("s", (1e-300, 1e300))
def test_regression_radii_at_decimal_scales_and_max_radius(s):
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    got = farthest_point_subsample(X * s, 3)
    np.testing.assert_allclose(got.insertion_radii[1:] / s, [10.0, 2.0], rtol=1e-15)
    assert farthest_point_subsample(X * s, 4, max_radius=1e308).indices.tolist() == [0]
    assert farthest_point_subsample(X * s, 4, max_radius=2.5 * s).indices.tolist() == [0, 3]


def test_regression_radii_beyond_float64_are_refused():
    with pytest.raises(ValueError, match="data: distances between its points exceed"):
        farthest_point_subsample(np.array([[1.5e308], [-1.5e308]]), 2)


@pytest.mark.parametrize("n", [50, 9000])
def test_serial_and_parallel_updates_give_the_greedy_sample(n):
    """Small inputs update serially, large ones (>= 2^15 coordinates) in parallel: same greedy."""
    from sheaftopo.persistence._subsample_kernels import PARALLEL_MIN

    X = np.random.default_rng(3).standard_normal((n, 4))
    assert (n * 4 >= PARALLEL_MIN) == (n == 9000)
    s = farthest_point_subsample(X, 6, start=2)
    mind = np.linalg.norm(X - X[2], axis=1)
    ref = [2]
    for _ in range(5):
        ref.append(int(np.argmax(mind)))
        mind = np.minimum(mind, np.linalg.norm(X - X[ref[-1]], axis=1))
    np.testing.assert_array_equal(s.indices, ref)
    assert s.covering_radius == pytest.approx(mind.max(), rel=1e-12)
    M = cdist(X[:300], X[:300])  # 300^2 entries: the parallel matrix update
    sm = farthest_point_subsample(M, 6, metric="precomputed")
    mind, ref = M[0].copy(), [0]
    for _ in range(5):
        ref.append(int(np.argmax(mind)))
        mind = np.minimum(mind, M[ref[-1]])
    np.testing.assert_array_equal(sm.indices, ref)
