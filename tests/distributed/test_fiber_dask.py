"""Distributed ε-products and ε-profiles on Dask equal the in-memory ones exactly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from sheaftopo.distributed import (  # noqa: E402
    DaskOptions,
    FiberProductFiles,
    fiber_product_dask,
    fiber_profile_dask,
    write_fiber_product_dask,
)
from sheaftopo.fiber import approximate_fiber_product, fiber_profile  # noqa: E402


def _random(seed=0, n=150, m=130, d=6):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, d))
    G = F[rng.integers(0, n, m)] + 0.3 * rng.standard_normal((m, d))
    return F, G


def _duplicates(seed=1, n=120, m=110, d=3):
    rng = np.random.default_rng(seed)
    F = rng.integers(-2, 3, (n, d)).astype(np.float64)  # many exact duplicates and ties
    G = rng.integers(-2, 3, (m, d)).astype(np.float64)
    G[G == 0] = 1.0  # no zero rows, for the cosine metric
    F[F == 0] = -1.0
    return F, G


def _same_product(got, ref):
    assert got.shape == ref.shape and got.eps == ref.eps and got.metric == ref.metric
    assert got.rows.dtype == np.int64 and got.cols.dtype == np.int64
    assert np.array_equal(got.rows, ref.rows)
    assert np.array_equal(got.cols, ref.cols)
    assert got.distances.tobytes() == ref.distances.tobytes()
    assert got.method == "dask-blocked"


def _same_profile(got, ref):
    assert np.array_equal(got.eps, ref.eps)
    assert np.array_equal(got.counts, ref.counts) and got.counts.dtype == np.int64
    assert got.n_total == ref.n_total and got.fraction == ref.fraction
    assert got.metric == ref.metric and got.epsilon_star == ref.epsilon_star
    if ref.recall is None:
        assert got.recall is None and got.true_distances is None
    else:
        assert np.array_equal(got.recall, ref.recall)
        assert got.true_distances.tobytes() == ref.true_distances.tobytes()


@pytest.mark.parametrize("make", [_random, _duplicates])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("block_rows", [1, 17, 64, 1000])
def test_product_equals_in_memory(make, metric, block_rows):
    F, G = make()
    eps = 1.2 if metric == "euclidean" else 0.1
    if make is _duplicates and metric == "euclidean":
        eps = 1.0  # exactly the distance of many pairs: ties on the boundary
    if block_rows == 1:
        F, G = F[:25], G[:20]
    ref = approximate_fiber_product(F, G, eps, metric=metric)
    got = fiber_product_dask(F, G, eps, metric=metric, options=DaskOptions(block_rows=block_rows))
    assert ref.n_pairs > 0 and ref.n_pairs < len(F) * len(G)
    _same_product(got, ref)


@pytest.mark.parametrize("block_rows", [7, 50])
def test_product_eps_zero_and_dask_input(block_rows):
    F, G = _duplicates()
    for eps in (0.0, 1.5):
        ref = approximate_fiber_product(F, G, eps)
        Fd = da.from_array(F.astype(np.float32), chunks=(23, 3))  # float32, own chunks
        got = fiber_product_dask(Fd, da.from_array(G, chunks=(40, 3)), eps)
        _same_product(got, ref)
        _same_product(fiber_product_dask(F, G, eps,
                                         options=DaskOptions(block_rows=block_rows)), ref)


def test_product_from_npy_shards(tmp_path):
    F, G = _random(3)
    fdir = tmp_path / "F"
    fdir.mkdir()
    for k, s in enumerate(range(0, len(F), 40)):
        np.save(fdir / f"shard{k:02d}.npy", F[s : s + 40])
    ref = approximate_fiber_product(F, G, 0.6)
    _same_product(fiber_product_dask(str(fdir), G, 0.6, options=DaskOptions(block_rows=32)), ref)
    _same_profile(
        fiber_profile_dask(fdir, G, [0.1, 0.6]), fiber_profile(F, G, [0.1, 0.6])
    )


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("block_rows", [13, 60, 1000])
def test_parquet_round_trip(tmp_path, metric, block_rows):
    F, G = _random(4)
    eps = 0.6 if metric == "euclidean" else 0.05
    ref = approximate_fiber_product(F, G, eps, metric=metric)
    out = tmp_path / "pairs"
    files = write_fiber_product_dask(F, G, eps, out, metric=metric,
                                     options=DaskOptions(block_rows=block_rows))
    assert isinstance(files, FiberProductFiles)
    nb = -(-len(F) // block_rows) * -(-len(G) // block_rows)
    assert files.n_files == nb == len(list(out.glob("*.parquet")))
    assert files.n_pairs == ref.n_pairs > 0
    assert files.shape == ref.shape and files.metric == metric and files.path == str(out)
    df = pd.read_parquet(out)
    assert list(df.columns) == ["row", "col", "distance"]
    assert [str(t) for t in df.dtypes] == ["int64", "int64", "float64"]
    df = df.sort_values(["row", "col"], kind="stable")
    assert np.array_equal(df["row"].to_numpy(), ref.rows)
    assert np.array_equal(df["col"].to_numpy(), ref.cols)
    assert df["distance"].to_numpy().tobytes() == ref.distances.tobytes()
    with pytest.raises(FileExistsError, match="already holds parquet"):
        write_fiber_product_dask(F, G, eps, out, metric=metric)


@pytest.mark.parametrize("make", [_random, _duplicates])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("block_rows", [9, 64, 1000])
def test_profile_equals_in_memory(make, metric, block_rows):
    F, G = make()
    grid = [0.0, 0.05, 0.3, 1.0, 1.0, 2.0] if metric == "euclidean" else [0.0, 0.01, 0.1, 0.5]
    rng = np.random.default_rng(7)
    tp = np.stack([rng.permutation(len(F))[:40], rng.permutation(len(G))[:40]], axis=1)
    for true_pairs, fraction in ((None, 1.0), (tp, 1.0), (tp, 0.75)):
        ref = fiber_profile(F, G, grid, true_pairs=true_pairs, fraction=fraction, metric=metric)
        got = fiber_profile_dask(F, G, grid, true_pairs=true_pairs, fraction=fraction,
                                 metric=metric, options=DaskOptions(block_rows=block_rows))
        _same_profile(got, ref)
        assert got.method == "dask-blocked"


def test_profile_diagonal():
    F, _ = _random(5)
    G = F + 0.1 * np.random.default_rng(5).standard_normal(F.shape)
    grid = np.linspace(0, 1, 11)
    ref = fiber_profile(F, G, grid, true_pairs="diagonal", fraction=0.9)
    _same_profile(fiber_profile_dask(F, G, grid, true_pairs="diagonal", fraction=0.9,
                                     options=DaskOptions(block_rows=33)), ref)


def test_threaded_scheduler_and_local_cluster(tmp_path):
    import dask
    from distributed import Client, LocalCluster

    F, G = _random(6)
    ref = approximate_fiber_product(F, G, 0.5)
    prof = fiber_profile(F, G, [0.2, 0.5], true_pairs=[[0, 1], [5, 7]])
    with dask.config.set(scheduler="threads"):
        _same_product(fiber_product_dask(F, G, 0.5, options=DaskOptions(block_rows=40)), ref)
    with LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        _same_product(fiber_product_dask(F, G, 0.5,
                                         options=DaskOptions(client=client, block_rows=40)), ref)
        got = fiber_profile_dask(F, G, [0.2, 0.5], true_pairs=[[0, 1], [5, 7]],
                                 options=DaskOptions(client=client, block_rows=40))
        _same_profile(got, prof)
        files = write_fiber_product_dask(F, G, 0.5, tmp_path / "p",
                                         options=DaskOptions(client=client, block_rows=70))
        assert files.n_pairs == ref.n_pairs


def test_bad_input(tmp_path):
    F, G = _random(8)
    with pytest.raises(ValueError, match="same number of columns"):
        fiber_product_dask(F, G[:, :3], 0.5)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fiber_product_dask(F, G, -0.1)
    with pytest.raises(ValueError, match="eps must be a finite"):
        fiber_product_dask(F, G, float("nan"))
    bad = G.copy()
    bad[77, 2] = np.nan
    with pytest.raises(ValueError, match=r"G must not contain NaN.*\(77, 2\)"):
        fiber_product_dask(F, bad, 0.5, options=DaskOptions(block_rows=20))
    with pytest.raises(ValueError, match=r"G must not contain NaN.*\(77, 2\)"):
        fiber_profile_dask(F, da.from_array(bad, chunks=(30, 6)), [0.5])
    with pytest.raises(ValueError, match="block_rows"):
        fiber_product_dask(F, G, 0.5, options=DaskOptions(block_rows=0))
    with pytest.raises(TypeError, match="block_rows"):
        fiber_profile_dask(F, G, [0.5], options=DaskOptions(block_rows=2.5))
    with pytest.raises(ValueError, match="metric"):
        fiber_product_dask(F, G, 0.5, metric="manhattan")
    with pytest.raises(ValueError, match="G must be a 2-D"):
        fiber_product_dask(F, G[0], 0.5)
    with pytest.raises(ValueError, match="eps_grid must be non-decreasing"):
        fiber_profile_dask(F, G, [0.5, 0.1])
    with pytest.raises(ValueError, match="true_pairs"):
        fiber_profile_dask(F, G, [0.5], true_pairs=[[0, 500]])
    zero = F.copy()
    zero[60] = 0.0
    with pytest.raises(ValueError, match=r"F\[60\] is zero"):
        fiber_product_dask(zero, G, 0.1, metric="cosine", options=DaskOptions(block_rows=25))
    with pytest.raises(TypeError, match="client must be"):
        fiber_product_dask(F, G, 0.5, options=DaskOptions(client=3))
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        write_fiber_product_dask(F, G, 0.5, tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="F: no such file or directory"):
        fiber_product_dask(tmp_path / "missing", G, 0.5)
    with pytest.raises(ValueError, match=r"block_rows=500 needs about \d+ bytes.*memory_budget"):
        fiber_product_dask(F, G, 0.5, options=DaskOptions(block_rows=500, memory_budget=2**20))
    with pytest.raises(ValueError, match="memory_budget=2048 bytes is too small"):
        fiber_profile_dask(F, G, [0.5], options=DaskOptions(memory_budget=2048))
    with pytest.raises(TypeError, match="memory_budget"):
        fiber_profile_dask(F, G, [0.5], options=DaskOptions(memory_budget=1e9))
    with pytest.raises(ValueError, match="timeout"):
        fiber_profile_dask(F, G, [0.5], options=DaskOptions(timeout=0))


@pytest.mark.parametrize("call", ["product", "write", "profile"])
def test_unreachable_scheduler_address(tmp_path, call):
    import time

    F, G = _random(9, n=20, m=20)
    t = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:1.*within 2 s"):
        if call == "product":
            fiber_product_dask(F, G, 0.5,
                               options=DaskOptions(client="tcp://127.0.0.1:1", timeout=2))
        elif call == "write":
            write_fiber_product_dask(F, G, 0.5, tmp_path / "p",
                                     options=DaskOptions(client="tcp://127.0.0.1:1", timeout=2))
        else:
            fiber_profile_dask(F, G, [0.5],
                               options=DaskOptions(client="tcp://127.0.0.1:1", timeout=2))
    assert time.perf_counter() - t < 15
    assert not (tmp_path / "p").exists()  # nothing written before the scheduler answers


def test_memory_budget_sets_the_blocks_and_task_bytes():
    from sheaftopo.distributed._join import task_bytes

    F, G = _random(10)
    d = F.shape[1]
    # the product's estimate holds the worst case of listed pairs, the profile's does not
    assert task_bytes(100, d, pairs=True) - task_bytes(100, d) == 48 * 100 * 100
    assert task_bytes(200, d) - task_bytes(100, d) == 2 * 32 * 100 * d
    budget = task_bytes(40, d, pairs=True)
    ref = approximate_fiber_product(F, G, 0.8)
    got = fiber_product_dask(F, G, 0.8, options=DaskOptions(memory_budget=budget))
    _same_product(got, ref)
    prof = fiber_profile(F, G, [0.1, 0.8], true_pairs="diagonal" if len(F) == len(G) else None)
    _same_profile(fiber_profile_dask(F, G, [0.1, 0.8],
                                     options=DaskOptions(memory_budget=task_bytes(33, d))), prof)


def test_memory_budget_block_count(tmp_path):
    from sheaftopo.distributed._join import task_bytes

    F, G = _random(11, n=100, m=90)
    d = F.shape[1]
    files = write_fiber_product_dask(F, G, 0.5, tmp_path / "p",
        options=DaskOptions(memory_budget=task_bytes(40, d, pairs=True)))
    assert files.n_files == 3 * 3  # blocks of 40 rows: 40 + 40 + 20 and 40 + 40 + 10


def test_progress_bar_on_stderr(capsys):
    F, G = _random(12, n=40, m=30)
    fiber_profile_dask(F, G, [0.5], options=DaskOptions(block_rows=20, progress=True))
    err = capsys.readouterr().err
    assert "fiber_profile_dask: 4 tasks on 2 x 2 row blocks" in err
    assert "checking 4 row blocks" in err
    assert err.count("100% Completed") == 2  # the check pass and the join


def test_import_does_not_import_dask():
    code = (
        "import sys, sheaftopo.distributed as m; "
        "assert m.fiber_product_dask and 'dask' not in sys.modules and "
        "'pyarrow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----------------------------------------------------------------------
# regressions (issue 14)
# ----------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e200, 1e300])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_regression_extreme_magnitudes_equal_in_memory(scale, metric, tmp_path):
    # issue 14: entries beyond 1e150 were refused, tiny ones overflowed the screening
    F, G = _random(3, n=40, m=35, d=3)
    F, G = F * scale, G * scale
    eps = 1.0 if metric == "cosine" else 2.0 * scale
    ref = approximate_fiber_product(F, G, eps, metric=metric)
    assert ref.n_pairs > 0
    _same_product(fiber_product_dask(F, G, eps, metric=metric,
                                     options=DaskOptions(block_rows=16)), ref)
    files = write_fiber_product_dask(F, G, eps, tmp_path / "p", metric=metric,
                                     options=DaskOptions(block_rows=16))
    assert files.n_pairs == ref.n_pairs
    grid = [0.0, eps / 2, eps, 1e308]
    pgot = fiber_profile_dask(F, G, grid, metric=metric, options=DaskOptions(block_rows=16))
    assert pgot.counts[-1] == 40 * 35
    _same_profile(pgot, fiber_profile(F, G, grid, metric=metric))
    Fd = F[:35]
    _same_profile(
        fiber_profile_dask(Fd, G, grid, true_pairs="diagonal", metric=metric,
                           options=DaskOptions(block_rows=16)),
        fiber_profile(Fd, G, grid, true_pairs="diagonal", metric=metric),
    )


def test_regression_tiny_inputs_huge_eps_and_cosine_duplicates():
    # issue 14: OverflowError for [[1e-300, 0]] x [[2e-300, 0]] at eps 1e-10, and eps 1e300
    prod = fiber_product_dask([[1e-300, 0.0]], [[2e-300, 0.0]], 1e-10)
    assert prod.n_pairs == 1 and prod.distances[0] == 1e-300
    F, G = _random(4, n=30, m=20, d=4)
    assert fiber_product_dask(F, G, 1e300, options=DaskOptions(block_rows=7)).n_pairs == 600
    assert fiber_profile_dask(F, G, [1.0, 1.7e308],
                              options=DaskOptions(block_rows=7)).counts[-1] == 600
    # issue 14: cosine self-distance 1 - sum u^2 ~ 1e-16 missed duplicates at eps = 0
    prod = fiber_product_dask(F, F, 0.0, metric="cosine", options=DaskOptions(block_rows=7))
    pairs = set(zip(prod.rows.tolist(), prod.cols.tolist(), strict=True))
    assert {(i, i) for i in range(30)} <= pairs
    prof = fiber_profile_dask(F, F, [0.0], metric="cosine", true_pairs="diagonal",
                              options=DaskOptions(block_rows=7))
    assert prof.recall[0] == 1.0 and prof.epsilon_star == 0.0


def test_regression_true_pairs_beyond_the_float64_range_are_refused():
    F = np.array([[1.5e308, 0.0], [0.0, 1.0], [2.0, 2.0]])
    G = np.array([[-1.5e308, 0.0], [0.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match=r"true_pairs\[0\] = \(0, 0\).*largest float64"):
        fiber_profile_dask(F, G, [1.0], true_pairs="diagonal", options=DaskOptions(block_rows=2))
    prof = fiber_profile_dask(F, G, [0.0, 1e308], true_pairs=[[1, 1], [2, 2]],
                              options=DaskOptions(block_rows=2))
    assert prof.counts.tolist() == [2, 4] and prof.epsilon_star == 0.0  # 1.5e308 > 1e308
