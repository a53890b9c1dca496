"""Diagram distances: sheaftopo vs persim, GUDHI and POT on the same diagrams, in one process.

    python -m benchmarks.diagram_distances            # sizes 256, 2048, 8192
    python -m benchmarks.diagram_distances --quick    # sizes 256, 2048, fewer repeats

Diagrams are random and seeded, of two shapes: "H0-like" (every birth 0,
deaths exponential, as for the finite part of a Vietoris–Rips H0 diagram) and
"H1-like" (births uniform in [0.2, 1], lifetimes exponential with mean 0.1).
Each row compares one pair of diagrams of the given size:

* ``persim``: ``persim.sliced_wasserstein(D1, D2, M=50)`` against ours with
  ``n_directions=50`` (persim's angles pi/2 + k pi/M give the same lines as
  ours, -pi/2 + k pi/M);
* ``gudhi``: ``gudhi.representations.metrics._sliced_wasserstein_distance(D1,
  D2, 50)``, which uses 49 directions, against ours with ``directions=`` set to
  those 49 angles;
* ``POT``: ``ot.sliced_wasserstein_distance(D1, D2, projections=P, p=2)``
  against ours with ``kind="point_cloud"`` and the same 50 directions.

A second table times the exact distances (bottleneck, 2-Wasserstein) against
GUDHI's functions on smaller diagrams, and reports how far GUDHI's values are
from ours (see the docstrings of ``bottleneck`` and ``wasserstein`` for the
cases where GUDHI 3.13 is wrong).

Times are wall-clock milliseconds, best of ``--repeat`` (time.perf_counter);
a competitor slower than a second is run once, and persim is skipped where its
time, extrapolated from the previous size, would exceed ``--persim-limit``
seconds.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import numpy as np

M_DIRECTIONS = 50


def h0_like(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.column_stack([np.zeros(n), np.sort(rng.exponential(1.0, n))])


def h1_like(rng: np.random.Generator, n: int) -> np.ndarray:
    b = rng.uniform(0.2, 1.0, n)
    return np.column_stack([b, b + rng.exponential(0.1, n)])


SHAPES: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "H0-like": h0_like,
    "H1-like": h1_like,
}


def best_time(repeat: int, fn: Callable[..., object], *args, **kwargs) -> tuple[float, object]:
    """Best wall-clock time of ``fn(*args, **kwargs)`` over ``repeat`` runs (one if > 1 s)."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
        if best > 1.0:
            break
    return best, out


def _fmt_ms(t: float | None) -> str:
    return "skipped" if t is None else f"{1e3 * t:10.2f}"


def _row(size, shape, what, t_ours, t_theirs, v_ours, v_theirs) -> str:
    if t_theirs is None:
        speed, diff = "", ""
    else:
        speed = f"{t_theirs / t_ours:8.1f}x"
        diff = f"{abs(v_ours - v_theirs):.2e}"
    return (
        f"{size:>6}  {shape:<8} {what:<26} {_fmt_ms(t_ours):>10} "
        f"{_fmt_ms(t_theirs):>10} {speed:>9}  {diff:>9}"
    )


def sliced_table(sizes: list[int], repeat: int, persim_limit: float, seed: int) -> None:
    from sheaftopo.persistence import sliced_wasserstein

    try:
        import persim
    except ImportError:  # pragma: no cover - optional oracle
        persim = None
    import ot
    from gudhi.representations.metrics import _sliced_wasserstein_distance

    grid = -np.pi / 2 + np.pi * np.arange(M_DIRECTIONS) / M_DIRECTIONS
    gudhi_angles = np.linspace(-np.pi / 2, np.pi / 2, num=M_DIRECTIONS, endpoint=False)[:-1]
    P = np.stack([np.cos(grid), np.sin(grid)])

    print(f"Sliced Wasserstein, M = {M_DIRECTIONS} directions (times in ms)")
    print(
        f"{'size':>6}  {'shape':<8} {'comparison':<26} {'ours':>10} {'theirs':>10} "
        f"{'speed-up':>9}  {'|diff|':>9}"
    )
    last_persim: dict[str, tuple[int, float]] = {}
    for n in sizes:
        for shape, make in SHAPES.items():
            rng = np.random.default_rng([seed, n, len(shape)])
            D1, D2 = make(rng, n), make(rng, n)

            t_o, v_o = best_time(repeat, sliced_wasserstein, D1, D2, n_directions=M_DIRECTIONS)
            if persim is None:
                print(_row(n, shape, "vs persim (not installed)", t_o, None, v_o, None))
            else:
                prev = last_persim.get(shape)
                estimate = 0.0
                if prev is not None:  # n log n from the previous size
                    estimate = prev[1] * n * math.log(n) / (prev[0] * math.log(prev[0]))
                if estimate > persim_limit:
                    print(_row(n, shape, f"vs persim (~{estimate:.0f} s)", t_o, None, v_o, None))
                else:
                    runs = 1 if estimate > 1.0 else max(1, repeat // 2)
                    t_p, v_p = best_time(runs, persim.sliced_wasserstein, D1, D2, M=M_DIRECTIONS)
                    last_persim[shape] = (n, t_p)
                    print(_row(n, shape, "vs persim", t_o, t_p, v_o, float(v_p)))

            t_o, v_o = best_time(repeat, sliced_wasserstein, D1, D2, directions=gudhi_angles)
            t_g, v_g = best_time(repeat, _sliced_wasserstein_distance, D1, D2, M_DIRECTIONS)
            print(_row(n, shape, "vs GUDHI (its 49 dirs)", t_o, t_g, v_o, float(v_g)))

            t_o, v_o = best_time(
                repeat, sliced_wasserstein, D1, D2, directions=grid, kind="point_cloud"
            )
            t_t, v_t = best_time(repeat, ot.sliced_wasserstein_distance, D1, D2, projections=P)
            print(_row(n, shape, "point_cloud vs POT", t_o, t_t, v_o, float(v_t)))


def exact_table(sizes: list[int], repeat: int, seed: int) -> None:
    import gudhi
    from gudhi.wasserstein import wasserstein_distance

    from sheaftopo.persistence import bottleneck, wasserstein

    print()
    print("Exact distances vs GUDHI (times in ms; ours: Hera bottleneck, POT with a capped cost)")
    print(
        f"{'size':>6}  {'shape':<8} {'comparison':<26} {'ours':>10} {'theirs':>10} "
        f"{'speed-up':>9}  {'|diff|':>9}"
    )
    for n in sizes:
        for shape, make in SHAPES.items():
            rng = np.random.default_rng([seed, n, len(shape), 1])
            D1, D2 = make(rng, n), make(rng, n)
            t_o, v_o = best_time(repeat, bottleneck, D1, D2)
            t_g, v_g = best_time(repeat, gudhi.bottleneck_distance, D1, D2, 0)
            print(_row(n, shape, "bottleneck vs GUDHI e=0", t_o, t_g, v_o, float(v_g)))
            t_g, v_g = best_time(repeat, gudhi.bottleneck_distance, D1, D2)
            print(_row(n, shape, "bottleneck vs GUDHI e=None", t_o, t_g, v_o, float(v_g)))
            t_o, v_o = best_time(repeat, wasserstein, D1, D2, p=2.0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_g, v_g = best_time(repeat, wasserstein_distance, D1, D2, order=2.0)
            print(_row(n, shape, "W2 vs GUDHI (POT)", t_o, t_g, v_o, float(v_g)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 256 and 2048, 3 repeats")
    parser.add_argument("--repeat", type=int, default=None, help="repeats (default 7, quick 3)")
    parser.add_argument("--persim-limit", type=float, default=20.0,
                        help="skip persim when its extrapolated time exceeds this (s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sizes = [256, 2048] if args.quick else [256, 2048, 8192]
    exact_sizes = [256] if args.quick else [256, 1024]
    repeat = args.repeat or (3 if args.quick else 7)
    sliced_table(sizes, repeat, args.persim_limit, args.seed)
    exact_table(exact_sizes, max(1, repeat // 2), args.seed)


if __name__ == "__main__":
    main()
