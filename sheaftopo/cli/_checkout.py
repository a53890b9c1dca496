"""The checkout tools behind ``sheaftopo verify`` and ``sheaftopo bench``.

``python -m verification`` and ``python -m benchmarks.NAME`` live in a source
checkout of sheaftopo and are not installed with the library. The command runs
them as subprocesses of the same Python, in the checkout this sheaftopo is
imported from (so they test and time this very code), relays their output, and
reports a usage error of their parsers the way it reports its own: one line,
exit status 2. Ctrl-C stops them (and the processes they started) at once.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ._errors import PROG, InputError, usage_error

__all__ = ["checkout_root", "require_checkout", "run_module"]

#: the tail argparse writes to stderr on a usage error: "usage: ..." then "PROG: error: MESSAGE"
_USAGE_ERROR = re.compile(r"\Ausage: .*^[^\n]*?: error: (?P<message>[^\n]*)\n?\Z", re.M | re.S)
_USAGE_START = re.compile(r"^usage: ", re.M)
#: seconds a stopped program has to end after SIGTERM before it is killed
_STOP_GRACE = 5.0


def checkout_root() -> Path | None:
    """The source checkout this sheaftopo runs from, or None when it is an installed copy."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "verification").is_dir():
        return root
    return None


def require_checkout(package: str, command: str) -> Path:
    """The checkout root holding the top-level package ``package``.

    Raises
    ------
    InputError
        When sheaftopo does not run from a source checkout (``sheaftopo
        COMMAND`` then exits with status 2, saying so).
    """
    root = checkout_root()
    if root is None or not (root / package).is_dir():
        raise InputError(
            f"'{PROG} {command}' needs a source checkout of sheaftopo: the package "
            f"{package!r} is not installed with the library. Clone the repository "
            f"and run it there (python -m pip install -e . && {PROG} {command})"
        )
    return root


def run_module(module: str, argv: Sequence[str], *, root: Path, command: str) -> int:
    """Run ``python -m MODULE ARGV`` in ``root`` with this Python; return its exit status.

    Its stdout and stderr are relayed to this process's ``sys.stdout`` and
    ``sys.stderr`` as they come. A usage error of its argument parser is
    reported as ``sheaftopo COMMAND: error: ...`` on one line and raises
    ``SystemExit(2)``. A program ended by a signal gives 128 + the signal's
    number, as shells report it.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=os.name == "posix",  # Ctrl-C reaches this process, which stops it
    )
    out, err = _Relay(proc.stdout, sys.stdout), _Relay(proc.stderr, sys.stderr, hold_usage=True)
    try:
        status = proc.wait()
    except BaseException:
        out.muted = err.muted = True
        _stop(proc)
        raise
    out.join()
    err.join()
    message = _USAGE_ERROR.search(err.held) if status == 2 else None
    if message is not None:
        usage_error(command, message["message"])
    if err.held:
        sys.stderr.write(err.held)
        sys.stderr.flush()
    return status if status >= 0 else 128 - status


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the program and every process it started (SIGTERM, then SIGKILL)."""
    import signal

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.name == "posix":
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=_STOP_GRACE)
    except subprocess.TimeoutExpired:
        send(getattr(signal, "SIGKILL", signal.SIGTERM))
        proc.wait()


class _Relay:
    """Copies a program's output stream to one of ours as it comes, in a daemon thread.

    With ``hold_usage``, everything from a line starting ``usage: `` on is held
    back in :attr:`held` (argparse's usage error, to be reported on one line).
    """

    def __init__(self, source: IO[bytes] | None, target: Any, *, hold_usage: bool = False) -> None:
        self.source, self.target, self.hold_usage = source, target, hold_usage
        self.held = ""
        self.muted = False
        self._at_line_start = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        if self.source is None:
            return
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        while chunk := self.source.read(65536):
            self._pass(decode(chunk))
        self._pass(decode(b"", final=True))
        self.source.close()

    def _pass(self, text: str) -> None:
        if not text or self.muted:
            return
        if self.hold_usage and not self.held:
            start = next(
                (
                    m.start()
                    for m in _USAGE_START.finditer(text)
                    if m.start() or self._at_line_start
                ),
                None,
            )
            if start is not None:
                text, self.held = text[:start], text[start:]
        elif self.held:
            self.held += text
            return
        self._at_line_start = text.endswith("\n") if text else self._at_line_start
        if text:
            try:
                self.target.write(text)
                self.target.flush()
            except (OSError, ValueError):  # our stream is gone (a closed pipe): drain, unseen
                self.muted = True
