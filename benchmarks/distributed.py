"""Exact H0 persistence on Dask: time, worker memory and growth in N, against one process.

    python -m benchmarks.distributed                  # N = 20k, 100k, 200k; d = 128
    python -m benchmarks.distributed --quick          # N = 5k, 20k
    python -m benchmarks.distributed --sizes 50000 --dim 768 --compare-max 0

Data: embedding-like rows, a mixture of 100 Gaussian clusters in d dimensions
(centres N(0, 9 I), points N(centre, I)), float64, written as ``.npy`` shards
of 10,000 rows to a temporary directory and read lazily by the workers: the
out-of-core path. This is the harder case for the warm start (clusters whose
points only list each other force a second all-pairs pass); i.i.d. Gaussian
rows need one pass.

For every N a fresh ``distributed.LocalCluster`` of ``--workers`` worker
processes with one thread each runs :func:`sheaftopo.distributed.h0_diagram_dask`
with ``memory_budget`` bytes per task (the block size follows). Reported:
wall time, the passes it ran (all-pairs sweeps and targeted query passes, with
their task counts and seconds), and each worker's peak resident memory (sampled
every 10 ms in the worker) above its resident memory at start (that includes importing
numba, scipy and sheaftopo and loading the compiled kernels in the worker).
The competitors run in this process on the same array, for N up to ``--compare-max``: the in-memory
:func:`sheaftopo.persistence.h0_diagram` (all cores) and the usual recipe,
the dense distance matrix from ``scipy.spatial.distance.pdist`` and
``scipy.sparse.csgraph.minimum_spanning_tree`` (N up to ``--scipy-max``);
every result is checked equal to ours (bit for bit against the in-memory code).

Last, one block-pair task is timed at the chosen block size for d = 128 and
d = 768, and the cost of a 10,000,000 x 768 corpus on a cluster is projected
from it (tasks, bytes read, core-hours per pass): the numbers
``docs/distributed.md`` quotes.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARD_ROWS = 10_000


def mixture(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((100, d))
    return centres[rng.integers(0, 100, n)] + rng.standard_normal((n, d))


def write_shards(X: np.ndarray, where: Path) -> None:
    for s in range(0, X.shape[0], SHARD_ROWS):
        np.save(where / f"part-{s // SHARD_ROWS:05d}.npy", X[s : s + SHARD_ROWS])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# a worker's peak resident memory, sampled every 10 ms by a thread in the worker
# (ru_maxrss is no good here: a process started by fork inherits its parent's peak)
_PEAK = {"rss": 0, "run": False}


def _start_sampler() -> int:
    import threading

    def loop() -> None:
        while _PEAK["run"]:
            _PEAK["rss"] = max(_PEAK["rss"], _rss_bytes())
            time.sleep(0.01)

    _PEAK["rss"], _PEAK["run"] = _rss_bytes(), True
    threading.Thread(target=loop, daemon=True).start()
    return _PEAK["rss"]


def _stop_sampler() -> int:
    _PEAK["run"] = False
    return max(_PEAK["rss"], _rss_bytes())


class PassLog:
    """Records every pass of mst_dask (what, tasks, seconds) by wrapping ``_Run._gather``."""

    def __init__(self) -> None:
        import sheaftopo.distributed._mst as m

        self.rows: list[tuple[str, int, float]] = []
        self._m = m
        self._orig = m._Run._gather
        log = self

        def gather(run, todo, what, tasks):
            t = time.perf_counter()
            out = log._orig(run, todo, what, tasks)
            log.rows.append((what, tasks, time.perf_counter() - t))
            return out

        m._Run._gather = gather

    def close(self) -> None:
        self._m._Run._gather = self._orig


def run_dask(path: Path, n_workers: int, budget: int) -> tuple[np.ndarray, float, list, list]:
    import distributed

    from sheaftopo.distributed import DaskOptions, h0_diagram_dask

    with distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit=None,
    ) as cluster, distributed.Client(cluster) as client:
        start = client.run(_start_sampler)
        log = PassLog()
        try:
            t = time.perf_counter()
            dgm = h0_diagram_dask(
                str(path), options=DaskOptions(client=client, memory_budget=budget)
            )
            dt = time.perf_counter() - t
        finally:
            log.close()
        peak = client.run(_stop_sampler)
        # above start: the tasks, plus importing numba, scipy and sheaftopo in the worker
        mem = [(start[w] / 2**20, (peak[w] - start[w]) / 2**20) for w in sorted(peak)]
    return dgm, dt, log.rows, mem


def time_pair(b: int, d: int, dtype: type, repeat: int = 3) -> float:
    """Seconds of one off-diagonal block-pair task of the first pass (b rows each)."""
    from sheaftopo._core.scaling import GRAM_GUARD
    from sheaftopo.distributed._mst import DEFAULT_NEIGHBORS, _pair

    rng = np.random.default_rng(1)
    A = rng.standard_normal((b, d)).astype(dtype)
    B = rng.standard_normal((b, d)).astype(dtype)
    mean = np.zeros(d)
    tol = GRAM_GUARD * d * float(np.finfo(np.float64).eps)
    la, lb = np.arange(b), np.arange(b, 2 * b)
    # exponent 0: the blocks are used as they are (mst_dask divides by a power of two first)
    _pair(A[:64], B[:64], la[:64], lb[:64], 0, b, mean, tol, DEFAULT_NEIGHBORS, 0)  # compile
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        _pair(A, B, la, lb, 0, b, mean, tol, DEFAULT_NEIGHBORS, 0)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.distributed",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="N = 5,000 and 20,000")
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-budget", type=int, default=256 * 2**20,
                    help="bytes per task (default 256 MiB)")
    ap.add_argument("--compare-max", type=int, default=100_000,
                    help="run the in-memory h0_diagram up to this N")
    ap.add_argument("--scipy-max", type=int, default=20_000,
                    help="run pdist + scipy minimum_spanning_tree up to this N")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([5_000, 20_000] if args.quick else [20_000, 100_000, 200_000])

    from sheaftopo._core.dask import mst_task_bytes as task_bytes
    from sheaftopo._core.dask import rows_for_budget
    from sheaftopo.persistence import h0_diagram

    b = rows_for_budget(args.dim, args.memory_budget, task_bytes)
    print(f"# exact H0 on Dask: {args.workers} worker processes x 1 thread, d = {args.dim}, "
          f"memory_budget = {args.memory_budget / 2**20:.0f} MiB/task -> {b} rows per block; "
          f"{os.cpu_count()} CPUs")
    results = []
    for n in sizes:
        X = mixture(n, args.dim)
        with tempfile.TemporaryDirectory() as tmp:
            write_shards(X, Path(tmp))
            dgm, dt, passes, mem = run_dask(Path(tmp), args.workers, args.memory_budget)
        line = f"N={n:>7}: dask {dt:8.2f} s"
        for what, tasks, sec in passes:
            print(f"    pass: {what:<28} {tasks:>6} tasks {sec:8.2f} s")
        print("    worker resident memory at start / peak above start, MiB: "
              + ", ".join(f"{a:.0f} / {b:.0f}" for a, b in mem)
              + f"  (budget {args.memory_budget / 2**20:.0f} MiB per task)")
        if n <= args.compare_max:
            t = time.perf_counter()
            ref = h0_diagram(X)
            tm = time.perf_counter() - t
            same = ref.tobytes() == dgm.tobytes()
            line += (f" | in-memory h0_diagram {tm:8.2f} s (x{tm / dt:5.2f}), "
                     f"equal bit for bit: {same}")
            if not same:
                print(line)
                raise SystemExit("the Dask diagram differs from the in-memory one")
        if n <= args.scipy_max:
            from scipy.sparse.csgraph import minimum_spanning_tree
            from scipy.spatial.distance import pdist, squareform

            t = time.perf_counter()
            T = minimum_spanning_tree(squareform(pdist(X)))
            ts = time.perf_counter() - t
            deaths = np.sort(T.data)
            close = np.allclose(deaths, dgm[:-1, 1], rtol=1e-12, atol=0)
            line += (f" | pdist + scipy MST {ts:8.2f} s (x{ts / dt:5.2f}), "
                     f"deaths equal to 1e-12: {close}")
        print(line)
        results.append((n, dt, passes))
        del X
    if len(results) > 1:
        ns = np.log([r[0] for r in results])
        ts = np.log([r[1] for r in results])
        slope = np.polyfit(ns, ts, 1)[0]
        print(f"# time grows like N^{slope:.2f} over N = {sizes} (exact all-pairs work is N^2)")

    print("# one block-pair task of the all-pairs pass, in this process (best of 3):")
    proj = {}
    for d, dtype in ((args.dim, np.float64), (768, np.float32)):
        bd = rows_for_budget(d, args.memory_budget, task_bytes)
        t = time_pair(bd, d, dtype)
        proj[d] = (bd, t, np.dtype(dtype).itemsize)
        print(f"    b = {bd}, d = {d} ({np.dtype(dtype).name}): {t:.3f} s "
              f"({bd * bd * d * 2 / t / 1e9:.1f} GFLOP/s counting the Gram product only)")
    bd, t, item = proj[768]
    for big_b in (bd, 16_384):
        scale = (big_b / bd) ** 2
        N = 10_000_000
        nb = math.ceil(N / big_b)
        tasks = nb * (nb + 1) // 2
        core_h = tasks * t * scale / 3600
        read = tasks * 2 * big_b * 768 * item / 1e12
        print(f"# projection, 10,000,000 x 768 float32, blocks of {big_b} rows "
              f"({task_bytes(big_b, 768) / 2**30:.1f} GiB per task): {tasks:,} tasks per "
              f"all-pairs pass, {read:,.0f} TB of blocks read, {core_h:,.0f} core-hours per "
              f"pass (task time scaled by b^2 from the measured b = {bd})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
