"""The fiber checks of the harness: an oracle exact at the boundary, and mutants it kills."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import verification
from verification import fiber as vf


def test_numpy_scalar_square_is_not_the_product():
    # why the oracle never decides a boundary pair with a float: ** 2 and x * x differ
    x = np.random.default_rng(0).standard_normal(20000)
    assert any(v**2 != v * v for v in x)


def _classify(F, G, eps, metric="euclidean"):
    must_in, must_out, ties = vf._Oracle(np.array(F, float), np.array(G, float),
                                         metric).classify(eps)
    return bool(must_in[0, 0]), bool(must_out[0, 0]), ties


@pytest.mark.parametrize("s", [0, -600, -1066, 400, 1000])
def test_an_exact_tie_must_be_in_at_every_scale(s):
    F, G = np.ldexp([[0.0, 0.0]], s), np.ldexp([[3.0, 4.0]], s)
    assert _classify(F, G, math.ldexp(5.0, s)) == (True, False, 1)
    assert _classify(F, G, math.nextafter(math.ldexp(5.0, s), 0))[:2] == (False, True)


def test_a_rounded_distance_at_eps_may_go_either_way():
    # sqrt(2) is not a float: the pair at eps = fl(sqrt(2)) is inside the band
    assert _classify([[0.0, 0.0]], [[1.0, 1.0]], math.sqrt(2.0)) == (False, False, 0)
    assert vf._exactly_canonical(np.array([0.0, 0.0]), np.array([1.0, 1.0])) is None
    assert vf._exactly_canonical(np.array([0.0, 0.0]), np.array([3.0, 4.0])) == 5.0
    # far from the band the float decides
    assert _classify([[0.0, 0.0]], [[1.0, 1.0]], 1.5)[:2] == (True, False)
    assert _classify([[0.0, 0.0]], [[1.0, 1.0]], 1.4)[:2] == (False, True)


def test_exact_fiber_product_and_cosine_power_of_two_copies():
    assert _classify([[1.0, -0.0]], [[1.0, 0.0]], 0.0) == (True, False, 1)
    assert _classify([[1.0, 0.0]], [[1.0, 2.0**-60]], 0.0)[:2] == (False, True)
    assert _classify([[0.3, 0.7]], [[0.6, 1.4]], 0.0, "cosine")[:2] == (True, False)


def test_the_log_series_matches_scipy():
    for d, t in [(2, 0.5), (50, 20.0), (600, 400.0), (10**4, 0.9 * 10**4)]:
        assert vf._log_chi2_cdf(d, t) == pytest.approx(float(stats.chi2.logcdf(t, d)),
                                                        rel=1e-10)


def test_every_fiber_page_has_three_mutants_one_quick():
    pages = {c.theory for c in verification.REGISTRY.values() if c.theory.startswith("fiber-")}
    assert len(pages) == 5
    for page in pages:
        ms = [m for m in verification.MUTANTS.values() if m.page == page]
        assert len(ms) >= 3 and sum(m.quick for m in ms) == 1, page


def test_only_exact_ties_see_an_eps_off_by_one_part_in_a_billion():
    res = verification.run_mutant("fiber product: eps x (1 - 1e-9)")
    assert res.killed and "fiber-product-exact" in res.killed_by
