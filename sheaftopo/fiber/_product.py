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
*canonical* one of :mod:`._fiber_kernels`: float64, features summed in order
(for the Euclidean metric, the value ``scipy.spatial.distance.cdist`` computes
wherever its sum of squares neither underflows nor overflows), with distance 0
reserved for equal vectors (cosine: equal unit rows). Every finite magnitude
works: the screening runs on rows divided by a power of two (exact), and the
canonical distance rescales tiny and overflowing sums.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_points, check_choice, check_int, check_real
from ._numeric import exponent_of, ldexp_scalar

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
_ROW_LEAF = 128
_COL_LEAF = 128
#: consecutive row leaves are processed together, up to this many rows per gemm
_ROW_BLOCK = 256
_MAX_BLOCK_COLS = 2048
_DEFAULT_BUDGET = 1 << 27
_U32 = 2.0**-24
# relative slack that covers every float64 rounding of the screening
# (centring, norms, the expansion, the canonical sum): (d + 16) * 2**-50


def _f64_slack(d: int) -> float:
    return (d + 16) * 2.0**-50


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FiberProduct:
    r"""The pairs of an approximate fiber product.

    Attributes
    ----------
    rows : ndarray of int64, shape (n_pairs,)
        Row indices i into F, sorted; pairs are in lexicographic (i, j) order.
    cols : ndarray of int64, shape (n_pairs,)
        Row indices j into G.
    distances : ndarray of float64, shape (n_pairs,)
        The canonical distance of each pair (all <= ``eps``).
    shape : tuple of int
        (N, M), the sizes of F and G.
    eps : float
        The tolerance ε.
    metric : str
        ``"euclidean"`` or ``"cosine"``.
    method : str
        The algorithm that ran: ``"blocked"``, ``"kdtree"`` or ``"exact-match"``
        (ε = 0, Euclidean).
    """

    rows: np.ndarray
    cols: np.ndarray
    distances: np.ndarray
    shape: tuple[int, int]
    eps: float
    metric: str
    method: str

    @property
    def n_pairs(self) -> int:
        """Number of pairs in the product."""
        return int(self.rows.shape[0])

    def __len__(self) -> int:
        return self.n_pairs

    @property
    def density(self) -> float:
        """Fraction of all N·M pairs that are in the product."""
        return self.n_pairs / (self.shape[0] * self.shape[1])

    def to_sparse(self) -> Any:
        """The product as a scipy CSR array of shape (N, M) holding the distances.

        Every pair is a stored entry; pairs at distance 0 (equal embeddings)
        are stored as explicit zeros, so use ``.nnz`` (not
        ``count_nonzero()``) to count pairs, and do not call
        ``eliminate_zeros()``.
        """
        import scipy.sparse as sp

        n, m = self.shape
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=n), out=indptr[1:])
        return sp.csr_array((self.distances.copy(), self.cols.copy(), indptr), shape=(n, m))

    def __repr__(self) -> str:
        return (
            f"FiberProduct(shape={self.shape}, eps={self.eps:.6g}, metric={self.metric!r}, "
            f"n_pairs={self.n_pairs}, method={self.method!r})"
        )


@dataclass(frozen=True, eq=False)
class FiberProfile:
    r"""Sizes of the ε-products over a grid of tolerances, and the recall of true pairs.

    Attributes
    ----------
    eps : ndarray of float64, shape (K,)
        The grid (non-decreasing), as given.
    counts : ndarray of int64, shape (K,)
        ``counts[k]`` = number of pairs (i, j) with canonical distance
        <= ``eps[k]``, i.e. ``len(approximate_fiber_product(F, G, eps[k]))``.
    n_total : int
        N·M, the number of all pairs.
    recall : ndarray of float64, shape (K,), or None
        Fraction of the true pairs inside each ε-product (None without
        ``true_pairs``).
    true_distances : ndarray of float64, shape (T,), or None
        Canonical distances of the true pairs, in the order given.
    fraction : float
        The recall target that defines ``epsilon_star``.
    epsilon_star : float or None
        The smallest ε whose product contains at least ``fraction`` of the
        true pairs: the ⌈fraction·T⌉-th smallest true distance (exact). None
        without ``true_pairs``.
    metric : str
    method : str
    """

    eps: np.ndarray
    counts: np.ndarray
    n_total: int
    recall: np.ndarray | None
    true_distances: np.ndarray | None
    fraction: float
    epsilon_star: float | None
    metric: str
    method: str

    @property
    def fractions(self) -> np.ndarray:
        """``counts / n_total``: the fraction of all pairs inside each ε-product."""
        return self.counts / self.n_total

    def epsilon_for_recall(self, fraction: float) -> float:
        """The smallest ε containing at least ``fraction`` (in (0, 1]) of the true pairs."""
        if self.true_distances is None:
            raise ValueError("this profile was computed without true_pairs")
        q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
        return _order_statistic(np.sort(self.true_distances), q)

    def __repr__(self) -> str:
        star = "None" if self.epsilon_star is None else f"{self.epsilon_star:.6g}"
        return (
            f"FiberProfile(K={len(self.eps)}, n_total={self.n_total}, metric={self.metric!r}, "
            f"epsilon_star={star}, method={self.method!r})"
        )


# --------------------------------------------------------------------------
# validation and preparation
# --------------------------------------------------------------------------


def _kernels() -> Any:
    from . import _fiber_kernels

    return _fiber_kernels


def _pair_inputs(F: Any, G: Any) -> tuple[np.ndarray, np.ndarray]:
    Fv = as_points(F, "F")
    Gv = as_points(G, "G")
    if Fv.shape[1] != Gv.shape[1]:
        raise ValueError(
            "F and G must live in the same space (the same number of columns d); got F of "
            f"shape {Fv.shape} and G of shape {Gv.shape}"
        )
    return (
        np.ascontiguousarray(Fv, dtype=np.float64),
        np.ascontiguousarray(Gv, dtype=np.float64),
    )


def _n_jobs(n_jobs: Any) -> int:
    if n_jobs is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    return check_int(n_jobs, "n_jobs", minimum=1)


def _unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    """The rows scaled to unit norm (:func:`._fiber_kernels.unit_rows`); zero rows refused."""
    zero = ~X.any(axis=1)
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        raise ValueError(
            f"the cosine distance is undefined for zero vectors; {name}[{i}] is zero "
            f"({int(zero.sum())} zero rows in {name})"
        )
    return _kernels().unit_rows(X)


#: stands for screening rows that were freed once the blocked engine was built
_RELEASED = np.empty((0, 0))


@dataclass
class _Prepared:
    """Both sets in canonical form (cF, cG) and in screening form (a, b).

    Euclidean: cF, cG are the original rows and a, b the rows divided by a
    power of two, centred on the common mean and divided by another power of
    two, so that every entry is below 1 in magnitude: a screening distance is
    the distance times ``2**shift`` (kept as an exponent: the factor itself
    need not be a finite float). Cosine: cF = a, cG = b are the unit rows and
    ``shift`` is 0.
    """

    cF: np.ndarray
    cG: np.ndarray
    metric: int
    a: np.ndarray
    b: np.ndarray
    nA: np.ndarray  # squared norms of a, b
    nB: np.ndarray
    shift: int  # screening distance = distance * 2**shift

    @property
    def d(self) -> int:
        return int(self.cF.shape[1])

    @property
    def reach_cap(self) -> float:
        """A screening distance beyond every pair's (entries of a, b are below 1)."""
        return 2.0 * math.sqrt(self.d) + 1.0 if self.metric == 0 else 3.0

    def screen_eps(self, eps: Any) -> Any:
        """ε (scalar or array) in screening units of distance, capped at :attr:`reach_cap`.

        Euclidean: ``eps * 2**shift``; cosine: ``sqrt(2 eps)``, the chord of a
        pair at cosine distance ε. A tolerance beyond every distance of the
        data is capped (the pairs it selects do not change), so no square
        overflows whatever ε.
        """
        cap = self.reach_cap
        if self.metric == 1:
            return np.sqrt(2.0 * np.minimum(np.asarray(eps, np.float64), cap * cap / 2.0))
        if np.ndim(eps) == 0:
            return min(ldexp_scalar(float(eps), self.shift), cap)
        with np.errstate(over="ignore"):
            return np.minimum(np.ldexp(np.asarray(eps, np.float64), self.shift), cap)


def _prepare(F: np.ndarray, G: np.ndarray, metric: str) -> _Prepared:
    if metric == "cosine":
        a = _unit_rows(F, "F")
        b = _unit_rows(G, "G")
        nA = np.einsum("ij,ij->i", a, a)
        nB = np.einsum("ij,ij->i", b, b)
        return _Prepared(a, b, 1, a, b, nA, nB, 0)
    # powers of two (exact): first so that the mean cannot overflow, then so
    # that the centred entries are below 1
    e0 = exponent_of(F, G)
    a = np.ldexp(F, -e0)
    b = np.ldexp(G, -e0)
    mu = (a.sum(axis=0) + b.sum(axis=0)) / (len(a) + len(b))
    a -= mu
    b -= mu
    e1 = exponent_of(a, b)
    np.ldexp(a, -e1, out=a)
    np.ldexp(b, -e1, out=b)
    nA = np.einsum("ij,ij->i", a, a)
    nB = np.einsum("ij,ij->i", b, b)
    return _Prepared(F, G, 0, a, b, nA, nB, -(e0 + e1))


def _screen_threshold(p: _Prepared, eps: float) -> float:
    """ε in screening units: the squared screening distance (cosine: squared chord 2ε)."""
    r = float(p.screen_eps(eps))
    return r * r


def _coef(d: int, precision: str) -> tuple[float, float]:
    """(coef, tau): the screening error of a pair is <= coef * (nA + nB) + tau."""
    if precision == "float32":
        return 2.0 * (d + 4) * _U32 + _f64_slack(d), d * 2.0**-140
    return 4.0 * _f64_slack(d), d * 2.0**-1060


def _choose_precision(precision: str, p: _Prepared, e_q: float) -> str:
    if precision != "auto":
        return precision
    d = p.d
    typical = float(p.nA.mean() + p.nB.mean())
    coef32 = _coef(d, "float32")[0]
    return "float32" if coef32 * typical <= 0.05 * e_q else "float64"


def _sample_density(p: _Prepared, e_q: float) -> float:
    """Estimated fraction of pairs within the threshold (from up to 256 rows of F)."""
    rng = np.random.default_rng(0)
    ia = rng.choice(len(p.a), size=min(len(p.a), 256), replace=False)
    ib = rng.choice(len(p.b), size=min(len(p.b), 8192), replace=False)
    q = p.nA[ia][:, None] + p.nB[ib][None, :] - 2.0 * (p.a[ia] @ p.b[ib].T)
    return float((q <= e_q).mean())


# --------------------------------------------------------------------------
# ball partition used to skip far-apart blocks
# --------------------------------------------------------------------------


#: the tree is built on a random projection to at most this many dimensions
_TREE_DIM = 24


def _tree_coordinates(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets projected on the same (seeded) random directions, if d > _TREE_DIM.

    Only the partition is computed from these; the centres and radii that
    decide the pruning are computed in full dimension, so the projection can
    make the pruning weaker, never wrong.
    """
    d = X.shape[1]
    if d <= _TREE_DIM:
        return X, Y
    R = np.random.default_rng(0).standard_normal((d, _TREE_DIM))
    return X @ R, Y @ R


def _ball_leaves(X: np.ndarray, leaf: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A permutation of the rows and the [start, end) ranges of its leaves (<= ``leaf`` rows).

    Bisecting 2-means: a node is split between two far-apart points (one
    farthest from the centroid, and the point farthest from that one), refined
    by two Lloyd steps, so that clusters tend to stay within one leaf. A split
    leaving less than an eighth of the node on one side is replaced by the
    median split along the same direction, which bounds the depth.
    """
    n = len(X)
    perm = np.arange(n)
    sq = np.einsum("ij,ij->i", X, X)
    leaves: list[tuple[int, int]] = []
    stack = [(0, n)]
    while stack:
        s, e = stack.pop()
        size = e - s
        if size <= leaf:
            leaves.append((s, e))
            continue
        idx = perm[s:e]
        P = X[idx]
        q = sq[idx]
        c = P.mean(axis=0)
        c1 = P[int(np.argmax(q - 2.0 * (P @ c)))]
        c2 = P[int(np.argmax(q - 2.0 * (P @ c1)))]
        left = None
        for _ in range(3):
            u = c1 - c2
            if not u.any():
                break
            # nearer to c1 than to c2
            left = P @ u >= 0.5 * (c1 @ c1 - c2 @ c2)
            k = int(left.sum())
            if k == 0 or k == size:
                break
            c1 = P[left].mean(axis=0)
            c2 = P[~left].mean(axis=0)
        if left is None:  # every point of the node is the same
            half = size // 2
        else:
            k = int(left.sum())
            if min(k, size - k) >= size // 8:
                order = np.argsort(~left, kind="stable")
                perm[s:e] = idx[order]
                half = k
            else:
                proj = P @ (c1 - c2)
                half = size // 2
                perm[s:e] = idx[np.argpartition(proj, half)]
        stack.append((s + half, e))
        stack.append((s, s + half))
    leaves.sort()
    return perm, leaves


def _leaf_balls(
    X: np.ndarray, perm: np.ndarray, leaves: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids and radii (max distance to the centroid) of the leaves of X[perm]."""
    d = X.shape[1]
    centers = np.empty((len(leaves), d))
    radii = np.empty(len(leaves))
    for k, (s, e) in enumerate(leaves):
        P = X[perm[s:e]]
        c = P.mean(axis=0)
        centers[k] = c
        P -= c
        radii[k] = math.sqrt(float(np.einsum("ij,ij->i", P, P).max()))
    return centers, radii


def _surviving_blocks(
    cA: np.ndarray, rA: np.ndarray, cB: np.ndarray, rB: np.ndarray, reach: float
) -> np.ndarray:
    """Boolean (leaves of A, leaves of B): may the two balls hold a pair within ``reach``?

    Skips a pair of balls only when a lower bound of ``|c_A - c_B| - r_A - r_B``
    exceeds ``reach`` by more than a rounding slack, so no pair within
    ``reach`` is ever lost.
    """
    d = cA.shape[1]
    na = np.einsum("ij,ij->i", cA, cA)
    nb = np.einsum("ij,ij->i", cB, cB)
    sq = na[:, None] + nb[None, :] - 2.0 * (cA @ cB.T)
    err = (na[:, None] + nb[None, :]) * (4 * _f64_slack(d))
    dist_lo = np.sqrt(np.maximum(sq - err, 0.0))
    slack = 1e-9 * (1.0 + rA[:, None] + rB[None, :] + reach)
    return dist_lo - rA[:, None] - rB[None, :] <= reach + slack


# --------------------------------------------------------------------------
# the blocked engine
# --------------------------------------------------------------------------


def _gather_rows(X: np.ndarray, perm: np.ndarray, dtype: Any) -> np.ndarray:
    """``X[perm]`` converted to ``dtype``, in chunks (no full-size temporary)."""
    out = np.empty((len(perm), X.shape[1]), dtype=dtype)
    step = 8192
    for s in range(0, len(perm), step):
        out[s : s + step] = X[perm[s : s + step]]
    return out


_CONTROLLER: list[Any] = []


def _single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    One threadpoolctl controller per process: finding the loaded libraries
    costs milliseconds, setting the limit microseconds.
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


class _Blocked:
    """Tree-ordered, screened, blocked evaluation shared by the product and the profile."""

    def __init__(self, p: _Prepared, reach_q: float, precision: str, budget: int, n_jobs: int):
        d = p.d
        self.p = p
        self.n_jobs = n_jobs
        self.precision = precision
        self.coef, self.tau = _coef(d, precision)
        dtype = np.float32 if precision == "float32" else np.float64
        ta, tb = _tree_coordinates(p.a, p.b)
        permA, leavesA = _ball_leaves(ta, _ROW_LEAF)
        permB, leavesB = _ball_leaves(tb, _COL_LEAF)
        del ta, tb
        self.permA, self.permB = permA, permB
        cA, rA = _leaf_balls(p.a, permA, leavesA)
        cB, rB = _leaf_balls(p.b, permB, leavesB)
        # cosine: the chord of a pair within eps may exceed sqrt(2 eps) by rounding
        extra = 8 * _f64_slack(d) if p.metric == 1 else 0.0
        reach = math.sqrt(max(reach_q, 0.0) + extra)
        alive = _surviving_blocks(cA, rA, cB, rB, reach)
        # row blocks: runs of consecutive leaves (neighbours in the tree) of up to
        # _ROW_BLOCK rows; a block keeps a column leaf when any of its leaves does
        self.leavesA: list[tuple[int, int]] = []
        rows_alive = []
        k = 0
        while k < len(leavesA):
            j = k
            while j + 1 < len(leavesA) and leavesA[j + 1][1] - leavesA[k][0] <= _ROW_BLOCK:
                j += 1
            self.leavesA.append((leavesA[k][0], leavesA[j][1]))
            rows_alive.append(alive[k : j + 1].any(axis=0))
            k = j + 1
        self.alive = np.array(rows_alive).reshape(len(self.leavesA), len(leavesB))
        self.startsB = np.array([s for s, _ in leavesB] + [len(p.b)], dtype=np.int64)
        self.A = _gather_rows(p.a, permA, dtype)
        if p.metric == 0:  # the screening rows are not needed any more: free them
            p.a = _RELEASED
        self.B = _gather_rows(p.b, permB, dtype)
        if p.metric == 0:
            p.b = _RELEASED
        self.nA = p.nA[permA]
        self.nB = p.nB[permB]
        self.beta = (1.0 - self.coef) * self.nB / 2.0
        itemsize = np.dtype(dtype).itemsize
        self.max_cols = int(
            max(_COL_LEAF, min(_MAX_BLOCK_COLS, budget // (itemsize * _ROW_BLOCK * n_jobs)))
        )

    def alpha(self, s: int, e: int, e_q: float) -> np.ndarray:
        e_in = e_q * (1.0 + _f64_slack(self.p.d))
        return ((1.0 - self.coef) * self.nA[s:e] - e_in - self.tau) / 2.0

    def pieces(self, leaf: int) -> list[tuple[int, int]]:
        """Column ranges (in tree order of B) to compute for a row block."""
        alive = np.flatnonzero(self.alive[leaf])
        if len(alive) == 0:
            return []
        breaks = np.flatnonzero(np.diff(alive) != 1) + 1
        out = []
        for run in np.split(alive, breaks):
            c0 = int(self.startsB[run[0]])
            c1 = int(self.startsB[run[-1] + 1])
            for x in range(c0, c1, self.max_cols):
                out.append((x, min(c1, x + self.max_cols)))
        return out

    def run(self, task: Any) -> list[Any]:
        """``[task(k) for k in row leaves]`` in ``n_jobs`` threads.

        The public functions run with BLAS limited to one thread
        (:func:`_single_threaded_blas`): each thread runs its own gemm and
        scan on its row leaves, so the process uses ``n_jobs`` cores whatever
        BLAS would do on its own (nested BLAS threads oversubscribe a busy
        machine).
        """
        from concurrent.futures import ThreadPoolExecutor

        n_leaves = len(self.leavesA)
        if self.n_jobs == 1 or n_leaves == 1:
            return [task(k) for k in range(n_leaves)]
        with ThreadPoolExecutor(self.n_jobs) as ex:
            return list(ex.map(task, range(n_leaves)))

    def block(self, buf: np.ndarray, s: int, e: int, c0: int, c1: int) -> np.ndarray:
        S = buf[: (e - s) * (c1 - c0)].reshape(e - s, c1 - c0)
        np.matmul(self.A[s:e], self.B[c0:c1].T, out=S)
        return S


def _blocked_pairs(
    p: _Prepared, eps: float, precision: str, budget: int, n_jobs: int, max_pairs: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import threading

    k = _kernels()
    e_q = _screen_threshold(p, eps)
    eng = _Blocked(p, e_q, precision, budget, n_jobs)
    local = threading.local()
    total = [0]
    max_total = np.inf if max_pairs is None else max_pairs
    lock = threading.Lock()

    def task(leaf: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        s, e = eng.leavesA[leaf]
        pieces = eng.pieces(leaf)
        if not pieces or total[0] > max_total:  # another thread already gave up
            return None
        if not hasattr(local, "buf"):
            local.buf = np.empty(_ROW_BLOCK * eng.max_cols, dtype=eng.A.dtype)
            local.cap = 1 << 14
            local.out = (
                np.empty(local.cap, np.int64),
                np.empty(local.cap, np.int64),
                np.empty(local.cap),
            )
        alpha = eng.alpha(s, e, e_q)
        rows_ids = eng.permA[s:e]
        parts = []
        for c0, c1 in pieces:
            S = eng.block(local.buf, s, e, c0, c1)
            while True:
                cnt = k.scan_collect(
                    S,
                    alpha,
                    eng.beta[c0:c1],
                    rows_ids,
                    eng.permB[c0:c1],
                    p.cF,
                    p.cG,
                    p.metric,
                    eps,
                    *local.out,
                )
                if cnt <= local.cap:
                    break
                local.cap = 1 << int(cnt - 1).bit_length()
                local.out = (
                    np.empty(local.cap, np.int64),
                    np.empty(local.cap, np.int64),
                    np.empty(local.cap),
                )
            if cnt:
                parts.append(tuple(x[:cnt].copy() for x in local.out))
                with lock:
                    total[0] += cnt
                if total[0] > max_total:
                    raise _TooManyPairs(total[0])
        if not parts:
            return None
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]

    results = [r for r in eng.run(task) if r is not None]
    if not results:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    rows, cols, dist = (np.concatenate(x) for x in zip(*results, strict=True))
    return rows, cols, dist


class _TooManyPairs(Exception):
    pass


def _blocked_hist(
    p: _Prepared, grid: np.ndarray, precision: str, budget: int, n_jobs: int
) -> np.ndarray:
    """Histogram over the grid (length K + 1, last bin: beyond the grid)."""
    import threading

    k = _kernels()
    grid_q = np.ascontiguousarray(p.screen_eps(grid) ** 2)
    e_q = float(grid_q[-1])
    eng = _Blocked(p, e_q, precision, budget, n_jobs)
    local = threading.local()
    K = len(grid)

    def task(leaf: int) -> np.ndarray | None:
        s, e = eng.leavesA[leaf]
        pieces = eng.pieces(leaf)
        if not pieces:
            return None
        if not hasattr(local, "buf"):
            local.buf = np.empty(_ROW_BLOCK * eng.max_cols, dtype=eng.A.dtype)
        hist = np.zeros(K + 1, np.int64)
        alpha = eng.alpha(s, e, e_q)
        for c0, c1 in pieces:
            S = eng.block(local.buf, s, e, c0, c1)
            k.scan_hist(
                S,
                alpha,
                eng.beta[c0:c1],
                eng.nA[s:e],
                eng.nB[c0:c1],
                eng.coef,
                eng.tau,
                grid_q,
                grid,
                eng.permA[s:e],
                eng.permB[c0:c1],
                p.cF,
                p.cG,
                p.metric,
                hist,
            )
        return hist

    hist = np.zeros(K + 1, np.int64)
    for h in eng.run(task):
        if h is not None:
            hist += h
    return hist


# --------------------------------------------------------------------------
# the KD-tree engine (low dimension)
# --------------------------------------------------------------------------


def _kdtree_candidates(p: _Prepared, eps: float, budget: int, n_jobs: int, density: float) -> Any:
    """Yield (rows, cols) candidate chunks: every pair within eps, and a few more."""
    from scipy.spatial import cKDTree

    d = p.d
    X, Y = p.a, p.b
    es = float(p.screen_eps(eps))
    if p.metric == 1:
        # the chord sqrt(2 eps); the canonical cosine may undershoot it by rounding
        r = math.sqrt(es * es * (1.0 + 16 * _f64_slack(d)) + 64 * _f64_slack(d))
    else:
        # scaled, centred coordinates (entries <= 1): centring moves a distance by
        # at most 2 sqrt(d) 2**-52 there
        r = es * (1.0 + 16 * _f64_slack(d)) + 8.0 * math.sqrt(d) * 2.0**-52
    tree = cKDTree(Y)
    per_row = max(1.0, density * len(Y))
    chunk = int(max(1, min(len(X), budget // (48 * per_row))))
    for s in range(0, len(X), chunk):
        workers = n_jobs if chunk >= 4096 else 1
        res = tree.query_ball_point(X[s : s + chunk], r, workers=workers, return_sorted=False)
        counts = np.fromiter((len(x) for x in res), np.int64, len(res))
        total = int(counts.sum())
        cols = np.fromiter(itertools.chain.from_iterable(res), np.int64, total)
        rows = np.repeat(np.arange(s, s + len(res), dtype=np.int64), counts)
        yield rows, cols


def _exact_match_pairs(F: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) with F[i] == G[j] (every coordinate equal; -0.0 == 0.0)."""
    Z = np.concatenate([F, G]) + 0.0
    n = len(F)
    order = np.lexsort(Z.T[::-1])
    Zs = Z[order]
    new = np.ones(len(Z), dtype=bool)
    new[1:] = (Zs[1:] != Zs[:-1]).any(axis=1)
    is_f = order < n
    rows_out, cols_out = [], []
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(Z))
    both = [
        (s, e)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        if e - s > 1 and is_f[s:e].any() and (~is_f[s:e]).any()
    ]
    for s, e in both:
        members = order[s:e]
        fi = np.sort(members[members < n])
        gj = np.sort(members[members >= n] - n)
        rows_out.append(np.repeat(fi, len(gj)))
        cols_out.append(np.tile(gj, len(fi)))
    if not rows_out:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(rows_out).astype(np.int64), np.concatenate(cols_out).astype(np.int64)


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------


def _common_args(
    metric: Any, method: Any, precision: Any, memory_budget: Any, n_jobs: Any
) -> tuple[str, str, str, int, int]:
    metric = check_choice(metric, "metric", METRICS)
    method = check_choice(method, "method", METHODS)
    precision = check_choice(precision, "precision", PRECISIONS)
    budget = check_int(memory_budget, "memory_budget", minimum=1 << 20)
    return metric, method, precision, budget, _n_jobs(n_jobs)


def _pick_method(method: str, p: _Prepared, e_q: float) -> tuple[str, float]:
    """(method, estimated density)."""
    if method == "blocked" or (method == "auto" and p.d > KDTREE_MAX_DIM):
        return "blocked", 0.0
    density = _sample_density(p, e_q)
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
    Fv, Gv = _pair_inputs(F, G)
    eps = check_real(eps, "eps", low=0.0)
    metric, method, precision, budget, jobs = _common_args(
        metric, method, precision, memory_budget, n_jobs
    )
    if max_pairs is not None:
        max_pairs = check_int(max_pairs, "max_pairs", minimum=0)
    n, m = len(Fv), len(Gv)
    if eps == 0.0 and metric == "euclidean" and method == "auto":
        rows, cols = _exact_match_pairs(Fv, Gv)
        if max_pairs is not None and len(rows) > max_pairs:
            _raise_too_many(len(rows), max_pairs, eps)
        order = np.lexsort((cols, rows))
        return FiberProduct(
            rows[order], cols[order], np.zeros(len(rows)), (n, m), eps, metric, "exact-match"
        )
    with _single_threaded_blas():
        p = _prepare(Fv, Gv, metric)
        e_q = _screen_threshold(p, eps)
        used, density = _pick_method(method, p, e_q)
        if used == "kdtree":
            rows, cols, dist = _kdtree_pairs(p, eps, budget, jobs, density, max_pairs)
        else:
            prec = _choose_precision(precision, p, e_q)
            try:
                rows, cols, dist = _blocked_pairs(p, eps, prec, budget, jobs, max_pairs)
            except _TooManyPairs as exc:
                _raise_too_many(int(exc.args[0]), max_pairs, eps)
    order = np.lexsort((cols, rows))
    return FiberProduct(rows[order], cols[order], dist[order], (n, m), eps, metric, used)


def _kdtree_pairs(
    p: _Prepared, eps: float, budget: int, jobs: int, density: float, max_pairs: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = _kernels()
    rs, cs, ds = [], [], []
    found = 0
    for r_c, c_c in _kdtree_candidates(p, eps, budget, jobs, density):
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


def _true_pairs(true_pairs: Any, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(true_pairs, str):
        check_choice(true_pairs, "true_pairs", ("diagonal",))
        if n != m:
            raise ValueError(
                f"true_pairs='diagonal' pairs F[i] with G[i] and needs N == M; got N={n}, M={m}"
            )
        idx = np.arange(n, dtype=np.int64)
        return idx, idx
    arr = np.asarray(true_pairs)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            "true_pairs must be 'diagonal' or an integer array of shape (T, 2) holding "
            f"(i, j) pairs; got an array of dtype {arr.dtype}"
        )
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"true_pairs must have shape (T, 2) with T >= 1; got shape {arr.shape}")
    i = arr[:, 0].astype(np.int64)
    j = arr[:, 1].astype(np.int64)
    bad = (i < 0) | (i >= n) | (j < 0) | (j >= m)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"true_pairs[{k}] = ({i[k]}, {j[k]}) is out of range; rows index F in [0, {n}) "
            f"and columns index G in [0, {m})"
        )
    key = i * m + j
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        dup = int(uniq[np.flatnonzero(counts > 1)[0]])
        raise ValueError(f"true_pairs lists the pair ({dup // m}, {dup % m}) more than once")
    return i, j


def _order_statistic(sorted_d: np.ndarray, fraction: float) -> float:
    t = len(sorted_d)
    k = max(1, math.ceil(fraction * t - 1e-12 * t))
    return float(sorted_d[min(k, t) - 1])


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
    Fv, Gv = _pair_inputs(F, G)
    metric = check_choice(metric, "metric", METRICS)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    i, j = _true_pairs(true_pairs, len(Fv), len(Gv))
    d = _true_distances(Fv, Gv, i, j, metric)
    check_true_distances(d, i, j)
    return _order_statistic(np.sort(d), q)


def _true_distances(
    F: np.ndarray, G: np.ndarray, i: np.ndarray, j: np.ndarray, metric: str
) -> np.ndarray:
    k = _kernels()
    if metric == "cosine":
        return k.pair_distances(_unit_rows(F, "F"), _unit_rows(G, "G"), i, j, 1)
    return k.pair_distances(F, G, i, j, 0)


def check_true_distances(d: np.ndarray, i: np.ndarray, j: np.ndarray) -> None:
    """Refuse true pairs whose distance exceeds the float64 range (no finite ε holds them)."""
    bad = ~np.isfinite(d)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"true_pairs[{k}] = ({int(i[k])}, {int(j[k])}): F[{int(i[k])}] and G[{int(j[k])}] "
            "are farther apart than the largest float64 (1.8e308), so no finite eps holds "
            "the pair: rescale F and G together"
        )


def _as_grid(eps_grid: Any) -> np.ndarray:
    grid = as_float_array(eps_grid, "eps_grid", dtype=np.float64)
    if grid.ndim == 0:
        grid = grid.reshape(1)
    if grid.ndim != 1 or grid.shape[0] == 0:
        raise ValueError(
            f"eps_grid must be a non-empty 1-D array of tolerances; got shape {grid.shape}"
        )
    if not np.isfinite(grid).all():
        k = int(np.flatnonzero(~np.isfinite(grid))[0])
        raise ValueError(f"eps_grid must be finite; eps_grid[{k}] = {float(grid[k])!r}")
    if (grid < 0).any():
        k = int(np.flatnonzero(grid < 0)[0])
        raise ValueError(f"eps_grid must be >= 0; eps_grid[{k}] = {float(grid[k])!r}")
    if (np.diff(grid) < 0).any():
        k = int(np.flatnonzero(np.diff(grid) < 0)[0])
        raise ValueError(
            f"eps_grid must be non-decreasing; eps_grid[{k}] = {float(grid[k])!r} > "
            f"eps_grid[{k + 1}] = {float(grid[k + 1])!r}"
        )
    return np.ascontiguousarray(grid)


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
    Fv, Gv = _pair_inputs(F, G)
    grid = _as_grid(eps_grid)
    q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
    metric, method, precision, budget, jobs = _common_args(
        metric, method, precision, memory_budget, n_jobs
    )
    n, m = len(Fv), len(Gv)
    pairs = None if true_pairs is None else _true_pairs(true_pairs, n, m)
    K = len(grid)
    e_max = float(grid[-1])
    with _single_threaded_blas():
        p = _prepare(Fv, Gv, metric)
        e_q = _screen_threshold(p, e_max)
        used, density = _pick_method(method, p, e_q)
        if used == "kdtree":
            k = _kernels()
            hist = np.zeros(K + 1, np.int64)
            for r_c, c_c in _kdtree_candidates(p, e_max, budget, jobs, density):
                dist = k.pair_distances(p.cF, p.cG, r_c, c_c, p.metric)
                hist += np.bincount(np.searchsorted(grid, dist, side="left"), minlength=K + 1)
        else:
            prec = _choose_precision(precision, p, e_q)
            hist = _blocked_hist(p, grid, prec, budget, jobs)
    counts = np.cumsum(hist[:K])
    recall = true_d = star = None
    if pairs is not None:
        true_d = _true_distances(Fv, Gv, pairs[0], pairs[1], metric)
        check_true_distances(true_d, *pairs)
        sd = np.sort(true_d)
        recall = np.searchsorted(sd, grid, side="right") / len(sd)
        star = _order_statistic(sd, q)
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
