"""Progress of the long steps of an analysis, on stderr.

A live bar from ``rich`` when stderr is a terminal and rich is importable
(``tqdm`` when only it is), otherwise one plain line per finished step, so
logs and pipes stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Counts named steps toward a known total and shows them.

    Parameters
    ----------
    total : int
        Number of steps expected.
    enabled : bool, default True
        False: show nothing (steps are still timed).
    stream : file, default sys.stderr
        Where to show progress.
    backend : {"auto", "rich", "tqdm", "plain"}
        ``"auto"``: rich, else tqdm, when ``stream`` is a terminal; plain lines
        otherwise.

    Attributes
    ----------
    timings : dict of str to float
        Seconds spent in each finished step.

    Examples
    --------
    >>> import io
    >>> from sheaftopo.report import Progress
    >>> out = io.StringIO()
    >>> with Progress(2, stream=out, backend="plain") as p:
    ...     with p.step("first"):
    ...         pass
    ...     with p.step("second"):
    ...         pass
    >>> out.getvalue().splitlines()[1].startswith("[2/2] second")
    True
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        backend: str = "auto",
    ) -> None:
        from .._validation import check_int

        self.total = max(check_int(total, "total", minimum=0), 1)
        self.enabled = bool(enabled)
        self.stream = sys.stderr if stream is None else stream
        self.done = 0
        self.timings: dict[str, float] = {}
        self._bar: Any = None
        self._task: Any = None
        self._kind = self._choose(backend) if enabled else "off"
        self._start_bar()

    def _choose(self, backend: str) -> str:
        if backend not in ("auto", "rich", "tqdm", "plain"):
            raise ValueError(
                f"backend must be one of 'auto', 'rich', 'tqdm', 'plain'; got {backend!r}"
            )
        if backend != "auto":
            return backend
        isatty = getattr(self.stream, "isatty", None)
        if not (callable(isatty) and isatty()):
            return "plain"
        for name in ("rich", "tqdm"):
            try:
                __import__(name)
            except ImportError:
                continue
            return name
        return "plain"

    def _start_bar(self) -> None:
        if self._kind == "rich":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=self.total)
        elif self._kind == "tqdm":
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, file=self.stream, unit="step")

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Time one step and show it; use as a context manager."""
        if self._kind == "rich":
            self._bar.update(self._task, description=description)
        elif self._kind == "tqdm":
            self._bar.set_description(description)
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        self.timings[description] = self.timings.get(description, 0.0) + dt
        self.done += 1
        if self._kind == "rich":
            self._bar.update(self._task, advance=1)
        elif self._kind == "tqdm":
            self._bar.update(1)
        elif self._kind == "plain":
            print(
                f"[{self.done}/{self.total}] {description} ({dt:.2f} s)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        """Stop the live bar (idempotent)."""
        if self._bar is not None:
            if self._kind == "rich":
                self._bar.update(self._task, description="done")
                self._bar.stop()
            else:
                self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
