"""``analyze --dask`` / ``--scheduler``: the Dask cluster the analysis runs on.

``--dask`` starts a LocalCluster of worker processes sized to this machine
(Dask's defaults) and closes it on exit; ``--scheduler ADDRESS`` connects to a
running scheduler within ``--scheduler-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from ._interrupt import sigint_ignored, silent_dask_on_interrupt

__all__ = ["LOCAL_CLUSTER_OPTIONS", "dask_client", "uses_dask"]

#: keywords of the LocalCluster that ``--dask`` starts (tests shrink it)
LOCAL_CLUSTER_OPTIONS: dict[str, Any] = {}


def uses_dask(args: argparse.Namespace) -> bool:
    """Whether the analysis runs on Dask (``--dask`` or ``--scheduler``)."""
    return bool(args.dask or args.scheduler)


@contextlib.contextmanager
def dask_client(args: argparse.Namespace) -> Iterator[Any]:
    """The :class:`~sheaftopo.distributed.DaskOptions` of ``--dask`` / ``--scheduler``, or None.

    Raises
    ------
    ConnectionError
        When the scheduler of ``--scheduler`` does not answer in time.
    ImportError
        When Dask is not installed (naming the extra).
    """
    if not uses_dask(args):
        yield None
        return
    with silent_dask_on_interrupt():
        yield from _dask_options(args)


def _dask_options(args: argparse.Namespace) -> Iterator[Any]:
    """The body of :func:`dask_client` with Dask: yields the one DaskOptions."""
    from .._core.dask import DaskOptions, connect, require_dask

    require_dask()
    sizes = {"block_rows": args.block_rows, "memory_budget": args.memory_budget}
    if args.scheduler:
        with connect(args.scheduler, args.scheduler_timeout) as client:
            yield DaskOptions(
                client=client,
                timeout=args.scheduler_timeout,
                description=f"Dask scheduler at {args.scheduler}",
                **sizes,
            )
        return
    import logging

    from distributed import Client, LocalCluster

    options = {
        "processes": True,
        "dashboard_address": ":0",
        "silence_logs": logging.CRITICAL,
        **LOCAL_CLUSTER_OPTIONS,
    }
    # worker processes start with SIGINT ignored: a Ctrl-C at the terminal (sent to the whole
    # process group) reaches this process only, which then closes the cluster (a Ctrl-C while
    # the cluster starts, a few seconds, is ignored too); CRITICAL: no worker logs of the race
    # between workers and a closing scheduler (errors of the analysis reach this process)
    with sigint_ignored():
        cluster = LocalCluster(**options)
    with cluster, Client(cluster) as client:
        workers = client.scheduler_info()["workers"].values()
        threads = sum(w["nthreads"] for w in workers)
        kind = "processes" if options["processes"] else "threads of this process"
        what = f"local Dask cluster: {len(workers)} workers ({kind}), {threads} threads"
        if not args.quiet:
            print(f"{what}; dashboard: {client.dashboard_link}", file=sys.stderr)
        yield DaskOptions(client=client, description=what, **sizes)
