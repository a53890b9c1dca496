"""Random-pair baselines: exact expectations, concentration bounds, Monte Carlo agreement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sheaftopo.fiber import fiber_profile, fraction_deviation, random_pair_fraction


@pytest.mark.parametrize("d", [1, 2, 8, 64, 512])
def test_euclidean_expectation_is_the_chi_square_cdf_and_bounds_hold(d):
    sigma = 0.7
    eps = np.linspace(0, 3 * sigma * np.sqrt(2 * d), 200)
    r = random_pair_fraction(eps, d, sigma=sigma)
    assert np.allclose(r.expected, stats.chi2.cdf(eps**2 / (2 * sigma**2), d), atol=1e-14)
    assert (r.lower_bound <= r.expected + 1e-15).all()
    assert (r.expected <= r.upper_bound + 1e-15).all()
    assert r.typical_distance == pytest.approx(sigma * np.sqrt(2 * d))
    assert np.all(np.diff(r.expected) >= 0)


@pytest.mark.parametrize("d", [2, 3, 16, 300])
def test_cosine_expectation_is_the_spherical_cap_and_bounds_hold(d):
    eps = np.linspace(0, 2, 101)
    r = random_pair_fraction(eps, d, metric="cosine")
    # (1 + <u, v>) / 2 ~ Beta((d-1)/2, (d-1)/2)
    a = (d - 1) / 2
    assert np.allclose(r.expected, stats.beta.sf(1 - eps / 2, a, a), atol=1e-12)
    assert (r.lower_bound <= r.expected + 1e-15).all()
    assert (r.expected <= r.upper_bound + 1e-15).all()
    assert r.expected[0] == 0.0 and r.expected[-1] == pytest.approx(1.0)


def test_concentration_sharpens_with_dimension():
    # fraction of pairs within 0.8 x the typical distance collapses as d grows
    frac = [random_pair_fraction(0.8 * np.sqrt(2 * d), d).expected[0] for d in (8, 64, 512)]
    assert frac[0] > 0.2 > 0.02 > frac[1] > frac[2] and frac[2] < 1e-10
    ub = [random_pair_fraction(0.8 * np.sqrt(2 * d), d).upper_bound[0] for d in (8, 64, 512)]
    assert ub[0] > ub[1] > ub[2] and ub[2] < 1e-7


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_monte_carlo_fraction_within_hoeffding_radius(metric):
    rng = np.random.default_rng(0)
    d, n = 24, 600
    F = rng.normal(2.0, 1.5, (n, d))
    G = rng.normal(2.0, 1.5, (n, d))
    if metric == "cosine":
        F -= 2.0
        G -= 2.0  # rotation invariance needs centred rows
        grid = np.linspace(0.5, 1.5, 9)
    else:
        grid = np.linspace(1.5 * 6, 1.5 * 8, 9)
    prof = fiber_profile(F, G, grid, metric=metric)
    r = random_pair_fraction(grid, d, sigma=1.5, metric=metric)
    radius = fraction_deviation(n, n, delta=1e-9)
    assert np.abs(prof.fractions - r.expected).max() <= radius
    assert np.abs(prof.fractions - r.expected).max() < 0.05


def test_fraction_deviation_formula_and_errors():
    assert fraction_deviation(100, 50, delta=0.05) == pytest.approx(np.sqrt(np.log(40) / 100))
    with pytest.raises(ValueError, match="delta must be > 0"):
        fraction_deviation(10, 10, delta=0.0)
    with pytest.raises(ValueError, match="n_rows must be >= 1"):
        fraction_deviation(0, 10)
    with pytest.raises(ValueError, match="eps must be finite tolerances >= 0"):
        random_pair_fraction([-1.0], 3)
    with pytest.raises(ValueError, match="dim must be >= 2"):
        random_pair_fraction([0.5], 1, metric="cosine")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        random_pair_fraction([0.5], 3, sigma=0.0)


# ----------------------------------------------------------------------
# regressions (issue 14)
# ----------------------------------------------------------------------


def test_regression_random_pair_fraction_at_extreme_magnitudes():
    # issue 14: sigma=1e300 raised OverflowError; eps=1e300 or sigma=1e-300 warned inf
    ref = random_pair_fraction([0.5, 1.0, 2.0], 3)
    for s in (1e-300, 1e-150, 1e150, 1e300):
        got = random_pair_fraction(np.array([0.5, 1.0, 2.0]) * s, 3, sigma=s)
        assert np.allclose(got.expected, ref.expected, rtol=1e-12)
        assert np.allclose(got.upper_bound, ref.upper_bound, rtol=1e-12)
        assert np.allclose(got.lower_bound, ref.lower_bound, rtol=1e-12)
        assert got.typical_distance == pytest.approx(s * np.sqrt(6), rel=1e-15)
    r = random_pair_fraction([0.0, 1e300, 1.7e308], 5, sigma=1e-300)
    assert r.expected.tolist() == [0.0, 1.0, 1.0] and r.lower_bound[-1] == 1.0
    c = random_pair_fraction([0.0, 1.0, 2.0, 1e300], 2**53, metric="cosine")
    assert c.expected.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert random_pair_fraction([1e300], 3, metric="cosine").lower_bound[0] == pytest.approx(
        1 - np.exp(-1.5)
    )
    with pytest.raises(ValueError, match=r"sigma \* sqrt\(2 dim\)"):
        random_pair_fraction([1.0], 3, sigma=1.7e308)
    with pytest.raises(ValueError, match="dim must be <= 9007199254740992"):
        random_pair_fraction([1.0], 10**400)


def test_regression_fraction_deviation_at_extreme_arguments():
    # issue 14: delta=1e-320 gave inf; 10**400 rows raised OverflowError
    assert fraction_deviation(10, 10, delta=5e-324) == pytest.approx(
        np.sqrt((np.log(2.0) + 744.4400719213812) / 20), rel=1e-15
    )
    r = fraction_deviation(10**400, 10**500, delta=1e-6)
    assert r == pytest.approx(np.sqrt(np.log(2e6) / 2) * 10.0**-200, rel=1e-12)
    assert fraction_deviation(2**60, 2**60) == pytest.approx(np.sqrt(np.log(2e6) / 2**61))
