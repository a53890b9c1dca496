"""The old home of the Dask plumbing, now :mod:`sheaftopo._core.dask`.

Only aliases remain, for the modules of other subpackages that still import
them from here; they are deleted once those import :mod:`sheaftopo._core.dask`.
"""

# alias for report/_distributed.py, report/_analysis.py and cli.py until they import
# sheaftopo._core.dask
from .._core.dask import compute, connect, prepare, require_dask

__all__ = ["compute", "connect", "prepare", "require_dask"]
