"""Bad and extreme input through every public name of sheaftopo.sheaf (issue 14).

Two parts: ``test_regression_*`` pin each defect the issue lists for the sheaf
subpackage (each failed on the code as it was); the hypothesis tests feed every
public function and constructor NaN, inf, empty, wrongly typed, strided and
read-only input, restriction maps / cochains / weights at magnitudes
1e-300 .. 1e300, zero and rank-deficient maps and absurd hyperparameters
through :func:`_adversarial.check_call`, and check every finite result against
a dense reference built from the public map accessors at unit scale
(L = deltaᵀ W delta, its kernel by ``eigh``, ``expm``, least squares).
"""

from __future__ import annotations

import pickle
import time

import networkx as nx
import numpy as np
import pytest
import scipy.linalg as sla
from _adversarial import (
    MAGNITUDES,
    arrays_in_layouts,
    bad_arrays,
    bad_scalars,
    check_call,
    examples,
    point_clouds,
)
from _sheaf_helpers import dense_delta
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo._validation import power_of_two_scale
from sheaftopo.sheaf import (
    CellularSheaf,
    CohomologyDimensions,
    NotConvergedError,
    RestrictionFit,
    SheafSpectrum,
    coboundary,
    cohomology_dimensions,
    diffuse,
    diffusion_steps,
    dirichlet_energy,
    edge_laplacian,
    fit_restriction_maps,
    global_sections,
    harmonic_extension,
    laplacian,
    learn_sheaf,
    project_to_sections,
    spectrum,
    vertex_blocks,
)

SUB = "sheaf"
EPS = np.finfo(np.float64).eps
TINY = np.finfo(np.float64).tiny
TOL = 1e-10  # the package's kernel tolerance (KERNEL_TOL)


def _rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def _cycle(n):
    return np.array([[i, (i + 1) % n] for i in range(n)])


def _path_ten(k):
    """Path 0 - 1 - ... - k whose sections satisfy x_{i+1} = 10 x_i."""
    E = [[i, i + 1] for i in range(k)]
    return CellularSheaf.from_maps(E, [np.array([[10.0]])] * k, [np.eye(1)] * k)


# ---------------------------------------------------------------------------
# dense references (from the public accessors), at unit scale
# ---------------------------------------------------------------------------


def _ldexp(a, e):
    """a * 2**e for the references: overflow to inf is what they test for."""
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(a, e)


def _exp(a) -> int:
    return int(np.frexp(power_of_two_scale(np.asarray(a, dtype=float)))[1]) - 1


def ref_laplacian(F, w=None):
    """(L_s, E) with L = 2**E L_s: deltaᵀ W delta computed on delta and w scaled to ~1."""
    D = dense_delta(F)
    e = _exp(D)
    Ds = np.ldexp(D, -e)
    w = np.ones(F.n_edges) if w is None else np.asarray(w, dtype=float)
    ew = _exp(w)
    ws = np.repeat(np.ldexp(w, -ew), F.edge_dims)
    return Ds.T @ (ws[:, None] * Ds), 2 * e + ew


def ref_kernel(F):
    """(h0, Q, lam) of the unweighted Laplacian at unit scale, by the kernel rule."""
    Ls, _ = ref_laplacian(F)
    lam, V = np.linalg.eigh(Ls)
    lmax = max(lam[-1], 0.0) if len(lam) else 0.0
    h0 = int((lam <= TOL * lmax).sum())
    return h0, V[:, :h0], lam


def rel_close(x, y, rtol=1e-9, what="", scale=None):
    """max|x - y| <= rtol * scale (default: max|y|)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    assert x.shape == y.shape, (what, x.shape, y.shape)
    if scale is None:
        scale = float(np.abs(y).max(initial=0.0))
    scale = max(float(scale), TINY)
    err = float(np.abs(x - y).max(initial=0.0))
    assert err <= rtol * scale + 4 * TINY, f"{what}: error {err:.3g} vs scale {scale:.3g}"


def _expect_finite_or_error(expected_finite, outcome, names):
    kind, value = outcome
    if expected_finite:
        assert kind == "ok", f"expected a finite result, got {value!r}"
    else:
        assert kind == "error", "expected a clear error (the true value overflows float64)"


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

SCALE_PAIRS = [(m, m) for m in MAGNITUDES] + [(1e150, 1e-150), (1.0, 1e-200), (1e-100, 1e100)]


@st.composite
def graphs(draw, max_vertices=7):
    n = draw(st.integers(1, max_vertices))
    kind = draw(st.sampled_from(["path", "cycle", "star", "random", "empty", "disjoint"]))
    if kind == "path" or (kind == "cycle" and n < 3):
        E = [[i, i + 1] for i in range(n - 1)]
    elif kind == "cycle":
        E = _cycle(n).tolist()
    elif kind == "star":
        E = [[0, i] for i in range(1, n)]
    elif kind == "random":
        G = nx.gnm_random_graph(n, draw(st.integers(0, n * (n - 1) // 2)),
                                seed=draw(st.integers(0, 99)))
        E = [list(e) for e in G.edges()]
    elif kind == "empty":
        E = []
    else:
        h = n // 2
        E = [[i, i + 1] for i in range(h - 1)] + [[i, i + 1] for i in range(h, n - 1)]
    return n, np.array(E, dtype=np.int64).reshape(-1, 2)


@st.composite
def sheaves(draw, max_vertices=7, ragged=True, scales=True):
    """Small sheaves with random, orthogonal, identity, zero or rank-deficient maps, at
    magnitudes 1e-300 .. 1e300 (tail and head possibly at very different scales)."""
    n, E = draw(graphs(max_vertices))
    m = len(E)
    if ragged and draw(st.booleans()):
        vd = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
        ed = np.array(draw(st.lists(st.integers(1, 3), min_size=m, max_size=m)), dtype=np.int64)
    else:
        d = draw(st.integers(1, 3))
        vd, ed = np.full(n, d), np.full(m, draw(st.sampled_from([d, max(1, d - 1)])))
    kind = draw(st.sampled_from(["random", "orthogonal", "identity", "zero", "deficient"]))
    seed = draw(st.integers(0, 2**16))
    if kind == "identity" and (vd == vd[0]).all() and (ed == vd[0]).all():
        F = CellularSheaf.constant(E, int(vd[0]), n_vertices=n)
    else:
        F = CellularSheaf.random(E, vd, ed, seed=seed, orthogonal=kind == "orthogonal",
                                 n_vertices=n)
    tail, head = F.layout.tail.copy(), F.layout.head.copy()
    if kind == "zero" and m:
        tail[: int(F.layout.tail_offsets[1])] = 0.0  # edge 0 constrains nothing on its tail side
    if kind == "deficient":
        tail[::3] = 0.0
    t_mag, h_mag = draw(st.sampled_from(SCALE_PAIRS)) if scales else (1.0, 1.0)
    return CellularSheaf(n, E, vd, ed, tail * t_mag, head * h_mag)


def cochains(F, k=None):
    """A 0-cochain of F at an extreme magnitude, in an odd layout."""

    @st.composite
    def draw_it(draw):
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        shape = (F.dim_c0,) if k is None else (F.dim_c0, k)
        x = rng.standard_normal(shape) * draw(st.sampled_from(MAGNITUDES))
        return draw(arrays_in_layouts(x))

    return draw_it()


def weight_vectors(m):
    @st.composite
    def draw_it(draw):
        kind = draw(st.sampled_from(["none", "ones", "random", "zeros", "mixed"]))
        if kind == "none":
            return None
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        w = {"ones": np.ones(m), "random": rng.uniform(0.1, 2.0, m), "zeros": np.zeros(m),
             "mixed": rng.uniform(0, 1, m) * (rng.uniform(size=m) > 0.5)}[kind]
        w = w * draw(st.sampled_from(MAGNITUDES))
        return draw(arrays_in_layouts(w)) if m else w

    return draw_it()


# ---------------------------------------------------------------------------
# regressions
# ---------------------------------------------------------------------------


def test_regression_diffusion_steps_huge_n_steps_returns_or_refuses_up_front():
    R = np.stack([_rotation(0.4), _rotation(0.5), _rotation(-0.9)])  # trivial holonomy
    F = CellularSheaf.connection(_cycle(3), R)
    x = np.random.default_rng(0).standard_normal(F.dim_c0)
    t0 = time.perf_counter()
    y = diffusion_steps(F, x, n_steps=10**12)
    assert time.perf_counter() - t0 < 10
    P = project_to_sections(F, x, rtol=1e-12)
    assert np.linalg.norm(P) > 0.1 * np.linalg.norm(x)
    rel_close(y, P, 1e-12, "10**12 steps")
    # (I - alpha L)^n exactly, for a moderate n as well
    L = laplacian(F).toarray()
    a = 1.0 / np.linalg.eigvalsh(L)[-1]
    ref = np.linalg.matrix_power(np.eye(F.dim_c0) - a * L, 5000) @ x
    rel_close(diffusion_steps(F, x, n_steps=5000, alpha=a), ref, 1e-9, "5000 steps")
    big = CellularSheaf.constant(nx.path_graph(3100), 1)  # beyond the dense limit
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"n_steps=1000000000000 is too many.*multiply-adds"):
        diffusion_steps(big, np.ones(3100), n_steps=10**12)
    assert time.perf_counter() - t0 < 10


def test_regression_zero_steps_and_zero_time_return_fresh_arrays():
    F = CellularSheaf.constant([[0, 1], [1, 2]], 2)
    for x in (np.arange(6.0), np.arange(6.0).reshape(3, 2), np.arange(12.0).reshape(6, 2)):
        for out in (diffusion_steps(F, x, n_steps=0), diffuse(F, x, 0.0)):
            assert not np.shares_memory(out, x)
            np.testing.assert_array_equal(out, x)
            out[...] = -1
            assert x.min() >= 0


@pytest.mark.parametrize("maxiter", [0, -1, float("nan"), "3", True, 2.5, None])
def test_regression_harmonic_extension_validates_maxiter(maxiter):
    F = CellularSheaf.constant(nx.path_graph(5), 1)
    if maxiter is None:
        np.testing.assert_allclose(harmonic_extension(F, [0, 4], [0.0, 4.0], maxiter=maxiter),
                                   np.arange(5.0), atol=1e-12)
        return
    with pytest.raises((ValueError, TypeError), match="maxiter"):
        harmonic_extension(F, [0, 4], [0.0, 4.0], maxiter=maxiter)


@pytest.mark.parametrize("k", [1, 3, 6, 8, 10, 12, 14])
def test_regression_harmonic_extension_well_posed_but_ill_conditioned(k):
    # the only section with x_0 = 1 is (1, 10, ..., 10^k): the extension is unique; the
    # old absolute 1e-8 cut on the boundary part of the unit section refused k >= 8
    F = _path_ten(k)
    expected = 10.0 ** np.arange(k + 1)
    rel_close(harmonic_extension(F, [0], [1.0]), expected, 1e-9, f"k={k}")
    rel_close(harmonic_extension(F, [0], [3e-300]), 3e-300 * expected, 1e-9, "tiny values")
    if k >= 9:
        with pytest.raises(ValueError, match="values"):
            harmonic_extension(F, [0], [1e300])  # 1e300 * 10^k overflows


def test_harmonic_extension_refuses_truly_vanishing_sections():
    two = CellularSheaf.constant(nx.disjoint_union(nx.path_graph(2), nx.path_graph(3)), 2)
    with pytest.raises(ValueError, match=r"2 independent global section.*boundary"):
        harmonic_extension(two, [0], [1.0, 2.0])


@pytest.mark.parametrize("n", [8, 40])
def test_regression_one_kernel_tolerance_for_dense_and_iterative(n):
    # O(2) connection round an n-cycle, total holonomy 1e-4: the smallest eigenvalues are
    # about (1e-4 / n)^2 ~ 1.6e-10 (n = 8), below 1e-10 * lambda_max = 4e-10
    R = np.stack([_rotation(1e-4 / n)] * n)
    F = CellularSheaf.connection(_cycle(n), R)
    lam = np.linalg.eigvalsh(laplacian(F).toarray())
    h_ref = int((lam <= TOL * lam[-1]).sum())
    results = [cohomology_dimensions(F, method=m) for m in ("dense", "iterative")]
    for c in results:
        assert isinstance(c, CohomologyDimensions) and isinstance(c, tuple)
        assert c == (h_ref, F.dim_c1 - F.dim_c0 + h_ref)
        assert c.zero_max == pytest.approx(lam[h_ref - 1] / lam[-1], rel=1e-3, abs=1e-14)
        assert c.nonzero_min == pytest.approx(lam[h_ref] / lam[-1], rel=1e-6)
        assert "zero_max" in repr(c) and str(c) == f"({c.h0}, {c.h1})"
    assert results[0].method == "dense" and results[1].method == "iterative"
    for m in ("dense", "iterative"):
        assert global_sections(F, method=m).shape == (2 * n, h_ref)
    assert spectrum(F, 4).zero_count == h_ref
    # a stricter tolerance sees the holonomy, identically for both methods
    strict = [cohomology_dimensions(F, method=m, tol=1e-14)[0] for m in ("dense", "iterative")]
    assert strict == [0, 0]
    # clear holonomy: no sections; a pickled result keeps its evidence
    G = CellularSheaf.connection(_cycle(n), np.stack([_rotation(0.5 / n)] * n))
    c = cohomology_dimensions(G, method="iterative")
    assert c[0] == 0 and c.zero_max is None and c.nonzero_min > 0
    c2 = pickle.loads(pickle.dumps(c))
    assert c2 == c and c2.nonzero_min == c.nonzero_min


def test_regression_diffuse_any_finite_time():
    F = CellularSheaf.constant([[0, 1], [1, 2]], 1)
    x = np.array([1.0, 2.0, 3.0])
    for t in (1e3, 1e12, 1e300, np.finfo(float).max):
        np.testing.assert_allclose(diffuse(F, x, t), [2.0, 2.0, 2.0], rtol=1e-12)
    for t in (np.inf, np.nan, -1.0, "1", None, True):
        with pytest.raises((ValueError, TypeError), match=r"\bt\b"):
            diffuse(F, x, t)
    R = CellularSheaf.random(nx.cycle_graph(7), 2, 2, seed=3)
    x = np.random.default_rng(1).standard_normal(R.dim_c0)
    Ls = laplacian(R).toarray()
    for t in (0.3, 30.0, 3e4):  # across the expm_multiply / eigh switch
        rel_close(diffuse(R, x, t), sla.expm(-t * Ls) @ x, 1e-9, f"t={t}")
    big = CellularSheaf.constant(nx.path_graph(3100), 1)
    with pytest.raises(ValueError, match=r"t=1e\+300 is too long.*project_to_sections"):
        diffuse(big, np.ones(3100), 1e300)


def test_regression_from_nsd_refuses_self_loops_and_names_its_arguments():
    maps = np.ones((4, 1, 1))
    with pytest.raises(ValueError, match=r"edge_index has a self-loop \(1, 1\)"):
        CellularSheaf.from_nsd(np.array([[0, 1, 1, 2], [1, 0, 1, 0]]), maps)
    cases = [
        (np.array([[0, 1], [1, 0]]), np.ones((2, 1, 1)), {"n_vertices": 1}),  # out of range
        (np.array([[0, 1, 0], [1, 0, 1]]), np.ones((3, 1, 1)), {}),  # repeated (0, 1)
        (np.array([[0], [1]]), np.ones((1, 1, 1)), {}),  # no reverse
        (np.array([[0, 1], [1, 0]]), np.ones((3, 1, 1)), {}),  # one map too many
        (np.array([[0, 1], [1, 0]]), np.full((2, 1, 1), np.nan), {}),
        (np.array([[0.5, 1], [1, 0]]), np.ones((2, 1, 1)), {}),
        (np.zeros((2, 0), dtype=int), np.ones((0, 1, 1)), {}),
    ]
    for ei, M, kw in cases:
        with pytest.raises((ValueError, TypeError)) as info:
            CellularSheaf.from_nsd(ei, M, **kw)
        msg = str(info.value)
        assert any(n in msg for n in ("edge_index", "maps", "n_vertices")), msg
        assert "graph" not in msg and "tail" not in msg and "head" not in msg, msg
    F = CellularSheaf.from_nsd(np.zeros((2, 0), dtype=int), np.ones((0, 2, 2)), n_vertices=3)
    assert F.n_vertices == 3 and F.n_edges == 0 and F.dim_c0 == 6


def test_regression_readonly_weights_add_no_numba_specialisation():
    from sheaftopo.sheaf import _assembly

    F = CellularSheaf.random(nx.cycle_graph(9), 2, 2, seed=5)
    w = np.linspace(0.5, 1.5, F.n_edges)
    laplacian(F, weights=w)
    laplacian(F, weights=w, normalized=True)
    vertex_blocks(F, weights=w)
    dispatchers = [_assembly.laplacian_kernel(0, 0), _assembly.vertex_blocks,
                   _assembly.coboundary_csr]
    coboundary(F)
    before = [len(d.signatures) for d in dispatchers]
    ro = w.copy()
    ro.flags.writeable = False
    strided = np.repeat(w, 2)[::2]
    fortran_maps = np.asfortranarray(F.tail_maps.transpose(0, 2, 1)).transpose(0, 2, 1)
    big = CellularSheaf.from_maps(F.edges, 1e200 * fortran_maps, F.head_maps)  # rescaled maps
    for weights in (ro, strided, ro[::-1]):
        t0 = time.perf_counter()
        laplacian(F, weights=weights)
        laplacian(F, weights=weights, normalized=True)
        vertex_blocks(F, weights=weights)
        laplacian(big, weights=weights, normalized=True)
        coboundary(big)
        assert time.perf_counter() - t0 < 2.0  # no compilation
    assert [len(d.signatures) for d in dispatchers] == before


def test_regression_extreme_magnitudes_rescaled_or_refused():
    F = CellularSheaf.random(nx.cycle_graph(5), 2, 2, seed=2)
    x = np.random.default_rng(3).standard_normal(F.dim_c0)
    L1 = laplacian(F).toarray()
    for s in (2.0**-900, 2.0**-500, 2.0**400, 2.0**500):  # exact powers of two
        S = CellularSheaf.from_maps(F.edges, s * F.tail_maps, s * F.head_maps)
        rel_close(laplacian(S, normalized=True).toarray(),
                  laplacian(F, normalized=True).toarray(), 1e-14, "normalized")
        assert cohomology_dimensions(S) == cohomology_dimensions(F)
        assert spectrum(S, 3).zero_count == spectrum(F, 3).zero_count
        rel_close(project_to_sections(S, x), project_to_sections(F, x), 1e-9, "projection",
                  scale=np.abs(x).max())
        if s * s * L1.max() < 1e308:
            rel_close(laplacian(S).toarray(), L1 * (s * s), 1e-15, "L")
            rel_close(dirichlet_energy(S, x / s), dirichlet_energy(F, x), 1e-13, "energy")
        else:
            with pytest.raises(ValueError, match="sheaf"):
                laplacian(S)
            with pytest.raises(ValueError, match="sheaf"):
                spectrum(S, 3)
    for c in (1e-300, 1e300):
        sc = c * np.abs(x).max()
        rel_close(project_to_sections(F, c * x), c * project_to_sections(F, x), 1e-9, "cx",
                  scale=sc)
        rel_close(diffuse(F, c * x, 0.7), c * diffuse(F, x, 0.7), 1e-9, "diffuse cx", scale=sc)
    w = np.full(F.n_edges, 1e300)
    rel_close(laplacian(F, weights=w).toarray(), 1e300 * L1, 1e-15, "weights 1e300")
    with pytest.raises(ValueError, match="x"):
        dirichlet_energy(F, 1e300 * x)  # the energy itself is ~1e600
    assert dirichlet_energy(F, 1e-300 * x) == 0.0  # ~1e-600 rounds to 0


# ---------------------------------------------------------------------------
# constructors and accessors
# ---------------------------------------------------------------------------


@settings(max_examples=examples(20, 400))
@given(graph=bad_arrays((3, 2)), maps=bad_arrays((3, 2, 2)), which=st.sampled_from(
    ["graph", "tail", "head"]))
def test_from_maps_bad_arrays(graph, maps, which):
    E, T = np.array([[0, 1], [1, 2], [2, 0]]), np.ones((3, 2, 2))
    args = {"graph": (graph, T, T), "tail": (E, maps, T), "head": (E, T, maps)}[which]
    check_call(SUB, CellularSheaf.from_maps, *args, names=(which, "graph", "tail", "head"))


@settings(max_examples=examples(20, 400))
@given(n=st.integers(1, 6), mag=st.sampled_from(MAGNITUDES), seed=st.integers(0, 99),
       as_list=st.booleans())
def test_from_maps_keeps_the_maps_and_copies_them(n, mag, seed, as_list):
    rng = np.random.default_rng(seed)
    n_v = n + 1
    E = np.array([[i, i + 1] for i in range(n)])
    T = rng.standard_normal((n, 2, 3)) * mag
    H = rng.standard_normal((n, 2, 3)) * mag
    T_in = [t for t in T] if as_list else T.copy()
    _, F = check_call(SUB, CellularSheaf.from_maps, E, T_in, H, n_vertices=n_v + 1)
    for e in range(n):
        np.testing.assert_array_equal(F.tail_map(e), T[e])
        np.testing.assert_array_equal(F.head_map(e), H[e])
    np.testing.assert_array_equal(coboundary(F).toarray(), dense_delta(F))
    if not as_list:
        T_in[:] = 0
        np.testing.assert_array_equal(F.tail_map(0), T[0])
    assert not F.tail_map(0).flags.writeable
    assert F.vertex_dims.tolist() == [3] * n_v + [1]


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["n_vertices", "edges", "vertex_dims", "edge_dims", "tail",
                            "head", "vertex_labels"]),
       bad=st.one_of(bad_scalars(), bad_arrays((2, 2))))
def test_init_bad_arguments(arg, bad):
    good = {"n_vertices": 3, "edges": [[0, 1], [1, 2]], "vertex_dims": 2, "edge_dims": 1,
            "tail": np.ones(4), "head": np.ones(4), "vertex_labels": ["a", "b", "c"]}
    good[arg] = bad
    labels = good.pop("vertex_labels")
    outcome = check_call(SUB, CellularSheaf, *good.values(), vertex_labels=labels,
                         names=(arg, "graph", "edges", "n_vertices", "dims", "maps", "tail",
                                "head"))
    if outcome[0] == "ok":
        F = outcome[1]
        assert np.isfinite(F.layout.tail).all() and np.isfinite(F.layout.head).all()


@settings(max_examples=examples(20, 400))
@given(dim=bad_scalars(), n_vertices=st.sampled_from([None, 0, -1, 2.5, "3", 5, True, 10**6]))
def test_constant_bad_hyperparameters(dim, n_vertices):
    out = check_call(SUB, CellularSheaf.constant, [[0, 1], [1, 2]], dim, n_vertices=n_vertices,
                     names=("dim", "n_vertices"))
    if out[0] == "ok":
        F = out[1]
        d = int(dim)
        np.testing.assert_array_equal(laplacian(F).toarray()[:d, :d], np.eye(d))


def test_absurd_sizes_are_refused_up_front():
    for call in (lambda: CellularSheaf.constant([[0, 1]], 10**6),
                 lambda: CellularSheaf.random([[0, 1]], 10**6, 10**6),
                 lambda: CellularSheaf.from_nsd(np.array([[0, 1], [1, 0]]), np.ones((2, 10**6)))):
        outcome = check_call(SUB, call, names=("dim", "vertex_dims", "maps"), seconds=10)
        assert outcome[0] == "error" and "GiB" in str(outcome[1])


@settings(max_examples=examples(20, 400))
@given(vd=st.one_of(bad_scalars(), st.sampled_from([[1, 2], [1, 2, 0], np.array([1.0, 2, 3]),
                                                     [2, 2, 2]])),
       ed=st.one_of(bad_scalars(), st.sampled_from([[1, 1], [1, 2, 3], 2])),
       seed=st.sampled_from([None, 0, -1, "0", 1.5, np.random.default_rng(0)]),
       orthogonal=st.sampled_from([True, False, 1, "yes", None]))
def test_random_bad_arguments(vd, ed, seed, orthogonal):
    out = check_call(SUB, CellularSheaf.random, [[0, 1], [1, 2]], vd, ed, seed=seed,
                     orthogonal=orthogonal,
                     names=("vertex_dims", "edge_dims", "seed", "orthogonal"))
    if out[0] == "ok":
        F = out[1]
        if orthogonal is True:
            for e in range(F.n_edges):
                T = F.tail_map(e)
                G = T @ T.T if T.shape[0] <= T.shape[1] else T.T @ T
                np.testing.assert_allclose(G, np.eye(len(G)), atol=1e-12)


@settings(max_examples=examples(20, 400))
@given(rot=st.one_of(bad_arrays((3, 2, 2)), st.sampled_from(
    [np.stack([np.eye(2)] * 3) * 1e300, np.stack([np.eye(2)] * 3) * (1 + 1e-12),
     np.stack([np.diag([1.0, -1.0])] * 3), np.ones((3, 2, 3)), np.ones((3, 2, 2)),
     np.stack([_rotation(0.3)] * 3)])),
       atol=st.one_of(bad_scalars(), st.just(1e-8)))
def test_connection_bad_arguments(rot, atol):
    out = check_call(SUB, CellularSheaf.connection, _cycle(3), rot, atol=atol,
                     names=("rotations", "atol"))
    if out[0] == "ok":
        F = out[1]
        np.testing.assert_array_equal(F.tail_maps, np.asarray(rot, dtype=float))
        hol = np.asarray(rot[2] @ rot[1] @ rot[0], dtype=float)
        want = int((np.linalg.svd(hol - np.eye(2), compute_uv=False) < 1e-6).sum())
        assert cohomology_dimensions(F)[0] == want


@settings(max_examples=examples(15, 400))
@given(F=sheaves(scales=True))
def test_networkx_and_nsd_round_trips(F):
    G = F.to_networkx()
    _, F2 = check_call(SUB, CellularSheaf.from_networkx, G)
    (L2, E2), (L0, E0) = ref_laplacian(F2), ref_laplacian(F)  # edges may come back reordered
    assert E2 == E0 and F2.vertex_dims.tolist() == F.vertex_dims.tolist()
    rel_close(L2, L0, 1e-14, "networkx L")
    if F.is_uniform and F.n_edges:
        ei, M = F.to_nsd()
        _, F3 = check_call(SUB, CellularSheaf.from_nsd, ei, M, n_vertices=F.n_vertices)
        (L3, E3), (L0, E0) = ref_laplacian(F3), ref_laplacian(F)
        assert E3 == E0  # from_nsd orients edges (min, max): L does not see orientation
        rel_close(L3, L0, 1e-15, "nsd L")
        rel_close(laplacian(F3, normalized=True).toarray(),
                  laplacian(F, normalized=True).toarray(), 1e-12, "nsd")


@settings(max_examples=examples(20, 400))
@given(attr=st.sampled_from(["restriction", "other", 3]),
       value=st.sampled_from(["missing", "list", "nan", "wrong_keys", "ok"]))
def test_from_networkx_bad_attributes(attr, value):
    G = nx.path_graph(3)
    for a, b in G.edges():
        maps = {"missing": None, "list": [np.eye(2), np.eye(2)],
                "nan": {a: np.full((2, 2), np.nan), b: np.eye(2)},
                "wrong_keys": {"x": np.eye(2), "y": np.eye(2)},
                "ok": {a: np.eye(2), b: 2 * np.eye(2)}}[value]
        if maps is not None:
            G.edges[a, b]["restriction"] = maps
    out = check_call(SUB, CellularSheaf.from_networkx, G, attr=attr,
                     names=("restriction", "attr", "tail", "head", "edge"))
    if out[0] == "ok":
        assert value == "ok" and attr == "restriction"
        np.testing.assert_array_equal(out[1].head_map(1), 2 * np.eye(2))


def test_networkx_constructors_bad_objects():
    F = CellularSheaf.constant([[0, 1]], 1)
    bad = [
        (lambda: CellularSheaf.from_networkx([[0, 1]]), "G"),
        (lambda: CellularSheaf.from_networkx(nx.path_graph(2), attr=[1]), "attr"),
        (lambda: F.to_networkx(attr=None), "attr"),
        (lambda: CellularSheaf(2, [[0, 1]], 1, 1, [1.0], [1.0], vertex_labels=5),
         "vertex_labels"),
        (lambda: CellularSheaf(2, [[0, 1]], 1, 1, [1.0], [1.0], vertex_labels="ab"),
         "vertex_labels"),
        (lambda: CellularSheaf.connection([[0, 1]], np.zeros((1, 0, 0))), "rotations"),
        (lambda: CellularSheaf.from_networkx(nx.MultiGraph([(0, 1), (0, 1)])), "G"),
    ]
    for call, name in bad:
        assert check_call(SUB, call, names=name)[0] == "error"
    # an isolated vertex keeps its stalk dimension through to_networkx / from_networkx
    G = CellularSheaf.constant([[0, 1]], 3, n_vertices=3).to_networkx()
    assert CellularSheaf.from_networkx(G).vertex_dims.tolist() == [3, 3, 3]
    G.nodes[0]["dim"] = 2
    assert check_call(SUB, CellularSheaf.from_networkx, G, names="dim")[0] == "error"


def test_iterative_kernel_and_gap_with_isolated_vertices():
    # zero vertex blocks (isolated vertices) once gave the block-Jacobi preconditioner
    # entries 1e300, and LOBPCG overflowed on them
    G = nx.disjoint_union(nx.cycle_graph(30), nx.empty_graph(10))
    F = CellularSheaf.random(G, 2, 2, seed=4, orthogonal=True)
    dense = cohomology_dimensions(F, method="dense")
    it = cohomology_dimensions(F, method="iterative")
    assert it == dense and it[0] >= 20
    assert it.nonzero_min == pytest.approx(dense.nonzero_min, rel=1e-6)


@settings(max_examples=examples(20, 400))
@given(ei=st.one_of(bad_arrays((2, 4)), st.sampled_from(
    [np.array([[0, 1, 1, 2], [1, 0, 2, 1]]), np.array([[0, 1, 1, 1], [1, 0, 1, 1]]),
     np.array([[0, 1, 1, 2], [1, 0, 2, 1]]).astype(np.uint8)])),
       maps=st.one_of(bad_arrays((4, 2, 2)), st.sampled_from(
    [np.ones((4, 2)), np.ones((4, 2, 2)) * 1e300, np.ones((4, 2, 3)), np.ones((3, 2, 2))])))
def test_from_nsd_bad_arguments(ei, maps):
    out = check_call(SUB, CellularSheaf.from_nsd, ei, maps,
                     names=("edge_index", "maps", "n_vertices"))
    if out[0] == "error":
        assert "graph" not in str(out[1]) and "tail" not in str(out[1])
    else:
        F = out[1]
        M = np.asarray(maps, dtype=float)
        M = np.stack([np.diag(r) for r in M]) if M.ndim == 2 else M
        np.testing.assert_array_equal(F.tail_map(0), M[0])  # edge (0, 1), column 0
        np.testing.assert_array_equal(F.head_map(0), M[1])


@settings(max_examples=examples(20, 400))
@given(e=bad_scalars())
def test_map_accessors_bad_index(e):
    F = CellularSheaf.random([[0, 1], [1, 2]], [1, 2, 3], [2, 1], seed=0)
    for fn in (F.tail_map, F.head_map):
        out = check_call(SUB, fn, e, names="e")
        if out[0] == "ok":
            assert out[1].shape == (F.edge_dims[int(e)], F.vertex_dims[F.edges[int(e), 0 if
                                    fn == F.tail_map else 1]])
    with pytest.raises(ValueError, match="uniform"):
        _ = F.tail_maps
    with pytest.raises(ValueError, match="uniform"):
        F.to_nsd()


# ---------------------------------------------------------------------------
# operators
# ---------------------------------------------------------------------------


@settings(max_examples=examples(15, 600))
@given(data=st.data(), F=sheaves(), normalized=st.booleans())
def test_laplacian_against_dense_reference(data, F, normalized):
    w = data.draw(weight_vectors(F.n_edges))
    out = check_call(SUB, laplacian, F, weights=w, normalized=normalized,
                     names=("sheaf", "weights"))
    Ls, E = ref_laplacian(F, w)
    if normalized:
        assert out[0] == "ok"
        d = np.diag(Ls).copy()
        ref = _normalized_reference(F, Ls)
        rel_close(out[1].toarray(), ref, 1e-9, "normalized")
        assert np.abs(out[1] - out[1].T).max() <= 1e-13 * max(1.0, abs(out[1]).max())
        del d
        return
    expected = _ldexp(Ls, E)
    _expect_finite_or_error(np.isfinite(expected).all(), out, ("sheaf", "weights"))
    if out[0] == "ok":
        rel_close(out[1].toarray(), expected, 1e-12, "L")
        assert (out[1] != out[1].T).nnz == 0  # exactly symmetric
        _, vb = check_call(SUB, vertex_blocks, F, weights=w)
        blocks = vb if isinstance(vb, list) else list(vb)
        vo = F.vertex_offsets
        for v, B in enumerate(blocks):
            rel_close(B, expected[vo[v] : vo[v + 1], vo[v] : vo[v + 1]], 1e-12, "block")
        kind, EL = check_call(SUB, edge_laplacian, F, weights=w, names=("sheaf", "weights"))
        # the nonzero spectrum of delta delta^T equals that of L (where nothing underflows)
        if kind == "ok" and np.abs(expected).max(initial=0) > 1e-250:
            a = np.linalg.eigvalsh(np.ldexp(EL.toarray(), -E))
            b = np.linalg.eigvalsh(Ls)
            top = max(a.max(initial=0), b.max(initial=0), TINY)
            a, b = a[a > 1e-9 * top], b[b > 1e-9 * top]
            assert len(a) == len(b) and np.allclose(a, b, rtol=1e-8, atol=1e-9 * top)


def _normalized_reference(F, Ls):
    vo = F.vertex_offsets
    S = np.zeros_like(Ls)
    for v in range(F.n_vertices):
        sl = slice(vo[v], vo[v + 1])
        lam, V = np.linalg.eigh(Ls[sl, sl])
        keep = lam > 1e-12 * max(lam.max(), 0)
        inv = np.where(keep, 1 / np.sqrt(np.where(keep, lam, 1)), 0)
        S[sl, sl] = (V * inv) @ V.T
    return S @ Ls @ S


@settings(max_examples=examples(20, 400))
@given(w=st.one_of(bad_arrays((4,)), st.sampled_from([-np.ones(4), np.ones(3), [1, 1, 1, 1],
                                                      np.ones(4, dtype=bool), [np.inf] * 4])),
       fn=st.sampled_from(["laplacian", "vertex_blocks", "edge_laplacian", "dirichlet_energy",
                           "spectrum", "diffuse", "diffusion_steps"]))
def test_operators_bad_weights(w, fn):
    F = CellularSheaf.random(_cycle(4), 2, 2, seed=0)
    x = np.ones(F.dim_c0)
    call = {"laplacian": lambda: laplacian(F, weights=w),
            "vertex_blocks": lambda: vertex_blocks(F, weights=w),
            "edge_laplacian": lambda: edge_laplacian(F, weights=w),
            "dirichlet_energy": lambda: dirichlet_energy(F, x, weights=w),
            "spectrum": lambda: spectrum(F, 3, weights=w),
            "diffuse": lambda: diffuse(F, x, 1.0, weights=w),
            "diffusion_steps": lambda: diffusion_steps(F, x, n_steps=3, weights=w)}[fn]
    check_call(SUB, call, names="weights")


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["sheaf", "format", "normalized", "pinv_rtol"]),
       bad=st.one_of(bad_scalars(), st.sampled_from([np.eye(3), "dense", 2.0, "csr"])))
def test_laplacian_bad_options(arg, bad):
    F = CellularSheaf.random(_cycle(4), 2, 2, seed=0)
    kw = {"normalized": False, "format": "csr", "pinv_rtol": 1e-12}
    if arg == "sheaf":
        for fn in (laplacian, coboundary, vertex_blocks, edge_laplacian, spectrum,
                   global_sections, cohomology_dimensions):
            check_call(SUB, fn, bad, names="sheaf")
        return
    kw[arg] = bad
    check_call(SUB, laplacian, F, names=arg, **kw)
    if arg == "format":
        check_call(SUB, coboundary, F, format=bad, names="format")
        check_call(SUB, edge_laplacian, F, format=bad, names="format")


@settings(max_examples=examples(15, 600))
@given(data=st.data(), F=sheaves(), k=st.sampled_from([None, 1, 3]))
def test_dirichlet_energy_against_dense_reference(data, F, k):
    x = data.draw(cochains(F, k))
    w = data.draw(weight_vectors(F.n_edges))
    out = check_call(SUB, dirichlet_energy, F, x, weights=w, names=("sheaf", "weights", "x"))
    D = dense_delta(F)
    e, ex = _exp(D), _exp(x)
    ww = np.ones(F.n_edges) if w is None else np.asarray(w, dtype=float)
    ew = _exp(ww)
    Y = np.ldexp(D, -e) @ np.ldexp(np.asarray(x, dtype=float).reshape(F.dim_c0, -1), -ex)
    Y = Y * np.sqrt(np.repeat(np.ldexp(ww, -ew), F.edge_dims))[:, None]
    ey = np.frexp(np.maximum(np.abs(Y).max(axis=0, initial=0), TINY))[1]
    ref = _ldexp((np.ldexp(Y, -ey) ** 2).sum(0), 2 * (ey + e + ex) + ew)
    _expect_finite_or_error(np.isfinite(ref).all(), out, ("x",))
    if out[0] == "ok":
        rel_close(np.atleast_1d(out[1]), ref, 1e-9, "energy")
        if k != 1:  # (dim_c0, 1) may also read as (n_vertices, d=1): one cochain
            assert (np.ndim(out[1]) == 0) == (k is None)


@settings(max_examples=examples(20, 400))
@given(x=st.one_of(bad_arrays((12,)), st.sampled_from(
    [np.ones(5), np.ones((6, 2, 1)), np.ones((6, 3)), [1.0] * 12, np.ones(12, dtype=np.float16),
     np.ones((12, 0))])),
       fn=st.sampled_from(["dirichlet_energy", "project_to_sections", "diffuse",
                           "diffusion_steps"]))
def test_cochain_functions_bad_cochains(x, fn):
    F = CellularSheaf.random(nx.cycle_graph(6), 2, 2, seed=0)
    call = {"dirichlet_energy": lambda: dirichlet_energy(F, x),
            "project_to_sections": lambda: project_to_sections(F, x),
            "diffuse": lambda: diffuse(F, x, 1.0),
            "diffusion_steps": lambda: diffusion_steps(F, x, n_steps=2)}[fn]
    out = check_call(SUB, call, names=("x", "x0"))
    if out[0] == "ok" and fn != "dirichlet_energy":
        assert out[1].shape == np.shape(x)


# ---------------------------------------------------------------------------
# cohomology
# ---------------------------------------------------------------------------


@settings(max_examples=examples(15, 400))
@given(F=sheaves(), method=st.sampled_from(["dense", "iterative", "auto"]))
def test_sections_and_cohomology_against_dense_reference(F, method):
    h0, Qref, _ = ref_kernel(F)
    _, Q = check_call(SUB, global_sections, F, method=method)
    _, c = check_call(SUB, cohomology_dimensions, F, method=method)
    assert Q.shape == (F.dim_c0, h0) and c == (h0, F.dim_c1 - F.dim_c0 + h0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(h0), atol=1e-8)
    D = dense_delta(F)
    Ds = np.ldexp(D, -_exp(D))
    assert np.abs(Ds @ Q).max(initial=0) <= 1e-6
    if h0:  # the same subspace
        np.testing.assert_allclose(Q @ Q.T, Qref @ Qref.T, atol=1e-6)
    assert (c.zero_max is None) == (h0 == 0)
    assert (c.nonzero_min is None) == (h0 == F.dim_c0)
    if c.zero_max is not None:
        assert 0 <= c.zero_max <= TOL
    if c.nonzero_min is not None:
        assert TOL < c.nonzero_min <= 1 + 1e-9


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["tol", "method", "seed", "rtol", "maxiter"]),
       bad=st.one_of(bad_scalars(), st.sampled_from(["lobpcg", "dense", 2.0, -1e-3])))
def test_sections_bad_options(arg, bad):
    F = CellularSheaf.random(nx.cycle_graph(5), 2, 2, seed=0)
    for fn in (global_sections, cohomology_dimensions):
        out = check_call(SUB, fn, F, names=arg, **{arg: bad})
        if out[0] == "ok":
            h = out[1].shape[1] if fn is global_sections else out[1][0]
            if arg != "tol":
                assert h == ref_kernel(F)[0]


@settings(max_examples=examples(15, 400))
@given(data=st.data(), F=sheaves(), k=st.sampled_from([None, 2]))
def test_project_to_sections_against_reference(data, F, k):
    x = data.draw(cochains(F, k))
    out = check_call(SUB, project_to_sections, F, x, names=("x", "sheaf"))
    assert out[0] == "ok"
    _, Qref, _ = ref_kernel(F)
    X = np.asarray(x, dtype=float).reshape(F.dim_c0, -1)
    ex = _exp(X)
    Xs = np.ldexp(X, -ex)
    ref = np.ldexp(Qref @ (Qref.T @ Xs), ex).reshape(np.shape(x))
    assert out[1].shape == np.shape(x) and not np.shares_memory(out[1], x)
    rel_close(out[1], ref, 1e-6, "projection", scale=np.abs(X).max(initial=0))


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["rtol", "maxiter"]), bad=bad_scalars())
def test_project_to_sections_bad_options(arg, bad):
    F = CellularSheaf.random(nx.cycle_graph(5), 2, 2, seed=0)
    x = np.random.default_rng(0).standard_normal(F.dim_c0)
    try:
        check_call(SUB, project_to_sections, F, x, names=arg, **{arg: bad})
    except AssertionError as exc:  # a too-small maxiter ends in the documented error
        assert isinstance(exc.__cause__, NotConvergedError), exc


def test_not_converged_error_is_documented_and_clear():
    F = CellularSheaf.constant(nx.path_graph(300), 1)
    with pytest.raises(NotConvergedError, match=r"conjugate gradients.*maxiter"):
        project_to_sections(F, np.random.default_rng(0).standard_normal(300), maxiter=2)
    assert issubclass(NotConvergedError, RuntimeError)


@settings(max_examples=examples(15, 400))
@given(data=st.data(), F=sheaves(max_vertices=6))
def test_harmonic_extension_residual_and_boundary(data, F):
    rng = np.random.default_rng(data.draw(st.integers(0, 999)))
    b = data.draw(st.integers(0, F.n_vertices))
    B = rng.permutation(F.n_vertices)[:b]
    vo = F.vertex_offsets
    bc = np.concatenate([np.arange(vo[v], vo[v + 1]) for v in B]).astype(int) if b else (
        np.zeros(0, dtype=int))
    mag = data.draw(st.sampled_from(MAGNITUDES))
    vals = rng.standard_normal(len(bc)) * mag
    out = check_call(SUB, harmonic_extension, F, B, vals, names=("boundary", "values"))
    h0, Qref, _ = ref_kernel(F)
    unique = h0 == 0 or (len(bc) >= h0 and np.linalg.svd(Qref[bc], compute_uv=False).min()
                         > 1e-6)
    if unique:
        assert out[0] == "ok", out
    if out[0] == "ok":
        x = out[1]
        np.testing.assert_array_equal(x[bc], vals)
        Ls, _ = ref_laplacian(F)
        interior = np.setdiff1d(np.arange(F.dim_c0), bc)
        ev = _exp(vals)
        xs = np.ldexp(x, -ev)
        res = (Ls @ xs)[interior]
        assert np.abs(res).max(initial=0) <= 1e-6 * max(np.abs(Ls).max(), TINY) * max(
            np.abs(xs).max(initial=0), 1.0)
    else:
        assert "not unique" in str(out[1])


@settings(max_examples=examples(20, 400))
@given(boundary=st.one_of(bad_arrays((2,)), st.sampled_from(
    [[0, 0], [0, 9], [-1], [0.0, 1.0], [[0, 1]], [True, False], "01"])),
       values=st.one_of(bad_arrays((4,)), st.sampled_from([np.ones(4), [1, 2, 3, 4],
                                                           np.ones((2, 2)), np.ones(3)])),
       rtol=st.one_of(st.just(1e-10), bad_scalars()), tol=st.one_of(st.just(1e-10),
                                                                    bad_scalars()))
def test_harmonic_extension_bad_arguments(boundary, values, rtol, tol):
    F = CellularSheaf.random(nx.path_graph(4), 2, 2, seed=0)
    check_call(SUB, harmonic_extension, F, boundary, values, rtol=rtol, tol=tol,
               names=("boundary", "values", "rtol", "tol"))


# ---------------------------------------------------------------------------
# diffusion and spectrum
# ---------------------------------------------------------------------------


def _ref_flow(Ls, X, factor):
    lam, V = np.linalg.eigh(Ls)
    lmax = max(lam[-1], 0.0)
    zero = lam <= len(lam) * EPS * lmax
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        f = np.where(zero, 1.0, factor(np.where(zero, 1.0, lam)))
    return V @ (f[:, None] * (V.T @ X))


@settings(max_examples=examples(15, 400))
@given(data=st.data(), F=sheaves(), t=st.sampled_from([0.0, 1e-300, 0.1, 2.0, 1e3, 1e300]),
       normalized=st.booleans())
def test_diffuse_against_reference(data, F, t, normalized):
    x = data.draw(cochains(F, data.draw(st.sampled_from([None, 2]))))
    out = check_call(SUB, diffuse, F, x, t, normalized=normalized, names=("x0", "t"))
    assert out[0] == "ok"
    y = out[1]
    assert y.shape == np.shape(x) and not np.shares_memory(y, x)
    Ls, E = ref_laplacian(F)
    if normalized:
        Ls, E = _normalized_reference(F, Ls), 0
    X = np.asarray(x, dtype=float).reshape(F.dim_c0, -1)
    ex = _exp(X)
    teff = _ldexp(t, E) if t else 0.0
    Xs = np.ldexp(X, -ex)
    if teff * max(np.abs(Ls).sum(0).max(initial=0), 0) <= 50:
        ref = sla.expm(-teff * Ls) @ Xs
    else:
        ref = _ref_flow(Ls, Xs, lambda lam: np.exp(-teff * lam))
    rel_close(np.ldexp(y.reshape(F.dim_c0, -1), -ex), ref * 0 + ref, 1e-7, "diffuse")


@settings(max_examples=examples(15, 400))
@given(data=st.data(), F=sheaves(), n_steps=st.sampled_from([0, 1, 7, 300, 10**7, 10**15]),
       frac=st.sampled_from([None, 0.3, 1.0, 1.9]))
def test_diffusion_steps_against_reference(data, F, n_steps, frac):
    x = data.draw(cochains(F))
    Ls, E = ref_laplacian(F)
    lmax = np.linalg.eigvalsh(Ls)[-1] if F.dim_c0 else 0.0
    alpha = None if frac is None or lmax <= 0 else float(_ldexp(frac / lmax, -E))
    if alpha is not None and (alpha == 0 or not np.isfinite(alpha)):
        alpha = None
    out = check_call(SUB, diffusion_steps, F, x, n_steps=n_steps, alpha=alpha,
                     names=("x0", "alpha", "n_steps"))
    assert out[0] == "ok"
    ex = _exp(x)
    Xs = np.ldexp(np.asarray(x, dtype=float), -ex)[:, None]
    a = 1.0 / lmax if alpha is None and lmax > 0 else (
        float(np.ldexp(alpha, E)) if alpha is not None else 1.0)
    if n_steps <= 300:
        ref = Xs
        for _ in range(n_steps):
            ref = ref - a * (Ls @ ref)
    else:
        ref = _ref_flow(Ls, Xs, lambda lam: np.power(1 - a * lam, float(n_steps)))
    rel_close(np.ldexp(out[1], -ex), ref[:, 0], 1e-7, "steps")


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["n_steps", "alpha", "normalized"]),
       bad=st.one_of(bad_scalars(), st.sampled_from([10**30, 2**63, 3.0, 0.5, "none"])))
def test_diffusion_steps_bad_arguments(arg, bad):
    F = CellularSheaf.random(nx.cycle_graph(5), 2, 2, seed=0)
    kw = {"n_steps": 3, "alpha": None, "normalized": False}
    kw[arg] = bad
    x = np.ones(F.dim_c0)
    out = check_call(SUB, diffusion_steps, F, x, names=arg, **kw)
    if out[0] == "ok" and arg == "n_steps" and bad >= 10**6:
        rel_close(out[1], project_to_sections(F, x, rtol=1e-12), 1e-8, "many steps", scale=1.0)


@settings(max_examples=examples(15, 400))
@given(F=sheaves(), k=st.integers(1, 6), normalized=st.booleans(),
       method=st.sampled_from(["auto", "dense", "lobpcg"]))
def test_spectrum_against_reference(F, k, normalized, method):
    k = min(k, F.dim_c0)
    out = check_call(SUB, spectrum, F, k, normalized=normalized, method=method,
                     names=("sheaf",))
    Ls, E = ref_laplacian(F)
    if normalized:
        Ls, E = _normalized_reference(F, Ls), 0
    lam = np.maximum(np.linalg.eigvalsh(Ls), 0)
    expected = _ldexp(lam[:k], E)
    _expect_finite_or_error(np.isfinite(_ldexp(lam[-1], E)), out, ("sheaf",))
    if out[0] == "error":
        return
    s = out[1]
    assert isinstance(s, SheafSpectrum)
    top = _ldexp(lam[-1], E)
    rel_close(s.eigenvalues, expected, 1e-6, "eigenvalues", scale=top)
    assert s.zero_count == int((lam[:k] <= TOL * lam[-1]).sum())
    if s.zero_count < k:
        rel_close(s.spectral_gap, expected[s.zero_count], 1e-6, "gap", scale=top)
    else:
        with pytest.raises(ValueError, match="ask for more"):
            _ = s.spectral_gap


@settings(max_examples=examples(20, 400))
@given(arg=st.sampled_from(["k", "tol", "method", "seed", "maxiter", "normalized"]),
       bad=st.one_of(bad_scalars(), st.sampled_from([100, "eigh", 0.5, 11])))
def test_spectrum_bad_arguments(arg, bad):
    F = CellularSheaf.random(nx.cycle_graph(5), 2, 2, seed=0)
    kw = {"k": 3}
    kw[arg] = bad
    k = kw.pop("k")
    check_call(SUB, spectrum, F, k, names=arg, **kw)


# ---------------------------------------------------------------------------
# learned maps
# ---------------------------------------------------------------------------


@settings(max_examples=examples(20, 400))
@given(X=point_clouds(min_rows=1, max_rows=30, min_cols=1, max_cols=3),
       edge_dim=st.one_of(st.just(1), bad_scalars()), reg=st.sampled_from(
           [0.0, 1e-6, 1.0, -1.0, float("nan"), 1e300, "0.1"]),
       center=st.sampled_from([True, False, 1, None]))
def test_fit_restriction_maps_extreme_and_bad(X, edge_dim, reg, center):
    rng = np.random.default_rng(len(X))
    Y = np.asarray(X, dtype=float) @ rng.standard_normal((X.shape[1], 2))
    Y = Y + rng.standard_normal(Y.shape) * (np.abs(Y).max(initial=0) * 1e-3 + (Y == 0).all())
    out = check_call(SUB, fit_restriction_maps, X, Y, edge_dim, reg=reg, center=center,
                     names=("X_u", "X_v", "edge_dim", "reg", "center"))
    if out[0] == "ok":
        fit = out[1]
        assert isinstance(fit, RestrictionFit)
        assert (fit.correlations >= -1e-12).all() and (fit.correlations <= 1 + 1e-9).all()
        # scale-free: the same correlations on the data at unit scale, maps scaled by 1/s
        s = power_of_two_scale(np.asarray(X, dtype=float))
        _, unit = check_call(SUB, fit_restriction_maps, np.asarray(X, float) / s, Y,
                             edge_dim, reg=reg, center=center)
        rel_close(fit.correlations, unit.correlations, 1e-6, "correlations")
        with np.errstate(under="ignore"):  # F_u ~ 1 / scale may underflow (correctly) to 0
            rel_close(fit.tail, unit.tail / s, 1e-6, "tail")


def test_fit_restriction_maps_constant_up_to_rounding_is_constant():
    # centring 18 copies of 1.2573e-301 left rounding noise that was whitened as signal,
    # and the whitening map 1 / (noise * scale) overflowed
    Y = np.random.default_rng(0).standard_normal((18, 2))
    for c in (1.2573e-301, 0.1, 1e300):
        X = np.full((18, 1), c)
        out = check_call(SUB, fit_restriction_maps, X, Y, 1, reg=0.0, names="X_u")
        assert out[0] == "error" and "constant" in str(out[1])


@settings(max_examples=examples(20, 400))
@given(X_u=bad_arrays((6, 2)), which=st.sampled_from(["X_u", "X_v"]))
def test_fit_restriction_maps_bad_arrays(X_u, which):
    good = np.random.default_rng(0).standard_normal((6, 2))
    args = (X_u, good) if which == "X_u" else (good, X_u)
    check_call(SUB, fit_restriction_maps, *args, 1, names=which)


@settings(max_examples=examples(20, 400))
@given(mag=st.sampled_from(MAGNITUDES), features=st.one_of(
    st.just("ok"), st.just("list"), bad_arrays((3, 20, 2)), st.sampled_from(
        ["ragged_rows", "constant", "one_sample", "str"])),
       edge_dim=st.one_of(st.just(1), st.sampled_from([[1, 1], [1, 3], 0, 2.0, 5])))
def test_learn_sheaf_extreme_and_bad(mag, features, edge_dim):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((20, 2))
    good = np.stack([z @ rng.standard_normal((2, 2)) + 1e-2 * rng.standard_normal((20, 2))
                     for _ in range(3)]) * mag
    if isinstance(features, str) and features != "abc":
        feats = {"ok": good, "list": list(good), "ragged_rows": [good[0], good[1][:10], good[2]],
                 "constant": np.ones((3, 20, 2)), "one_sample": good[:, :1], "str": "abc"}[
            features]
    else:
        feats = features
    out = check_call(SUB, learn_sheaf, [[0, 1], [1, 2]], feats, edge_dim,
                     names=("features", "edge_dim"))
    if out[0] == "ok":
        F = out[1]
        fit = fit_restriction_maps(np.asarray(feats[0]), np.asarray(feats[1]),
                                   int(np.atleast_1d(edge_dim)[0]))
        rel_close(F.tail_map(0), fit.tail, 1e-8, "learned tail")
        rel_close(F.head_map(0), fit.head, 1e-8, "learned head")
