r"""Exact approximate fiber products and ε-profiles of chunked embedding sets, on Dask.

The ε-product :math:`\{(i, j) : \operatorname{dist}(F_i, G_j) \le \varepsilon\}`
of two sets cut into row blocks is a blocked join: one Dask task per pair
``(I, J)`` of an F block and a G block runs the in-memory exact
:func:`sheaftopo.fiber.approximate_fiber_product` (or
:func:`sheaftopo.fiber.fiber_profile`) on those two blocks only, and adds the
blocks' row offsets back to the indices it finds.

Exactness. Membership and the reported distances are the *canonical*
distances of :mod:`sheaftopo.fiber` (float64, features summed in order, 0 only
for equal vectors). They depend on the two rows of a pair alone (the cosine
metric divides every row by its own norm), never on the rest of the set, and
the in-memory function returns exactly the pairs whose canonical distance is
at most ε. So the union of the block-pair results is the in-memory product
pair for pair and bit for bit, whatever the block sizes, and the per-block
counts of a profile add up to the in-memory counts.

Inputs are normalised into row blocks by :func:`sheaftopo.distributed._inputs.prepare`
(Dask arrays, in-memory arrays and lists of chunks, zarr arrays and stores,
directories of ``.npy`` or ``.parquet`` shards), for F and G independently.

Memory. A block-pair task holds its two blocks and the working memory of the
in-memory kernel on them (see :func:`task_bytes`); ``memory_budget`` bounds
that estimate and sets the block size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.fiber_blocks import (
    MAX_BLOCK_COLS,
    ROW_BLOCK,
    as_grid,
    check_true_distances,
    order_statistic,
    pair_inputs,
    true_distances,
)
from .._core.fiber_blocks import true_pairs as checked_pairs
from .._validation import check_choice, check_real
from ._inputs import DEFAULT_TIMEOUT, check_sizes, compute, connect, note, offsets_of, prepare
from ._inputs import require_dask as _require_dask

if TYPE_CHECKING:
    from ..fiber import FiberProduct, FiberProfile

__all__ = [
    "FiberProductFiles",
    "fiber_product_dask",
    "fiber_profile_dask",
    "write_fiber_product_dask",
]

#: ``method`` recorded in the returned FiberProduct / FiberProfile
METHOD = "dask-blocked"
#: name pattern of the parquet files written by write_fiber_product_dask
PART_NAME = "part-{i:05d}-{j:05d}.parquet"
#: bytes per row and feature of each of the two blocks of a task: the block as
#: stored (at most float64), its float64 copy, the centred (Euclidean) or
#: normalised (cosine) screening copy and its copy in ball-tree order
TASK_BYTES_PER_COORDINATE = 4 * 8
#: bytes per pair of a block pair the product may hold: row, column and
#: distance (8 bytes each), found and then sorted (twice)
TASK_BYTES_PER_PAIR = 2 * 24


def task_bytes(rows: int, d: int, pairs: bool = False) -> int:
    """Approximate peak working memory (bytes) of one task on two blocks of ``rows`` rows.

    The two blocks and the in-memory kernel's copies of them
    (:data:`TASK_BYTES_PER_COORDINATE` bytes per row and feature each), its
    screening buffer (one float64 slab of ``ROW_BLOCK`` x ``MAX_BLOCK_COLS``
    inner products: the kernel runs with ``n_jobs=1`` in a task) and, with
    ``pairs``, the worst case of the listed pairs: every pair of the two
    blocks within ε (:data:`TASK_BYTES_PER_PAIR` bytes each). A profile task
    keeps only its counts.

    Examples
    --------
    >>> from sheaftopo.distributed._fiber import task_bytes
    >>> task_bytes(1000, 64) // 2**20, task_bytes(1000, 64, pairs=True) // 2**20
    (7, 53)
    """
    screen = 8 * ROW_BLOCK * MAX_BLOCK_COLS
    listed = TASK_BYTES_PER_PAIR * rows * rows if pairs else 0
    return 2 * TASK_BYTES_PER_COORDINATE * rows * d + screen + listed


def _product_task_bytes(rows: int, d: int) -> int:
    return task_bytes(rows, d, pairs=True)


@dataclass(frozen=True)
class FiberProductFiles:
    """An ε-product written to a parquet dataset by :func:`write_fiber_product_dask`.

    Attributes
    ----------
    path : str
        The directory holding the dataset: one file ``part-IIIII-JJJJJ.parquet``
        per pair of an F block ``I`` and a G block ``J`` (possibly with no
        rows), columns ``row`` (int64, index into F), ``col`` (int64, index
        into G) and ``distance`` (float64, canonical distance); each file is
        sorted by ``(row, col)``. ``pandas.read_parquet(path)`` reads it all.
    n_pairs : int
        Number of pairs written, over all files.
    n_files : int
        Number of files written.
    shape : tuple of int
        (N, M), the sizes of F and G.
    eps : float
    metric : str
    """

    path: str
    n_pairs: int
    n_files: int
    shape: tuple[int, int]
    eps: float
    metric: str


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def _block_check(A: Any, cosine: bool) -> tuple[Any, int, int]:
    """``(first non-finite (row, col, value) or None, first zero row, zero rows)``."""
    A = np.asarray(A)
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        return (r, c, float(A[r, c])), -1, 0
    first, zeros = -1, 0
    if cosine:
        zero = ~A.any(axis=1)
        zeros = int(zero.sum())
        if zeros:
            first = int(np.flatnonzero(zero)[0])
    return None, first, zeros


def _check_blocks(stats: list[Any], offsets: np.ndarray, name: str, cosine: bool) -> None:
    """Clear errors, with global row indices, for what the in-memory code would refuse.

    Any finite magnitude is accepted, as in memory: every block pair is
    rescaled by the in-memory functions, and canonical distances depend on
    the two rows of a pair only.
    """
    for b, (bad, _, _) in enumerate(stats):
        if bad is not None:
            r, c, value = bad
            raise ValueError(
                f"{name} must not contain NaN or inf; found {value!r} at index "
                f"({int(offsets[b]) + r}, {c}) (row block {b})"
            )
    if cosine:
        zeros = sum(s[2] for s in stats)
        if zeros:
            b = next(k for k, s in enumerate(stats) if s[1] >= 0)
            i = int(offsets[b]) + stats[b][1]
            raise ValueError(
                f"the cosine distance is undefined for zero vectors; {name}[{i}] is zero "
                f"({zeros} zero rows in {name})"
            )


@dataclass
class _Setup:
    """F and G cut into row blocks, checked by :meth:`check` before any join task runs."""

    F_blocks: list[Any]
    G_blocks: list[Any]
    F_off: np.ndarray
    G_off: np.ndarray
    n: int
    m: int
    metric: str

    @property
    def n_pairs(self) -> int:
        """Number of block pairs (tasks of the join)."""
        return len(self.F_blocks) * len(self.G_blocks)

    def check(self, client: Any, progress: bool) -> None:
        """One Dask pass over every block: NaN, inf, scale and zero rows (cosine)."""
        dask, _ = _require_dask()
        cosine = self.metric == "cosine"
        check = dask.delayed(_block_check, pure=True)
        blocks = self.F_blocks + self.G_blocks
        note(progress, f"checking {len(blocks)} row blocks of F and G")
        stats = compute([check(b, cosine) for b in blocks], client, progress)
        _check_blocks(stats[: len(self.F_blocks)], self.F_off, "F", cosine)
        _check_blocks(stats[len(self.F_blocks) :], self.G_off, "G", cosine)


def _setup(
    F: Any, G: Any, metric: Any, block_rows: Any, memory_budget: Any, pairs: bool
) -> _Setup:
    """Validate the arguments and cut F and G into row blocks (nothing is computed)."""
    _require_dask()
    metric = check_choice(metric, "metric", ("euclidean", "cosine"))
    block_rows, budget = check_sizes(block_rows, memory_budget)
    cost = _product_task_bytes if pairs else task_bytes
    Fa = prepare(F, "F", block_rows, budget, cost)
    Ga = prepare(G, "G", block_rows, budget, cost)
    if Fa.shape[1] != Ga.shape[1]:
        raise ValueError(
            "F and G must live in the same space (the same number of columns d); got F of "
            f"shape {Fa.shape} and G of shape {Ga.shape}"
        )
    return _Setup(
        list(Fa.to_delayed()[:, 0]),
        list(Ga.to_delayed()[:, 0]),
        offsets_of(Fa),
        offsets_of(Ga),
        int(Fa.shape[0]),
        int(Ga.shape[0]),
        metric,
    )


def _run_join(
    s: _Setup, tasks: Any, client: Any, timeout: Any, progress: Any, what: str
) -> list[Any]:
    """Connect, check the blocks, then compute the tasks ``tasks()`` builds."""
    progress = bool(progress)
    with connect(client, timeout) as cl:
        s.check(cl, progress)
        todo = tasks()
        note(progress, f"{what}: {len(todo)} tasks on {len(s.F_blocks)} x {len(s.G_blocks)} "
                       "row blocks")
        return compute(todo, cl, progress)


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------


def _pair_product(A: Any, B: Any, off_a: int, off_b: int, eps: float, metric: str) -> tuple:
    """The ε-pairs between one F block and one G block, with global indices."""
    from ..fiber import approximate_fiber_product

    prod = approximate_fiber_product(A, B, eps, metric=metric, n_jobs=1)
    return prod.rows + np.int64(off_a), prod.cols + np.int64(off_b), prod.distances


def _pair_write(
    A: Any, B: Any, off_a: int, off_b: int, eps: float, metric: str, path: str
) -> int:
    """Write the ε-pairs of one block pair to the parquet file ``path``; the pair count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, cols, dist = _pair_product(A, B, off_a, off_b, eps, metric)
    table = pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "col": pa.array(cols, pa.int64()),
            "distance": pa.array(dist, pa.float64()),
        }
    )
    pq.write_table(table, path)
    return int(rows.shape[0])


def _pair_counts(A: Any, B: Any, grid: np.ndarray, metric: str) -> np.ndarray:
    """Per ε of the grid, the number of pairs of one block pair within it (no pairs kept)."""
    from ..fiber import fiber_profile

    return fiber_profile(A, B, grid, metric=metric, n_jobs=1).counts


def _pair_true(A: Any, B: Any, i: np.ndarray, j: np.ndarray, metric: str) -> np.ndarray:
    """Canonical distances of the pairs ``(A[i], B[j])`` (local indices; may be inf)."""
    Av, Bv = pair_inputs(A, B)
    return true_distances(Av, Bv, i, j, metric)


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------


def fiber_product_dask(
    F: Any,
    G: Any,
    eps: float,
    *,
    metric: str = "euclidean",
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> FiberProduct:
    r"""The exact ε-product of two chunked embedding sets, as a blocked join on Dask.

    One task per pair of an F row block and a G row block runs
    :func:`sheaftopo.fiber.approximate_fiber_product` on those two blocks;
    the client concatenates the pairs. Use :func:`write_fiber_product_dask`
    when the pairs do not fit in the client's memory.

    Parameters
    ----------
    F : dask.array.Array, array_like, list of arrays, zarr.Array or path, shape (N, d)
        The first set: a Dask array chunked by rows, an in-memory array, a
        list of 2-D arrays (chunks of rows, concatenated), a zarr array, or
        the path of a zarr store or of a directory of ``.npy`` or
        ``.parquet`` shards (as in :func:`mst_dask`; paths and zarr arrays
        are read lazily, block by block).
    G : same kinds as F, shape (M, d)
        The second set, in the same space.
    eps : float
        The tolerance ε >= 0.
    metric : {"euclidean", "cosine"}
    client : distributed.Client or str, optional
        Where to run the tasks: a client, or the address of a running
        scheduler (``"tcp://host:8786"``; connected to for this call and
        closed after it). Default: Dask's current scheduler.
    block_rows : int, optional
        Rows per block of both F and G.
    memory_budget : int, optional
        Bytes one task may use (:func:`task_bytes` with the worst case of
        every pair of a block pair listed); sets ``block_rows`` when that is
        not given and is checked against it when it is. With neither, a Dask
        input keeps its row chunks and other inputs use blocks of at most
        4096 rows.
    timeout : float, default 30
        Seconds to wait for a scheduler given by its address.
    progress : bool, default False
        Print the passes and Dask's progress bar on stderr.

    Returns
    -------
    FiberProduct
        The same pairs (sorted by ``(row, col)``) and the same distances, bit
        for bit, as :func:`sheaftopo.fiber.approximate_fiber_product`;
        ``method="dask-blocked"``.

    Raises
    ------
    ValueError
        F or G not 2-D, empty, holding NaN or inf (the message gives the
        global row), zero rows with the cosine metric (any finite magnitude
        is accepted, as in memory);
        shards or chunks of different widths; F and G of different widths;
        ``eps`` negative or not finite; ``block_rows`` below 1 or above what
        ``memory_budget`` allows.
    TypeError
        Non-real input (a non-numeric parquet column); ``block_rows`` or
        ``memory_budget`` not an integer; ``client`` neither a client, an
        address nor None.
    FileNotFoundError
        A path that does not exist.
    ConnectionError
        No scheduler answered at the address ``client`` within ``timeout``.
    ImportError
        Dask is not installed (the extra ``sheaftopo[dask]``).

    Notes
    -----
    :math:`\lceil N / b \rceil \lceil M / b \rceil` tasks; each holds two
    blocks and the in-memory kernel's working memory. The input blocks are
    read twice: once to check them (NaN, scale, zero rows), once for the join.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import fiber_product_dask
    >>> F = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    >>> G = np.array([[0.0, 0.0], [0.0, 5.0], [3.0, 4.0]])
    >>> prod = fiber_product_dask(F, G, 5.0, block_rows=2)
    >>> prod.rows, prod.cols
    (array([0, 0, 0, 1, 1, 1]), array([0, 1, 2, 0, 1, 2]))
    >>> prod.distances
    array([0.        , 5.        , 5.        , 5.        , 3.16227766, 0.        ])
    """
    from ..fiber import FiberProduct

    eps = check_real(eps, "eps", low=0.0)
    s = _setup(F, G, metric, block_rows, memory_budget, pairs=True)
    dask, _ = _require_dask()
    task = dask.delayed(_pair_product, pure=True)

    def tasks() -> list[Any]:
        return [
            task(A, B, int(s.F_off[i]), int(s.G_off[j]), eps, s.metric)
            for i, A in enumerate(s.F_blocks)
            for j, B in enumerate(s.G_blocks)
        ]

    found = _run_join(s, tasks, client, timeout, progress, "fiber_product_dask")
    rows = np.concatenate([f[0] for f in found]).astype(np.int64, copy=False)
    cols = np.concatenate([f[1] for f in found]).astype(np.int64, copy=False)
    dist = np.concatenate([f[2] for f in found]).astype(np.float64, copy=False)
    order = np.lexsort((cols, rows))
    return FiberProduct(
        rows[order], cols[order], dist[order], (s.n, s.m), eps, s.metric, METHOD
    )


def write_fiber_product_dask(
    F: Any,
    G: Any,
    eps: float,
    out: str | os.PathLike[str],
    *,
    metric: str = "euclidean",
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> FiberProductFiles:
    r"""Write the exact ε-product of two chunked embedding sets to a parquet dataset.

    As :func:`fiber_product_dask`, but every block-pair task writes its pairs
    to its own file under ``out`` and returns only their number, so neither
    the client nor any worker ever holds more than one block pair's pairs.

    Parameters
    ----------
    F, G, eps, metric, client, block_rows, memory_budget, timeout, progress
        As in :func:`fiber_product_dask`.
    out : str or path
        A directory, created if missing; it must not already hold ``.parquet``
        files. It must be reachable at the same path by every worker (a
        shared file system) when the workers run on other machines.

    Returns
    -------
    FiberProductFiles
        The directory, the total number of pairs and of files. Read back with
        ``pandas.read_parquet(files.path)`` (columns ``row``, ``col``,
        ``distance``); sorted by ``(row, col)`` it equals
        :func:`sheaftopo.fiber.approximate_fiber_product` exactly.

    Raises
    ------
    FileExistsError
        ``out`` is a file, or a directory already holding parquet files.
    ValueError, TypeError, FileNotFoundError, ConnectionError, ImportError
        As in :func:`fiber_product_dask`; ImportError also without pyarrow.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sheaftopo.distributed import write_fiber_product_dask
    >>> F = np.array([[0.0], [1.0], [2.0]])
    >>> G = np.array([[0.5], [3.0]])
    >>> out = os.path.join(tempfile.mkdtemp(), "pairs")
    >>> files = write_fiber_product_dask(F, G, 1.0, out, block_rows=2)
    >>> files.n_pairs, files.n_files
    (3, 2)
    >>> df = pd.read_parquet(out).sort_values(["row", "col"])
    >>> df.to_numpy().tolist()
    [[0.0, 0.0, 0.5], [1.0, 0.0, 0.5], [2.0, 1.0, 1.0]]
    """
    eps = check_real(eps, "eps", low=0.0)
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a directory path; got {type(out).__name__}")
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:  # pragma: no cover - pyarrow comes with the dask extra
        raise ImportError(
            "write_fiber_product_dask needs pyarrow to write parquet; "
            'install it with: pip install "sheaftopo[dask]"'
        ) from e
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"out must be a directory; {str(path)!r} is a file")
    if path.is_dir() and any(path.glob("*.parquet")):
        raise FileExistsError(
            f"out: the directory {str(path)!r} already holds parquet files; choose an empty "
            "or new directory so that the dataset holds only this product"
        )
    # a task holds one block pair's pairs while it writes them: the product's estimate
    s = _setup(F, G, metric, block_rows, memory_budget, pairs=True)
    dask, _ = _require_dask()
    task = dask.delayed(_pair_write, pure=True)

    def tasks() -> list[Any]:
        path.mkdir(parents=True, exist_ok=True)
        return [
            task(
                A, B, int(s.F_off[i]), int(s.G_off[j]), eps, s.metric,
                str(path / PART_NAME.format(i=i, j=j)),
            )
            for i, A in enumerate(s.F_blocks)
            for j, B in enumerate(s.G_blocks)
        ]

    counts = _run_join(s, tasks, client, timeout, progress, "write_fiber_product_dask")
    return FiberProductFiles(
        str(path), int(sum(counts)), s.n_pairs, (s.n, s.m), eps, s.metric
    )


def _true_distance_tasks(s: _Setup, i: np.ndarray, j: np.ndarray) -> tuple[list, list]:
    """``(positions, tasks)``: one task per block pair holding true pairs ``(i, j)``.

    Task ``k`` returns the canonical distances of the pairs at ``positions[k]``.
    """
    dask, _ = _require_dask()
    bi = np.searchsorted(s.F_off, i, side="right") - 1
    bj = np.searchsorted(s.G_off, j, side="right") - 1
    key = bi * len(s.G_blocks) + bj
    order = np.argsort(key, kind="stable")
    uniq, starts = np.unique(key[order], return_index=True)
    bounds = np.append(starts, len(order))
    true = dask.delayed(_pair_true, pure=True)
    groups: list[np.ndarray] = []
    todo: list[Any] = []
    for k, u in enumerate(uniq):
        idx = order[bounds[k] : bounds[k + 1]]
        a, b = divmod(int(u), len(s.G_blocks))
        groups.append(idx)
        todo.append(
            true(s.F_blocks[a], s.G_blocks[b], i[idx] - s.F_off[a], j[idx] - s.G_off[b],
                 s.metric)
        )
    return groups, todo


def _gather_distances(
    pairs: tuple[np.ndarray, np.ndarray], groups: list[np.ndarray], found: list[Any]
) -> np.ndarray:
    """The true distances, in the order of the pairs, from the tasks' results.

    A pair farther apart than the largest float64 raises ``ValueError`` (with
    its global indices), as in :func:`sheaftopo.fiber.epsilon_star`.
    """
    true_d = np.empty(len(pairs[0]), np.float64)
    for idx, d in zip(groups, found, strict=True):
        true_d[idx] = d
    check_true_distances(true_d, *pairs)
    return true_d


def fiber_profile_dask(
    F: Any,
    G: Any,
    eps_grid: Any,
    *,
    true_pairs: Any = None,
    fraction: float = 1.0,
    metric: str = "euclidean",
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> FiberProfile:
    r"""Sizes of the ε-products over a grid, recall of true pairs and ε*, on Dask.

    Every block-pair task runs :func:`sheaftopo.fiber.fiber_profile` on its
    two blocks and returns only the K counts of the grid; the client adds
    them. The canonical distances of the true pairs are computed by one task
    per block pair that holds any, from those two blocks. No pair list is
    ever formed.

    Parameters
    ----------
    F, G, metric, client, block_rows, timeout, progress
        As in :func:`fiber_product_dask`.
    eps_grid : array_like, shape (K,)
        Non-decreasing tolerances >= 0.
    true_pairs : "diagonal" or array_like of int, shape (T, 2), optional
        Pairs known to match; gives ``recall`` and ``epsilon_star``.
    fraction : float in (0, 1], default 1
        Recall target of ``epsilon_star``.
    memory_budget : int, optional
        Bytes one task may use (:func:`task_bytes` without pairs: a task
        keeps only its counts); as in :func:`fiber_product_dask` otherwise.

    Returns
    -------
    FiberProfile
        Equal field by field to :func:`sheaftopo.fiber.fiber_profile` on the
        same data (counts, recall, true distances bit for bit, ε*), except
        ``method="dask-blocked"``.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError, ConnectionError, ImportError
        As in :func:`fiber_product_dask` and :func:`sheaftopo.fiber.fiber_profile`
        (bad grid, bad or repeated true pairs, fraction outside (0, 1], a true
        pair farther apart than the largest float64).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import fiber_profile_dask
    >>> F = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G = F + np.array([[0.5], [0.1], [0.2], [0.3]])
    >>> prof = fiber_profile_dask(F, G, [0.0, 0.25, 0.5, 1.0], true_pairs="diagonal",
    ...                           block_rows=3)
    >>> prof.counts
    array([0, 2, 5, 7])
    >>> prof.recall
    array([0. , 0.5, 1. , 1. ])
    >>> prof.epsilon_star
    0.5
    """
    from ..fiber import FiberProfile

    grid = as_grid(eps_grid)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    s = _setup(F, G, metric, block_rows, memory_budget, pairs=False)
    pairs = None if true_pairs is None else checked_pairs(true_pairs, s.n, s.m)
    dask, _ = _require_dask()
    count = dask.delayed(_pair_counts, pure=True)
    groups: list[np.ndarray] = []

    def tasks() -> list[Any]:
        nonlocal groups
        todo = [count(A, B, grid, s.metric) for A in s.F_blocks for B in s.G_blocks]
        if pairs is not None:
            groups, extra = _true_distance_tasks(s, *pairs)
            todo += extra
        return todo

    found = _run_join(s, tasks, client, timeout, progress, "fiber_profile_dask")
    counts = np.zeros(len(grid), np.int64)
    for c in found[: s.n_pairs]:
        counts += c
    recall = true_d = star = None
    if pairs is not None:
        true_d = _gather_distances(pairs, groups, found[s.n_pairs :])
        sd = np.sort(true_d)
        recall = np.searchsorted(sd, grid, side="right") / len(sd)
        star = order_statistic(sd, q)
    return FiberProfile(
        eps=grid.copy(),
        counts=counts,
        n_total=s.n * s.m,
        recall=recall,
        true_distances=true_d,
        fraction=q,
        epsilon_star=star,
        metric=s.metric,
        method=METHOD,
    )


def true_distances_dask(
    F: Any,
    G: Any,
    true_pairs: Any,
    *,
    metric: str = "euclidean",
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> np.ndarray:
    r"""The canonical distances of known pairs of two chunked sets, on Dask.

    The ``true_distances`` of :func:`fiber_profile_dask` without the counts:
    one task per block pair holding any of the pairs (for ``"diagonal"`` and
    equal block sizes, one task per row block), so the cost is linear in the
    number of rows. From them, ``epsilon_star`` at any fraction is an order
    statistic, and a grid of tolerances can be chosen before the profile.

    Parameters
    ----------
    F, G, metric, client, block_rows, memory_budget, timeout, progress
        As in :func:`fiber_profile_dask`.
    true_pairs : "diagonal" or array_like of int, shape (T, 2)
        The pairs.

    Returns
    -------
    ndarray of float64, shape (T,)
        Bit for bit the ``true_distances`` of :func:`sheaftopo.fiber.fiber_profile`.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed._fiber import true_distances_dask
    >>> F = np.array([[0.0], [1.0], [2.0]])
    >>> true_distances_dask(F, F + 0.5, "diagonal", block_rows=2)
    array([0.5, 0.5, 0.5])
    """
    s = _setup(F, G, metric, block_rows, memory_budget, pairs=False)
    i, j = checked_pairs(true_pairs, s.n, s.m)
    groups: list[np.ndarray] = []

    def tasks() -> list[Any]:
        nonlocal groups
        groups, todo = _true_distance_tasks(s, i, j)
        return todo

    found = _run_join(s, tasks, client, timeout, progress, "true_distances_dask")
    return _gather_distances((i, j), groups, found)
