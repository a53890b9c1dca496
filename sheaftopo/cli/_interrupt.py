"""Ctrl-C in the ``sheaftopo`` command: one line, exit status 130, never a crash inside numba.

:func:`interrupt_handler` installs :func:`on_sigint` for the duration of a
command; :func:`silent_dask_on_interrupt` names Dask's loggers for it to
silence; :func:`sigint_ignored` starts processes that leave Ctrl-C to this one;
:func:`forget_handled_interrupt` keeps a handled Ctrl-C from ending the process
by SIGINT anyway.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = [
    "EXIT_INTERRUPTED",
    "forget_handled_interrupt",
    "in_main_thread",
    "interrupt_handler",
    "on_sigint",
    "sigint_ignored",
    "silent_dask_on_interrupt",
]

#: exit status of a command interrupted by SIGINT (Ctrl-C): 128 + signal number, as shells do
EXIT_INTERRUPTED = 130

#: loggers the SIGINT handler silences (Dask's, while a Dask cluster runs)
SILENCED_ON_INTERRUPT: list[str] = []

#: parts of the paths of packages whose code a KeyboardInterrupt must not stop midway
_NOT_INTERRUPTIBLE = tuple(f"{os.sep}{pkg}{os.sep}" for pkg in ("numba", "llvmlite"))

#: code whose exceptions CPython reports as "ignored" and drops: the import system's module-lock
#: weakref callback (a Ctrl-C landing there was lost and the analysis ran on to exit status 0;
#: seen in CI) and finalizers
_SWALLOWING_FILES = ("<frozen importlib",)
_SWALLOWING_FUNCTIONS = frozenset({"__del__"})


def on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C: a KeyboardInterrupt, but never inside numba, and never lost.

    Compiled numba functions call back into Python (``_numba_unpickle``, to
    build their constants on a first call) and do not expect an exception
    there: a KeyboardInterrupt raised in such a callback, or in the middle of a
    compilation, ends the process by a segmentation fault. And an exception
    raised in the import system's module-lock callback or in a finalizer is
    printed as "ignored" and dropped. So when the interrupted code is numba's
    (or llvmlite's), the import system's or a ``__del__``, or this thread holds
    numba's compiler lock, the signal is sent again 50 ms later instead.

    Some C code also clears any exception raised while it runs (seen: CPython's
    ABC registration during an import), which drops the KeyboardInterrupt
    wherever Python is: so after raising it, the signal is sent again 0.25 s
    later should the command still be running. :func:`interrupt_handler`
    cancels that when the interrupt has left the command, and ignores SIGINT
    while it restores the previous handler.

    Parameters
    ----------
    signum : int
        The signal (SIGINT).
    frame : frame or None
        The interrupted frame.
    """
    if not _STATE["active"]:  # interrupt_handler is ending: the interrupt is being handled
        return
    where = frame.f_code.co_filename if frame is not None else ""
    name = frame.f_code.co_name if frame is not None else ""
    lock = getattr(sys.modules.get("numba.core.compiler_lock"), "global_compiler_lock", None)
    if (
        any(part in where for part in _NOT_INTERRUPTIBLE)
        or where.startswith(_SWALLOWING_FILES)
        or name in _SWALLOWING_FUNCTIONS
        or (lock is not None and lock.is_locked())
    ):
        _send_again(signum, 0.05)
        return
    if SILENCED_ON_INTERRUPT:
        import logging

        for logger in SILENCED_ON_INTERRUPT:
            logging.getLogger(logger).setLevel(logging.CRITICAL + 1)
    _send_again(signum, _WATCHDOG_SECONDS)
    raise KeyboardInterrupt


#: how long after raising a KeyboardInterrupt the signal comes again, should the command still run
_WATCHDOG_SECONDS = 0.25

#: whether interrupt_handler is in force (on_sigint acts only then), and the pending re-sends
_STATE: dict[str, Any] = {"active": False, "timers": []}


def _send_again(signum: int, delay: float) -> None:
    """Send ``signum`` to this process after ``delay`` seconds, unless the handler has ended."""
    import threading

    def again() -> None:
        if _STATE["active"]:
            os.kill(os.getpid(), signum)

    timer = threading.Timer(delay, again)
    timer.daemon = True
    _STATE["timers"].append(timer)
    timer.start()


@contextlib.contextmanager
def interrupt_handler() -> Iterator[None]:
    """:func:`on_sigint` handles SIGINT meanwhile (in the main thread; elsewhere: no change).

    On exit (normal, or with the KeyboardInterrupt leaving) the signals that
    :func:`on_sigint` scheduled are cancelled, and a SIGINT arriving before the
    previous handler is back is ignored.
    """
    import signal

    if not in_main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGINT, on_sigint)
    _STATE["active"] = True
    try:
        yield
    finally:
        _STATE["active"] = False
        for timer in _STATE["timers"]:
            timer.cancel()
        _STATE["timers"].clear()
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def silent_dask_on_interrupt() -> Iterator[None]:
    """After Ctrl-C, Dask's shutdown logs no "Task exception was never retrieved" tracebacks.

    The SIGINT handler silences the loggers itself: Dask's event-loop thread
    logs as soon as the interrupted gather is cancelled, before the
    KeyboardInterrupt has left the analysis.
    """
    names = ["asyncio", "distributed", "tornado"]
    SILENCED_ON_INTERRUPT.extend(names)
    try:
        yield
    finally:
        del SILENCED_ON_INTERRUPT[-len(names) :]


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored meanwhile (processes started now inherit that); the main thread only."""
    import signal

    if not in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def in_main_thread() -> bool:
    """Whether this is the main thread (the only one that may set signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def forget_handled_interrupt() -> None:
    """Keep a handled Ctrl-C from ending the process by SIGINT anyway.

    CPython sets a process-wide "unhandled KeyboardInterrupt" flag whenever a
    KeyboardInterrupt leaves code run from a string (``exec("...")``, as some
    libraries do while they are imported), even when an outer ``except``
    handles it, and then exits by re-raising SIGINT (status -2, not ours).
    Evaluating a string resets that flag.
    """
    exec("None", {})
