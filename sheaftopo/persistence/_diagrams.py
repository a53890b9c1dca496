"""0-dimensional persistence diagrams of Vietoris–Rips filtrations, via minimum spanning trees."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._mst import batch_forests, forest

__all__ = ["h0_diagram", "h0_diagram_batch"]


def h0_diagram(
    data: Any,
    *,
    metric: str = "euclidean",
    weights: Any = None,
    n_vertices: int | None = None,
    method: str = "auto",
    memory_budget: int | None = None,
) -> np.ndarray:
    r"""The H0 persistence diagram of the Vietoris–Rips filtration.

    Every vertex is born at 0; components merge as edges enter in order of
    length, and the merge at an edge of length :math:`w` kills one class at
    :math:`w`. The finite deaths are therefore exactly the edge lengths of a
    minimum spanning tree (``theory/h0-rips-mst.md``).

    Parameters
    ----------
    data, metric, method, memory_budget
        As in :func:`sheaftopo.persistence.mst`: points or a dense distance
        matrix. The diagram of a graph (a ``scipy.sparse`` matrix or an edge
        list) is ``spanning_forest(graph).diagram``
        (:func:`~sheaftopo.persistence.spanning_forest`).
    weights, n_vertices
        Deprecated with the graph call forms, as in
        :func:`sheaftopo.persistence.mst` (removed in sheaftopo 0.3).

    Returns
    -------
    ndarray, shape (n, 2)
        Rows ``(0, death)``: the finite deaths in ascending order, then one
        ``(0, inf)`` row per connected component (ripser's convention). Row
        ``k < n - n_components`` is killed by ``mst(data, ...).edges[k]``;
        use :func:`~sheaftopo.persistence.mst` when you need those persistence
        pairs (e.g. to gather distances for gradients).

    References
    ----------
    .. [1] H. Edelsbrunner, J. Harer, *Computational Topology*, AMS 2010, VII.
    .. [2] ToMCLIP, arXiv:2510.10889.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import h0_diagram
    >>> h0_diagram(np.array([[0.0], [1.0], [3.0]]))
    array([[ 0.,  1.],
           [ 0.,  2.],
           [ 0., inf]])
    """
    return forest(data, metric, method, memory_budget, weights, n_vertices, "h0_diagram", 1).diagram


def h0_diagram_batch(
    data: Any,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    memory_budget: int | None = None,
) -> list[np.ndarray]:
    """H0 diagrams of a stack (B, n, d) or a list of point clouds (or dense matrices), in one call.

    See :func:`sheaftopo.persistence.mst_batch`; returns one ``(n, 2)`` diagram
    per cloud.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import h0_diagram_batch
    >>> dgms = h0_diagram_batch(np.zeros((3, 5, 2)))
    >>> [d.shape for d in dgms]
    [(5, 2), (5, 2), (5, 2)]
    """
    forests = batch_forests(data, metric, method, memory_budget, "h0_diagram_batch", 1)
    return [f.diagram for f in forests]
