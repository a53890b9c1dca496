"""``python -m sheaftopo.torch.sheafalign``: deprecated, run ``sheaftopo sheafalign`` instead.

The SheafAlign command line is the ``sheafalign`` subcommand of the
``sheaftopo`` command (:mod:`sheaftopo.cli.sheafalign`); under ``torchrun``,
``torchrun ... -m sheaftopo sheafalign node ...``. This program runs it with a
``DeprecationWarning`` until sheaftopo 0.3, and holds the deprecated
:func:`main` and :func:`build_parser` that :mod:`sheaftopo.torch.sheafalign`
still lends under those names (with a warning) until then.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from ... import cli
from ..._core.deprecation import REMOVED_IN  # removes this program and the old names
from ...cli import sheafalign as command


def main(argv: Sequence[str] | None = None) -> int:
    """``sheaftopo sheafalign ARGV``; returns its exit status (see :func:`sheaftopo.cli.main`)."""
    return cli.main(["sheafalign", *(sys.argv[1:] if argv is None else argv)])


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``sheaftopo sheafalign`` (:func:`sheaftopo.cli.sheafalign.build_parser`)."""
    return command.build_parser()


if __name__ == "__main__":
    warnings.warn(
        "python -m sheaftopo.torch.sheafalign is deprecated and will be removed in sheaftopo "
        f"{REMOVED_IN}; run 'sheaftopo sheafalign ...' (under torchrun: "
        "'torchrun ... -m sheaftopo sheafalign node ...')",
        DeprecationWarning,
        stacklevel=1,
    )
    sys.exit(main())
