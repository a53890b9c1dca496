r"""Exact minimum spanning trees and H0 persistence of point clouds on Dask.

Borůvka with a k-nearest-neighbour warm start and certified lower bounds.

1. *k-NN pass.* One Dask task per pair of row blocks ``I <= J`` finds, for
   every point of ``I``, its ``k`` nearest points of ``J`` and vice versa;
   one tree of reduction tasks per row block keeps each point's ``k``
   nearest overall. Every point ``p`` now holds a list of neighbours with
   exact lengths and a bound ``lb(p)``: every point *not* in the list is at
   distance at least ``lb(p)`` (the ``k``-th listed length).
2. *Certified Borůvka on the client.* For a component ``C``, the lightest
   listed edge leaving ``C`` is its lightest outgoing edge as soon as it is
   shorter than ``lb(p)`` for every point ``p`` of ``C`` whose list lies
   entirely inside ``C`` (those are the only points whose nearest outside
   point is unknown). Certified components take their edge (cut property);
   the client repeats this, in memory, while any component is certified.
3. *Query pass.* When no component is certified, only the points that could
   still beat their component's best listed edge (whole list inside,
   ``lb(p)`` at most that edge) are queried: one Dask task per row block
   holding query points and per row block ``J`` finds each query point's
   ``k`` nearest points of ``J`` outside its component. Their lists and
   bounds are replaced (the bound stays valid as components only grow), and
   every uncertified component is certified afterwards.

On data with any cluster structure almost all merges are certified from the
first pass; in the worst case (no structure at all) the query passes cost what
plain Borůvka rounds cost. Workers only ever hold two row blocks and one
distance block, so the memory of a task is bounded by the block size; the
client holds the lists, ``16 k n`` bytes.

Exactness. Edges are compared by the key ``(w, min(i, j), max(i, j))`` where
``w`` is the edge length computed in float64 from the coordinates by the same
kernel that :func:`sheaftopo.persistence.mst` uses for its reported weights.
The Gram identity (one BLAS product per block pair, on centred float64
coordinates) only *preselects* candidates: a point's candidates in a block
are all points whose Gram-identity squared distance lies within a rounding
margin (the guard of the in-memory kernels, :math:`64\, d\, \epsilon\,
(|x|^2 + |y|^2)`, far above the identity's error) of the ``k``-th smallest,
and those candidates are measured exactly, so every list is a true prefix of
the point's neighbours in key order and every bound holds. Certification is
strict (``<``), so ties are always resolved by an exact query. The selected
tree is therefore the minimum spanning tree for that total order, whatever
the block sizes and ``k``. Its weights are the in-memory code's bit for bit
except at near-ties below the Gram-identity resolution, where the two may
pick different (equally minimal) edges and a death can differ in its last
bits (a 15-point integer lattice scaled by 1e150 shows one ulp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.dask import (
    DaskOptions,
    check_sizes,
    compute,
    connect,
    mst_task_bytes,
    note,
    offsets_of,
    prepare,
    require_dask,
)
from .._core.kernels import kernel_loader
from .._core.mst import finish_forest, mst_kernels
from .._core.scaling import GRAM_GUARD, rescaled, scaled_back
from .._validation import check_int, kernel_layout
from ._options import dask_options

if TYPE_CHECKING:
    from ..persistence import SpanningForest

__all__ = ["h0_diagram_dask", "mst_dask"]

#: method name recorded in the returned forest
METHOD = "dask-boruvka"
#: neighbours kept per point by default
DEFAULT_NEIGHBORS = 16
#: partial results folded by one reduction task
FAN_IN = 8
#: above this fraction of query points, one symmetric pass over all block pairs is cheaper
SWEEP_FRACTION = 0.25


#: the candidate-selection kernels of the block-pair tasks
_pair_kernels = kernel_loader("sheaftopo.distributed._kernels")


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------


def _block_stats(A: Any) -> tuple[int, np.ndarray | None, float, tuple[int, int, float] | None]:
    """``(rows, column sums of A / s, s, None)`` with ``s = power_of_two_scale(A)``.

    ``s`` is 0 for an all-zero block (it does not count towards the cloud's
    scale). At a non-finite entry: ``(rows, None, 1.0, (row, col, value))``.
    The sums are taken on the block divided by its power of two, so they
    cannot overflow whatever the magnitude of the coordinates.
    """
    A = np.asarray(A)
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        return A.shape[0], None, 1.0, (r, c, float(A[r, c]))
    W, s = rescaled(A)
    return A.shape[0], W.sum(axis=0, dtype=np.float64), s if A.any() else 0.0, None


def _centred(A: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = A.astype(np.float64) - mean
    return W, np.einsum("ij,ij->i", W, W)


def _best_k(rows: int, p: np.ndarray, q: np.ndarray, w: np.ndarray, k: int) -> tuple:
    """Per row ``p``, the ``k`` entries of smallest ``(w, q)``: ``(W, Q)`` of shape (rows, k)."""
    W = np.full((rows, k), np.inf)
    Q = np.full((rows, k), -1, np.int64)
    if len(p):
        order = np.lexsort((q, w, p))
        p, q, w = p[order], q[order], w[order]
        rank = np.arange(len(p)) - np.searchsorted(p, p, side="left")
        keep = rank < k
        W[p[keep], rank[keep]] = w[keep]
        Q[p[keep], rank[keep]] = q[keep]
    return W, Q


def _pair(
    A: Any,
    B: Any,
    la: np.ndarray,
    lb: np.ndarray,
    off_a: int,
    off_b: int,
    mean: np.ndarray,
    tol: float,
    k: int,
    exponent: int,
    sel: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Nearest points of the other block carrying another label, with exact lengths.

    Both blocks are first divided by ``2**exponent`` (exact), the power of two
    that brings the whole cloud's largest absolute coordinate into [0.5, 1) (as
    :func:`sheaftopo.persistence.mst` does); ``mean`` and the lengths are in
    those units. Returns ``(WA, QA)`` — for every row of ``A`` (of ``A[sel]``
    if given) its ``k`` nearest rows of ``B`` whose label differs, by
    ``(length, global index)``, padded with ``(inf, -1)`` — and, for a pair of
    two different blocks without ``sel``, also ``(WB, QB)`` for the rows of
    ``B`` against ``A``. ``B is None`` is the diagonal pair ``(A, A)``; labels
    are global point indices in the first pass, so a point is never its own
    neighbour.
    """
    dk = _pair_kernels()
    A = np.asarray(A)
    # labels may arrive read-only (deserialised); kernels get one layout only
    la = kernel_layout(np.asarray(la, dtype=np.int64))
    lb = kernel_layout(np.asarray(lb, dtype=np.int64))
    if sel is not None:
        A, la = A[sel], la[sel]
    A = np.ldexp(A, -exponent)  # a new C-contiguous, writeable array
    Wa, sqa = _centred(A, mean)
    both = B is not None and sel is None
    if B is None:
        B, Wb, sqb, lb, off_b = A, Wa, sqa, la, off_a
    else:
        B = np.ldexp(np.asarray(B), -exponent)
        Wb, sqb = _centred(B, mean)
    ri, rj, cj, ci = dk.candidates(Wa @ Wb.T, sqa, sqb, la, lb, k, tol, both)
    ref = np.concatenate([A, B]) if B is not A else A
    shift = A.shape[0] if B is not A else 0
    lengths = mst_kernels().euclidean_edge_lengths
    out = _best_k(A.shape[0], ri, rj + np.int64(off_b), lengths(ref, ri, rj + shift), k)
    if not both:
        return out
    back = _best_k(B.shape[0], cj, ci + np.int64(off_a), lengths(ref, ci, cj + shift), k)
    return out + back


def _fold(k: int, parts: list[tuple[Any, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge partial neighbour lists of the same rows: ``(W, Q)`` of the k best overall."""
    Ws = [res[2 * side] for res, side in parts]
    Qs = [res[2 * side + 1] for res, side in parts]
    if len(Ws) == 1:
        return Ws[0], Qs[0]
    W = np.concatenate(Ws, axis=1)
    Q = np.concatenate(Qs, axis=1)
    rows = W.shape[0]
    p = np.repeat(np.arange(rows), W.shape[1])
    ok = Q.ravel() >= 0
    return _best_k(rows, p[ok], Q.ravel()[ok], W.ravel()[ok], k)


def _tree_fold(dask: Any, k: int, parts: list[tuple[Any, int]]) -> Any:
    """A tree of :func:`_fold` tasks, at most ``FAN_IN`` parts each."""
    fold = dask.delayed(_fold, pure=True)
    while len(parts) > FAN_IN:
        parts = [(fold(k, parts[i : i + FAN_IN]), 0) for i in range(0, len(parts), FAN_IN)]
    return fold(k, parts)


# --------------------------------------------------------------------------
# client side
# --------------------------------------------------------------------------


def _component_minima(
    comp: np.ndarray, w: np.ndarray, p: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Per component, the candidate edge of smallest key ``(w, min(p, q), max(p, q))``."""
    ok = q >= 0
    comp, w, p, q = comp[ok], w[ok], p[ok], q[ok]
    lo = np.minimum(p, q)
    hi = np.maximum(p, q)
    order = np.lexsort((hi, lo, w, comp))
    comp, w, lo, hi = comp[order], w[order], lo[order], hi[order]
    first = np.ones(len(comp), bool)
    first[1:] = comp[1:] != comp[:-1]
    return comp[first], w[first], lo[first], hi[first]


def _certify(
    labels: np.ndarray, c: int, W: np.ndarray, Q: np.ndarray, bound: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Certified lightest outgoing edges ``(lo, hi, w)`` and the points to query.

    A point whose list has a point outside its component knows its nearest
    outside point exactly (the first such entry); the others only know that it
    is at least ``bound``. A component's best known edge is certified when it
    is shorter than the bound of each of its points of the second kind; the
    points to query are those of uncertified components whose bound does not
    exceed the component's best known edge.
    """
    n = labels.shape[0]
    outside = (Q >= 0) & (labels[np.maximum(Q, 0)] != labels[:, None])
    has = outside.any(axis=1)
    first = outside.argmax(axis=1)
    rows = np.arange(n)
    cw = np.where(has, W[rows, first], np.inf)
    cq = np.where(has, Q[rows, first], -1)
    comp, w, lo, hi = _component_minima(labels, cw, rows, cq)
    best = np.full(c, np.inf)
    best[comp] = w
    floor = np.full(c, np.inf)
    np.minimum.at(floor, labels[~has], bound[~has])
    ok = best[comp] < floor[comp]
    certified = np.zeros(c, bool)
    certified[comp[ok]] = True
    query = ~has & ~certified[labels] & (bound <= best[labels])
    return lo[ok], hi[ok], w[ok], np.flatnonzero(query)


def _check_finite_blocks(stats: list[Any], offsets: np.ndarray) -> tuple[np.ndarray, float]:
    """``(column sums / s, s)`` of the whole array, or a ValueError at its first non-finite entry.

    ``s`` is the largest of the blocks' powers of two, i.e. ``power_of_two_scale`` of the
    whole array.
    """
    for i, (_, _, _, bad) in enumerate(stats):
        if bad is not None:
            r, c, value = bad
            raise ValueError(
                f"X must not contain NaN or inf; found {value!r} at index "
                f"({int(offsets[i]) + r}, {c}) (row block {i})"
            )
    scale = max(s for _, _, s, _ in stats) or 1.0  # 1.0: every coordinate is 0
    # the ratios are powers of two: the rescaling of each block's sums is exact
    total = sum(sums * (s / scale) for _, sums, s, _ in stats)
    return np.asarray(total, dtype=np.float64), scale


class _Run:
    """One MST computation: the blocks, the scheduler and the neighbour lists."""

    def __init__(self, arr: Any, client: Any, k: int, progress: bool) -> None:
        self.dask, _ = require_dask()
        self.client = client
        self.progress = progress
        self.n, self.d = (int(s) for s in arr.shape)
        self.k = min(k, max(self.n - 1, 1))
        self.offsets = offsets_of(arr)
        self.blocks = list(arr.to_delayed()[:, 0])
        self.tol = GRAM_GUARD * self.d * float(np.finfo(np.float64).eps)
        self.tasks = 0

    def run(self, objs: list[Any]) -> list[Any]:
        return compute(objs, self.client, self.progress)

    def check(self) -> None:
        block_stats = self.dask.delayed(_block_stats, pure=True)
        stats = self.run([block_stats(b) for b in self.blocks])
        total, self.scale = _check_finite_blocks(stats, self.offsets)
        self.exponent = int(np.frexp(self.scale)[1]) - 1
        self.mean = total / self.n

    def _labels(self, labels: np.ndarray) -> tuple[list[np.ndarray], list[int]]:
        """Per block: its labels, and the one label it carries whole (or -1)."""
        lab = [labels[self.offsets[j] : self.offsets[j + 1]] for j in range(len(self.blocks))]
        return lab, [int(x[0]) if (x == x[0]).all() else -1 for x in lab]

    def _gather(self, todo: list[Any], what: str, tasks: int) -> tuple[np.ndarray, np.ndarray]:
        self.tasks += tasks
        note(self.progress, f"mst_dask: {what}, {tasks} block pairs")
        found = self.run(todo)
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def sweep(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every point's k nearest points of other labels: ``(W, Q)`` of shape (n, k).

        One task per block pair ``I <= J`` (skipped when both blocks lie in
        one component), both directions at once.
        """
        pair = self.dask.delayed(_pair, pure=True)
        nb = len(self.blocks)
        lab, whole = self._labels(labels)
        parts: list[list[tuple[Any, int]]] = [[] for _ in range(nb)]
        tasks = 0
        for i in range(nb):
            for j in range(i, nb):
                if whole[i] >= 0 and whole[i] == whole[j]:
                    continue
                oi, oj = int(self.offsets[i]), int(self.offsets[j])
                B = None if i == j else self.blocks[j]
                res = pair(
                    self.blocks[i],
                    B,
                    lab[i],
                    lab[j],
                    oi,
                    oj,
                    self.mean,
                    self.tol,
                    self.k,
                    self.exponent,
                )
                parts[i].append((res, 0))
                if i != j:
                    parts[j].append((res, 1))
                tasks += 1
        todo = [_tree_fold(self.dask, self.k, p) for p in parts if p]
        return self._gather(todo, f"all points, k={self.k}", tasks)

    def query(self, points: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``points`` (sorted), their k nearest points outside their components."""
        pair = self.dask.delayed(_pair, pure=True)
        nb = len(self.blocks)
        lab, whole = self._labels(labels)
        cut = np.searchsorted(points, self.offsets)
        todo = []
        tasks = 0
        for i in range(nb):
            sel = points[cut[i] : cut[i + 1]] - self.offsets[i]
            if not len(sel):
                continue
            la = lab[i][sel]
            one = int(la[0]) if (la == la[0]).all() else -1
            parts = [
                (
                    pair(
                        self.blocks[i],
                        self.blocks[j],
                        lab[i],
                        lab[j],
                        int(self.offsets[i]),
                        int(self.offsets[j]),
                        self.mean,
                        self.tol,
                        self.k,
                        self.exponent,
                        sel,
                    ),
                    0,
                )
                for j in range(nb)
                if not (one >= 0 and whole[j] == one)
            ]
            todo.append(_tree_fold(self.dask, self.k, parts))
            tasks += len(parts)
        return self._gather(todo, f"{len(points)} query points", tasks)


def mst_dask(
    X: Any,
    *,
    options: DaskOptions | None = None,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    **deprecated: Any,
) -> SpanningForest:
    r"""Exact Euclidean minimum spanning tree of a point cloud too large for one machine.

    Parameters
    ----------
    X : dask.array.Array, array_like or path, shape (n, d)
        The points: a Dask array chunked by rows (columns are gathered into
        one chunk), an in-memory array (wrapped), or the path of a directory
        of ``.npy`` shards of shape (n_i, d), concatenated in the
        lexicographic order of their file names and read lazily, row block by
        row block, through memory maps. float32 and float64 are kept; other
        real dtypes become float64.
    options : DaskOptions, optional
        Where and in what blocks to run: the client (or scheduler address),
        ``block_rows``, ``memory_budget``, ``timeout`` and ``progress``
        (progress prints the passes and Dask's progress bar on stderr; the
        dashboard of a distributed client shows the same tasks). Default
        ``DaskOptions()``: Dask's current scheduler (the default client if one
        is active, else the threaded scheduler); a Dask input keeps its row
        chunks and other inputs use blocks of at most 4096 rows. Each task
        holds two blocks and their distance block, about
        ``16 * block_rows**2 + 32 * block_rows * d`` bytes, which
        ``memory_budget`` bounds.
    n_neighbors : int, default 16
        Neighbours kept per point (the warm start; see Notes). Any value
        gives the same, exact tree; larger values trade client memory
        (``16 * n_neighbors * n`` bytes) for fewer query passes.
    **deprecated
        ``client``, ``block_rows``, ``memory_budget``, ``timeout``,
        ``progress``: the fields of ``options`` as keywords, as before
        sheaftopo 0.2; they give the same result with a
        ``DeprecationWarning`` and go away in sheaftopo 0.3.

    Returns
    -------
    SpanningForest
        As :func:`sheaftopo.persistence.mst`: edges ``(i, j)``, ``i < j``,
        sorted by ``(weight, i, j)``; weights :math:`|x_i - x_j|` computed in
        float64 from the coordinates; ``method="dask-boruvka"``.

    Raises
    ------
    ValueError
        X not 2-D, empty, with NaN or inf (checked block by block; the message
        gives the row), with distances beyond the float64 range, shards of
        different widths; ``options.block_rows`` below 1 or above what
        ``options.memory_budget`` allows; ``n_neighbors`` below 1.
    TypeError
        X not real; ``block_rows``, ``memory_budget`` or ``n_neighbors`` not an
        integer; ``client`` neither a client, an address nor None; ``options``
        not a DaskOptions, or given together with deprecated keywords.
    ConnectionError
        No scheduler answered at the address ``client`` within ``timeout``.
    ImportError
        Dask is not installed (the extra ``sheaftopo[dask]``).

    Notes
    -----
    One k-NN pass over all block pairs ``I <= J``
    (:math:`\lceil n / b \rceil (\lceil n / b \rceil + 1) / 2` tasks of
    :math:`O(b^2 d)` work) gives every point its ``n_neighbors`` nearest
    points; Borůvka then runs on the client, taking a component's lightest
    listed outgoing edge whenever the lists prove it lightest, and sends only
    the points whose nearest outside point is still unknown back to the
    workers (tasks of :math:`O(q\, b\, d)` work for ``q`` such points in a
    block). See the module documentation for the bounds that make this exact.
    The input's chunks are recomputed (or re-read) in every pass; persist a
    cheap-to-hold input first if recomputing it is expensive. A worker that
    dies mid-pass is replaced by Dask, which reruns its tasks; the result does
    not change.

    The edge key and the weights are those of :func:`sheaftopo.persistence.mst`,
    so the deaths and the edges equal :func:`sheaftopo.persistence.h0_diagram`'s
    bit for bit wherever the in-memory code's choice is not a near-tie below
    its Gram-identity resolution; at such ties a death can differ by an ulp
    (``python -m verification h0-certified-boruvka`` compares both with an
    exact Kruskal). As there, the blocks are
    divided by the power of two that brings the largest absolute coordinate of the
    whole cloud (found in the first pass) into [0.5, 1), exactly, and the
    lengths multiplied back: coordinates of 1e300 or 1e-300 work, and
    distances beyond the float64 range raise a ``ValueError``.

    References
    ----------
    .. [1] O. Borůvka (1926); ToMCLIP, arXiv:2510.10889 (MST persistence).
    .. [2] W. B. March, P. Ram, A. G. Gray, "Fast Euclidean minimum spanning
       tree: algorithm, analysis, and applications", KDD 2010 (Borůvka with
       nearest-neighbour bounds).
    .. [3] Dask Development Team, *Dask: Library for dynamic task scheduling*, 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import DaskOptions, mst_dask
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [5.0, 0.0]])
    >>> forest = mst_dask(X, options=DaskOptions(block_rows=2))
    >>> forest.edges
    array([[0, 1],
           [1, 2],
           [1, 3]])
    >>> forest.weights
    array([1., 2., 4.])
    """
    opts = dask_options(options, deprecated, "mst_dask")
    require_dask()
    block_rows, budget = check_sizes(opts.block_rows, opts.memory_budget)
    k = check_int(n_neighbors, "n_neighbors", minimum=1)
    arr = prepare(X, "X", block_rows, budget, mst_task_bytes)
    progress = bool(opts.progress)
    with connect(opts.client, opts.timeout) as cl:
        run = _Run(arr, cl, k, progress)
        run.check()
        n = run.n
        us: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        kern = mst_kernels()
        parent = np.arange(n)
        rank = np.zeros(n, np.int8)
        labels, c = kern.uf_labels(parent)
        if c > 1:
            W, Q = run.sweep(labels)
            bound = W[:, -1].copy()
        while c > 1:
            lo, hi, w, ask = _certify(labels, c, W, Q, bound)
            if len(lo):
                acc = kern.uf_merge(parent, rank, lo, hi)
                us.append(lo[acc])
                vs.append(hi[acc])
                ws.append(w[acc])
                labels, c = kern.uf_labels(parent)
                continue
            if not len(ask):  # pragma: no cover - an uncertified component has points to ask
                raise RuntimeError(
                    "mst_dask: no component certified and no point to query "
                    "(only possible with non-finite distances)"
                )
            if len(ask) > n * SWEEP_FRACTION:
                W, Q = run.sweep(labels)
                bound = W[:, -1].copy()
            else:
                W[ask], Q[ask] = run.query(ask, labels)
                bound[ask] = W[ask, -1]
    note(progress, f"mst_dask: done, {run.tasks} block-pair tasks")
    if us:
        u, v = np.concatenate(us), np.concatenate(vs)
        wt = scaled_back(np.concatenate(ws), run.scale, "X")
    else:
        u = v = np.zeros(0, np.int64)
        wt = np.zeros(0)
    return finish_forest(u, v, wt, n, METHOD)


def h0_diagram_dask(
    X: Any,
    *,
    options: DaskOptions | None = None,
    n_neighbors: int = DEFAULT_NEIGHBORS,
    **deprecated: Any,
) -> np.ndarray:
    """The H0 persistence diagram of the Vietoris–Rips filtration, computed on Dask.

    Parameters
    ----------
    X, options, n_neighbors, **deprecated
        As in :func:`mst_dask`.

    Returns
    -------
    ndarray, shape (n, 2)
        Rows ``(0, death)``, the finite deaths in ascending order, then one
        ``(0, inf)`` row; equal bit for bit to
        :func:`sheaftopo.persistence.h0_diagram` on the same points except at
        near-ties below its Gram-identity resolution (an ulp or so).

    References
    ----------
    .. [1] H. Edelsbrunner, J. Harer, *Computational Topology*, AMS 2010, VII.
    .. [2] ToMCLIP, arXiv:2510.10889.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import DaskOptions, h0_diagram_dask
    >>> h0_diagram_dask(np.array([[0.0], [1.0], [3.0]]), options=DaskOptions(block_rows=2))
    array([[ 0.,  1.],
           [ 0.,  2.],
           [ 0., inf]])
    """
    opts = dask_options(options, deprecated, "h0_diagram_dask")
    return mst_dask(X, options=opts, n_neighbors=n_neighbors).diagram
