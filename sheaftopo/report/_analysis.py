"""The analysis: checks its input, then loops over the registered steps.

:func:`analyze` takes two or more embedding sets with paired rows and returns an
:class:`~._config.AnalysisResult`: a JSON-ready tree of every quantity (each
with its unit) and the arrays the figures are drawn from. It draws the seeded
subsamples, runs every set step of :data:`._sections.SET_STEPS` on each set and
every pair step of :data:`._sections.PAIR_STEPS` on each pair (each step is one
section module; every quantity comes from a library function called on the
analysed rows, or from the engine for the exact all-pairs measures) and files
what they return.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validation import check_int
from . import _sections
from ._config import AnalysisConfig, AnalysisResult, pair_key, pair_names, q
from ._engine import Engine, InMemory
from ._preprocess import check_graph, check_labels, check_spread, paired_subsample
from ._progress import Progress
from ._steps import GroupInput, PairInput, SetInput

__all__ = ["analyze", "count_steps"]


def count_steps(n_sets: int, has_labels: bool) -> int:
    """Number of progress steps :func:`analyze` takes for ``n_sets`` sets."""
    n_sets = check_int(n_sets, "n_sets", minimum=0)
    if not isinstance(has_labels, (bool, np.bool_)):
        raise TypeError(f"has_labels must be True or False; got {has_labels!r}")
    per_set = sum(1 for step in _sections.SET_STEPS if has_labels or not step.needs_labels)
    group = sum(1 for step in _sections.GROUP_STEPS if n_sets >= step.min_sets)
    return n_sets * per_set + n_sets * (n_sets - 1) // 2 * len(_sections.PAIR_STEPS) + group


def analyze(
    sets: Mapping[str, Any],
    *,
    labels: Any = None,
    config: AnalysisConfig | None = None,
    sources: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    dask: Any = None,
    graph: Any = None,
) -> AnalysisResult:
    """Compute an alignment report for two or more embedding sets with paired rows.

    For each set: H0 persistence (MST deaths), ToMCLIP's ε-sparsification at
    λ with its proved W2 error bound next to the true W2, and with labels the
    silhouette and NMI. For each pair of sets: sliced-Wasserstein and
    bottleneck distances between the scale-normalised H0 diagrams, the
    distance-matrix alignment, kNN neighbourhood overlap and Hausdorff
    mismatch (all dimension-free); then, in a shared space (the raw space when
    the dimensions agree, a CCA space otherwise), cross-modal retrieval
    recall@k, OT cost, Bures–Wasserstein distance between Gaussian fits, MMD,
    modality gap and the approximate fiber-product profile; and the
    shared/specific subspace decomposition of the raw sets.

    Parameters
    ----------
    sets : mapping of str to array_like, each of shape (n, d_name)
        The embedding sets; row i of every set describes item i.
    labels : array_like, shape (n,), optional
        A class per row.
    config : AnalysisConfig, optional
        Parameters (defaults: :class:`AnalysisConfig`).
    sources : mapping of str to str, optional
        Where each set came from (file names), recorded in the report.
    progress : Progress, optional
        Shows the steps; none by default.
    dask : DaskOptions, optional
        Run the exact all-pairs measures on every row, on Dask: the H0
        diagram of each set (:func:`sheaftopo.distributed.mst_dask`, and the
        diagram distances built on it) and the fiber-product profile and ε*
        of each pair (:func:`sheaftopo.distributed.fiber_profile_dask`; a CCA
        shared space is fitted on the subsample and applied to every row).
        The sets may then be anything :mod:`sheaftopo.distributed` reads
        lazily (Dask arrays, zarr stores, directories of ``.npy`` or
        ``.parquet`` shards, lists of chunks); every other measure runs on
        the seeded subsample of ``max_points`` rows gathered from them, and
        ``center`` / ``standardize`` use the statistics of every row.
        ``report.json``'s ``meta.distributed`` says which measure ran where,
        on how many rows.
    graph : sequence of (str, str) or networkx graph, optional
        The modality graph of the ``sheaf`` section (three or more sets):
        edges between set names. Default: every pair of sets.

    Returns
    -------
    AnalysisResult

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import AnalysisConfig, analyze
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((200, 8))
    >>> res = analyze({"a": A, "b": A.copy()}, config=AnalysisConfig(k=5))
    >>> p = res.pair("a", "b")
    >>> p["persistence"]["bottleneck"]["value"], p["retrieval"]["recall_a_to_b"]["@1"]["value"]
    (0.0, 1.0)
    """
    for arg, value, kind in (
        ("config", config, AnalysisConfig),
        ("progress", progress, Progress),
        ("sources", sources, Mapping),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{arg} must be a {kind.__name__} or None; got {type(value).__name__}")
    cfg = (config or AnalysisConfig()).validated()
    if dask is None:
        return _analyze(InMemory(sets), labels, cfg, sources, progress, graph)
    from ._dask_engine import on_dask

    with on_dask(sets, dask) as engine:
        return _analyze(engine, labels, cfg, sources, progress, graph)


@dataclass(frozen=True)
class _Plan:
    """The rows an analysis works on, drawn and checked before any step runs."""

    names: list[str]
    n_total: int
    labels: np.ndarray | None  # one per row of the sets
    idx: np.ndarray | None  # the analysed rows (None: all)
    X: dict[str, np.ndarray]  # every set's analysed rows, preprocessed
    n: int  # number of analysed rows
    y: np.ndarray | None  # the analysed rows' labels
    dense: np.ndarray | None  # positions of the dense subsample among the analysed rows
    rows: np.ndarray  # original row number of every analysed row
    graph: list[tuple[int, int]]  # the modality graph, as index pairs into names


def _plan(engine: Engine, labels: Any, cfg: AnalysisConfig, graph: Any = None) -> _Plan:
    """Check labels and graph, draw the subsamples (one generator, in this order), check rows."""
    names = list(engine.raw)
    edges = check_graph(graph, names)
    n_total = engine.raw[names[0]].shape[0]
    y = None if labels is None else check_labels(labels, n_total)
    rng = np.random.default_rng(cfg.seed)
    idx = paired_subsample(n_total, cfg.max_points, rng)
    X = engine.rows(idx, cfg.preprocess)
    n = X[names[0]].shape[0]
    if n < cfg.k + 2:
        raise ValueError(
            f"the sets have {n} analysed rows; the kNN steps need at least k + 2 = {cfg.k + 2}"
        )
    for name, M in X.items():
        check_spread(M, name)
    y_an = None if y is None else (y if idx is None else y[idx])
    if y_an is not None and not 2 <= len(np.unique(y_an)) <= n - 1:
        raise ValueError(
            f"labels must take between 2 and n - 1 = {n - 1} distinct values on the {n} "
            f"analysed rows (silhouette and NMI); got {len(np.unique(y_an))}"
        )
    dense = paired_subsample(n, cfg.dense_max_points, rng)
    rows = np.arange(n, dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
    return _Plan(names, n_total, y, idx, X, n, y_an, dense, rows, edges)


def _analyze(
    engine: Engine,
    labels: Any,
    cfg: AnalysisConfig,
    sources: Mapping[str, str] | None,
    progress: Progress | None,
    graph: Any = None,
) -> AnalysisResult:
    """The body of :func:`analyze`: the steps of every set, of every pair, then of the group."""
    plan = _plan(engine, labels, cfg, graph)
    own_progress = progress is None
    prog = progress or Progress(
        count_steps(len(plan.names), plan.labels is not None), enabled=False
    )
    t_start = time.perf_counter()
    sets_out, set_arrays = _run_set_steps(plan, cfg, engine, prog)
    pairs_out, pair_arrays, pair_products = _run_pair_steps(plan, cfg, engine, prog, set_arrays)
    group_out, group_arrays = _run_group_steps(
        plan, cfg, engine, prog, set_arrays, pairs_out, pair_products
    )
    elapsed = time.perf_counter() - t_start
    if own_progress:
        prog.close()
    data: dict[str, Any] = {
        "meta": _meta(cfg),
        "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "inputs": _inputs(engine, plan, cfg, sources),
        "sets": sets_out,
        "pairs": pairs_out,
        **group_out,
        "timings": {
            "total": q(elapsed, "seconds"),
            "steps": {k: q(v, "seconds") for k, v in prog.timings.items()},
        },
    }
    distributed = engine.meta(plan.n)
    if distributed is not None:
        data["meta"]["distributed"] = distributed
    return AnalysisResult(
        data=data, arrays={"sets": set_arrays, "pairs": pair_arrays, **group_arrays}
    )


def _run_set_steps(
    plan: _Plan, cfg: AnalysisConfig, engine: Engine, prog: Progress
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every set step on every set: the ``sets`` of report.json and the sets' arrays."""
    sets_out: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name in plan.names:
        inp = SetInput(name, plan.X[name], cfg, plan.dense, plan.y)
        entry: dict[str, Any] = {"n_dims": q(inp.M.shape[1], "count")}
        arrays[name] = {}
        for step in _sections.SET_STEPS:
            if step.needs_labels and plan.y is None:
                continue
            with prog.step(f"{step.label}: {name}"):
                section = step.run(inp, engine)
            entry[step.key] = section.entry
            arrays[name].update(section.arrays or {})
        sets_out[name] = entry
    return sets_out, arrays


def _run_pair_steps(
    plan: _Plan, cfg: AnalysisConfig, engine: Engine, prog: Progress, set_arrays: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Every pair step on every pair: ``pairs`` of report.json, the arrays, the products."""
    pairs_out = []
    arrays: dict[str, Any] = {}
    all_products: dict[str, Any] = {}
    memo: dict[tuple[str, str], Any] = {}
    for a, b in pair_names(plan.names):
        key = pair_key(a, b)
        products: dict[str, Any] = {}
        inp = PairInput(
            a, b, plan.X[a], plan.X[b], cfg, plan.dense, set_arrays, products, memo, plan.rows,
            plan.y,
        )  # fmt: skip
        entry: dict[str, Any] = {"key": key, "a": a, "b": b}
        arrays[key] = {}
        for step in _sections.PAIR_STEPS:
            with prog.step(f"{step.label}: {key}"):
                section = step.run(inp, engine)
            entry[step.key] = section.entry
            if section.arrays is not None:
                arrays[key][step.key] = section.arrays
            if section.provides is not None:
                products[step.key] = section.provides
        pairs_out.append(entry)
        all_products[key] = products
    return pairs_out, arrays, all_products


def _run_group_steps(
    plan: _Plan,
    cfg: AnalysisConfig,
    engine: Engine,
    prog: Progress,
    set_arrays: dict[str, Any],
    pairs_out: list[dict[str, Any]],
    pair_products: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every group step that has enough sets: top-level entries of report.json, and arrays."""
    out: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    inp = GroupInput(
        plan.names, plan.X, cfg, plan.graph, plan.rows, plan.y, pairs_out, pair_products,
        set_arrays,
    )  # fmt: skip
    for step in _sections.GROUP_STEPS:
        if len(plan.names) < step.min_sets:
            out[step.key] = None
            continue
        with prog.step(step.label):
            section = step.run(inp, engine)
        out[step.key] = section.entry
        if section.arrays is not None:
            arrays[step.key] = section.arrays
    return out, arrays


def _meta(cfg: AnalysisConfig) -> dict[str, Any]:
    from .. import __version__

    return {
        "tool": "sheaftopo analyze",
        "sheaftopo_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": cfg.seed,
    }


def _inputs(
    engine: Engine, plan: _Plan, cfg: AnalysisConfig, sources: Mapping[str, str] | None
) -> dict[str, Any]:
    """``inputs`` of report.json: the sets, the labels and the subsamples."""
    raw, y, idx = engine.raw, plan.labels, plan.idx
    return {
        "sets": [
            {
                "name": name,
                "source": (sources or {}).get(name, "in memory"),
                "n_rows": q(raw[name].shape[0], "count"),
                "n_dims": q(raw[name].shape[1], "count"),
                "dtype": str(raw[name].dtype),
            }
            for name in plan.names
        ],
        "labels": None
        if y is None
        else {
            "source": (sources or {}).get("__labels__", "in memory"),
            "n_classes": q(len(np.unique(y)), "count"),
        },
        "n_rows": q(plan.n_total, "count"),
        "n_rows_analysed": q(plan.n, "count"),
        "subsample": {
            "applied": idx is not None,
            "seed": cfg.seed,
            "method": "numpy.random.default_rng(seed).choice(n, size, replace=False), sorted; "
            "the same rows of every set",
            "indices": None if idx is None else idx.tolist(),
        },
        "dense_subsample": _sub_info(
            plan.dense, plan.n, "ToMCLIP sparsification and its bound, exact OT, MMD"
        ),
    }


def _sub_info(sub: np.ndarray | None, n: int, used_for: str) -> dict[str, Any]:
    return {
        "applied": sub is not None,
        "size": q(n if sub is None else len(sub), "count"),
        "used_for": used_for,
        "positions": None if sub is None else sub.tolist(),
        "note": "positions among the analysed rows, drawn after the main subsample from the "
        "same generator",
    }
