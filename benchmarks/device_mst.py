"""Minimum spanning trees of dense matrices: torch Borůvka on the device vs numba Prim.

    python -m benchmarks.device_mst                  # CPU tensors
    python -m benchmarks.device_mst --threads 1      # torch and numba on one thread
    python -m benchmarks.device_mst --device cuda    # the device path vs a host copy + Prim

``sheaftopo.torch._device_mst.dense_mst_edges`` (Borůvka rounds in torch, the
selection of the torch losses off the CPU) against ``dense_mst`` in a loop and
``dense_mst_batch`` (numba Prim, in parallel over the stack) on the same
float64 Euclidean distance matrices of Gaussian points in 16-D. On a CUDA
device the numba competitors include the copy of the matrices to the host,
which is what the device path saves. Every tree is checked equal to Prim's.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np


def best_ms(fn: Callable[[], object], repeat: int, sync: Callable[[], None]) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.device_mst", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads and numba.set_num_threads before timing")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    import numba
    import torch
    from scipy.spatial.distance import cdist

    from sheaftopo._core.mst import dense_mst, dense_mst_batch
    from sheaftopo.torch._device_mst import dense_mst_edges

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"load {os.getloadavg()[0]:.2f}, device {dev}, torch threads "
          f"{torch.get_num_threads()}, numba threads {numba.get_num_threads()}, "
          f"torch {torch.__version__}, numba {numba.__version__}")
    rng = np.random.default_rng(0)
    for B, n in ((1, 256), (16, 256), (1, 2048)):
        X = rng.standard_normal((B, n, 16))
        D = np.stack([cdist(x, x) for x in X])
        D = 0.5 * (D + D.transpose(0, 2, 1))
        T = torch.from_numpy(D).to(dev)
        ref = np.stack([dense_mst(M).edges for M in D])
        if not (dense_mst_edges(T).cpu().numpy() == ref).all():
            raise AssertionError("dense_mst_edges and dense Prim chose different trees")
        if not (dense_mst_batch(D) == ref).all():
            raise AssertionError("dense_mst_batch and dense Prim chose different trees")
        ours = best_ms(lambda T=T: dense_mst_edges(T), args.repeat, sync)
        loop = best_ms(lambda T=T: [dense_mst(M).edges for M in T.cpu().numpy()], args.repeat,
                       sync)
        batch = best_ms(lambda T=T: dense_mst_batch(T.cpu().numpy()), args.repeat, sync)
        print(f"  {B:2d} x {n} x {n}: dense_mst_edges {ours:8.2f} ms | dense_mst loop "
              f"{loop:8.2f} ms ({loop / ours:5.2f}x) | dense_mst_batch {batch:8.2f} ms "
              f"({batch / ours:5.2f}x)")
    print(f"load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
