"""The blocked engine of the fiber product: ball-pruned BLAS blocks screened by numba.

:class:`Blocked` orders both sets by their ball trees, keeps the pairs of
leaves that may hold a pair within reach, and computes those blocks of inner
products (float32 or float64) in worker threads; :func:`blocked_pairs` lists
the pairs within ε and :func:`blocked_hist` counts them over a grid, both
deciding every candidate with the canonical distance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._core.fiber_blocks import MAX_BLOCK_COLS, ROW_BLOCK, fiber_kernels
from ._balls import ball_leaves, leaf_balls, surviving_blocks, tree_coordinates
from ._screening import RELEASED, Prepared, coef, f64_slack, screen_threshold

_ROW_LEAF = 128
_COL_LEAF = 128


def _gather_rows(X: np.ndarray, perm: np.ndarray, dtype: Any) -> np.ndarray:
    """``X[perm]`` converted to ``dtype``, in chunks (no full-size temporary)."""
    out = np.empty((len(perm), X.shape[1]), dtype=dtype)
    step = 8192
    for s in range(0, len(perm), step):
        out[s : s + step] = X[perm[s : s + step]]
    return out


_CONTROLLER: list[Any] = []


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    One threadpoolctl controller per process: finding the loaded libraries
    costs milliseconds, setting the limit microseconds.
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


class Blocked:
    """Tree-ordered, screened, blocked evaluation shared by the product and the profile."""

    def __init__(self, p: Prepared, reach_q: float, precision: str, budget: int, n_jobs: int):
        d = p.d
        self.p = p
        self.n_jobs = n_jobs
        self.precision = precision
        self.coef, self.tau = coef(d, precision)
        dtype = np.float32 if precision == "float32" else np.float64
        ta, tb = tree_coordinates(p.a, p.b)
        permA, leavesA = ball_leaves(ta, _ROW_LEAF)
        permB, leavesB = ball_leaves(tb, _COL_LEAF)
        del ta, tb
        self.permA, self.permB = permA, permB
        cA, rA = leaf_balls(p.a, permA, leavesA)
        cB, rB = leaf_balls(p.b, permB, leavesB)
        # cosine: the chord of a pair within eps may exceed sqrt(2 eps) by rounding
        extra = 8 * f64_slack(d) if p.metric == 1 else 0.0
        reach = math.sqrt(max(reach_q, 0.0) + extra)
        alive = surviving_blocks(cA, rA, cB, rB, reach)
        # row blocks: runs of consecutive leaves (neighbours in the tree) of up to
        # ROW_BLOCK rows; a block keeps a column leaf when any of its leaves does
        self.leavesA: list[tuple[int, int]] = []
        rows_alive = []
        k = 0
        while k < len(leavesA):
            j = k
            while j + 1 < len(leavesA) and leavesA[j + 1][1] - leavesA[k][0] <= ROW_BLOCK:
                j += 1
            self.leavesA.append((leavesA[k][0], leavesA[j][1]))
            rows_alive.append(alive[k : j + 1].any(axis=0))
            k = j + 1
        self.alive = np.array(rows_alive).reshape(len(self.leavesA), len(leavesB))
        self.startsB = np.array([s for s, _ in leavesB] + [len(p.b)], dtype=np.int64)
        self.A = _gather_rows(p.a, permA, dtype)
        if p.metric == 0:  # the screening rows are not needed any more: free them
            p.a = RELEASED
        self.B = _gather_rows(p.b, permB, dtype)
        if p.metric == 0:
            p.b = RELEASED
        self.nA = p.nA[permA]
        self.nB = p.nB[permB]
        self.beta = (1.0 - self.coef) * self.nB / 2.0
        itemsize = np.dtype(dtype).itemsize
        self.max_cols = int(
            max(_COL_LEAF, min(MAX_BLOCK_COLS, budget // (itemsize * ROW_BLOCK * n_jobs)))
        )

    def alpha(self, s: int, e: int, e_q: float) -> np.ndarray:
        e_in = e_q * (1.0 + f64_slack(self.p.d))
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
        (:func:`single_threaded_blas`): each thread runs its own gemm and
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


def blocked_pairs(
    p: Prepared, eps: float, precision: str, budget: int, n_jobs: int, max_pairs: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import threading

    k = fiber_kernels()
    e_q = screen_threshold(p, eps)
    eng = Blocked(p, e_q, precision, budget, n_jobs)
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
            local.buf = np.empty(ROW_BLOCK * eng.max_cols, dtype=eng.A.dtype)
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
                    raise TooManyPairs(total[0])
        if not parts:
            return None
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))  # type: ignore[return-value]

    results = [r for r in eng.run(task) if r is not None]
    if not results:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    rows, cols, dist = (np.concatenate(x) for x in zip(*results, strict=True))
    return rows, cols, dist


class TooManyPairs(Exception):
    pass


def blocked_hist(
    p: Prepared, grid: np.ndarray, precision: str, budget: int, n_jobs: int
) -> np.ndarray:
    """Histogram over the grid (length K + 1, last bin: beyond the grid)."""
    import threading

    k = fiber_kernels()
    grid_q = np.ascontiguousarray(p.screen_eps(grid) ** 2)
    e_q = float(grid_q[-1])
    eng = Blocked(p, e_q, precision, budget, n_jobs)
    local = threading.local()
    K = len(grid)

    def task(leaf: int) -> np.ndarray | None:
        s, e = eng.leavesA[leaf]
        pieces = eng.pieces(leaf)
        if not pieces:
            return None
        if not hasattr(local, "buf"):
            local.buf = np.empty(ROW_BLOCK * eng.max_cols, dtype=eng.A.dtype)
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
