"""The ``sheaftopo`` command: ``analyze``, ``verify`` and ``bench``.

``sheaftopo analyze A B [C ...]`` writes an alignment report of embedding sets
with paired rows; ``sheaftopo analyze --demo`` runs it on the multi-view digits
shipped with the package. ``sheaftopo verify`` runs the theorem harness and
``sheaftopo bench`` the benchmarks; both live in a source checkout (they are not
installed with the package).

Exit status: 0 on success, 1 when ``verify`` finds a violated theorem, 2 for
bad input (a missing or malformed file, mismatched rows, labels of the wrong
length, an output directory that cannot be written, an unknown option or a bad
option value), with a one-line message on stderr naming the file (or option)
and the problem; 130 when interrupted (Ctrl-C), with the one line
``sheaftopo COMMAND: interrupted`` and no partial report left behind. The
commands that pass their arguments on (``verify``, ``bench``, ``sheafalign``)
report usage errors of the programs they run the same way. Everything heavy
(NumPy kernels, matplotlib, POT, GUDHI) is imported inside the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["DEMO_VIEWS", "build_parser", "main"]

#: the views of the shipped multi-view digits that ``analyze --demo`` compares
DEMO_VIEWS: tuple[str, ...] = ("fou", "kar", "pix")

_PROG = "sheaftopo"


class _InputError(Exception):
    """Bad input found by the CLI itself (reported on one line, exit 2)."""


#: exit status of a command interrupted by SIGINT (Ctrl-C): 128 + signal number, as shells do
EXIT_INTERRUPTED = 130


def _usage_error(command: str, message: Any) -> NoReturn:
    """A usage error on one line (no usage block), exit status 2."""
    where = f"{_PROG} {command}".strip()
    _error(command, f"{message} (see '{where} --help')")
    raise SystemExit(2)


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        _usage_error(self.prog.removeprefix(_PROG).strip(), message)


@contextlib.contextmanager
def _one_line_usage_errors(command: str) -> Iterator[None]:
    """The programs ``verify``, ``bench`` and ``sheafalign`` run report usage errors on one line.

    Their parsers are plain ``argparse.ArgumentParser`` objects of other
    packages; while they run, their ``error`` method is the one of this command.
    """
    original = argparse.ArgumentParser.error

    def error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
        _usage_error(command, message)

    argparse.ArgumentParser.error = error  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original  # type: ignore[method-assign]


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sheaftopo`` command (all subcommands)."""
    parser = _Parser(
        prog=_PROG,
        description="Topology and algebra for multimodal embedding alignment.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    an = sub.add_parser(
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
    an.add_argument("files", nargs="*", metavar="FILE", help="embedding sets (FILE or FILE:KEY)")
    an.add_argument(
        "--demo",
        action="store_true",
        help=f"analyze the shipped multi-view digits ({', '.join(DEMO_VIEWS)}, with labels)",
    )
    an.add_argument("--labels", metavar="FILE", help="one label per row (.npy .txt .csv ...)")
    an.add_argument(
        "--out",
        metavar="DIR",
        default="sheaftopo-report",
        help="output directory (default: ./sheaftopo-report)",
    )
    an.add_argument(
        "--max-points",
        type=int,
        default=5000,
        metavar="N",
        help="analyse a seeded random subsample of N rows (the same rows of "
        "every set) when there are more; 0 = every row (default 5000)",
    )
    an.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    an.add_argument(
        "--dense-max-points",
        type=int,
        default=2000,
        metavar="N",
        help="rows for the steps that form a full N x N matrix: ToMCLIP "
        "sparsification and its bound, exact OT, MMD (default 2000)",
    )
    an.add_argument(
        "-k",
        "--neighbors",
        type=int,
        default=10,
        dest="k",
        metavar="K",
        help="neighbours of the kNN graphs (default 10)",
    )
    an.add_argument(
        "--lam",
        type=float,
        default=0.5,
        help="ToMCLIP's lambda: eps = mean - lam * std (default 0.5)",
    )
    an.add_argument(
        "--shared-space",
        choices=("auto", "raw", "cca"),
        default="auto",
        help="space of the cross-modal quantities (default auto: raw when the "
        "dimensions agree, CCA otherwise)",
    )
    an.add_argument(
        "--shared-dim",
        type=int,
        default=None,
        metavar="K",
        help="dimension of the CCA space (default min of the dimensions)",
    )
    an.add_argument(
        "--preprocess",
        choices=("none", "center", "l2", "standardize"),
        default="none",
        help="applied to every set first (default none)",
    )
    an.add_argument(
        "--shared-rule",
        choices=("threshold", "permutation"),
        default="threshold",
        help="how the subspace decomposition picks the shared dimension: canonical "
        "correlations >= --shared-threshold (default), or a permutation test",
    )
    an.add_argument(
        "--shared-threshold",
        type=float,
        default=0.5,
        metavar="R",
        help="correlation threshold of the threshold rule (default 0.5)",
    )
    an.add_argument(
        "--permutations",
        type=int,
        default=19,
        metavar="B",
        help="row permutations of the permutation rule (default 19)",
    )
    an.add_argument("--retrieval-metric", choices=("cosine", "euclidean"), default="cosine")
    dk = an.add_mutually_exclusive_group()
    dk.add_argument(
        "--dask",
        action="store_true",
        help="run the exact all-pairs measures (H0 of each set, fiber profile and eps* of "
        "each pair) on every row on a local Dask cluster sized to this machine; FILE may "
        "then also be a directory of .npy or .parquet shards or a zarr store, read lazily "
        "(needs the dask extra)",
    )
    dk.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="as --dask, on the running Dask scheduler at ADDRESS (e.g. tcp://host:8786; "
        "start one with `dask scheduler` and workers with `dask worker ADDRESS`)",
    )
    an.add_argument(
        "--scheduler-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for --scheduler to answer (default 30)",
    )
    an.add_argument(
        "--block-rows",
        type=int,
        metavar="N",
        help="with --dask/--scheduler: rows per block of the Dask tasks (default: from "
        "--memory-budget)",
    )
    an.add_argument(
        "--memory-budget",
        type=_byte_size,
        metavar="BYTES",
        help="with --dask/--scheduler: memory one task may use, e.g. 256MiB or 2GB (default "
        "2GiB)",
    )
    an.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary table")

    ve = sub.add_parser(
        "verify",
        help="run the theorem harness (python -m verification)",
        description="Check the theorems of theory/ numerically; same as python -m verification "
        "(needs a source checkout). Arguments are passed on.",
        add_help=False,
    )
    ve.add_argument("args", nargs=argparse.REMAINDER)

    be = sub.add_parser(
        "bench",
        help="run benchmarks (python -m benchmarks.NAME)",
        description="Run the benchmarks in benchmarks/ and print their tables (needs a source "
        "checkout). Unknown options are passed on to every benchmark.",
    )
    be.add_argument("names", nargs="*", metavar="NAME", help="benchmarks (default: all)")
    be.add_argument("--quick", action="store_true", help="small sizes")
    be.add_argument("--list", action="store_true", help="list the benchmarks and exit")

    sa = sub.add_parser(
        "sheafalign",
        help="SheafAlign experiments and decentralized training (needs the torch extra)",
        description="Same as python -m sheaftopo.torch.sheafalign; arguments are passed on.",
        add_help=False,
    )
    sa.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _error(command: str, message: Any) -> int:
    text = " ".join(str(message).split())
    print(f"{_PROG} {command}".strip() + f": error: {text}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sheaftopo`` command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success (``--help`` and ``--version`` included), 1 when ``verify``
        finds a violated theorem, 2 for bad input or a usage error (one line
        on stderr), 130 when interrupted by Ctrl-C (one line on stderr).

    Examples
    --------
    >>> from sheaftopo.cli import main
    >>> main(["analyze", "missing.npy", "other.npy"])
    2
    """
    args_list = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    command = next((a for a in args_list if not a.startswith("-")), "")
    try:
        with _interrupt_handler():
            return _dispatch(args_list)
    except KeyboardInterrupt:
        _forget_handled_interrupt()
        print(f"{_PROG} {command}".strip() + ": interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as e:  # argparse's --help, --version and usage errors
        if e.code is None or isinstance(e.code, int):
            return int(e.code or 0)
        print(e.code, file=sys.stderr)
        return 1


#: loggers the SIGINT handler silences (Dask's, while a Dask cluster runs; see _dask_client)
_SILENCED_ON_INTERRUPT: list[str] = []


#: parts of the paths of packages whose code a KeyboardInterrupt must not stop midway
_NOT_INTERRUPTIBLE = tuple(f"{os.sep}{pkg}{os.sep}" for pkg in ("numba", "llvmlite"))


def _on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C: a KeyboardInterrupt, but never inside numba.

    Compiled numba functions call back into Python (``_numba_unpickle``, to
    build their constants on a first call) and do not expect an exception
    there: a KeyboardInterrupt raised in such a callback, or in the middle of a
    compilation, ends the process by a segmentation fault. So when the
    interrupted code is numba's (or llvmlite's), or this thread holds numba's
    compiler lock, the signal is sent again 50 ms later instead.
    """
    where = frame.f_code.co_filename if frame is not None else ""
    lock = getattr(sys.modules.get("numba.core.compiler_lock"), "global_compiler_lock", None)
    if any(part in where for part in _NOT_INTERRUPTIBLE) or (
        lock is not None and lock.is_locked()
    ):
        import threading

        again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    if _SILENCED_ON_INTERRUPT:
        import logging

        for name in _SILENCED_ON_INTERRUPT:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupt_handler() -> Iterator[None]:
    """:func:`_on_sigint` handles SIGINT meanwhile (in the main thread; elsewhere: no change)."""
    import signal

    if not _in_main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _forget_handled_interrupt() -> None:
    """Keep a handled Ctrl-C from ending the process by SIGINT anyway.

    CPython sets a process-wide "unhandled KeyboardInterrupt" flag whenever a
    KeyboardInterrupt leaves code run from a string (``exec("...")``, as some
    libraries do while they are imported), even when an outer ``except``
    handles it, and then exits by re-raising SIGINT (status -2, not ours).
    Evaluating a string resets that flag.
    """
    exec("None", {})


def _dispatch(args_list: list[str]) -> int:
    """Run the command ``args_list`` names."""
    parser = build_parser()
    if args_list and args_list[0] == "verify":  # pass everything on, --help included
        return _verify(args_list[1:])
    if args_list and args_list[0] == "sheafalign":
        return _sheafalign(args_list[1:])
    args, extra = parser.parse_known_args(args_list)
    if args.command == "bench":
        return _bench(args, extra)
    if extra:
        _usage_error(args.command, f"unrecognized arguments: {' '.join(extra)}")
    return _analyze(args, args_list)


def _sheafalign(argv: list[str]) -> int:
    """``sheaftopo sheafalign ...``: torch is imported here, never by ``import sheaftopo``."""
    try:
        from .torch.sheafalign import main as sheafalign_main
    except ImportError as exc:
        return _error("sheafalign", exc)
    with _one_line_usage_errors("sheafalign"):
        return int(sheafalign_main(argv) or 0)


# ----------------------------------------------------------------------
# analyze
# ----------------------------------------------------------------------


def _config(args: argparse.Namespace) -> Any:
    from .report import AnalysisConfig

    for flag, value, low in (
        ("--max-points", args.max_points, 0),
        ("--seed", args.seed, 0),
        ("--dense-max-points", args.dense_max_points, 3),
        ("-k/--neighbors", args.k, 1),
        ("--permutations", args.permutations, 1),
    ):
        if value < low:
            raise _InputError(f"{flag} must be >= {low}; got {value}")
    if not 0.0 <= args.shared_threshold <= 1.0:
        raise _InputError(f"--shared-threshold must be in [0, 1]; got {args.shared_threshold}")
    if args.shared_dim is not None and args.shared_dim < 1:
        raise _InputError(f"--shared-dim must be >= 1; got {args.shared_dim}")
    if not args.scheduler_timeout > 0:
        raise _InputError(f"--scheduler-timeout must be > 0; got {args.scheduler_timeout}")
    for flag, given in (("--block-rows", args.block_rows), ("--memory-budget",
                                                            args.memory_budget)):
        if given is not None and not _uses_dask(args):
            raise _InputError(f"{flag} sets the size of Dask tasks; use it with --dask or "
                              "--scheduler ADDRESS")
    if args.block_rows is not None and args.block_rows < 1:
        raise _InputError(f"--block-rows must be >= 1; got {args.block_rows}")
    return AnalysisConfig(
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
    )


_BYTE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
               "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
               "tib": 2**40}


def _byte_size(text: str) -> int:
    """argparse type: '256MiB', '2GB', '1.5g' or a plain number of bytes (at least 1 KiB)."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _BYTE_UNITS:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 256MiB, 2GB or 1000000; got {text!r}")
    size = int(float(m.group(1)) * _BYTE_UNITS[unit])
    if size < 1024:
        raise argparse.ArgumentTypeError(f"must be at least 1KiB; got {text!r} ({size} bytes)")
    return size


def _load_inputs(args: argparse.Namespace) -> tuple[dict, Any, dict[str, str]]:
    """Sets, labels and their sources, from files or the demo data."""
    if args.demo:
        if args.files or args.labels:
            raise _InputError("--demo uses the shipped data; give no files and no --labels")
        from .datasets import load_mfeat

        data = load_mfeat(list(DEMO_VIEWS), standardize=True)
        sources = {
            v: f"shipped mfeat view {v!r} (sheaftopo.datasets.load_mfeat, standardized)"
            for v in DEMO_VIEWS
        }
        sources["__labels__"] = "shipped mfeat digit classes (0-9)"
        return dict(data.views), data.labels, sources
    from .io import load_embedding_sets, split_spec

    if not args.files:
        raise _InputError("give two or more embedding files (or one .npz of several), or --demo")
    dirs = [f for f in args.files if Path(split_spec(f)[0]).is_dir()]
    if dirs and not _uses_dask(args):
        raise _InputError(
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


def _labels(args: argparse.Namespace, sets: dict, sources: dict[str, str]) -> Any:
    """The ``--labels`` of the sets' rows (None without the flag); notes their source."""
    from .io import load_labels

    labels = None
    if args.labels:
        import numpy as np

        n = next(iter(sets.values())).shape[0]
        labels = load_labels(args.labels, n_rows=n)
        if len(np.unique(labels)) < 2:
            raise _InputError(
                f"{args.labels}: every row has the same label; silhouette and NMI need at "
                "least 2 classes"
            )
        sources["__labels__"] = str(args.labels)
    return labels


def _uses_dask(args: argparse.Namespace) -> bool:
    return bool(args.dask or args.scheduler)


def _load_lazy(files: Sequence[str]) -> tuple[dict, dict[str, str]]:
    """Sets of which some are directories (shards, zarr): those stay lazy Dask arrays."""
    from .distributed._inputs import prepare
    from .distributed._mst import task_bytes
    from .io import load_embeddings, split_spec, unique_name

    if len(files) < 2:
        raise _InputError("give two or more embedding sets (files, shard directories or zarr "
                          "stores)")
    sets: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in files:
        path, key = split_spec(spec)
        name = unique_name(path.stem if key is None else f"{path.stem}:{key}", sets)
        if path.is_dir():
            try:
                sets[name] = prepare(str(path), str(spec), None, None, task_bytes)
            except (ValueError, TypeError) as e:
                raise _InputError(str(e)) from e
        else:
            sets[name] = load_embeddings(spec)
        sources[name] = str(spec)
    return sets, sources


def _check_degenerate(sets: dict, sources: dict[str, str]) -> None:
    import numpy as np

    for name, X in sets.items():
        if X.shape[0] < 3:
            raise _InputError(
                f"{sources[name]}: has {X.shape[0]} rows; an analysis needs at least 3"
            )
        if isinstance(X, np.ndarray) and np.all(X == X[0]):  # lazy sets: on the subsample
            raise _InputError(f"{sources[name]}: every row is the same vector; nothing to compare")


def _analyze(args: argparse.Namespace, argv: list[str]) -> int:
    from .io import EmbeddingFileError

    cmd = "analyze"
    try:
        cfg = _config(args)
        sets, labels, sources = _load_inputs(args)
        _check_degenerate(sets, sources)
    except (_InputError, EmbeddingFileError, FileNotFoundError, ImportError) as e:
        return _error(cmd, e)
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return _error(cmd, f"{where}{e.strerror or e}")
    except (ValueError, TypeError) as e:  # the library's checks of the loaded input
        return _error(cmd, e)
    from .report import (
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
        with _dask_client(args) as dask, staged_directory(out) as stage:
            total = count_steps(len(sets), labels is not None)
            with Progress(total, enabled=not args.quiet) as prog:
                result = analyze(
                    sets, labels=labels, config=cfg, sources=sources, progress=prog, dask=dask
                )
            result.data["meta"]["command"] = " ".join([_PROG, *argv])
            with _step_note(args.quiet, "writing the report"):
                files = write_report(result, stage)
    except ConnectionError as e:
        return _error(cmd, f"--scheduler {args.scheduler}: {str(e).removeprefix('client: ')}")
    except (ValueError, TypeError, ImportError, _InputError) as e:
        return _error(cmd, e)
    except OSError as e:
        shown = getattr(e, "filename", None) or out
        return _error(cmd, f"{shown}: cannot write the report ({e.strerror or e})")
    dt = time.perf_counter() - t0
    if not args.quiet:
        print_summary(result)
    print(f"report written to {out / 'report.html'} ({len(files)} files, {dt:.1f} s)")
    return 0


#: keywords of the LocalCluster that ``--dask`` starts (tests shrink it; see _dask_client)
_LOCAL_CLUSTER_OPTIONS: dict[str, Any] = {}


@contextlib.contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[Any]:
    """The :class:`~sheaftopo.report.DaskOptions` of ``--dask`` / ``--scheduler``, or None.

    ``--dask`` starts a LocalCluster of worker processes sized to this machine
    (Dask's defaults) and closes it on exit; ``--scheduler`` connects to the
    address within ``--scheduler-timeout`` seconds (a ``ConnectionError``
    otherwise).
    """
    if not _uses_dask(args):
        yield None
        return
    with _silent_dask_on_interrupt():
        yield from _dask_options(args)


@contextlib.contextmanager
def _silent_dask_on_interrupt() -> Iterator[None]:
    """After Ctrl-C, Dask's shutdown logs no "Task exception was never retrieved" tracebacks.

    The SIGINT handler silences the loggers itself: Dask's event-loop thread
    logs as soon as the interrupted gather is cancelled, before the
    KeyboardInterrupt has left the analysis.
    """
    names = ["asyncio", "distributed", "tornado"]
    _SILENCED_ON_INTERRUPT.extend(names)
    try:
        yield
    finally:
        del _SILENCED_ON_INTERRUPT[-len(names):]


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (processes started now inherit that); the main thread only."""
    import signal

    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _dask_options(args: argparse.Namespace) -> Iterator[Any]:
    """The body of :func:`_dask_client` with Dask: yields the one DaskOptions."""
    from .distributed._inputs import connect, require_dask
    from .report import DaskOptions

    require_dask()
    sizes = {"block_rows": args.block_rows, "memory_budget": args.memory_budget}
    if args.scheduler:
        with connect(args.scheduler, args.scheduler_timeout) as client:
            yield DaskOptions(client=client, timeout=args.scheduler_timeout,
                              description=f"Dask scheduler at {args.scheduler}", **sizes)
        return
    import logging

    from distributed import Client, LocalCluster

    options = {"processes": True, "dashboard_address": ":0", "silence_logs": logging.CRITICAL,
               **_LOCAL_CLUSTER_OPTIONS}
    # worker processes start with SIGINT ignored: a Ctrl-C at the terminal (sent to the whole
    # process group) reaches this process only, which then closes the cluster (a Ctrl-C while
    # the cluster starts, a few seconds, is ignored too); CRITICAL: no worker logs of the race
    # between workers and a closing scheduler (errors of the analysis reach this process)
    with _sigint_ignored():
        cluster = LocalCluster(**options)
    with cluster, Client(cluster) as client:
        workers = client.scheduler_info()["workers"].values()
        threads = sum(w["nthreads"] for w in workers)
        kind = "processes" if options["processes"] else "threads of this process"
        what = f"local Dask cluster: {len(workers)} workers ({kind}), {threads} threads"
        if not args.quiet:
            print(f"{what}; dashboard: {client.dashboard_link}", file=sys.stderr)
        yield DaskOptions(client=client, description=what, **sizes)


@contextlib.contextmanager
def _step_note(quiet: bool, what: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    if not quiet:
        print(f"{what} ({time.perf_counter() - t:.2f} s)", file=sys.stderr)


# ----------------------------------------------------------------------
# verify and bench: packages of a source checkout
# ----------------------------------------------------------------------


def _checkout_root() -> Path | None:
    """The source checkout this sheaftopo runs from, when it runs from one."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "verification").is_dir():
        return root
    return None


def _import_from_checkout(module: str, command: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] != module.split(".")[0]:
            raise
    root = _checkout_root()
    if root is not None and (root / module.split(".")[0]).is_dir():
        sys.path.insert(0, str(root))
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError:
            pass
    raise _InputError(
        f"'{_PROG} {command}' needs a source checkout of sheaftopo: the package "
        f"{module.split('.')[0]!r} is not installed with the library. Clone the repository "
        f"and run it there (python -m pip install -e . && {_PROG} {command})"
    )


def _verify(argv: list[str]) -> int:
    try:
        mod = _import_from_checkout("verification.__main__", "verify")
    except _InputError as e:
        return _error("verify", e)
    with _one_line_usage_errors("verify"):
        return int(mod.main(argv) or 0)


def _benchmark_names(pkg: Any) -> list[str]:
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _bench(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        pkg = _import_from_checkout("benchmarks", "bench")
    except _InputError as e:
        return _error("bench", e)
    available = _benchmark_names(pkg)
    if args.list:
        print("\n".join(available))
        return 0
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        return _error(
            "bench",
            f"no benchmark named {', '.join(map(repr, unknown))}; "
            f"the benchmarks are {', '.join(available)}",
        )
    root = Path(pkg.__path__[0]).resolve().parent
    status = 0
    for name in names:
        argv = (["--quick"] if args.quick else []) + list(extra)
        print(f"\n== benchmarks.{name} {' '.join(argv)}".rstrip(), flush=True)
        mod = importlib.import_module(f"benchmarks.{name}")
        # some benchmarks start sub-processes with python -m benchmarks.X
        with _cwd(root), _one_line_usage_errors("bench"):
            try:
                rc = mod.main(argv)
            except SystemExit as e:  # a usage error (exit 2) ends the whole command
                if e.code == 2:
                    raise
                rc = e.code if isinstance(e.code, int) else 1
        status = max(status, int(rc or 0))
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
