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
* **larger ones use the free cores only**: :func:`free_cores` reads, at call
  time, how many of this process's cores the other runnable tasks leave free
  (the idea of libgomp's ``OMP_DYNAMIC``, but from the instantaneous count
  rather than a load average), and :func:`numba_region`,
  :func:`blas_region` and :func:`torch_selection` run their pools with at
  most that many threads;
* **BLAS is limited around numba parallel regions**: :func:`numba_region`
  caps the BLAS pools at one thread while a numba parallel region may run, so
  the two pools never spin against each other;
* **the torch adapter respects torch**: :func:`torch_selection` runs the
  selection's numba kernels and BLAS products with at most
  ``torch.get_num_threads()`` threads (a user who set
  ``torch.set_num_threads(1)`` gets one thread everywhere), and
  :func:`torch_region` runs torch ops (a loss step) on the free cores only.

Counts are only ever lowered (a user's ``numba.set_num_threads`` or
threadpoolctl limit is an upper bound) and are restored on exit, exceptions
included; so is torch's, which numba's parallel launches can overwrite
(:func:`torch_count_kept`). Every kernel under this policy computes each output entry on one
thread in a fixed order, so the thread counts change only the time, never a
bit of the result (tests/test_threads.py checks it). Used by ``sheaf`` (the
Laplacian assembly), ``persistence`` (the Gram products and blocked sweeps)
and ``torch`` (the selection).

What the policy cannot change: torch's own intra-op pool outside sheaftopo's
calls (the user's torch ops run on it before and after them), and the spin of GNU
OpenMP pools, whose length ``GOMP_SPINCOUNT`` / ``OMP_WAIT_POLICY`` libgomp
reads once when it is loaded (so it must be set in the environment before the
process starts, not by a library).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = [
    "SERIAL_WORK",
    "blas_region",
    "blas_threads",
    "free_cores",
    "numba_region",
    "numba_threads",
    "serial_if_small",
    "torch_count_kept",
    "torch_region",
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
_controller_modules = -1


def _own_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _running_tasks() -> tuple[int, int] | None:
    """Runnable tasks on the machine and, of them, this process's own threads (Linux)."""
    try:
        with open("/proc/loadavg", "rb") as f:
            machine = int(f.read().split()[3].split(b"/")[0])
        own = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                    stat = f.read()
            except OSError:  # the thread ended meanwhile
                continue
            end = stat.rindex(b")")
            own += stat[end + 2 : end + 3] == b"R"
    except (OSError, ValueError, IndexError):
        return None
    return machine, max(own, 1)


def free_cores() -> int:
    """How many threads a parallel region of this process should use now, at least 1.

    The cores this process may run on (``os.sched_getaffinity``) minus the
    runnable tasks of OTHER processes, read at call time from ``/proc/loadavg``
    and ``/proc/self/task`` (26 µs, measured 2026-12-03 on the two-core VM,
    load 0.4: ``timeit`` of 1000 calls). This process's own threads (the
    caller, and pool threads still spinning after their last region) are not
    counted against it. When the machine has more online CPUs than this
    process may use (a cpuset), the other tasks are counted in proportion
    (rounded: one task elsewhere on a 16-CPU host does not take a core of a
    2-CPU cpuset).
    Where ``/proc`` cannot be read (not Linux) it returns the affinity's
    count, the behaviour without this policy.

    The count is instantaneous, like ``procs_running`` in ``/proc/stat``: two
    processes spinning on a two-core machine give 1 (one thread, no lock-step
    region waiting for a descheduled thread), an idle machine gives 2.

    Returns
    -------
    int
        Between 1 and ``len(os.sched_getaffinity(0))``.
    """
    cores = _own_cores()
    tasks = _running_tasks()
    if tasks is None:
        return cores
    machine, own = tasks
    others = max(machine - own, 0)
    online = os.cpu_count() or cores
    if online > cores:  # a cpuset: the share of the others on our cores, rounded
        others = (others * cores + online // 2) // online
    return max(1, cores - others)


@contextlib.contextmanager
def torch_count_kept() -> Iterator[None]:
    """Restore torch's intra-op thread count on exit, if the block changed it.

    When torch was imported before numba's ``omp`` threading layer started,
    both bind to torch's libgomp (loaded with global symbols), and every numba
    parallel launch sets that OpenMP runtime's thread count to numba's: a user
    who called ``torch.set_num_threads(1)`` found torch at 2 threads after any
    numba parallel kernel once torch had set up its OpenMP state (any torch op
    or ``torch.get_num_threads()`` before the first launch; checked 2026-12-03,
    numba 0.68.1, torch 2.13.0: tests/test_threads.py prints 2 without this
    guard), so torch ops after a sheaftopo call ran on a pool the user had
    turned off. Cheap
    (two ``get_num_threads`` calls); does nothing when torch is not loaded,
    and never imports it.
    """
    torch = sys.modules.get("torch")
    get = getattr(torch, "get_num_threads", None)
    if get is None:
        yield
        return
    previous = get()
    try:
        yield
    finally:
        if get() != previous:
            torch.set_num_threads(previous)


@contextlib.contextmanager
def numba_threads(n: int) -> Iterator[None]:
    """Run numba parallel regions with at most ``n`` threads inside the block.

    Restores the previous count on exit, and torch's (:func:`torch_count_kept`).
    Never raises the count above the current one (a user's
    ``numba.set_num_threads`` is an upper bound).
    """
    import numba

    with torch_count_kept():
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
    """Run the block's numba kernels on one thread when ``work < threshold``.

    Either way torch's thread count is restored on exit (:func:`torch_count_kept`).
    """
    if work >= threshold:
        with torch_count_kept():
            yield
        return
    with numba_threads(1):
        yield


def _blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries.

    Built once, and again when a module was imported since (a new import is
    what can load another BLAS, SciPy's for instance); building costs about
    1 ms (measured 2026-12-03 on the two-core VM, ``timeit`` of 20 builds).
    """
    global _controller, _controller_modules
    if _controller is None or _controller_modules != len(sys.modules):
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
        _controller_modules = len(sys.modules)
    return [lib for lib in _controller.lib_controllers if lib.user_api == "blas"]


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Cap the BLAS pools (every loaded BLAS library) at ``n`` threads inside the block.

    Through threadpoolctl (a dependency). A library already limited below
    ``n`` keeps its limit (the user's setting is an upper bound); a library
    already at its cap is not touched. Each previous count is restored on exit.
    """
    n = max(1, int(n))
    changed = []
    try:
        for lib in _blas_libraries():
            previous = lib.get_num_threads()
            if previous is not None and previous > n:
                lib.set_num_threads(n)
                changed.append((lib, previous))
        yield
    finally:
        for lib, previous in changed:
            lib.set_num_threads(previous)


@contextlib.contextmanager
def blas_region(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """The policy around BLAS products outside numba parallel regions (dense Prim's Gram).

    Problems of ``work >= threshold`` run BLAS with at most :func:`free_cores`
    threads; small ones run it on one thread. OpenBLAS does start its pool for
    a 256 x 64 Gram product, and the pool then spins against the serial numba
    kernel that follows: ``h0_diagram`` of 256 x 64 points took a median 5.3 ms
    with two busy processes on the two-core machine against 0.86 ms with BLAS
    on one thread (1.1 ms idle; 2026-12-03, ``/tmp`` script, 15 calls each).
    """
    with blas_threads(1 if work < threshold else free_cores()):
        yield


@contextlib.contextmanager
def numba_region(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """The policy around code that runs numba parallel regions.

    Small problems (``work < threshold``) run serial kernels; larger ones run
    numba with at most :func:`free_cores` threads. BLAS is capped at one
    thread either way, so that no BLAS pool spins against the kernels (see
    :func:`blas_region` for what a small product's pool costs).
    """
    with blas_threads(1), numba_threads(1 if work < threshold else free_cores()):
        yield


@contextlib.contextmanager
def torch_selection(work: int, threshold: int = SERIAL_WORK) -> Iterator[None]:
    """The torch adapter's selection: numba and BLAS threads <= ``torch.get_num_threads()``.

    Small selections run numba serial (:func:`serial_if_small`); larger ones
    use at most :func:`free_cores` threads as well.
    """
    import torch

    budget = torch.get_num_threads()
    if work < threshold:
        with numba_threads(1), blas_threads(1):
            yield
        return
    budget = min(budget, free_cores())
    with numba_threads(budget), blas_threads(budget):
        yield


@contextlib.contextmanager
def torch_region() -> Iterator[None]:
    """Torch ops inside the block run with at most :func:`free_cores` intra-op threads.

    For a loss's forward and backward: torch's intra-op pool (GNU OpenMP,
    spinning at its barriers) collapses when another process takes one of its
    cores (cdist forward + backward of 256 x 512 float32, a process that never
    imported sheaftopo, two spinning processes: 329 ms with torch's two
    threads, 13 ms with one, 5 ms with ``OMP_WAIT_POLICY=PASSIVE``; measured
    2026-12-03 on the two-core VM, load 3.6-4.1, ``/tmp`` script timing 30
    steps). Lowering the count for the block avoids that without touching the
    user's setting, which is restored on exit; torch's count is never raised.
    ``torch.set_num_threads`` is process-wide, so torch ops of other Python
    threads running meanwhile get the lowered count too. Unlike the kernels
    above, torch's reductions split their sums by thread count, so the last
    bits of a loss's gradient depend on it; with two threads they already
    vary from call to call (``topological_alignment_loss`` 256 x 512 float32,
    five identical calls on the two-core VM, 2026-12-03: gradients differ by
    up to 1.8e-7 with two torch threads, not at all with one).
    """
    import torch

    previous = torch.get_num_threads()
    wanted = min(previous, free_cores()) if previous > 1 else previous
    if wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
