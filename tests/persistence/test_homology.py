"""diagrams (H1 and up via giotto-ph), vertex births and min_persistence, against the anchors.

The inputs are those of ripser.py's own tests and docs (noisy circles from
``sklearn.datasets.make_circles``, the sparse distance matrix of the pairs
within a threshold, the lower-star filtration of a time series as a sparse
matrix with the values on its diagonal), read and rewritten here; the oracles
are ripser.py, giotto-ph and GUDHI's simplex tree.
"""

from __future__ import annotations

import sys

import gudhi
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

from sheaftopo.persistence import Diagrams, diagrams, h0_diagram

ripser = pytest.importorskip("ripser").ripser
gph = pytest.importorskip("gph")


@pytest.fixture(scope="module")
def circles():
    datasets = pytest.importorskip("sklearn.datasets")
    X, _ = datasets.make_circles(n_samples=50, noise=0.05, factor=0.4, random_state=0)
    return X


def _rows(dgm: np.ndarray) -> np.ndarray:
    """Rows sorted by (birth, death), for comparing diagrams as multisets."""
    dgm = np.asarray(dgm, dtype=np.float64).reshape(-1, 2)
    return dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]


def _same(got: np.ndarray, ref: np.ndarray, rtol: float = 2e-7) -> None:
    got, ref = _rows(got), _rows(ref)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], rtol=rtol, atol=1e-12)


def test_circles_match_ripser_and_h0_diagram(circles):
    res = diagrams(circles, max_dim=2)
    assert isinstance(res, Diagrams) and len(res.dgms) == 3
    assert res.engine.startswith("giotto-ph") and res.threshold == np.inf
    ref = ripser(circles, maxdim=2)["dgms"]
    for got, want in zip(res.dgms, ref, strict=True):
        _same(got, want)
        assert got.dtype == np.float64 and got.flags.c_contiguous
    # H0 is exactly h0_diagram's (float64), zero-length bars dropped as ripser does
    np.testing.assert_array_equal(res.dgms[0], h0_diagram(circles, min_persistence=0.0))
    # two circles: two long H1 bars
    pers = res.dgms[1][:, 1] - res.dgms[1][:, 0]
    assert np.sum(pers > 0.2) == 2


def test_distance_matrix_and_sparse_input_with_threshold(circles):
    D = cdist(circles, circles)
    thresh = 0.25
    I, J = np.nonzero(D <= thresh)
    S = sp.coo_matrix((D[I, J], (I, J)), shape=D.shape).tocsr()  # ripser's makeSparseDM
    ref = ripser(S, distance_matrix=True, maxdim=1)["dgms"]
    for data in (S, D):
        res = diagrams(data, metric="precomputed", threshold=thresh)
        for got, want in zip(res.dgms, ref, strict=True):
            _same(got, want)
    dense = diagrams(circles, threshold=thresh)
    ref_points = ripser(circles, maxdim=1, thresh=thresh)["dgms"]
    for got, want in zip(dense.dgms, ref_points, strict=True):
        _same(got, want)
    assert np.isinf(dense.dgms[0][:, 1]).sum() == np.isinf(ref_points[0][:, 1]).sum() > 1


def test_coefficients_and_threads(circles):
    a = diagrams(circles, coeff=3, n_threads=None)
    b = diagrams(circles, coeff=3, n_threads=2)
    ref = ripser(circles, maxdim=1, coeff=3)["dgms"]
    _same(a.dgms[1], ref[1])
    np.testing.assert_array_equal(a.dgms[1], b.dgms[1])
    with pytest.raises(ValueError, match="coeff"):
        diagrams(circles, coeff=4)


def test_max_dim_zero_needs_no_engine(circles, monkeypatch):
    monkeypatch.setitem(sys.modules, "gph", None)
    res = diagrams(circles, max_dim=0, min_persistence=None)
    assert res.engine == "mst" and len(res.dgms) == 1
    np.testing.assert_array_equal(res.dgms[0], h0_diagram(circles))
    with pytest.raises(ImportError, match=r"sheaftopo\[homology\]"):
        diagrams(circles)


def test_lower_star_time_series_matches_ripser_and_gudhi():
    # ripser.py's lower-star example: a time series, edges between neighbours,
    # the values on the diagonal (here through vertex_births)
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.standard_normal(40))
    x -= x.min()  # edges of weight 0 then enter at max(x_i, x_j), as in a lower-star filtration
    n = len(x)
    i = np.arange(n - 1)
    S = sp.coo_matrix(
        (
            np.concatenate([np.maximum(x[:-1], x[1:]), x]),
            (np.concatenate([i, np.arange(n)]), np.concatenate([i + 1, np.arange(n)])),
        ),
        shape=(n, n),
    ).tocsr()
    ref = ripser(S, distance_matrix=True, maxdim=0)["dgms"][0]
    graph = sp.coo_matrix((np.zeros(n - 1), (i, i + 1)), shape=(n, n))
    res = diagrams(graph, metric="precomputed", vertex_births=x, max_dim=0)
    _same(res.dgms[0], ref)
    # GUDHI: a path simplex tree with the values on the vertices
    st = gudhi.SimplexTree()
    for k in range(n):
        st.insert([k], filtration=x[k])
    for k in range(n - 1):
        st.insert([k, k + 1], filtration=max(x[k], x[k + 1]))
    st.compute_persistence()  # GUDHI's default min_persistence=0: zero bars dropped
    gd = st.persistence_intervals_in_dimension(0)
    np.testing.assert_allclose(_rows(res.dgms[0]), _rows(gd), rtol=0, atol=0)


def test_vertex_births_on_points_match_ripser_diagonal_and_gudhi():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((25, 2))
    f = rng.uniform(0, 1.5, 25)
    D = cdist(X, X)
    W = np.maximum(np.maximum(D, f[:, None]), f[None, :])
    np.fill_diagonal(W, f)
    ref = ripser(W, distance_matrix=True, maxdim=1)["dgms"]
    res = diagrams(X, vertex_births=f)
    for got, want in zip(res.dgms, ref, strict=True):
        _same(got, want)
    h0 = h0_diagram(X, vertex_births=f)
    assert h0.shape == (25, 2)
    np.testing.assert_array_equal(h0_diagram(D, metric="precomputed", vertex_births=f), h0)
    st = gudhi.SimplexTree()
    for k in range(25):
        st.insert([k], filtration=f[k])
    I, J = np.triu_indices(25, 1)
    st.insert_batch(np.stack([I, J]), W[I, J])
    st.compute_persistence(min_persistence=-1.0)
    gd = st.persistence_intervals_in_dimension(0)
    np.testing.assert_array_equal(_rows(h0), _rows(gd))


def test_min_persistence_convention():
    X = np.array([[0.0], [0.0], [1.0], [3.0]])  # a duplicate: one zero-length bar
    full = h0_diagram(X)
    assert full.shape == (4, 2)  # the default keeps every row (unchanged)
    np.testing.assert_array_equal(h0_diagram(X, min_persistence=0.0), full[1:])
    # strictly greater kept, as GUDHI: a bar of persistence exactly 1 goes at 1.0
    np.testing.assert_array_equal(h0_diagram(X, min_persistence=1.0), full[[2, 3]])
    np.testing.assert_array_equal(h0_diagram(X, min_persistence=5.0), full[[3]])
    st = gudhi.SimplexTree()
    st.insert_batch(np.arange(4)[None, :], np.zeros(4))
    I, J = np.triu_indices(4, 1)
    D = cdist(X, X)
    st.insert_batch(np.stack([I, J]), D[I, J])
    for m in (0.0, 1.0):
        st.compute_persistence(min_persistence=m)
        _same(h0_diagram(X, min_persistence=m), st.persistence_intervals_in_dimension(0))
    with pytest.raises(ValueError, match="min_persistence"):
        h0_diagram(X, min_persistence=-1.0)


def test_vertex_births_on_the_deprecated_graph_form_warn_at_the_callers_line():
    G = sp.coo_matrix(([1.0, 2.0], ([0, 1], [1, 2])), shape=(3, 3))
    with pytest.warns(DeprecationWarning, match="spanning_forest") as record:
        dgm = h0_diagram(G, metric="precomputed", vertex_births=[0.5, 0.0, 3.0])
    assert record[0].filename == __file__
    np.testing.assert_array_equal(dgm, [[0.5, 1.0], [3.0, 3.0], [0.0, np.inf]])
