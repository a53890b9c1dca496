"""The lazy inputs of sheaftopo.distributed: zarr, parquet shards, lists of chunks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
zarr = pytest.importorskip("zarr")

from sheaftopo._core.dask import mst_task_bytes as task_bytes  # noqa: E402
from sheaftopo._core.dask import prepare  # noqa: E402
from sheaftopo.distributed import DaskOptions, fiber_profile_dask, h0_diagram_dask  # noqa: E402
from sheaftopo.fiber import fiber_profile  # noqa: E402
from sheaftopo.persistence import h0_diagram  # noqa: E402

GRID = [0.0, 0.5, 1.0, 2.0]


def _points(n=230, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d))


def _same_results(X, source, block_rows=40):
    """H0 and a fiber profile of the lazy ``source`` equal the in-memory ones of X."""
    ref = h0_diagram(X)
    got = h0_diagram_dask(source, options=DaskOptions(block_rows=block_rows))
    assert got.tobytes() == ref.tobytes()
    G = X[::-1] + 0.1
    prof = fiber_profile(X, G, GRID, true_pairs="diagonal", fraction=0.9)
    dprof = fiber_profile_dask(source, G, GRID, true_pairs="diagonal", fraction=0.9,
                               options=DaskOptions(block_rows=block_rows))
    assert np.array_equal(dprof.counts, prof.counts) and prof.counts[-1] > 0
    assert dprof.true_distances.tobytes() == prof.true_distances.tobytes()
    assert dprof.epsilon_star == prof.epsilon_star


def _write_table(path, columns, row_group_size=None):
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)


def _numeric_shards(tmp_path, X, cuts, row_group_size=None):
    out = tmp_path / "numeric"
    out.mkdir()
    for k, (s, e) in enumerate(itertools.pairwise(cuts)):
        cols = {f"f{c}": X[s:e, c] for c in range(X.shape[1])}
        _write_table(out / f"part-{k:02d}.parquet", cols, row_group_size)
    return out


# --------------------------------------------------------------------------
# zarr
# --------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_store_path(tmp_path, zarr_format):
    X = _points()
    path = tmp_path / "x.zarr"
    z = zarr.create_array(store=str(path), shape=X.shape, chunks=(17, 2), dtype="f8",
                          zarr_format=zarr_format)
    z[:] = X
    marker = "zarr.json" if zarr_format == 3 else ".zarray"
    assert (path / marker).is_file()
    _same_results(X, str(path))
    arr = prepare(path, "X", 64, None, task_bytes)
    assert arr.chunks == ((64, 64, 64, 38), (5,))  # rechunked to the block size, one column


def test_zarr_array_object_and_float32():
    X = _points(seed=1).astype(np.float32)
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=X.shape, chunks=(50, 5),
                          dtype="f4")
    z[:] = X
    _same_results(X, z)
    assert prepare(z, "X", 100, None, task_bytes).dtype == np.float32


def test_zarr_bad(tmp_path):
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("emb", shape=(10, 3), dtype="f8")
    with pytest.raises(ValueError, match=r"X: the zarr store .* is a zarr group.*\['emb'\]"):
        h0_diagram_dask(tmp_path / "g.zarr")
    one = zarr.create_array(store=str(tmp_path / "v.zarr"), shape=(10,), dtype="f8")
    one[:] = 1.0
    with pytest.raises(ValueError, match=r"F must be a 2-D array.*shape \(10,\)"):
        fiber_profile_dask(tmp_path / "v.zarr", np.ones((3, 1)), [0.5])
    s = zarr.create_array(store=zarr.storage.MemoryStore(), shape=(4, 2), dtype="c16")
    with pytest.raises(TypeError, match="X must hold real numbers"):
        h0_diagram_dask(s)


# --------------------------------------------------------------------------
# parquet shards
# --------------------------------------------------------------------------


def test_parquet_numeric_columns(tmp_path):
    X = _points(seed=2)
    # shards of uneven sizes; row groups of 30 rows: some blocks span several row groups
    path = _numeric_shards(tmp_path, X, [0, 70, 71, 160, 230], row_group_size=30)
    _same_results(X, path, block_rows=45)
    arr = prepare(path, "X", 45, None, task_bytes)
    assert arr.shape == X.shape and arr.dtype == np.float64 and len(arr.chunks[1]) == 1
    assert np.array_equal(arr.compute(), X)


def test_parquet_row_group_larger_than_a_block(tmp_path):
    X = _points(seed=3)
    path = _numeric_shards(tmp_path, X, [0, 200, 230])  # one row group per file
    arr = prepare(path, "X", 64, None, task_bytes)
    # read per row-group slice of at most a block: 64 + 64 + 64 + 8 + 30, then regular blocks
    assert arr.chunks[0] == (64, 64, 64, 38)
    _same_results(X, path, block_rows=64)


@pytest.mark.parametrize("fixed", [False, True])
def test_parquet_vector_column(tmp_path, fixed):
    X = _points(seed=4).astype(np.float32)
    path = tmp_path / "vec"
    path.mkdir()
    for k, (s, e) in enumerate([(0, 100), (100, 230)]):
        t = pa.list_(pa.float32(), X.shape[1]) if fixed else pa.list_(pa.float32())
        col = pa.array([list(r) for r in X[s:e]], type=t)
        _write_table(path / f"{k}.parquet", {"embedding": col}, row_group_size=40)
    assert prepare(path, "X", 50, None, task_bytes).dtype == np.float32
    _same_results(X, path, block_rows=50)


def test_parquet_mixed_layouts_same_width(tmp_path):
    X = _points(n=60, d=3, seed=5)
    path = tmp_path / "mixed"
    path.mkdir()
    _write_table(path / "a.parquet", {f"c{c}": X[:25, c] for c in range(3)})
    _write_table(path / "b.parquet", {"v": pa.array([list(r) for r in X[25:]])})
    assert np.array_equal(prepare(path, "X", 20, None, task_bytes).compute(), X)


def test_parquet_bad(tmp_path):
    X = _points(n=40, d=3, seed=6)
    wide = tmp_path / "wide"
    wide.mkdir()
    _write_table(wide / "a.parquet", {f"c{c}": X[:, c] for c in range(3)})
    _write_table(wide / "b.parquet", {f"c{c}": X[:, c] for c in range(2)})
    with pytest.raises(ValueError, match=r"X: shards .* 'a.parquet' has 3 but 'b.parquet' has 2"):
        h0_diagram_dask(wide)
    text = tmp_path / "text"
    text.mkdir()
    _write_table(text / "a.parquet", {"c0": X[:, 0], "name": [str(i) for i in range(40)]})
    with pytest.raises(TypeError, match=r"G: column 'name' of the parquet shard 'a.parquet'"):
        fiber_profile_dask(X[:, :1], text, [0.5])
    both = tmp_path / "both"
    both.mkdir()
    _write_table(both / "a.parquet", {"id": np.arange(40), "v": pa.array([list(r) for r in X])})
    with pytest.raises(TypeError, match="list column 'v' next to 1 other column"):
        h0_diagram_dask(both)
    strings = tmp_path / "strings"
    strings.mkdir()
    _write_table(strings / "a.parquet", {"v": pa.array([["a", "b"]] * 3)})
    with pytest.raises(TypeError, match=r"column 'v' of 'a\.parquet' holds lists of string"):
        h0_diagram_dask(strings)
    ragged = tmp_path / "ragged"
    ragged.mkdir()
    rows = [list(r) for r in X]
    rows[33] = rows[33][:2]
    _write_table(ragged / "a.parquet", {"v": pa.array(rows[:20])})
    _write_table(ragged / "b.parquet", {"v": pa.array(rows[20:])})
    with pytest.raises(ValueError, match=r"X: row 33 \(in 'b.parquet'.*length 2; every vector "
                       "must have length 3"):
        h0_diagram_dask(ragged, options=DaskOptions(block_rows=8))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    np.save(mixed / "a.npy", X)
    _write_table(mixed / "b.parquet", {"c0": X[:, 0]})
    with pytest.raises(ValueError, match=r"X: the directory .* both .npy \(1\) and .parquet \(1\)"):
        h0_diagram_dask(mixed)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \.npy or \.parquet shards and is not a zarr store"):
        h0_diagram_dask(empty)
    with pytest.raises(ValueError, match="is a file"):
        h0_diagram_dask(ragged / "a.parquet")


def test_nan_in_one_shard_names_the_global_row(tmp_path):
    X = _points(n=90, d=4, seed=7)
    bad = X.copy()
    bad[67, 2] = np.nan
    npy = tmp_path / "npy"
    npy.mkdir()
    for k, s in enumerate(range(0, 90, 30)):
        np.save(npy / f"s{k}.npy", bad[s : s + 30])
    with pytest.raises(ValueError, match=r"X must not contain NaN.*\(67, 2\)"):
        h0_diagram_dask(npy, options=DaskOptions(block_rows=16))
    path = _numeric_shards(tmp_path, bad, [0, 50, 90], row_group_size=20)
    with pytest.raises(ValueError, match=r"F must not contain NaN.*\(67, 2\)"):
        fiber_profile_dask(path, X, [0.5], options=DaskOptions(block_rows=16))
    # a null in a numeric parquet column is a missing value: refused like NaN
    nulls = tmp_path / "nulls"
    nulls.mkdir()
    col = pa.array([None if i == 12 else float(i) for i in range(30)], pa.float64())
    _write_table(nulls / "a.parquet", {"a": col, "b": np.ones(30)})
    with pytest.raises(ValueError, match=r"X must not contain NaN.*\(12, 0\)"):
        h0_diagram_dask(nulls)


# --------------------------------------------------------------------------
# lists of chunks
# --------------------------------------------------------------------------


def test_list_of_chunks():
    X = _points(seed=8)
    chunks = [X[:50], da.from_array(X[50:120], chunks=(35, 5)), X[120:120], X[120:]]
    _same_results(X, chunks, block_rows=60)
    _same_results(X, tuple(chunks), block_rows=1000)
    arr = prepare(chunks, "X", 60, None, task_bytes)
    assert arr.chunks[0] == (60, 60, 60, 50)
    assert chunks[0].base is X  # the caller's arrays are not copied into or changed


def test_list_of_rows_is_still_one_array():
    rows = [np.array([0.0, 0.0]), np.array([1.0, 0.0]), np.array([3.0, 0.0])]
    assert np.array_equal(h0_diagram_dask(rows), h0_diagram(np.stack(rows)))
    assert np.array_equal(h0_diagram_dask([[0.0], [1.0], [3.0]]), h0_diagram([[0], [1], [3]]))


def test_list_of_chunks_bad():
    X = _points(n=30, d=4, seed=9)
    with pytest.raises(ValueError, match=r"G: chunks .* chunk 0 has 4 but chunk 2 has 3"):
        fiber_profile_dask(X, [X[:10], X[10:20], X[20:, :3]], [0.5])
    with pytest.raises(ValueError, match=r"X: chunk 1 must be a 2-D array.*shape \(4,\)"):
        h0_diagram_dask([X[:10], X[10]])
    with pytest.raises(ValueError, match="every chunk has 0 rows"):
        h0_diagram_dask([X[:0], X[:0]])
    with pytest.raises(TypeError, match=r"X\[1\] must hold real numbers"):
        h0_diagram_dask([X[:10], np.array([["a", "b", "c", "d"]])])
    bad = X.copy()
    bad[25, 1] = np.inf
    with pytest.raises(ValueError, match=r"X must not contain NaN or inf.*\(25, 1\)"):
        h0_diagram_dask([bad[:12], bad[12:]], options=DaskOptions(block_rows=7))
