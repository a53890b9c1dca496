r"""H0 of a vertex-weighted Rips filtration (vertex births), and the ``min_persistence`` filter.

With a filtration value :math:`f_i` per vertex, vertex :math:`i` enters at
:math:`f_i` and the edge :math:`\{i, j\}` at
:math:`\max(w_{ij}, f_i, f_j)`, as in a distance matrix whose diagonal holds
the vertex births (ripser, giotto-ph) or a GUDHI simplex tree whose vertices
carry their own filtration values. The H0 deaths are the edge values of a
minimum spanning tree of those edge values (the MST path of :mod:`._mst`), and
the birth killed by each tree edge follows the elder rule (a numba union-find
in :mod:`._births_kernels`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core.kernels import kernel_loader
from .._core.mst import dense_mst
from .._validation import as_vector, check_real, power_of_two_scale
from ._graphs import graph_forest
from ._mst import MstInput, _memory_budget, _warn_graph_call, classify_input
from ._mst_points import unit_rows

__all__ = [
    "as_vertex_births",
    "check_min_persistence",
    "drop_short",
    "pairwise",
    "vertex_birth_diagram",
    "weighted_matrix",
]

_kernels = kernel_loader("sheaftopo.persistence._births_kernels")


def check_min_persistence(value: Any) -> float | None:
    """``None`` (keep every bar) or a finite real ``>= 0``."""
    if value is None:
        return None
    return check_real(value, "min_persistence", low=0.0)


def drop_short(dgm: np.ndarray, min_persistence: float | None) -> np.ndarray:
    """The rows of ``dgm`` with ``death - birth > min_persistence`` (all rows for ``None``).

    Essential rows (death ``+inf``) are always kept.
    """
    if min_persistence is None:
        return dgm
    with np.errstate(over="ignore", invalid="ignore"):
        keep = (dgm[:, 1] - dgm[:, 0] > min_persistence) | np.isinf(dgm[:, 1])
    return dgm[keep]


def as_vertex_births(value: Any, n: int) -> np.ndarray:
    """The vertex births: a finite float64 vector of length ``n``."""
    f = np.asarray(as_vector(value, "vertex_births", min_size=0), dtype=np.float64)
    if f.shape[0] != n:
        raise ValueError(
            f"vertex_births must hold one value per vertex, shape ({n},); got shape {f.shape}"
        )
    return f


def pairwise(X: np.ndarray, metric: str, budget: int) -> np.ndarray:
    """The dense (n, n) float64 dissimilarity matrix of points, zero diagonal."""
    from scipy.spatial.distance import cdist

    n = X.shape[0]
    if 8 * n * n > budget:
        raise ValueError(
            f"vertex_births on {n} points builds the {n} x {n} distance matrix "
            f"({8 * n * n} bytes), beyond memory_budget={budget}; raise memory_budget"
        )
    if metric == "cosine":
        U = unit_rows(X, "data")
        D = np.maximum(1.0 - U @ U.T, 0.0)
    else:
        s = power_of_two_scale(X)
        with np.errstate(over="ignore"):
            D = cdist(X.astype(np.float64) / s, X.astype(np.float64) / s) * s
        if not np.isfinite(D).all():
            raise ValueError("data has distances beyond the float64 range (about 1.8e308)")
    np.fill_diagonal(D, 0.0)
    return D


def weighted_matrix(D: np.ndarray, f: np.ndarray) -> np.ndarray:
    r"""``max(D_ij, f_i, f_j)`` off the diagonal, ``f_i`` on it (ripser's input form)."""
    W = np.maximum(np.maximum(D, f[:, None]), f[None, :])
    np.fill_diagonal(W, f)
    return W


def _forest(given: MstInput, f: np.ndarray, metric: str, budget: int, depth: int | None) -> Any:
    """The minimum spanning forest of the edge values ``max(w_ij, f_i, f_j)``."""
    if given.graph is not None:
        if depth is not None:
            _warn_graph_call("h0_diagram", depth)
        lo, hi, w, n = given.graph
        return graph_forest(lo, hi, np.maximum(w, np.maximum(f[lo], f[hi])), n)
    D = given.array if given.kind == "matrix" else pairwise(given.array, metric, budget)
    W = weighted_matrix(D, f)
    np.fill_diagonal(W, 0.0)
    return dense_mst(W)


def vertex_birth_diagram(
    data: Any,
    vertex_births: Any,
    *,
    metric: str,
    method: str,
    memory_budget: Any,
    weights: Any,
    n_vertices: Any,
    depth: int | None,
) -> np.ndarray:
    """The H0 diagram with vertex births (validated here; ``metric`` already checked).

    A graph is the deprecated call form of ``h0_diagram``, warned about
    ``depth`` calls below the user; ``depth=None`` (from ``diagrams``) does not warn.

    Rows ``(birth, death)`` in the order of the forest's edges (ascending
    death), then one ``(birth, inf)`` row per component, births ascending.
    """
    given = classify_input(data, metric, method, weights, n_vertices)
    if given.graph is None and method not in ("auto", "prim"):
        raise ValueError(
            f"method={method!r} does not apply with vertex_births, which runs dense Prim on "
            "the n x n matrix of max(d_ij, f_i, f_j); use 'auto' or 'prim'"
        )
    n = given.graph[3] if given.graph is not None else given.array.shape[0]
    f = as_vertex_births(vertex_births, n)
    forest = _forest(given, f, metric, _memory_budget(memory_budget), depth)
    births, oldest = _kernels().elder_rule(forest.edges[:, 0].copy(), forest.edges[:, 1].copy(), f)
    out = np.empty((n, 2))
    m = len(births)
    out[:m, 0] = births
    out[:m, 1] = forest.weights
    out[m:, 0] = np.sort(oldest)
    out[m:, 1] = np.inf
    return out
