"""``sheaftopo bench``: the benchmarks of a source checkout, ``python -m benchmarks.NAME``.

``sheaftopo bench [NAME ...] [--quick] [--list]`` runs the named benchmarks
(default: all) one after the other and prints their tables; options it does not
know are passed on to every benchmark. The exit status is the worst of theirs;
a usage error of one of them ends the command (exit status 2, one line).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._checkout import require_checkout, run_module
from ._errors import InputError, error

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bench`` to the subcommands of the ``sheaftopo`` parser; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench",
        help="run benchmarks (python -m benchmarks.NAME)",
        description="Run the benchmarks in benchmarks/ and print their tables (needs a source "
        "checkout). Unknown options are passed on to every benchmark.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.set_defaults(takes_unknown_options=True)  # passed on to every benchmark
    return parser


def benchmark_names(root: Path) -> list[str]:
    """The benchmarks of the checkout at ``root``: the public modules of ``benchmarks/``."""
    import pkgutil

    found = pkgutil.iter_modules([str(root / "benchmarks")])
    return sorted(m.name for m in found if not m.name.startswith("_"))


def run(args: argparse.Namespace) -> int:
    """Run (or list) the benchmarks; return the worst exit status."""
    try:
        root = require_checkout("benchmarks", "bench")
    except InputError as e:
        return error("bench", e)
    available = benchmark_names(root)
    if args.list:
        print("\n".join(available))
        return 0
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        return error(
            "bench",
            f"no benchmark named {', '.join(map(repr, unknown))}; "
            f"the benchmarks are {', '.join(available)}",
        )
    passed = (["--quick"] if args.quick else []) + list(args.extra)
    status = 0
    for name in names:
        print(f"\n== benchmarks.{name} {' '.join(passed)}".rstrip(), flush=True)
        status = max(status, run_module(f"benchmarks.{name}", passed, root=root, command="bench"))
    return status
