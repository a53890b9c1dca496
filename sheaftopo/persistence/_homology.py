r"""Persistence diagrams in every dimension up to ``max_dim``, by wrapping giotto-ph.

H0 comes from the exact float64 MST path of :func:`~sheaftopo.persistence.h0_diagram`;
H1 and higher from giotto-ph's ``ripser_parallel`` (imported inside the
function: ``pip install sheaftopo[homology]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.mst import DEFAULT_MEMORY_BUDGET
from .._core.threads import free_cores
from .._validation import as_points, check_choice, check_int, check_real, power_of_two_scale
from ._births import (
    as_vertex_births,
    check_min_persistence,
    drop_short,
    pairwise,
    vertex_birth_diagram,
    weighted_matrix,
)
from ._diagrams import h0_diagram
from ._graphs import as_graph, is_sparse, spanning_forest
from ._mst import METRICS

__all__ = ["Diagrams", "diagrams"]


@dataclass(frozen=True, eq=False)
class Diagrams:
    """Persistence diagrams of a Vietoris–Rips filtration, one per dimension.

    Attributes
    ----------
    dgms : tuple of ndarray, each of shape (k_d, 2)
        ``dgms[d]`` is the diagram in dimension ``d`` (float64 ``(birth,
        death)`` rows, death ``+inf`` for essential classes), as
        :func:`~sheaftopo.persistence.h0_diagram` returns it.
    max_dim : int
        The largest dimension computed.
    threshold : float
        Edges longer than this were left out (``inf``: none).
    coeff : int
        The prime field :math:`\\mathbb{Z}/p` of the coefficients.
    min_persistence : float or None
        Bars of at most this persistence were dropped (``None``: none).
    engine : str
        What computed dimensions 1 and up (``"giotto-ph <version>"``), or
        ``"mst"`` when ``max_dim == 0``.
    """

    dgms: tuple[np.ndarray, ...]
    max_dim: int
    threshold: float
    coeff: int
    min_persistence: float | None
    engine: str

    def __repr__(self) -> str:
        sizes = ", ".join(f"H{d}: {len(g)}" for d, g in enumerate(self.dgms))
        return f"Diagrams({sizes}; threshold={self.threshold:g}, engine={self.engine!r})"


def _engine() -> Any:
    try:
        from gph import ripser_parallel
    except ImportError as exc:
        raise ImportError(
            "diagrams(max_dim >= 1) needs giotto-ph: pip install 'sheaftopo[homology]' "
            "(or pip install giotto-ph)"
        ) from exc
    return ripser_parallel


def _engine_input(data: Any, metric: str, f: np.ndarray | None) -> tuple[Any, str, float]:
    """What giotto-ph is given, its metric, and the power of two it was divided by.

    Vertex births go on the diagonal of a distance matrix. The engine works in
    float32, so the input is brought to unit scale first (an exact division by
    a power of two; the diagrams are multiplied back), which keeps data from
    1e-300 to 1e300 within float32's range.
    """
    if is_sparse(data):
        import scipy.sparse as sp

        lo, hi, w, n = as_graph(data)
        if f is not None:
            w = np.maximum(w, np.maximum(f[lo], f[hi]))
        values = np.concatenate([w, np.zeros(n) if f is None else f])
        c = power_of_two_scale(values)
        idx = np.arange(n)
        S = sp.coo_matrix(
            (values / c, (np.concatenate([lo, idx]), np.concatenate([hi, idx]))), shape=(n, n)
        )
        return S, "precomputed", c
    if metric == "precomputed" or f is not None:
        if metric == "precomputed":
            D = np.asarray(data, dtype=np.float64)
        else:
            D = pairwise(as_points(data, "data"), metric, DEFAULT_MEMORY_BUDGET)
        W = D if f is None else weighted_matrix(D, f)
        c = power_of_two_scale(W)
        return W / c, "precomputed", c
    X = np.asarray(as_points(data, "data"), dtype=np.float64)
    c = power_of_two_scale(X) if metric == "euclidean" else 1.0
    return X / c, metric, c


def _h0(data: Any, metric: str, f: np.ndarray | None, threshold: float) -> np.ndarray:
    """H0 by the MST path, deaths beyond ``threshold`` made essential."""
    if f is not None:
        dgm = vertex_birth_diagram(
            data,
            f,
            metric=metric,
            method="auto",
            memory_budget=None,
            weights=None,
            n_vertices=None,
            depth=None,
        )
    elif is_sparse(data):
        dgm = spanning_forest(data).diagram
    else:
        dgm = h0_diagram(data, metric=metric)
    dgm = dgm.copy()
    dgm[dgm[:, 1] > threshold, 1] = np.inf
    fin = np.isfinite(dgm[:, 1])
    return np.concatenate([dgm[fin], dgm[~fin][np.argsort(dgm[~fin, 0], kind="stable")]])


def _higher(
    data: Any, metric: str, f: Any, max_dim: int, threshold: float, coeff: int, n_threads: int
) -> list[np.ndarray]:
    """Dimensions 1..max_dim from giotto-ph, in float64, rows sorted by (birth, death)."""
    ripser_parallel = _engine()
    X, engine_metric, c = _engine_input(data, metric, f)
    out = ripser_parallel(
        X,
        maxdim=max_dim,
        thresh=threshold / c,
        coeff=coeff,
        metric=engine_metric,
        n_threads=n_threads,
    )["dgms"]
    dgms = []
    for dgm in out[1:]:
        g = np.asarray(dgm, dtype=np.float64).reshape(-1, 2) * c
        dgms.append(g[np.lexsort((g[:, 1], g[:, 0]))])
    return dgms


def _validate(data: Any, metric: Any, vertex_births: Any) -> tuple[str, np.ndarray | None]:
    """Check ``data`` against ``metric`` once (the MST path's rules) and read the births."""
    metric = check_choice(metric, "metric", METRICS)
    if is_sparse(data):
        if metric != "precomputed":
            raise ValueError(
                "data is a sparse matrix, a graph: pass metric='precomputed' "
                f"(got metric={metric!r})"
            )
        n = as_graph(data)[3]
    elif metric == "precomputed":
        from .._validation import as_distance_matrix

        n = as_distance_matrix(data, "data").shape[0]
    else:
        n = as_points(data, "data").shape[0]
    f = None if vertex_births is None else as_vertex_births(vertex_births, n)
    return metric, f


def diagrams(
    data: Any,
    *,
    max_dim: int = 1,
    metric: str = "euclidean",
    threshold: float = math.inf,
    coeff: int = 2,
    min_persistence: float | None = 0.0,
    vertex_births: Any = None,
    n_threads: int | None = 1,
) -> Diagrams:
    r"""Persistence diagrams of the Vietoris–Rips filtration in dimensions 0 to ``max_dim``.

    H0 is :func:`~sheaftopo.persistence.h0_diagram` (exact, float64, from a
    minimum spanning tree); dimensions 1 and up are computed by giotto-ph's
    ``ripser_parallel`` [1]_, a multithreaded version of Ripser [2]_, and
    returned in the same format.

    Parameters
    ----------
    data : array_like or scipy.sparse matrix
        Points, shape (n, d), with ``metric="euclidean"`` or ``"cosine"``; a
        dense distance matrix, shape (n, n), or a sparse graph (every stored
        off-diagonal entry an edge, missing entries no edge) with
        ``metric="precomputed"``, validated as in
        :func:`~sheaftopo.persistence.mst` and
        :func:`~sheaftopo.persistence.spanning_forest`.
    max_dim : int, default 1
        The largest homology dimension, ``>= 0``. Dimension 2 and up grow
        quickly with ``n`` (Ripser's cost).
    metric : {"euclidean", "cosine", "precomputed"}, default "euclidean"
        As in :func:`~sheaftopo.persistence.mst`; ``"precomputed"`` for
        distance matrices and sparse graphs.
    threshold : float, default inf
        Edges longer than ``threshold`` never enter (``>= 0``), as in ripser
        and giotto-ph: classes alive at ``threshold`` are reported with death
        ``inf``, the H0 ones too, and the engine's work shrinks.
    coeff : int, default 2
        A prime :math:`p`: homology with :math:`\mathbb{Z}/p` coefficients.
    min_persistence : float or None, default 0.0
        Keep the bars with ``death - birth > min_persistence`` (essential bars
        always). The default drops exactly the zero-length bars, which ripser
        and giotto-ph never report in dimension >= 1 and GUDHI drops by
        default (its ``min_persistence=0.0`` has the same strict meaning);
        ``None`` keeps every bar (H0 then has one row per vertex, as
        :func:`~sheaftopo.persistence.h0_diagram` by default).
    vertex_births : array_like, shape (n,), optional
        A filtration value per vertex: the edge :math:`\{i, j\}` enters at
        :math:`\max(d_{ij}, f_i, f_j)` (see
        :func:`~sheaftopo.persistence.h0_diagram`); given to the engine as
        the diagonal of the distance matrix (for points, the dense
        :math:`n \times n` matrix is then built).
    n_threads : int or None, default 1
        Threads of the engine. ``None`` uses the cores this process has free
        now (the rule sheaftopo's numba kernels follow: the cores it may run
        on less the runnable tasks of other processes), so that the engine
        never oversubscribes a busy machine.

    Returns
    -------
    Diagrams
        ``.dgms[d]`` for ``d = 0, ..., max_dim``; the H0 diagram is sorted
        like :func:`~sheaftopo.persistence.h0_diagram`'s (finite rows by
        death, then the essential rows by birth), the others by
        ``(birth, death)``.

    Raises
    ------
    ValueError
        On malformed input (see ``data``), a negative or NaN ``threshold``
        or ``min_persistence``, a ``coeff`` that is not a prime, or
        ``vertex_births`` of the wrong length or not finite.
    TypeError
        On non-numeric input.
    ImportError
        When ``max_dim >= 1`` and giotto-ph is not installed.

    Notes
    -----
    Precision: giotto-ph (like ripser.py) computes filtration values in
    float32, so the births and deaths in dimension 1 and up are the float32
    roundings of distances (relative error below :math:`6 \cdot 10^{-8}`),
    while H0 is exact in float64. giotto-ph was chosen over ripser.py for its
    speed: on 400 Gaussian points in :math:`\mathbb{R}^3`, ``max_dim=1``, one
    thread, 0.14 s against 0.30 s for ``ripser.ripser`` (same process,
    2026-12-04, two-core machine); it also runs several threads.

    References
    ----------
    .. [1] J. Burella Pérez, S. Hauke, U. Lupo, M. Caorsi, A. Dassatti,
       "giotto-ph: A Python Library for High-Performance Computation of
       Persistent Homology of Vietoris–Rips Filtrations", arXiv:2107.05412, 2021.
    .. [2] U. Bauer, "Ripser: efficient computation of Vietoris–Rips persistence
       barcodes", Journal of Applied and Computational Topology 5, pp. 391–423, 2021.

    Examples
    --------
    Four points on a square of side 1: one loop born at 1 (the sides) and
    filled at :math:`\sqrt 2` (the diagonals):

    >>> import numpy as np
    >>> from sheaftopo.persistence import diagrams
    >>> result = diagrams(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    >>> result.dgms[1].round(6)
    array([[1.      , 1.414214]])
    >>> result.dgms[0]
    array([[ 0.,  1.],
           [ 0.,  1.],
           [ 0.,  1.],
           [ 0., inf]])
    """
    max_dim = check_int(max_dim, "max_dim", minimum=0)
    threshold = check_real(threshold, "threshold", low=0.0, allow_inf=True)
    coeff = check_int(coeff, "coeff", minimum=2)
    if any(coeff % k == 0 for k in range(2, math.isqrt(coeff) + 1)):
        raise ValueError(f"coeff must be a prime (Z/p coefficients); got {coeff}")
    min_persistence = check_min_persistence(min_persistence)
    threads = free_cores() if n_threads is None else check_int(n_threads, "n_threads", minimum=1)
    metric, f = _validate(data, metric, vertex_births)
    dgms = [_h0(data, metric, f, threshold)]
    engine = "mst"
    if max_dim >= 1:
        dgms += _higher(data, metric, f, max_dim, threshold, coeff, threads)
        from importlib.metadata import version

        engine = f"giotto-ph {version('giotto-ph')}"
    dgms = [drop_short(g, min_persistence) for g in dgms]
    return Diagrams(tuple(dgms), max_dim, threshold, coeff, min_persistence, engine)
