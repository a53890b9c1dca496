"""Exact distributed MST / H0 on Dask equals the in-memory code bit for bit, away from near-ties."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from sheaftopo.distributed import DaskOptions, h0_diagram_dask, mst_dask  # noqa: E402
from sheaftopo.persistence import h0_diagram, mst  # noqa: E402


def _random(n, d=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def _clustered(n, d=5, seed=1):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, d)) * 50 + 1e3  # offset, well-separated blobs
    return centres[rng.integers(0, 6, n)] + 1e-3 * rng.standard_normal((n, d))


def _duplicates(n, d=3, seed=2):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, (n, d)).astype(np.float64)  # many exact duplicates and ties


def _same(forest, X):
    ref = h0_diagram(X)
    assert np.array_equal(forest.diagram, ref)
    assert forest.diagram.tobytes() == ref.tobytes()
    assert forest.n_components == 1 and forest.method == "dask-boruvka"
    assert np.all(forest.labels == 0)


@pytest.mark.parametrize("make", [_random, _clustered, _duplicates])
@pytest.mark.parametrize("block_rows", [37, 256, 5000])
def test_deaths_bit_for_bit(make, block_rows):
    X = make(700)
    _same(mst_dask(X, options=DaskOptions(block_rows=block_rows)), X)


def test_large_and_boruvka_oracle():
    X = _clustered(3000, d=16)
    forest = mst_dask(X, options=DaskOptions(block_rows=1024))
    _same(forest, X)
    assert forest.diagram.tobytes() == mst(X, method="boruvka").diagram.tobytes()


@pytest.mark.parametrize("block_rows", [50, 333])
def test_edges_equal_when_distances_distinct(block_rows):
    X = _random(1000, d=6, seed=5)
    ref = mst(X)
    assert len(np.unique(ref.weights)) == len(ref.weights)
    forest = mst_dask(X, options=DaskOptions(block_rows=block_rows))
    assert np.array_equal(forest.edges, ref.edges)
    assert forest.weights.tobytes() == ref.weights.tobytes()


def test_duplicates_across_blocks_and_all_identical():
    X = np.repeat(_random(20, d=4, seed=3), 15, axis=0)[np.random.default_rng(4).permutation(300)]
    _same(mst_dask(X, options=DaskOptions(block_rows=23)), X)
    Z = np.ones((60, 3))
    forest = mst_dask(Z, options=DaskOptions(block_rows=7))
    assert np.array_equal(forest.weights, np.zeros(59))
    assert np.array_equal(forest.edges, mst(Z).edges)


def test_float32_and_integer_input():
    X = _clustered(500).astype(np.float32)
    _same(mst_dask(X, options=DaskOptions(block_rows=64)), X)
    Y = np.random.default_rng(6).integers(-5, 5, (400, 3))
    _same(mst_dask(Y, options=DaskOptions(block_rows=100)), Y)


def test_dask_array_input_uneven_and_column_chunks():
    X = _random(600, d=10, seed=7)
    arr = da.from_array(X, chunks=((100, 250, 7, 243), (4, 6)))
    _same(mst_dask(arr), X)  # keeps its row chunks
    _same(mst_dask(arr, options=DaskOptions(block_rows=128)), X)
    _same(mst_dask(arr, options=DaskOptions(memory_budget=2_000_000)), X)
    assert np.array_equal(h0_diagram_dask(arr), h0_diagram(X))


def test_npy_shard_directory(tmp_path):
    X = _clustered(900, d=4)
    for k, (a, b) in enumerate([(0, 250), (250, 251), (251, 900)]):
        np.save(tmp_path / f"part-{k:03d}.npy", X[a:b])
    np.save(tmp_path / "part-999.npy", np.zeros((0, 4)))
    _same(mst_dask(tmp_path, options=DaskOptions(block_rows=200)), X)
    _same(mst_dask(str(tmp_path)), X)


@pytest.mark.parametrize("k", [1, 2, 5, 16, 2000])
@pytest.mark.parametrize("make", [_random, _clustered, _duplicates])
def test_any_number_of_neighbours_gives_the_same_tree(make, k):
    X = make(600)
    _same(mst_dask(X, n_neighbors=k, options=DaskOptions(block_rows=90)), X)


def _passes(monkeypatch):
    """Record the passes mst_dask runs: ("sweep" | "query", points)."""
    import sheaftopo.distributed._mst as m

    seen = []
    sweep, query = m._Run.sweep, m._Run.query

    def rec_sweep(self, labels):
        seen.append(("sweep", len(labels)))
        return sweep(self, labels)

    def rec_query(self, points, labels):
        seen.append(("query", len(points)))
        return query(self, points, labels)

    monkeypatch.setattr(m._Run, "sweep", rec_sweep)
    monkeypatch.setattr(m._Run, "query", rec_query)
    return seen


def test_query_pass_and_second_sweep_are_exercised(monkeypatch):
    # well-separated blobs: after the first pass every blob is closed under its points'
    # neighbour lists, so a second sweep must find the edges between blobs
    seen = _passes(monkeypatch)
    X = _clustered(1500, d=4)
    _same(mst_dask(X, n_neighbors=3, options=DaskOptions(block_rows=200)), X)
    assert [s for s, _ in seen].count("sweep") >= 2
    # one blob among uniform noise: a few points of the blob's rim need a targeted query
    seen.clear()
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.uniform(0, 10, (1200, 2)), 0.01 * rng.standard_normal((60, 2)) + 5])
    _same(mst_dask(X, n_neighbors=4, options=DaskOptions(block_rows=128)), X)
    assert seen[0][0] == "sweep"
    assert any(s == "query" and 0 < p < len(X) for s, p in seen), seen


def test_progress_notes(capsys):
    X = _clustered(300)
    mst_dask(X, options=DaskOptions(block_rows=100, progress=True))
    err = capsys.readouterr().err
    assert "mst_dask: all points, k=16, 6 block pairs" in err
    assert "mst_dask: done" in err


def test_single_point():
    forest = mst_dask(np.array([[1.0, 2.0]]))
    assert forest.edges.shape == (0, 2)
    assert np.array_equal(forest.diagram, np.array([[0.0, np.inf]]))


def test_distributed_client():
    distributed = pytest.importorskip("distributed")
    X = _duplicates(500)
    with distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        forest = mst_dask(X, options=DaskOptions(client=client, block_rows=128))
        dgm = h0_diagram_dask(da.from_array(X, chunks=(97, 3)), options=DaskOptions(client=client))
    _same(forest, X)
    assert dgm.tobytes() == h0_diagram(X).tobytes()


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


def test_wrong_ndim_and_empty():
    with pytest.raises(ValueError, match="X must be a 2-D"):
        mst_dask(np.zeros(5))
    with pytest.raises(ValueError, match="X must be a 2-D"):
        mst_dask(da.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="at least one point"):
        mst_dask(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="at least one feature"):
        mst_dask(da.zeros((4, 0)))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        mst_dask(np.array([["a", "b"]]))


def test_nan_found_blockwise():
    X = _random(300, d=3)
    X[211, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf; found nan at index \(211, 2\)"):
        mst_dask(da.from_array(X, chunks=(50, 3)))
    X[211, 2] = np.inf
    with pytest.raises(ValueError, match=r"X must not contain NaN or inf"):
        mst_dask(X, options=DaskOptions(block_rows=64))


def test_bad_block_rows_and_budget():
    X = _random(50, d=3)
    with pytest.raises(ValueError, match="block_rows must be >= 1"):
        mst_dask(X, options=DaskOptions(block_rows=0))
    with pytest.raises(TypeError, match="block_rows must be an integer"):
        mst_dask(X, options=DaskOptions(block_rows=2.5))
    with pytest.raises(TypeError, match="block_rows must be an integer"):
        mst_dask(X, options=DaskOptions(block_rows=True))
    with pytest.raises(ValueError, match="more than memory_budget"):
        mst_dask(X, options=DaskOptions(block_rows=4096, memory_budget=10_000))
    with pytest.raises(ValueError, match="memory_budget=1024 bytes is too small"):
        mst_dask(np.zeros((5, 100)), options=DaskOptions(memory_budget=1024))
    with pytest.raises(TypeError, match="client must be"):
        mst_dask(X, options=DaskOptions(client=42))
    with pytest.raises(ValueError, match="n_neighbors must be"):
        mst_dask(X, n_neighbors=0)
    with pytest.raises(TypeError, match="n_neighbors must be an integer"):
        mst_dask(X, n_neighbors=2.5)
    with pytest.raises(ValueError, match="timeout"):
        mst_dask(X, options=DaskOptions(timeout=0))


def test_bad_shards(tmp_path):
    with pytest.raises(FileNotFoundError, match="X: no such file or directory"):
        mst_dask(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"holds no \.npy"):
        mst_dask(tmp_path)
    np.save(tmp_path / "a.npy", np.zeros((3, 4)))
    with pytest.raises(ValueError, match="is a file"):
        mst_dask(tmp_path / "a.npy")
    np.save(tmp_path / "b.npy", np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"'a\.npy' has 4 but 'b\.npy' has 5"):
        mst_dask(tmp_path)
    (tmp_path / "b.npy").unlink()
    bad = np.zeros((3, 4))
    bad[1, 1] = np.nan
    np.save(tmp_path / "b.npy", bad)
    with pytest.raises(ValueError, match=r"found nan at index \(4, 1\)"):
        mst_dask(tmp_path, options=DaskOptions(block_rows=2))


def test_import_does_not_import_dask():
    code = "import sys, sheaftopo.distributed; assert 'dask' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"sheaftopo\[dask\]"):
        h0_diagram_dask(np.zeros((2, 2)))


# --------------------------------------------------------------------------
# regressions (issue 14): magnitudes, read-only blocks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [-1000, -560, 520, 1000])
def test_regression_extreme_magnitudes_bit_for_bit(k):
    """X * 1e300 leaked 'please report this'; tiny coordinates gave zero deaths."""
    X = _clustered(300)
    Y = np.ldexp(X, k)
    forest = mst_dask(Y, options=DaskOptions(block_rows=64))
    _same(forest, Y)
    assert forest.diagram.tobytes() == np.ldexp(h0_diagram(X), k).tobytes()


@pytest.mark.parametrize("s", [1e300, 1e160, 1e-170, 1e-300])
def test_regression_decimal_magnitudes(s):
    X = _random(200, d=3)
    _same(mst_dask(X * s, options=DaskOptions(block_rows=50)), X * s)
    np.testing.assert_allclose(
        h0_diagram_dask(X * s,
            options=DaskOptions(block_rows=50))[:-1, 1] / s, h0_diagram(X)[:-1, 1], rtol=1e-13
    )


def test_regression_distances_beyond_float64_are_refused():
    with pytest.raises(ValueError, match="X: distances between its points exceed"):
        mst_dask(np.array([[1.5e308], [-1.5e308]]), options=DaskOptions(block_rows=1))


def test_regression_read_only_blocks_compile_nothing_new():
    import numba

    from sheaftopo._core import mst_kernels as mk
    from sheaftopo.distributed import _kernels as dk

    X = _random(200, d=3)
    mst_dask(X, options=DaskOptions(block_rows=50))
    kernels = [dk.candidates, dk._scan, mk.euclidean_edge_lengths, mk.uf_merge, mk.uf_labels]
    assert all(isinstance(f, numba.core.registry.CPUDispatcher) for f in kernels)
    before = [len(f.signatures) for f in kernels]
    ro = X.copy()
    ro.flags.writeable = False
    mst_dask(da.from_array(ro, chunks=(50, 3)))  # read-only chunks reach the tasks
    mst_dask(da.from_array(np.asfortranarray(X), chunks=(64, 3)))
    mst_dask(ro[::1], options=DaskOptions(block_rows=40))
    assert [len(f.signatures) for f in kernels] == before


def test_regression_all_zero_blocks_do_not_set_the_scale():
    """A block of zeros reported scale 1, so tiny coordinates elsewhere underflowed."""
    X = np.array([[2e-300], [1e-300], [0.0]])
    for rows in (1, 2, 3):
        _same(mst_dask(X, options=DaskOptions(block_rows=rows)), X)
    np.testing.assert_array_equal(mst_dask(np.zeros((4, 2)),
                                           options=DaskOptions(block_rows=1)).weights, np.zeros(3))
