"""The exact MST of a point cloud: dense Prim, blocked Borůvka and the KD-tree.

Behind :func:`sheaftopo.persistence.mst` for points (``metric="euclidean"`` or
``"cosine"``) and :func:`sheaftopo.persistence.mst_batch`. Both metrics reduce
to Euclidean geometry on prepared coordinates (:func:`prepare_points`); the
tree is selected on squared distances and the selected edges' lengths are
recomputed exactly (:func:`edge_lengths`). See :mod:`._mst` for the methods.
"""

from __future__ import annotations

import numpy as np

from .._core.mst import MAX_BLOCK, NO_COORDS, SpanningForest, finish_forest, mst_kernels
from .._core.scaling import GRAM_GUARD, rescaled, scaled_back
from .._core.threads import blas_region, numba_region

__all__ = ["auto_method", "edge_lengths", "gram_guard", "mst_points", "prepare_points", "unit_rows"]

#: dimensions up to which "auto" uses the KD-tree for large point clouds
KDTREE_MAX_DIM = 10
#: size from which "auto" prefers the KD-tree to dense Prim in low dimension
KDTREE_MIN_POINTS = 2048
#: points are centred when |mean|^2 exceeds this share of the mean squared norm
CENTRE_ABOVE = 0.25
#: KD-tree leaf size and candidate-list lengths of its first and later rounds. Chosen
#: 2026-12-03 on the 2-core machine (load average 2.5-4.5: other sessions' tests), by
#: CPU seconds (time.process_time, NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1) of
#: ``_kdtree.kdtree_boruvka(X, leaf, k_first, 1)`` on 200,000 x 3 standard normal points,
#: quitefastmst.mst_euclid timed in the same process: k_first 1, 2, 4, 6, 8 at leaf 32
#: took 0.93, 0.78, 0.64, 0.59, 0.66 s (0.61-0.65 s at leaves 24, 48, 64 with k_first
#: 4; quitefastmst 0.39-0.41 s); 100,000 x 8: 7.3 s at k_first 4 and 10.0 s at 6
#: (quitefastmst 5.7-7.3 s).
KDTREE_LEAF_SIZE = 32
KDTREE_K_FIRST = 4
KDTREE_K_LATER = 1
#: from these sizes "auto" prefers blocked Borůvka to dense Prim even when n^2 fits
BORUVKA_MIN_POINTS = 8192
BORUVKA_MIN_ROW_BYTES = 2048
#: k of the k-nearest-neighbour warm start of the blocked Borůvka
BORUVKA_NEIGHBORS = 16
#: row size (bytes) from which a sweep multiplies each block pair once (see _sweep)
SYMMETRIC_SWEEP_MIN_ROW_BYTES = 1024


def unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    """The rows of ``X`` divided by their Euclidean norms, in float64, at any magnitude.

    Each row is first brought to max |entry| in [0.5, 1) by a power of two
    (exact), so its norm neither overflows nor underflows; a zero row, whose
    direction is undefined, raises a ``ValueError`` naming ``name``.
    """
    exact = X.astype(np.float64)
    top = np.abs(exact).max(axis=1)
    if (top == 0).any():
        i = int(np.flatnonzero(top == 0)[0])
        raise ValueError(
            f"{name} must not contain zero vectors with metric='cosine' (the cosine "
            f"dissimilarity is undefined there); row {i} of {name} is zero"
        )
    exact = np.ldexp(exact, -np.frexp(top)[1][:, None])
    return exact / np.linalg.norm(exact, axis=1)[:, None]


def prepare_points(
    X: np.ndarray, metric: str, name: str = "data"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Working coordinates (input precision), their squared norms, reference coordinates, scale.

    For the cosine dissimilarity 1 - cos(x, y) = |x^ - y^|^2 / 2 on the unit
    vectors x^ = x / |x|, so both metrics reduce to Euclidean geometry. The
    reference coordinates (the input divided by the power of two ``scale``,
    see :func:`rescaled`, or its normalised rows in float64, scale 1) are what
    exact distances are computed from; Euclidean lengths are multiplied by
    ``scale`` at the end.

    The Gram identity loses about ``d * eps * |x|^2`` of each squared distance,
    so points are centred first when their mean carries a sizeable share of
    their squared norms (an offset cloud); otherwise centring would buy nothing.
    """
    if metric == "cosine":
        ref, scale = unit_rows(X, name), 1.0
    else:
        ref, scale = rescaled(X)
    mean = ref.mean(axis=0, dtype=np.float64)
    sq = np.einsum("ij,ij->i", ref, ref, dtype=np.float64)
    if float(mean @ mean) > CENTRE_ABOVE * float(sq.mean()):
        work = np.ascontiguousarray((ref - mean).astype(X.dtype, copy=False))
        sq = np.einsum("ij,ij->i", work, work, dtype=np.float64)
    else:
        work = np.ascontiguousarray(ref.astype(X.dtype, copy=False))
        if work is not ref:  # float64 reference, float32 work: norms of what is multiplied
            sq = np.einsum("ij,ij->i", work, work, dtype=np.float64)
    return work, sq, np.ascontiguousarray(ref), scale


def gram_guard(work: np.ndarray) -> float:
    """``tol`` of the kernels' Gram-identity guard for these working coordinates."""
    return GRAM_GUARD * work.shape[1] * float(np.finfo(work.dtype).eps)


def edge_lengths(
    ref: np.ndarray, u: np.ndarray, v: np.ndarray, metric: str, scale: float, name: str = "data"
) -> np.ndarray:
    """Lengths of the edges ``(u, v)``: exact distances at the original scale."""
    dist = mst_kernels().euclidean_edge_lengths(ref, u, v)
    if metric == "cosine":
        return 0.5 * dist * dist
    return scaled_back(dist, scale, name)


def auto_method(n: int, d: int, itemsize: int, budget: int) -> str:
    if d <= KDTREE_MAX_DIM and n >= KDTREE_MIN_POINTS:
        return "kdtree"
    if n * n * itemsize > budget:
        return "boruvka"
    # with long rows the Gram products dominate; the blocked sweep multiplies
    # each block pair once (half of Prim's full product) and needs no n x n matrix
    if n >= BORUVKA_MIN_POINTS and d * itemsize >= BORUVKA_MIN_ROW_BYTES:
        return "boruvka"
    return "prim"


# --------------------------------------------------------------------------
# algorithms on points
# --------------------------------------------------------------------------


def _gram(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """``A @ B.T`` through a general BLAS product.

    With ``B is None`` this is ``A @ A.T``. NumPy routes that to syrk, which
    with OpenBLAS is slower than gemm for tall matrices (n >> d) but faster
    for wide ones; for tall matrices the second operand is therefore a
    plain copy (a memcpy, far cheaper than the product), which selects gemm.
    """
    if B is None:
        return A @ (A if 2 * A.shape[1] >= A.shape[0] else A.copy()).T
    return A @ B.T


def _prim_points(
    work: np.ndarray, sq: np.ndarray, ref: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact MST by dense Prim on the Gram matrix (a BLAS product, then a serial kernel)."""
    n, d = work.shape
    with blas_region(n * d):  # BLAS on the free cores only (_core/threads.py)
        G = _gram(work)
    parent, _ = mst_kernels().prim_dense(G, sq, -2.0, ref, gram_guard(work))
    v = np.arange(1, n)
    return parent[1:], v


def _block_size(n: int, itemsize: int, budget: int) -> int:
    b = int(np.sqrt(max(budget // 4, 1) / itemsize))
    return int(max(1, min(n, MAX_BLOCK, b)))


def _sweep(work, ref, sq, block, comp, slot, best_d, best_i) -> None:
    """Offer every ordered pair of distinct points to :func:`sweep_block`, block by block.

    In high dimension the Gram products dominate, so each unordered block pair
    is multiplied once and folded in both orders (diagonal blocks by syrk,
    which is exactly symmetric). In low dimension the products are cheap and
    folding a block column-wise costs more than a second product, so every
    ordered block pair is multiplied and folded row-wise.
    """
    k = mst_kernels()
    n, d = work.shape
    tol = gram_guard(work)
    symmetric = d * work.dtype.itemsize >= SYMMETRIC_SWEEP_MIN_ROW_BYTES
    for i0 in range(0, n, block):
        A = work[i0 : i0 + block]
        for j0 in range(i0 if symmetric else 0, n, block):
            if j0 == i0:
                G = A @ A.T  # syrk: exactly symmetric, so both orders of a pair agree
            else:
                G = A @ work[j0 : j0 + block].T
            k.sweep_block(
                G, sq, i0, j0, comp, slot, best_d, best_i, symmetric and j0 != i0, ref, tol
            )


def _boruvka_points(
    work: np.ndarray,
    sq: np.ndarray,
    ref: np.ndarray,
    budget: int,
    *,
    n_neighbors: int = BORUVKA_NEIGHBORS,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact MST by Borůvka rounds over blocked Gram sweeps (see the module docstring)."""
    k = mst_kernels()
    n = work.shape[0]
    if n == 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    block = _block_size(n, work.dtype.itemsize, budget)
    n_neighbors = int(min(n_neighbors, n - 1))
    comp_cap = int(max(2, min(4096, budget // (2 * 16 * n))))
    best_d = np.full((n, 1, n_neighbors), np.inf)
    best_i = np.full((n, 1, n_neighbors), -1, np.int64)
    one_slot = np.zeros(n, np.int64)
    _sweep(work, ref, sq, block, np.arange(n), one_slot, best_d, best_i)

    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    while True:
        labels, c = k.uf_labels(parent)
        if c == 1:
            break
        _, cp, cq, resolved = k.list_round(best_d, best_i, labels, c)
        n_resolved = int(resolved.sum())
        if n_resolved:
            acc = k.uf_merge(parent, rank, cp[resolved], cq[resolved])
            us.append(cp[resolved][acc])
            vs.append(cq[resolved][acc])
        if n_resolved * 64 >= c:
            continue
        # the lists no longer answer enough components: sweep again
        labels, c = k.uf_labels(parent)
        if c == 1:
            break
        if c <= comp_cap:
            pd = np.full((n, c, 1), np.inf)
            pi = np.full((n, c, 1), -1, np.int64)
            _sweep(work, ref, sq, block, labels, np.arange(c), pd, pi)
            W, P, Q = k.component_pair_minima(pd, pi, labels, c)
            cparent, _ = k.prim_dense(W, np.zeros(c), 1.0, NO_COORDS, 0.0)
            b = np.arange(1, c)
            a = cparent[1:]
            us.append(P[a, b])
            vs.append(Q[a, b])
            break
        best_d.fill(np.inf)
        best_i.fill(-1)
        _sweep(work, ref, sq, block, labels, one_slot[:c], best_d, best_i)
    if not us:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(us), np.concatenate(vs)


def _kdtree_points(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from ._kdtree import kdtree_boruvka

    # distances straight from the coordinates: no Gram identity, nothing to centre.
    # The kernels compare float64 squared distances whatever the input; a float32
    # cloud is widened (exactly) so that one compiled specialisation serves both:
    # compiling the float32 one took about 20 s on the 2-core machine (2026-12-03)
    ref = np.ascontiguousarray(ref, dtype=np.float64)
    u, v, _ = kdtree_boruvka(ref, KDTREE_LEAF_SIZE, KDTREE_K_FIRST, KDTREE_K_LATER)
    if len(u) != ref.shape[0] - 1:  # pragma: no cover - the kernel's no-progress guard
        raise RuntimeError(
            f"the KD-tree Borůvka stopped after {len(u)} of {ref.shape[0] - 1} edges "
            "without progress; use method='prim' or 'boruvka'"
        )
    return u, v


def mst_points(X: np.ndarray, metric: str, method: str, budget: int) -> SpanningForest:
    n, d = X.shape
    work, sq, ref, scale = prepare_points(X, metric)
    if method == "auto":
        method = auto_method(n, d, work.dtype.itemsize, budget)
    if n == 1:
        u = v = np.zeros(0, np.int64)
    elif method == "prim":
        if n * n * work.dtype.itemsize > budget:
            raise ValueError(
                f"method='prim' needs an ({n}, {n}) matrix of {n * n * work.dtype.itemsize} "
                f"bytes, more than memory_budget={budget}; use method='boruvka' or 'auto'"
            )
        u, v = _prim_points(work, sq, ref)
    elif method == "boruvka":
        with numba_region(n * d):  # the threading policy: _core/threads.py
            u, v = _boruvka_points(work, sq, ref, budget)
    elif method == "kdtree":
        with numba_region(n * d):
            u, v = _kdtree_points(ref)
    else:
        raise ValueError(
            f"method={method!r} does not apply to a point cloud; use 'auto', 'prim', "
            "'boruvka' or 'kdtree'"
        )
    return finish_forest(u, v, edge_lengths(ref, u, v, metric, scale), n, method)
