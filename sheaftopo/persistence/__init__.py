"""Persistence: H0 from minimum spanning trees, higher dimensions, diagram distances and kernels.

:func:`mst` takes points and dense distance matrices, :func:`spanning_forest`
graphs (scipy.sparse matrices and edge lists), as in ``scipy.sparse.csgraph``.
:func:`h0_diagram` reads the H0 diagram off the tree (optionally with vertex
births); :func:`diagrams` adds dimensions 1 and up by wrapping giotto-ph.
Diagrams are compared by :func:`bottleneck`, :func:`wasserstein` (with their
optimal matchings, :func:`bottleneck_matching`, :func:`wasserstein_matching`),
:func:`sliced_wasserstein` and :func:`sliced_wasserstein_kernel`.

Everything here is exact unless its name says otherwise. numba kernels are
compiled (and cached on disk) on first use, not at import; GUDHI, POT and
giotto-ph are imported only by the functions that use them.
"""

from ._diagrams import h0_diagram, h0_diagram_batch
from ._graphs import spanning_forest
from ._homology import Diagrams, diagrams
from ._matching import bottleneck, wasserstein
from ._matchings import DiagramMatching, bottleneck_matching, wasserstein_matching
from ._mst import SpanningForest, mst, mst_batch
from ._sliced import sliced_wasserstein
from ._sparsify import (
    SparsificationBound,
    SparsifiedGraph,
    approximation_bound,
    h1_births,
    sparsify,
)
from ._subsample import Subsample, farthest_point_subsample
from ._sw_kernel import sliced_wasserstein_kernel

__all__ = [
    "DiagramMatching",
    "Diagrams",
    "SpanningForest",
    "SparsificationBound",
    "SparsifiedGraph",
    "Subsample",
    "approximation_bound",
    "bottleneck",
    "bottleneck_matching",
    "diagrams",
    "farthest_point_subsample",
    "h0_diagram",
    "h0_diagram_batch",
    "h1_births",
    "mst",
    "mst_batch",
    "sliced_wasserstein",
    "sliced_wasserstein_kernel",
    "spanning_forest",
    "sparsify",
    "wasserstein",
    "wasserstein_matching",
]
