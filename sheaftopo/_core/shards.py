"""Row blocks of embedding sets stored as shards: ``.npy`` and ``.parquet`` files.

Used by :func:`sheaftopo._core.dask.prepare` (and so by
:mod:`sheaftopo.distributed` and the Dask side of :mod:`sheaftopo.report`):
a directory of shards becomes one lazy Dask array, concatenated in file-name
order, every row block read by its own task (``.npy`` through a memory map,
``.parquet`` one row-group slice at a time). The checks here (2-D shards,
real dtypes, one width, no empty set) run on metadata only; the values are
checked by the algorithms, block by block. Dask is imported by the functions
that build the arrays, which run only once
:func:`sheaftopo._core.dask.require_dask` has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_extent", "common_width", "npy_parts", "parquet_parts", "working_dtype"]


def working_dtype(dtype: np.dtype, name: str = "X") -> np.dtype:
    """float32 and float64 are kept; anything else real becomes float64 (as in the core)."""
    if dtype.kind not in "fiub":
        raise TypeError(
            f"{name} must hold real numbers; got dtype {dtype} (dtype kind {dtype.kind!r})"
        )
    if dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        return dtype
    return np.dtype(np.float64)


def _load_rows(path: str, start: int, stop: int, dtype: np.dtype) -> np.ndarray:
    """Rows ``start:stop`` of one .npy shard, read through a memory map."""
    mm = np.load(path, mmap_mode="r")
    return np.ascontiguousarray(mm[start:stop], dtype=dtype)


def _npy_shards(files: list[Path], name: str) -> list[tuple[str, int, int, np.dtype]]:
    """``[(file, rows, width, dtype)]`` of .npy shards, each checked to be 2-D and real."""
    out = []
    for f in files:
        mm = np.load(f, mmap_mode="r")
        if mm.ndim != 2:
            raise ValueError(
                f"{name}: every shard must be a 2-D array of shape (n_rows, n_features); "
                f"{f.name!r} has shape {mm.shape}"
            )
        out.append((str(f), int(mm.shape[0]), int(mm.shape[1]), working_dtype(mm.dtype, name)))
    return out


# parquet shards ------------------------------------------------------------


def _parquet_layout(path: Path, name: str) -> tuple[str | None, int, np.dtype]:
    """``(vector column or None, width, dtype)`` of one parquet shard.

    ``None``: every column is a numeric feature. Otherwise the file's only
    column holds one list (or fixed-size list) of numbers per row; the width
    of a variable-length list column is read from its first row (every row
    is checked against it when it is read).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    fields = list(schema)
    if not fields:
        raise ValueError(f"{name}: the parquet shard {path.name!r} has no columns")
    lists = [
        f
        for f in fields
        if pa.types.is_list(f.type)
        or pa.types.is_large_list(f.type)
        or pa.types.is_fixed_size_list(f.type)
    ]
    if lists:
        if len(fields) != 1:
            raise TypeError(
                f"{name}: the parquet shard {path.name!r} has the list column "
                f"{lists[0].name!r} next to {len(fields) - 1} other column(s); a shard holds "
                "either one column of vectors (lists) and nothing else, or one numeric column "
                "per feature"
            )
        field = lists[0]
        value = field.type.value_type
        if not (pa.types.is_integer(value) or pa.types.is_floating(value)):
            raise TypeError(
                f"{name}: column {field.name!r} of {path.name!r} holds lists of {value}; "
                "expected lists of numbers"
            )
        if pa.types.is_fixed_size_list(field.type):
            width = int(field.type.list_size)
        else:
            width = _first_list_length(path, field.name, name)
        return field.name, width, working_dtype(np.dtype(value.to_pandas_dtype()), name)
    dtypes = []
    for f in fields:
        if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)):
            raise TypeError(
                f"{name}: column {f.name!r} of the parquet shard {path.name!r} has type "
                f"{f.type}; expected a number per column (one column per feature) or a single "
                "column of vectors (lists of numbers)"
            )
        dtypes.append(working_dtype(np.dtype(f.type.to_pandas_dtype()), name))
    return None, len(fields), np.dtype(np.result_type(*dtypes))


def _first_list_length(path: Path, column: str, name: str) -> int:
    """Length of the first non-null vector of a list column (0 for a file of no rows)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=64, columns=[column]):
        arr = batch.column(0)
        for i in range(len(arr)):
            if arr[i].is_valid:
                return len(arr[i])
        if len(arr):
            raise ValueError(f"{name}: the first rows of {path.name!r} hold null vectors")
    return 0


def _load_parquet(
    path: str,
    group: int,
    start: int,
    stop: int,
    column: str | None,
    width: int,
    dtype: np.dtype,
    name: str,
    first_row: int,
) -> np.ndarray:
    """Rows ``start:stop`` of one row group of a parquet shard (the whole group is read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read_row_group(group).slice(start, stop - start)
    out = np.empty((stop - start, width), dtype=dtype)
    if column is None:
        for k, col in enumerate(table.columns):  # nulls become NaN, refused by the checks
            out[:, k] = col.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
        return out
    arr = table.column(0).combine_chunks()
    if isinstance(arr, pa.ExtensionArray):  # pragma: no cover - no extension types here
        arr = arr.storage
    lengths = arr.value_lengths().to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(np.isnan(lengths.astype(np.float64)) | (lengths != width))
    if len(bad):
        r = int(bad[0])
        seen = "a null vector" if not arr[r].is_valid else f"a vector of length {len(arr[r])}"
        raise ValueError(
            f"{name}: row {first_row + r} (in {Path(path).name!r}, column {column!r}) holds "
            f"{seen}; every vector must have length {width}"
        )
    values = arr.flatten().to_numpy(zero_copy_only=False)
    out[:] = values.reshape(stop - start, width)
    return out


def parquet_parts(files: list[Path], name: str, rows_of: Callable[[int, int], int]) -> Any:
    """Lazy row blocks of parquet shards: one read per row-group slice of at most a block."""
    import dask
    import dask.array as da
    import pyarrow.parquet as pq

    layouts = [_parquet_layout(f, name) for f in files]
    d = common_width(files, [w for _, w, _ in layouts], name)
    dtype = np.dtype(np.result_type(*[t for _, _, t in layouts]))
    groups = []
    for f in files:
        meta = pq.ParquetFile(f).metadata
        groups.append([meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
    n = sum(sum(g) for g in groups)
    check_extent(n, d, name, "the parquet shards")
    rows = rows_of(n, d)
    load = dask.delayed(_load_parquet, pure=True)
    parts = []
    first = 0
    for f, (column, _, _), sizes in zip(files, layouts, groups, strict=True):
        for g, m in enumerate(sizes):
            for s in range(0, m, rows):
                e = min(s + rows, m)
                task = load(str(f), g, s, e, column, d, dtype, name, first + s)
                parts.append(da.from_delayed(task, (e - s, d), dtype))
            first += m
    return da.concatenate(parts, axis=0)


# shared checks and .npy shards ---------------------------------------------


def common_width(files: list[Path], widths: list[int], name: str) -> int:
    """The width every shard shares, or a ValueError naming two shards that differ."""
    for f, w in zip(files, widths, strict=True):
        if w != widths[0]:
            raise ValueError(
                f"{name}: shards must all have the same number of features; "
                f"{files[0].name!r} has {widths[0]} but {f.name!r} has {w}"
            )
    return widths[0]


def check_extent(n: int, d: int, name: str, where: str) -> None:
    """Refuse a set of ``n == 0`` rows or ``d == 0`` features; ``where`` says what holds it."""
    if n == 0:
        raise ValueError(f"{name} must contain at least one point; {where} hold no rows")
    if d == 0:
        raise ValueError(f"{name} must have at least one feature; {where} have 0 columns")


def npy_parts(files: list[Path], name: str, rows_of: Callable[[int, int], int]) -> Any:
    """Lazy row blocks of .npy shards, read through memory maps."""
    import dask
    import dask.array as da

    shards = _npy_shards(files, name)
    d = common_width(files, [w for _, _, w, _ in shards], name)
    dtype = np.dtype(np.result_type(*[t for _, _, _, t in shards]))
    n = sum(m for _, m, _, _ in shards)
    check_extent(n, d, name, "the .npy shards")
    rows = rows_of(n, d)
    load = dask.delayed(_load_rows, pure=True)
    parts = [
        da.from_delayed(load(f, s, min(s + rows, m), dtype), (min(s + rows, m) - s, d), dtype)
        for f, m, _, _ in shards
        for s in range(0, m, rows)
    ]
    return da.concatenate(parts, axis=0)
