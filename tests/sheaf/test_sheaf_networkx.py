"""Edge weights and node order read from networkx graphs, as networkx reads them.

The constant sheaf with 1-dimensional stalks is the graph: its Laplacian must
equal ``nx.laplacian_matrix`` and its normalised Laplacian
``nx.normalized_laplacian_matrix`` for every ``weight`` and ``nodelist``, on
networkx's own test graphs (tests/linalg/test_laplacian.py: the Havel-Hakimi
graph of degrees [3, 2, 2, 1, 0] with an isolated vertex, its copy ``WG`` with
weights 0.5 and a second attribute "other" = 0.3) and on weighted graphs.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.sheaf import (
    CellularSheaf,
    dirichlet_energy,
    harmonic_extension,
    laplacian,
    spectrum,
)


def _networkx_test_graphs() -> dict[str, nx.Graph]:
    G = nx.havel_hakimi_graph([3, 2, 2, 1, 0])
    WG = nx.Graph((u, v, {"weight": 0.5, "other": 0.3}) for u, v in G.edges())
    WG.add_node(4)
    karate = nx.karate_club_graph()  # integer "weight" attributes
    mixed = nx.Graph([("a", "b", {"weight": 2.5}), ("b", "c"), ("c", "a", {"weight": 1e-3})])
    return {"G": G, "WG": WG, "karate": karate, "mixed": mixed}


GRAPHS = _networkx_test_graphs()


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("weight", ["weight", "other", None])
@pytest.mark.parametrize("order", ["default", "reversed", "subset"])
def test_constant_sheaf_laplacians_equal_networkx(name, weight, order):
    G = GRAPHS[name]
    nodes = list(G.nodes)
    nodelist = {"default": None, "reversed": nodes[::-1], "subset": nodes[::2]}[order]
    F = CellularSheaf.constant(G, weight=weight, nodelist=nodelist)
    assert F.vertex_labels == (nodes if nodelist is None else nodelist)
    expected = nx.laplacian_matrix(G, nodelist=nodelist, weight=weight).toarray()
    np.testing.assert_allclose(laplacian(F).toarray(), expected, rtol=0, atol=1e-14)
    expected_n = nx.normalized_laplacian_matrix(G, nodelist=nodelist, weight=weight).toarray()
    np.testing.assert_allclose(
        laplacian(F, normalized=True).toarray(), expected_n, rtol=0, atol=1e-13
    )


def test_edges_without_the_attribute_weigh_one_and_unweighted_graphs_keep_none():
    M = GRAPHS["mixed"]
    F = CellularSheaf.constant(M)
    expected = [d.get("weight", 1.0) for _, _, d in M.edges(data=True)]
    assert sorted(expected) == [1e-3, 1.0, 2.5]
    np.testing.assert_array_equal(F.edge_weights, expected)
    assert CellularSheaf.constant(GRAPHS["G"]).edge_weights is None
    assert CellularSheaf.constant(GRAPHS["karate"], weight=None).edge_weights is None
    with pytest.raises(ValueError, match=r"read-only|not writeable"):
        F.edge_weights[0] = 3.0


def test_stored_weights_are_every_operators_default_and_explicit_weights_override():
    G = GRAPHS["karate"]
    F = CellularSheaf.constant(G)
    U = CellularSheaf.constant(G, weight=None)
    w = F.edge_weights
    np.testing.assert_array_equal(laplacian(U, weights=w).toarray(), laplacian(F).toarray())
    ones = np.ones(F.n_edges)
    np.testing.assert_array_equal(laplacian(F, weights=ones).toarray(), laplacian(U).toarray())
    x = np.random.default_rng(0).normal(size=F.n_vertices)
    assert dirichlet_energy(F, x) == pytest.approx(dirichlet_energy(U, x, weights=w), rel=1e-12)
    lam = spectrum(F, 3, method="dense").eigenvalues
    expected = np.linalg.eigvalsh(nx.laplacian_matrix(G).toarray().astype(float))[:3]
    np.testing.assert_allclose(lam, expected, atol=1e-10)
    # the cached unweighted Laplacian of U is not the weighted one of F
    assert not np.allclose(laplacian(U).toarray(), laplacian(F).toarray())


def test_harmonic_extension_uses_the_weights():
    # path a - b - c with weights 3 and 1: the harmonic value at b is (3*0 + 1*4) / 4 = 1
    G = nx.Graph([("a", "b", {"weight": 3.0}), ("b", "c", {"weight": 1.0})])
    x = harmonic_extension(CellularSheaf.constant(G), [0, 2], [0.0, 4.0])
    np.testing.assert_allclose(x, [0.0, 1.0, 4.0], atol=1e-9)
    G.edges["a", "b"]["weight"] = 0.0
    with pytest.raises(ValueError, match="positive edge weights"):
        harmonic_extension(CellularSheaf.constant(G), [0, 2], [0.0, 4.0])


def test_weights_round_trip_through_networkx_for_every_constructor():
    G = nx.Graph([(0, 1, {"weight": 2.0}), (1, 2, {"weight": 0.25})])
    R = np.array([[[0.0, -1.0], [1.0, 0.0]]] * 2)
    for F in (
        CellularSheaf.random(G, 2, 1, seed=0),
        CellularSheaf.connection(G, R),
        CellularSheaf.from_maps(G, [np.eye(2)] * 2, list(R)),
    ):
        np.testing.assert_array_equal(F.edge_weights, [2.0, 0.25])
        back = CellularSheaf.from_networkx(F.to_networkx())
        np.testing.assert_array_equal(back.edge_weights, F.edge_weights)
        np.testing.assert_array_equal(laplacian(back).toarray(), laplacian(F).toarray())
    H = CellularSheaf.random(G, 2, 1, seed=0).to_networkx(weight=None)
    assert "weight" not in H.edges[0, 1]


@pytest.mark.parametrize(
    ("graph", "kwargs", "error", "match"),
    [
        (nx.Graph([(0, 1, {"weight": -1.0})]), {}, ValueError, "finite and non-negative"),
        (nx.Graph([(0, 1, {"weight": np.nan})]), {}, ValueError, "finite and non-negative"),
        (nx.Graph([(0, 1, {"weight": np.inf})]), {}, ValueError, "finite and non-negative"),
        (nx.Graph([(0, 1, {"weight": "heavy"})]), {}, TypeError, "real numbers"),
        (nx.path_graph(3), {"weight": 3}, TypeError, "weight must be"),
        (nx.path_graph(3), {"nodelist": [0, 7]}, ValueError, "not a node"),
        (nx.path_graph(3), {"nodelist": [0, 0, 1]}, ValueError, "repeats"),
        (nx.path_graph(3), {"nodelist": []}, ValueError, "at least one vertex"),
        (nx.path_graph(3), {"nodelist": "01"}, TypeError, "nodelist"),
        (nx.path_graph(3), {"nodelist": [[0]]}, ValueError, "not a node"),
        ([[0, 1]], {"nodelist": [0, 1]}, ValueError, "only for networkx"),
        ([[0, 1]], {"weight": "w"}, ValueError, "edge list"),
    ],
)
def test_bad_weights_and_nodelists_are_refused(graph, kwargs, error, match):
    with pytest.raises(error, match=match):
        CellularSheaf.constant(graph, **kwargs)


def test_bad_edge_weights_given_directly_are_refused():
    F = CellularSheaf.constant([[0, 1], [1, 2]])
    lay = F.layout
    args = (3, F.edges, F.vertex_dims, F.edge_dims, lay.tail, lay.head)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        CellularSheaf(*args, edge_weights=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        CellularSheaf(*args, edge_weights=[1.0, -2.0])
    w = np.array([1.0, 2.0])
    G = CellularSheaf(*args, edge_weights=w)
    w[0] = 5.0  # the sheaf keeps its own copy
    np.testing.assert_array_equal(G.edge_weights, [1.0, 2.0])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 7),
    data=st.data(),
    scale=st.sampled_from([1e-300, 1e-8, 1.0, 1e8, 1e300]),
)
def test_random_weighted_graphs_match_networkx(n, data, scale):
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    # weights within 6 decades of each other (plus zeros): a weight 1e-313 times the
    # largest is subnormal after the exact power-of-two rescaling and keeps ~11 digits
    w_st = st.one_of(st.just(0.0), st.floats(1e-6, 4.0))
    ws = data.draw(st.lists(w_st, min_size=len(chosen), max_size=len(chosen)))
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from((u, v, scale * w) for (u, v), w in zip(chosen, ws, strict=True))
    nodelist = data.draw(st.permutations(list(range(n))))
    F = CellularSheaf.constant(G, nodelist=nodelist)
    expected = nx.laplacian_matrix(G, nodelist=nodelist).toarray()
    np.testing.assert_allclose(laplacian(F).toarray(), expected, rtol=1e-13, atol=0)
    if scale < 1e300:  # networkx overflows summing degrees of 1e300-weighted vertices
        expected_n = nx.normalized_laplacian_matrix(G, nodelist=nodelist).toarray()
        np.testing.assert_allclose(
            laplacian(F, normalized=True).toarray(), expected_n, rtol=1e-12, atol=1e-12
        )


def test_learned_sheaves_keep_the_graph_weights():
    from sheaftopo.sheaf import learn_sheaf

    G = nx.Graph([("img", "txt", {"weight": 2.0}), ("txt", "aud")])
    X = np.random.default_rng(0).normal(size=(3, 40, 4))
    F = learn_sheaf(G, X, 2)
    np.testing.assert_array_equal(F.edge_weights, [2.0, 1.0])
    assert learn_sheaf(G, X, 2, weight=None).edge_weights is None
    with pytest.raises(ValueError, match="edge list"):
        learn_sheaf([[0, 1]], X[:2], 2, weight="w")
