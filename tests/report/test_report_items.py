"""The per-item and per-class views (section ``items`` of each pair, issue 18)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from sheaftopo.report import (
    AnalysisConfig,
    AnalysisResult,
    analyze,
    distance_alignment,
    render_figures,
    render_html,
    render_json,
    retrieval_recall,
    write_items_csv,
)
from sheaftopo.report._figures_items import MAX_PANELS, shown_pairs
from sheaftopo.report._sections.items import combined_score

FAST = {"k": 5, "n_eps": 4, "sw_directions": 4, "dense_max_points": 60}
PLANTED = np.array([7, 60, 123, 180, 251])


def paired(n: int, seed: int = 0, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Two views of one latent: B a noisy linear image of A (other dimension)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, 8))
    B = A @ rng.standard_normal((8, 6)) + 0.1 * rng.standard_normal((n, 6))
    return A.astype(dtype), B.astype(dtype)


def planted(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Paired sets whose rows PLANTED of B are shuffled among themselves (bad partners)."""
    A, B = paired(n, seed)
    B[PLANTED] = B[np.roll(PLANTED, 1)]
    return A, B


def items_of(res, i: int = 0) -> dict:
    return res.data["pairs"][i]["items"]


@pytest.fixture(scope="module")
def planted_result():
    A, B = planted()
    y = np.arange(300) % 4
    return analyze({"a": A, "b": B}, labels=y, config=AnalysisConfig(max_points=0, **FAST))


def test_planted_bad_items_are_the_worst(planted_result):
    it = items_of(planted_result)
    assert it["n_items"]["value"] == 300
    worst_rows = [w["row"] for w in it["worst"]]
    assert len(worst_rows) == 10
    assert set(worst_rows[:5]) == set(PLANTED.tolist())
    scores = [w["score"] for w in it["worst"]]
    assert scores == sorted(scores, reverse=True)
    for w in it["worst"][:5]:
        assert w["rank_a_to_b"] > 0 and w["rank_b_to_a"] > 0
        assert w["label"] == w["row"] % 4
    score = np.array(it["score"]["values"])
    assert ((0 <= score) & (score <= 1)).all()
    for name in ("knn_jaccard", "rank_a_to_b", "rank_b_to_a", "partner_distance"):
        assert len(it[name]["values"]) == 300, name
        assert it[name]["better"] in ("higher", "lower")


def test_measures_match_their_definitions(planted_result):
    """Each per-item measure against a direct computation on the analysed rows."""
    A, B = planted()
    it = items_of(planted_result)
    r = retrieval_recall(
        *_shared(planted_result, A, B),
        ks=(1,),
        metric=planted_result.data["parameters"]["retrieval_metric"],
    )
    assert it["rank_a_to_b"]["values"] == r.ranks_ab.tolist()
    assert it["rank_b_to_a"]["values"] == r.ranks_ba.tolist()
    mean = np.mean(it["knn_jaccard"]["values"])
    assert mean == pytest.approx(
        planted_result.data["pairs"][0]["neighbourhoods"]["overlap"]["value"]
    )


def _shared(res, A, B):
    """The shared-space rows as the analysis formed them (CCA here: dimensions differ)."""
    from sheaftopo.report._sections.shared_space import fit

    cfg = AnalysisConfig(max_points=0, **FAST).validated()
    project, _ = fit(A, B, cfg)
    return project(A, B)


def test_residual_is_the_per_row_share_of_the_rms_error(planted_result):
    A, B = planted()
    it = items_of(planted_result)
    res = np.array(it["distance_residual"]["values"])
    rms = planted_result.data["pairs"][0]["distance_alignment"]["rms_error"]["value"]
    assert np.mean(res**2) == pytest.approx(rms**2, rel=1e-12)
    # and against the dense oracle: sqrt(mean_{j != i} (dA_ij / sA - dB_ij / sB)^2)
    dA, dB = cdist(A, A), cdist(B, B)
    n = len(A)
    sA = np.sqrt((dA**2).sum() / (n * (n - 1)))
    sB = np.sqrt((dB**2).sum() / (n * (n - 1)))
    want = np.sqrt(((dA / sA - dB / sB) ** 2).sum(axis=1) / (n - 1))
    np.testing.assert_allclose(res, want, rtol=1e-9, atol=1e-12)


def test_partner_distance_is_in_pooled_rms_distances():
    A = np.random.default_rng(3).standard_normal((40, 3))
    res = analyze({"a": A, "b": A + 0.5}, config=AnalysisConfig(**FAST))
    pd = np.array(items_of(res)["partner_distance"]["values"])
    pooled = np.vstack([A, A + 0.5])
    s = np.sqrt(np.mean(cdist(pooled, pooled)[np.triu_indices(80, 1)] ** 2))
    np.testing.assert_allclose(pd, np.sqrt(3 * 0.25) / s, rtol=1e-12)


def test_rows_are_original_row_numbers_under_subsampling():
    A, B = planted(400, seed=1)
    y = np.array([f"c{i % 3}" for i in range(400)])
    res = analyze({"a": A, "b": B}, labels=y, config=AnalysisConfig(max_points=250, **FAST))
    it = items_of(res)
    idx = res.data["inputs"]["subsample"]["indices"]
    assert it["rows"]["values"] == idx
    assert it["labels"] == y[idx].tolist()
    kept = sorted(set(PLANTED.tolist()) & set(idx))
    assert len(kept) >= 2  # the seeded subsample keeps some planted rows
    worst_rows = [w["row"] for w in it["worst"][: len(kept)]]
    assert sorted(worst_rows) == kept  # reported by their original numbers
    for w in it["worst"]:
        assert w["label"] == y[w["row"]]


def test_worst_list_length_follows_n_worst():
    A, B = paired(30)
    for n_worst, want in ((3, 3), (1000, 30)):
        res = analyze({"a": A, "b": B}, config=AnalysisConfig(n_worst=n_worst, **FAST))
        assert len(items_of(res)["worst"]) == want


def test_by_class_is_none_without_labels():
    A, B = paired(30)
    res = analyze({"a": A, "b": B}, config=AnalysisConfig(**FAST))
    it = items_of(res)
    assert it["by_class"] is None and it["labels"] is None
    assert all(w["label"] is None for w in it["worst"])
    assert "class_bars.png" not in render_figures(res)
    assert "needs labels" in render_html(res, {})


def class_swap(seed: int = 0):
    """Three tight classes; B swaps the rows of the class-0 and class-1 items."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], 30)
    centres = 5.0 * np.eye(4)[:3]
    A = centres[y] + 0.05 * rng.standard_normal((90, 4))
    B = A.copy()
    B[y == 0], B[y == 1] = A[y == 1], A[y == 0]
    return A, B, y


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_confusion_shows_a_planted_class_swap(metric):
    A, B, y = class_swap()
    res = analyze(
        {"a": A, "b": B}, labels=y, config=AnalysisConfig(retrieval_metric=metric, **FAST)
    )
    bc = items_of(res)["by_class"]
    assert bc["classes"] == [0, 1, 2]
    assert bc["count"]["values"] == [30, 30, 30]
    assert bc["a_to_b"]["matrix"] == [[0, 30, 0], [30, 0, 0], [0, 0, 30]]
    assert bc["b_to_a"]["matrix"] == [[0, 30, 0], [30, 0, 0], [0, 0, 30]]
    assert bc["a_to_b"]["same_class"]["value"] == pytest.approx(1 / 3)
    assert bc["a_to_b"]["same_class_by_class"]["values"] == [0.0, 0.0, 1.0]
    top = bc["a_to_b"]["top_confusions"]
    assert {(t["class_a"], t["nearest_class_b"], t["count"]) for t in top} == {
        (0, 1, 30),
        (1, 0, 30),
    }
    assert bc["recall_a_to_b"]["@1"]["values"][:2] == [0.0, 0.0]
    # nearest rows: the brute-force argmax of the score (a tie goes to the partner)
    r = retrieval_recall(A, B, metric=metric)
    S = -cdist(A, B) if metric == "euclidean" else 1 - cdist(A, B, "cosine")
    np.testing.assert_array_equal(r.nearest_ab, S.argmax(axis=1))
    np.testing.assert_array_equal(r.nearest_ba, S.argmax(axis=0))


def test_nearest_ties_go_to_the_partner_then_the_lowest_row():
    A = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    r = retrieval_recall(A, A, metric="euclidean")
    assert r.ranks_ab.tolist() == [0, 0, 0, 0]
    assert r.nearest_ab.tolist() == [0, 1, 2, 3]  # each query's partner is among the best
    C = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.1]])
    D = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    r = retrieval_recall(C, D, metric="euclidean")
    assert r.nearest_ab.tolist() == [1, 0, 0, 1]  # exact ties: the lowest row


def test_string_labels_and_a_class_with_one_item():
    A, B = paired(60)
    y = np.array(["b"] * 30 + ["a"] * 29 + ["z"])
    res = analyze({"a": A, "b": B}, labels=y, config=AnalysisConfig(**FAST))
    bc = items_of(res)["by_class"]
    assert bc["classes"] == ["a", "b", "z"]
    assert bc["count"]["values"] == [29, 30, 1]
    for part in (bc["recall_a_to_b"]["@1"], bc["knn_jaccard"], bc["partner_distance"]):
        assert np.isfinite(part["values"]).all()
    json.loads(render_json(res))  # no NaN anywhere (allow_nan=False)
    html = render_html(res, render_figures(res))
    assert "class_bars.png" in html and "joint_projection.png" in html


def test_many_classes_keep_the_json_small():
    A, B = paired(200)
    y = np.arange(200) // 2  # 100 classes of two items
    res = analyze({"a": A, "b": B}, labels=y, config=AnalysisConfig(**FAST))
    conf = items_of(res)["by_class"]["a_to_b"]
    assert conf["matrix"] is None and "100 classes" in conf["matrix_note"]
    assert len(conf["top_confusions"]) <= 10
    assert b"PNG" in render_figures(res)["class_bars.png"][:8]


def test_read_only_and_float32_inputs():
    A, B = paired(80, dtype=np.float32)
    A.setflags(write=False)
    B.setflags(write=False)
    before = A.copy(), B.copy()
    y = np.arange(80) % 3
    res = analyze({"a": A, "b": B}, labels=y, config=AnalysisConfig(**FAST))
    np.testing.assert_array_equal(A, before[0])
    np.testing.assert_array_equal(B, before[1])
    it = items_of(res)
    for name in ("knn_jaccard", "partner_distance", "distance_residual", "score"):
        assert np.isfinite(it[name]["values"]).all(), name
    rms = res.data["pairs"][0]["distance_alignment"]["rms_error"]["value"]
    assert np.mean(np.square(it["distance_residual"]["values"])) == pytest.approx(rms**2, rel=1e-6)


def test_csv_round_trip(planted_result, tmp_path):
    path = tmp_path / "items.csv"
    assert write_items_csv(planted_result, path) == 300
    with open(path, newline="", encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    it = items_of(planted_result)
    assert [int(r["row"]) for r in lines] == it["rows"]["values"]
    assert [int(r["label"]) for r in lines] == it["labels"]
    for name in ("knn_jaccard", "partner_distance", "distance_residual", "score"):
        assert [float(r[name]) for r in lines] == it[name]["values"], name
    assert [int(r["rank_a_to_b"]) for r in lines] == it["rank_a_to_b"]["values"]
    worst = {int(r["row"]) for r in lines if r["worst"] == "1"}
    assert worst == {w["row"] for w in it["worst"]}
    assert {r["pair"] for r in lines} == {"a | b"}
    write_items_csv(planted_result, path)  # replaces the file, leaves no temporary behind
    assert [p.name for p in tmp_path.iterdir()] == ["items.csv"]


def test_csv_of_three_sets_and_string_labels(tmp_path):
    A, B = paired(40)
    y = np.array(["x, with comma", 'q"uote'] * 20)
    res = analyze({"a": A, "b": B, "c": A[:, :5]}, labels=y, config=AnalysisConfig(**FAST))
    assert write_items_csv(res, str(tmp_path / "i.csv")) == 3 * 40
    with open(tmp_path / "i.csv", newline="", encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert {r["pair"] for r in lines} == {"a | b", "a | c", "b | c"}
    assert {r["label"] for r in lines} == set(y.tolist())


def test_combined_score_ties_and_orientation():
    n = 5
    m = {
        "knn_jaccard": np.ones(n),  # all equal: contributes 0.5 to everyone
        "rank_a_to_b": np.zeros(n, np.int64),
        "rank_b_to_a": np.zeros(n, np.int64),
        "partner_distance": np.arange(n, dtype=float),
        "distance_residual": np.arange(n, dtype=float)[::-1].copy(),
    }
    s = combined_score(m)
    np.testing.assert_allclose(s, [0.5, 0.5, 0.5, 0.5, 0.5])
    m["distance_residual"] = np.arange(n, dtype=float)
    s = combined_score(m)
    assert np.all(np.diff(s) > 0) and s[-1] == pytest.approx(0.75)


def test_distance_alignment_residual_identity_at_extreme_scales():
    A, B = paired(50)
    for scale in (1e-300, 1e300):
        r = distance_alignment(A * scale, B)
        assert np.isfinite(r.row_rms_error).all()
        assert np.mean(r.row_rms_error**2) == pytest.approx(r.rms_error**2, rel=1e-12)


def test_figures_draw_at_most_six_pairs_those_of_lowest_top1():
    def pair(key, top1):
        ranks = [0] * top1 + [3] * (10 - top1)
        items = {"rank_a_to_b": {"values": ranks}, "rank_b_to_a": {"values": ranks}}
        return {"key": key, "items": items}

    few = AnalysisResult(data={"pairs": [pair(f"p{i}", i) for i in range(MAX_PANELS)]})
    assert shown_pairs(few) == ([f"p{i}" for i in range(MAX_PANELS)], "")
    top1 = [5, 1, 9, 1, 7, 3, 2, 8, 0, 6]
    many = AnalysisResult(data={"pairs": [pair(f"p{i}", t) for i, t in enumerate(top1)]})
    keys, note = shown_pairs(many)
    assert keys == ["p0", "p1", "p3", "p5", "p6", "p8"]  # the six lowest, in input order
    assert f"{MAX_PANELS} of 10 pairs" in note


def test_command_writes_the_items_csv_and_lists_n_worst(tmp_path, capsys):
    from sheaftopo.cli import main

    A, B = planted()
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    out, table = tmp_path / "r", tmp_path / "items.csv"
    argv = ["analyze", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-q", "-k", "5"]
    argv += ["--dense-max-points", "60", "--out", str(out)]
    assert main([*argv, "--items-csv", str(table), "--worst", "5"]) == 0, capsys.readouterr().err
    data = json.loads((out / "report.json").read_text())
    worst = data["pairs"][0]["items"]["worst"]
    assert sorted(w["row"] for w in worst) == sorted(PLANTED.tolist())
    with open(table, newline="") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 300 and sum(r["worst"] == "1" for r in lines) == 5
    capsys.readouterr()
    # a CSV that cannot be written is refused before the analysis, naming the flag
    assert main([*argv, "--items-csv", str(tmp_path / "no" / "x.csv")]) == 2
    assert "--items-csv" in capsys.readouterr().err
    assert main([*argv, "--worst", "0"]) == 2
    assert "--worst" in capsys.readouterr().err
