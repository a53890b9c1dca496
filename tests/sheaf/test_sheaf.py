"""CellularSheaf, its operators, cohomology, diffusion and spectrum, against dense references."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from _sheaf_helpers import argsort_incidence, dense_delta
from scipy.linalg import expm, null_space

from sheaftopo.sheaf import (
    CellularSheaf,
    NotConvergedError,
    coboundary,
    cohomology_dimensions,
    diffuse,
    diffusion_steps,
    dirichlet_energy,
    edge_laplacian,
    global_sections,
    harmonic_extension,
    laplacian,
    project_to_sections,
    spectrum,
    vertex_blocks,
)

RNG = np.random.default_rng(11)
G = nx.gnm_random_graph(40, 120, seed=3)
E = np.array(G.edges())


def _ragged(seed=0):
    rng = np.random.default_rng(seed)
    return CellularSheaf.random(G, rng.integers(1, 4, 40), rng.integers(1, 4, len(E)), seed=seed)


SHEAVES = {
    "constant": CellularSheaf.constant(G, 2),
    "random": CellularSheaf.random(G, 3, 2, seed=1),
    "ragged": _ragged(),
    "orthogonal": CellularSheaf.random(G, 3, 3, seed=2, orthogonal=True),
}


@pytest.mark.parametrize("name", list(SHEAVES))
def test_operators_match_dense_references(name):
    F = SHEAVES[name]
    D = dense_delta(F)
    d = coboundary(F)
    assert sp.issparse(d) and d.format == "csr" and d.has_sorted_indices
    np.testing.assert_array_equal(d.toarray(), D)
    L = laplacian(F)
    assert L.format == "csr" and L.has_sorted_indices
    np.testing.assert_allclose(L.toarray(), D.T @ D, atol=1e-13)
    w = RNG.uniform(0, 2, F.n_edges)
    W = np.diag(np.repeat(w, F.edge_dims))
    np.testing.assert_allclose(laplacian(F, weights=w).toarray(), D.T @ W @ D, atol=1e-13)
    np.testing.assert_allclose(
        edge_laplacian(F, weights=w).toarray(), np.sqrt(W) @ D @ D.T @ np.sqrt(W), atol=1e-13
    )
    for fmt in ("csc", "coo", "bsr"):
        assert laplacian(F, format=fmt).format == fmt
    x = RNG.standard_normal(F.dim_c0)
    assert dirichlet_energy(F, x) == pytest.approx(float(x @ D.T @ D @ x), rel=1e-12)
    assert dirichlet_energy(F, x, weights=w) == pytest.approx(float(x @ D.T @ W @ D @ x), rel=1e-12)
    X = RNG.standard_normal((F.dim_c0, 3))
    np.testing.assert_allclose(dirichlet_energy(F, X), np.einsum("ij,ij->j", D @ X, D @ X))


def _hub_graph():
    """A random graph plus a hub joined to 60 vertices: with 8-dim stalks its block row
    (61 blocks) overflows the kernel's 256-column write buffer several times."""
    H = nx.gnm_random_graph(80, 200, seed=5)
    H.add_edges_from((0, v) for v in range(1, 61))
    return H


def _hub_sheaf(vertex_dims, edge_dims, seed):
    """A random sheaf on :func:`_hub_graph` ("ragged": dimensions drawn in 1..12) and
    edge weights."""
    H = _hub_graph()
    rng = np.random.default_rng(seed)
    m = H.number_of_edges()
    vd = rng.integers(1, 13, 80) if vertex_dims == "ragged" else vertex_dims
    ed = rng.integers(1, 13, m) if edge_dims == "ragged" else edge_dims
    return CellularSheaf.random(H, vd, ed, seed=seed + 1), rng.uniform(0.1, 3.0, m)


@pytest.mark.parametrize(
    "vertex_dims, edge_dims",
    [(4, 4), (8, 8), (8, 5), (9, 6), (6, 11), (8, "ragged"), ("ragged", 6),
     ("ragged", "ragged")],
)
def test_assembly_vector_tiles_and_wide_rows(vertex_dims, edge_dims):
    """Stalks of 4 or more use the kernel's 4-wide vector tiles (plus a scalar remainder
    for 5, 6, 9, 11); the hub's row takes the buffer-flush path; uniform vertex and/or
    edge dimensions take the kernel's computed offsets, ragged ones its offset arrays."""
    F, w = _hub_sheaf(vertex_dims, edge_dims, seed=3)
    D = dense_delta(F)
    np.testing.assert_array_equal(coboundary(F).toarray(), D)
    W = np.diag(np.repeat(w, F.edge_dims))
    for weights, ref in ((None, D.T @ D), (w, D.T @ W @ D)):
        L = laplacian(F, weights=weights)
        assert L.has_canonical_format
        np.testing.assert_allclose(L.toarray(), ref, rtol=1e-12, atol=1e-12)
        # every product is summed as w * (sum of map products): L is exactly symmetric
        assert (L != L.T).nnz == 0
    blocks = vertex_blocks(F, weights=w)
    vo = F.vertex_offsets
    for p in (0, 1, 79):
        B = blocks[p]
        np.testing.assert_allclose(B, (D.T @ W @ D)[vo[p] : vo[p + 1], vo[p] : vo[p + 1]],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(B, B.T)
    Ln = laplacian(F, weights=w, normalized=True).toarray()
    lam = np.linalg.eigvalsh((Ln + Ln.T) / 2)
    assert lam[0] > -1e-10 and lam[-1] <= 2 + 1e-10


def test_constant_sheaf_is_the_graph_laplacian_exactly():
    H = nx.les_miserables_graph()
    H = nx.convert_node_labels_to_integers(H)
    F = CellularSheaf.constant(H, 1, weight=None)
    ref = nx.laplacian_matrix(H, weight=None).toarray()
    np.testing.assert_array_equal(laplacian(F).toarray(), ref)
    # the co-occurrence counts in the "weight" attribute are read as networkx reads them
    weighted = nx.laplacian_matrix(H).toarray()
    np.testing.assert_array_equal(laplacian(CellularSheaf.constant(H)).toarray(), weighted)
    F3 = CellularSheaf.constant(H, 3, weight=None)
    np.testing.assert_array_equal(laplacian(F3).toarray(), np.kron(ref, np.eye(3)))


@pytest.mark.parametrize("name", list(SHEAVES))
def test_incidence_counting_sort_matches_argsort(name):
    """The numba counting sort gives the arrays of a plain argsort (the reference)."""
    from sheaftopo.sheaf._operators import incidence

    F = SHEAVES[name]
    fresh = CellularSheaf(F.n_vertices, F.edges, F.vertex_dims, F.edge_dims, F.layout.tail,
                          F.layout.head)
    got = incidence(fresh)
    assert got is incidence(fresh)  # kept by the sheaf
    for a, b in zip(argsort_incidence(F), got, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(SHEAVES))
def test_normalized_laplacian(name):
    F = SHEAVES[name]
    L = laplacian(F).toarray()
    S = []
    for B in vertex_blocks(F):
        lam, V = np.linalg.eigh(B)
        keep = lam > 1e-12 * max(lam.max(), 1e-300)
        S.append((V[:, keep] / np.sqrt(lam[keep])) @ V[:, keep].T)
    from scipy.linalg import block_diag

    S = block_diag(*S)
    Ln = laplacian(F, normalized=True).toarray()
    np.testing.assert_allclose(Ln, S @ L @ S, atol=1e-12)
    lam = np.linalg.eigvalsh(Ln)
    assert lam[0] > -1e-12 and lam[-1] <= 2 + 1e-12


@pytest.mark.parametrize("name", list(SHEAVES))
def test_global_sections_dense_and_iterative_agree(name):
    F = SHEAVES[name]
    D = dense_delta(F)
    ref = null_space(D, rcond=1e-10)
    for method in ("dense", "iterative"):
        Q = global_sections(F, method=method)
        assert Q.shape == ref.shape
        np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-8)
        assert np.abs(D @ Q).max(initial=0.0) < 1e-7
    h0, h1 = cohomology_dimensions(F)
    assert h0 == ref.shape[1]
    assert h1 == F.dim_c1 - np.linalg.matrix_rank(D)


def test_constant_sheaf_cohomology_counts_components():
    H = nx.disjoint_union_all([nx.cycle_graph(5), nx.path_graph(4), nx.empty_graph(2)])
    F = CellularSheaf.constant(H, 3)
    c = nx.number_connected_components(H)
    assert cohomology_dimensions(F) == (3 * c, 3 * (H.number_of_edges() - H.number_of_nodes() + c))


def test_projection_is_orthogonal_and_a_section():
    F = SHEAVES["random"]
    x = RNG.standard_normal(F.dim_c0)
    P = project_to_sections(F, x, rtol=1e-12)
    Q = global_sections(F)
    np.testing.assert_allclose(P, Q @ (Q.T @ x), atol=1e-8)
    X = RNG.standard_normal((F.n_vertices, 3))
    PX = project_to_sections(F, X)
    assert PX.shape == X.shape
    C = SHEAVES["constant"]
    y = RNG.standard_normal((C.n_vertices, 2))
    Py = project_to_sections(C, y)
    comps = [list(c) for c in nx.connected_components(G)]
    for comp in comps:  # projection of the constant sheaf: component means
        np.testing.assert_allclose(Py[comp], np.broadcast_to(y[comp].mean(0), (len(comp), 2)),
                                   atol=1e-8)


def test_harmonic_extension_against_least_squares_and_uniqueness():
    F = SHEAVES["ragged"]
    D = dense_delta(F)
    B = np.array([0, 5, 7, 20, 33])
    vo = F.vertex_offsets
    bc = np.concatenate([np.arange(vo[v], vo[v + 1]) for v in B])
    vals = RNG.standard_normal(len(bc))
    Q = global_sections(F)
    if Q.shape[1] and np.linalg.matrix_rank(Q[bc]) < Q.shape[1]:
        with pytest.raises(ValueError, match="not unique"):
            harmonic_extension(F, B, vals)
    else:
        x = harmonic_extension(F, B, vals)
        interior = np.setdiff1d(np.arange(F.dim_c0), bc)
        ref = np.linalg.lstsq(D[:, interior], -D[:, bc] @ vals, rcond=None)[0]
        np.testing.assert_allclose(x[interior], ref, atol=1e-7)
        np.testing.assert_array_equal(x[bc], vals)
    # path with the constant sheaf: linear interpolation
    P = CellularSheaf.constant(nx.path_graph(5), 1)
    np.testing.assert_allclose(harmonic_extension(P, [0, 4], [0.0, 8.0]), [0, 2, 4, 6, 8])
    # a component without boundary: the constant section there is free
    two = CellularSheaf.constant(nx.disjoint_union(nx.path_graph(2), nx.path_graph(2)), 1)
    with pytest.raises(ValueError, match="1 independent global section"):
        harmonic_extension(two, [0], [1.0])


def test_diffusion_converges_to_the_projection():
    F = SHEAVES["random"]
    x0 = RNG.standard_normal(F.dim_c0)
    L = laplacian(F).toarray()
    np.testing.assert_allclose(diffuse(F, x0, 0.7), expm(-0.7 * L) @ x0, atol=1e-10)
    P = project_to_sections(F, x0, rtol=1e-12)
    gap = spectrum(F, 5).spectral_gap
    assert np.linalg.norm(diffuse(F, x0, 40 / gap) - P) < 1e-8
    lmax = np.linalg.eigvalsh(L)[-1]
    steps = int(np.ceil(np.log(1e-9) / np.log(1 - gap / lmax)))
    xs = diffusion_steps(F, x0, alpha=1.0 / lmax, n_steps=steps)
    assert np.linalg.norm(xs - P) < 1e-8 * np.linalg.norm(x0)
    with pytest.raises(ValueError, match="alpha"):
        diffusion_steps(F, x0, alpha=2.01 / lmax, n_steps=1)
    X = RNG.standard_normal((F.n_vertices, 3))
    assert diffuse(F, X, 1.0).shape == X.shape


def test_spectrum_dense_and_lobpcg_agree():
    F = SHEAVES["orthogonal"]
    a = spectrum(F, 8, method="dense")
    b = spectrum(F, 8, method="lobpcg")
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-6)
    assert b.residuals.max() < 1e-6 * a.lambda_max
    ref = np.linalg.eigvalsh(laplacian(F).toarray())[:8]
    np.testing.assert_allclose(a.eigenvalues, np.maximum(ref, 0), atol=1e-10)
    assert a.zero_count == global_sections(F).shape[1]
    empty = spectrum(CellularSheaf.constant(nx.empty_graph(3), 1), 2)
    with pytest.raises(ValueError, match="ask for more"):
        _ = empty.spectral_gap
    C = spectrum(CellularSheaf.constant(G, 1), 3)
    graph_spectrum = nx.laplacian_spectrum(G)
    c = nx.number_connected_components(G)
    assert C.zero_count == min(c, 3)
    if c < 3:
        assert C.spectral_gap == pytest.approx(graph_spectrum[c])


def test_interlacing_on_an_edge_deletion():
    F = SHEAVES["random"]
    keep = np.arange(1, F.n_edges)
    F2 = CellularSheaf.from_maps(F.edges[keep], F.tail_maps[keep], F.head_maps[keep],
                                 n_vertices=F.n_vertices)
    a = np.linalg.eigvalsh(laplacian(F).toarray())
    b = np.linalg.eigvalsh(laplacian(F2).toarray())
    t = int(F.edge_dims[0])
    assert (b <= a + 1e-10).all() and (a[:-t] <= b[t:] + 1e-10).all()


def test_connection_holonomy():
    cycle = np.array([[v, (v + 1) % 6] for v in range(6)])
    theta = RNG.uniform(0, 2 * np.pi, 6)
    R = np.array([[[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]] for t in theta])
    h0 = cohomology_dimensions(CellularSheaf.connection(cycle, R))[0]
    assert h0 == 0  # a generic rotation of the plane fixes nothing
    theta[-1] = -theta[:-1].sum()
    R = np.array([[[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]] for t in theta])
    assert cohomology_dimensions(CellularSheaf.connection(cycle, R))[0] == 2
    tree = np.array(list(nx.balanced_tree(2, 3).edges()))
    Rt = CellularSheaf.random(tree, 3, 3, seed=0, orthogonal=True).tail_maps
    assert cohomology_dimensions(CellularSheaf.connection(tree, Rt))[0] == 3
    with pytest.raises(ValueError, match="orthogonal"):
        CellularSheaf.connection(tree, Rt * 1.01)


def test_networkx_and_nsd_round_trips():
    F = SHEAVES["random"]
    H = F.to_networkx()
    F2 = CellularSheaf.from_networkx(H)
    np.testing.assert_array_equal(laplacian(F2).toarray(), laplacian(F).toarray())
    labelled = nx.Graph()
    for a, b, data in H.edges(data=True):
        maps = data["restriction"]
        labelled.add_edge(f"node{a}", f"node{b}",
                          restriction={f"node{a}": maps[a], f"node{b}": maps[b]})
    labelled = nx.relabel_nodes(labelled, {})  # same graph; node order as inserted
    F3 = CellularSheaf.from_networkx(labelled)
    order = [int(lab[4:]) for lab in F3.vertex_labels]
    np.testing.assert_allclose(
        laplacian(F3).toarray(), _permute_blocks(laplacian(F).toarray(), order, 3), atol=1e-13
    )
    back = F3.to_networkx()
    assert set(back.nodes) == set(labelled.nodes)
    ei, maps = F.to_nsd()
    assert ei.shape == (2, 2 * F.n_edges) and maps.shape == (2 * F.n_edges, 2, 3)
    perm = RNG.permutation(ei.shape[1])  # PyG does not promise an order
    F4 = CellularSheaf.from_nsd(ei[:, perm], maps[perm], n_vertices=F.n_vertices)
    np.testing.assert_allclose(laplacian(F4).toarray(), laplacian(F).toarray(), atol=1e-13)
    diag = RNG.standard_normal((2 * F.n_edges, 3))
    F5 = CellularSheaf.from_nsd(ei, diag, n_vertices=F.n_vertices)
    assert F5.is_uniform and np.allclose(F5.tail_maps, F5.tail_maps * np.eye(3))


def _permute_blocks(A, order, d):
    idx = np.concatenate([np.arange(v * d, (v + 1) * d) for v in order])
    return A[np.ix_(idx, idx)]


def test_nsd_off_diagonal_block_convention():
    """NSD's off-diagonal block for (s, t) is -F_s^T F_t with F_s = maps[(s, t)]."""
    ei = np.array([[0, 1], [1, 0]])
    A = RNG.standard_normal((2, 2))
    B = RNG.standard_normal((2, 2))
    F = CellularSheaf.from_nsd(ei, np.stack([A, B]))
    L = laplacian(F).toarray()
    np.testing.assert_allclose(L[:2, 2:], -A.T @ B)
    np.testing.assert_allclose(L[:2, :2], A.T @ A)


def test_ragged_accessors_and_immutability():
    F = SHEAVES["ragged"]
    assert not F.is_uniform
    with pytest.raises(ValueError, match="uniform"):
        _ = F.tail_maps
    e = 3
    u, v = F.edges[e]
    assert F.tail_map(e).shape == (F.edge_dims[e], F.vertex_dims[u])
    assert F.head_map(e).shape == (F.edge_dims[e], F.vertex_dims[v])
    with pytest.raises(ValueError):
        F.edges[0, 0] = 5
    assert "ragged" in repr(F)


def test_from_maps_inputs_are_copied_not_aliased():
    T = RNG.standard_normal((len(E), 2, 3))
    H = RNG.standard_normal((len(E), 2, 3))
    T0 = T.copy()
    F = CellularSheaf.from_maps(E, T, H)
    L0 = laplacian(F).toarray()
    T[:] = 0
    np.testing.assert_array_equal(laplacian(F).toarray(), L0)
    np.testing.assert_array_equal(T0, F.tail_maps)


def test_iterative_solver_reports_non_convergence():
    F = CellularSheaf.constant(nx.path_graph(400), 1)
    with pytest.raises(NotConvergedError, match="conjugate gradients"):
        project_to_sections(F, RNG.standard_normal(400), maxiter=3)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: CellularSheaf.constant([[0, 0]], 1), ValueError, "self-loop"),
        (lambda: CellularSheaf.constant([[0, 1], [1, 0]], 1), ValueError, "repeats the edge"),
        (lambda: CellularSheaf.constant([[0, 5]], 1, n_vertices=3), ValueError, r"\[0, 3\)"),
        (lambda: CellularSheaf.constant([[0, 1]], 0), ValueError, "dim"),
        (lambda: CellularSheaf.constant(nx.MultiGraph([(0, 1), (0, 1)]), 1), ValueError,
         "multigraph"),
        (lambda: CellularSheaf.from_maps([[0, 1]], [np.eye(2)], [np.eye(3)]), ValueError,
         "same edge stalk"),
        (lambda: CellularSheaf.from_maps([[0, 1], [1, 2]], [np.eye(2), np.ones((2, 3))],
                                         [np.eye(2), np.eye(2)]), ValueError, "columns"),
        (lambda: CellularSheaf.from_maps([[0, 1]], [np.full((2, 2), np.nan)], [np.eye(2)]),
         ValueError, "finite"),
        (lambda: CellularSheaf.from_maps([[0, 1]], np.zeros((2, 2, 2)), np.zeros((2, 2, 2))),
         ValueError, "one map per edge"),
        (lambda: CellularSheaf.random([[0, 1]], [1, 0], 1), ValueError, "vertex_dims"),
        (lambda: CellularSheaf.random([[0, 1]], 2, 2.5), TypeError, "edge_dims"),
        (lambda: laplacian(SHEAVES["random"], weights=-np.ones(len(E))), ValueError,
         "non-negative"),
        (lambda: laplacian(SHEAVES["random"], weights=np.ones(3)), ValueError, "shape"),
        (lambda: laplacian(np.eye(3)), TypeError, "CellularSheaf"),
        (lambda: laplacian(SHEAVES["random"], format="dense"), ValueError, "format"),
        (lambda: dirichlet_energy(SHEAVES["random"], np.ones(5)), ValueError, "0-cochain"),
        (lambda: dirichlet_energy(SHEAVES["random"], np.full(120, np.nan)), ValueError, "finite"),
        (lambda: harmonic_extension(SHEAVES["random"], [0, 0], np.ones(6)), ValueError, "repeat"),
        (lambda: harmonic_extension(SHEAVES["random"], [0, 99], np.ones(6)), ValueError,
         r"\[0, 40\)"),
        (lambda: harmonic_extension(SHEAVES["random"], [0], np.ones(2)), ValueError, "3 numbers"),
        (lambda: diffuse(SHEAVES["random"], np.ones(120), -1.0), ValueError, "t"),
        (lambda: spectrum(SHEAVES["random"], 0), ValueError, "k"),
        (lambda: CellularSheaf.from_nsd(np.array([[0], [1]]), np.ones((1, 2, 2))), ValueError,
         "both directions"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# each pair compiles a kernel of its own (seconds): both dimensions fixed with a remainder
# tile, a fixed full vector tile with ragged edges, ragged vertices with a fixed edge stalk
@pytest.mark.parametrize("vertex_dims, edge_dims", [(5, 3), (8, "ragged"), ("ragged", 6)])
def test_kernel_specialised_to_stalk_dimensions(monkeypatch, vertex_dims, edge_dims):
    """Large sheaves get a Laplacian kernel compiled for their stalk dimensions: it gives
    the generic kernel's arrays bit for bit (forced here on a small sheaf)."""
    from sheaftopo.sheaf import _operators

    F, w = _hub_sheaf(vertex_dims, edge_dims, seed=7)
    generic = [laplacian(F, weights=w), laplacian(F, weights=w, normalized=True)]
    monkeypatch.setattr(_operators, "SPECIALIZE_NNZ", 0)
    special = [laplacian(F, weights=w), laplacian(F, weights=w, normalized=True)]
    for a, b in zip(generic, special, strict=True):
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)
