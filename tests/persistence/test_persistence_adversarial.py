"""Bad and extreme input through every public name of sheaftopo.persistence and the Dask MST.

Issue 14. Every call goes through :func:`_adversarial.check_call` (bounded in
time; a finite result or a ValueError/TypeError naming the argument), and
every finite result is checked against an oracle: GUDHI's Rips persistence
and Wasserstein distance, networkx's spanning forests, POT's sliced
Wasserstein, brute-force bottleneck matchings and farthest-point sampling,
always on the problem divided by a power of two (exact), so that the
oracles run at unit scale while sheaftopo sees 1e-300 .. 1e300.

The regressions of each defect live next to the code they test
(``test_mst.py``, ``test_sparsify.py``, ``test_subsample.py``,
``test_diagram_distances.py``, ``tests/distributed/test_mst_dask.py``; all
named ``test_regression_*``); this file is the property-based sweep.
"""

from __future__ import annotations

import collections
import math
import warnings

import gudhi
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from _adversarial import (
    BAD_SCALARS,
    MAGNITUDES,
    _layouts,
    bad_arrays,
    bad_scalars,
    check_call,
    examples,
    point_clouds,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import sheaftopo.persistence as P
from sheaftopo.persistence import (
    SpanningForest,
    SparsificationBound,
    SparsifiedGraph,
    Subsample,
    approximation_bound,
    bottleneck,
    farthest_point_subsample,
    h0_diagram,
    h0_diagram_batch,
    h1_births,
    mst,
    mst_batch,
    sliced_wasserstein,
    spanning_forest,
    sparsify,
    wasserstein,
)

SUB = "persistence"
INF = np.inf
QUICK = settings(
    max_examples=examples(25, 400),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(
    max_examples=examples(12, 200),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: the cases of issue 19's features (the suite is near its time budget)
TINY = settings(
    max_examples=examples(5, 100),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------------------
# oracles at unit scale
# ---------------------------------------------------------------------------


def _shift(arr) -> int:
    """k with max |arr| / 2**k in [0.5, 1) (0 for an all-zero or empty array)."""
    a = np.abs(np.asarray(arr, dtype=np.float64))
    a = a[np.isfinite(a)]
    top = float(a.max(initial=0.0))
    return math.frexp(top)[1] if top > 0 else 0


def _gudhi_deaths(D: np.ndarray) -> tuple[np.ndarray, int]:
    """GUDHI's finite H0 deaths (sorted) of the Rips filtration of D, and its essential count."""
    tree = gudhi.RipsComplex(distance_matrix=D).create_simplex_tree(max_dimension=1)
    tree.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    iv = tree.persistence_intervals_in_dimension(0)
    iv = iv.reshape(-1, 2)
    return np.sort(iv[np.isfinite(iv[:, 1]), 1]), int(np.isinf(iv[:, 1]).sum())


def _unit_rows(X64: np.ndarray) -> np.ndarray:
    top = np.abs(X64).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero rows: refused anyway
        Y = X64 / top
        return Y / np.sqrt((Y * Y).sum(axis=1, keepdims=True))


def _point_deaths(X, metric: str) -> np.ndarray:
    """Finite Rips H0 deaths of a point cloud, computed by GUDHI on the rescaled cloud."""
    X64 = np.array(X, dtype=np.float64)
    if metric == "cosine":
        U = _unit_rows(X64)
        return _gudhi_deaths(0.5 * cdist(U, U) ** 2)[0]
    k = _shift(X64)
    return np.ldexp(_gudhi_deaths(cdist(np.ldexp(X64, -k), np.ldexp(X64, -k)))[0], k)


def _tolerance(X, metric: str) -> float:
    """Absolute tolerance on deaths: the documented Gram-identity resolution."""
    rel = 1e-3 if np.asarray(X).dtype == np.float32 else 1e-7
    if metric == "cosine":
        return rel
    return rel * float(np.abs(np.asarray(X, dtype=np.float64)).max())


def _finite(dgm: np.ndarray) -> np.ndarray:
    return dgm[np.isfinite(dgm[:, 1]), 1]


def _unchanged(before, after) -> None:
    """The caller's array is never modified."""
    if isinstance(before, np.ndarray):
        np.testing.assert_array_equal(before, after)


def _no_alias(result, *inputs) -> None:
    for x in inputs:
        if isinstance(x, np.ndarray) and isinstance(result, np.ndarray):
            assert not np.shares_memory(result, x), "the result is a view of an input"


def _with_layout(draw, arr: np.ndarray):
    """The array in one of the layouts of _adversarial, or as a nested list."""
    choices = _layouts(np.ascontiguousarray(arr))
    pick = draw(st.integers(0, len(choices)))
    return arr.tolist() if pick == len(choices) else choices[pick]


# ---------------------------------------------------------------------------
# H0 of point clouds: h0_diagram, mst, their batches
# ---------------------------------------------------------------------------

METRICS = ("euclidean", "cosine")
POINT_METHODS = ("auto", "prim", "boruvka", "kdtree")


def _check_h0(X, metric):
    expected = _point_deaths(X, metric)
    tol = _tolerance(X, metric)
    n = len(X)

    def check(dgm):
        assert dgm.shape == (n, 2) and dgm.dtype == np.float64
        assert np.all(dgm[:, 0] == 0)
        assert int(np.isinf(dgm[:, 1]).sum()) == 1
        got = _finite(dgm)
        assert np.all(np.diff(got) >= 0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol)

    return check


@QUICK
@given(
    X=point_clouds(),
    metric=st.sampled_from(METRICS),
    method=st.sampled_from(POINT_METHODS),
    as_list=st.booleans(),
)
def test_h0_diagram_points(X, metric, method, as_list):
    data = X.tolist() if as_list else X
    before = np.array(X, copy=True)
    outcome, dgm = check_call(
        SUB, h0_diagram, data, metric=metric, method=method, names="data", allow_posinf=True,
        check=_check_h0(np.asarray(data), metric),
    )
    _unchanged(before, X)
    if outcome == "ok":
        _no_alias(dgm, X)
    else:  # only zero rows under the cosine dissimilarity are refused
        assert metric == "cosine" and "zero vectors" in str(dgm)
        assert (np.abs(np.asarray(X, dtype=float)).max(axis=1) == 0).any()


@QUICK
@given(X=point_clouds(), metric=st.sampled_from(METRICS), method=st.sampled_from(POINT_METHODS))
def test_mst_points_is_a_minimum_spanning_tree(X, metric, method):
    X64 = np.asarray(X, dtype=np.float64)
    check_h0 = _check_h0(X, metric)

    def check(forest):
        assert isinstance(forest, SpanningForest)
        n = len(X)
        assert forest.n_vertices == n and forest.n_components == 1
        assert forest.edges.shape == (n - 1, 2) and np.all(forest.edges[:, 0] < forest.edges[:, 1])
        assert np.all(forest.labels == 0)
        # the reported weights are the exact lengths of the reported edges
        i, j = forest.edges[:, 0], forest.edges[:, 1]
        if metric == "cosine":
            U = _unit_rows(X64)
            lengths = 0.5 * np.sum((U[i] - U[j]) ** 2, axis=1)
            np.testing.assert_allclose(forest.weights, lengths, rtol=1e-12, atol=1e-15)
        else:
            k = _shift(X64)
            Xs = np.ldexp(X64, -k)
            lengths = np.ldexp(np.sqrt(np.sum((Xs[i] - Xs[j]) ** 2, axis=1)), k)
            np.testing.assert_allclose(forest.weights, lengths, rtol=1e-14)
        # edges connect everything: a spanning tree
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(forest.edges.tolist())
        assert nx.is_connected(g)
        check_h0(forest.diagram)
        assert math.isfinite(forest.total_weight)
        assert "SpanningForest(" in repr(forest)

    check_call(SUB, mst, X, metric=metric, method=method, names="data", check=check)


@FEW
@given(
    X=point_clouds(min_rows=2, max_rows=8, layouts=False),
    factors=st.lists(st.sampled_from(MAGNITUDES), min_size=1, max_size=3),
    metric=st.sampled_from(METRICS),
    method=st.sampled_from(("auto", "prim")),
    as_list=st.booleans(),
)
def test_batches_equal_one_call_per_cloud(X, factors, metric, method, as_list):
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore"):  # an overflowing stack is refused naming data
        stack = np.stack([X * f for f in factors])
    data = [c for c in stack] if as_list else stack

    def check(dgms):
        assert len(dgms) == len(factors)
        for b, dgm in enumerate(dgms):
            try:
                ref = h0_diagram(stack[b], metric=metric, method=method)
            except ValueError:
                raise AssertionError("the batch accepted a cloud the single call refuses") from None
            assert dgm.tobytes() == ref.tobytes()

    check_call(SUB, h0_diagram_batch, data, metric=metric, method=method, names="data",
               allow_posinf=True, check=check)

    def check_forests(forests):
        for b, forest in enumerate(forests):
            ref = mst(stack[b], metric=metric, method=method)
            assert forest.weights.tobytes() == ref.weights.tobytes()

    check_call(SUB, mst_batch, data, metric=metric, method=method, names="data",
               check=check_forests)


BAD_DATA = bad_arrays((5, 3))


@QUICK
@given(bad=BAD_DATA)
def test_bad_point_clouds_are_refused_naming_data(bad):
    for fn in (h0_diagram, mst):
        for metric in METRICS:
            check_call(SUB, fn, bad, metric=metric, names="data", allow_posinf=True)
    check_call(SUB, h0_diagram_batch, bad, names="data", allow_posinf=True)
    check_call(SUB, mst_batch, [np.ones((2, 2)), bad], names="data")
    check_call(SUB, farthest_point_subsample, bad, 1, names="data")


def test_wrong_dtypes_and_shapes():
    X = np.arange(12.0).reshape(4, 3)
    for bad in (X.astype(complex), X.astype(object), X.astype(str), X[None], X[0], X[:0],
                X[:, :0], np.array([["a", "b"]])):
        for fn in (h0_diagram, mst, farthest_point_subsample):
            args = (bad, 1) if fn is farthest_point_subsample else (bad,)
            outcome, _ = check_call(SUB, fn, *args, names="data", allow_posinf=True)
            assert outcome == "error"
    # int, bool and float16 are real numbers: computed in float64
    for ok in (X.astype(np.int64), X > 4, X.astype(np.float16)):
        ref = h0_diagram(np.asarray(ok, dtype=np.float64))
        np.testing.assert_array_equal(h0_diagram(ok), ref)
    torch = pytest.importorskip("torch")
    outcome, err = check_call(SUB, h0_diagram, torch.ones(3, 2), names="data", allow_posinf=True)
    assert outcome == "error" and "torch" in str(err)


# ---------------------------------------------------------------------------
# dense distance matrices
# ---------------------------------------------------------------------------


@st.composite
def distance_matrices(draw, min_n=1, max_n=9):
    X = draw(point_clouds(min_rows=min_n, max_rows=max_n, layouts=False))
    X64 = np.asarray(X, dtype=np.float64)
    k = _shift(X64)
    Xs = np.ldexp(X64, -k)
    D = cdist(Xs, Xs) * draw(st.sampled_from(MAGNITUDES))
    return D


@QUICK
@given(D=distance_matrices(), data=st.data())
def test_precomputed_matrices(D, data):
    Dv = _with_layout(data.draw, D)
    deaths, n_ess = _gudhi_deaths(D)

    def check(dgm):
        assert int(np.isinf(dgm[:, 1]).sum()) == n_ess == 1
        np.testing.assert_array_equal(_finite(dgm), deaths)  # deaths are entries of D: exact

    before = D.copy()
    check_call(SUB, h0_diagram, Dv, metric="precomputed", names="data", allow_posinf=True,
               check=check)
    np.testing.assert_array_equal(D, before)


@QUICK
@given(D=distance_matrices(min_n=2), kind=st.sampled_from(["asym", "neg", "diag", "nan", "inf",
                                                             "rect", "1d"]))
def test_bad_precomputed_matrices(D, kind):
    D = D.copy()
    if kind == "asym":
        D[0, 1] += 0.5 * D.max() + 1.0  # far beyond the symmetry tolerance
    elif kind == "neg":
        D[0, 1] = D[1, 0] = -1.0
    elif kind == "diag":
        D[1, 1] = 1.0
    elif kind == "nan":
        D[0, 1] = np.nan
    elif kind == "inf":
        D[0, 1] = D[1, 0] = np.inf
    elif kind == "rect":
        D = D[:, 1:]
    else:
        D = D[0]
    for fn, args in [
        (h0_diagram, {"metric": "precomputed"}),
        (mst, {"metric": "precomputed"}),
    ]:
        outcome, _ = check_call(SUB, fn, D, names="data", allow_posinf=True, **args)
        assert outcome == "error"
    for fn, args in [(sparsify, {}), (approximation_bound, {"eps": 0.5})]:
        outcome, _ = check_call(SUB, fn, D, names="D", **args)
        assert outcome == "error"
    outcome, _ = check_call(SUB, farthest_point_subsample, D, 1, metric="precomputed",
                            names="data")
    assert outcome == "error"


# ---------------------------------------------------------------------------
# sparse graphs and edge lists: mst, h0_diagram, h1_births
# ---------------------------------------------------------------------------

FORMATS = ("coo", "csr", "csc", "lil", "coo_array", "csr_array")


@st.composite
def sparse_graphs(draw):
    """(matrix, stored entries) of a random weighted graph, possibly odd."""
    n = draw(st.integers(1, 7))
    m = draw(st.integers(0, 3 * n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = rng.integers(0, n, m)
    cols = rng.integers(0, n, m)
    kind = draw(st.sampled_from(["random", "ties", "zeros"]))
    if kind == "random":
        w = rng.exponential(size=m)
    elif kind == "ties":
        w = rng.integers(0, 3, m).astype(float)
    else:
        w = np.zeros(m)
    w = w * draw(st.sampled_from(MAGNITUDES))
    if not draw(st.booleans()):  # usually: a zero diagonal
        w[rows == cols] = 0.0
    fmt = draw(st.sampled_from(FORMATS))
    coo = sp.coo_matrix((w, (rows, cols)), shape=(n, n))
    if fmt == "coo":
        G = coo  # keeps duplicate entries
    elif fmt == "coo_array":
        G = sp.coo_array((w, (rows, cols)), shape=(n, n))
    elif fmt == "lil":
        G = coo.tolil()
    else:
        G = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "csr_array": sp.csr_array}[fmt](coo)
    return G, (rows, cols, w, n)


def _graph_oracle(rows, cols, w, n, summed: bool):
    """networkx graph of the stored entries: duplicates summed (matrices) or not (edge lists),
    then the smaller of the (i, j) and (j, i) weights; None if the diagonal is not zero."""
    if summed:
        entries: dict = collections.defaultdict(float)
        for r, c, x in zip(rows.tolist(), cols.tolist(), w.tolist(), strict=True):
            entries[(r, c)] += x
        if any(v != 0 for (r, c), v in entries.items() if r == c):
            return None
        items = [(r, c, v) for (r, c), v in entries.items()]
    else:
        items = list(zip(rows.tolist(), cols.tolist(), w.tolist(), strict=True))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for r, c, v in items:
        if r == c:
            continue
        if not g.has_edge(r, c) or v < g[r][c]["weight"]:
            g.add_edge(r, c, weight=v)
    return g


def _forest_checks(g):
    tree = sorted(d["weight"] for *_, d in nx.minimum_spanning_edges(g, data=True))
    everything = sorted(d["weight"] for *_, d in g.edges(data=True))
    rest = list(everything)
    for t in tree:
        rest.remove(t)
    c = nx.number_connected_components(g)

    def check_dgm(dgm):
        assert dgm.shape == (g.number_of_nodes(), 2)
        assert int(np.isinf(dgm[:, 1]).sum()) == c
        np.testing.assert_allclose(_finite(dgm), tree, rtol=1e-15)

    def check_births(births):
        np.testing.assert_allclose(births, rest, rtol=1e-15)

    return check_dgm, check_births


def _graph_diagram(graph, **kw):
    """The H0 diagram of a graph: ``spanning_forest(graph).diagram``."""
    return spanning_forest(graph, **kw).diagram


@QUICK
@given(graph=sparse_graphs())
def test_sparse_graphs_match_networkx(graph):
    G, (rows, cols, w, n) = graph
    g = _graph_oracle(rows, cols, w, n, summed=True)
    nnz = G.nnz
    if g is None:  # a non-zero diagonal: refused by both
        for fn in (_graph_diagram, h1_births):
            outcome, err = check_call(SUB, fn, G, names=("graph", "data"), allow_posinf=True)
            assert outcome == "error" and "zero diagonal" in str(err)
        return
    check_dgm, check_births = _forest_checks(g)
    check_call(SUB, _graph_diagram, G, names="graph", allow_posinf=True, check=check_dgm)
    check_call(SUB, h1_births, G, names="data", check=check_births)
    assert G.nnz == nnz  # the caller's matrix is untouched


@QUICK
@given(graph=sparse_graphs(), given_n=st.booleans(), data=st.data())
def test_edge_lists_match_networkx(graph, given_n, data):
    _, (rows, cols, w, n) = graph
    edges = np.stack([rows, cols], axis=1)
    if len(edges) == 0 and not given_n:
        outcome, _ = check_call(SUB, _graph_diagram, edges, weights=w, names="n_vertices",
                                allow_posinf=True)
        assert outcome == "error"
        return
    n_vertices = n if given_n else int(edges.max()) + 1
    g = _graph_oracle(rows, cols, w, n_vertices, summed=False)
    check_dgm, check_births = _forest_checks(g)
    wv = _with_layout(data.draw, w) if len(w) else w
    ev = _with_layout(data.draw, edges) if len(edges) else edges
    kw = {"n_vertices": n} if given_n else {}
    check_call(SUB, _graph_diagram, ev, weights=wv, names="graph", allow_posinf=True,
               check=check_dgm, **kw)
    check_call(SUB, h1_births, ev, weights=wv, names="data", check=check_births, **kw)


@QUICK
@given(kind=st.sampled_from(["nan", "neg", "inf", "complex", "rect", "empty", "object_w",
                             "float_edges", "out_of_range", "negative_index", "short_w",
                             "both_weights", "wrong_metric", "wrong_method"]))
def test_bad_graphs(kind):
    G = sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    edges, w = np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0])
    kw: dict = {"metric": "precomputed"}
    names = ("data", "weights", "edges", "n_vertices", "metric", "method")
    if kind == "nan":
        G.data[0] = np.nan
        data = G
    elif kind == "neg":
        G.data[0] = -1.0
        data = G
    elif kind == "inf":
        G.data[0] = np.inf
        data = G
    elif kind == "complex":
        data = G.astype(complex)
    elif kind == "rect":
        data = sp.csr_matrix(np.ones((2, 3)))
    elif kind == "empty":
        data = sp.csr_matrix((0, 0))
    elif kind == "object_w":
        data, kw["weights"] = edges, w.astype(object)
    elif kind == "float_edges":
        data, kw["weights"] = edges.astype(float), w
    elif kind == "out_of_range":
        data, kw["weights"], kw["n_vertices"] = edges, w, 2
    elif kind == "negative_index":
        data, kw["weights"] = -edges, w
    elif kind == "short_w":
        data, kw["weights"] = edges, w[:1]
    elif kind == "both_weights":
        data, kw["weights"] = G, w
    elif kind == "wrong_metric":
        data, kw["metric"] = G, "euclidean"
    else:
        data, kw["method"] = G, "prim"
    with warnings.catch_warnings():  # the deprecated graph forms of h0_diagram and mst
        warnings.simplefilter("ignore", DeprecationWarning)
        for fn in (h0_diagram, mst):
            outcome, _ = check_call(SUB, fn, data, names=names, allow_posinf=True, **kw)
            assert outcome == "error"
    kw.pop("metric")
    kw.pop("method", None)
    if kind not in ("wrong_metric", "wrong_method"):
        for fn in (spanning_forest, h1_births):
            outcome, _ = check_call(SUB, fn, data, names=(*names, "graph"), **kw)
            assert outcome == "error"


# ---------------------------------------------------------------------------
# hyperparameters of the MST functions
# ---------------------------------------------------------------------------

STRINGS = (None, 1, "", "EUCLIDEAN", "manhattan", "auto ", ["prim"])


@QUICK
@given(value=bad_scalars(), text=st.sampled_from(STRINGS))
def test_mst_hyperparameters(value, text):
    X = np.random.default_rng(0).standard_normal((6, 2))
    ref = h0_diagram(X)

    def same(dgm):
        np.testing.assert_array_equal(dgm, ref)

    check_call(SUB, h0_diagram, X, memory_budget=value, names="memory_budget",
               allow_posinf=True, check=same)
    check_call(SUB, h0_diagram_batch, X[None], memory_budget=value, names="memory_budget",
               allow_posinf=True)
    check_call(SUB, h0_diagram, X, metric=text, names="metric", allow_posinf=True)
    check_call(SUB, h0_diagram, X, method=text, names="method", allow_posinf=True)
    check_call(SUB, mst_batch, X[None], metric=text, names="metric")
    check_call(SUB, mst_batch, X[None], method=text, names="method")
    edges = np.array([[0, 1], [1, 2]])
    check_call(SUB, spanning_forest, edges, weights=[1.0, 2.0], n_vertices=value,
               names="n_vertices")
    check_call(SUB, h1_births, edges, weights=[1.0, 2.0], n_vertices=value, names="n_vertices")
    # n_vertices belongs to edge lists only
    outcome, _ = check_call(SUB, h0_diagram, X, n_vertices=6, names="n_vertices",
                            allow_posinf=True)
    assert outcome == "error"


def test_memory_budget_forces_blocked_methods_with_the_same_answer():
    X = np.random.default_rng(1).standard_normal((300, 3)) * 1e200
    ref = h0_diagram(X, method="prim")
    _, dgm = check_call(SUB, h0_diagram, X, memory_budget=4096, method="auto",
                        allow_posinf=True)
    np.testing.assert_array_equal(dgm, ref)
    outcome, _ = check_call(SUB, h0_diagram, X, memory_budget=4096, method="prim",
                            names="memory_budget", allow_posinf=True)
    assert outcome == "error"


# ---------------------------------------------------------------------------
# sparsify, approximation_bound, farthest_point_subsample
# ---------------------------------------------------------------------------


def _eps_oracle(D, lam, convention):
    k = _shift(D)
    Ds = np.ldexp(D, -k)
    n = len(D)
    if convention == "exact":
        vals = Ds[~np.eye(n, dtype=bool)]
        mu, sd = vals.mean(), vals.std()
    else:
        mu, sd = Ds.mean(), Ds.std(ddof=1)
    return (mu - lam * sd) * math.ldexp(1.0, k), (abs(mu) + abs(lam * sd)) * math.ldexp(1.0, k)


@QUICK
@given(D=distance_matrices(min_n=2), lam=st.sampled_from([0.5, 0.0, -1.0, 2.0, 1e5, *BAD_SCALARS]),
       convention=st.sampled_from(["exact", "tomclip", "TOMCLIP", None]), data=st.data())
def test_sparsify(D, lam, convention, data):
    Dv = _with_layout(data.draw, D)

    def check(g):
        assert isinstance(g, SparsifiedGraph)
        eps_ref, size = _eps_oracle(D, float(lam), convention)
        assert abs(g.eps - eps_ref) <= 1e-12 * size
        iu = np.triu_indices(len(D), 1)
        kept = D[iu] <= g.eps
        assert g.n_edges == int(kept.sum())
        A = g.graph.toarray()
        assert np.array_equal(A, A.T)
        if convention == "exact":
            assert g.weight_scale == 1.0
            np.testing.assert_array_equal(A[iu][kept], D[iu][kept])
        gr = nx.Graph()
        gr.add_nodes_from(range(len(D)))
        gr.add_edges_from(zip(iu[0][kept].tolist(), iu[1][kept].tolist(), strict=True))
        assert g.n_components == nx.number_connected_components(gr)
        assert "SparsifiedGraph(" in repr(g)

    check_call(SUB, sparsify, Dv, lam=lam, convention=convention,
               names=("lam", "convention", "D"), check=check)


@FEW
@given(D=distance_matrices(min_n=2, max_n=7),
       eps_rank=st.integers(0, 5),
       p=st.sampled_from([1.0, 2.0, 3.5, INF, 1e300, *BAD_SCALARS]),
       data=st.data())
def test_approximation_bound(D, eps_rank, p, data):
    deaths, _ = _gudhi_deaths(D)
    eps = float(deaths[min(eps_rank, len(deaths) - 1)]) if len(deaths) else 0.0
    Dv = _with_layout(data.draw, D)

    def check(res):
        assert isinstance(res, SparsificationBound)
        m = int((deaths > eps).sum())
        assert res.n_affected == m
        T = float(D.max())
        pp = float(p)
        expected = 0.0 if m == 0 else (T - eps) * (1.0 if math.isinf(pp) else m ** (1 / pp))
        assert math.isclose(res.bound, expected, rel_tol=1e-12, abs_tol=0.0)
        # the theorem, up to the rounding of the transport solver
        assert res.distance <= res.bound * (1 + 1e-9) + 1e-300
        assert 0.0 <= res.ratio <= 1 + 1e-9
        np.testing.assert_array_equal(_finite(res.exact_diagram), deaths)
        k = _shift(D)
        d1, d2 = np.ldexp(res.exact_diagram, -k), np.ldexp(res.sparse_diagram, -k)
        if math.isinf(pp):
            ref = _brute_bottleneck(d1[:-1], d2[:-1])
        elif pp <= 3.5:
            ref = gudhi_wasserstein(d1, d2, pp, INF)
        else:
            return
        assert abs(math.ldexp(res.distance, -k) - ref) <= 1e-9 * max(1.0, ref)

    check_call(SUB, approximation_bound, Dv, eps, p=p, names=("p", "eps", "D"), check=check,
               allow_posinf=True)


@QUICK
@given(value=bad_scalars())
def test_approximation_bound_eps(value):
    D = cdist(np.arange(5.0)[:, None], np.arange(5.0)[:, None])
    check_call(SUB, approximation_bound, D, value, names="eps", allow_posinf=True)


def _brute_fps(X64, k, start):
    s = _shift(X64)
    Xs = np.ldexp(X64, -s)
    D = cdist(Xs, Xs)
    idx, radii = [start], [np.inf]
    mind = D[start].copy()
    while len(idx) < k and mind.max() > 0:
        c = int(np.argmax(mind))
        radii.append(mind[c])
        idx.append(c)
        mind = np.minimum(mind, D[c])
    return np.array(idx), np.ldexp(np.array(radii), s), math.ldexp(float(mind.max()), s)


@QUICK
@given(X=point_clouds(), k=st.integers(1, 12), start=st.integers(0, 11),
       max_radius=st.sampled_from([None, 0.0, 1e-300, 1.0, 1e300, *BAD_SCALARS]))
def test_farthest_point_subsample(X, k, start, max_radius):
    X64 = np.asarray(X, dtype=np.float64)
    n = len(X64)

    def check(sub):
        assert isinstance(sub, Subsample)
        idx, radii, r = _brute_fps(X64, min(k, n), min(start, n - 1))
        m = len(sub.indices)
        np.testing.assert_array_equal(sub.indices, idx[:m])
        np.testing.assert_allclose(sub.insertion_radii, radii[:m], rtol=1e-12)
        assert sub.bottleneck_bound == 2 * sub.covering_radius
        if m == len(idx):
            assert math.isclose(sub.covering_radius, r, rel_tol=1e-12)
        else:  # stopped early: covered within max_radius
            assert sub.covering_radius <= float(max_radius)

    check_call(SUB, farthest_point_subsample, X, k, start=start, max_radius=max_radius,
               names=("n_samples", "start", "max_radius", "data"), allow_posinf=True,
               check=check)


@QUICK
@given(value=bad_scalars(), text=st.sampled_from(STRINGS))
def test_farthest_point_hyperparameters(value, text):
    X = np.arange(8.0).reshape(4, 2)
    check_call(SUB, farthest_point_subsample, X, value, names="n_samples", allow_posinf=True)
    check_call(SUB, farthest_point_subsample, X, 2, start=value, names="start",
               allow_posinf=True)
    check_call(SUB, farthest_point_subsample, X, 2, metric=text, names="metric",
               allow_posinf=True)


# ---------------------------------------------------------------------------
# diagram distances
# ---------------------------------------------------------------------------


@st.composite
def diagrams(draw, max_points=5, max_essential=1, magnitude=None):
    n = draw(st.integers(0, max_points))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["random", "ints", "duplicates", "diagonal", "h0"]))
    if kind == "random":
        b = rng.uniform(-1, 1, n)
        d = b + rng.exponential(1.0, n)
    elif kind == "ints":
        b = rng.integers(-2, 3, n).astype(float)
        d = b + rng.integers(0, 3, n)
    elif kind == "duplicates":
        b = np.full(n, rng.uniform(-1, 1))
        d = b + 0.5
    elif kind == "diagonal":
        b = rng.uniform(-1, 1, n)
        d = b.copy()
        d[: n // 2] += 1.0
    else:
        b = np.zeros(n)
        d = rng.exponential(1.0, n)
    dgm = np.column_stack([b, d])
    n_ess = draw(st.integers(0, max_essential))
    ess = np.column_stack([rng.uniform(-1, 1, n_ess), np.full(n_ess, INF)])
    dgm = np.concatenate([dgm, ess]) if n_ess else dgm
    mag = magnitude if magnitude is not None else draw(st.sampled_from(MAGNITUDES))
    return dgm * mag


def gudhi_wasserstein(d1, d2, p, q):
    import gudhi.wasserstein as gw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(gw.wasserstein_distance(d1, d2, order=p, internal_p=q,
                                             keep_essential_parts=True))


def _brute_bottleneck(D1, D2):
    """Exact bottleneck distance (l_inf) by thresholded assignments; essential points by birth."""
    e1, e2 = np.sort(D1[np.isinf(D1[:, 1]), 0]), np.sort(D2[np.isinf(D2[:, 1]), 0])
    ess = float(np.abs(e1 - e2).max(initial=0.0))
    A, B = D1[np.isfinite(D1[:, 1])], D2[np.isfinite(D2[:, 1])]
    n, m = len(A), len(B)
    big = np.full((n + m, n + m), INF)
    if n and m:
        big[:n, :m] = cdist(A, B, metric="chebyshev")
    big[np.arange(n), m + np.arange(n)] = (A[:, 1] - A[:, 0]) / 2
    big[n + np.arange(m), np.arange(m)] = (B[:, 1] - B[:, 0]) / 2
    big[n:, m:] = 0.0
    if n + m == 0:
        return ess
    for t in np.unique(big[np.isfinite(big)]):
        r, c = linear_sum_assignment((big > t).astype(float))
        if not (big[r, c] > t).any():
            return max(float(t), ess)
    raise AssertionError("unreachable")


def _common_shift(d1, d2) -> int:
    return max(_shift(d1), _shift(d2))


def _draw_view(draw, dgm):
    if draw(st.booleans()):
        return _with_layout(draw, dgm)
    if np.all(np.isfinite(dgm)) and np.all(np.abs(dgm) < 1e30) and np.all(
        (dgm == 0) | (np.abs(dgm) > 1e-30)
    ) and draw(st.booleans()):
        return dgm.astype(np.float32)
    return dgm


def _as64(view) -> np.ndarray:
    """The values sheaftopo sees, as a float64 (k, 2) array (an empty list is 1-D)."""
    return np.asarray(view, dtype=np.float64).reshape(-1, 2)


def _same_count(d1, d2):
    return int(np.isinf(d1[:, 1]).sum()) == int(np.isinf(d2[:, 1]).sum())


@QUICK
@given(d1=diagrams(), d2=diagrams(), same_scale=st.booleans(),
       p=st.sampled_from([1.0, 2.0]), q=st.sampled_from([1.0, 2.0, INF]), data=st.data())
def test_wasserstein_matches_gudhi_at_unit_scale(d1, d2, same_scale, p, q, data):
    if same_scale:  # same magnitude, else the drawn ones (mixed scales)
        d2 = d2 / max(1e-300, np.abs(d2[np.isfinite(d2)]).max(initial=1.0)) * max(
            1e-300, np.abs(d1[np.isfinite(d1)]).max(initial=1.0))
    v1, v2 = _draw_view(data.draw, d1), _draw_view(data.draw, d2)
    d1, d2 = _as64(v1), _as64(v2)

    def check(w):
        if not _same_count(d1, d2):
            assert w == INF
            return
        k = _common_shift(d1, d2)
        u1, u2 = np.ldexp(d1, -k), np.ldexp(d2, -k)
        ref = gudhi_wasserstein(u1, u2, p, q)
        # GUDHI's LP solves for W_p^p at unit scale to ~eps per unit of cost, so
        # its W_p itself is only good to (c eps)^(1/p) absolutely (a W_2 of
        # 6.45e-9 at unit scale came back as 1.89e-8; the brute-force assignment
        # agrees with ours there)
        floor = (1e3 * np.finfo(float).eps * (len(u1) + len(u2) + 1)) ** (1.0 / p)
        assert abs(math.ldexp(w, -k) - ref) <= 1e-7 * ref + floor
        assert w >= bottleneck(d1, d2) * (1 - 1e-9)  # W_p >= d_B for every ground metric

    check_call(SUB, wasserstein, v1, v2, p=p, internal_p=q, names=("dgm1", "dgm2"),
               allow_posinf=True, check=check)


@QUICK
@given(d1=diagrams(), d2=diagrams(), delta=st.sampled_from([0.0, 1e-16, 1e-9, 0.01, 0.5]),
       data=st.data())
def test_bottleneck_matches_brute_force(d1, d2, delta, data):
    v1, v2 = _draw_view(data.draw, d1), _draw_view(data.draw, d2)
    d1, d2 = _as64(v1), _as64(v2)

    def check(b):
        if not _same_count(d1, d2):
            assert b == INF
            return
        k = _common_shift(d1, d2)
        ref = _brute_bottleneck(np.ldexp(d1, -k), np.ldexp(d2, -k))
        got = math.ldexp(b, -k)
        # coordinates far below the largest one are rounded away when rescaled
        slack = 1e-12 * max(ref, 1.0) + 1e-15
        assert ref - slack <= got <= (1 + delta) * ref + slack

    check_call(SUB, bottleneck, v1, v2, delta=delta, names=("dgm1", "dgm2"), allow_posinf=True,
               check=check)


@TINY
@given(d1=diagrams(), d2=diagrams(), p=st.sampled_from([1.0, 2.0]),
       q=st.sampled_from([1.0, 2.0, INF]), data=st.data())
def test_matchings_realise_the_distances(d1, d2, p, q, data):
    v1, v2 = _draw_view(data.draw, d1), _draw_view(data.draw, d2)
    d1, d2 = _as64(v1), _as64(v2)

    def bijection(m, p_, q_):
        assert isinstance(m, P.DiagramMatching)
        if not _same_count(d1, d2):
            assert m.distance == INF and m.pairs.shape == (0, 2)
            return
        a, b = m.pairs[:, 0], m.pairs[:, 1]
        assert sorted(a[a >= 0]) == list(range(len(d1)))
        assert sorted(b[b >= 0]) == list(range(len(d2)))
        assert m.cost == pytest.approx(m.distance, rel=1e-9, abs=0.0)

    def check_w(m):
        bijection(m, p, q)
        assert m.distance == wasserstein(d1, d2, p=p, internal_p=q)

    def check_b(m):
        bijection(m, INF, INF)
        if _same_count(d1, d2):
            assert m.distance == pytest.approx(bottleneck(d1, d2), rel=1e-12, abs=0.0)

    check_call(SUB, P.wasserstein_matching, v1, v2, p=p, internal_p=q, names=("dgm1", "dgm2"),
               allow_posinf=True, check=check_w)
    check_call(SUB, P.bottleneck_matching, v1, v2, names=("dgm1", "dgm2"), allow_posinf=True,
               check=check_b)


@TINY
@given(d1=diagrams(), d2=diagrams(), sigma=st.sampled_from([1e-150, 0.5, 1e150]),
       data=st.data())
def test_sliced_wasserstein_kernel_is_exp_of_the_distance(d1, d2, sigma, data):
    v1, v2 = _draw_view(data.draw, d1), _draw_view(data.draw, d2)
    d1, d2 = _as64(v1), _as64(v2)
    finite = bool(np.isfinite(d1).all() and np.isfinite(d2).all())

    def check(K):
        assert K.shape == (2, 3) and np.all((K > 0) | (K == 0)) and np.all(K <= 1)
        sw = sliced_wasserstein(d1, d2)
        with np.errstate(over="ignore"):
            want = math.exp(-sw / (2 * sigma * sigma)) if sw < 1e308 else 0.0
        assert K[0, 1] == pytest.approx(want, rel=1e-9, abs=1e-300)
        assert K[0, 0] == K[1, 1] == K[1, 2] == 1.0 and K[0, 1] == K[0, 2]

    outcome, _ = check_call(SUB, P.sliced_wasserstein_kernel, [v1, v2], [v1, v2, v2],
                            bandwidth=sigma, names=("dgms_x", "dgms_y"), check=check)
    assert outcome == ("ok" if finite else "error")


def _gudhi_directions(m):
    """The m directions GUDHI's sliced Wasserstein uses when asked for m + 1."""
    return np.linspace(-np.pi / 2, np.pi / 2, num=m + 1, endpoint=False)[:-1]


@QUICK
@given(d1=diagrams(), d2=diagrams(), m=st.integers(1, 8), data=st.data())
def test_sliced_wasserstein_matches_gudhi_and_pot(d1, d2, m, data):
    v1, v2 = _draw_view(data.draw, d1), _draw_view(data.draw, d2)
    d1, d2 = _as64(v1), _as64(v2)
    f1, f2 = d1[np.isfinite(d1[:, 1])], d2[np.isfinite(d2[:, 1])]
    k = _common_shift(f1, f2)
    u1, u2 = np.ldexp(f1, -k), np.ldexp(f2, -k)
    theta = _gudhi_directions(m)

    def check_diagram(sw):
        import gudhi.representations.metrics as gm

        ref = gm._sliced_wasserstein_distance(u1, u2, m + 1)
        assert abs(math.ldexp(sw, -k) - ref) <= 1e-9 * max(ref, 1.0)

    check_call(SUB, sliced_wasserstein, v1, v2, directions=theta, essential="drop",
               names=("dgm1", "dgm2", "essential"), check=check_diagram)

    def check_cloud(sw):
        import ot

        if len(u1) == 0 and len(u2) == 0:
            assert sw == 0.0
            return
        proj = np.stack([np.cos(theta), np.sin(theta)])
        ref = float(ot.sliced_wasserstein_distance(u1, u2, projections=proj, p=2))
        assert abs(math.ldexp(sw, -k) - ref) <= 1e-9 * max(ref, 1.0)

    check_call(SUB, sliced_wasserstein, v1, v2, directions=theta, essential="drop",
               kind="point_cloud", names=("dgm1", "dgm2", "essential"), check=check_cloud)
    # essential points are refused by default, naming the diagram
    if not (np.isfinite(d1).all() and np.isfinite(d2).all()):
        outcome, _ = check_call(SUB, sliced_wasserstein, v1, v2, names=("dgm1", "dgm2"))
        assert outcome == "error"


@QUICK
@given(bad=BAD_DATA, which=st.booleans())
def test_bad_diagrams_are_refused(bad, which):
    good = np.array([[0.0, 1.0], [0.5, 2.0]])
    args = (bad, good) if which else (good, bad)
    name = "dgm1" if which else "dgm2"
    for fn in (wasserstein, bottleneck, sliced_wasserstein, P.wasserstein_matching,
               P.bottleneck_matching):
        check_call(SUB, fn, *args, names=name, allow_posinf=True)
    for dgm in ([[1.0, 0.0]], [[np.nan, 1.0]], [[-np.inf, 1.0]], [[np.inf, np.inf]],
                [[0.0, -np.inf]], [[0.0, 1.0, 2.0]], [0.0, 1.0]):
        for fn in (wasserstein, bottleneck, sliced_wasserstein):
            outcome, _ = check_call(SUB, fn, dgm, good, names="dgm1", allow_posinf=True)
            assert outcome == "error"


@QUICK
@given(value=bad_scalars(), text=st.sampled_from(STRINGS))
def test_distance_hyperparameters(value, text):
    d1 = np.array([[0.0, 1.0], [0.0, 3.0], [1.0, 2.0]])
    d2 = np.array([[0.0, 1.5], [0.0, 2.5]])
    db = 0.5

    def at_least_bottleneck(w):
        assert w >= db * (1 - 1e-12)

    check_call(SUB, wasserstein, d1, d2, p=value, names="p", check=at_least_bottleneck)
    check_call(SUB, wasserstein, d1, d2, internal_p=value, names="internal_p",
               check=at_least_bottleneck)

    def within_delta(b):
        assert db * (1 - 1e-12) <= b <= (1 + float(value)) * db * (1 + 1e-12)

    check_call(SUB, bottleneck, d1, d2, delta=value, names="delta", check=within_delta)
    check_call(SUB, sliced_wasserstein, d1, d2, p=value, names="p")
    check_call(SUB, sliced_wasserstein, d1, d2, n_directions=value, names="n_directions")
    check_call(SUB, sliced_wasserstein, d1, d2, seed=value, names="seed")
    check_call(SUB, sliced_wasserstein, d1, d2, directions=[value], names="directions")
    check_call(SUB, sliced_wasserstein, d1, d2, kind=text, names="kind")
    for name in ("bandwidth", "n_directions", "seed"):
        check_call(SUB, P.sliced_wasserstein_kernel, [d1, d2], **{name: value}, names=name)
    for bad_list in (d1, "abc", None, 3.0, [d1, [[0.0, np.inf]]]):
        outcome, _ = check_call(SUB, P.sliced_wasserstein_kernel, bad_list, names="dgms_x")
        assert outcome == "error"
    check_call(SUB, sliced_wasserstein, d1, d2, essential=text, names="essential")
    outcome, _ = check_call(SUB, sliced_wasserstein, d1, d2, seed=0, directions=[0.0],
                            names=("seed", "directions"))
    assert outcome == "error"


# ---------------------------------------------------------------------------
# diagrams (giotto-ph), vertex births, min_persistence
# ---------------------------------------------------------------------------


def _ripser_at_unit_scale(X, **kwargs):
    """ripser.py's diagrams of X computed on X / 2**k (its float32 range), scaled back."""
    ripser = pytest.importorskip("ripser").ripser
    X64 = np.array(X, dtype=np.float64)
    k = _shift(X64)
    with warnings.catch_warnings():  # a square point cloud (n == d) is not a distance matrix
        warnings.filterwarnings("ignore", message="The input matrix is square")
        out = ripser(np.ldexp(X64, -k), **kwargs)["dgms"]
    return [np.ldexp(np.asarray(g, dtype=np.float64), k) for g in out]


@TINY
@given(X=point_clouds(max_rows=9, max_cols=3), threshold=st.sampled_from([INF, 0.5]))
def test_diagrams_match_ripser_and_h0_diagram(X, threshold):
    pytest.importorskip("gph")
    before = np.array(X, copy=True)
    scale = math.ldexp(1.0, _shift(X))
    ref = _ripser_at_unit_scale(X, maxdim=1, thresh=threshold)

    def check(res):
        assert isinstance(res, P.Diagrams) and len(res.dgms) == 2
        h0 = h0_diagram(X, min_persistence=0.0)
        if threshold == INF:
            np.testing.assert_array_equal(res.dgms[0], h0)
        for got, want in zip(res.dgms, ref, strict=True):
            assert got.dtype == np.float64 and got.shape == want.shape
            n_inf = np.isinf(got[:, 1]).sum()
            assert n_inf == np.isinf(want[:, 1]).sum()
            fin = np.isfinite(got[:, 1])
            got_f = np.sort(got[fin], axis=0)
            want_f = np.sort(want[np.isfinite(want[:, 1])], axis=0)
            np.testing.assert_allclose(got_f, want_f, rtol=1e-5, atol=1e-6 * scale)

    check_call(SUB, P.diagrams, X, threshold=threshold * scale, names="data",
               allow_posinf=True, check=check)
    _unchanged(before, X)


@TINY
@given(X=point_clouds(max_rows=8, max_cols=3), data=st.data())
def test_vertex_births_match_gudhi(X, data):
    n = len(X)
    scale = math.ldexp(1.0, _shift(X))
    f = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]),
                                    min_size=n, max_size=n))) * scale
    f_in = _with_layout(data.draw, f)
    X64 = np.ldexp(np.array(X, dtype=np.float64), -_shift(X))
    D = cdist(X64, X64)
    W = np.maximum(np.maximum(D, f[:, None] / scale), f[None, :] / scale)
    tree = gudhi.SimplexTree()
    tree.insert_batch(np.arange(n)[None, :], f / scale)
    I, J = np.triu_indices(n, 1)
    if n > 1:
        tree.insert_batch(np.stack([I, J]), W[I, J])
    tree.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    want = np.ldexp(tree.persistence_intervals_in_dimension(0).reshape(-1, 2), _shift(X))
    tol = _tolerance(X, "euclidean")

    def check(dgm):
        assert dgm.shape == (n, 2)
        np.testing.assert_allclose(np.sort(dgm[:, 0]), np.sort(want[:, 0]), rtol=0, atol=tol)
        np.testing.assert_allclose(np.sort(dgm[:, 1]), np.sort(want[:, 1]), rtol=0, atol=tol)

    check_call(SUB, h0_diagram, X, vertex_births=f_in, names="data", allow_posinf=True,
               check=check)


@TINY
@given(bad=bad_arrays((4,)), value=bad_scalars())
def test_bad_vertex_births_and_min_persistence(bad, value):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    for fn in (h0_diagram, P.diagrams):
        outcome, _ = check_call(SUB, fn, X, vertex_births=bad, names="vertex_births",
                                allow_posinf=True)
        assert outcome == ("ok" if bad is None else "error")  # None: all born at 0
        outcome, _ = check_call(SUB, fn, X, vertex_births=[0.0, 1.0], names="vertex_births")
        assert outcome == "error"
        check_call(SUB, fn, X, min_persistence=value, names="min_persistence",
                   allow_posinf=True)
    for name in ("max_dim", "threshold", "coeff", "n_threads"):
        check_call(SUB, P.diagrams, X, **{"max_dim": 0, name: value}, names=name,
                   allow_posinf=True)
    check_call(SUB, P.diagrams, X, metric=str(value), names="metric", allow_posinf=True)
    outcome, _ = check_call(SUB, P.diagrams, X, coeff=6, names="coeff")
    assert outcome == "error"
    for bad_data in ([[np.nan, 0.0]], "abc", np.zeros((0, 2))):
        outcome, _ = check_call(SUB, P.diagrams, bad_data, names="data")
        assert outcome == "error"


# ---------------------------------------------------------------------------
# the Dask MST
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synchronous_dask():
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.array")
    with dask.config.set(scheduler="synchronous"):  # in-process, one thread: fast and exact
        yield


@FEW
@given(X=point_clouds(), block_rows=st.sampled_from([1, 3, 5, 64]),
       n_neighbors=st.sampled_from([1, 2, 16]), chunked=st.booleans())
def test_dask_mst_equals_the_in_memory_code(synchronous_dask, X, block_rows, n_neighbors,
                                            chunked):
    from sheaftopo.distributed import DaskOptions, h0_diagram_dask, mst_dask

    data = X
    if chunked:
        import dask.array as da

        data = da.from_array(np.asarray(X), chunks=(block_rows, -1))
    ref = h0_diagram(X)
    kw = {} if chunked else {"options": DaskOptions(block_rows=block_rows)}

    def check(forest):
        assert forest.diagram.tobytes() == ref.tobytes()
        assert forest.method == "dask-boruvka" and forest.n_components == 1

    check_call(SUB, mst_dask, data, n_neighbors=n_neighbors, names="X", check=check, **kw)

    def same(dgm):
        assert dgm.tobytes() == ref.tobytes()

    check_call(SUB, h0_diagram_dask, data, n_neighbors=n_neighbors, names="X",
               allow_posinf=True, check=same, **kw)


@FEW
@given(bad=BAD_DATA, value=bad_scalars())
def test_dask_bad_input(synchronous_dask, bad, value):
    from sheaftopo.distributed import DaskOptions, h0_diagram_dask, mst_dask

    def mst_dask_with(X, **options):
        return mst_dask(X, options=DaskOptions(**options))

    X = np.arange(12.0).reshape(6, 2)
    if isinstance(bad, str):  # a string is the path of a directory of shards
        with pytest.raises(FileNotFoundError, match="X: no such file or directory"):
            mst_dask(bad)
    else:
        check_call(SUB, mst_dask, bad, names="X")
        check_call(SUB, h0_diagram_dask, bad, names="X", allow_posinf=True)
    check_call(SUB, mst_dask, X, names="n_neighbors", n_neighbors=value)
    for arg in ("block_rows", "memory_budget", "timeout"):
        check_call(SUB, mst_dask_with, X, names=arg, **{arg: value})
    if not isinstance(value, (str, type(None))):  # a string is a scheduler address
        check_call(SUB, mst_dask_with, X, client=value, names="client")


# ---------------------------------------------------------------------------
# coverage
# ---------------------------------------------------------------------------

#: public names exercised above (classes through the functions that return them)
COVERED = {
    "SpanningForest": test_mst_points_is_a_minimum_spanning_tree,
    "SparsificationBound": test_approximation_bound,
    "SparsifiedGraph": test_sparsify,
    "Subsample": test_farthest_point_subsample,
    "approximation_bound": test_approximation_bound,
    "bottleneck": test_bottleneck_matches_brute_force,
    "bottleneck_matching": test_matchings_realise_the_distances,
    "DiagramMatching": test_matchings_realise_the_distances,
    "Diagrams": test_diagrams_match_ripser_and_h0_diagram,
    "diagrams": test_diagrams_match_ripser_and_h0_diagram,
    "farthest_point_subsample": test_farthest_point_subsample,
    "h0_diagram": test_h0_diagram_points,
    "h0_diagram_batch": test_batches_equal_one_call_per_cloud,
    "h1_births": test_sparse_graphs_match_networkx,
    "mst": test_mst_points_is_a_minimum_spanning_tree,
    "mst_batch": test_batches_equal_one_call_per_cloud,
    "sliced_wasserstein": test_sliced_wasserstein_matches_gudhi_and_pot,
    "sliced_wasserstein_kernel": test_sliced_wasserstein_kernel_is_exp_of_the_distance,
    "spanning_forest": test_sparse_graphs_match_networkx,
    "sparsify": test_sparsify,
    "wasserstein": test_wasserstein_matches_gudhi_at_unit_scale,
    "wasserstein_matching": test_matchings_realise_the_distances,
}


def test_every_public_name_is_covered():
    assert set(P.__all__) == set(COVERED)
