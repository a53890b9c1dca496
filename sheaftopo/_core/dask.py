"""Dask plumbing shared by :mod:`sheaftopo.distributed` and :mod:`sheaftopo.report`.

Used by ``sheaftopo.distributed`` (the five Dask entry points), by
``sheaftopo.report`` (which reads and preprocesses its sets lazily and runs
the entry points) and by ``sheaftopo.cli`` (``--dask`` / ``--scheduler``):

:class:`DaskOptions`
    Where and in what blocks the Dask algorithms run (client, block size,
    memory budget, timeout, progress); the one ``options=`` argument of every
    entry point, and of :func:`sheaftopo.report.analyze`.
:func:`require_dask`, :func:`connect`, :func:`compute`
    The optional dependency, the scheduler a ``client`` argument names, and
    running task graphs on it.
:func:`prepare`
    Every input kind the entry points accept (Dask arrays, in-memory arrays,
    lists of chunks, zarr arrays and stores, directories of ``.npy`` or
    ``.parquet`` shards, see :mod:`sheaftopo._core.shards`) as a 2-D Dask
    array cut into row blocks whose tasks fit a memory budget;
    :func:`mst_task_bytes` is the budget model of the MST's block-pair tasks.

Dask itself is imported by the functions, never at import time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import as_float_array, check_int, check_real
from .mst import DEFAULT_MEMORY_BUDGET, MAX_BLOCK
from .shards import check_extent, npy_parts, parquet_parts, working_dtype

__all__ = [
    "DASK_EXTRA",
    "DEFAULT_TIMEOUT",
    "DaskOptions",
    "check_sizes",
    "choose_block_rows",
    "compute",
    "connect",
    "mst_task_bytes",
    "note",
    "offsets_of",
    "prepare",
    "require_dask",
    "rows_for_budget",
]

#: the extra that installs what this package needs
DASK_EXTRA = 'install it with: pip install "sheaftopo[dask]"'
#: default seconds to wait for a scheduler given by its address
DEFAULT_TIMEOUT = 30.0

#: bytes of working memory one MST block-pair task uses, per distance entry and per coordinate
MST_TASK_BYTES_PER_DISTANCE = 16
MST_TASK_BYTES_PER_COORDINATE = 32


def mst_task_bytes(rows: int, d: int) -> int:
    """Approximate peak working memory (bytes) of one MST task on two blocks of ``rows`` rows.

    The budget model of :func:`sheaftopo.distributed.mst_dask`: two blocks of
    ``d`` features and their distance block. Pass it to :func:`prepare` to cut
    a set into blocks the MST can use.
    """
    return MST_TASK_BYTES_PER_DISTANCE * rows * rows + MST_TASK_BYTES_PER_COORDINATE * rows * d


@dataclass(frozen=True)
class DaskOptions:
    """Where and in what blocks the Dask algorithms run.

    The ``options=`` argument of the :mod:`sheaftopo.distributed` entry points
    (:func:`~sheaftopo.distributed.mst_dask`,
    :func:`~sheaftopo.distributed.h0_diagram_dask`,
    :func:`~sheaftopo.distributed.fiber_product_dask`,
    :func:`~sheaftopo.distributed.write_fiber_product_dask`,
    :func:`~sheaftopo.distributed.fiber_profile_dask`,
    :func:`~sheaftopo.distributed.true_distances_dask`) and the ``dask=``
    argument of :func:`sheaftopo.report.analyze`. Importable as
    ``sheaftopo.distributed.DaskOptions`` and ``sheaftopo.report.DaskOptions``
    (the same class).

    Attributes
    ----------
    client : distributed.Client or str, optional
        A client, the address of a running scheduler (``"tcp://host:8786"``;
        connected to for the call or the analysis and closed after it), or
        None for Dask's current scheduler (the default client if one is
        active, else the threaded scheduler).
    block_rows : int, optional
        Rows per block. Each task holds two blocks and its working memory.
    memory_budget : int, optional
        Bytes one task may use; sets ``block_rows`` when that is not given and
        is checked against it when it is. With neither, a Dask input keeps its
        row chunks and other inputs use blocks of at most 4096 rows.
    timeout : float, default 30
        Seconds to wait for a scheduler given by its address.
    progress : bool, default False
        Print the passes and Dask's progress bars on stderr.
    description : str, optional
        How the scheduler is described in a report (default: from ``client``).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import DaskOptions, h0_diagram_dask
    >>> h0_diagram_dask(np.array([[0.0], [1.0], [3.0]]), options=DaskOptions(block_rows=2))
    array([[ 0.,  1.],
           [ 0.,  2.],
           [ 0., inf]])
    """

    client: Any = None
    block_rows: int | None = None
    memory_budget: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    progress: bool = False
    description: str | None = None

    def validated(self) -> DaskOptions:
        """A checked copy (raises naming the bad field)."""
        if self.block_rows is not None:
            check_int(self.block_rows, "block_rows", minimum=1)
        if self.memory_budget is not None:
            check_int(self.memory_budget, "memory_budget", minimum=1024)
        check_real(self.timeout, "timeout", low=0.0, low_inclusive=False)
        return self

    def describe(self, client: Any) -> str:
        """The scheduler, in words, for a report."""
        if self.description:
            return self.description
        if isinstance(self.client, str):
            return f"Dask scheduler at {self.client}"
        if client is not None:
            return f"Dask distributed client ({getattr(client, 'scheduler', None)})"
        return "Dask's current scheduler (threads on this machine)"

    def kwargs(self, client: Any) -> dict[str, Any]:
        """Keywords of the :mod:`sheaftopo.distributed` functions, run on ``client``.

        ``{"options": ...}``: these options with ``client`` (the connected
        client, or None) in place of ``client``.
        """
        return {"options": dataclasses.replace(self, client=client)}


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
    check_extent(n, d, name, where)
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
        return npy_parts(npy, name, rows_of)
    if parquet:
        return parquet_parts(parquet, name, rows_of)
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
