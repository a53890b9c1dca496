"""The blocked join behind the Dask fiber products: inputs, checks and tasks.

Every entry point of :mod:`._fiber` cuts F and G into row blocks
(:func:`setup`), checks every block in one Dask pass before any join task
runs (NaN, inf, zero rows with the cosine metric; the errors give global row
indices), and then computes one task per pair of an F block and a G block
(:func:`run_join`). A task runs the in-memory exact function of
:mod:`sheaftopo.fiber` on its two blocks only; :func:`task_bytes` is the
memory model that sizes the blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.dask import (
    DaskOptions,
    check_sizes,
    compute,
    connect,
    note,
    offsets_of,
    prepare,
    require_dask,
)
from .._core.fiber_blocks import (
    MAX_BLOCK_COLS,
    ROW_BLOCK,
    check_true_distances,
    pair_inputs,
    true_distances,
)
from .._validation import check_choice

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
    >>> from sheaftopo.distributed._join import task_bytes
    >>> task_bytes(1000, 64) // 2**20, task_bytes(1000, 64, pairs=True) // 2**20
    (7, 53)
    """
    screen = 8 * ROW_BLOCK * MAX_BLOCK_COLS
    listed = TASK_BYTES_PER_PAIR * rows * rows if pairs else 0
    return 2 * TASK_BYTES_PER_COORDINATE * rows * d + screen + listed


def product_task_bytes(rows: int, d: int) -> int:
    """:func:`task_bytes` of a task that lists its pairs (the worst case: all of them)."""
    return task_bytes(rows, d, pairs=True)


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
class Setup:
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
        dask, _ = require_dask()
        cosine = self.metric == "cosine"
        check = dask.delayed(_block_check, pure=True)
        blocks = self.F_blocks + self.G_blocks
        note(progress, f"checking {len(blocks)} row blocks of F and G")
        stats = compute([check(b, cosine) for b in blocks], client, progress)
        _check_blocks(stats[: len(self.F_blocks)], self.F_off, "F", cosine)
        _check_blocks(stats[len(self.F_blocks) :], self.G_off, "G", cosine)


def setup(F: Any, G: Any, metric: Any, opts: DaskOptions, pairs: bool) -> Setup:
    """Validate the arguments and cut F and G into row blocks (nothing is computed).

    ``pairs``: size the blocks for tasks that list their pairs
    (:func:`product_task_bytes`), not only count them (:func:`task_bytes`).
    """
    require_dask()
    metric = check_choice(metric, "metric", ("euclidean", "cosine"))
    block_rows, budget = check_sizes(opts.block_rows, opts.memory_budget)
    cost = product_task_bytes if pairs else task_bytes
    Fa = prepare(F, "F", block_rows, budget, cost)
    Ga = prepare(G, "G", block_rows, budget, cost)
    if Fa.shape[1] != Ga.shape[1]:
        raise ValueError(
            "F and G must live in the same space (the same number of columns d); got F of "
            f"shape {Fa.shape} and G of shape {Ga.shape}"
        )
    return Setup(
        list(Fa.to_delayed()[:, 0]),
        list(Ga.to_delayed()[:, 0]),
        offsets_of(Fa),
        offsets_of(Ga),
        int(Fa.shape[0]),
        int(Ga.shape[0]),
        metric,
    )


def run_join(s: Setup, tasks: Any, opts: DaskOptions, what: str) -> list[Any]:
    """Connect, check the blocks, then compute the tasks ``tasks()`` builds."""
    progress = bool(opts.progress)
    with connect(opts.client, opts.timeout) as cl:
        s.check(cl, progress)
        todo = tasks()
        note(
            progress,
            f"{what}: {len(todo)} tasks on {len(s.F_blocks)} x {len(s.G_blocks)} row blocks",
        )
        return compute(todo, cl, progress)


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------


def pair_product(A: Any, B: Any, off_a: int, off_b: int, eps: float, metric: str) -> tuple:
    """The ε-pairs between one F block and one G block, with global indices."""
    from ..fiber import approximate_fiber_product

    prod = approximate_fiber_product(A, B, eps, metric=metric, n_jobs=1)
    return prod.rows + np.int64(off_a), prod.cols + np.int64(off_b), prod.distances


def pair_write(A: Any, B: Any, off_a: int, off_b: int, eps: float, metric: str, path: str) -> int:
    """Write the ε-pairs of one block pair to the parquet file ``path``; the pair count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, cols, dist = pair_product(A, B, off_a, off_b, eps, metric)
    table = pa.table(
        {
            "row": pa.array(rows, pa.int64()),
            "col": pa.array(cols, pa.int64()),
            "distance": pa.array(dist, pa.float64()),
        }
    )
    pq.write_table(table, path)
    return int(rows.shape[0])


def pair_counts(A: Any, B: Any, grid: np.ndarray, metric: str) -> np.ndarray:
    """Per ε of the grid, the number of pairs of one block pair within it (no pairs kept)."""
    from ..fiber import fiber_profile

    return fiber_profile(A, B, grid, metric=metric, n_jobs=1).counts


def pair_true(A: Any, B: Any, i: np.ndarray, j: np.ndarray, metric: str) -> np.ndarray:
    """Canonical distances of the pairs ``(A[i], B[j])`` (local indices; may be inf)."""
    Av, Bv = pair_inputs(A, B)
    return true_distances(Av, Bv, i, j, metric)


def true_distance_tasks(s: Setup, i: np.ndarray, j: np.ndarray) -> tuple[list, list]:
    """``(positions, tasks)``: one task per block pair holding true pairs ``(i, j)``.

    Task ``k`` returns the canonical distances of the pairs at ``positions[k]``.
    """
    dask, _ = require_dask()
    bi = np.searchsorted(s.F_off, i, side="right") - 1
    bj = np.searchsorted(s.G_off, j, side="right") - 1
    key = bi * len(s.G_blocks) + bj
    order = np.argsort(key, kind="stable")
    uniq, starts = np.unique(key[order], return_index=True)
    bounds = np.append(starts, len(order))
    true = dask.delayed(pair_true, pure=True)
    groups: list[np.ndarray] = []
    todo: list[Any] = []
    for k, u in enumerate(uniq):
        idx = order[bounds[k] : bounds[k + 1]]
        a, b = divmod(int(u), len(s.G_blocks))
        groups.append(idx)
        todo.append(
            true(s.F_blocks[a], s.G_blocks[b], i[idx] - s.F_off[a], j[idx] - s.G_off[b], s.metric)
        )
    return groups, todo


def gather_distances(
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
