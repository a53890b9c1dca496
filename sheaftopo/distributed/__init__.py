"""Exact topology of point clouds too large for one machine, on Dask.

Dask is imported by the functions, not here: ``import sheaftopo.distributed``
is cheap and works without Dask installed; calling a function without it
raises an ``ImportError`` naming the extra to install
(``pip install "sheaftopo[dask]"``).
"""

from ._mst import h0_diagram_dask, mst_dask

__all__ = ["h0_diagram_dask", "mst_dask"]
