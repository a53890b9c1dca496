"""Tests for the diagram distances of sheaftopo.persistence: sliced W, Wasserstein, bottleneck.

Every distance is checked against an independent reference: brute-force
implementations written here with explicit loops (the Carrière–Cuturi–Oudot
definition, assignment over augmented cost matrices, a threshold search for
the bottleneck distance), and GUDHI, persim and POT, whose conventions differ
in ways the tests pin down (GUDHI's M - 1 directions, persim's sign bug in the
diagonal projection).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from sheaftopo.persistence import (
    bottleneck,
    sliced_wasserstein,
    wasserstein,
)

INF = np.inf
EMPTY = np.empty((0, 2))
SETTINGS = settings(max_examples=40, deadline=None)


# ---------------------------------------------------------------------------
# helpers and references
# ---------------------------------------------------------------------------


def random_diagram(rng, n, *, low=-1.0, high=1.0, scale=1.0):
    b = rng.uniform(low, high, size=n)
    return np.column_stack([b, b + rng.exponential(scale, size=n)])


def grid(m):
    return -np.pi / 2 + np.pi * np.arange(m) / m


def gudhi_angles(m):
    return np.linspace(-np.pi / 2, np.pi / 2, num=m, endpoint=False)[:-1]


def brute_cco(D1, D2, thetas, p=1.0, diag=lambda s: s):
    """The CCO definition with explicit loops.

    ``diag`` maps s = (b + d) / 2 to the coordinate used for the diagonal
    projection (s, s); ``diag=abs`` models persim's sqrt(x**2 / 2).
    """
    total = 0.0
    for th in thetas:
        c, s = math.cos(th), math.sin(th)
        A = [c * b + s * d for b, d in D1]
        B = [c * b + s * d for b, d in D2]
        for b, d in D2:
            z = diag((b + d) / 2)
            A.append(c * z + s * z)
        for b, d in D1:
            z = diag((b + d) / 2)
            B.append(c * z + s * z)
        A.sort()
        B.sort()
        total += sum(abs(a - bb) ** p for a, bb in zip(A, B, strict=True))
    mean = total / len(thetas)
    return mean ** (1.0 / p)


def _norm(v, q):
    v = np.abs(np.asarray(v, dtype=float))
    return float(v.max()) if np.isinf(q) else float((v**q).sum() ** (1.0 / q))


def _to_diagonal(x, q):
    # The nearest diagonal point in every l_q norm is s = (b + d) / 2, and
    # x - (s, s) = ((b - d) / 2, (d - b) / 2): its norm is computed from d - b
    # directly (forming s first would cancel catastrophically when d ~ b).
    h = (x[1] - x[0]) / 2
    return _norm([h, h], q)


def _augmented_costs(D1, D2, q):
    """Unpowered ground costs on the augmented (n+m) x (m+n) problem; inf = forbidden."""
    n, m = len(D1), len(D2)
    C = np.full((n + m, m + n), INF)
    for i, x in enumerate(D1):
        for j, y in enumerate(D2):
            C[i, j] = _norm(x - y, q)
        C[i, m + i] = _to_diagonal(x, q)
    for j, y in enumerate(D2):
        C[n + j, j] = _to_diagonal(y, q)
    C[n:, m:] = 0.0
    return C


def brute_wasserstein(D1, D2, p, q):
    D1, D2 = np.asarray(D1, float).reshape(-1, 2), np.asarray(D2, float).reshape(-1, 2)
    if len(D1) + len(D2) == 0:
        return 0.0
    C = _augmented_costs(D1, D2, q)
    P = np.where(np.isinf(C), 1e300, C**p)
    r, c = linear_sum_assignment(P)
    return float(P[r, c].sum() ** (1.0 / p))


def brute_bottleneck(D1, D2):
    D1, D2 = np.asarray(D1, float).reshape(-1, 2), np.asarray(D2, float).reshape(-1, 2)
    if len(D1) + len(D2) == 0:
        return 0.0
    C = _augmented_costs(D1, D2, INF)
    for t in np.unique(C[np.isfinite(C)]):  # ascending
        r, c = linear_sum_assignment((C > t).astype(float))
        if (C[r, c] <= t).all():
            return float(t)
    raise AssertionError("unreachable")


def h0_rips(X):
    """H0 Vietoris–Rips diagram via a minimum spanning tree (one (0, inf) row)."""
    T = minimum_spanning_tree(squareform(pdist(X)))
    deaths = np.sort(T.data)
    return np.vstack([np.column_stack([np.zeros_like(deaths), deaths]), [[0.0, INF]]])


@st.composite
def diagrams(draw, max_size=6, min_size=0):
    n = draw(st.integers(min_size, max_size))
    fl = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    births = draw(st.lists(fl, min_size=n, max_size=n))
    pers = draw(st.lists(st.floats(0, 10), min_size=n, max_size=n))
    rows = [[b, b + q] for b, q in zip(births, pers, strict=True)]
    return np.array(rows, dtype=float).reshape(n, 2)


def close(a, b, rtol=1e-9, atol=1e-12):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


# ---------------------------------------------------------------------------
# sliced Wasserstein, kind="diagram": references
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n1,n2", [(0, 0), (0, 3), (4, 0), (1, 1), (5, 3), (17, 29)])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_sw_diagram_matches_brute_force(n1, n2, p):
    rng = np.random.default_rng(n1 * 100 + n2)
    D1, D2 = random_diagram(rng, n1), random_diagram(rng, n2, low=-3.0)
    for thetas in (grid(7), rng.uniform(-4, 4, size=5)):
        got = sliced_wasserstein(D1, D2, directions=thetas, p=p)
        assert close(got, brute_cco(D1, D2, thetas, p=p))


def test_sw_default_directions_are_the_even_grid():
    rng = np.random.default_rng(0)
    D1, D2 = random_diagram(rng, 20), random_diagram(rng, 15)
    assert sliced_wasserstein(D1, D2) == sliced_wasserstein(D1, D2, directions=grid(50))
    assert sliced_wasserstein(D1, D2, n_directions=9) == sliced_wasserstein(
        D1, D2, directions=grid(9)
    )
    assert close(sliced_wasserstein(D1, D2, n_directions=9), brute_cco(D1, D2, grid(9)))


def test_sw_seeded_directions_are_uniform_angles_from_the_seed():
    rng = np.random.default_rng(1)
    D1, D2 = random_diagram(rng, 20), random_diagram(rng, 15)
    angles = np.random.default_rng(3).uniform(-np.pi / 2, np.pi / 2, size=12)
    expected = sliced_wasserstein(D1, D2, directions=angles)
    assert sliced_wasserstein(D1, D2, n_directions=12, seed=3) == expected
    assert sliced_wasserstein(D1, D2, n_directions=12, seed=np.random.default_rng(3)) == expected
    assert sliced_wasserstein(D1, D2, seed=3) == sliced_wasserstein(D1, D2, seed=3)
    assert sliced_wasserstein(D1, D2, seed=3) != sliced_wasserstein(D1, D2, seed=4)


def test_sw_angles_matter_only_modulo_pi():
    rng = np.random.default_rng(2)
    D1, D2 = random_diagram(rng, 12), random_diagram(rng, 8)
    th = rng.uniform(-np.pi / 2, np.pi / 2, size=6)
    for kind in ("diagram", "point_cloud"):
        a = sliced_wasserstein(D1, D2, directions=th, kind=kind)
        b = sliced_wasserstein(D1, D2, directions=th + np.pi, kind=kind)
        assert close(a, b, rtol=1e-12)


@pytest.mark.parametrize("m", [2, 10, 50])
def test_sw_matches_gudhi_with_its_m_minus_1_directions(m):
    metrics = pytest.importorskip("gudhi.representations.metrics")
    rng = np.random.default_rng(m)
    D1, D2 = random_diagram(rng, 40, low=-2.0), random_diagram(rng, 25)
    expected = metrics._sliced_wasserstein_distance(D1, D2, m)
    assert close(sliced_wasserstein(D1, D2, directions=gudhi_angles(m)), expected)
    # GUDHI's num_directions=M really uses M - 1 lines ...
    projected = metrics._compute_persistence_diagram_projections([D1], m)[0]
    assert projected.shape == (2 * len(D1), m - 1)
    # ... so it differs from M evenly spaced directions.
    assert not close(sliced_wasserstein(D1, D2, n_directions=m), expected, rtol=1e-6)


def _persim_sw(D1, D2, m):
    persim = pytest.importorskip("persim")
    return float(persim.sliced_wasserstein(D1, D2, M=m))


@pytest.mark.parametrize("n1,n2", [(1, 1), (10, 7), (60, 45)])
def test_sw_matches_persim_when_birth_plus_death_is_nonnegative(n1, n2):
    rng = np.random.default_rng(n1)
    D1, D2 = random_diagram(rng, n1, low=0.0), random_diagram(rng, n2, low=0.0)
    for m in (1, 7, 50):
        # persim uses theta = pi/2 + k pi / M (the same lines) and float32 directions.
        assert close(sliced_wasserstein(D1, D2, n_directions=m), _persim_sw(D1, D2, m), rtol=1e-5)


def test_persim_drops_the_sign_of_birth_plus_death():
    D1 = np.array([[-3.0, -1.0], [-2.0, 0.5], [0.0, 1.0]])
    D2 = np.array([[-1.0, 2.0], [-4.0, -3.5]])
    m = 20
    ours = sliced_wasserstein(D1, D2, n_directions=m)
    theirs = _persim_sw(D1, D2, m)
    # persim's diagonal projection sqrt(x**2 / 2), x = (b + d) / sqrt(2), is |b + d| / 2:
    predicted_persim = brute_cco(D1, D2, grid(m), diag=abs)
    assert close(theirs, predicted_persim, rtol=1e-5)
    # fixing the sign gives the CCO definition, which is ours
    assert close(ours, brute_cco(D1, D2, grid(m)))
    assert abs(ours - theirs) > 0.1 * ours
    # on the same diagrams shifted so that b + d >= 0 everywhere they agree again
    assert close(sliced_wasserstein(D1 + 4, D2 + 4, n_directions=m),
                 _persim_sw(D1 + 4, D2 + 4, m), rtol=1e-5)


def test_sw_matches_persim_on_large_diagrams():
    """Same value as persim at 2,048 points (the speed-up is in benchmarks/)."""
    persim = pytest.importorskip("persim")
    rng = np.random.default_rng(0)
    D1, D2 = random_diagram(rng, 2048, low=0.0), random_diagram(rng, 2048, low=0.0)
    theirs = persim.sliced_wasserstein(D1, D2, M=50)
    assert close(sliced_wasserstein(D1, D2, n_directions=50), theirs, rtol=1e-5)


def test_sw_bounded_by_wasserstein_1():
    # Carrière–Cuturi–Oudot (2017), Thm 3.3: SW <= 2 sqrt(2) W_1 (l_inf ground metric).
    rng = np.random.default_rng(5)
    for _ in range(10):
        D1 = random_diagram(rng, rng.integers(0, 8), low=-2.0)
        D2 = random_diagram(rng, rng.integers(0, 8))
        sw = sliced_wasserstein(D1, D2, directions=rng.uniform(-2, 2, size=5))
        assert sw <= 2 * math.sqrt(2) * wasserstein(D1, D2, p=1.0) + 1e-12


def test_sw_blocked_path_on_large_diagrams():
    # Directions are processed in blocks (several blocks, and a remainder,
    # at these sizes); compare with the unblocked formula and with POT.
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(18)
    D1, D2 = random_diagram(rng, 3000, low=-2.0), random_diagram(rng, 1777)
    th = rng.uniform(-np.pi / 2, np.pi / 2, size=37)
    L = np.stack([np.cos(th), np.sin(th)])
    A = np.sort(np.vstack([D1, np.repeat(D2.mean(1, keepdims=True), 2, 1)]) @ L, axis=0)
    B = np.sort(np.vstack([D2, np.repeat(D1.mean(1, keepdims=True), 2, 1)]) @ L, axis=0)
    for p in (1.0, 2.0):
        expected = np.mean(np.sum(np.abs(A - B) ** p, axis=0)) ** (1 / p)
        assert close(sliced_wasserstein(D1, D2, directions=th, p=p), expected, rtol=1e-10)
        expected = ot.sliced_wasserstein_distance(D1, D2, projections=L, p=p)
        got = sliced_wasserstein(D1, D2, directions=th, kind="point_cloud", p=p)
        assert close(got, float(expected), rtol=1e-10)
    got = sliced_wasserstein(D1, D1[::-1] + 0.5, directions=th, kind="point_cloud")
    expected = ot.sliced_wasserstein_distance(D1, D1[::-1] + 0.5, projections=L)
    assert close(got, float(expected), rtol=1e-10)


# ---------------------------------------------------------------------------
# sliced Wasserstein, kind="point_cloud"
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n1,n2", [(1, 1), (1, 4), (5, 5), (7, 3), (64, 48), (101, 37)])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
def test_sw_point_cloud_matches_pot(n1, n2, p):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(n1 + 1000 * n2)
    D1, D2 = random_diagram(rng, n1), random_diagram(rng, n2, low=-2.0, scale=3.0)
    for thetas in (grid(50), rng.uniform(-np.pi, np.pi, size=13)):
        P = np.stack([np.cos(thetas), np.sin(thetas)])
        expected = ot.sliced_wasserstein_distance(D1, D2, projections=P, p=p)
        got = sliced_wasserstein(D1, D2, directions=thetas, kind="point_cloud", p=p)
        assert close(got, float(expected), rtol=1e-10)


def test_sw_point_cloud_unequal_sizes_match_replicated_atoms():
    # The uniform measure on n points equals the uniform measure on each point
    # repeated k times; with lcm-many copies the equal-size path applies.
    rng = np.random.default_rng(7)
    D1, D2 = random_diagram(rng, 6), random_diagram(rng, 4)
    R1, R2 = np.repeat(D1, 2, axis=0), np.repeat(D2, 3, axis=0)
    for p in (1.0, 2.0, 3.0):
        a = sliced_wasserstein(D1, D2, kind="point_cloud", p=p)
        b = sliced_wasserstein(R1, R2, kind="point_cloud", p=p)
        assert close(a, b, rtol=1e-12)


def test_sw_point_cloud_default_order_is_2():
    rng = np.random.default_rng(8)
    D1, D2 = random_diagram(rng, 9), random_diagram(rng, 5)
    assert sliced_wasserstein(D1, D2, kind="point_cloud") == sliced_wasserstein(
        D1, D2, kind="point_cloud", p=2
    )
    assert sliced_wasserstein(D1, D2) == sliced_wasserstein(D1, D2, p=1)


# ---------------------------------------------------------------------------
# sliced Wasserstein: properties
# ---------------------------------------------------------------------------


@SETTINGS
@given(diagrams(), diagrams(), st.sampled_from(["diagram", "point_cloud"]))
def test_sw_symmetric_and_zero_on_identical(D1, D2, kind):
    if kind == "point_cloud" and (len(D1) == 0 or len(D2) == 0):
        return
    th = grid(11)
    d12 = sliced_wasserstein(D1, D2, directions=th, kind=kind)
    d21 = sliced_wasserstein(D2, D1, directions=th, kind=kind)
    assert close(d12, d21, rtol=1e-12)
    assert d12 >= 0.0
    assert sliced_wasserstein(D1, D1, directions=th, kind=kind) == 0.0


@SETTINGS
@given(diagrams(), diagrams(), diagrams(), st.sampled_from([1.0, 2.0]))
def test_sw_triangle_inequality(D1, D2, D3, p):
    th = np.array([-1.3, -0.2, 0.4, 1.1])
    tol = 1e-9 * (1 + max(np.abs(np.vstack([D1, D2, D3, [[0, 0]]])).max(), 1))
    if p == 1.0:
        def d(a, b):
            return sliced_wasserstein(a, b, directions=th)

        assert d(D1, D3) <= d(D1, D2) + d(D2, D3) + tol
    if min(len(D1), len(D2), len(D3)) > 0:
        def e(a, b):
            return sliced_wasserstein(a, b, directions=th, kind="point_cloud", p=p)

        assert e(D1, D3) <= e(D1, D2) + e(D2, D3) + tol


def test_sw_diagram_triangle_inequality_fails_for_p_above_1():
    # Documented: for p > 1 the augmented construction is not a metric.
    A, B, C = EMPTY, np.array([[0.0, 0.02]]), np.array([[0.0, 1.0]])
    assert sliced_wasserstein(A, C, p=2) > sliced_wasserstein(A, B, p=2) + sliced_wasserstein(
        B, C, p=2
    ) + 0.01
    assert sliced_wasserstein(A, C) <= sliced_wasserstein(A, B) + sliced_wasserstein(B, C)


@SETTINGS
@given(diagrams(min_size=1), diagrams(min_size=1), st.randoms(use_true_random=False))
def test_sw_invariant_under_row_permutations(D1, D2, rnd):
    th = grid(8)
    P1 = D1[rnd.sample(range(len(D1)), len(D1))]
    P2 = D2[rnd.sample(range(len(D2)), len(D2))]
    for kind in ("diagram", "point_cloud"):
        a = sliced_wasserstein(D1, D2, directions=th, kind=kind)
        b = sliced_wasserstein(P1, P2, directions=th, kind=kind)
        assert close(a, b, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(diagrams(), diagrams(), st.lists(st.floats(-10, 10), min_size=1, max_size=4))
def test_sw_diagonal_points_contribute_nothing(D1, D2, zs):
    diag = np.array([[z, z] for z in zs])
    th = grid(9)
    a = sliced_wasserstein(D1, D2, directions=th)
    b = sliced_wasserstein(np.vstack([D1, diag]), D2, directions=th)
    assert close(a, b, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(diagrams(), diagrams(), st.floats(0.01, 100), st.sampled_from([1.0, 2.0]))
def test_sw_scales_linearly(D1, D2, c, p):
    th = grid(9)
    a = sliced_wasserstein(c * D1, c * D2, directions=th, p=p)
    b = c * sliced_wasserstein(D1, D2, directions=th, p=p)
    assert close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("c", [1e-300, 1e200, 1e307])
def test_large_and_small_values_do_not_overflow(c):
    D1 = np.array([[0.0, 1.0], [0.1, 1.7]])
    D2 = np.array([[0.0, 1.5]])
    for kind in ("diagram", "point_cloud"):
        for p in (1.0, 3.0):
            v = sliced_wasserstein(c * D1, c * D2, kind=kind, p=p)
            assert math.isfinite(v)
            assert close(v, c * sliced_wasserstein(D1, D2, kind=kind, p=p), rtol=1e-12)
    for p in (1.0, 2.0):
        assert close(wasserstein(c * D1, c * D2, p=p), c * wasserstein(D1, D2, p=p), rtol=1e-12)
    assert close(bottleneck(c * D1, c * D2), c * bottleneck(D1, D2), rtol=1e-12)


def test_sw_inputs_not_modified_and_read_only_ok():
    rng = np.random.default_rng(9)
    D1, D2 = random_diagram(rng, 10), random_diagram(rng, 6)
    D1 = np.vstack([D1, [[0.0, INF]]])
    D2 = np.vstack([D2, [[0.5, INF]]])
    th = grid(5)
    c1, c2, ct = D1.copy(), D2.copy(), th.copy()
    for a in (D1, D2, th):
        a.setflags(write=False)
    for kind in ("diagram", "point_cloud"):
        sliced_wasserstein(D1, D2, directions=th, kind=kind, essential="drop", p=2.0)
    np.testing.assert_array_equal(D1, c1)
    np.testing.assert_array_equal(D2, c2)
    np.testing.assert_array_equal(th, ct)


def test_sw_float32_and_lists_and_returns_python_float():
    rng = np.random.default_rng(10)
    D1 = random_diagram(rng, 10).astype(np.float32)
    D2 = random_diagram(rng, 7).astype(np.float32)
    for kind in ("diagram", "point_cloud"):
        v = sliced_wasserstein(D1, D2, kind=kind)
        assert type(v) is float
        assert v == sliced_wasserstein(D1.astype(float), D2.astype(float), kind=kind)
        assert v == sliced_wasserstein(D1.tolist(), D2.tolist(), kind=kind)
    assert type(sliced_wasserstein(EMPTY, EMPTY)) is float
    assert sliced_wasserstein([[0, 1]], [[0, 1]]) == 0.0  # integer input


# ---------------------------------------------------------------------------
# sliced Wasserstein: essential points and empty diagrams
# ---------------------------------------------------------------------------


def test_sw_essential_raise_names_diagram_and_count():
    D = np.array([[0.0, 1.0], [0.0, INF], [1.0, INF]])
    with pytest.raises(ValueError, match=r"dgm1 has 2 essential point\(s\).*essential='drop'"):
        sliced_wasserstein(D, [[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"dgm2 has 2 essential"):
        sliced_wasserstein([[0.0, 1.0]], D)


def test_sw_essential_drop():
    D1 = np.array([[0.0, 1.0], [0.0, INF], [0.2, 3.0]])
    D2 = np.array([[0.0, INF], [0.1, 2.0]])
    for kind in ("diagram", "point_cloud"):
        assert sliced_wasserstein(D1, D2, essential="drop", kind=kind) == sliced_wasserstein(
            D1[[0, 2]], D2[[1]], kind=kind
        )
    with pytest.raises(ValueError, match=r"dgm1 has 1 essential.*dgm2 has 0.*infinite"):
        sliced_wasserstein(D1, D2[1:], essential="drop")
    # both become empty: distance 0 for both kinds
    for kind in ("diagram", "point_cloud"):
        assert sliced_wasserstein([[0, INF]], [[1, INF]], essential="drop", kind=kind) == 0.0


def test_sw_essential_drop_is_exact_for_h0_rips():
    rng = np.random.default_rng(11)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 3))
    A, B = h0_rips(X), h0_rips(Y)
    assert np.isinf(A[:, 1]).sum() == np.isinf(B[:, 1]).sum() == 1
    # the essential points (0, inf) coincide, so they add nothing to any
    # Wasserstein-type distance: dropping them loses nothing
    assert wasserstein(A, B, p=1.0) == pytest.approx(wasserstein(A[:-1], B[:-1], p=1.0), rel=1e-12)
    assert bottleneck(A, B) == bottleneck(A[:-1], B[:-1])
    assert sliced_wasserstein(A, B, essential="drop") == sliced_wasserstein(A[:-1], B[:-1])


def test_sw_empty_diagrams():
    D = np.array([[0.0, 2.0], [-1.0, 1.0]])
    th = grid(6)
    assert sliced_wasserstein(EMPTY, EMPTY) == 0.0
    assert sliced_wasserstein([], []) == 0.0
    assert close(sliced_wasserstein(D, EMPTY, directions=th), brute_cco(D, EMPTY, th))
    assert close(sliced_wasserstein(EMPTY, D, directions=th), brute_cco(D, EMPTY, th))
    assert sliced_wasserstein(EMPTY, EMPTY, kind="point_cloud") == 0.0
    with pytest.raises(ValueError, match="dgm2 has no"):
        sliced_wasserstein(D, EMPTY, kind="point_cloud")
    with pytest.raises(ValueError, match="dgm1 has no"):
        sliced_wasserstein(EMPTY, D, kind="point_cloud")


# ---------------------------------------------------------------------------
# bad input (all three functions)
# ---------------------------------------------------------------------------

GOOD = np.array([[0.0, 1.0], [0.5, 2.0]])

BAD_DIAGRAMS = [
    (np.array([[0.0, np.nan]]), ValueError),
    (np.array([[np.nan, 1.0]]), ValueError),
    (np.array([[-np.inf, 1.0]]), ValueError),
    (np.array([[0.0, -np.inf]]), ValueError),
    (np.zeros((2, 3)), ValueError),
    (np.zeros(3), ValueError),
    (np.zeros((2, 2, 2)), ValueError),
    (np.array([[1.0, 0.0]]), ValueError),
    (np.array([[0, 1]], dtype=object), TypeError),
    (np.array([["a", "b"]]), TypeError),
    (None, TypeError),
]

FUNCS = [sliced_wasserstein, wasserstein, bottleneck]


@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("bad,exc", BAD_DIAGRAMS)
def test_bad_diagrams(func, bad, exc):
    with pytest.raises(exc, match="dgm1"):
        func(bad, GOOD)
    with pytest.raises(exc, match="dgm2"):
        func(GOOD, bad)


def test_death_below_birth_message():
    with pytest.raises(ValueError, match=r"dgm2 must have death >= birth.*row 1"):
        sliced_wasserstein(GOOD, [[0.0, 1.0], [2.0, 1.0]])


@pytest.mark.parametrize(
    "kwargs,exc,pattern",
    [
        ({"n_directions": -1}, ValueError, "n_directions"),
        ({"n_directions": 0}, ValueError, "n_directions"),
        ({"n_directions": 2.5}, TypeError, "n_directions"),
        ({"n_directions": True}, TypeError, "n_directions"),
        ({"kind": "points"}, ValueError, "kind"),
        ({"kind": None}, ValueError, "kind"),
        ({"essential": "keep"}, ValueError, "essential"),
        ({"p": 0}, ValueError, "^p "),
        ({"p": -1.0}, ValueError, "^p "),
        ({"p": 0.5}, ValueError, "^p "),
        ({"p": np.inf}, ValueError, "^p "),
        ({"p": np.nan}, ValueError, "^p "),
        ({"p": "2"}, TypeError, "^p "),
        ({"directions": [[0.0, 1.0]]}, ValueError, "directions"),
        ({"directions": []}, ValueError, "directions"),
        ({"directions": [0.0, np.nan]}, ValueError, "directions"),
        ({"directions": [0.0, np.inf]}, ValueError, "directions"),
        ({"directions": ["a"]}, TypeError, "directions"),
        ({"directions": [0.0], "seed": 1}, ValueError, "seed"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "x"}, TypeError, "seed"),
    ],
)
def test_sw_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        sliced_wasserstein(GOOD, GOOD, **kwargs)


@pytest.mark.parametrize(
    "kwargs,exc,pattern",
    [
        ({"p": 0}, ValueError, "^p "),
        ({"p": 0.5}, ValueError, "^p "),
        ({"p": -2}, ValueError, "^p "),
        ({"p": np.inf}, ValueError, "^p "),
        ({"p": np.nan}, ValueError, "^p "),
        ({"p": None}, TypeError, "^p "),
        ({"internal_p": 0.5}, ValueError, "internal_p"),
        ({"internal_p": np.nan}, ValueError, "internal_p"),
        ({"internal_p": "inf"}, TypeError, "internal_p"),
    ],
)
def test_wasserstein_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        wasserstein(GOOD, GOOD, **kwargs)


@pytest.mark.parametrize(
    "delta,exc",
    [(-1.0, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("0", TypeError)],
)
def test_bottleneck_bad_delta(delta, exc):
    with pytest.raises(exc, match="delta"):
        bottleneck(GOOD, GOOD, delta=delta)


def test_keyword_only():
    with pytest.raises(TypeError):
        sliced_wasserstein(GOOD, GOOD, 10)  # type: ignore[misc]
    with pytest.raises(TypeError):
        wasserstein(GOOD, GOOD, 1.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        bottleneck(GOOD, GOOD, 0.1)  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Wasserstein and bottleneck (GUDHI wrappers)
# ---------------------------------------------------------------------------


@SETTINGS
@given(diagrams(max_size=4), diagrams(max_size=4), st.sampled_from([1.0, 2.0, 3.0]),
       st.sampled_from([1.0, 2.0, np.inf]))
def test_wasserstein_matches_brute_force(D1, D2, p, q):
    got = wasserstein(D1, D2, p=p, internal_p=q)
    ref = brute_wasserstein(D1, D2, p, q)
    # Transport costs are exact relative to the largest one (POT's tolerance is
    # about 1e-14 of it), so compare W**p at the scale of the diagrams.
    top = max([0.0, *(D1[:, 1] - D1[:, 0]), *(D2[:, 1] - D2[:, 0])])
    assert abs(got**p - ref**p) <= 1e-9 * (ref**p + top**p)
    assert close(got, ref, rtol=1e-6) or ref < 1e-3 * top


def test_wasserstein_accurate_at_every_scale():
    # GUDHI's POT-based function alone is off by up to 50% at scale 1e-7
    # (absolute pivot tolerance); the wrapper rescales by a power of two.
    rng = np.random.default_rng(16)
    for _ in range(5):
        D1, D2 = random_diagram(rng, 20), random_diagram(rng, 23)
        for p in (1.0, 2.0):
            ref = brute_wasserstein(D1, D2, p, INF)
            assert close(wasserstein(D1, D2, p=p), ref)
            for c in (1e-300, 1e-8, 1e-7, 1e-3, 1e5, 1e200):
                assert close(wasserstein(c * D1, c * D2, p=p), c * ref)
            # translation along the diagonal
            assert close(wasserstein(D1 + 1e3, D2 + 1e3, p=p), ref, rtol=1e-9)


@SETTINGS
@given(diagrams(max_size=4), diagrams(max_size=4))
def test_bottleneck_matches_brute_force(D1, D2):
    # exact up to the rounding of the coordinates
    ref = brute_bottleneck(D1, D2)
    coords = np.abs(np.vstack([D1, D2, [[0.0, 0.0]]])).max()
    assert abs(bottleneck(D1, D2) - ref) <= 1e-12 * ref + 1e-15 * coords


def test_bottleneck_resolves_tiny_distances():
    # Hera alone returns 0 for these (absolute threshold near 1e-10)
    assert bottleneck(EMPTY, [[0.0, 1e-10]]) == 5e-11
    assert bottleneck([[0.0, 2.0]], [[0.0, 2.0], [0.0, 1e-9]]) == 5e-10
    assert close(bottleneck([[0.0, 3.0]], [[0.0, 3.0 + 1e-12]]), 1e-12, rtol=1e-3)


def test_bottleneck_relative_approximation_within_delta():
    rng = np.random.default_rng(12)
    D1, D2 = random_diagram(rng, 60), random_diagram(rng, 50)
    exact = bottleneck(D1, D2)
    assert close(exact, brute_bottleneck(D1, D2), rtol=1e-12)
    for delta in (1e-3, 0.1, 0.5):
        approx = bottleneck(D1, D2, delta=delta)
        assert exact * (1 - 1e-12) <= approx <= (1 + delta) * exact


@pytest.mark.parametrize(
    "D1,D2,expected",
    [
        ([[0.0, 1.0]] * 3, [[1.0, 2.0]] * 3, 0.5),
        (
            [[0.525, 1.126], [0.532, 1.274], [0.9, 1.371], [0.473, 1.107], [0.914, 1.813]],
            [[0.59, 0.669], [0.698, 1.651], [0.194, 0.377]],
            0.371,
        ),
        (
            [[3.0, 6.0], [3.0, 4.0], [3.0, 4.0], [3.0, 5.0]],
            [[0.0, 2.0], [1.0, 3.0], [0.0, 1.0]],
            1.5,
        ),
    ],
)
def test_bottleneck_where_gudhi_bottleneck_distance_overestimates(D1, D2, expected):
    # gudhi.bottleneck_distance (3.13) returns 1.0, 0.457 and 2.0 here (e=0),
    # a larger value than the distance (GUDHI pull request 1367); Hera, which
    # we call, is right.
    assert close(brute_bottleneck(D1, D2), expected, rtol=1e-12)
    assert close(bottleneck(D1, D2), expected, rtol=1e-12)
    assert close(bottleneck(D2, D1), expected, rtol=1e-12)
    gudhi = pytest.importorskip("gudhi")
    theirs = gudhi.bottleneck_distance(np.array(D1), np.array(D2), 0)
    assert theirs >= expected - 1e-12  # never below; above in GUDHI 3.13


def test_bottleneck_accurate_at_every_scale():
    rng = np.random.default_rng(17)
    for _ in range(5):
        D1 = np.vstack([random_diagram(rng, 15), [[0.2, INF]]])
        D2 = np.vstack([random_diagram(rng, 12), [[-0.3, INF]]])
        ref = bottleneck(D1, D2)
        assert close(ref, max(brute_bottleneck(D1[:-1], D2[:-1]), 0.5), rtol=1e-12)
        for c in (1e-300, 1e-8, 1e5, 1e200):
            assert close(bottleneck(c * D1, c * D2), c * ref, rtol=1e-12)
        assert close(bottleneck(D1 + 1e3, D2 + 1e3), ref, rtol=1e-9)
    # only essential points
    assert close(bottleneck([[1e-300, INF]], [[3e-300, INF]]), 2e-300, rtol=1e-12)


@SETTINGS
@given(diagrams(max_size=5), diagrams(max_size=5))
def test_bottleneck_below_wasserstein_and_monotone_in_p(D1, D2):
    db = bottleneck(D1, D2)
    orders = (1.0, 2.0, 4.0, 16.0, 64.0)
    ws = [wasserstein(D1, D2, p=p) for p in orders]
    # W_p**p is resolved to ~1e-14 of the largest cost, so W_p to about
    # (1e-12)**(1/p) times the largest persistence.
    top = max([0.0, *(D1[:, 1] - D1[:, 0]), *(D2[:, 1] - D2[:, 0])])
    tols = [1e-9 * db + (1e-12 * (1 + len(D1) + len(D2))) ** (1 / p) * top for p in orders]
    assert all(db <= w + t for w, t in zip(ws, tols, strict=True))
    assert all(a + t >= b for a, b, t in zip(ws, ws[1:], tols[1:], strict=False))
    # W_p -> d_B: the optimal cost vector has at most n1 + n2 nonzero entries
    assert ws[-1] <= db * (len(D1) + len(D2)) ** (1 / 64) + tols[-1]


def test_wasserstein_far_points_of_tiny_persistence_do_not_overflow():
    # Found by Hypothesis in CI: after scaling the persistence to ~1 the two
    # points are ~1e5 apart, so ||x - y||**64 overflows; the via-diagonal cap
    # must replace it without a RuntimeWarning.
    D1 = np.array([[0.0, 1.58328469e-307]])
    D2 = np.array([[1.45417345e-302, 1.45418928e-302]])
    # both points go to the diagonal: W_p = 2**(1/p) * pers / 2 (pers equal to ~1e-4)
    for p in (1.0, 2.0, 16.0, 64.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            w = wasserstein(D1, D2, p=p)
        assert close(w, 2 ** (1 / p) * 1.58328469e-307 / 2, rtol=1e-4, atol=0.0)


@pytest.mark.parametrize(
    "D1,D2,p,expected",
    [
        ([[0.0, 0.5], [0.0, 1.0], [3.0, 6.0], [1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0], [3.0, 6.0]],
         16.0, 0.25),
        ([[4.0, 11.0]], [[0.0, 0.0], [0.0, 8.0]], 64.0, 4.0),
    ],
)
def test_wasserstein_large_p_where_gudhi_is_wrong(D1, D2, p, expected):
    # GUDHI's wasserstein_distance returns 0.522 and 4.0000121 here: the
    # entries ||x - y||**p span more than double precision and POT's plan is
    # suboptimal. Capping each entry at the via-diagonal cost fixes it.
    assert close(brute_wasserstein(D1, D2, p, INF), expected, rtol=1e-12)
    assert close(wasserstein(D1, D2, p=p), expected, rtol=1e-12)
    gw = pytest.importorskip("gudhi.wasserstein")
    theirs = gw.wasserstein_distance(np.array(D1), np.array(D2), order=p)
    assert theirs >= expected * (1 - 1e-12)  # never below; above in GUDHI 3.13


@pytest.mark.parametrize("q", [1.0, 2.0, 3.0, INF])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_wasserstein_matches_gudhi_where_well_conditioned(p, q):
    gw = pytest.importorskip("gudhi.wasserstein")
    rng = np.random.default_rng(int(10 * p + (q if np.isfinite(q) else 9)))
    for n1, n2 in ((0, 4), (5, 0), (7, 7), (30, 22)):
        D1, D2 = random_diagram(rng, n1), random_diagram(rng, n2, low=-2.0)
        D1 = np.vstack([D1, [[0.1, INF], [0.7, INF]]])
        D2 = np.vstack([D2, [[-0.2, INF], [0.4, INF]]])
        theirs = gw.wasserstein_distance(D1, D2, order=p, internal_p=q, keep_essential_parts=True)
        assert close(wasserstein(D1, D2, p=p, internal_p=q), theirs, rtol=1e-9)


@SETTINGS
@given(diagrams(min_size=1), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_distances_stable_under_perturbation(D, eps, seed):
    # Moving every point by at most eps (l_inf) moves it at most eps in d_B.
    rng = np.random.default_rng(seed)
    E = D + rng.uniform(-eps, eps, size=D.shape)
    E[:, 1] = np.maximum(E[:, 1], E[:, 0])
    assert bottleneck(D, E) <= eps + 1e-9
    assert wasserstein(D, E, p=2.0) <= eps * math.sqrt(len(D)) + 1e-9
    assert wasserstein(D, E, p=1.0) <= eps * len(D) + 1e-9


def test_bottleneck_stability_for_rips_diagrams():
    # Cohen-Steiner–Edelsbrunner–Harer: Rips filtrations of X and Y on the same
    # vertex set differ by at most max |d_X - d_Y|, so d_B is bounded by it.
    ripser = pytest.importorskip("ripser")
    rng = np.random.default_rng(13)
    for _ in range(3):
        X = rng.normal(size=(20, 2))
        Y = X + rng.normal(scale=0.05, size=X.shape)
        bound = float(np.abs(pdist(X) - pdist(Y)).max())
        dX, dY = ripser.ripser(X, maxdim=1)["dgms"], ripser.ripser(Y, maxdim=1)["dgms"]
        for k in (0, 1):
            assert bottleneck(dX[k], dY[k]) <= bound + 1e-9
        assert wasserstein(dX[0], dY[0], p=1.0) < math.inf


def test_diagonal_points_do_not_change_wasserstein_or_bottleneck():
    rng = np.random.default_rng(14)
    D1, D2 = random_diagram(rng, 8), random_diagram(rng, 5)
    Z = np.vstack([D1, [[0.3, 0.3], [-2.0, -2.0]]])
    assert close(wasserstein(Z, D2), wasserstein(D1, D2))
    assert close(bottleneck(Z, D2), bottleneck(D1, D2))


def test_wasserstein_bottleneck_essential_points():
    D1 = np.array([[0.0, 1.0], [0.0, INF], [1.0, INF]])
    D2 = np.array([[0.0, 2.5], [0.5, INF], [3.0, INF]])
    # equal counts: essential points matched in order of birth
    for p in (1.0, 2.0):
        finite = brute_wasserstein(D1[:1], D2[:1], p, INF)
        expected = (finite**p + 0.5**p + 2.0**p) ** (1 / p)
        assert close(wasserstein(D1, D2, p=p), expected)
    assert bottleneck(D1, D2) == max(brute_bottleneck(D1[:1], D2[:1]), 2.0)
    # different counts: infinite, returned without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for A, B in ((D1, D2[:2]), (D1, EMPTY), (EMPTY, D2), (D1[:1], D2)):
            assert wasserstein(A, B) == math.inf
            assert wasserstein(A, B, p=1.0, internal_p=2.0) == math.inf
            assert bottleneck(A, B) == math.inf


def test_wasserstein_bottleneck_empty():
    D = np.array([[0.0, 2.0], [1.0, 5.0]])
    assert wasserstein(EMPTY, EMPTY) == 0.0
    assert bottleneck(EMPTY, EMPTY) == 0.0
    assert bottleneck([], []) == 0.0
    # total persistence: distances to the diagonal are 1 and 2 (l_inf)
    assert close(wasserstein(D, EMPTY, p=2.0), math.sqrt(5.0))
    assert close(wasserstein(EMPTY, D, p=1.0), 3.0)
    assert close(wasserstein(D, EMPTY, p=1.0, internal_p=1.0), 6.0)
    assert bottleneck(D, EMPTY) == 2.0


def test_wasserstein_bottleneck_inputs_types():
    rng = np.random.default_rng(15)
    D1 = np.vstack([random_diagram(rng, 6), [[0.0, INF]]])
    D2 = np.vstack([random_diagram(rng, 4), [[0.1, INF]]])
    c1, c2 = D1.copy(), D2.copy()
    D1.setflags(write=False)
    D2.setflags(write=False)
    for f in (wasserstein, bottleneck):
        v = f(D1, D2)
        assert type(v) is float
        assert close(f(D1.astype(np.float32), D2.astype(np.float32)),
                     f(D1.astype(np.float32).astype(float), D2.astype(np.float32).astype(float)),
                     rtol=0)
        assert f(D1.tolist(), D2.tolist()) == v
    np.testing.assert_array_equal(D1, c1)
    np.testing.assert_array_equal(D2, c2)
    assert type(wasserstein(D1, D2[:1])) is float  # inf is a Python float too


# ---------------------------------------------------------------------------
# regressions (issue 14): tiny delta, spans and magnitudes at the float64 limits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("delta", [1e-16, 1e-15, 1e-300, 5e-324, 1e-9])
def test_regression_bottleneck_tiny_delta_returns_the_exact_value(delta):
    """delta=1e-16 never returned (Hera's relative search cannot get that narrow)."""
    import time

    from _adversarial import check_call

    t0 = time.perf_counter()
    _, value = check_call("persistence", bottleneck, [[0, 0.3], [0.1, 0.5]], [[0, 0.35]],
                          delta=delta, seconds=10)
    assert time.perf_counter() - t0 < 5
    assert value == bottleneck([[0, 0.3], [0.1, 0.5]], [[0, 0.35]])
    assert close(value, 0.15, rtol=1e-15)
    rng = np.random.default_rng(30)
    D1, D2 = random_diagram(rng, 40), random_diagram(rng, 30)
    assert bottleneck(D1, D2, delta=delta) == bottleneck(D1, D2)


def test_regression_distances_at_subnormal_scale():
    """Scales were clamped at 2**-1021, so W_p (large p) and Hera rounded these to 0."""
    D1, D2 = np.array([[0.0, 5e-324]]), np.array([[0.0, 1e-323]])
    assert wasserstein(D1, D2, p=50.0) == 5e-324
    assert bottleneck(D1, D2) == 5e-324
    assert wasserstein(D1, D2, p=1.0) == 5e-324
    # theta = 0: births {0, 5e-324} vs {0, 2.5e-324}; pi/2: deaths {5, 5} vs {2.5, 10} (e-324)
    assert sliced_wasserstein(D1, D2, directions=[0.0, np.pi / 2]) == 5e-324


def test_regression_spans_beyond_float64():
    """d - b overflowed for (-1e308, 1e308): the scale is now taken on halves."""
    wide = np.array([[-1e308, 1e308]])
    unit = np.array([[0.0, 1.0]])
    # the far point goes to the diagonal at (d - b) / 2 = 1e308 (l_inf), the other too
    assert close(wasserstein(wide, unit, p=2.0), 1e308, rtol=1e-15)
    assert close(bottleneck(wide, unit), 1e308, rtol=1e-15)
    # exceeding float64: a clear error, never a silent inf
    with pytest.raises(ValueError, match="1-Wasserstein distance between dgm1 and dgm2 exceeds"):
        wasserstein(wide, unit, p=1.0, internal_p=1.0)  # l_1 to the diagonal: 2e308
    ess1 = np.array([[-1e308, INF], [0.0, 1.0]])
    ess2 = np.array([[1e308, INF]])
    for f in (wasserstein, bottleneck):
        with pytest.raises(ValueError, match="between dgm1 and dgm2 exceeds the float64 range"):
            f(ess1, ess2)
    # a different number of essential points is a genuine inf, not an overflow
    assert wasserstein(ess1, unit) == INF and bottleneck(ess1, unit) == INF


@pytest.mark.parametrize("k", [-1000, -500, 500, 1000])
def test_regression_distances_are_homogeneous_by_powers_of_two(k):
    rng = np.random.default_rng(31)
    D1 = np.vstack([random_diagram(rng, 12), [[0.25, INF]]])
    D2 = np.vstack([random_diagram(rng, 9), [[-0.5, INF]]])
    c = math.ldexp(1.0, k)
    for f, kw in [
        (wasserstein, {"p": 1.0}),
        (wasserstein, {"p": 2.0, "internal_p": 2.0}),
        (bottleneck, {}),
        (sliced_wasserstein, {"essential": "drop"}),
        (sliced_wasserstein, {"essential": "drop", "kind": "point_cloud"}),
    ]:
        ref = f(D1, D2, **kw)
        assert close(f(np.ldexp(D1, k), np.ldexp(D2, k), **kw), ref * c, rtol=1e-12), f


@pytest.mark.parametrize("q", [1.0, 2.0, INF])
def test_regression_wasserstein_large_p_tends_to_the_bottleneck(q):
    """W_p was 0 from p ~ 1000 on (every cost (d - b)**p underflowed)."""
    D1 = np.array([[0.0, 1.0], [0.0, 3.0], [1.0, 2.0]])
    D2 = np.array([[0.0, 1.5], [0.0, 2.5]])
    # l_q bottleneck: (0, 3) <-> (0, 2.5) at 0.5, (0, 1) <-> (0, 1.5) at 0.5, (1, 2) to the
    # diagonal at 2**(1/q - 1) (l_q); brute force over all matchings gives the same
    b_q = max(0.5, 2.0 ** (1.0 / q - 1.0))
    prev = INF
    for p in (1.0, 2.0, 16.0, 50.0, 1000.0, 1e5, 1e300):
        w = wasserstein(D1, D2, p=p, internal_p=q)
        assert b_q * (1 - 1e-12) <= w <= 5 ** (1 / p) * b_q * (1 + 1e-12)
        assert w <= prev * (1 + 1e-12)  # non-increasing in p
        prev = w
    assert close(wasserstein(D1, D2, p=1e300, internal_p=q), b_q, rtol=1e-12)
    assert close(wasserstein(D1, D2, p=1e300), bottleneck(D1, D2), rtol=1e-12)
    rng = np.random.default_rng(32)
    A, B = random_diagram(rng, 6), random_diagram(rng, 5)
    assert close(wasserstein(A, B, p=1e6, internal_p=q), brute_bottleneck_q(A, B, q), rtol=1e-5)


def brute_bottleneck_q(D1, D2, q):
    """l_q bottleneck distance by brute force over the augmented assignment."""
    n, m = len(D1), len(D2)
    f = 2.0 ** (1.0 / q - 1.0)
    big = np.full((n + m, n + m), INF)
    for i in range(n):
        for j in range(m):
            big[i, j] = np.linalg.norm(D1[i] - D2[j], ord=q)
        big[i, m + i] = f * (D1[i, 1] - D1[i, 0])
    for j in range(m):
        big[n + j, j] = f * (D2[j, 1] - D2[j, 0])
    big[n:, m:] = 0.0
    for t in np.unique(big[np.isfinite(big)]):
        r, c = linear_sum_assignment((big > t).astype(float))
        if not (big[r, c] > t).any():
            return t
    raise AssertionError("unreachable")


def lsa_wasserstein(D1, D2, p, q):
    """W_{p,q} of finite diagrams by one assignment, costs in units of the bottleneck."""
    from scipy.spatial.distance import cdist

    n, m = len(D1), len(D2)
    f = 2.0 ** (1.0 / q - 1.0)
    big = np.full((n + m, n + m), INF)
    big[:n, :m] = cdist(D1, D2, metric="chebyshev" if np.isinf(q) else "minkowski",
                        **({} if np.isinf(q) else {"p": q}))
    big[np.arange(n), m + np.arange(n)] = f * (D1[:, 1] - D1[:, 0])
    big[n + np.arange(m), np.arange(m)] = f * (D2[:, 1] - D2[:, 0])
    big[n:, m:] = 0.0
    u = bottleneck(D1, D2)
    with np.errstate(over="ignore", under="ignore"):
        M = np.minimum((big / u) ** p, 1e300)
    r, c = linear_sum_assignment(M)
    return u * M[r, c].sum() ** (1.0 / p)


@pytest.mark.parametrize("q", [INF, 1.0])
@pytest.mark.parametrize("p", [2.0, 20.0, 50.0])
def test_regression_wasserstein_of_many_points_at_large_p(p, q):
    """On 100-point diagrams W_{50,1} was 2.92 instead of 1.51, W_{50,inf} 1.49 instead of
    1.005 (costs spanning more than double precision, resolved to 1e-14 of the largest)."""
    rng = np.random.default_rng(33)
    D1, D2 = random_diagram(rng, 100, low=0.0), random_diagram(rng, 100, low=0.0)
    assert close(wasserstein(D1, D2, p=p, internal_p=q), lsa_wasserstein(D1, D2, p, q),
                 rtol=1e-9)
