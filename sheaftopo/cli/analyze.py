"""``sheaftopo analyze``: the alignment report of embedding sets with paired rows.

``sheaftopo analyze A B [C ...]`` (or ``--demo``) loads the sets, checks the
options through :meth:`sheaftopo.report.AnalysisConfig.validated` and
:meth:`sheaftopo.distributed.DaskOptions.validated` (their messages name the
command-line flag), runs :func:`sheaftopo.report.analyze` (on a Dask cluster
with ``--dask`` / ``--scheduler``) and writes the report into ``--out``
atomically: on any error nothing is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._dask import dask_client, uses_dask
from ._errors import PROG, InputError, error
from ._inputs import DEMO_VIEWS, check_degenerate, load_inputs

__all__ = ["DEMO_VIEWS", "add_parser", "run"]

#: the command-line flag of each field of AnalysisConfig and DaskOptions, for their messages
FLAGS: dict[str, str] = {
    "max_points": "--max-points",
    "seed": "--seed",
    "dense_max_points": "--dense-max-points",
    "k": "-k/--neighbors",
    "lam": "--lam",
    "shared_space": "--shared-space",
    "shared_dim": "--shared-dim",
    "preprocess": "--preprocess",
    "retrieval_metric": "--retrieval-metric",
    "shared_rule": "--shared-rule",
    "shared_threshold": "--shared-threshold",
    "n_permutations": "--permutations",
    "n_worst": "--worst",
    "block_rows": "--block-rows",
    "memory_budget": "--memory-budget",
    "timeout": "--scheduler-timeout",
}

_BYTE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
               "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
               "tib": 2**40}  # fmt: skip


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``analyze`` to the subcommands of the ``sheaftopo`` parser; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="alignment report of embedding sets with paired rows",
        description=(
            "Compare two or more embedding sets whose row i describes the same item: H0 "
            "persistence and diagram distances, ToMCLIP sparsification with its error bound, "
            "distance-matrix alignment, kNN neighbourhoods, CCA shared space, retrieval "
            "recall@k, OT / Bures-Wasserstein / MMD / modality gap, the approximate fiber "
            "product and the shared/specific subspaces. Writes report.html, report.json and "
            "PNG figures into --out."
        ),
        epilog=(
            "Files: .npy, .npz (FILE.npz:KEY picks an array; one .npz alone = all its arrays), "
            ".pt/.pth (torch, weights_only), .safetensors, .parquet/.csv (a column per dimension "
            "or one column of vectors; FILE.csv:COLUMN picks one). With --dask or --scheduler "
            "also a directory of .npy or .parquet shards or a zarr store (read lazily)."
        ),
    )
    _add_inputs(parser)
    _add_sizes(parser)
    _add_shared_space(parser)
    _add_dask(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary table")
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """The sets, their labels and the output directory."""
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="embedding sets (FILE or FILE:KEY)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=f"analyze the shipped multi-view digits ({', '.join(DEMO_VIEWS)}, with labels)",
    )
    parser.add_argument("--labels", metavar="FILE", help="one label per row (.npy .txt .csv ...)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="sheaftopo-report",
        help="output directory (default: ./sheaftopo-report)",
    )
    parser.add_argument(
        "--items-csv",
        metavar="FILE",
        help="also write the per-item table (every analysed row of every pair: its scores, "
        "original row number and label) to FILE as CSV",
    )
    parser.add_argument(
        "--graph",
        metavar="FILE",
        help="modality graph of the sheaf section (three or more sets): one edge per line, "
        "two set names separated by spaces or a comma ('#' starts a comment); default: "
        "every pair of sets",
    )


def _add_sizes(parser: argparse.ArgumentParser) -> None:
    """Subsampling, the seed, the kNN graphs and ToMCLIP's lambda."""
    parser.add_argument(
        "--max-points",
        type=int,
        default=5000,
        metavar="N",
        help="analyse a seeded random subsample of N rows (the same rows of "
        "every set) when there are more; 0 = every row (default 5000)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    parser.add_argument(
        "--dense-max-points",
        type=int,
        default=2000,
        metavar="N",
        help="rows for the steps that form a full N x N matrix: ToMCLIP "
        "sparsification and its bound, exact OT, MMD (default 2000)",
    )
    parser.add_argument(
        "-k",
        "--neighbors",
        type=int,
        default=10,
        dest="k",
        metavar="K",
        help="neighbours of the kNN graphs (default 10)",
    )
    parser.add_argument(
        "--worst",
        type=int,
        default=10,
        metavar="N",
        help="worst-aligned items listed per pair (report.json items.worst, the HTML "
        "tables; default 10)",
    )
    parser.add_argument(
        "--lam",
        type=float,
        default=0.5,
        help="ToMCLIP's lambda: eps = mean - lam * std (default 0.5)",
    )


def _add_shared_space(parser: argparse.ArgumentParser) -> None:
    """The space of the cross-modal quantities and the subspace decomposition."""
    parser.add_argument(
        "--shared-space",
        choices=("auto", "raw", "cca"),
        default="auto",
        help="space of the cross-modal quantities (default auto: raw when the "
        "dimensions agree, CCA otherwise)",
    )
    parser.add_argument(
        "--shared-dim",
        type=int,
        default=None,
        metavar="K",
        help="dimension of the CCA space (default min of the dimensions)",
    )
    parser.add_argument(
        "--preprocess",
        choices=("none", "center", "l2", "standardize"),
        default="none",
        help="applied to every set first (default none)",
    )
    parser.add_argument(
        "--shared-rule",
        choices=("threshold", "permutation"),
        default="threshold",
        help="how the subspace decomposition picks the shared dimension: canonical "
        "correlations >= --shared-threshold (default), or a permutation test",
    )
    parser.add_argument(
        "--shared-threshold",
        type=float,
        default=0.5,
        metavar="R",
        help="correlation threshold of the threshold rule (default 0.5)",
    )
    parser.add_argument(
        "--permutations",
        type=int,
        default=19,
        metavar="B",
        help="row permutations of the permutation rule (default 19)",
    )
    parser.add_argument("--retrieval-metric", choices=("cosine", "euclidean"), default="cosine")


def _add_dask(parser: argparse.ArgumentParser) -> None:
    """Where the exact all-pairs measures run, and the size of their tasks."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--dask",
        action="store_true",
        help="run the exact all-pairs measures (H0 of each set, fiber profile and eps* of "
        "each pair) on every row on a local Dask cluster sized to this machine; FILE may "
        "then also be a directory of .npy or .parquet shards or a zarr store, read lazily "
        "(needs the dask extra)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="as --dask, on the running Dask scheduler at ADDRESS (e.g. tcp://host:8786; "
        "start one with `dask scheduler` and workers with `dask worker ADDRESS`)",
    )
    parser.add_argument(
        "--scheduler-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for --scheduler to answer (default 30)",
    )
    parser.add_argument(
        "--block-rows",
        type=int,
        metavar="N",
        help="with --dask/--scheduler: rows per block of the Dask tasks (default: from "
        "--memory-budget)",
    )
    parser.add_argument(
        "--memory-budget",
        type=byte_size,
        metavar="BYTES",
        help="with --dask/--scheduler: memory one task may use, e.g. 256MiB or 2GB (default 2GiB)",
    )


def byte_size(text: str) -> int:
    """argparse type: '256MiB', '2GB', '1.5g' or a plain number of bytes (at least 1 KiB)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _BYTE_UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 256MiB, 2GB or 1000000; got {text!r}"
        )
    size = int(float(m.group(1)) * _BYTE_UNITS[unit])
    if size < 1024:
        raise argparse.ArgumentTypeError(f"must be at least 1KiB; got {text!r} ({size} bytes)")
    return size


def config(args: argparse.Namespace) -> Any:
    """The :class:`~sheaftopo.report.AnalysisConfig` of the options, checked.

    The checks are those of ``AnalysisConfig.validated()`` and
    ``DaskOptions.validated()``; their messages name the flag.

    Raises
    ------
    InputError
        A bad option value, or a Dask task size without ``--dask`` / ``--scheduler``.
    """
    from .._core.dask import DaskOptions
    from ..report import AnalysisConfig

    try:
        checked = AnalysisConfig(
            max_points=args.max_points,
            seed=args.seed,
            dense_max_points=args.dense_max_points,
            k=args.k,
            lam=args.lam,
            shared_space=args.shared_space,
            shared_dim=args.shared_dim,
            preprocess=args.preprocess,
            retrieval_metric=args.retrieval_metric,
            shared_rule=args.shared_rule,
            shared_threshold=args.shared_threshold,
            n_permutations=args.permutations,
            n_worst=args.worst,
        ).validated()
        for flag, given in (
            ("--block-rows", args.block_rows),
            ("--memory-budget", args.memory_budget),
        ):
            if given is not None and not uses_dask(args):
                raise InputError(
                    f"{flag} sets the size of Dask tasks; use it with --dask or --scheduler ADDRESS"
                )
        DaskOptions(
            block_rows=args.block_rows,
            memory_budget=args.memory_budget,
            timeout=args.scheduler_timeout,
        ).validated()
    except (ValueError, TypeError) as e:
        raise InputError(_flag_message(str(e))) from e
    return checked


def _flag_message(message: str) -> str:
    """A field's message with the field named by its flag (``max_points`` -> ``--max-points``)."""
    m = re.match(r"(\w+)\b", message)
    if m is None or m.group(1) not in FLAGS:
        return message
    return FLAGS[m.group(1)] + message[m.end() :]


def run(args: argparse.Namespace) -> int:
    """Write the report; return the exit status (0, or 2 for bad input, one line on stderr)."""
    from ..io import EmbeddingFileError

    try:
        cfg = config(args)
        graph = None if args.graph is None else read_graph(args.graph)
        _check_items_csv(args.items_csv)
        sets, labels, sources = load_inputs(args)
        check_degenerate(sets, sources)
    except (InputError, EmbeddingFileError, FileNotFoundError, ImportError) as e:
        return error("analyze", e)
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return error("analyze", f"{where}{e.strerror or e}")
    except (ValueError, TypeError) as e:  # the library's checks of the loaded input
        return error("analyze", e)
    return _report(args, cfg, sets, labels, sources, graph)


def read_graph(path: str) -> list[tuple[str, str]]:
    """The edges of a ``--graph`` file: one per line, two names split by spaces or a comma.

    Blank lines and everything after ``#`` are ignored. Whether the names are
    sets is checked by :func:`sheaftopo.report.analyze`.

    Raises
    ------
    InputError
        The file cannot be read, or a line does not hold exactly two names.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(
            f"--graph {path}: cannot read it ({getattr(e, 'strerror', None) or e})"
        ) from e
    edges = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = [f for f in re.split(r"[,\s]+", line.split("#", 1)[0].strip()) if f]
        if not fields:
            continue
        if len(fields) != 2:
            raise InputError(
                f"--graph {path}, line {number}: expected two set names (an edge); got {line!r}"
            )
        edges.append((fields[0], fields[1]))
    if not edges:
        raise InputError(f"--graph {path}: no edge (one per line: two set names)")
    return edges


def _report(
    args: argparse.Namespace, cfg: Any, sets: dict, labels: Any, sources: dict, graph: Any = None
) -> int:
    """Analyze the loaded sets and write the report into ``--out`` (all or nothing)."""
    from ..report import (
        Progress,
        analyze,
        count_steps,
        print_summary,
        staged_directory,
        write_report,
    )

    out = Path(args.out)
    t0 = time.perf_counter()
    try:
        with dask_client(args) as dask, staged_directory(out) as stage:
            with Progress(count_steps(len(sets), labels is not None), enabled=not args.quiet) as p:
                result = analyze(
                    sets,
                    labels=labels,
                    config=cfg,
                    sources=sources,
                    progress=p,
                    dask=dask,
                    graph=graph,
                )
            result.data["meta"]["command"] = " ".join([PROG, *args.argv])
            with _step_note(args.quiet, "writing the report"):
                files = write_report(result, stage)
                if args.items_csv is not None:
                    _write_items_csv(result, args.items_csv)
    except ConnectionError as e:
        return error("analyze", f"--scheduler {args.scheduler}: {str(e).removeprefix('client: ')}")
    except (ValueError, TypeError, ImportError, InputError) as e:
        return error("analyze", e)
    except OSError as e:
        shown = getattr(e, "filename", None) or out
        return error("analyze", f"{shown}: cannot write the report ({e.strerror or e})")
    dt = time.perf_counter() - t0
    if not args.quiet:
        print_summary(result)
    print(f"report written to {out / 'report.html'} ({len(files)} files, {dt:.1f} s)")
    return 0


def _check_items_csv(path: str | None) -> None:
    """Refuse an ``--items-csv`` the CSV cannot be written to, before the analysis runs."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"--items-csv {path}: is a directory; give a file name such as items.csv")
    if not target.parent.is_dir():
        raise InputError(f"--items-csv {path}: the directory {str(target.parent)!r} does not exist")


def _write_items_csv(result: Any, path: str) -> None:
    """:func:`sheaftopo.report.write_items_csv`, its errors naming ``--items-csv``."""
    from ..report import write_items_csv

    try:
        write_items_csv(result, path)
    except ValueError as e:
        raise InputError(f"--items-csv {path}: {e}") from e
    except OSError as e:
        raise InputError(f"--items-csv {path}: cannot write it ({e.strerror or e})") from e


@contextlib.contextmanager
def _step_note(quiet: bool, what: str) -> Iterator[None]:
    """Note on stderr how long ``what`` took (unless quiet)."""
    t = time.perf_counter()
    yield
    if not quiet:
        print(f"{what} ({time.perf_counter() - t:.2f} s)", file=sys.stderr)
