"""Errors of the ``sheaftopo`` command: one line on stderr, exit status 2.

Every error the command reports, its own and argparse's, is one line
``sheaftopo COMMAND: error: MESSAGE`` on stderr. :class:`Parser` is the argparse
parser of every parser the command builds (a usage error is such a line, not a
usage block); a parser made with ``pass_through=True`` takes the rest of the
command line as it is, for the programs it is passed on to.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["PROG", "InputError", "Parser", "error", "usage_error"]

#: the name of the command
PROG = "sheaftopo"


class InputError(Exception):
    """Bad input found by the command itself (reported on one line, exit status 2)."""


def error(command: str, message: Any) -> int:
    """Print ``sheaftopo COMMAND: error: MESSAGE`` on one line to stderr; return 2.

    Parameters
    ----------
    command : str
        The subcommand (``""`` for the command as a whole).
    message : object
        What went wrong; its text is joined onto one line.

    Returns
    -------
    int
        2, the exit status of bad input.
    """
    text = " ".join(str(message).split())
    print(f"{PROG} {command}".strip() + f": error: {text}", file=sys.stderr)
    return 2


def usage_error(command: str, message: Any) -> NoReturn:
    """A usage error on one line, pointing to ``--help``; exit status 2 (``SystemExit``)."""
    where = f"{PROG} {command}".strip()
    error(command, f"{message} (see '{where} --help')")
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, like every other error (exit 2).

    Parameters
    ----------
    *args, **kwargs
        Those of :class:`argparse.ArgumentParser`.
    pass_through : bool, default False
        Parse nothing: the arguments after the subcommand's name, ``--help``
        included, are kept in order as ``passed`` for the program they are
        passed on to.
    """

    def __init__(self, *args: Any, pass_through: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pass_through = pass_through

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if not self.pass_through:
            return super().parse_known_args(args, namespace)
        namespace = argparse.Namespace() if namespace is None else namespace
        namespace.passed = list(sys.argv[1:] if args is None else args)
        return namespace, []

    def error(self, message: str) -> NoReturn:
        usage_error(self.prog.removeprefix(PROG).strip(), message)
