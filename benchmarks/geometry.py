"""Geometry: sheaftopo vs geomstats, pyRiemann and POT on the same inputs, in one process.

    python -m benchmarks.geometry                 # every section
    python -m benchmarks.geometry --quick         # fewer repeats, smaller OT problems
    python -m benchmarks.geometry --geomstats-python /path/to/python

Sections:

* ``spd``: distances between 500 pairs of 64 x 64 SPD matrices (eigenvalues
  log-uniform over four decades), all three metrics, against geomstats
  (``SPDMatrices(64).metric.dist`` for the affine-invariant metric and the
  ``SPDLogEuclideanMetric`` / ``SPDBuresWassersteinMetric`` classes) and
  pyRiemann (``distance_riemann`` / ``distance_logeuclid`` /
  ``distance_wasserstein``). geomstats 2.8 does not import with numpy >= 2.4:
  when it does not import here, pass ``--geomstats-python`` with an interpreter
  of an environment where it does (numpy < 2.4 and sheaftopo installed, e.g.
  ``pip install "numpy<2.4" geomstats pyriemann pot scikit-learn`` and
  ``pip install -e . --no-deps``); the ``spd`` section is then run by that
  interpreter, ours and geomstats in the same process, and its output shown
  here. The header of that section says which interpreter and numpy ran it.
* ``mean``: the affine-invariant Fréchet mean of 1,000 SPD 32 x 32 matrices
  against pyRiemann's ``mean_riemann``, both to a gradient norm of 1e-8
  (pyRiemann's criterion is the same Frobenius norm of the whitened mean
  logarithm), reporting iterations and the distance between the two means.
* ``ot``: the overhead of the OT wrappers over the POT calls a user would
  otherwise write on the same input (``ot.dist`` + ``ot.emd2``, ``ot.dist`` +
  ``ot.sinkhorn2(method="sinkhorn_log")``, ``ot.sliced_wasserstein_distance``),
  timed interleaved; plus the Sinkhorn divergence against POT's
  ``empirical_sinkhorn_divergence`` and the batched Gaussian W2 against POT's
  ``bures_wasserstein_distance`` (different algorithms, not overheads).

Times are wall-clock milliseconds, the best of ``--repeat`` runs
(``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def best_time(repeat: int, fn: Callable[..., object], *args, **kwargs) -> tuple[float, object]:
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return best, out


def interleaved(repeat: int, ours: Callable[[], object], theirs: Callable[[], object]):
    """Best times of two callables run alternately (so that machine noise hits both)."""
    t_o = t_t = math.inf
    out_o = out_t = None
    for _ in range(repeat):
        t = time.perf_counter()
        out_o = ours()
        t_o = min(t_o, time.perf_counter() - t)
        t = time.perf_counter()
        out_t = theirs()
        t_t = min(t_t, time.perf_counter() - t)
    return t_o, out_o, t_t, out_t


def random_spd(rng: np.random.Generator, n: int, batch: int, decades: float = 4.0) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((batch, n, n)))
    lam = 10.0 ** rng.uniform(-decades / 2, decades / 2, size=(batch, n))
    return (Q * lam[:, None, :]) @ np.swapaxes(Q, -1, -2)


def _row(what: str, t_o: float, t_t: float | None, diff: float | None, extra: str = "") -> str:
    if t_t is None:
        return f"  {what:<44} {1e3 * t_o:10.1f} {'':>10} {'':>9}  {'':>9}  {extra}"
    return (
        f"  {what:<44} {1e3 * t_o:10.1f} {1e3 * t_t:10.1f} {t_t / t_o:8.2f}x  {diff:9.1e}  {extra}"
    )


def _header(title: str = "") -> None:
    if title:
        print(title)
    print(
        f"  {'comparison':<44} {'ours ms':>10} {'theirs ms':>10} {'speed-up':>9}  {'max|diff|':>9}"
    )


def _import_geomstats():
    """geomstats' SPD module, or the reason it does not import."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from geomstats.geometry import spd_matrices
    except Exception as err:  # ImportError, or AttributeError from numpy >= 2.4
        return None, f"{type(err).__name__}: {err}"
    return spd_matrices, None


def spd_section(repeat: int, seed: int, geomstats_python: str | None, quick: bool) -> None:
    from sheaftopo.geometry import spd_distance

    gs, why = _import_geomstats()
    if gs is None and geomstats_python:
        cmd = [
            geomstats_python,
            "-m",
            "benchmarks.geometry",
            "--only",
            "spd",
            "--repeat",
            str(repeat),
            "--seed",
            str(seed),
        ]
        if quick:
            cmd.append("--quick")
        print(
            f"geomstats does not import here ({why}); running the spd section with "
            f"{geomstats_python}"
        )
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        print(out.stdout, end="")
        if out.returncode:
            print(out.stderr, file=sys.stderr)
        return

    import numpy

    print(
        f"SPD distances, 500 pairs of 64 x 64 matrices (python {sys.executable}, "
        f"numpy {numpy.__version__})"
    )
    if gs is None:
        print(f"  geomstats: not importable here ({why}); pass --geomstats-python")
    rng = np.random.default_rng([seed, 64])
    P, Q = random_spd(rng, 64, 500), random_spd(rng, 64, 500)
    _header()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from pyriemann.geometry import distance as pr
    except ImportError:
        pr = None
    refs = {
        "affine": ("distance_riemann", "SPDAffineMetric"),
        "log_euclidean": ("distance_logeuclid", "SPDLogEuclideanMetric"),
        "bures": ("distance_wasserstein", "SPDBuresWassersteinMetric"),
    }
    for metric, (pr_name, gs_name) in refs.items():
        if gs is not None:
            gs_metric = getattr(gs, gs_name)(gs.SPDMatrices(64, equip=False))
            t_o, d_o, t_g, d_g = interleaved(
                repeat,
                lambda m=metric: spd_distance(P, Q, metric=m),
                lambda g=gs_metric: g.dist(P, Q),
            )
            diff = float(np.abs(d_o - d_g).max())
            print(_row(f"{metric}: geomstats {gs_name}", t_o, t_g, diff))
        if pr is not None:
            pr_fn = getattr(pr, pr_name)
            t_o, d_o, t_p, d_p = interleaved(
                repeat,
                lambda m=metric: spd_distance(P, Q, metric=m),
                lambda f=pr_fn: f(P, Q),
            )
            diff = float(np.abs(d_o - d_p).max())
            print(_row(f"{metric}: pyRiemann {pr_name}", t_o, t_p, diff))


def mean_section(repeat: int, seed: int) -> None:
    from sheaftopo.geometry import spd_distance, spd_mean

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyriemann.geometry.mean import mean_riemann
    rng = np.random.default_rng([seed, 32])
    A = rng.standard_normal((1000, 32, 32))
    P = A @ np.swapaxes(A, -1, -2) / 32 + 0.1 * np.eye(32)
    print()
    print("Affine-invariant Fréchet mean of 1,000 SPD 32 x 32 matrices, tol 1e-8")
    _header()
    t_o, res, t_p, M_p = interleaved(
        repeat, lambda: spd_mean(P, tol=1e-8), lambda: mean_riemann(P, tol=1e-8)
    )
    dist = float(spd_distance(res.mean, M_p))
    extra = (
        f"ours {res.n_iter} iterations, gradient {res.gradient_norm:.1e}; "
        f"d_AI(ours, pyRiemann) = {dist:.1e}"
    )
    print(_row("spd_mean vs pyRiemann mean_riemann", t_o, t_p, dist, extra))


def ot_section(repeat: int, seed: int, quick: bool) -> None:
    import ot

    from sheaftopo.geometry import (
        entropic_transport,
        exact_transport,
        gaussian_wasserstein,
        sinkhorn_divergence,
        sliced_transport,
    )

    print()
    print("OT wrappers vs the POT calls they make (same input; overhead = ours / POT - 1)")
    print(f"  {'comparison':<44} {'ours ms':>10} {'POT ms':>10} {'overhead':>9}  {'|diff|':>9}")

    def over(what: str, t_o: float, t_t: float, diff: float, extra: str = "") -> None:
        print(
            f"  {what:<44} {1e3 * t_o:10.1f} {1e3 * t_t:10.1f} {100 * (t_o / t_t - 1):8.1f}%  "
            f"{diff:9.1e}  {extra}"
        )

    rng = np.random.default_rng([seed, 7])
    n = 300 if quick else 1000
    X, Y = rng.standard_normal((n, 16)), rng.standard_normal((n, 16)) + 0.3
    a = np.full(n, 1.0 / n)
    it = 10_000_000

    t_o, r_o, t_t, r_t = interleaved(
        repeat,
        lambda: exact_transport(X, Y, max_iter=it),
        lambda: ot.emd2(a, a, ot.dist(X, Y), numItermax=it),
    )
    over(f"exact, n = m = {n}, d = 16 (ot.dist + emd2)", t_o, t_t, abs(r_o.cost - float(r_t)))

    reg = 2.0  # about 6 % of the mean cost (16-dim Gaussians): a few dozen iterations
    t_o, r_o, t_t, r_t = interleaved(
        repeat,
        lambda: entropic_transport(X, Y, reg=reg),
        lambda: ot.sinkhorn2(
            a, a, ot.dist(X, Y), reg, method="sinkhorn_log", stopThr=1e-9, numItermax=10_000
        ),
    )
    over(
        f"entropic reg={reg}, n = m = {n} (sinkhorn2 log)",
        t_o,
        t_t,
        abs(r_o.linear_cost - float(r_t)),
        f"{r_o.n_iter} iterations",
    )

    ns = 2000 if quick else 10_000
    Xs, Ys = rng.standard_normal((ns, 64)), rng.standard_normal((ns, 64)) + 0.1
    t_o, r_o, t_t, r_t = interleaved(
        repeat,
        lambda: sliced_transport(Xs, Ys, n_projections=50, seed=0),
        lambda: ot.sliced_wasserstein_distance(Xs, Ys, n_projections=50, seed=0),
    )
    over(
        f"sliced, n = m = {ns}, d = 64, 50 directions",
        t_o,
        t_t,
        abs(math.sqrt(r_o.cost) - float(r_t)),
        "(different random directions)",
    )

    print()
    print("Different algorithms on the same input (not overheads)")
    print(f"  {'comparison':<44} {'ours ms':>10} {'POT ms':>10} {'speed-up':>9}  {'|diff|':>9}")
    m = 200 if quick else 300
    Xd, Yd = rng.standard_normal((m, 2)), rng.standard_normal((m, 2)) + 0.5
    reg = 0.5
    t_o, r_o, t_t, r_t = interleaved(
        max(1, repeat // 3),
        lambda: sinkhorn_divergence(Xd, Yd, reg=reg),
        lambda: ot.bregman.empirical_sinkhorn_divergence(
            Xd, Yd, reg, method="sinkhorn_log", stopThr=1e-9, numIterMax=10_000
        ),
    )
    print(
        _row(
            f"Sinkhorn divergence reg={reg}, n = {m}, d = 2",
            t_o,
            t_t,
            abs(r_o.linear_cost - float(r_t)),
            f"ours {r_o.n_iter} iterations, converged={r_o.converged}; POT: alternating "
            "Sinkhorn on the self-terms",
        )
    )
    B, d = 1000, 16
    ms, mt = rng.standard_normal((B, d)), rng.standard_normal((B, d))
    Cs, Ct = random_spd(rng, d, B, 2.0), random_spd(rng, d, B, 2.0)
    t_o, w_o, t_t, w_t = interleaved(
        repeat,
        lambda: gaussian_wasserstein(ms, Cs, mt, Ct),
        lambda: ot.gaussian.bures_wasserstein_distance(ms, mt, Cs, Ct, paired=True),
    )
    print(_row(f"Gaussian W2, {B} pairs, d = {d}", t_o, t_t, float(np.abs(w_o - w_t).max())))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats, smaller OT problems")
    parser.add_argument("--repeat", type=int, default=None, help="repeats (default 7, quick 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("spd", "mean", "ot"), default=None)
    parser.add_argument(
        "--geomstats-python",
        default=os.environ.get("SHEAFTOPO_GEOMSTATS_PYTHON"),
        help="interpreter of an environment where geomstats imports "
        "(default: $SHEAFTOPO_GEOMSTATS_PYTHON)",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 7)
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; numpy {np.__version__}")
    if args.only in (None, "spd"):
        spd_section(repeat, args.seed, args.geomstats_python, args.quick)
    if args.only in (None, "mean"):
        mean_section(max(1, repeat // 2), args.seed)
    if args.only in (None, "ot"):
        ot_section(repeat, args.seed, args.quick)


if __name__ == "__main__":
    main()
