r"""Exact minimum spanning trees and H0 persistence of point clouds on Dask.

Borůvka rounds over pairs of row blocks. In every round each pair of row
blocks ``I <= J`` is one Dask task: given the current component labels, it
finds for every point of ``I`` its nearest point of ``J`` outside its
component, and vice versa. One reduction task per row block folds the pair
results of that block; the client then takes every component's lightest
outgoing edge and merges components with union-find, until one component
is left. Workers only ever hold two row blocks and their Gram block, so the
memory of a task is bounded by the block size.

Exactness. Edges are compared by the key ``(w, min(i, j), max(i, j))`` where
``w`` is the edge length computed in float64 from the coordinates by the same
kernel that :func:`sheaftopo.persistence.mst` uses for its reported weights.
The Gram identity (one BLAS product per block pair, on centred float64
coordinates) only *preselects* candidates: every point's candidates are all
points whose Gram-identity squared distance lies within a rounding margin
(the guard of the in-memory kernels, :math:`64\, d\, \epsilon\,
(|x|^2 + |y|^2)`, far above the identity's error) of the smallest one, and
those candidates are measured exactly. The selected tree is therefore the
minimum spanning tree for that total order, whatever the block sizes, and its
weights are bit-for-bit the ones the in-memory code reports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import as_float_array, check_int

if TYPE_CHECKING:
    from ..persistence import SpanningForest

__all__ = ["h0_diagram_dask", "mst_dask"]

#: the extra that installs what this module needs
DASK_EXTRA = 'install it with: pip install "sheaftopo[dask]"'
#: bytes of working memory one block-pair task uses, per Gram entry and per coordinate
TASK_BYTES_PER_GRAM_ENTRY = 24
TASK_BYTES_PER_COORDINATE = 32
#: method name recorded in the returned forest
METHOD = "dask-boruvka"


def _require_dask() -> tuple[Any, Any]:
    """``(dask, dask.array)``, or an ImportError naming the extra to install."""
    try:
        import dask
        import dask.array as da
    except ImportError as e:
        raise ImportError(
            "sheaftopo.distributed needs the packages 'dask[array]' and 'distributed', "
            f"which are not installed; {DASK_EXTRA}"
        ) from e
    return dask, da


def _kernels() -> Any:
    from ..persistence import _mst_kernels

    return _mst_kernels


# --------------------------------------------------------------------------
# block sizes
# --------------------------------------------------------------------------


def task_bytes(rows: int, d: int) -> int:
    """Approximate peak working memory (bytes) of one task on two blocks of ``rows`` rows."""
    return TASK_BYTES_PER_GRAM_ENTRY * rows * rows + TASK_BYTES_PER_COORDINATE * rows * d


def _rows_for_budget(d: int, budget: int) -> int:
    """Largest number of rows whose block-pair task fits in ``budget`` bytes (0 if none)."""
    a = float(TASK_BYTES_PER_GRAM_ENTRY)
    b = float(TASK_BYTES_PER_COORDINATE * d)
    rows = int((-b + np.sqrt(b * b + 4.0 * a * budget)) / (2.0 * a))
    while rows > 0 and task_bytes(rows, d) > budget:
        rows -= 1
    return rows


def _choose_block_rows(
    n: int, d: int, block_rows: int | None, budget: int | None, chunks: tuple[int, ...] | None
) -> int | None:
    """Rows per block, or None to keep the row chunks ``chunks`` of a Dask input."""
    from ..persistence._mst import DEFAULT_MEMORY_BUDGET, MAX_BLOCK

    if block_rows is not None:
        if budget is not None and task_bytes(block_rows, d) > budget:
            raise ValueError(
                f"block_rows={block_rows} needs about {task_bytes(block_rows, d)} bytes per "
                f"task (two blocks of {d} features and their Gram block), more than "
                f"memory_budget={budget}; lower block_rows or raise memory_budget"
            )
        return min(block_rows, n)
    if budget is not None:
        rows = _rows_for_budget(d, budget)
        if rows < 1:
            raise ValueError(
                f"memory_budget={budget} bytes is too small for one task on rows of {d} "
                f"features (one row needs about {task_bytes(1, d)} bytes)"
            )
        if chunks is not None and max(chunks) <= rows:
            return None
        return min(rows, n)
    if chunks is not None:
        return None
    return max(1, min(n, MAX_BLOCK, _rows_for_budget(d, DEFAULT_MEMORY_BUDGET)))


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def _working_dtype(dtype: np.dtype) -> np.dtype:
    """float32 and float64 are kept; anything else real becomes float64 (as in the core)."""
    if dtype.kind not in "fiub":
        raise TypeError(f"X must hold real numbers; got dtype {dtype} (dtype kind {dtype.kind!r})")
    if dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        return dtype
    return np.dtype(np.float64)


def _load_rows(path: str, start: int, stop: int, dtype: np.dtype) -> np.ndarray:
    """Rows ``start:stop`` of one .npy shard, read through a memory map."""
    mm = np.load(path, mmap_mode="r")
    return np.ascontiguousarray(mm[start:stop], dtype=dtype)


def _shards(path: Path) -> tuple[list[tuple[str, int]], int, np.dtype]:
    """The non-empty .npy shards of a directory: ``([(file, rows)], d, dtype)``."""
    if not path.exists():
        raise FileNotFoundError(f"X: no such directory of .npy shards: {str(path)!r}")
    if not path.is_dir():
        raise ValueError(
            f"X given as a path must be a directory of .npy shards; {str(path)!r} is a file "
            "(load it with numpy and pass the array)"
        )
    files = sorted(path.glob("*.npy"))
    if not files:
        raise ValueError(f"X: the directory {str(path)!r} holds no .npy shards")
    out: list[tuple[str, int]] = []
    d = None
    first = None
    dtypes = []
    for f in files:
        mm = np.load(f, mmap_mode="r")
        if mm.ndim != 2:
            raise ValueError(
                f"X: every shard must be a 2-D array of shape (n_rows, n_features); "
                f"{f.name!r} has shape {mm.shape}"
            )
        if d is None:
            d, first = mm.shape[1], f.name
        elif mm.shape[1] != d:
            raise ValueError(
                f"X: shards must all have the same number of features; {first!r} has {d} "
                f"but {f.name!r} has {mm.shape[1]}"
            )
        dtypes.append(_working_dtype(mm.dtype))
        if mm.shape[0]:
            out.append((str(f), int(mm.shape[0])))
    assert d is not None
    return out, int(d), np.dtype(np.result_type(*dtypes))


def _regular_chunks(n: int, rows: int) -> tuple[int, ...]:
    return (rows,) * (n // rows) + ((n % rows,) if n % rows else ())


def _prepare(
    X: Any, block_rows: int | None, budget: int | None
) -> Any:
    """X as a 2-D Dask array of a float dtype, one column chunk, row chunks of the block size."""
    dask, da = _require_dask()
    if isinstance(X, (str, os.PathLike)):
        files, d, dtype = _shards(Path(X))
        n = sum(rows for _, rows in files)
        if n == 0:
            raise ValueError(f"X must contain at least one point; the shards of {str(X)!r} "
                             "hold no rows")
        if d == 0:
            raise ValueError("X must have at least one feature; the shards have 0 columns")
        rows = _choose_block_rows(n, d, block_rows, budget, None)
        assert rows is not None
        load = dask.delayed(_load_rows, pure=True)
        parts = [
            da.from_delayed(load(f, s, min(s + rows, m), dtype), (min(s + rows, m) - s, d), dtype)
            for f, m in files
            for s in range(0, m, rows)
        ]
        return da.concatenate(parts, axis=0)
    if not isinstance(X, da.Array):
        X = da.from_array(as_float_array(X, "X"), chunks=-1)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (n_points, n_features); got {X.ndim}-D input "
            f"of shape {X.shape}"
        )
    if any(np.isnan(c) for c in X.chunks[0]) or any(np.isnan(c) for c in X.chunks[1]):
        raise ValueError(
            "X has unknown chunk sizes; call X.compute_chunk_sizes() first"
        )
    n, d = (int(s) for s in X.shape)
    if n == 0:
        raise ValueError(f"X must contain at least one point; got shape {X.shape}")
    if d == 0:
        raise ValueError(f"X must have at least one feature; got shape {X.shape}")
    dtype = _working_dtype(np.dtype(X.dtype))
    if dtype != X.dtype:
        X = X.astype(dtype)
    rows = _choose_block_rows(n, d, block_rows, budget, tuple(int(c) for c in X.chunks[0]))
    if rows is not None and X.chunks[0] != _regular_chunks(n, rows):
        X = X.rechunk({0: rows})
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    return X


# --------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------


def _block_stats(A: Any) -> tuple[int, np.ndarray | None, tuple[int, int, float] | None]:
    """``(rows, column sums, None)``, or ``(rows, None, (row, col, value))`` at a non-finite."""
    A = np.asarray(A)
    bad = ~np.isfinite(A)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        return A.shape[0], None, (r, c, float(A[r, c]))
    return A.shape[0], A.sum(axis=0, dtype=np.float64), None


def _centred(A: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = A.astype(np.float64) - mean
    return W, np.einsum("ij,ij->i", W, W)


def _candidates(D2: np.ndarray, sq_rows: np.ndarray, sq_cols_max: float, tol: float) -> Any:
    """Entries of each row within the rounding margin of the row's smallest value."""
    m = D2.min(axis=1)
    thr = np.where(np.isfinite(m), m + tol * (sq_rows + sq_cols_max), -np.inf)
    return np.nonzero(D2 <= thr[:, None])


def _nearest(rows: int, p: np.ndarray, q: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per local point p, the candidate q of smallest ``(w, q)``: ``(w_best, q_best)``."""
    best_w = np.full(rows, np.inf)
    best_q = np.full(rows, -1, np.int64)
    if len(p):
        order = np.lexsort((q, w, p))
        p, q, w = p[order], q[order], w[order]
        first = np.ones(len(p), bool)
        first[1:] = p[1:] != p[:-1]
        best_w[p[first]] = w[first]
        best_q[p[first]] = q[first]
    return best_w, best_q


def _pair_nearest(
    A: Any,
    B: Any,
    la: np.ndarray,
    lb: np.ndarray,
    off_a: int,
    off_b: int,
    mean: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, ...]:
    """Nearest points outside the own component between row blocks I (A) and J (B).

    Returns ``(wA, qA, wB, qB)``: for every point of A its nearest point of B
    whose label differs (exact length, global index; ``inf, -1`` if none), and
    the same for B against A. With ``B is None`` the pair is the diagonal
    block ``(I, I)`` and only ``(wA, qA)`` is returned.
    """
    k = _kernels()
    A = np.ascontiguousarray(A)
    Wa, sqa = _centred(A, mean)
    if B is None:
        D2 = Wa @ Wa.T
        sqb, lb, ref = sqa, la, A
    else:
        B = np.ascontiguousarray(B)
        Wb, sqb = _centred(B, mean)
        D2 = Wa @ Wb.T
        ref = np.concatenate([A, B])
    D2 *= -2.0
    D2 += sqa[:, None]
    D2 += sqb[None, :]
    D2[la[:, None] == lb[None, :]] = np.inf
    na = A.shape[0]
    shift = 0 if B is None else na
    r, s = _candidates(D2, sqa, float(sqb.max()), tol)
    w = k.euclidean_edge_lengths(ref, r.astype(np.int64), s.astype(np.int64) + shift)
    wA, qA = _nearest(na, r, s + (off_a if B is None else off_b), w)
    if B is None:
        return wA, qA
    s2, r2 = _candidates(D2.T, sqb, float(sqa.max()), tol)
    w2 = k.euclidean_edge_lengths(ref, r2.astype(np.int64), s2.astype(np.int64) + shift)
    wB, qB = _nearest(B.shape[0], s2, r2 + off_a, w2)
    return wA, qA, wB, qB


def _reduce_block(
    off: int, labels: np.ndarray, parts: list[tuple[tuple[np.ndarray, ...], int]]
) -> tuple[np.ndarray, ...]:
    """Lightest outgoing edge ``(comp, w, p, q)`` of every component met in one row block."""
    rows = labels.shape[0]
    w = np.full(rows, np.inf)
    q = np.full(rows, -1, np.int64)
    for res, side in parts:
        pw, pq = res[2 * side], res[2 * side + 1]
        better = (pw < w) | ((pw == w) & (pq >= 0) & ((q < 0) | (pq < q)))
        w = np.where(better, pw, w)
        q = np.where(better, pq, q)
    return _component_minima(labels, w, off + np.arange(rows), q)


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


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


def _compute(objs: list[Any], client: Any) -> list[Any]:
    dask, _ = _require_dask()
    if client is None:
        return list(dask.compute(*objs))
    return list(client.gather(client.compute(objs)))


def _check_finite_blocks(stats: list[Any], offsets: np.ndarray) -> np.ndarray:
    """Column sums of the whole array, or a ValueError at the first non-finite entry."""
    total = None
    for i, (_, sums, bad) in enumerate(stats):
        if bad is not None:
            r, c, value = bad
            raise ValueError(
                f"X must not contain NaN or inf; found {value!r} at index "
                f"({int(offsets[i]) + r}, {c}) (row block {i})"
            )
        total = sums if total is None else total + sums
    assert total is not None
    return total


def mst_dask(
    X: Any,
    *,
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
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
    client : distributed.Client, optional
        Where to run the tasks. Default: Dask's current scheduler (the
        default client if one is active, else the threaded scheduler).
    block_rows : int, optional
        Rows per block. Each task holds two blocks and their Gram block, about
        ``24 * block_rows**2 + 32 * block_rows * d`` bytes.
    memory_budget : int, optional
        Bytes one task may use; sets ``block_rows`` when that is not given and
        is checked against it when it is. With neither, a Dask input keeps its
        row chunks and other inputs use blocks of at most 4096 rows.

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
        gives the row), shards of different widths; ``block_rows`` below 1 or
        above what ``memory_budget`` allows.
    TypeError
        X not real; ``block_rows`` or ``memory_budget`` not an integer;
        ``client`` not a Dask client.
    ImportError
        Dask is not installed (the extra ``sheaftopo[dask]``).

    Notes
    -----
    Each Borůvka round is one pass over all block pairs ``I <= J``
    (:math:`\lceil n / b \rceil (\lceil n / b \rceil + 1) / 2` tasks of
    :math:`O(b^2 d)` work), and at most :math:`\lceil \log_2 n \rceil` rounds
    are needed. Pairs whose two blocks already lie in one component are
    skipped. Per-point results are reduced on the workers, one task per row
    block, so the client receives at most one candidate edge per component
    and point of a block. The input's chunks are recomputed (or re-read) in
    every round; persist a cheap-to-hold input first if recomputing it is
    expensive.

    The edge key and the weights are those of :func:`sheaftopo.persistence.mst`
    (see the module documentation), so the deaths equal
    :func:`sheaftopo.persistence.h0_diagram` bit for bit, and the edges are
    equal wherever the in-memory code's choice is not a near-tie below its
    Gram-identity resolution.

    References
    ----------
    .. [1] O. Borůvka (1926); ToMCLIP, arXiv:2510.10889 (MST persistence).
    .. [2] Dask Development Team, *Dask: Library for dynamic task scheduling*, 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import mst_dask
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [5.0, 0.0]])
    >>> forest = mst_dask(X, block_rows=2)
    >>> forest.edges
    array([[0, 1],
           [1, 2],
           [1, 3]])
    >>> forest.weights
    array([1., 2., 4.])
    """
    from ..persistence._mst import GRAM_GUARD, _finish

    dask, _ = _require_dask()
    if client is not None and not (hasattr(client, "compute") and hasattr(client, "gather")):
        raise TypeError(
            f"client must be a dask.distributed.Client or None; got {type(client).__name__}"
        )
    if block_rows is not None:
        block_rows = check_int(block_rows, "block_rows", minimum=1)
    budget = None if memory_budget is None else check_int(
        memory_budget, "memory_budget", minimum=1024
    )
    arr = _prepare(X, block_rows, budget)
    n, d = (int(s) for s in arr.shape)
    sizes = np.asarray(arr.chunks[0], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    blocks = list(arr.to_delayed()[:, 0])
    nb = len(blocks)

    stats = _compute([dask.delayed(_block_stats, pure=True)(b) for b in blocks], client)
    mean = _check_finite_blocks(stats, offsets) / n
    tol = GRAM_GUARD * d * float(np.finfo(np.float64).eps)

    k = _kernels()
    parent = np.arange(n)
    rank = np.zeros(n, np.int8)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    labels, c = k.uf_labels(parent)
    pair = dask.delayed(_pair_nearest, pure=True)
    reduce = dask.delayed(_reduce_block, pure=True)
    while c > 1:
        lab = [labels[offsets[i] : offsets[i + 1]] for i in range(nb)]
        whole = [int(x[0]) if (x == x[0]).all() else -1 for x in lab]
        parts: list[list[tuple[Any, int]]] = [[] for _ in range(nb)]
        for i in range(nb):
            for j in range(i, nb):
                if whole[i] >= 0 and whole[i] == whole[j]:
                    continue
                if i == j:
                    res = pair(blocks[i], None, lab[i], lab[i], offsets[i], offsets[i], mean, tol)
                    parts[i].append((res, 0))
                else:
                    res = pair(blocks[i], blocks[j], lab[i], lab[j], offsets[i], offsets[j],
                               mean, tol)
                    parts[i].append((res, 0))
                    parts[j].append((res, 1))
        todo = [reduce(offsets[i], lab[i], parts[i]) for i in range(nb) if parts[i]]
        found = _compute(todo, client)
        comp, w, p, q = (np.concatenate([f[t] for f in found]) for t in range(4))
        comp, w, p, q = _component_minima(comp, w, p, q)
        acc = k.uf_merge(parent, rank, p, q)
        if not acc.any():  # pragma: no cover - every round joins at least two components
            raise RuntimeError("a Borůvka round joined no components; please report this")
        us.append(p[acc])
        vs.append(q[acc])
        ws.append(w[acc])
        labels, c = k.uf_labels(parent)
    if us:
        u, v, w = np.concatenate(us), np.concatenate(vs), np.concatenate(ws)
    else:
        u = v = np.zeros(0, np.int64)
        w = np.zeros(0)
    return _finish(u, v, w, n, METHOD)


def h0_diagram_dask(
    X: Any,
    *,
    client: Any = None,
    block_rows: int | None = None,
    memory_budget: int | None = None,
) -> np.ndarray:
    """The H0 persistence diagram of the Vietoris–Rips filtration, computed on Dask.

    Parameters
    ----------
    X, client, block_rows, memory_budget
        As in :func:`mst_dask`.

    Returns
    -------
    ndarray, shape (n, 2)
        Rows ``(0, death)``, the finite deaths in ascending order, then one
        ``(0, inf)`` row; equal bit for bit to
        :func:`sheaftopo.persistence.h0_diagram` on the same points.

    References
    ----------
    .. [1] H. Edelsbrunner, J. Harer, *Computational Topology*, AMS 2010, VII.
    .. [2] ToMCLIP, arXiv:2510.10889.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.distributed import h0_diagram_dask
    >>> h0_diagram_dask(np.array([[0.0], [1.0], [3.0]]), block_rows=2)
    array([[ 0.,  1.],
           [ 0.,  2.],
           [ 0., inf]])
    """
    return mst_dask(X, client=client, block_rows=block_rows, memory_budget=memory_budget).diagram
