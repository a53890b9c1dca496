"""All-or-nothing output directories: :func:`staged_directory`.

The report's files are written into a staging directory next to the
destination and moved into place only when every one of them is written, so a
failure or a Ctrl-C never leaves a partial report behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["staged_directory"]

#: the report's JSON file, whose ``files`` list names the figures a new report replaces
JSON_NAME = "report.json"


@contextmanager
def staged_directory(out_dir: Any) -> Iterator[Path]:
    """A fresh directory next to ``out_dir``; its files move into ``out_dir`` on success.

    Yields the staging directory. On normal exit every file in it replaces the
    file of the same name in ``out_dir`` (created if needed, parents too) and
    the staging directory is removed; if the body raises (``KeyboardInterrupt``
    included), the staging directory is removed and ``out_dir`` is left as it
    was. Raises ``OSError`` up front when ``out_dir`` cannot be written (before
    any work). An ``OSError`` about a file of the staging directory (from the
    body or from the final move) is raised again naming that file's place in
    ``out_dir``: the staging directory is an implementation detail.
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path; got {type(out_dir).__name__}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a directory")
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage: Path | None = None
    try:
        # A Ctrl-C between mkdtemp's mkdir and the assignment would leave the
        # directory behind unnamed: it is held until ``stage`` is known.
        with _sigint_deferred():
            try:
                prefix = f".{out.name or 'report'}."
                stage = Path(tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=parent))
            except OSError as e:
                raise _naming(e, out, f"cannot create files in {parent}") from e
        if out.exists() and not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(f"{out}: directory is not writable")
        try:
            yield stage
            with _sigint_deferred():  # all files move, or none
                _publish(stage, out)
        except OSError as e:
            for name in (e.filename, e.filename2):
                inside = _relative_to(name, stage)
                if inside is not None:
                    raise _naming(e, out / inside) from e
            raise
    finally:
        if stage is not None:
            with _sigint_deferred():
                shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """A SIGINT arriving meanwhile is delivered when the block ends, not inside it.

    Only the main thread receives signals and may set handlers; elsewhere, and
    when SIGINT is ignored, nothing changes. The deferred signal goes to the
    handler that was in place before (``KeyboardInterrupt`` by default), raised
    at the end of the block, also when the block raised an exception of its own.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:
        yield
        return
    pending: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            signal.raise_signal(signal.SIGINT)


def _relative_to(name: Any, stage: Path) -> Path | None:
    """``name`` relative to ``stage`` when it lies there, else None."""
    if name is None:
        return None
    try:
        return Path(os.fsdecode(name)).relative_to(stage)
    except (TypeError, ValueError):
        return None


def _naming(e: OSError, where: Path, strerror: str | None = None) -> OSError:
    """The error ``e`` (same errno, same subclass) about the user's path ``where``."""
    text = e.strerror or str(e)
    if strerror:
        text = f"{strerror}: {text}"
    if e.errno is None:
        return type(e)(f"{where}: {text}")
    return OSError(e.errno, text, str(where))  # OSError(errno, ...) picks the subclass


def _publish(stage: Path, out: Path) -> None:
    if not out.exists():
        try:
            os.replace(stage, out)
        except OSError:
            out.mkdir(parents=True, exist_ok=True)
        else:
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(out, 0o777 & ~mask)  # mkdtemp made it private (0o700)
            return
    _remove_previous(out)
    for f in sorted(stage.iterdir()):
        os.replace(f, out / f.name)


def _remove_previous(out: Path) -> None:
    """Remove the figures a previous report in ``out`` listed (no stale files left)."""
    old = out / JSON_NAME
    try:
        listed = json.loads(old.read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return
    for name in listed if isinstance(listed, dict) else []:
        p = out / str(name)
        if p.name == str(name) and p.suffix == ".png" and p.is_file():
            p.unlink()
