"""``sheaftopo verify``: the theorem harness, ``python -m verification`` of a source checkout.

Every argument after ``verify`` (``--help`` included) is passed on unchanged.
The exit status is the harness's: 0 when every check holds, 1 when one is
violated, 2 for a usage error or when sheaftopo does not run from a checkout.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._checkout import require_checkout, run_module
from ._errors import InputError, error

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``verify`` to the subcommands of the ``sheaftopo`` parser; return its parser."""
    return subparsers.add_parser(
        "verify",
        help="run the theorem harness (python -m verification)",
        description="Check the theorems of theory/ numerically; same as python -m verification "
        "(needs a source checkout). Arguments are passed on.",
        add_help=False,
        pass_through=True,
    )


def run(args: argparse.Namespace) -> int:
    """Run the harness with the arguments after ``verify``; return its exit status."""
    try:
        root = require_checkout("verification", "verify")
    except InputError as e:
        return error("verify", e)
    return run_module("verification", args.passed, root=root, command="verify")
