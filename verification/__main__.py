"""``python -m verification``: run the theorem checks (or the mutants) and print a table."""

from __future__ import annotations

import argparse
import sys
import time

from . import MUTANTS, REGISTRY, run, run_mutants
from ._mutants import format_mutant_table
from ._registry import format_table


def _jobs(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs must be >= 1; got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verification",
        description="Check the theorems of theory/ numerically on seeded random and "
        "adversarial instances; with --mutants, check that every check can fail.",
    )
    parser.add_argument("names", nargs="*", help="checks (or mutants) to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="few instances per family")
    parser.add_argument("--seed", type=int, default=0, help="seed of every check's instances")
    parser.add_argument("--jobs", type=_jobs, default=1, help="worker processes (default 1)")
    parser.add_argument("--mutants", action="store_true",
                        help="apply each mutant of the library and require a check to fail")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--list-mutants", action="store_true", help="list the mutants and exit")
    parser.add_argument("--no-families", action="store_true",
                        help="one row per check, without the per-family rows")
    args = parser.parse_args(argv)
    if args.list:
        for c in REGISTRY.values():
            print(f"{c.name:30s} {c.kind:8s} [theory/{c.theory}]")
        return 0
    if args.list_mutants:
        for m in MUTANTS.values():
            print(f"{m.page:36s} {m.name}  ({m.target})")
        return 0
    t0 = time.perf_counter()
    try:
        if args.mutants:
            mres = run_mutants(args.names or None, seed=args.seed, jobs=args.jobs)
        else:
            results = run(args.names or None, quick=args.quick, seed=args.seed, jobs=args.jobs)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    if args.mutants:
        print(format_mutant_table(mres))
        survived = [r.name for r in mres if not r.killed]
        if survived:
            print(f"\n{len(survived)} of {len(mres)} mutants SURVIVED ({elapsed:.0f} s)",
                  file=sys.stderr)
            return 1
        print(f"\nall {len(mres)} mutants killed ({elapsed:.0f} s)")
        return 0
    print(format_table(results, families=not args.no_families))
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(f"\n{r.name}: {r.reason}; worst on {r.worst_instance}", file=sys.stderr)
        if r.counterexample:
            print(f"  shrunk counterexample: {r.counterexample}", file=sys.stderr)
    if failed:
        print(f"\nVIOLATED: {', '.join(r.name for r in failed)}", file=sys.stderr)
        return 1
    print(f"\nall {len(results)} checks hold ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
