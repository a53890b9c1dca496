"""Inputs, block sizes and schedulers shared by the Dask algorithms.

Every distributed function takes its point sets through :func:`prepare`, which
turns them into a 2-D Dask array of one column chunk and row chunks of the
block size, and runs its task graphs through :func:`compute` inside
:func:`connect`, which resolves the ``client`` argument (a client, a scheduler
address, or the current scheduler) with a timeout.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import as_float_array, check_int, check_real

#: the extra that installs what this package needs
DASK_EXTRA = 'install it with: pip install "sheaftopo[dask]"'
#: default seconds to wait for a scheduler given by its address
DEFAULT_TIMEOUT = 30.0


def require_dask() -> tuple[Any, Any]:
    """``(dask, dask.array)``, or an ImportError naming the extra to install."""
    try:
        import dask
        import dask.array as da
    except ImportError as e:
        raise ImportError(
            "sheaftopo.distributed needs the packages 'dask[array]' and 'distributed', "
            f"which are not installed; {DASK_EXTRA}"
        ) from e
    return dask, da


# --------------------------------------------------------------------------
# schedulers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def connect(client: Any, timeout: Any) -> Iterator[Any]:
    """The client to run on: ``None`` (Dask's current scheduler), a client, or an address.

    A scheduler address (``"tcp://host:8786"``) is connected to within
    ``timeout`` seconds, or a ``ConnectionError`` names the address; the
    client opened here is closed on exit.
    """
    timeout = check_real(timeout, "timeout", low=0.0, low_inclusive=False)
    if client is None:
        yield None
        return
    if isinstance(client, (str, os.PathLike)):
        require_dask()
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - the extra installs both
            raise ImportError(f"a scheduler address needs 'distributed'; {DASK_EXTRA}") from e
        address = os.fspath(client)
        try:
            own = Client(address, timeout=timeout, set_as_default=False)
        except Exception as e:  # OSError, TimeoutError, CommClosedError, bad addresses
            raise ConnectionError(
                f"client: could not reach a Dask scheduler at {address!r} within "
                f"{timeout:g} s ({type(e).__name__}: {e}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or pass client=None "
                "to run on this machine"
            ) from e
        try:
            yield own
        finally:
            own.close()
        return
    if not (hasattr(client, "compute") and hasattr(client, "gather")):
        raise TypeError(
            "client must be a dask.distributed.Client, a scheduler address string or None; "
            f"got {type(client).__name__}"
        )
    yield client


def compute(objs: list[Any], client: Any, progress: bool = False) -> list[Any]:
    """Compute Dask objects on ``client`` (or the current scheduler), with a progress bar."""
    dask, _ = require_dask()
    if client is None:
        if not progress:
            return list(dask.compute(*objs))
        from dask.diagnostics import ProgressBar

        with ProgressBar(out=sys.stderr):
            return list(dask.compute(*objs))
    futures = client.compute(objs)
    if progress:
        from distributed import progress as show

        show(futures, notebook=False)
        sys.stderr.write("\n")
    return list(client.gather(futures))


def note(progress: bool, message: str) -> None:
    """One line of progress on stderr when ``progress`` is on."""
    if progress:
        print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# block sizes
# --------------------------------------------------------------------------


def rows_for_budget(d: int, budget: int, task_bytes: Callable[[int, int], int]) -> int:
    """Largest number of rows whose task fits in ``budget`` bytes (0 if none)."""
    lo, hi = 0, 1
    while task_bytes(hi, d) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if task_bytes(mid, d) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def choose_block_rows(
    n: int,
    d: int,
    block_rows: int | None,
    budget: int | None,
    chunks: tuple[int, ...] | None,
    task_bytes: Callable[[int, int], int],
) -> int | None:
    """Rows per block, or None to keep the row chunks ``chunks`` of a Dask input."""
    from ..persistence._mst import DEFAULT_MEMORY_BUDGET, MAX_BLOCK

    if block_rows is not None:
        if budget is not None and task_bytes(block_rows, d) > budget:
            raise ValueError(
                f"block_rows={block_rows} needs about {task_bytes(block_rows, d)} bytes per "
                f"task (two blocks of {d} features and their distance block), more than "
                f"memory_budget={budget}; lower block_rows or raise memory_budget"
            )
        return min(block_rows, n)
    if budget is not None:
        rows = rows_for_budget(d, budget, task_bytes)
        if rows < 1:
            raise ValueError(
                f"memory_budget={budget} bytes is too small for one task on rows of {d} "
                f"features (one row needs about {task_bytes(1, d)} bytes)"
            )
        if chunks is not None and max(chunks) <= rows:
            return None
        return min(rows, n)
    if chunks is not None:
        return None
    return max(1, min(n, MAX_BLOCK, rows_for_budget(d, DEFAULT_MEMORY_BUDGET, task_bytes)))


def check_sizes(block_rows: Any, memory_budget: Any) -> tuple[int | None, int | None]:
    """Validated ``(block_rows, memory_budget)``."""
    if block_rows is not None:
        block_rows = check_int(block_rows, "block_rows", minimum=1)
    if memory_budget is not None:
        memory_budget = check_int(memory_budget, "memory_budget", minimum=1024)
    return block_rows, memory_budget


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


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


# parquet shards -------------------------------------------------------------


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
    lists = [f for f in fields if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
             or pa.types.is_fixed_size_list(f.type)]
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


def _parquet_parts(files: list[Path], name: str, rows_of: Callable[[int, int], int]) -> Any:
    """Lazy row blocks of parquet shards: one read per row-group slice of at most a block."""
    import pyarrow.parquet as pq

    dask, da = require_dask()
    layouts = [_parquet_layout(f, name) for f in files]
    d = _common_width(files, [w for _, w, _ in layouts], name)
    dtype = np.dtype(np.result_type(*[t for _, _, t in layouts]))
    groups = []
    for f in files:
        meta = pq.ParquetFile(f).metadata
        groups.append([meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
    n = sum(sum(g) for g in groups)
    _check_extent(n, d, name, "the parquet shards")
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


# shards, zarr and chunks ----------------------------------------------------


def _common_width(files: list[Path], widths: list[int], name: str) -> int:
    """The width every shard shares, or a ValueError naming two shards that differ."""
    for f, w in zip(files, widths, strict=True):
        if w != widths[0]:
            raise ValueError(
                f"{name}: shards must all have the same number of features; "
                f"{files[0].name!r} has {widths[0]} but {f.name!r} has {w}"
            )
    return widths[0]


def _check_extent(n: int, d: int, name: str, where: str) -> None:
    if n == 0:
        raise ValueError(f"{name} must contain at least one point; {where} hold no rows")
    if d == 0:
        raise ValueError(f"{name} must have at least one feature; {where} have 0 columns")


def _npy_parts(files: list[Path], name: str, rows_of: Callable[[int, int], int]) -> Any:
    """Lazy row blocks of .npy shards, read through memory maps."""
    dask, da = require_dask()
    shards = _npy_shards(files, name)
    d = _common_width(files, [w for _, _, w, _ in shards], name)
    dtype = np.dtype(np.result_type(*[t for _, _, _, t in shards]))
    n = sum(m for _, m, _, _ in shards)
    _check_extent(n, d, name, "the .npy shards")
    rows = rows_of(n, d)
    load = dask.delayed(_load_rows, pure=True)
    parts = [
        da.from_delayed(load(f, s, min(s + rows, m), dtype), (min(s + rows, m) - s, d), dtype)
        for f, m, _, _ in shards
        for s in range(0, m, rows)
    ]
    return da.concatenate(parts, axis=0)


def is_zarr_store(path: Path) -> bool:
    """Whether ``path`` is the directory of a zarr array or group (v2 or v3)."""
    return any((path / marker).is_file() for marker in ("zarr.json", ".zarray", ".zgroup"))


def _from_zarr(z: Any, name: str, rows_of: Callable[[int, int], int]) -> Any:
    """A zarr array (object or store path) read lazily in row blocks."""
    _, da = require_dask()
    try:
        import zarr
    except ImportError as e:  # pragma: no cover - the extra installs it
        raise ImportError(f"{name}: reading a zarr store needs 'zarr'; {DASK_EXTRA}") from e
    where = "the zarr array"
    if not isinstance(z, zarr.Array):
        where = f"the zarr store {str(z)!r}"
        try:
            z = zarr.open(store=str(z), mode="r")
        except Exception as e:
            raise ValueError(f"{name}: cannot open {where} ({type(e).__name__}: {e})") from e
        if not isinstance(z, zarr.Array):
            raise ValueError(
                f"{name}: {where} is a zarr group (holding {sorted(z.array_keys())}); "
                "give the path of one of its arrays"
            )
    if z.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, n_features); {where} has shape "
            f"{z.shape}"
        )
    working_dtype(np.dtype(z.dtype), name)
    n, d = (int(s) for s in z.shape)
    _check_extent(n, d, name, where)
    return da.from_zarr(z, chunks=(rows_of(n, d), d))


def _from_directory(path: Path, name: str, rows_of: Callable[[int, int], int]) -> Any:
    """A directory of .npy or .parquet shards, or a zarr store, as a lazy Dask array."""
    if is_zarr_store(path):
        return _from_zarr(path, name, rows_of)
    npy = sorted(path.glob("*.npy"))
    parquet = sorted(path.glob("*.parquet"))
    if npy and parquet:
        raise ValueError(
            f"{name}: the directory {str(path)!r} holds both .npy ({len(npy)}) and .parquet "
            f"({len(parquet)}) shards; keep one kind of shard per directory"
        )
    if npy:
        return _npy_parts(npy, name, rows_of)
    if parquet:
        return _parquet_parts(parquet, name, rows_of)
    raise ValueError(
        f"{name}: the directory {str(path)!r} holds no .npy or .parquet shards and is not a "
        "zarr store (no zarr.json or .zarray)"
    )


def _is_chunk_list(X: Any, da: Any) -> bool:
    """A list or tuple of 2-D arrays (NumPy or Dask): chunks of rows, not rows."""
    return (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(c, (np.ndarray, da.Array)) for c in X)
        and any(c.ndim == 2 for c in X)
    )


def _from_chunks(chunks: Any, name: str) -> Any:
    """In-memory or Dask chunks of rows, concatenated lazily (widths checked)."""
    _, da = require_dask()
    parts = []
    for k, c in enumerate(chunks):
        if c.ndim != 2:
            raise ValueError(
                f"{name}: chunk {k} must be a 2-D array of shape (n_rows, n_features); got "
                f"shape {c.shape}"
            )
        if c.shape[1] != chunks[0].shape[1]:
            raise ValueError(
                f"{name}: chunks must all have the same number of features; chunk 0 has "
                f"{chunks[0].shape[1]} but chunk {k} has {c.shape[1]}"
            )
        if not isinstance(c, da.Array):
            c = da.from_array(as_float_array(c, f"{name}[{k}]"), chunks=-1)
        else:
            working_dtype(np.dtype(c.dtype), f"{name}: chunk {k}")
        if c.shape[0]:
            parts.append(c)
    if not parts:
        raise ValueError(f"{name} must contain at least one point; every chunk has 0 rows")
    return da.concatenate(parts, axis=0)


def prepare(
    X: Any,
    name: str,
    block_rows: int | None,
    budget: int | None,
    task_bytes: Callable[[int, int], int],
) -> Any:
    """``X`` as a 2-D Dask array of a float dtype, one column chunk, row chunks of the block size.

    ``X`` is a Dask array, an in-memory array, a list or tuple of 2-D arrays
    (NumPy or Dask; chunks of rows, concatenated), a ``zarr.Array``, or a
    path: a zarr store, or a directory of ``.npy`` or of ``.parquet`` shards
    (concatenated in file-name order). Paths and zarr arrays are read lazily.
    """
    _, da = require_dask()

    def rows_of(n: int, d: int) -> int:
        rows = choose_block_rows(n, d, block_rows, budget, None, task_bytes)
        assert rows is not None
        return rows

    if isinstance(X, (str, os.PathLike)):
        path = Path(X)
        if not path.exists():
            raise FileNotFoundError(f"{name}: no such file or directory: {str(path)!r}")
        if not path.is_dir():
            raise ValueError(
                f"{name} given as a path must be a zarr store or a directory of .npy or "
                f".parquet shards; {str(path)!r} is a file (load it and pass the array)"
            )
        X = _from_directory(path, name, rows_of)
    elif _is_zarr_array(X):
        X = _from_zarr(X, name, rows_of)
    elif _is_chunk_list(X, da):
        X = _from_chunks(X, name)
    elif not isinstance(X, da.Array):
        X = da.from_array(as_float_array(X, name), chunks=-1)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, n_features); got {X.ndim}-D "
            f"input of shape {X.shape}"
        )
    if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in X.chunks[1]):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first")
    n, d = (int(s) for s in X.shape)
    if n == 0:
        raise ValueError(f"{name} must contain at least one point; got shape {X.shape}")
    if d == 0:
        raise ValueError(f"{name} must have at least one feature; got shape {X.shape}")
    dtype = working_dtype(np.dtype(X.dtype), name)
    if dtype != X.dtype:
        X = X.astype(dtype)
    rows = choose_block_rows(
        n, d, block_rows, budget, tuple(int(c) for c in X.chunks[0]), task_bytes
    )
    if rows is not None and X.chunks[0] != _regular_chunks(n, rows):
        X = X.rechunk({0: rows})
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    return X


def _is_zarr_array(X: Any) -> bool:
    """A ``zarr.Array``, recognised without importing zarr when it is not loaded."""
    zarr = sys.modules.get("zarr")
    return zarr is not None and isinstance(X, zarr.Array)


def _regular_chunks(n: int, rows: int) -> tuple[int, ...]:
    return (rows,) * (n // rows) + ((n % rows,) if n % rows else ())


def offsets_of(arr: Any) -> np.ndarray:
    """Row offsets ``[0, n_0, n_0 + n_1, ..., n]`` of a Dask array's row chunks."""
    return np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(np.int64)
