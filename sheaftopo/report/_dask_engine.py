"""The Dask engine of :func:`sheaftopo.report.analyze`: all rows, lazily.

With :class:`DaskOptions`, :func:`~sheaftopo.report.analyze` reads its sets
lazily (anything :mod:`sheaftopo.distributed` accepts: Dask arrays, zarr
stores, directories of ``.npy`` or ``.parquet`` shards, lists of chunks),
preprocesses them lazily with statistics of all rows, runs the exact
all-pairs measures on every row on Dask (the H0 diagram of each set, the
fiber-product profile and ε* of each pair) and gathers a seeded subsample of
rows for every other measure. Dask is imported here only, never by
``import sheaftopo.report``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..distributed import DaskOptions
from ._engine import Projection
from ._measures import rms_pairwise_distance
from ._preprocess import check_mapping, check_paired_rows, standardized, unit_rows

__all__ = ["DaskOptions", "OnDask", "on_dask"]


def lazy_sets(sets: Any, opts: DaskOptions) -> dict[str, Any]:
    """Every set as a row-blocked Dask array (read lazily), checked for shape only."""
    from collections.abc import Mapping

    from .._core.dask import mst_task_bytes, prepare

    if not isinstance(sets, Mapping):
        raise TypeError(f"sets must be a mapping of name to array; got {type(sets).__name__}")
    return {
        str(k): prepare(v, f"set {k!r}", opts.block_rows, opts.memory_budget, mst_task_bytes)
        for k, v in sets.items()
    }


def _unit_block(B: np.ndarray, block_info: Any = None) -> np.ndarray:
    """One row block scaled to unit rows (a zero row raises with its global index)."""
    start = 0 if block_info is None else int(block_info[0]["array-location"][0][0])
    return unit_rows(np.array(B, dtype=np.float64), start)


def preprocess_lazy(arr: Any, how: str, client: Any) -> Any:
    """:func:`~sheaftopo.report.preprocess` of a Dask array, with statistics of all rows."""
    from .._core.dask import compute

    if how == "none":
        return arr
    if how == "l2":
        return arr.map_blocks(_unit_block, dtype=np.float64)
    Y = arr.astype(np.float64)
    mean, sd = compute([Y.mean(axis=0), Y.std(axis=0)], client)
    return standardized(Y, mean, sd if how == "standardize" else None)


def gather(arrays: dict[str, Any], idx: np.ndarray | None, client: Any) -> dict[str, np.ndarray]:
    """The rows ``idx`` (sorted; None: all) of every array, in memory, in one pass."""
    from .._core.dask import compute

    names = list(arrays)
    parts = [arrays[k] if idx is None else arrays[k][idx] for k in names]
    return {k: np.asarray(v) for k, v in zip(names, compute(parts, client), strict=True)}


def rms_pairwise_distance_lazy(arr: Any, client: Any) -> float:
    """:func:`~sheaftopo.report.rms_pairwise_distance` of a Dask array (two passes)."""
    from .._core.dask import compute

    Y = arr.astype(np.float64)
    n = int(Y.shape[0])
    if n < 2:
        raise ValueError(f"X needs at least 2 rows to have pairwise distances; got {n}")
    (mean,) = compute([Y.mean(axis=0)], client)
    C = Y - mean
    (ss,) = compute([(C * C).sum()], client)
    return float(np.sqrt(2.0 * n / (n - 1) * float(ss) / n))


#: what runs on every row on Dask, and what on the subsample, as report.json says
ON_DASK = (
    "H0 persistence of each set (sheaftopo.distributed.mst_dask) and the diagram distances "
    "(sliced Wasserstein, bottleneck) between those diagrams",
    "fiber-product profile, eps* and the eps of 50% and 90% recall of each pair "
    "(sheaftopo.distributed.fiber_profile_dask), in the pair's shared space",
)
ON_SUBSAMPLE = (
    "ToMCLIP sparsification and its bound, exact OT, MMD (on the dense subsample of the "
    "analysed rows)",
    "labels (silhouette, NMI)",
    "distance alignment",
    "kNN neighbourhoods",
    "shared space (a CCA space is fitted on these rows and applied to every row)",
    "retrieval",
    "distributions",
    "subspaces",
)


@contextmanager
def on_dask(sets: Any, dask: Any) -> Iterator[OnDask]:
    """The Dask engine of the sets, connected to the scheduler of ``dask`` (a DaskOptions)."""
    from .._core.dask import connect

    if not isinstance(dask, DaskOptions):
        raise TypeError(f"dask must be a DaskOptions or None; got {type(dask).__name__}")
    opts = dask.validated()
    check_mapping(sets)
    with connect(opts.client, opts.timeout) as client:
        yield OnDask(sets, opts, client)


class OnDask:
    """The engine of :func:`~sheaftopo.report.analyze` with :class:`DaskOptions`: on Dask."""

    def __init__(self, sets: Any, opts: DaskOptions, client: Any) -> None:
        self.opts = opts
        self.client = client
        self.kw = opts.kwargs(client)
        self.raw = lazy_sets(sets, opts)
        check_paired_rows(self.raw)
        self.how = "none"
        self.full: dict[str, Any] = {}

    def rows(self, idx: np.ndarray | None, how: str) -> dict[str, np.ndarray]:
        """Preprocess every row lazily; gather the analysed rows."""
        self.how = how
        self.full = {k: preprocess_lazy(v, how, self.client) for k, v in self.raw.items()}
        return gather(self.full, idx, self.client)

    def set_rows(self, name: str, analysed: np.ndarray) -> Any:
        return self.full[name]

    def shared_rows(
        self, a: str, b: str, project: Projection, ZA: np.ndarray, ZB: np.ndarray
    ) -> tuple[Any, Any]:
        return project(self.full[a], self.full[b])

    def stacked(self, FA: Any, FB: Any) -> Any:
        import dask.array as da

        return da.concatenate([FA, FB])

    def spanning_forest(self, X: Any) -> Any:
        from ..distributed import mst_dask

        return mst_dask(X, **self.kw)

    def rms_pairwise_distance(self, X: Any, analysed: np.ndarray) -> float:
        """The RMS pairwise distance of every row; from memory when every row was analysed."""
        if analysed.shape[0] == X.shape[0]:
            return rms_pairwise_distance(analysed)
        return rms_pairwise_distance_lazy(X, self.client)

    def epsilon_stars(self, FA: Any, FB: Any, fractions: Sequence[float]) -> list[float]:
        from .._core.fiber_blocks import order_statistic
        from ..distributed import true_distances_dask

        sd = np.sort(true_distances_dask(FA, FB, "diagonal", **self.kw))
        return [order_statistic(sd, f) for f in fractions]

    def fiber_profile(self, FA: Any, FB: Any, eps: np.ndarray) -> Any:
        from ..distributed import fiber_profile_dask

        return fiber_profile_dask(FA, FB, eps, true_pairs="diagonal", **self.kw)

    def computed_on(self, X: Any) -> str | None:
        return f"all {X.shape[0]} rows, on Dask"

    def meta(self, n: int) -> dict[str, Any]:
        """``meta.distributed`` of report.json: the scheduler and what ran where."""
        n_all = int(next(iter(self.raw.values())).shape[0])
        stats = {
            "none": "none",
            "l2": "each row scaled to unit norm (row by row, on Dask)",
            "center": "column means of all rows, computed on Dask",
            "standardize": "column means and standard deviations of all rows, computed on Dask",
        }
        return {
            "scheduler": self.opts.describe(self.client),
            "block_rows": self.opts.block_rows,
            "memory_budget": self.opts.memory_budget,
            "preprocessing": stats[self.how],
            "on_dask": {"n_points": n_all, "measures": list(ON_DASK)},
            "on_subsample": {"n_points": int(n), "measures": list(ON_SUBSAMPLE)},
        }
