"""Alias of :mod:`sheaftopo._core.mst_kernels`, where the MST kernels now live."""

import sys

from .._core import mst_kernels

# alias for sheaftopo/distributed/_mst.py and tests/distributed/test_mst_dask.py
# until they import sheaftopo._core.mst_kernels
sys.modules[__name__] = mst_kernels
