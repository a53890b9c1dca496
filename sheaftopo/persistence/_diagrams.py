"""0-dimensional persistence diagrams of Vietoris–Rips filtrations, via minimum spanning trees."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._mst import mst, mst_batch

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
    data, metric, weights, n_vertices, method, memory_budget
        As in :func:`sheaftopo.persistence.mst`: points, a dense distance
        matrix, a sparse graph or an edge list.

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
    return mst(
        data,
        metric=metric,
        weights=weights,
        n_vertices=n_vertices,
        method=method,
        memory_budget=memory_budget,
    ).diagram


def h0_diagram_batch(
    data: Any,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    memory_budget: int | None = None,
) -> list[np.ndarray]:
    """H0 diagrams of a stack (B, n, d) or a list of point clouds, in one call.

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
    return [
        f.diagram
        for f in mst_batch(data, metric=metric, method=method, memory_budget=memory_budget)
    ]
