"""0-dimensional persistence diagrams of Vietoris–Rips filtrations, via minimum spanning trees."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice
from ._births import check_min_persistence, drop_short, vertex_birth_diagram
from ._mst import METHODS, METRICS, batch_forests, forest

__all__ = ["h0_diagram", "h0_diagram_batch"]


def h0_diagram(
    data: Any,
    *,
    metric: str = "euclidean",
    weights: Any = None,
    n_vertices: int | None = None,
    method: str = "auto",
    memory_budget: int | None = None,
    vertex_births: Any = None,
    min_persistence: float | None = None,
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
    vertex_births : array_like, shape (n,), optional
        A filtration value :math:`f_i` per vertex (finite, any sign): vertex
        :math:`i` is born at :math:`f_i` and the edge :math:`\{i, j\}`
        enters at :math:`\max(d_{ij}, f_i, f_j)`, the vertex-weighted Rips
        filtration of ripser and giotto-ph (a distance matrix with the births
        on its diagonal) and of a GUDHI simplex tree with vertex filtration
        values. Works for points, dense matrices and graphs; for points and
        dense matrices it runs dense Prim on the :math:`n \times n` matrix of
        those edge values (:math:`8 n^2` bytes, within ``memory_budget``;
        ``method`` "auto" or "prim"). Births follow the elder rule: a merge
        kills the class of the component with the later minimum birth.
        Default: every vertex born at 0.
    min_persistence : float, optional
        Keep only the rows with ``death - birth > min_persistence``
        (essential rows always). ``None`` (default) keeps every row, so the
        diagram has ``n`` rows aligned with the tree's edges, as before this
        option existed; ``0.0`` drops the zero-length bars, as ripser and
        GUDHI (whose ``min_persistence`` has the same strict meaning and
        default 0) do.

    Returns
    -------
    ndarray, shape (n, 2)
        Rows ``(0, death)``: the finite deaths in ascending order, then one
        ``(0, inf)`` row per connected component (ripser's convention). Row
        ``k < n - n_components`` is killed by ``mst(data, ...).edges[k]``;
        use :func:`~sheaftopo.persistence.mst` when you need those persistence
        pairs (e.g. to gather distances for gradients). With
        ``vertex_births``, rows ``(birth, death)`` in ascending order of
        death, then the essential rows in ascending order of birth; fewer
        rows with ``min_persistence``.

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

    Vertex births: the middle point is born last, at 2.5, so both edges to it
    enter at 2.5; the first kills its own class at once (a zero-length bar,
    dropped with ``min_persistence=0.0``), the second the class born at 0.5:

    >>> h0_diagram(np.array([[0.0], [1.0], [3.0]]), vertex_births=[0.5, 2.5, 0.0],
    ...            min_persistence=0.0)
    array([[0.5, 2.5],
           [0. , inf]])
    """
    min_persistence = check_min_persistence(min_persistence)
    if vertex_births is None:
        dgm = forest(data, metric, method, memory_budget, weights, n_vertices, "h0_diagram", 1)
        return drop_short(dgm.diagram, min_persistence)
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    dgm = vertex_birth_diagram(
        data,
        vertex_births,
        metric=metric,
        method=method,
        memory_budget=memory_budget,
        weights=weights,
        n_vertices=n_vertices,
        depth=2,
    )
    return drop_short(dgm, min_persistence)


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
