"""wasserstein_matching, bottleneck_matching and empty diagrams given as [], against GUDHI.

The fixed cases are the diagrams and values of GUDHI's own
``test_wasserstein_distance.py`` (``_basic_wasserstein``; read and rewritten
here), with the matchings GUDHI's ``matching=True`` returns; random cases
compare the distances with GUDHI's and check that each matching's cost is
its distance.
"""

from __future__ import annotations

import math

import gudhi
import numpy as np
import pytest
from gudhi.wasserstein import wasserstein_distance as gudhi_wasserstein

from sheaftopo.persistence import (
    DiagramMatching,
    bottleneck,
    bottleneck_matching,
    sliced_wasserstein,
    wasserstein,
    wasserstein_matching,
)

INF = np.inf
DIAG1 = np.array([[2.7, 3.7], [9.6, 14.0], [34.2, 34.974]])
DIAG2 = np.array([[2.8, 4.45], [9.5, 14.1]])
DIAG3 = np.array([[0.0, 2.0], [4.0, 6.0]])
DIAG4 = np.array([[0.0, 3.0], [4.0, 8.0]])
DIAG5 = np.array([[0.0, 3.0], [4.0, INF]])
DIAG6 = np.array([[7.0, 8.0], [4.0, 6.0], [3.0, INF]])
DIAG7 = np.array([[0.0, 3.0], [4.0, INF], [5.0, INF]])
EMPTY = np.empty((0, 2))


def _pair_cost(d1, d2, i, j, q):
    if i >= 0 and j >= 0:
        if np.isinf(d1[i, 1]):
            return abs(d1[i, 0] - d2[j, 0])
        return float(np.linalg.norm(d1[i] - d2[j], ord=q))
    b, d = d1[i] if i >= 0 else d2[j]
    return 2.0 ** (1.0 / q - 1.0) * (d - b)


def _check_matching(m, d1, d2, p, q):
    """A bijection of both diagrams with the diagonal whose cost is the distance."""
    assert isinstance(m, DiagramMatching) and m.pairs.dtype == np.int64
    first = m.pairs[m.pairs[:, 0] >= 0, 0]
    second = m.pairs[m.pairs[:, 1] >= 0, 1]
    assert sorted(first) == list(range(len(d1))) and sorted(second) == list(range(len(d2)))
    assert not ((m.pairs[:, 0] < 0) & (m.pairs[:, 1] < 0)).any()
    expected = [_pair_cost(d1, d2, i, j, q) for i, j in m.pairs]
    np.testing.assert_allclose(m.costs, expected, rtol=1e-12, atol=1e-15)
    assert m.cost == pytest.approx(m.distance, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    ("d1", "d2", "q", "p", "value"),
    [
        (EMPTY, EMPTY, 2.0, 1.0, 0.0),
        ([], [], INF, 2.0, 0.0),
        (DIAG3, [], INF, 1.0, 2.0),
        (DIAG3, EMPTY, 1.0, 1.0, 4.0),
        (DIAG4, [], 1.0, 2.0, 5.0),
        (DIAG4, EMPTY, INF, 2.0, 2.5),
        (DIAG4, EMPTY, 2.0, 2.0, 3.5355339059327378),
        (DIAG1, DIAG2, 2.0, 1.0, 1.4453593023967701),
        (DIAG1, DIAG2, 2.35, 1.74, 0.9772734057168739),
        (DIAG1, [], 2.35, 1.7863, 3.141592214572228),
        (DIAG3, DIAG4, 1.0, 1.0, 3.0),
        (DIAG3, DIAG4, INF, 1.0, 3.0),
        (DIAG3, DIAG4, INF, 2.0, math.sqrt(5)),
        (DIAG3, DIAG4, 1.0, 2.0, math.sqrt(5)),
        (DIAG3, DIAG4, 4.5, 2.0, math.sqrt(5)),
        (DIAG5, DIAG6, INF, 1.0, 4.0),
    ],
)
def test_gudhi_basic_wasserstein_values(d1, d2, q, p, value):
    m = wasserstein_matching(d1, d2, p=p, internal_p=q)
    assert m.distance == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert m.distance == wasserstein(d1, d2, p=p, internal_p=q)
    _check_matching(
        m,
        np.reshape(np.asarray(d1, float), (-1, 2)),
        np.reshape(np.asarray(d2, float), (-1, 2)),
        p,
        q,
    )


def test_gudhi_basic_wasserstein_matchings():
    def pairs(m):
        return {(int(i), int(j)) for i, j in m.pairs}

    assert len(wasserstein_matching([], EMPTY, p=2.0, internal_p=1.0).pairs) == 0
    assert pairs(wasserstein_matching(EMPTY, DIAG2, internal_p=INF)) == {(-1, 0), (-1, 1)}
    assert pairs(wasserstein_matching(DIAG2, [], p=2.24)) == {(0, -1), (1, -1)}
    assert pairs(wasserstein_matching(DIAG1, DIAG2, internal_p=2.0)) == {(0, 0), (1, 1), (2, -1)}
    assert pairs(wasserstein_matching(DIAG5, DIAG6, internal_p=2.0)) == {
        (0, -1),
        (-1, 0),
        (-1, 1),
        (1, 2),
    }
    for d1, d2 in ((DIAG5, DIAG7), (DIAG7, EMPTY), ([], DIAG7), (DIAG4, DIAG5)):
        m = wasserstein_matching(d1, d2, internal_p=2.0)
        assert m.distance == INF and m.pairs.shape == (0, 2)
        assert bottleneck_matching(d1, d2).distance == INF
    # points on the diagonal go to the diagonal at cost 0
    m = wasserstein_matching([[1.0, 1.0], [0.0, 2.0]], [[0.0, 2.0]])
    assert pairs(m) == {(0, -1), (1, 0)} and m.distance == 0.0


def test_bottleneck_matching_on_gudhi_examples():
    # GUDHI's bottleneck example, with essential points
    d1 = np.array([[2.7, 3.7], [9.6, 14.0], [34.2, 34.974], [3.0, INF]])
    d2 = np.array([[2.8, 4.45], [9.5, 14.1], [3.2, INF]])
    m = bottleneck_matching(d1, d2)
    assert m.distance == pytest.approx(gudhi.bottleneck_distance(d1, d2), rel=1e-12)
    assert m.distance == pytest.approx(bottleneck(d1, d2), rel=1e-12)
    assert m.distance == pytest.approx(0.75, rel=1e-12)
    _check_matching(m, d1, d2, INF, INF)
    assert (3, 2) in {(int(i), int(j)) for i, j in m.pairs}
    for a, b in ((DIAG1, []), ([], []), (DIAG3, DIAG4), (DIAG5, DIAG6)):
        a2, b2 = (np.reshape(np.asarray(x, float), (-1, 2)) for x in (a, b))
        m = bottleneck_matching(a, b)
        assert m.distance == pytest.approx(bottleneck(a2, b2), rel=1e-12)
        _check_matching(m, a2, b2, INF, INF)


def test_random_diagrams_against_gudhi():
    rng = np.random.default_rng(0)
    for trial in range(12):
        n1, n2 = rng.integers(0, 7, size=2)
        d1 = np.sort(rng.uniform(0, 1, (n1, 2)), axis=1)
        d2 = np.sort(rng.uniform(0, 1, (n2, 2)), axis=1)
        if trial % 3 == 0:  # integer coordinates: ties between optimal matchings
            d1, d2 = np.round(d1 * 4), np.round(d2 * 4)
        p, q = [(1.0, INF), (2.0, 2.0), (1.5, 1.0)][trial % 3]
        m = wasserstein_matching(d1, d2, p=p, internal_p=q)
        ref, ref_match = gudhi_wasserstein(d1, d2, order=p, internal_p=q, matching=True)
        assert m.distance == pytest.approx(ref, rel=1e-9, abs=1e-12)
        _check_matching(m, d1, d2, p, q)
        # GUDHI's matching costs what ours does (both optimal; pairs may differ on ties)
        gudhi_costs = [_pair_cost(d1, d2, i, j, q) for i, j in ref_match]
        assert sum(c**p for c in gudhi_costs) ** (1 / p) == pytest.approx(m.cost, abs=1e-9)
        b = bottleneck_matching(d1, d2)
        assert b.distance == pytest.approx(
            gudhi.hera.bottleneck_distance(d1[d1[:, 0] != d1[:, 1]], d2[d2[:, 0] != d2[:, 1]], 0.0),
            rel=1e-12,
            abs=1e-15,
        )
        _check_matching(b, d1, d2, INF, INF)


def test_empty_diagrams_as_lists_everywhere():
    dgm = np.array([[0.0, 2.0], [1.0, 4.0]])
    for fn in (bottleneck, wasserstein, sliced_wasserstein):
        assert fn([], dgm) == fn(EMPTY, dgm) == fn(dgm, [])
        assert fn([], []) == 0.0
    assert wasserstein([], dgm, p=1.0) == pytest.approx(
        gudhi_wasserstein(EMPTY, dgm, order=1.0, internal_p=INF)
    )
    assert bottleneck([], dgm) == pytest.approx(gudhi.bottleneck_distance(EMPTY, dgm)) == 1.5
    persim = pytest.importorskip("persim")
    # persim's wasserstein is W_1 with the Euclidean ground metric
    assert wasserstein(dgm, [], p=1.0, internal_p=2.0) == pytest.approx(
        persim.wasserstein(dgm, EMPTY), rel=1e-12
    )
    assert bottleneck(dgm, []) == pytest.approx(persim.bottleneck(dgm, []), rel=1e-12)
