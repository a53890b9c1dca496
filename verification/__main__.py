"""``python -m verification``: run the theorem checks and print a table."""

from __future__ import annotations

import argparse
import sys

from . import REGISTRY, run
from ._registry import format_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verification",
        description="Check the theorems of theory/ numerically on seeded random and "
        "adversarial instances.",
    )
    parser.add_argument("names", nargs="*", help="checks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="few instances per check")
    parser.add_argument("--seed", type=int, default=0, help="seed of every check's instances")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for c in REGISTRY.values():
            print(f"{c.name:28s} {c.statement}  [theory/{c.theory}]")
        return 0
    try:
        results = run(args.names or None, quick=args.quick, seed=args.seed)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    print(format_table(results))
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"\nVIOLATED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nall {len(results)} checks hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
