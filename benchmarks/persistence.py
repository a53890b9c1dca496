"""H0 persistence: sheaftopo vs quitefastmst, ripser, GUDHI and scipy, same inputs, one process.

    python -m benchmarks.persistence            # N in {256, 2048, 8192}, d in {64, 512};
                                                # and 100,000 x 8, 200,000 x 3 vs quitefastmst
    python -m benchmarks.persistence --quick    # N in {256, 2048}
    python -m benchmarks.persistence --large    # also 1,000,000 x 3 and x 8 vs quitefastmst,
                                                # 50,000 x 768 float32 and 100,000 x 8 alone
    python -m benchmarks.persistence --kdtree-only [--large]
                                                # only the low-dimensional rows vs quitefastmst
    python -m benchmarks.persistence --busy 2   # and each row again with 2 busy processes

quitefastmst (Gagolewski's exact Euclidean MST, ``pip install quitefastmst``,
0.9.2 when this was written; its OpenMP threads follow ``OMP_NUM_THREADS``) is
timed against sheaftopo's ``mst`` (not ``h0_diagram``) on the same array,
right after it, with the ratio ``x qfm`` = its time / ours; each row checks that
the total weights agree (relative difference ``Δw``) and that the sorted edge
weights (the finite deaths) agree (``max|Δ|`` covers them too). Without
quitefastmst installed its columns read ``-``. The low-dimensional rows (KD-tree
sizes) use standard Gaussian points (not unit-norm) and only quitefastmst runs
there: the other competitors are quadratic in memory. Above d = 20 quitefastmst
runs a parallel Prim with an OpenMP barrier per step: when another process holds
a core its time explodes (2-core machine, 2026-12-03, another session's tests
running, load average 2-3: 2048 x 64 took 16 s with its 2 default threads and
0.15 s with ``--qfm-threads 1``; ``python -m benchmarks.persistence --quick
[--qfm-threads 1]``), so on a shared machine run both and read the load average
printed at the start.

Inputs are unit-norm Gaussian points (seeded). Every competitor gets the same
array: ripser (maxdim=0), GUDHI's Rips complex (max_dimension=1, H0 only; it
builds every edge, so it is run up to ``--gudhi-max`` points), and scipy's
pdist + csgraph.minimum_spanning_tree. Times are wall-clock seconds: the best
of at least ``--repeat`` runs (more while under half a second in total), of two
runs when the best exceeds a second, of one when a run exceeds five seconds,
for sheaftopo and competitors alike; every competitor is called once on a small
cloud before the timings (imports, first-call setup).
Each row also checks that the deaths agree (max |difference|; ripser works in
float32). The first call, which compiles the numba kernels (or loads them from
numba's on-disk cache), is timed separately in fresh processes. The large cases
run in their own process so that their peak resident memory is their own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable

import numpy as np


def unit_gaussian(n: int, d: int, dtype=np.float64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def best_time(fn: Callable[[], object], repeat: int, budget: float = 0.5) -> tuple[float, object]:
    """Best wall time of at least ``repeat`` calls, more while under ``budget`` seconds
    in total (so that millisecond timings are not one noisy sample); once the best call
    is over one second, two calls suffice, and a call over five seconds is not repeated
    (one slow sample on a loaded machine is then not the whole figure)."""
    out = None
    best = np.inf
    spent = 0.0
    count = 0
    while count < repeat or (spent < budget and count < 2000):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = min(best, dt)
        spent += dt
        count += 1
        if dt > 5.0 or (best > 1.0 and count >= 2):
            break
    return best, out


def _finite(d: np.ndarray) -> np.ndarray:
    return np.sort(d[np.isfinite(d)])


def ours(X: np.ndarray) -> np.ndarray:
    from sheaftopo.persistence import h0_diagram

    return _finite(h0_diagram(X)[:, 1])


def ours_mst(X: np.ndarray):
    from sheaftopo.persistence import mst

    return mst(X)  # a SpanningForest: weights sorted by (weight, i, j), the method used


def have_quitefastmst() -> bool:
    try:
        import quitefastmst  # noqa: F401
    except ImportError:
        return False
    return True


def quitefastmst_mst(X: np.ndarray) -> np.ndarray:
    import quitefastmst

    return quitefastmst.mst_euclid(X)[0]  # the tree's weights, sorted


def ripser_h0(X: np.ndarray) -> np.ndarray:
    import ripser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dgm = ripser.ripser(X, maxdim=0)["dgms"][0]
    return _finite(dgm[:, 1])


def gudhi_h0(X: np.ndarray) -> np.ndarray:
    import gudhi

    st = gudhi.RipsComplex(points=X).create_simplex_tree(max_dimension=1)
    st.compute_persistence(min_persistence=-1.0, persistence_dim_max=True)
    return _finite(st.persistence_intervals_in_dimension(0)[:, 1])


def scipy_h0(X: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import pdist, squareform

    return np.sort(minimum_spanning_tree(squareform(pdist(X))).data)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    # ripser and dense csgraph drop zero-length bars; unit Gaussians have none
    if len(a) != len(b):
        return np.inf
    return float(np.abs(a - b).max()) if len(a) else 0.0


def first_call_times() -> dict[str, float]:
    """Seconds of the first h0_diagram call in fresh processes (cold and warm numba cache)."""
    code = (
        "import time, numpy as np; t=time.perf_counter(); import sheaftopo.persistence as p;"
        "X=np.random.default_rng(0).standard_normal((300, 20)); p.h0_diagram(X);"
        "p.h0_diagram(X.astype(np.float32)); print(time.perf_counter()-t)"
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold cache (compile)", "warm cache (load)"):
            r = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            out[label] = float(r.stdout.strip())
    return out


def gram_time(X: np.ndarray, repeat: int) -> float:
    return best_time(lambda: X @ X.T, repeat)[0]


def versus_quitefastmst(X: np.ndarray, repeat: int) -> dict:
    """Our ``mst`` and quitefastmst's ``mst_euclid`` on ``X``, one after the other,
    with the differences of their total weights and sorted weights."""
    t_ours, forest = best_time(lambda: ours_mst(X), repeat)
    t_qfm, w_qfm = best_time(lambda: quitefastmst_mst(X), repeat)
    w_ours = np.sort(np.asarray(forest.weights, dtype=np.float64))
    w_qfm = np.sort(np.asarray(w_qfm, dtype=np.float64))
    total = float(w_qfm.sum())
    return {
        "mst": t_ours,
        "qfm": t_qfm,
        "method": forest.method,
        "qfm_diff": _diff(w_ours, w_qfm),
        "qfm_total_rel": abs(float(w_ours.sum()) - total) / max(total, 1e-300),
    }


def run_table(sizes, dims, repeat: int, gudhi_max: int) -> list[dict]:
    rows = []
    # compile once before timing; import and call every competitor once
    ours(unit_gaussian(64, 8))
    ours(unit_gaussian(64, 8, np.float32))
    for warm in (ours_mst, ripser_h0, gudhi_h0, scipy_h0):
        warm(unit_gaussian(64, 8))
    if have_quitefastmst():
        quitefastmst_mst(unit_gaussian(64, 8))
    for n in sizes:
        for d in dims:
            X = unit_gaussian(n, d)
            row: dict = {"N": n, "d": d}
            row["ours"], ref = best_time(lambda X=X: ours(X), repeat)
            if have_quitefastmst():
                row.update(versus_quitefastmst(X, repeat))
            for name, fn, limit in (
                ("ripser", ripser_h0, None),
                ("gudhi", gudhi_h0, gudhi_max),
                ("scipy", scipy_h0, None),
            ):
                if limit is not None and n > limit:
                    row[name] = None
                    continue
                row[name], theirs = best_time(lambda fn=fn, X=X: fn(X), repeat)
                row[f"{name}_diff"] = _diff(ref, theirs)
            if n >= 8192 and d == 512:
                row["X@X.T"] = gram_time(X, repeat)
            rows.append(row)
            print(_format_row(row), flush=True)
    return rows


HEADER = (
    f"{'N':>6} {'d':>4} {'ours s':>9} {'mst s':>9} {'qfm s':>9} {'ripser s':>9} "
    f"{'gudhi s':>9} {'scipy s':>9} {'x qfm':>8} {'x ripser':>9} {'x gudhi':>8} {'x scipy':>8} "
    f"{'max|Δ|':>9} {'Δw qfm':>9}"
)


def _format_row(r: dict) -> str:
    def t(v):
        return f"{v:9.4f}" if v is not None else f"{'-':>9}"

    def ratio(name, base="ours"):
        v = r.get(name)
        return f"{v / r[base]:8.1f}x" if v is not None else f"{'-':>9}"

    diffs = [r[k] for k in ("ripser_diff", "gudhi_diff", "scipy_diff", "qfm_diff") if k in r]
    rel = r.get("qfm_total_rel")
    line = (
        f"{r['N']:6d} {r['d']:4d} {t(r['ours'])} {t(r.get('mst'))} {t(r.get('qfm'))} "
        f"{t(r.get('ripser'))} {t(r.get('gudhi'))} {t(r.get('scipy'))} "
        f"{ratio('qfm', 'mst')}{ratio('ripser')}{ratio('gudhi')}{ratio('scipy')} "
        f"{max(diffs):9.2e} {f'{rel:9.1e}' if rel is not None else f'{chr(45):>9}'}"
    )
    if "X@X.T" in r:
        line += f"   one X@X.T: {r['X@X.T']:.4f} s -> ours = {r['ours'] / r['X@X.T']:.2f}x of it"
    return line


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def busy_table(sizes, busy: int, repeat: int, low_dim: bool) -> None:
    """Our H0 on each row idle and with ``busy`` spinning processes: the contention column.

    Medians (a busy machine's best time hides the stalls a user sees), idle and
    busy timed back to back on the same arrays in this process.
    """
    from ._busy import busy_processes

    cases = [(unit_gaussian(n, d), n, d) for n in sizes for d in (64, 512)]
    if low_dim:
        rng = np.random.default_rng(0)
        cases += [(rng.standard_normal((n, d)), n, d) for n, d in LOW_DIM]
    idle = [median_time(lambda X=X: ours(X), repeat) for X, _, _ in cases]
    with busy_processes(busy):
        load = os.getloadavg()[0]
        loaded = [median_time(lambda X=X: ours(X), repeat) for X, _, _ in cases]
    print(f"\nsheaftopo h0_diagram with {busy} busy background processes (median of {repeat}; "
          f"load average {load:.2f} while busy)")
    print(f"{'N':>8} {'d':>4} {'idle s':>9} {'busy s':>9} {'busy/idle':>10}")
    for (_, n, d), a, b in zip(cases, idle, loaded, strict=True):
        print(f"{n:8d} {d:4d} {a:9.4f} {b:9.4f} {b / a:10.2f}")


LOW_DIM = ((100_000, 8), (200_000, 3))
LOW_DIM_LARGE = ((1_000_000, 3), (1_000_000, 8))


def run_low_dim(cases, repeat: int) -> list[dict]:
    """Our ``mst`` (the KD-tree at these sizes) vs quitefastmst on standard Gaussian
    points, one after the other in this process."""
    from sheaftopo.persistence import mst

    mst(np.random.default_rng(1).standard_normal((5000, 3)))  # compile / load the KD-tree
    quitefastmst_mst(np.random.default_rng(1).standard_normal((5000, 3)))
    rows = []
    for n, d in cases:
        X = np.random.default_rng(0).standard_normal((n, d))
        row = {"N": n, "d": d, **versus_quitefastmst(X, repeat)}
        rows.append(row)
        print(
            f"{n:8d} {d:3d} {row['mst']:9.3f} {row['qfm']:9.3f} "
            f"{row['qfm'] / row['mst']:8.2f}x {row['method']:>8s} "
            f"{row['qfm_total_rel']:9.1e} {row['qfm_diff']:9.2e}",
            flush=True,
        )
    return rows


def low_dim_table(large: bool, repeat: int) -> None:
    """The low-dimensional rows (``--large``: with 1,000,000 x 3 and x 8) vs quitefastmst."""
    if not have_quitefastmst():
        print("quitefastmst is not installed: no low-dimensional comparison")
        return
    cases = LOW_DIM + (LOW_DIM_LARGE if large else ())
    print("\nlow dimension: our mst vs quitefastmst.mst_euclid on standard Gaussian points")
    print(
        f"{'N':>8} {'d':>3} {'mst s':>9} {'qfm s':>9} {'x qfm':>9} {'method':>8} "
        f"{'Δw qfm':>9} {'max|Δ|':>9}"
    )
    run_low_dim(cases, repeat)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average at the end {load}")


LARGE = {
    "50000x768-float32": (50_000, 768, np.float32),
    "100000x8-float64": (100_000, 8, np.float64),
}


def threads_line() -> None:
    """Print the versions and thread counts the timings were taken with."""
    import numba

    line = f"numba {numba.__version__}: {numba.get_num_threads()} threads"
    if have_quitefastmst():
        from importlib.metadata import version

        import quitefastmst

        line += (
            f"; quitefastmst {version('quitefastmst')}: "
            f"{quitefastmst.omp_get_max_threads()} OpenMP threads"
        )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{line}; os.cpu_count() = {os.cpu_count()}; load average at start {load}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    Reads VmHWM (per address space, so it restarts at exec); ru_maxrss would
    also count a parent's peak, which Linux carries across fork and exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_large_case(name: str) -> dict:
    from sheaftopo.persistence import mst

    n, d, dtype = LARGE[name]
    mst(unit_gaussian(500, d, dtype), method="boruvka", memory_budget=200_000)
    mst(unit_gaussian(5000, d, dtype))
    if d <= 10:
        X = np.random.default_rng(0).standard_normal((n, d)).astype(dtype)
    else:
        X = unit_gaussian(n, d, dtype)
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    forest = mst(X)
    seconds = time.perf_counter() - t
    rss = peak_rss_mb()
    return {
        "case": name,
        "seconds": seconds,
        "method": forest.method,
        "peak_rss_mb": rss,
        "rss_before_mb": rss0,
        "input_mb": X.nbytes / 2**20,
        "total_weight": forest.total_weight,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.persistence",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="N in {256, 2048} only")
    ap.add_argument("--large", action="store_true", help="add 50k x 768 and 100k x 8")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--gudhi-max",
        type=int,
        default=2048,
        help="largest N given to GUDHI (it materialises all N^2/2 edges)",
    )
    ap.add_argument(
        "--kdtree-only",
        action="store_true",
        help="only the low-dimensional (KD-tree) rows vs quitefastmst (with --large: "
        "also 1,000,000 x 3 and x 8)",
    )
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        help="also time sheaftopo's h0_diagram on every row (not 1M) with this many "
        "background processes spinning on a core each, against the same rows without "
        "them (medians), and print busy / idle",
    )
    ap.add_argument("--large-case", choices=sorted(LARGE), help=argparse.SUPPRESS)
    ap.add_argument(
        "--qfm-threads",
        type=int,
        default=None,
        help="quitefastmst's OpenMP threads (default: its own, OMP_NUM_THREADS "
        "or the cores); on a loaded machine its per-step barriers stall",
    )
    args = ap.parse_args(argv)
    if args.qfm_threads is not None and have_quitefastmst():
        import quitefastmst

        quitefastmst.omp_set_num_threads(args.qfm_threads)
    if args.large_case:
        print(json.dumps(run_large_case(args.large_case)))
        return 0

    threads_line()
    if args.kdtree_only:
        low_dim_table(args.large, args.repeat)
        return 0
    print("first call in a fresh process (two clouds, float64 and float32):")
    for label, sec in first_call_times().items():
        print(f"  {label:22s} {sec:7.2f} s")
    sizes = (256, 2048) if args.quick else (256, 2048, 8192)
    print("\nH0 of unit-norm Gaussian points (seconds; 'x name' = name's time / ours)")
    print(HEADER)
    run_table(sizes, (64, 512), args.repeat, args.gudhi_max)
    if have_quitefastmst() and not args.quick:
        low_dim_table(args.large, args.repeat)
    if args.busy:
        busy_table(sizes, args.busy, args.repeat, low_dim=not args.quick)
    if args.large:
        print("\nlarge inputs (own process each; competitors are quadratic in memory and skipped)")
        for name in LARGE:
            r = subprocess.run(
                [sys.executable, "-m", "benchmarks.persistence", "--large-case", name],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(r.stdout.strip().splitlines()[-1])
            print(
                f"  {name:20s} {res['seconds']:7.2f} s  method={res['method']:8s} "
                f"peak RSS {res['peak_rss_mb']:7.0f} MB (input {res['input_mb']:.0f} MB)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
