"""The report's ``sheaf`` section (issue 18): three or more sets as a learned cellular sheaf.

Planted structure: three views share a latent factor z, views a and b also share
a factor t that c lacks, and one item is corrupted in c. The section must find
t as pair-specific to (a, b) only, z as the one kind of global section, the
corrupted item as the worst; its item energies must be the library's Dirichlet
energies; bad graphs, two sets, constant columns, duplicates, float32 and
extreme magnitudes must give a right answer or a clear error.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sheaftopo.report import AnalysisConfig, analyze, render_figures, render_html, render_json
from sheaftopo.report._figures_sheaf import sheaf_graph
from sheaftopo.report._preprocess import check_graph
from sheaftopo.report._render_sheaf import sheaf_html
from sheaftopo.report._sheaf_measures import chance_correlation, measure_sheaf
from sheaftopo.sheaf import dirichlet_energy, learn_sheaf

COMPLETE = [(0, 1), (0, 2), (1, 2)]
BAD_ROW = 7


def planted(n: int = 1500, d: int = 8, seed: int = 1) -> list[np.ndarray]:
    """Views a, b (z and t) and c (z only), noise 0.5; item BAD_ROW's z moved by 6 in c."""
    rng = np.random.default_rng(seed)
    z, t = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    X = []
    for latent in (np.hstack([z, t]), np.hstack([z, t]), z):
        load = rng.standard_normal((latent.shape[1], d))
        X.append(latent @ load + 0.5 * rng.standard_normal((n, d)))
    X[2][BAD_ROW] += np.array([6.0, -6.0]) @ load
    return X


@pytest.fixture(scope="module")
def measures():
    return measure_sheaf(planted(), COMPLETE)


def test_pair_specific_dimensions_found_on_the_pair_that_shares_t_only(measures):
    assert measures.n_specific.tolist() == [2, 0, 0]  # (a, b) carries t; c sees z only
    assert measures.edge_dims.tolist() == [4, 2, 2]
    seen = measures.seen_by_others[0]
    assert seen[:2].min() > 0.9 and seen[2:].max() < 0.2


def test_global_sections_are_the_latent_every_set_shares(measures):
    assert measures.n_sections == 2  # z is 2-dimensional; t (two sets of three) is not global
    eig = measures.section_eigenvalues
    assert eig[:2].max() < 0.1 and eig[2] > 0.5
    assert np.all(np.diff(eig) >= 0) and eig.min() >= 0 and eig.max() <= 2
    assert measures.section_weakest_edge[:2].min() > 0.9


def test_a_direction_all_but_one_set_share_is_not_global():
    # t shared almost exactly by a and b: eigenvalue (n - s)/(n - 1) = 1/2 = the tolerance,
    # told apart from z by its readouts' correlation on the edges to c (about 0)
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((2000, 1)), rng.standard_normal((2000, 1))
    X = [
        np.hstack([z, t]) @ rng.standard_normal((2, 4)) + 0.01 * rng.standard_normal((2000, 4)),
        np.hstack([z, t]) @ rng.standard_normal((2, 4)) + 0.01 * rng.standard_normal((2000, 4)),
        z @ rng.standard_normal((1, 4)) + 0.3 * rng.standard_normal((2000, 4)),
    ]
    m = measure_sheaf(X, COMPLETE)
    assert m.n_sections == 1 and m.n_specific.tolist() == [1, 0, 0]
    assert abs(m.section_eigenvalues[1] - 0.5) < 0.01 and m.section_weakest_edge[1] < 0.1


def test_the_corrupted_item_is_the_worst(measures):
    worst = int(np.argmax(measures.item_total))
    assert worst == BAD_ROW
    # its inconsistency lies on the two edges that touch c
    assert measures.item_edge[0, BAD_ROW] < measures.item_edge[1:, BAD_ROW].min()


def test_edge_inconsistency_is_one_minus_mean_correlation(measures):
    for e, k in enumerate(measures.edge_dims.tolist()):
        rho = measures.correlations[e][:k]
        assert measures.edge_inconsistency[e] == pytest.approx(1 - rho.mean(), abs=2e-3)
    assert measures.item_total.mean() == pytest.approx(measures.edge_inconsistency.mean())


def test_item_energies_are_the_librarys_dirichlet_energies(measures):
    X = [M - M.mean(axis=0) for M in planted()]
    k = measures.edge_dims
    F = learn_sheaf(np.array(COMPLETE), X, k, reg=1e-6)
    cochains = np.concatenate(X, axis=1).T  # (dim_c0, N)
    w = 1.0 / (2 * len(k) * k)
    energy = dirichlet_energy(F, cochains, weights=w)
    # the section's data are scaled by a power of two; the energies are scale-free (whitened)
    np.testing.assert_allclose(measures.item_total, energy, rtol=1e-6, atol=1e-9)
    for e in range(len(k)):
        one = np.where(np.arange(len(k)) == e, 1.0 / (2 * k[e]), 0.0)
        np.testing.assert_allclose(
            measures.item_edge[e], dirichlet_energy(F, cochains, weights=one), rtol=1e-6, atol=1e-9
        )


def test_path_graph_has_two_edges_and_its_own_sections():
    m = measure_sheaf(planted(n=800), [(0, 1), (1, 2)])
    assert m.edges.tolist() == [[0, 1], [1, 2]]
    assert len(m.edge_inconsistency) == 2 and m.item_edge.shape == (2, 800)


def test_isolated_set_in_the_graph():
    m = measure_sheaf(planted(n=600), [(0, 1)])
    assert m.item_edge.shape == (1, 600) and m.n_specific.tolist() == [2]


def test_float32_constant_column_duplicates_and_magnitudes():
    X = planted(n=900)
    ref = measure_sheaf(X, COMPLETE)
    m32 = measure_sheaf([M.astype(np.float32) for M in X], COMPLETE)
    assert m32.edge_dims.tolist() == ref.edge_dims.tolist()
    np.testing.assert_allclose(m32.item_total, ref.item_total, rtol=1e-3, atol=1e-4)
    for scale in (1e-300, 1e300):
        big = measure_sheaf([M * scale for M in X], COMPLETE)
        assert big.n_specific.tolist() == ref.n_specific.tolist()
        np.testing.assert_allclose(big.item_total, ref.item_total, rtol=1e-6)
    exact = measure_sheaf([M * 2.0**600 for M in X], COMPLETE)
    np.testing.assert_array_equal(exact.item_total, ref.item_total)
    const = [np.hstack([M, np.full((len(M), 1), 3.0)]) for M in X]
    mc = measure_sheaf(const, COMPLETE)
    assert np.isfinite(mc.item_total).all() and mc.n_specific.tolist() == [2, 0, 0]
    dup = [np.vstack([M, M[:300]]) for M in X]
    md = measure_sheaf(dup, COMPLETE)
    assert np.isfinite(md.item_total).all() and md.item_total.shape == (1200,)
    np.testing.assert_allclose(md.item_total[900:] / md.item_total[:300], 1.0, rtol=1e-9)


def test_a_duplicated_set():
    X = planted(n=900)
    m = measure_sheaf([X[0], X[1], X[0].copy()], COMPLETE)  # c duplicates a
    assert np.isfinite(m.item_total).all()
    # (a, c) agree in all 8 directions; b sees the 4 of z and t, not a's noise, which a and c
    # share with no one; (a, b) and (b, c) are seen entirely by the copy of their first set
    assert m.edge_dims.tolist() == [4, 8, 4]
    assert m.n_specific.tolist() == [0, 4, 0]
    assert m.edge_inconsistency[1] < 1e-6


def test_others_with_as_many_dimensions_as_rows_decide_nothing():
    rng = np.random.default_rng(5)
    z = rng.standard_normal((70, 2))
    X = [z @ rng.standard_normal((2, 4)) + 0.1 * rng.standard_normal((70, 4)) for _ in range(2)]
    X.append(rng.standard_normal((70, 68)))  # fits any variate of 70 rows
    m = measure_sheaf(X, COMPLETE)
    assert m.n_significant[0] == 2 and m.seen_chance[0] == 1.0
    assert m.n_specific.tolist() == [0, 0, 0] and np.isfinite(m.item_total).all()


@pytest.mark.parametrize(
    ("X", "edges", "match"),
    [
        ([np.ones((5, 2))] * 2, COMPLETE, "three or more"),
        ("abc", COMPLETE, "three or more"),
        ([np.zeros((50, 2)), np.ones((50, 2)), np.ones((49, 2))], COMPLETE, "rows"),
        ([np.full((50, 2), np.nan)] * 3, COMPLETE, "NaN"),
        ([np.random.default_rng(0).random((50, 2))] * 3, [(0, 0)], "different"),
        ([np.random.default_rng(0).random((50, 2))] * 3, [(0, 5)], "different"),
        ([np.random.default_rng(0).random((50, 2))] * 3, [], "at least one edge"),
        ([np.random.default_rng(0).random((2, 2))] * 3, COMPLETE, "at least 3 rows"),
    ],
)
def test_measure_sheaf_rejects_bad_input(X, edges, match):
    with pytest.raises(ValueError, match=match):
        measure_sheaf(X, edges)


def test_measure_sheaf_does_not_touch_its_input():
    X = planted(n=300)
    before = [M.copy() for M in X]
    for M in X:
        M.setflags(write=False)
    measure_sheaf(X, COMPLETE)
    for M, B in zip(X, before, strict=True):
        np.testing.assert_array_equal(M, B)


def test_chance_correlation():
    assert chance_correlation(1, 1, 10**9) < 1e-3
    assert chance_correlation(5, 5, 10) == 1.0
    assert 0.38 < chance_correlation(768, 768, 19_999) < 0.39
    with pytest.raises(ValueError, match="p"):
        chance_correlation(0, 3, 10)


# ----------------------------------------------------------------------
# through analyze, the JSON, the figure and the HTML
# ----------------------------------------------------------------------

CFG = AnalysisConfig(k=5, dense_max_points=80)


def sets_of(X: list[np.ndarray]) -> dict[str, np.ndarray]:
    return dict(zip("abc", X, strict=True))


@pytest.fixture(scope="module")
def result():
    X = planted(n=400)
    labels = np.arange(400) % 4
    return analyze(sets_of(X), labels=labels, config=CFG)


def test_report_entry(result):
    s = result.data["sheaf"]
    assert s["graph"]["complete"] and s["graph"]["n_edges"]["value"] == 3
    keys = [e["key"] for e in s["edges"]]
    assert keys == ["a | b", "a | c", "b | c"]
    assert [e["pair_specific"]["value"] for e in s["edges"]] == [2, 0, 0]
    assert s["global_sections"]["dimension"]["value"] == 2
    worst = s["items"]["worst"]
    assert worst[0]["row"] == BAD_ROW and worst[0]["label"] == BAD_ROW % 4
    assert worst[0]["edge"] in ("a | c", "b | c")
    assert len(worst) == getattr(CFG, "n_worst", 10)
    assert len(s["items"]["inconsistency"]["values"]) == 400
    assert s["inconsistency"]["better"] == "lower" and s["edges"][0]["agreement"]["better"]
    assert "sheaf of the modalities" in result.data["timings"]["steps"]
    json.loads(render_json(result))  # no NaN anywhere


def test_rows_are_original_row_numbers_under_subsampling():
    X = planted(n=400)
    res = analyze(sets_of(X), config=AnalysisConfig(k=5, dense_max_points=80, max_points=300))
    idx = res.data["inputs"]["subsample"]["indices"]
    worst = res.data["sheaf"]["items"]["worst"]
    assert all(w["row"] in idx for w in worst)
    if BAD_ROW in idx:
        assert worst[0]["row"] == BAD_ROW


def test_figure_and_html(result):
    figs = render_figures(result)
    assert figs["sheaf_graph.png"].startswith(b"\x89PNG")
    html = render_html(result, figs)
    body = html.split("<section id='sheaf'>", 1)[1].split("</section>", 1)[0]
    assert "alt='sheaf_graph.png'" in body and "a | b" in body
    assert f"<th scope='row'>{BAD_ROW}</th>" in body


def test_graph_argument_path():
    res = analyze(sets_of(planted(n=300)), config=CFG, graph=[("a", "b"), ("c", "b")])
    s = res.data["sheaf"]
    assert [e["key"] for e in s["edges"]] == ["a | b", "b | c"]
    assert not s["graph"]["complete"] and s["graph"]["n_edges"]["value"] == 2


@pytest.mark.parametrize(
    ("graph", "match"),
    [
        ([("a", "x")], "x"),
        ([("a", "a")], "self-loop|itself|same"),
        ([("a", "b"), ("b", "a")], "twice|repeat|duplicate|more than once"),
        ([], "no edge|empty|at least one"),
    ],
)
def test_bad_graphs_raise(graph, match):
    with pytest.raises(ValueError, match=match):
        check_graph(graph, ["a", "b", "c"])
    with pytest.raises(ValueError, match=match):
        analyze(sets_of(planted(n=60)), config=CFG, graph=graph)


def test_graph_of_the_wrong_type():
    with pytest.raises(TypeError, match="graph"):
        check_graph("a-b", ["a", "b", "c"])


def test_two_sets_have_no_sheaf_section():
    X = planted(n=120)
    res = analyze({"a": X[0], "b": X[1]}, config=CFG)
    assert res.data["sheaf"] is None
    assert sheaf_graph(res) is None
    assert "sheaf_graph.png" not in render_figures(res)
    assert sheaf_html(res.data, lambda name: "") == (
        "<p>This section needs three or more sets; this report has 2.</p>"
    )


def test_sheaf_html_and_figure_reject_bad_arguments():
    with pytest.raises(TypeError, match="data"):
        sheaf_html([], lambda name: "")
    with pytest.raises(TypeError, match="fig"):
        sheaf_html({"sheaf": None}, "fig")
    with pytest.raises(TypeError, match="AnalysisResult"):
        sheaf_graph({"sheaf": None})
