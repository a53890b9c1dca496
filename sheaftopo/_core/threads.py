"""The threading policy: how many threads numba, BLAS and the torch adapter may use.

The one place that decides it (docs/architecture.md, "Threads"). Three pools
can run in a sheaftopo process: numba's parallel regions (``prange``; the
``omp`` threading layer on the project's machine, a GNU OpenMP pool), the BLAS
pool of the Gram products (OpenBLAS under NumPy) and, in the torch adapter,
torch's intra-op pool. Each spins for a while after its region ends, so two of
them back to back, or any of them on a machine whose cores are busy with other
processes, oversubscribe the cores. The rules:

* **small problems run serial**: :func:`serial_if_small` runs the numba
  kernels of a problem below :data:`SERIAL_WORK` on the calling thread alone
  (waking a pool costs more than the work);
* **BLAS is limited around numba parallel regions**: :func:`numba_region`
  caps the BLAS pools at one thread while a numba parallel region may run, so
  the two pools never spin against each other;
* **the torch adapter respects torch**: :func:`torch_selection` runs the
  selection's numba kernels with at most ``torch.get_num_threads()`` threads
  (a user who set ``torch.set_num_threads(1)`` gets one thread everywhere).

Every kernel under this policy computes each output entry on one thread in a
fixed order, so the thread counts change only the time, never a bit of the
result (tests/test_threads.py checks it). The previous counts are restored on
exit, exceptions included. Used by ``sheaf`` (the Laplacian assembly),
``persistence`` (the blocked Gram sweeps) and ``torch`` (the selection).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = [
    "SERIAL_WORK",
    "blas_threads",
    "numba_region",
    "numba_threads",
    "serial_if_small",
    "torch_selection",
]

#: Problems with less work than this (map entries plus vertices for a sheaf,
#: points times dimension for point sets) run their numba kernels on the calling
#: thread alone. Measured 2026-12-03 on this project's two-core VM (``laplacian``
#: of a 3-vertex sheaf with ``SERIAL_WORK = 0`` and with the default): 75 ms with
#: the pool and 0.6 ms without it while the machine was loaded; 0.1-0.3 ms either
#: way when it was idle.
SERIAL_WORK = 1 << 16

_controller: Any = None


@contextlib.contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """Run numba parallel regions with at most ``n`` threads inside the block.

    Restores the previous count on exit. Never raises the count above the
    current one (a user's ``numba.set_num_threads`` is an upper bound).
    """
    import numba

    if n >= numba.config.NUMBA_NUM_THREADS:  # no cap: leave numba's pool unstarted
        yield
        return
    previous = numba.get_num_threads()
    wanted = max(1, min(int(n), previous))
    if wanted == previous:
        yield
        return
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def serial_if_small(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """Run the block's numba kernels on one thread when ``work < threshold``."""
    if work >= threshold:
        yield
        return
    with numba_threads(1):
        yield


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Cap the BLAS pools (every loaded BLAS library) at ``n`` threads inside the block.

    Through threadpoolctl (a dependency); the controller is built once per
    process (about 20 µs per entry afterwards, measured 2026-12-03 on the
    two-core VM: ``python -c`` timing 100 entries of ``controller.limit``).
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=max(1, int(n)), user_api="blas"):
        yield


@contextlib.contextmanager
def numba_region(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """The policy around code that runs numba parallel regions.

    Small problems (``work < threshold``) run serial kernels and keep BLAS as
    it is; larger ones cap BLAS at one thread, so that the BLAS pool does not
    spin against numba's.
    """
    if work < threshold:
        with numba_threads(1):
            yield
        return
    with blas_threads(1):
        yield


@contextlib.contextmanager
def torch_selection(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """The torch adapter's selection: numba threads <= ``torch.get_num_threads()``.

    Small selections run serial (:func:`serial_if_small`).
    """
    import torch

    budget = 1 if work < threshold else torch.get_num_threads()
    with numba_threads(budget):
        yield
