"""A training step's torch threads fitted to the cores other processes leave free.

The public face of :func:`sheaftopo._core.threads.torch_region` (the project's
threading policy, docs/architecture.md, "Threads").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._core.threads import free_cores, torch_region

__all__ = ["threads_on_free_cores"]


@contextlib.contextmanager
def threads_on_free_cores() -> Iterator[int]:
    """Run the block's torch ops with at most as many intra-op threads as there are free cores.

    Torch's CPU intra-op pool (GNU OpenMP) spins at its barriers; when other
    processes (DataLoader workers, a second job) take some of its cores, a
    thread of the pool waits for a descheduled one at every operation and a
    training step can slow down tenfold or more. Inside this block torch uses
    ``min(torch.get_num_threads(), free cores)`` threads, the free cores being
    this process's usable cores minus the other processes' runnable tasks,
    read when the block is entered (Linux ``/proc``; elsewhere the usable
    cores). The user's setting is restored on exit, exceptions included, and
    never raised. Wrap the forward *and* the backward pass: the backward runs
    outside the loss functions.

    ``torch.set_num_threads`` is process-wide: torch ops of other Python
    threads running meanwhile get the lowered count too. The last bits of a
    gradient depend on torch's thread count (its reductions split their sums
    by thread), so results are reproducible only at a fixed count.

    Yields
    ------
    int
        The number of free cores seen on entry.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import threads_on_free_cores, tomclip_loss
    >>> zt = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    >>> zs = (zt + 0.1).requires_grad_()
    >>> before = torch.get_num_threads()
    >>> with threads_on_free_cores() as cores:
    ...     tomclip_loss(zs, zt).backward()
    ...     assert torch.get_num_threads() <= before
    >>> torch.get_num_threads() == before and cores >= 1
    True
    """
    cores = free_cores()
    with torch_region():
        yield cores
