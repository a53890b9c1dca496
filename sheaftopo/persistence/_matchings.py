r"""Optimal matchings between persistence diagrams, with their distances.

The distances of :mod:`._matching` together with a matching that realises
them, as GUDHI's ``matching=True`` returns it (index pairs, ``-1`` for the
diagonal), but in a result object rather than a changed return type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_diagram, check_real
from ._matching import Parts, bottleneck, smallest_matching, split_diagrams, wasserstein_solution

__all__ = ["DiagramMatching", "bottleneck_matching", "wasserstein_matching"]


@dataclass(frozen=True, eq=False)
class DiagramMatching:
    r"""An optimal matching between two persistence diagrams, and its distance.

    Attributes
    ----------
    distance : float
        The distance (``inf`` when the diagrams have different numbers of
        essential points: no matching exists and ``pairs`` is empty).
    pairs : ndarray of int64, shape (k, 2)
        Rows ``(i, j)``: point ``i`` of ``dgm1`` matched to point ``j`` of
        ``dgm2``; ``j = -1`` (``i = -1``) sends point ``i`` of ``dgm1`` (point
        ``j`` of ``dgm2``) to the diagonal, as in GUDHI. Every point of both
        diagrams appears exactly once; points on the diagonal are matched to
        it. Sorted by ``i`` (the diagonal rows of ``dgm2`` last).
    costs : ndarray of float64, shape (k,)
        The ground distance of each pair: :math:`\|x - y\|_q`, or
        :math:`2^{1/q - 1}(d - b)` to the diagonal, or :math:`|b - b'|`
        between essential points.
    p : float
        The order (``inf`` for the bottleneck distance).
    internal_p : float
        The ground metric exponent :math:`q`.
    """

    distance: float
    pairs: np.ndarray
    costs: np.ndarray
    p: float
    internal_p: float

    @property
    def cost(self) -> float:
        r"""The matching's cost, :math:`(\sum_k c_k^p)^{1/p}`.

        :math:`\max_k c_k` for :math:`p = \infty`. Equal to ``distance`` up
        to rounding: the matching is optimal.
        """
        top = float(self.costs.max(initial=0.0))
        if top == 0.0 or math.isinf(self.p):
            return top
        return top * float(np.sum((self.costs / top) ** self.p)) ** (1.0 / self.p)

    def __repr__(self) -> str:
        return (
            f"DiagramMatching(distance={self.distance:.6g}, pairs={len(self.pairs)}, "
            f"p={self.p:g}, internal_p={self.internal_p:g})"
        )


def _assemble(
    d1: np.ndarray,
    d2: np.ndarray,
    parts: Parts,
    finite: tuple[np.ndarray, np.ndarray, np.ndarray],
    p: float,
    q: float,
) -> DiagramMatching:
    """Pairs and costs in the original indices: essentials, diagonal points, the finite matching.

    ``finite`` holds the matching of the finite parts as positions in
    ``parts.fin1`` / ``parts.fin2`` (``-1``: the diagonal) and their costs in
    units of ``parts.scale``.
    """
    a, b, c = finite
    on_diag1 = np.setdiff1d(np.arange(len(d1)), np.concatenate([parts.ess1, parts.fin1]))
    on_diag2 = np.setdiff1d(np.arange(len(d2)), np.concatenate([parts.ess2, parts.fin2]))
    fa = np.full(len(a), -1, np.int64)
    fa[a >= 0] = parts.fin1[a[a >= 0]]
    fb = np.full(len(b), -1, np.int64)
    fb[b >= 0] = parts.fin2[b[b >= 0]]
    i = np.concatenate([parts.ess1, on_diag1, np.full(len(on_diag2), -1, np.int64), fa])
    j = np.concatenate([parts.ess2, np.full(len(on_diag1), -1, np.int64), on_diag2, fb])
    costs = np.concatenate([parts.gaps, np.zeros(len(on_diag1) + len(on_diag2)), c])
    costs = costs * parts.scale
    order = np.lexsort((j, np.where(i < 0, len(d1), i)))
    pairs = np.stack([i[order], j[order]], axis=1).astype(np.int64)
    matching = DiagramMatching(0.0, pairs, costs[order], p, q)
    return matching


def _plan_pairs(parts: Parts, plan: np.ndarray | None, p: float) -> tuple[np.ndarray, ...]:
    """The finite pairs of an optimal plan (positions, -1 for the diagonal) and their costs.

    A point-to-point pair costing more than sending both points to the
    diagonal (the cost matrix was capped there, see ``_finite_transport_cost``)
    is split into two diagonal pairs, which cost the same in the capped problem.
    """
    C, cx, cy = parts.C, parts.cx, parts.cy
    n, m = C.shape
    if plan is None:  # distance 0: every finite point lies on the diagonal
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    r, c = np.nonzero(plan[:n, :m] > 0.5)
    top = np.maximum(np.maximum(C[r, c], cx[r]), cy[c])
    top[top == 0] = 1.0
    with np.errstate(under="ignore"):
        split = (C[r, c] / top) ** p > (cx[r] / top) ** p + (cy[c] / top) ** p
    keep = ~split
    to_diag1 = np.concatenate([np.flatnonzero(plan[:n, m] > 0.5), r[split]])
    to_diag2 = np.concatenate([np.flatnonzero(plan[n, :m] > 0.5), c[split]])
    none1 = -np.ones(len(to_diag2), np.int64)
    none2 = -np.ones(len(to_diag1), np.int64)
    a = np.concatenate([r[keep], to_diag1, none1])
    b = np.concatenate([c[keep], none2, to_diag2])
    costs = np.concatenate([C[r[keep], c[keep]], cx[to_diag1], cy[to_diag2]])
    return a, b, costs


def _no_matching(p: float, q: float) -> DiagramMatching:
    return DiagramMatching(math.inf, np.zeros((0, 2), np.int64), np.zeros(0), p, q)


def wasserstein_matching(
    dgm1: Any, dgm2: Any, *, p: float = 2.0, internal_p: float = np.inf
) -> DiagramMatching:
    r"""The :math:`p`-Wasserstein distance between two diagrams and an optimal matching.

    The distance is :func:`~sheaftopo.persistence.wasserstein`'s (same
    definition, same solver and accuracy); the matching is the optimal
    transport plan it solved for, read as pairs of indices as
    ``gudhi.wasserstein.wasserstein_distance(dgm1, dgm2, matching=True,
    order=p, internal_p=internal_p, keep_essential_parts=True)`` [1]_ returns
    them: ``(i, j)``, with ``-1`` for the diagonal. Essential points (death
    ``+inf``) are matched in order of birth.

    Parameters
    ----------
    dgm1 : array_like, shape (n1, 2)
        First diagram, rows ``(birth, death)`` with ``death >= birth``; deaths
        may be ``+inf``. May be empty (``[]`` or shape ``(0, 2)``).
    dgm2 : array_like, shape (n2, 2)
        Second diagram.
    p : float, default 2.0
        Order, :math:`1 \le p < \infty`.
    internal_p : float, default inf
        Ground metric exponent :math:`q`, :math:`1 \le q \le \infty`.

    Returns
    -------
    DiagramMatching
        ``distance``, ``pairs`` (k, 2), ``costs`` (k,); ``cost`` (the
        matching's cost) equals ``distance`` up to rounding. With different
        numbers of essential points the distance is ``inf`` and ``pairs``
        is empty.

    Raises
    ------
    ValueError
        On malformed diagrams or bad ``p``/``internal_p``, as
        :func:`~sheaftopo.persistence.wasserstein`.
    TypeError
        On non-numeric input.

    See Also
    --------
    wasserstein : the distance alone.
    bottleneck_matching : the same for the bottleneck distance.

    Notes
    -----
    The plan is a vertex of the transport polytope (POT's network simplex),
    hence a matching; ties between optimal matchings are broken by the
    solver, so the pairs may differ from GUDHI's while the cost is the same.

    References
    ----------
    .. [1] T. Lacombe, The GUDHI Project, "Wasserstein distance", GUDHI User
       and Reference Manual, https://gudhi.inria.fr/python/latest/wasserstein_distance_user.html.

    Examples
    --------
    GUDHI's example diagrams: :math:`(2.7, 3.7)` goes to :math:`(2.8, 4.45)`,
    the other two points of ``dgm1`` to the diagonal:

    >>> import numpy as np
    >>> from sheaftopo.persistence import wasserstein_matching
    >>> dgm1 = np.array([[2.7, 3.7], [9.6, 14.0], [34.2, 34.974]])
    >>> dgm2 = np.array([[2.8, 4.45], [9.5, 14.1]])
    >>> m = wasserstein_matching(dgm1, dgm2, p=1.0, internal_p=2.0)
    >>> m.pairs
    array([[ 0,  0],
           [ 1,  1],
           [ 2, -1]])
    >>> round(m.distance, 6), round(m.cost, 6)
    (1.445359, 1.445359)
    """
    d1 = as_diagram(dgm1, "dgm1")
    d2 = as_diagram(dgm2, "dgm2")
    p = check_real(p, "p", low=1.0)
    internal_p = check_real(internal_p, "internal_p", low=1.0, allow_inf=True)
    sol = wasserstein_solution(d1, d2, p, internal_p)
    if sol.parts is None:
        return _no_matching(p, internal_p)
    m = _assemble(d1, d2, sol.parts, _plan_pairs(sol.parts, sol.plan, p), p, internal_p)
    return DiagramMatching(sol.value, m.pairs, m.costs, p, internal_p)


def bottleneck_matching(dgm1: Any, dgm2: Any) -> DiagramMatching:
    r"""The bottleneck distance between two diagrams and a matching that realises it.

    The distance is that of :func:`~sheaftopo.persistence.bottleneck`
    (exact). The matching is found as in the proofs of the stability theorem:
    the smallest :math:`t` among the pairwise :math:`\ell_\infty` distances
    and distances to the diagonal for which the bipartite graph of the pairs
    within :math:`t` has a perfect matching (diagonal copies included), by
    binary search starting at Hera's value [1]_, each step
    ``scipy.sparse.csgraph.maximum_bipartite_matching``. Index pairs in the
    format of GUDHI's ``wasserstein_distance(..., matching=True)`` (GUDHI's
    bottleneck functions return no matching): ``(i, j)`` with ``-1`` for the
    diagonal; essential points are matched in order of birth.

    Parameters
    ----------
    dgm1 : array_like, shape (n1, 2)
        First diagram, rows ``(birth, death)`` with ``death >= birth``; deaths
        may be ``+inf``. May be empty (``[]`` or shape ``(0, 2)``).
    dgm2 : array_like, shape (n2, 2)
        Second diagram.

    Returns
    -------
    DiagramMatching
        With ``p = inf`` and ``internal_p = inf``; ``cost`` (the largest pair
        cost) equals ``distance``. Any matching whose pairs all cost at most
        the distance is optimal for the bottleneck distance; this is one.

    Raises
    ------
    ValueError
        On malformed diagrams, as :func:`~sheaftopo.persistence.bottleneck`.
    TypeError
        On non-numeric input.

    See Also
    --------
    bottleneck : the distance alone (faster on large diagrams).
    wasserstein_matching : the same for the Wasserstein distances.

    Notes
    -----
    Cost: a few bipartite matchings on :math:`n_1 + n_2` vertices per side
    and up to :math:`(n_1 + n_2)^2` edges; fine for diagrams of hundreds of
    points, slow for tens of thousands (use :func:`bottleneck`).

    References
    ----------
    .. [1] M. Kerber, D. Morozov, A. Nigmetov, "Geometry helps to compare
       persistence diagrams", ACM Journal of Experimental Algorithmics 22, 2017.

    Examples
    --------
    GUDHI's example diagrams: :math:`(2.7, 3.7)` is matched to
    :math:`(2.8, 4.45)` at :math:`\ell_\infty` distance 0.75:

    >>> import numpy as np
    >>> from sheaftopo.persistence import bottleneck_matching
    >>> dgm1 = np.array([[2.7, 3.7], [9.6, 14.0], [34.2, 34.974]])
    >>> dgm2 = np.array([[2.8, 4.45], [9.5, 14.1]])
    >>> m = bottleneck_matching(dgm1, dgm2)
    >>> round(m.distance, 6), m.cost == m.distance
    (0.75, True)
    >>> m.pairs
    array([[ 0,  0],
           [ 1,  1],
           [ 2, -1]])
    """
    d1 = as_diagram(dgm1, "dgm1")
    d2 = as_diagram(dgm2, "dgm2")
    inf = math.inf
    if math.isinf(bottleneck(d1, d2)):
        return _no_matching(inf, inf)
    parts = split_diagrams(d1, d2, inf)
    C, cx, cy = parts.C, parts.cx, parts.cy
    n, m = C.shape
    match = np.zeros(0, np.int64)
    if n + m:
        values = np.unique(np.concatenate([C.ravel(), cx, cy]))
        hera = bottleneck(d1[parts.fin1] / parts.scale, d2[parts.fin2] / parts.scale)
        found = smallest_matching(values[values >= hera * (1.0 - 1e-9)], C, cx, cy)
        if found is None:  # pragma: no cover - Hera's value is never above the optimum
            found = smallest_matching(values, C, cx, cy)
        assert found is not None
        match = found[1]
    a, b = _bottleneck_pairs(match, n, m)
    costs = np.empty(len(a))
    both, first, second = (a >= 0) & (b >= 0), b < 0, a < 0
    costs[both] = C[a[both], b[both]]
    costs[first] = cx[a[first]]
    costs[second] = cy[b[second]]
    result = _assemble(d1, d2, parts, (a, b, costs), inf, inf)
    return DiagramMatching(result.cost, result.pairs, result.costs, inf, inf)


def _bottleneck_pairs(match: np.ndarray, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(a, b)`` of the finite pairs of a :func:`matching_within` result."""
    rows = np.arange(n + m)
    point_row = rows < n
    a = np.where(point_row, rows, -1)
    b = np.where(match < m, match, -1)
    keep = point_row | (match < m)  # drop diagonal copy to diagonal copy
    return a[keep], b[keep]
