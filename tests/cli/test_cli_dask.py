"""``analyze --dask`` / ``--scheduler``: exact parts on every row, the rest on a subsample."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")

from sheaftopo.cli import _dask, main
from sheaftopo.report import AnalysisConfig, DaskOptions, analyze

FAST = ["-q", "--dense-max-points", "80", "-k", "5"]
#: the exact measures, which must not depend on where they ran
PERSISTENCE_KEYS = (
    "n_points",
    "n_finite_pairs",
    "death_min",
    "death_median",
    "death_max",
    "total_persistence",
)
FIBER_KEYS = (
    "eps_star",
    "eps_recall_50",
    "eps_recall_90",
    "at_eps_star",
    "profile_eps",
    "profile_pairs",
    "profile_recall",
)


@pytest.fixture
def small_cluster(monkeypatch):
    """``--dask`` starts a LocalCluster of 2 threaded workers instead of the machine's processes."""
    monkeypatch.setattr(
        _dask,
        "LOCAL_CLUSTER_OPTIONS",
        {"processes": False, "n_workers": 2, "threads_per_worker": 1},
    )


def _shards(tmp_path, name, X, cuts):
    d = tmp_path / name
    d.mkdir()
    for k, (s, e) in enumerate(itertools.pairwise(cuts)):
        np.save(d / f"part{k:02d}.npy", X[s:e])
    return d


def _report(path):
    return json.loads((path / "report.json").read_text())


def test_dask_equals_in_memory_on_npy_shards(tmp_path, paired, paired_files, small_cluster, capsys):
    A, B, _ = paired
    fa, fb, fl = paired_files
    da_, db_ = (
        _shards(tmp_path, "image", A, [0, 40, 41, 150]),
        _shards(tmp_path, "text", B, [0, 75, 150]),
    )
    mem, dsk = tmp_path / "mem", tmp_path / "dsk"
    assert main(["analyze", str(fa), str(fb), "--labels", str(fl), "--out", str(mem), *FAST]) == 0
    rc = main(
        ["analyze", str(da_), str(db_), "--labels", str(fl), "--out", str(dsk), "--dask", *FAST]
    )
    assert rc == 0, capsys.readouterr().err
    ref, got = _report(mem), _report(dsk)
    for name in ("image", "text"):
        for key in PERSISTENCE_KEYS:
            assert got["sets"][name]["persistence"][key] == ref["sets"][name]["persistence"][key]
        assert got["sets"][name]["persistence"]["computed_on"] == "all 150 rows, on Dask"
        assert got["sets"][name]["persistence"]["mst_method"] == "dask-boruvka"
    pr, pg = ref["pairs"][0], got["pairs"][0]
    assert pg["shared_space"]["kind"] == "cca"  # 12 vs 7 dims: fitted, then applied on Dask
    for key in FIBER_KEYS:
        assert pg["fiber_product"][key] == pr["fiber_product"][key], key
    assert pg["fiber_product"]["method"] == "dask-blocked"
    assert pg["persistence"] == pr["persistence"]
    assert pg["retrieval"] == pr["retrieval"]  # the subsample measures: the same rows here
    dist = got["meta"]["distributed"]
    assert dist["scheduler"].startswith("local Dask cluster: 2 workers")
    assert dist["on_dask"]["n_points"] == 150 and dist["on_subsample"]["n_points"] == 150
    assert "distributed" not in ref["meta"]
    assert (dsk / "report.html").read_text().count("On Dask (local Dask cluster") == 1


def test_dask_subsample_and_full_rows(tmp_path, paired, small_cluster, capsys):
    A, B, _ = paired
    da_, db_ = _shards(tmp_path, "a", A, [0, 100, 150]), _shards(tmp_path, "b", B[:, :7], [0, 150])
    out = tmp_path / "r"
    rc = main(
        [
            "analyze",
            str(da_),
            str(db_),
            "--out",
            str(out),
            "--dask",
            "--max-points",
            "60",
            "--preprocess",
            "standardize",
            *FAST,
        ]
    )
    assert rc == 0, capsys.readouterr().err
    got = _report(out)
    assert got["inputs"]["n_rows_analysed"]["value"] == 60
    assert got["sets"]["a"]["persistence"]["n_points"]["value"] == 150
    assert got["sets"]["a"]["persistence"]["n_finite_pairs"]["value"] == 149
    assert len(got["pairs"][0]["fiber_product"]["profile_recall"]["values"]) >= 50
    dist = got["meta"]["distributed"]
    assert dist["on_dask"]["n_points"] == 150 and dist["on_subsample"]["n_points"] == 60
    assert dist["preprocessing"].startswith("column means and standard deviations of all rows")
    # the same rows as an in-memory run draws: its subsample measures agree
    mem = tmp_path / "m"
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B[:, :7])
    assert (
        main(
            [
                "analyze",
                str(tmp_path / "a.npy"),
                str(tmp_path / "b.npy"),
                "--out",
                str(mem),
                "--max-points",
                "60",
                *FAST,
            ]
        )
        == 0
    )
    assert _report(mem)["inputs"]["subsample"]["indices"] == got["inputs"]["subsample"]["indices"]


def test_analyze_api_deaths_bit_for_bit(paired):
    from distributed import Client, LocalCluster

    A, B, _ = paired
    cfg = AnalysisConfig(k=5, dense_max_points=80)
    ref = analyze({"a": A, "b": B}, config=cfg)
    with (
        LocalCluster(
            processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        got = analyze(
            {"a": [A[:70], A[70:]], "b": B},
            config=cfg,
            dask=DaskOptions(client=client, block_rows=32),
        )
    for name in ("a", "b"):
        r, g = ref.arrays["sets"][name], got.arrays["sets"][name]
        assert g["deaths"].tobytes() == r["deaths"].tobytes()
        assert g["diagram"].tobytes() == r["diagram"].tobytes()
    rf, gf = (
        ref.arrays["pairs"]["a | b"]["fiber_product"],
        got.arrays["pairs"]["a | b"]["fiber_product"],
    )
    assert np.array_equal(gf["eps"], rf["eps"]) and np.array_equal(gf["recall"], rf["recall"])
    assert gf["eps_star"] == rf["eps_star"] > 0
    with pytest.raises(TypeError, match="dask must be a DaskOptions"):
        analyze({"a": A, "b": B}, config=cfg, dask="tcp://x")
    with pytest.raises(ValueError, match="set 'b': has 100 rows but set 'a' has 150"):
        analyze({"a": A, "b": B[:100]}, config=cfg, dask=DaskOptions())


def test_unreachable_scheduler_exits_2_quickly(tmp_path, paired_files, capsys):
    fa, fb, _ = paired_files
    out = tmp_path / "r"
    t = time.perf_counter()
    rc = main(
        [
            "analyze",
            str(fa),
            str(fb),
            "--out",
            str(out),
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--scheduler-timeout",
            "2",
            *FAST,
        ]
    )
    assert rc == 2
    assert time.perf_counter() - t < 20
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(
        "sheaftopo analyze: error: --scheduler tcp://127.0.0.1:1: could not "
        "reach a Dask scheduler at 'tcp://127.0.0.1:1' within 2 s"
    )
    assert "dask scheduler" in err and not out.exists()


def test_dask_flag_errors(tmp_path, paired, paired_files, capsys):
    A = paired[0]
    fa, fb, _ = paired_files
    shards = _shards(tmp_path, "a", A, [0, 150])
    assert main(["analyze", str(shards), str(fb), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "is a directory; shard directories and zarr stores are read with --dask" in (
        capsys.readouterr().err
    )
    bad = _shards(tmp_path, "bad", A[:, :3], [0, 150])
    np.save(bad / "z.npy", A[:10, :4])
    assert main(["analyze", str(bad), str(fb), "--dask", "--out", str(tmp_path / "r"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "shards must all have the same number of features" in err and "'z.npy' has 4" in err
    assert (
        main(["analyze", str(fa), str(fb), "--scheduler-timeout", "0", "--scheduler", "x", *FAST])
        == 2
    )
    assert "--scheduler-timeout must be > 0" in capsys.readouterr().err
    assert main(["analyze", str(fa), str(fb), "--dask", "--scheduler", "tcp://h:1"]) == 2
    err = capsys.readouterr().err
    assert "not allowed with argument" in err and len(err.strip().splitlines()) == 1


def test_block_rows_and_memory_budget_flags(tmp_path, paired_files, small_cluster, capsys):
    fa, fb, _ = paired_files
    mem, dsk = tmp_path / "mem", tmp_path / "dsk"
    assert main(["analyze", str(fa), str(fb), "--out", str(mem), *FAST]) == 0
    rc = main(
        [
            "analyze",
            str(fa),
            str(fb),
            "--out",
            str(dsk),
            "--dask",
            "--block-rows",
            "32",
            "--memory-budget",
            "64MiB",
            *FAST,
        ]
    )
    assert rc == 0, capsys.readouterr().err
    ref, got = _report(mem), _report(dsk)
    for key in PERSISTENCE_KEYS:
        assert got["sets"]["image"]["persistence"][key] == ref["sets"]["image"]["persistence"][key]
    dist = got["meta"]["distributed"]
    assert dist["block_rows"] == 32 and dist["memory_budget"] == 64 * 2**20


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--block-rows", "32"], "--block-rows sets the size of Dask tasks; use it with --dask"),
        (["--memory-budget", "1GB"], "--memory-budget sets the size of Dask tasks"),
        (["--dask", "--block-rows", "0"], "--block-rows must be >= 1; got 0"),
        (
            ["--dask", "--memory-budget", "12XB"],
            "argument --memory-budget: expected a size such as 256MiB, 2GB or 1000000; got '12XB'",
        ),
        (
            ["--dask", "--memory-budget", "100"],
            "argument --memory-budget: must be at least 1KiB; got '100' (100 bytes)",
        ),
    ],
)
def test_block_size_flag_errors(tmp_path, paired_files, flags, message, capsys):
    fa, fb, _ = paired_files
    rc = main(["analyze", str(fa), str(fb), "--out", str(tmp_path / "r"), *flags, *FAST])
    assert rc == 2  # argparse's own type errors too: main returns the status
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
