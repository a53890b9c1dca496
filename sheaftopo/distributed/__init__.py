"""Exact topology and fiber products of point clouds too large for one machine, on Dask.

:func:`mst_dask`, :func:`h0_diagram_dask`
    Exact minimum spanning tree and H0 diagram (Borůvka over row-block pairs).
:func:`fiber_product_dask`, :func:`write_fiber_product_dask`, :func:`fiber_profile_dask`
    Exact ε-products of two chunked embedding sets as a blocked join (in
    memory, or written to a parquet dataset as :class:`FiberProductFiles`),
    and the ε-profile with recall and ε* without listing pairs.

Dask is imported by the functions, not here: ``import sheaftopo.distributed``
is cheap and works without Dask installed; calling a function without it
raises an ``ImportError`` naming the extra to install
(``pip install "sheaftopo[dask]"``).
"""

from ._fiber import (
    FiberProductFiles,
    fiber_product_dask,
    fiber_profile_dask,
    write_fiber_product_dask,
)
from ._mst import h0_diagram_dask, mst_dask

__all__ = [
    "FiberProductFiles",
    "fiber_product_dask",
    "fiber_profile_dask",
    "h0_diagram_dask",
    "mst_dask",
    "write_fiber_product_dask",
]
