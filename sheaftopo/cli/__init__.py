"""The ``sheaftopo`` command: ``analyze``, ``verify``, ``bench`` and ``sheafalign``.

``sheaftopo analyze A B [C ...]`` writes an alignment report of embedding sets
with paired rows; ``sheaftopo analyze --demo`` runs it on the multi-view digits
shipped with the package. ``sheaftopo verify`` runs the theorem harness and
``sheaftopo bench`` the benchmarks; both live in a source checkout (they are not
installed with the package) and run as ``python -m verification`` / ``python -m
benchmarks.NAME`` there. ``sheaftopo sheafalign`` runs the SheafAlign
experiments (needs the torch extra).

Exit status: 0 on success, 1 when ``verify`` finds a violated theorem, 2 for
bad input (a missing or malformed file, mismatched rows, labels of the wrong
length, an output directory that cannot be written, an unknown option or a bad
option value), with a one-line message on stderr naming the file (or option)
and the problem; 130 when interrupted (Ctrl-C), with the one line
``sheaftopo COMMAND: interrupted`` and no partial report left behind. The
commands that pass their arguments on (``verify``, ``bench``, ``sheafalign``)
report usage errors of the programs they run the same way. Everything heavy
(NumPy kernels, matplotlib, POT, GUDHI, torch) is imported inside the commands.

Each subcommand is one module of this package (:mod:`~sheaftopo.cli.analyze`,
:mod:`~sheaftopo.cli.verify`, :mod:`~sheaftopo.cli.bench`,
:mod:`~sheaftopo.cli.sheafalign`) with ``add_parser(subparsers)`` and
``run(args)``; :data:`COMMANDS` lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import analyze, bench, sheafalign, verify
from ._errors import PROG, Parser, usage_error
from ._inputs import DEMO_VIEWS
from ._interrupt import EXIT_INTERRUPTED, forget_handled_interrupt, interrupt_handler

__all__ = ["DEMO_VIEWS", "build_parser", "main"]

#: the subcommands, in the order ``sheaftopo --help`` lists them
COMMANDS = {"analyze": analyze, "verify": verify, "bench": bench, "sheafalign": sheafalign}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sheaftopo`` command (all subcommands).

    Returns
    -------
    argparse.ArgumentParser
        Its usage errors are one line on stderr (exit status 2); ``verify``
        and ``sheafalign`` keep the rest of the line, in order, as ``passed``.
    """
    from .. import __version__

    parser = Parser(
        prog=PROG,
        description="Topology and algebra for multimodal embedding alignment.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


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
    command = ""
    try:
        with interrupt_handler():
            args, extra = build_parser().parse_known_args(args_list)
            command = args.command
            if extra and not getattr(args, "takes_unknown_options", False):
                usage_error(command, f"unrecognized arguments: {' '.join(extra)}")
            args.extra, args.argv = extra, args_list
            return int(COMMANDS[command].run(args) or 0)
    except KeyboardInterrupt:
        forget_handled_interrupt()
        print(f"{PROG} {command}".strip() + ": interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as e:  # argparse's --help, --version and usage errors
        if e.code is None or isinstance(e.code, int):
            return int(e.code or 0)
        print(e.code, file=sys.stderr)
        return 1
