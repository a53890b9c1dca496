"""The inputs of ``sheaftopo analyze``: embedding sets, labels and where each came from.

Files are read with :mod:`sheaftopo.io`; with ``--dask`` / ``--scheduler`` a
directory of shards or a zarr store stays a lazy Dask array; ``--demo`` loads
the multi-view digits shipped with the package.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._dask import uses_dask
from ._errors import InputError

__all__ = ["DEMO_VIEWS", "check_degenerate", "load_inputs"]

#: the views of the shipped multi-view digits that ``analyze --demo`` compares
DEMO_VIEWS: tuple[str, ...] = ("fou", "kar", "pix")


def load_inputs(args: argparse.Namespace) -> tuple[dict, Any, dict[str, str]]:
    """Sets, labels (or None) and the source of each, from the files or the demo data.

    Raises
    ------
    InputError
        No files, files with ``--demo``, or a directory without Dask.
    """
    if args.demo:
        return _demo(args)
    from ..io import load_embedding_sets, split_spec

    if not args.files:
        raise InputError("give two or more embedding files (or one .npz of several), or --demo")
    dirs = [f for f in args.files if Path(split_spec(f)[0]).is_dir()]
    if dirs and not uses_dask(args):
        raise InputError(
            f"{dirs[0]}: is a directory; shard directories and zarr stores are read with "
            "--dask or --scheduler ADDRESS"
        )
    if dirs:
        sets, sources = _load_lazy(args.files)
        return sets, _labels(args, sets, sources), sources
    exclude: list[str] = []
    if args.labels and len(args.files) == 1:
        lpath, lkey = split_spec(args.labels)
        fpath, _ = split_spec(args.files[0])
        if lkey is not None and lpath.absolute() == fpath.absolute():
            exclude.append(lkey)
    sets = load_embedding_sets(args.files, exclude=exclude)
    if len(args.files) == 1:
        base = str(split_spec(args.files[0])[0])
        sources = {name: f"{base}:{name}" for name in sets}
    else:
        sources = {name: str(spec) for name, spec in zip(sets, args.files, strict=True)}
    return sets, _labels(args, sets, sources), sources


def _demo(args: argparse.Namespace) -> tuple[dict, Any, dict[str, str]]:
    """The shipped multi-view digits (:data:`DEMO_VIEWS`, standardized) and their classes."""
    if args.files or args.labels:
        raise InputError("--demo uses the shipped data; give no files and no --labels")
    from ..datasets import load_mfeat

    data = load_mfeat(list(DEMO_VIEWS), standardize=True)
    sources = {
        v: f"shipped mfeat view {v!r} (sheaftopo.datasets.load_mfeat, standardized)"
        for v in DEMO_VIEWS
    }
    sources["__labels__"] = "shipped mfeat digit classes (0-9)"
    return dict(data.views), data.labels, sources


def _labels(args: argparse.Namespace, sets: dict, sources: dict[str, str]) -> Any:
    """The ``--labels`` of the sets' rows (None without the flag); notes their source."""
    from ..io import load_labels

    labels = None
    if args.labels:
        import numpy as np

        n = next(iter(sets.values())).shape[0]
        labels = load_labels(args.labels, n_rows=n)
        if len(np.unique(labels)) < 2:
            raise InputError(
                f"{args.labels}: every row has the same label; silhouette and NMI need at "
                "least 2 classes"
            )
        sources["__labels__"] = str(args.labels)
    return labels


def _load_lazy(files: Sequence[str]) -> tuple[dict, dict[str, str]]:
    """Sets of which some are directories (shards, zarr): those stay lazy Dask arrays."""
    from .._core.dask import mst_task_bytes, prepare
    from ..io import load_embeddings, split_spec, unique_name

    if len(files) < 2:
        raise InputError(
            "give two or more embedding sets (files, shard directories or zarr stores)"
        )
    sets: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in files:
        path, key = split_spec(spec)
        name = unique_name(path.stem if key is None else f"{path.stem}:{key}", sets)
        if path.is_dir():
            try:
                sets[name] = prepare(str(path), str(spec), None, None, mst_task_bytes)
            except (ValueError, TypeError) as e:
                raise InputError(str(e)) from e
        else:
            sets[name] = load_embeddings(spec)
        sources[name] = str(spec)
    return sets, sources


def check_degenerate(sets: dict, sources: dict[str, str]) -> None:
    """Refuse a set of fewer than 3 rows, or one whose rows are all the same vector.

    Raises
    ------
    InputError
        Too few rows, naming the set's source.
    EmbeddingFileError
        All rows equal (:func:`sheaftopo.io.check_distinct_rows`).
    """
    import numpy as np

    from ..io import check_distinct_rows

    for name, X in sets.items():
        if X.shape[0] < 3:
            raise InputError(
                f"{sources[name]}: has {X.shape[0]} rows; an analysis needs at least 3"
            )
        if isinstance(X, np.ndarray):  # lazy sets: checked by the report on the subsample
            check_distinct_rows(X, sources[name])
