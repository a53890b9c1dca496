"""0-dimensional persistence from minimum spanning trees, sparsification, diagram distances.

Everything here is exact unless its name says otherwise. numba kernels are
compiled (and cached) on first use, not at import.
"""

from ._diagrams import h0_diagram, h0_diagram_batch
from ._mst import SpanningForest, mst, mst_batch

__all__ = [
    "SpanningForest",
    "h0_diagram",
    "h0_diagram_batch",
    "mst",
    "mst_batch",
]
