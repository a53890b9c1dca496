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

Inputs are normalised into row blocks by :func:`sheaftopo._core.dask.prepare`
(Dask arrays, in-memory arrays and lists of chunks, zarr arrays and stores,
directories of ``.npy`` or ``.parquet`` shards), for F and G independently.

Memory. A block-pair task holds its two blocks and the working memory of the
in-memory kernel on them (see :func:`._join.task_bytes`); the
``memory_budget`` of :class:`DaskOptions` bounds that estimate and sets the
block size. The join itself (block checks, tasks) is in :mod:`._join`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.dask import DaskOptions, require_dask
from .._core.fiber_blocks import as_grid, order_statistic
from .._core.fiber_blocks import true_pairs as checked_pairs
from .._validation import check_real
from ._join import (
    gather_distances,
    pair_counts,
    pair_product,
    pair_write,
    run_join,
    setup,
    true_distance_tasks,
)
from ._options import dask_options

if TYPE_CHECKING:
    from ..fiber import FiberProduct, FiberProfile

__all__ = [
    "FiberProductFiles",
    "fiber_product_dask",
    "fiber_profile_dask",
    "true_distances_dask",
    "write_fiber_product_dask",
]

#: ``method`` recorded in the returned FiberProduct / FiberProfile
METHOD = "dask-blocked"
#: name pattern of the parquet files written by write_fiber_product_dask
PART_NAME = "part-{i:05d}-{j:05d}.parquet"


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


def fiber_product_dask(
    F: Any,
    G: Any,
    eps: float,
    *,
    metric: str = "euclidean",
    options: DaskOptions | None = None,
    **deprecated: Any,
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
    options : DaskOptions, optional
        Where and in what blocks to run (default ``DaskOptions()``: Dask's
        current scheduler, blocks of at most 4096 rows, a Dask input keeping
        its row chunks). ``block_rows`` cuts both F and G; ``memory_budget``
        bounds the bytes of one task, estimated with the worst case of every
        pair of a block pair listed.
    **deprecated
        ``client``, ``block_rows``, ``memory_budget``, ``timeout``,
        ``progress``: the fields of ``options`` as keywords, as before
        sheaftopo 0.2; they give the same result with a
        ``DeprecationWarning`` and go away in sheaftopo 0.3.

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
        ``eps`` negative or not finite; ``options.block_rows`` below 1 or above
        what ``options.memory_budget`` allows.
    TypeError
        Non-real input (a non-numeric parquet column); ``block_rows`` or
        ``memory_budget`` not an integer; ``client`` neither a client, an
        address nor None; ``options`` not a DaskOptions, or given together
        with deprecated keywords.
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
    >>> from sheaftopo.distributed import DaskOptions, fiber_product_dask
    >>> F = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    >>> G = np.array([[0.0, 0.0], [0.0, 5.0], [3.0, 4.0]])
    >>> prod = fiber_product_dask(F, G, 5.0, options=DaskOptions(block_rows=2))
    >>> prod.rows, prod.cols
    (array([0, 0, 0, 1, 1, 1]), array([0, 1, 2, 0, 1, 2]))
    >>> prod.distances
    array([0.        , 5.        , 5.        , 5.        , 3.16227766, 0.        ])
    """
    from ..fiber import FiberProduct

    opts = dask_options(options, deprecated, "fiber_product_dask")
    eps = check_real(eps, "eps", low=0.0)
    s = setup(F, G, metric, opts, pairs=True)
    dask, _ = require_dask()
    task = dask.delayed(pair_product, pure=True)

    def tasks() -> list[Any]:
        return [
            task(A, B, int(s.F_off[i]), int(s.G_off[j]), eps, s.metric)
            for i, A in enumerate(s.F_blocks)
            for j, B in enumerate(s.G_blocks)
        ]

    found = run_join(s, tasks, opts, "fiber_product_dask")
    rows = np.concatenate([f[0] for f in found]).astype(np.int64, copy=False)
    cols = np.concatenate([f[1] for f in found]).astype(np.int64, copy=False)
    dist = np.concatenate([f[2] for f in found]).astype(np.float64, copy=False)
    order = np.lexsort((cols, rows))
    return FiberProduct(rows[order], cols[order], dist[order], (s.n, s.m), eps, s.metric, METHOD)


def write_fiber_product_dask(
    F: Any,
    G: Any,
    eps: float,
    out: str | os.PathLike[str],
    *,
    metric: str = "euclidean",
    options: DaskOptions | None = None,
    **deprecated: Any,
) -> FiberProductFiles:
    r"""Write the exact ε-product of two chunked embedding sets to a parquet dataset.

    As :func:`fiber_product_dask`, but every block-pair task writes its pairs
    to its own file under ``out`` and returns only their number, so neither
    the client nor any worker ever holds more than one block pair's pairs.

    Parameters
    ----------
    F, G, eps, metric, options, **deprecated
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
    >>> from sheaftopo.distributed import DaskOptions, write_fiber_product_dask
    >>> F = np.array([[0.0], [1.0], [2.0]])
    >>> G = np.array([[0.5], [3.0]])
    >>> out = os.path.join(tempfile.mkdtemp(), "pairs")
    >>> files = write_fiber_product_dask(F, G, 1.0, out, options=DaskOptions(block_rows=2))
    >>> files.n_pairs, files.n_files
    (3, 2)
    >>> df = pd.read_parquet(out).sort_values(["row", "col"])
    >>> df.to_numpy().tolist()
    [[0.0, 0.0, 0.5], [1.0, 0.0, 0.5], [2.0, 1.0, 1.0]]
    """
    opts = dask_options(options, deprecated, "write_fiber_product_dask")
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
    s = setup(F, G, metric, opts, pairs=True)
    dask, _ = require_dask()
    task = dask.delayed(pair_write, pure=True)

    def tasks() -> list[Any]:
        path.mkdir(parents=True, exist_ok=True)
        return [
            task(
                A,
                B,
                int(s.F_off[i]),
                int(s.G_off[j]),
                eps,
                s.metric,
                str(path / PART_NAME.format(i=i, j=j)),
            )
            for i, A in enumerate(s.F_blocks)
            for j, B in enumerate(s.G_blocks)
        ]

    counts = run_join(s, tasks, opts, "write_fiber_product_dask")
    return FiberProductFiles(str(path), int(sum(counts)), s.n_pairs, (s.n, s.m), eps, s.metric)


def fiber_profile_dask(
    F: Any,
    G: Any,
    eps_grid: Any,
    *,
    true_pairs: Any = None,
    fraction: float = 1.0,
    metric: str = "euclidean",
    options: DaskOptions | None = None,
    **deprecated: Any,
) -> FiberProfile:
    r"""Sizes of the ε-products over a grid, recall of true pairs and ε*, on Dask.

    Every block-pair task runs :func:`sheaftopo.fiber.fiber_profile` on its
    two blocks and returns only the K counts of the grid; the client adds
    them. The canonical distances of the true pairs are computed by one task
    per block pair that holds any, from those two blocks. No pair list is
    ever formed.

    Parameters
    ----------
    F, G, metric, **deprecated
        As in :func:`fiber_product_dask`.
    eps_grid : array_like, shape (K,)
        Non-decreasing tolerances >= 0.
    true_pairs : "diagonal" or array_like of int, shape (T, 2), optional
        Pairs known to match; gives ``recall`` and ``epsilon_star``.
    fraction : float in (0, 1], default 1
        Recall target of ``epsilon_star``.
    options : DaskOptions, optional
        As in :func:`fiber_product_dask`, except that the ``memory_budget``
        estimate of a task lists no pairs (a task keeps only its counts).

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
    >>> from sheaftopo.distributed import DaskOptions, fiber_profile_dask
    >>> F = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G = F + np.array([[0.5], [0.1], [0.2], [0.3]])
    >>> prof = fiber_profile_dask(F, G, [0.0, 0.25, 0.5, 1.0], true_pairs="diagonal",
    ...                           options=DaskOptions(block_rows=3))
    >>> prof.counts
    array([0, 2, 5, 7])
    >>> prof.recall
    array([0. , 0.5, 1. , 1. ])
    >>> prof.epsilon_star
    0.5
    """
    from ..fiber import FiberProfile

    opts = dask_options(options, deprecated, "fiber_profile_dask")
    grid = as_grid(eps_grid)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    s = setup(F, G, metric, opts, pairs=False)
    pairs = None if true_pairs is None else checked_pairs(true_pairs, s.n, s.m)
    dask, _ = require_dask()
    count = dask.delayed(pair_counts, pure=True)
    groups: list[np.ndarray] = []

    def tasks() -> list[Any]:
        nonlocal groups
        todo = [count(A, B, grid, s.metric) for A in s.F_blocks for B in s.G_blocks]
        if pairs is not None:
            groups, extra = true_distance_tasks(s, *pairs)
            todo += extra
        return todo

    found = run_join(s, tasks, opts, "fiber_profile_dask")
    counts = np.zeros(len(grid), np.int64)
    for c in found[: s.n_pairs]:
        counts += c
    recall = true_d = star = None
    if pairs is not None:
        true_d = gather_distances(pairs, groups, found[s.n_pairs :])
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
    options: DaskOptions | None = None,
    **deprecated: Any,
) -> np.ndarray:
    r"""The canonical distances of known pairs of two chunked sets, on Dask.

    The ``true_distances`` of :func:`fiber_profile_dask` without the counts:
    one task per block pair holding any of the pairs (for ``"diagonal"`` and
    equal block sizes, one task per row block), so the cost is linear in the
    number of rows. From them, ``epsilon_star`` at any fraction is an order
    statistic, and a grid of tolerances can be chosen before the profile.

    Parameters
    ----------
    F, G, metric, options, **deprecated
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
    >>> from sheaftopo.distributed import DaskOptions, true_distances_dask
    >>> F = np.array([[0.0], [1.0], [2.0]])
    >>> true_distances_dask(F, F + 0.5, "diagonal", options=DaskOptions(block_rows=2))
    array([0.5, 0.5, 0.5])
    """
    opts = dask_options(options, deprecated, "true_distances_dask")
    s = setup(F, G, metric, opts, pairs=False)
    i, j = checked_pairs(true_pairs, s.n, s.m)
    groups: list[np.ndarray] = []

    def tasks() -> list[Any]:
        nonlocal groups
        groups, todo = true_distance_tasks(s, i, j)
        return todo

    found = run_join(s, tasks, opts, "true_distances_dask")
    return gather_distances((i, j), groups, found)
