"""Exact topology and fiber products of point clouds too large for one machine, on Dask.

:func:`mst_dask`, :func:`h0_diagram_dask`
    Exact minimum spanning tree and H0 diagram (Borůvka over row-block pairs).
:func:`fiber_product_dask`, :func:`write_fiber_product_dask`, :func:`fiber_profile_dask`
    Exact ε-products of two chunked embedding sets as a blocked join (in
    memory, or written to a parquet dataset as :class:`FiberProductFiles`),
    and the ε-profile with recall and ε* without listing pairs.
:func:`true_distances_dask`
    The canonical distances of known pairs (ε* at any recall, a grid for the
    profile) in one task per row block.
:class:`DaskOptions`
    Where and in what blocks they run (client or scheduler address, block
    size, memory budget, timeout, progress): the one ``options=`` argument of
    every function here. The separate keywords ``client``, ``block_rows``,
    ``memory_budget``, ``timeout``, ``progress`` still work, with a
    ``DeprecationWarning``, until sheaftopo 0.3.

Dask is imported by the functions, not here: ``import sheaftopo.distributed``
is cheap and works without Dask installed; calling a function without it
raises an ``ImportError`` naming the extra to install
(``pip install "sheaftopo[dask]"``).
"""

from .._core.dask import DaskOptions
from ._fiber import (
    FiberProductFiles,
    fiber_product_dask,
    fiber_profile_dask,
    true_distances_dask,
    write_fiber_product_dask,
)
from ._mst import h0_diagram_dask, mst_dask

__all__ = [
    "DaskOptions",
    "FiberProductFiles",
    "fiber_product_dask",
    "fiber_profile_dask",
    "h0_diagram_dask",
    "mst_dask",
    "true_distances_dask",
    "write_fiber_product_dask",
]
