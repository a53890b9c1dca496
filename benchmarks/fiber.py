"""Approximate fiber products: sheaftopo vs scikit-learn and scipy, same inputs, one process.

    python -m benchmarks.fiber            # 100,000 x 64 (two data sets) and 20,000 x 512
    python -m benchmarks.fiber --quick    # 20,000 x 64 and 5,000 x 512

Every case computes all pairs (i, j) with ||F_i - G_j|| <= eps between two
sets of the same size, at an eps that gives about 10 neighbours per point
(calibrated on 500 rows). Data sets:

* ``gaussian``: i.i.d. N(0, I) rows, the worst case for every method (no
  structure to prune: every method computes all N * M distances);
* ``clustered``: embedding-like rows, 1,000 Gaussian clusters in d dimensions,
  and G a noisy copy of F (the paired modality).

Methods on the same arrays: sheaftopo's ``approximate_fiber_product``
(method "auto"); scikit-learn's ``NearestNeighbors(radius=eps).radius_neighbors``
(its "auto" algorithm is brute force with OpenMP threads above 15 dimensions);
scipy's ``cKDTree.query_ball_tree`` and ``cKDTree.sparse_distance_matrix``
(single-threaded dual-tree searches). Trees that would take too long are timed
on the first ``--kdtree-rows`` rows of F and extrapolated linearly in N (said in
the output); their build time is measured separately and added once.

Times are wall-clock seconds, best of ``--repeat`` runs (one run when a run
exceeds 30 s). Memory is the peak resident memory added during the call,
sampled every 2 ms by a background thread (inputs excluded). Each competitor's
pair count is compared with ours; sklearn's and scipy's own distance roundings
can put a pair exactly at eps on the other side, which is reported as the
number of differing pairs. All runs use the same threads: every CPU this
process may use (``os.sched_getaffinity``).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np


class PeakMemory:
    """Peak increase of the resident set size while the context is open (MiB)."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self.base = self._rss()
        self.peak = self.base
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(best seconds, peak MiB of the first run, result of the first run)."""
    best = np.inf
    out = None
    mem = 0.0
    for k in range(repeat):
        with PeakMemory() as pm:
            t = time.perf_counter()
            res = fn()
            dt = time.perf_counter() - t
        if k == 0:
            out, mem = res, pm.mib
        best = min(best, dt)
        del res
        if dt > 30:
            break
    return best, mem, out


def make_data(kind: str, n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.standard_normal((n, d)), rng.standard_normal((n, d))
    centers = rng.standard_normal((1000, d)) * 2.0
    F = centers[rng.integers(0, 1000, n)] + rng.standard_normal((n, d)) * 0.5
    G = F + rng.standard_normal((n, d)) * 0.2
    return F, G


def calibrate_eps(F: np.ndarray, G: np.ndarray, neighbours: float = 10.0) -> float:
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(1)
    rows = rng.choice(len(F), size=min(500, len(F)), replace=False)
    D = cdist(F[rows], G)
    return float(np.quantile(D, neighbours / len(G)))


def pair_keys(rows: np.ndarray, cols: np.ndarray, m: int) -> np.ndarray:
    return np.sort(rows.astype(np.int64) * m + cols)


def ours(F: np.ndarray, G: np.ndarray, eps: float):
    from sheaftopo.fiber import approximate_fiber_product

    return approximate_fiber_product(F, G, eps)


def sklearn_pairs(F: np.ndarray, G: np.ndarray, eps: float):
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=eps).fit(G)
    _, ind = nn.radius_neighbors(F, return_distance=True)
    return ind


def _ind_to_keys(ind, m: int, offset: int = 0) -> np.ndarray:
    counts = np.fromiter((len(x) for x in ind), np.int64, len(ind))
    rows = np.repeat(np.arange(offset, offset + len(ind), dtype=np.int64), counts)
    cols = np.concatenate([np.asarray(x, dtype=np.int64) for x in ind]) if len(ind) else rows
    return pair_keys(rows, cols, m)


def kdtree_ball_tree(tree_f, tree_g, eps: float):
    return tree_f.query_ball_tree(tree_g, eps)


def kdtree_sparse(tree_f, tree_g, eps: float):
    return tree_f.sparse_distance_matrix(tree_g, eps, output_type="ndarray")


def run_case(kind: str, n: int, d: int, repeat: int, kdtree_rows: int) -> None:
    from scipy.spatial import cKDTree

    F, G = make_data(kind, n, d)
    eps = calibrate_eps(F, G)
    print(f"\n{kind} N = M = {n:,}, d = {d}, eps = {eps:.4g}", flush=True)
    t_ours, m_ours, res = timed(lambda: ours(F, G, eps), repeat)
    ref = pair_keys(res.rows, res.cols, n)
    print(
        f"  {'sheaftopo (' + res.method + ')':34s} {t_ours:8.2f} s {m_ours:8.0f} MiB   "
        f"{res.n_pairs:,} pairs ({res.n_pairs / n:.1f} per point)",
        flush=True,
    )

    t_sk, m_sk, ind = timed(lambda: sklearn_pairs(F, G, eps), repeat)
    diff = np.setxor1d(_ind_to_keys(ind, n), ref).size
    del ind
    print(
        f"  {'scikit-learn radius_neighbors':34s} {t_sk:8.2f} s {m_sk:8.0f} MiB   "
        f"{t_sk / t_ours:6.1f}x ours; {diff} pairs differ",
        flush=True,
    )

    t = time.perf_counter()
    tree_g = cKDTree(G)
    build_g = time.perf_counter() - t
    rows = min(n, kdtree_rows)
    t = time.perf_counter()
    tree_f = cKDTree(F[:rows])
    build_f = (time.perf_counter() - t) * (n / rows)
    note = "" if rows == n else f"  (timed on {rows:,} rows of F, x{n / rows:.0f})"
    for name, fn in (
        ("scipy cKDTree.query_ball_tree", kdtree_ball_tree),
        ("scipy cKDTree.sparse_distance_matrix", kdtree_sparse),
    ):
        sec, mem, out = timed(lambda fn=fn: fn(tree_f, tree_g, eps), 1 if rows < n else repeat)
        total = sec * (n / rows) + build_g + build_f
        if name.endswith("ball_tree"):
            keys = _ind_to_keys(out, n)
        else:
            keys = pair_keys(out["i"], out["j"], n)
        diff = np.setxor1d(keys, ref[ref < rows * n]).size
        del out
        print(
            f"  {name:34s} {total:8.2f} s {mem:8.0f} MiB   {total / t_ours:6.1f}x ours; "
            f"{diff} pairs differ{note}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.fiber",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="20,000 x 64 and 5,000 x 512")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--kdtree-rows",
        type=int,
        default=None,
        help="rows of F given to the (slow) KD-tree searches; default 2,000 (full size in --quick)",
    )
    args = ap.parse_args(argv)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cpus = os.cpu_count()
    print(
        f"{cpus} CPUs; times in seconds (best of {args.repeat}), memory = peak RSS added "
        "during the call"
    )

    t = time.perf_counter()
    F, G = make_data("gaussian", 2000, 64)
    ours(F, G, 8.0)
    ours(F[:, :4], G[:, :4], 0.5)
    print(
        f"first calls (numba compile or cache load, thread pools): {time.perf_counter() - t:.2f} s"
    )

    if args.quick:
        cases = [("gaussian", 20_000, 64), ("clustered", 20_000, 64), ("gaussian", 5_000, 512)]
        kd_rows = args.kdtree_rows or 20_000
    else:
        cases = [
            ("gaussian", 100_000, 64),
            ("clustered", 100_000, 64),
            ("gaussian", 20_000, 512),
            ("clustered", 20_000, 512),
        ]
        kd_rows = args.kdtree_rows or 2_000
    for kind, n, d in cases:
        run_case(kind, n, d, args.repeat, kd_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
