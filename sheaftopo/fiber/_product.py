r"""The approximate fiber product of two embedding matrices, exactly.

Given embeddings :math:`f(P_i) = F_i` and :math:`g(Q_j) = G_j` in a shared space
:math:`Z = \mathbb{R}^d`, the approximate fiber product of Zhao
(arXiv:2412.00373) is the set of pairs

.. math:: F \times_{Z,\varepsilon} G = \{(i, j) : \operatorname{dist}(F_i, G_j) \le \varepsilon\}.

This module returns that set exactly (the same pairs as comparing every
distance with ε) without forming the N × M distance matrix:

* ``"blocked"``: both sets are cut into small balls (a tree of median splits
  along the direction between two far-apart points); a pair of balls is
  skipped when their centres are more than ε plus both radii apart; the other
  pairs of blocks get their inner products from BLAS (``float32`` by default),
  and a numba kernel screens them with the expansion
  :math:`\|a\|^2 + \|b\|^2 - 2a\cdot b` and a rigorous bound on its rounding
  error, then decides every surviving candidate with the exact distance. Row
  blocks run in parallel threads.
* ``"kdtree"`` (low dimension): scipy's ``cKDTree.query_ball_point`` with a
  radius enlarged by a rounding margin, then the same exact decision.
* ``ε = 0`` with the Euclidean metric: equal rows, found by sorting.

The distance that decides membership and that the results report is the
*canonical* one of :mod:`sheaftopo._core.fiber_kernels`: float64, features summed in order
(for the Euclidean metric, the value ``scipy.spatial.distance.cdist`` computes
wherever its sum of squares neither underflows nor overflows), with distance 0
reserved for equal vectors (cosine: equal unit rows). Every finite magnitude
works: the screening runs on rows divided by a power of two (exact), and the
canonical distance rescales tiny and overflowing sums.

The engines live in their own modules: :mod:`._screening` (the screening form
and its error bounds), :mod:`._balls` (the ball partition), :mod:`._blocked`
(the blocked engine) and :mod:`._kdtree` (the KD-tree engine and ε = 0); the
checks and canonical distances shared with :mod:`sheaftopo.distributed` are in
:mod:`sheaftopo._core.fiber_blocks`, the result types in :mod:`._results`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._core.fiber_blocks import (
    as_grid,
    check_true_distances,
    fiber_kernels,
    order_statistic,
    pair_inputs,
    true_distances,
)
from .._core.fiber_blocks import true_pairs as checked_pairs
from .._validation import check_choice, check_int, check_real
from ._blocked import TooManyPairs, blocked_hist, blocked_pairs, single_threaded_blas
from ._kdtree import exact_match_pairs, kdtree_candidates
from ._results import FiberProduct, FiberProfile
from ._screening import Prepared, choose_precision, prepare, sample_density, screen_threshold

__all__ = [
    "FiberProduct",
    "FiberProfile",
    "approximate_fiber_product",
    "epsilon_star",
    "fiber_profile",
]

METRICS = ("euclidean", "cosine")
METHODS = ("auto", "blocked", "kdtree")
PRECISIONS = ("auto", "float32", "float64")
#: "auto" uses the KD-tree up to this dimension
KDTREE_MAX_DIM = 4
#: and only while at most this fraction of all pairs is in the product
KDTREE_MAX_DENSITY = 0.01
_DEFAULT_BUDGET = 1 << 27


def _n_jobs(n_jobs: Any) -> int:
    if n_jobs is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    return check_int(n_jobs, "n_jobs", minimum=1)


def _common_args(
    metric: Any, method: Any, precision: Any, memory_budget: Any, n_jobs: Any
) -> tuple[str, str, str, int, int]:
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    precision = check_choice(precision, "precision", PRECISIONS)
    budget = check_int(memory_budget, "memory_budget", minimum=1 << 20)
    return metric, method, precision, budget, _n_jobs(n_jobs)


def _pick_method(method: str, p: Prepared, e_q: float) -> tuple[str, float]:
    """(method, estimated density)."""
    if method == "blocked" or (method == "auto" and p.d > KDTREE_MAX_DIM):
        return "blocked", 0.0
    density = sample_density(p, e_q)
    if method == "kdtree" or density <= KDTREE_MAX_DENSITY:
        return "kdtree", density
    return "blocked", density


def approximate_fiber_product(
    F: Any,
    G: Any,
    eps: float,
    *,
    metric: str = "euclidean",
    method: str = "auto",
    precision: str = "auto",
    memory_budget: int = _DEFAULT_BUDGET,
    max_pairs: int | None = None,
    n_jobs: int | None = None,
) -> FiberProduct:
    r"""The approximate fiber product: all pairs (i, j) with dist(F_i, G_j) <= ε.

    For embeddings :math:`F_i = f(P_i)` and :math:`G_j = g(Q_j)` in a shared
    space, this is Zhao's :math:`Z_{256}[x] \times_{Z,\varepsilon} Z_{|V|}[x]`
    restricted to the given items. The result is exact: the same pairs as
    comparing every canonical distance (see below) with ε, whichever method
    runs, ties at exactly ε included. It is computed without forming the
    N × M distance matrix.

    Parameters
    ----------
    F : array_like, shape (N, d)
        Embeddings of the first modality (float32 or float64; finite).
    G : array_like, shape (M, d)
        Embeddings of the second modality, in the same space.
    eps : float
        The tolerance ε >= 0. ε = 0 gives the exact fiber product
        :math:`\{(i, j) : F_i = G_j\}` for the Euclidean metric.
    metric : {"euclidean", "cosine"}
        Euclidean: :math:`\|F_i - G_j\|_2` in float64, squared differences
        summed in feature order: the value ``scipy.spatial.distance.cdist``
        computes (a sum of squares below :math:`2^{-968}`, where squares of
        tiny differences lose precision, or one that overflows, is recomputed
        with the differences rescaled; a distance beyond the float64 range is
        ``inf`` and in no product); distance 0 means equal vectors. Cosine:
        :math:`\tfrac12 \sum_k (u_k - v_k)^2 = 1 - u \cdot v` with
        :math:`u = F_i / \|F_i\|`, :math:`v = G_j / \|G_j\|` (each row first
        divided by a power of two near its largest entry, which is exact, then
        by its norm; sums in feature order), clipped to [0, 2]: exactly 0 for
        duplicate rows (and rows differing by a power-of-two factor), so ε = 0
        finds them; zero vectors raise ``ValueError``.
    method : {"auto", "blocked", "kdtree"}
        ``"kdtree"``: scipy's cKDTree (good in low dimension). ``"blocked"``:
        ball-pruned blocks of BLAS inner products screened by a numba kernel
        (good in high dimension). ``"auto"``: ``"kdtree"`` for d <= 4 when at
        most 1% of the pairs are expected in the product, otherwise
        ``"blocked"``; for ε = 0 with the Euclidean metric, equal rows are
        found by sorting (``"exact-match"``).
    precision : {"auto", "float32", "float64"}
        Arithmetic of the blocked inner products. The screening keeps every
        pair whose distance may be <= ε given a proven bound on the rounding
        error, and the exact float64 distance decides, so the result does not
        depend on this choice; float32 is about twice as fast and is what
        ``"auto"`` picks unless its error bound is large next to ε.
    memory_budget : int, default 128 MiB
        Bytes for the blocks of inner products (shared by the threads) and,
        with ``"kdtree"``, for the candidate pairs held at once. The result
        itself is extra: 24 bytes per pair.
    max_pairs : int, optional
        Raise ``ValueError`` as soon as more pairs than this are found
        (protects against an ε that selects most of the N·M pairs).
    n_jobs : int, optional
        Threads (default: the CPUs this process may use).

    Returns
    -------
    FiberProduct
        ``rows``, ``cols``, ``distances`` in lexicographic (i, j) order;
        ``to_sparse()`` gives the N × M CSR array.

    Raises
    ------
    ValueError
        For non-finite or empty input, F and G of different widths, ε < 0 or
        not finite, zero vectors with the cosine metric, or more than
        ``max_pairs`` pairs. Any finite magnitude of F, G and ε is accepted:
        the screening works on rows divided by powers of two (exact), and an
        ε beyond every distance of the data selects every pair.

    See Also
    --------
    fiber_profile : the sizes of the products over a whole grid of ε in one pass.

    Notes
    -----
    The screening error bound, the pruning rule and the proof that the result
    equals brute force are in ``theory/fiber-product.md``.

    References
    ----------
    .. [1] Zhao, "Approximate Fiber Product: A Preliminary Algebraic-Geometric
       Perspective on Multimodal Embedding Alignment", arXiv:2412.00373.
    .. [2] Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
       SIAM 2002, Sec. 3.1 (error of inner products).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import approximate_fiber_product
    >>> F = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    >>> G = np.array([[0.0, 0.0], [0.0, 5.0], [3.0, 4.0]])
    >>> prod = approximate_fiber_product(F, G, 5.0)
    >>> prod.rows, prod.cols
    (array([0, 0, 0, 1, 1, 1]), array([0, 1, 2, 0, 1, 2]))
    >>> prod.distances
    array([0.        , 5.        , 5.        , 5.        , 3.16227766, 0.        ])
    >>> exact = approximate_fiber_product(F, G, 0.0)  # the exact fiber product
    >>> list(zip(exact.rows.tolist(), exact.cols.tolist()))
    [(0, 0), (1, 2)]
    >>> prod.to_sparse().shape
    (3, 3)
    """
    Fv, Gv = pair_inputs(F, G)
    eps = check_real(eps, "eps", low=0.0)
    metric, method, precision, budget, jobs = _common_args(
        metric, method, precision, memory_budget, n_jobs
    )
    if max_pairs is not None:
        max_pairs = check_int(max_pairs, "max_pairs", minimum=0)
    n, m = len(Fv), len(Gv)
    if eps == 0.0 and metric == "euclidean" and method == "auto":
        rows, cols = exact_match_pairs(Fv, Gv)
        if max_pairs is not None and len(rows) > max_pairs:
            _raise_too_many(len(rows), max_pairs, eps)
        order = np.lexsort((cols, rows))
        return FiberProduct(
            rows[order], cols[order], np.zeros(len(rows)), (n, m), eps, metric, "exact-match"
        )
    with single_threaded_blas():
        p = prepare(Fv, Gv, metric)
        e_q = screen_threshold(p, eps)
        used, density = _pick_method(method, p, e_q)
        if used == "kdtree":
            rows, cols, dist = _kdtree_pairs(p, eps, budget, jobs, density, max_pairs)
        else:
            prec = choose_precision(precision, p, e_q)
            try:
                rows, cols, dist = blocked_pairs(p, eps, prec, budget, jobs, max_pairs)
            except TooManyPairs as exc:
                _raise_too_many(int(exc.args[0]), max_pairs, eps)
    order = np.lexsort((cols, rows))
    return FiberProduct(rows[order], cols[order], dist[order], (n, m), eps, metric, used)


def _kdtree_pairs(
    p: Prepared, eps: float, budget: int, jobs: int, density: float, max_pairs: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = fiber_kernels()
    rs, cs, ds = [], [], []
    found = 0
    for r_c, c_c in kdtree_candidates(p, eps, budget, jobs, density):
        dist = k.pair_distances(p.cF, p.cG, r_c, c_c, p.metric)
        keep = dist <= eps
        rs.append(r_c[keep])
        cs.append(c_c[keep])
        ds.append(dist[keep])
        found += int(keep.sum())
        if max_pairs is not None and found > max_pairs:
            _raise_too_many(found, max_pairs, eps)
    rows = np.concatenate(rs) if rs else np.empty(0, np.int64)
    cols = np.concatenate(cs) if cs else np.empty(0, np.int64)
    dist = np.concatenate(ds) if ds else np.empty(0)
    return rows, cols, dist


def _raise_too_many(found: int, max_pairs: Any, eps: float) -> None:
    raise ValueError(
        f"the {eps:.6g}-product has more than max_pairs={max_pairs} pairs (found at least "
        f"{found}); lower eps, raise max_pairs, or use fiber_profile to count pairs without "
        "listing them"
    )


def epsilon_star(
    F: Any,
    G: Any,
    true_pairs: Any = "diagonal",
    *,
    fraction: float = 1.0,
    metric: str = "euclidean",
) -> float:
    r"""The smallest ε whose ε-product contains a given fraction of the true pairs.

    With T true pairs and target q ∈ (0, 1], this is the ⌈qT⌉-th smallest
    canonical distance among the true pairs: the ε-product contains at least
    qT true pairs exactly when ε >= ε*. (⌈qT⌉ is computed with a relative
    tolerance of 1e-12, so q = 0.9 with T = 10 means 9 pairs.)

    Parameters
    ----------
    F : array_like, shape (N, d)
    G : array_like, shape (M, d)
    true_pairs : "diagonal" or array_like of int, shape (T, 2)
        The pairs (i, j) known to match; ``"diagonal"`` (N == M) means
        F[i] ↔ G[i]. Pairs must be distinct.
    fraction : float in (0, 1], default 1
        The recall target q.
    metric : {"euclidean", "cosine"}

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Bad input as in :func:`approximate_fiber_product`; bad or repeated
        true pairs; a true pair farther apart than the largest float64 (no
        finite ε holds it).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import epsilon_star
    >>> F = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G = F + np.array([[0.5], [0.1], [0.2], [0.3]])
    >>> epsilon_star(F, G), epsilon_star(F, G, fraction=0.5)
    (0.5, 0.2)
    """
    Fv, Gv = pair_inputs(F, G)
    metric = check_choice(metric, "metric", METRICS)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    i, j = checked_pairs(true_pairs, len(Fv), len(Gv))
    d = true_distances(Fv, Gv, i, j, metric)
    check_true_distances(d, i, j)
    return order_statistic(np.sort(d), q)


def fiber_profile(
    F: Any,
    G: Any,
    eps_grid: Any,
    *,
    true_pairs: Any = None,
    fraction: float = 1.0,
    metric: str = "euclidean",
    method: str = "auto",
    precision: str = "auto",
    memory_budget: int = _DEFAULT_BUDGET,
    n_jobs: int | None = None,
) -> FiberProfile:
    r"""Sizes of the ε-products over a grid of ε, in one pass, and the recall of true pairs.

    ``counts[k]`` equals ``len(approximate_fiber_product(F, G, eps_grid[k]))``
    exactly, but the pairs are never listed: every pair within the largest ε
    is dropped into its bin of the grid as the blocks are scanned, so the
    memory does not grow with the counts.

    Parameters
    ----------
    F : array_like, shape (N, d)
    G : array_like, shape (M, d)
    eps_grid : array_like, shape (K,)
        Non-decreasing tolerances >= 0.
    true_pairs : "diagonal" or array_like of int, shape (T, 2), optional
        Pairs known to match; gives ``recall`` and ``epsilon_star``.
    fraction : float in (0, 1], default 1
        Recall target of ``epsilon_star`` (1: the smallest ε containing every
        true pair).
    metric, method, precision, memory_budget, n_jobs
        As in :func:`approximate_fiber_product` (the exact-match shortcut is
        not used here).

    Returns
    -------
    FiberProfile

    Raises
    ------
    ValueError
        As :func:`approximate_fiber_product` and :func:`epsilon_star`, and for
        a grid that is empty, not 1-D, negative, not finite or decreasing.
        Tolerances beyond every distance of the data count every pair.

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (behaviour of the product as ε grows).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import fiber_profile
    >>> F = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> G = F + np.array([[0.5], [0.1], [0.2], [0.3]])
    >>> prof = fiber_profile(F, G, [0.0, 0.25, 0.5, 1.0], true_pairs="diagonal")
    >>> prof.counts
    array([0, 2, 5, 7])
    >>> prof.recall
    array([0. , 0.5, 1. , 1. ])
    >>> prof.epsilon_star
    0.5
    """
    Fv, Gv = pair_inputs(F, G)
    grid = as_grid(eps_grid)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    metric, method, precision, budget, jobs = _common_args(
        metric, method, precision, memory_budget, n_jobs
    )
    n, m = len(Fv), len(Gv)
    pairs = None if true_pairs is None else checked_pairs(true_pairs, n, m)
    K = len(grid)
    e_max = float(grid[-1])
    with single_threaded_blas():
        p = prepare(Fv, Gv, metric)
        e_q = screen_threshold(p, e_max)
        used, density = _pick_method(method, p, e_q)
        if used == "kdtree":
            k = fiber_kernels()
            hist = np.zeros(K + 1, np.int64)
            for r_c, c_c in kdtree_candidates(p, e_max, budget, jobs, density):
                dist = k.pair_distances(p.cF, p.cG, r_c, c_c, p.metric)
                hist += np.bincount(np.searchsorted(grid, dist, side="left"), minlength=K + 1)
        else:
            prec = choose_precision(precision, p, e_q)
            hist = blocked_hist(p, grid, prec, budget, jobs)
    counts = np.cumsum(hist[:K])
    recall = true_d = star = None
    if pairs is not None:
        true_d = true_distances(Fv, Gv, pairs[0], pairs[1], metric)
        check_true_distances(true_d, *pairs)
        sd = np.sort(true_d)
        recall = np.searchsorted(sd, grid, side="right") / len(sd)
        star = order_statistic(sd, q)
    return FiberProfile(
        eps=grid.copy(),
        counts=counts,
        n_total=n * m,
        recall=recall,
        true_distances=true_d,
        fraction=q,
        epsilon_star=star,
        metric=metric,
        method=used,
    )
