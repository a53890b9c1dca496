"""Background processes that keep cores busy, for timings "with the machine also busy"."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

#: a process that spins on one core until killed
SPIN = "while True:\n    pass\n"


@contextlib.contextmanager
def busy_processes(n: int, settle: float = 0.5) -> Iterator[None]:
    """Run the block while ``n`` Python processes spin on a core each (killed on exit)."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
    try:
        time.sleep(settle if n else 0.0)
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()
