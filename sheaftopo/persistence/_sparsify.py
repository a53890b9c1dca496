"""ToMCLIP's ε-sparsified graphs, their diagrams, and what sparsification costs.

ToMCLIP (arXiv:2510.10889) replaces the complete distance graph of a batch by
the graph ``G_eps`` of the pairs at distance at most
``eps = mean(D) - lam * std(D)`` and computes persistence there. The edges of
``G_eps`` that Kruskal keeps are exactly the MST edges of length <= eps, so the
sparsified H0 diagram agrees with the exact one below eps and differs only in
the ``m(eps)`` pairs that die later; :func:`approximation_bound` bounds the
Wasserstein distance that costs (``theory/sparsification-bound.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.mst import mst_kernels
from .._core.screening import CONVENTIONS, pairs_below, threshold
from .._validation import as_distance_matrix, check_choice, check_real
from ._graphs import as_graph, kruskal_selection
from ._mst import mst

__all__ = [
    "SparsificationBound",
    "SparsifiedGraph",
    "approximation_bound",
    "h1_births",
    "sparsify",
]


@dataclass(frozen=True, eq=False)
class SparsifiedGraph:
    """The ε-graph of a distance matrix.

    Attributes
    ----------
    graph : scipy.sparse.csr_array, shape (n, n)
        Symmetric adjacency of the kept pairs ``D[i, j] <= eps``, ``i != j``,
        weighted by ``D[i, j] / weight_scale``. Zero distances are stored as
        explicit zeros (edges), as :func:`~sheaftopo.persistence.spanning_forest`
        reads them.
    eps : float
        The threshold.
    lam : float
        The λ that produced it.
    n_edges : int
        Number of kept undirected edges.
    n_components : int
        Connected components of the ε-graph; ``n_components - 1`` finite
        H0 pairs of the exact diagram die after ``eps``.
    convention : str
        ``"exact"`` or ``"tomclip"`` (see :func:`sparsify`).
    weight_scale : float
        Divisor applied to the kept weights (1 for ``"exact"``).
    """

    graph: Any
    eps: float
    lam: float
    n_edges: int
    n_components: int
    convention: str
    weight_scale: float

    def __repr__(self) -> str:
        return (
            f"SparsifiedGraph(n={self.graph.shape[0]}, eps={self.eps:.6g}, "
            f"n_edges={self.n_edges}, n_components={self.n_components}, "
            f"convention={self.convention!r})"
        )


def _n_components(u: np.ndarray, v: np.ndarray, n: int) -> int:
    k = mst_kernels()
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    if len(u):
        k.uf_merge(parent, rank, u, v)
    return int(k.uf_labels(parent)[1])


def completed_at_max(D: np.ndarray, eps: float) -> np.ndarray:
    """``D^eps``: the entries of ``D`` at most ``eps`` kept, every other one set to ``max(D)``.

    The ε-graph's filtration completed at ``T = max(D)``, the value at which the
    full Rips filtration is complete anyway (``theory/sparsification-bound.md``).
    A new array of ``D``'s dtype; the diagonal stays zero (also for ``eps < 0``).
    """
    T = D.max() if D.size else D.dtype.type(0)
    out = np.where(D <= eps, D, T)
    np.fill_diagonal(out, 0)
    return out


def sparsify(D: Any, *, lam: float = 0.5, convention: str = "exact") -> SparsifiedGraph:
    r"""ToMCLIP's ε-sparsification of a distance matrix.

    Keeps the pairs with :math:`D_{ij} \le \varepsilon`,
    :math:`\varepsilon = \mu - \lambda\sigma`.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distance matrix (symmetric, non-negative, zero diagonal), n >= 2.
    lam : float
        λ; larger keeps fewer edges. ToMCLIP uses 0.5.
    convention : {"exact", "tomclip"}
        ``"exact"``: μ and σ are the mean and population standard deviation of
        the off-diagonal entries, and the kept weights are the distances
        themselves, so the graph's H0 diagram is the exact one truncated at ε
        (what :func:`approximation_bound` is about). ``"tomclip"`` reproduces
        ToMCLIP's released code: μ and σ are taken over all n² entries
        *including the zero diagonal*, σ is the unbiased (n² - 1) estimate
        (``torch.std``'s default), and the kept weights are divided by their
        maximum after thresholding (all kept weights zero: no division). The
        rescaling changes every death, so the bound of
        :func:`approximation_bound` does not describe that diagram.

    Returns
    -------
    SparsifiedGraph

    Raises
    ------
    ValueError
        On a malformed ``D`` (see :func:`~sheaftopo.persistence.mst`), fewer
        than 2 points, or a ``lam`` so large in magnitude that ε leaves the
        float64 range.

    Notes
    -----
    μ and σ are computed on D divided by the power of two that brings its
    largest entry into [0.5, 1) (exact) and multiplied back, so the sums and
    squares neither overflow nor underflow: ε of ``c * D`` is ``c`` times ε of
    ``D`` to rounding, for entries from 1e-300 to 1e300.

    References
    ----------
    .. [1] ToMCLIP, arXiv:2510.10889, Sec. on sparsification.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import sparsify, spanning_forest
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> D = np.abs(X - X.T)
    >>> g = sparsify(D, lam=0.5)
    >>> round(g.eps, 4), g.n_edges, g.n_components
    (1.8375, 4, 2)
    >>> spanning_forest(g.graph).diagram
    array([[0. , 0.1],
           [0. , 0.1],
           [0. , 0.1],
           [0. , inf],
           [0. , inf]])
    """
    import scipy.sparse as sp

    Dv = as_distance_matrix(D, "D")
    lam = check_real(lam, "lam")
    convention = check_choice(convention, "convention", CONVENTIONS)
    n = Dv.shape[0]
    if n < 2:
        raise ValueError(
            f"D must describe at least 2 points to have a threshold; got shape {Dv.shape}"
        )
    eps = threshold(Dv, lam, convention)
    u, v = pairs_below(Dv, eps)
    w = Dv[u, v].astype(np.float64)
    scale = 1.0
    if convention == "tomclip" and len(w) and float(w.max()) > 0:
        scale = float(w.max())
        w = w / scale
    graph = sp.csr_array(
        (np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
        shape=(n, n),
    )
    return SparsifiedGraph(
        graph=graph,
        eps=float(eps),
        lam=lam,
        n_edges=len(u),
        n_components=_n_components(u, v, n),
        convention=convention,
        weight_scale=scale,
    )


def h1_births(data: Any, *, weights: Any = None, n_vertices: int | None = None) -> np.ndarray:
    r"""Births of the 1-cycles of a weighted graph (ToMCLIP's "H1 birth" diagram).

    Filter the graph by edge weight. An edge that joins two components kills
    an H0 class; every other edge closes a cycle and gives birth to an H1
    class. A graph has no 2-cells, so these classes never die: the graph's H1
    diagram is :math:`\{(w_e, \infty)\}` over the edges *not* in a minimum
    spanning forest, and the births carry all of its information.

    Parameters
    ----------
    data : scipy.sparse matrix or array_like (m, 2)
        The graph, e.g. ``sparsify(D).graph``, or an edge list with ``weights``,
        read as in :func:`~sheaftopo.persistence.spanning_forest`: a sparse matrix must
        have a zero diagonal, and of conflicting ``(i, j)`` and ``(j, i)``
        entries the smaller weight is the edge's.
    weights, n_vertices
        For edge lists, as in :func:`~sheaftopo.persistence.spanning_forest`.

    Returns
    -------
    ndarray, shape (n_edges - (n - n_components),)
        The births in ascending order.

    References
    ----------
    .. [1] ToMCLIP, arXiv:2510.10889.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import h1_births
    >>> edges = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])
    >>> h1_births(edges, weights=[1.0, 2.0, 3.0, 1.5])
    array([3.])
    """
    lo, hi, w, n = as_graph(data, weights=weights, n_vertices=n_vertices)
    sel = kruskal_selection(lo, hi, w, n)
    cycle = np.ones(len(w), dtype=bool)
    cycle[sel] = False
    return np.sort(w[cycle])


@dataclass(frozen=True, eq=False)
class SparsificationBound:
    r"""The bound of :func:`approximation_bound` next to the truth.

    Attributes
    ----------
    eps : float
        Threshold.
    p : float
        Order of the Wasserstein distance (``inf``: bottleneck).
    n_affected : int
        :math:`m(\varepsilon)`: (components of the ε-graph) - 1, read off the
        sparsified diagram (its deaths after ε); by the theorem also the
        number of finite pairs of the exact diagram dying after ε.
    scale : float
        :math:`T = \max_{ij} D_{ij}`, the value at which the sparsified
        filtration completes (1 for distances normalised to [0, 1]).
    bound : float
        :math:`m(\varepsilon)^{1/p}\,(T - \varepsilon)^+` (for p = inf:
        :math:`(T-\varepsilon)^+` if m > 0, else 0).
    distance : float
        The true :math:`W_p` (bottleneck for p = inf) between the two
        diagrams, computed by GUDHI.
    exact_diagram : ndarray, shape (n, 2)
        H0 diagram of D.
    sparse_diagram : ndarray, shape (n, 2)
        H0 diagram of the sparsified filtration completed at T, computed from
        its matrix :math:`D^\varepsilon_{ij} = D_{ij}` if
        :math:`D_{ij} \le \varepsilon`, T otherwise (an MST of
        :math:`D^\varepsilon`); by the theorem its deaths after ε are all T,
        and one essential class remains.
    """

    eps: float
    p: float
    n_affected: int
    scale: float
    bound: float
    distance: float
    exact_diagram: np.ndarray
    sparse_diagram: np.ndarray

    @property
    def ratio(self) -> float:
        """``distance / bound`` (0 when both vanish); at most 1 by the theorem."""
        if self.bound == 0:
            return 0.0 if self.distance == 0 else np.inf
        return self.distance / self.bound


def approximation_bound(D: Any, eps: float, *, p: float = 2.0) -> SparsificationBound:
    r"""Bound on :math:`W_p` between the exact and the ε-sparsified H0 diagrams.

    **Theorem** (``theory/sparsification-bound.md``). Let D be a finite
    dissimilarity matrix with maximum entry T, let :math:`G_\varepsilon` keep
    the pairs with :math:`D_{ij} \le \varepsilon`, and complete its filtration
    at T (every remaining pair enters at T, which is when the full Rips
    filtration is complete anyway). With :math:`m(\varepsilon)` the number of
    components of :math:`G_\varepsilon` minus one,

    .. math::

        W_p\big(\mathrm{Dgm}_0(D), \mathrm{Dgm}_0(D_\varepsilon)\big)
        \le m(\varepsilon)^{1/p}\,(T - \varepsilon)^+ ,

    for every ground metric :math:`L_q` on the plane. With distances
    normalised to [0, 1] (T = 1) this is ToMCLIP's Theorem 1 as printed,
    :math:`m(\varepsilon)^{1/p}(1-\varepsilon)`; the proof pins down m(ε),
    the normalisation and the treatment of the essential classes, which the
    printed form leaves open. The bound is attained in the limit where every
    affected pair dies just after ε.

    Parameters
    ----------
    D : array_like, shape (n, n)
        Distance matrix.
    eps : float
        Threshold, e.g. ``sparsify(D).eps``.
    p : float
        Order, ``1 <= p <= inf``.

    Returns
    -------
    SparsificationBound
        The bound, the true distance (GUDHI/POT; this solves an optimal
        matching of 2n points, so it is the expensive part for large n) and
        both diagrams; the sparsified one is the persistence of
        :math:`D^\varepsilon` itself (a second MST), not the theorem's
        description of it.

    References
    ----------
    .. [1] ToMCLIP, arXiv:2510.10889, Theorem 1.
    .. [2] D. Cohen-Steiner, H. Edelsbrunner, J. Harer, Y. Mileyko,
       "Lipschitz functions have Lp-stable persistence", FoCM 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import approximation_bound
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    >>> res = approximation_bound(np.abs(X - X.T), 1.0, p=2)
    >>> res.n_affected, round(res.bound, 3), round(res.distance, 3)
    (1, 4.1, 0.3)
    """
    from ._matching import bottleneck, wasserstein

    Dv = as_distance_matrix(D, "D")
    eps = check_real(eps, "eps")
    p = check_real(p, "p", low=1.0, allow_inf=True)
    exact = mst(Dv, metric="precomputed")
    T = float(Dv.max())
    # the sparsified filtration completed at T, computed as it is defined (not
    # read off the theorem's description of its diagram): D^eps_ij = D_ij where
    # D_ij <= eps, T elsewhere
    completed = mst(completed_at_max(Dv, eps), metric="precomputed")
    # the c(G_eps) - 1 merges that G_eps cannot make happen after eps in D^eps
    m = int((completed.weights > eps).sum())
    gap = max(T - eps, 0.0)
    if m == 0:
        bound = 0.0
    elif np.isinf(p):
        bound = gap
    else:
        bound = m ** (1.0 / p) * gap
    if not math.isfinite(bound):
        raise ValueError(
            f"eps={eps!r} is so far below max(D)={T!r} that the bound "
            f"m(eps)^(1/p) (max(D) - eps) exceeds the float64 range"
        )
    exact_dgm = exact.diagram
    sparse_dgm = completed.diagram
    if np.isinf(p):
        dist = bottleneck(exact_dgm, sparse_dgm)
    else:
        dist = wasserstein(exact_dgm, sparse_dgm, p=p)
    return SparsificationBound(
        eps=eps,
        p=p,
        n_affected=m,
        scale=T,
        bound=float(bound),
        distance=float(dist),
        exact_diagram=exact_dgm,
        sparse_diagram=sparse_dgm,
    )
