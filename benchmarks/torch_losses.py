"""Per-step cost of ToMCLIP's loss: sheaftopo.torch vs ToMCLIP's published recipe.

    python -m benchmarks.torch_losses            # batch 256 x 512, float32, CPU
    python -m benchmarks.torch_losses --quick    # fewer repetitions
    python -m benchmarks.torch_losses --batch 512 --dim 768 --device cuda

One training step's loss overhead: forward + backward of the full ToMCLIP
loss (MSE + 0.01 distance-matrix term + 0.01 SW(H0) + 0.01 SW(H1), λ = 0.5,
50 projections) on a student batch that requires gradients and a fixed
teacher batch. The encoders are not part of it.

Competitors, written here from ToMCLIP's description and released code (same
quantities, same defaults):

* ``recipe``: ``torch.cdist``; threshold mean - λ std over all n² entries and
  division by the largest kept distance; ``scipy.sparse.csgraph.
  minimum_spanning_tree`` on the upper triangle of the detached matrix; the
  persistence pairs gathered from the distance matrix with index tensors;
  POT's ``ot.sliced_wasserstein_distance`` (50 projections) on the diagrams.
* ``released``: the same, but building the diagrams as the released code
  does, one Python-level tensor assignment per edge (thousands of H1 edges
  per batch at λ = 0.5), which is what users of that code pay.

sheaftopo's terms are checked against the recipe's values with the same
directions (they agree to float32 rounding), then timed with its defaults.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (numba compilation, allocator)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def recipe_terms(zs, zt, *, lam=0.5, k=50, loop=False, projections=None,
                 parts=("mse", "dm", "h0", "h1")):
    """ToMCLIP's published loss, built from torch.cdist + scipy MST + POT SW."""
    import ot
    import scipy.sparse as ssp
    import torch
    import torch.nn.functional as F
    from scipy.sparse.csgraph import minimum_spanning_tree

    def distmat(z):
        D = torch.cdist(z, z)
        threshold = D.mean() - lam * D.std()
        D = D.masked_fill(D > threshold, 0.0)
        return D / (D.max() + 1e-8)

    def diagrams(D):
        Dn = D.detach().cpu().numpy()
        upper = ssp.triu(ssp.csr_matrix(Dn), k=1)
        tree = minimum_spanning_tree(upper).tocoo()
        t_rows, t_cols = tree.row, tree.col
        g = upper.tocoo()
        key_tree = set(zip(t_rows.tolist(), t_cols.tolist(), strict=True))
        cyc = [(i, j) for i, j in zip(g.row.tolist(), g.col.tolist(), strict=True)
               if (i, j) not in key_tree]
        if loop:
            pd0 = torch.zeros((len(t_rows), 2), dtype=D.dtype)
            for e, (i, j) in enumerate(zip(t_rows.tolist(), t_cols.tolist(), strict=True)):
                pd0[e, 1] = D[i, j]
            pd1 = torch.zeros((len(cyc), 2), dtype=D.dtype)
            for e, (i, j) in enumerate(cyc):
                pd1[e, 0] = D[i, j]
        else:
            ti = torch.as_tensor(t_rows.astype(np.int64))
            tj = torch.as_tensor(t_cols.astype(np.int64))
            pd0 = torch.stack([torch.zeros(len(ti), dtype=D.dtype), D[ti, tj]], 1)
            c = torch.as_tensor(np.array(cyc, dtype=np.int64).reshape(-1, 2))
            b = D[c[:, 0], c[:, 1]]
            pd1 = torch.stack([b, torch.zeros_like(b)], 1)
        return pd0, pd1

    Ds, Dt = distmat(zs), distmat(zt)
    zero = zs.sum() * 0.0
    mse = F.mse_loss(zs, zt) if "mse" in parts else zero
    dm = F.mse_loss(Ds, Dt) if "dm" in parts else zero
    (s0, s1), (t0, t1) = diagrams(Ds), diagrams(Dt)
    kw = {"projections": projections} if projections is not None else {"n_projections": k}
    h0 = ot.sliced_wasserstein_distance(s0, t0, **kw) if "h0" in parts else zero
    h1 = ot.sliced_wasserstein_distance(s1, t1, **kw) if "h1" in parts else zero
    if parts == ("h0",):
        return h0, (mse, dm, h0, h1)
    return mse + 0.01 * (dm + h0 + h1), (mse, dm, h0, h1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.torch_losses", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--stack", type=int, default=16,
                    help="B of the stacked (B, n, d) row (0: skip it)")
    ap.add_argument("--torch-threads", type=int, default=None,
                    help="torch.set_num_threads before timing (default: torch's own)")
    args = ap.parse_args(argv)

    import torch

    from sheaftopo.torch import tomclip_loss_terms, topological_alignment_loss

    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    dtype = getattr(torch, args.dtype)
    g = torch.Generator().manual_seed(0)
    teacher = torch.nn.functional.normalize(torch.randn(args.batch, args.dim, generator=g), dim=1)
    student = teacher + 0.3 * torch.randn(args.batch, args.dim, generator=g) / args.dim ** 0.5
    teacher = teacher.to(args.device, dtype)
    student = student.to(args.device, dtype)
    repeat = 5 if args.quick else 30

    # same quantities: compare with the recipe's values at our evenly spaced directions
    theta = -np.pi / 2 + np.pi * np.arange(50) / 50
    proj = torch.tensor(np.stack([np.cos(theta), np.sin(theta)]), dtype=dtype)
    ours = tomclip_loss_terms(student.cpu(), teacher.cpu())
    _, ref = recipe_terms(student.cpu(), teacher.cpu(), projections=proj)
    print(f"ToMCLIP loss, batch {args.batch} x {args.dim}, {args.dtype}, {args.device}")
    print("  agreement with the recipe (same directions):")
    for name, a, b in zip(("mse", "distance", "h0", "h1"),
                          (ours.mse, ours.distance, ours.h0, ours.h1), ref, strict=True):
        print(f"    {name:9s} sheaftopo {float(a):.6e}   recipe {float(b):.6e}   "
              f"rel. diff {abs(float(a) - float(b)) / max(abs(float(b)), 1e-30):.1e}")

    def step(fn):
        def run():
            x = student.detach().clone().requires_grad_(True)
            loss = fn(x)
            loss.backward()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
        return run

    def floor(x):
        # the work no loss on both batches' distance matrices can avoid
        return torch.cdist(x, x).sum() + torch.cdist(teacher, teacher).sum()

    term = {"convention": "tomclip", "kind": "point_cloud"}  # the recipe's H0 quantity
    rows = [
        ("floor: cdist fwd+bwd, both batches", step(floor)),
        ("H0 term, sheaftopo (recipe's settings)",
         step(lambda x: topological_alignment_loss(x, teacher, **term))),
        ("H0 term, sheaftopo (defaults)", step(lambda x: topological_alignment_loss(x, teacher))),
        ("H0 term, recipe", step(lambda x: recipe_terms(x, teacher, parts=("h0",))[0])),
        ("full loss, sheaftopo", step(lambda x: tomclip_loss_terms(x, teacher).total)),
        ("full loss, recipe (vectorised gather)", step(lambda x: recipe_terms(x, teacher)[0])),
    ]
    if args.device == "cpu" and not args.quick:
        rows.append(("full loss, released (per-edge loop)",
                     step(lambda x: recipe_terms(x, teacher, loop=True)[0])))
    times = {name: best_time(fn, repeat if "loop" not in name else 1) for name, fn in rows}
    base = times["floor: cdist fwd+bwd, both batches"]
    print(f"  forward + backward, best of {repeat} (torch threads {torch.get_num_threads()}):")
    for name, t in times.items():
        print(f"    {name:40s} {t * 1e3:9.2f} ms   {t / base:6.2f}x the floor")
    ours_term = times["H0 term, sheaftopo (recipe's settings)"]
    ours_full = times["full loss, sheaftopo"]
    print("  ratios (issue 17 targets):")
    print(f"    H0 term / floor                 {ours_term / base:6.2f}   (target <= 2)")
    print(f"    recipe H0 term / ours           "
          f"{times['H0 term, recipe'] / ours_term:6.2f}   (target >= 4)")
    print(f"    full loss / floor               {ours_full / base:6.2f}   (target <= 3)")
    print(f"    recipe full loss / ours         "
          f"{times['full loss, recipe (vectorised gather)'] / ours_full:6.2f}")
    stacked(args, student, teacher, step, repeat)
    return 0


def stacked(args, student, teacher, step, repeat):
    """A stack of B batches in one call against B calls, per batch (the amortised selection)."""
    import torch

    from sheaftopo.torch import topological_alignment_loss

    B = args.stack
    if B < 2:
        return
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(B, *student.shape, generator=g).to(student.device, student.dtype)
    zt = teacher.expand(B, -1, -1) + 0.01 * noise
    zs = student.expand(B, -1, -1) + 0.01 * noise.flip(0)
    one = step(lambda x: topological_alignment_loss(zs, zt).sum() + 0 * x.sum())
    loop = step(lambda x: sum(topological_alignment_loss(zs[b], zt[b]) for b in range(B))
                + 0 * x.sum())
    t_one, t_loop = best_time(one, max(2, repeat // 3)), best_time(loop, max(2, repeat // 3))
    print(f"  H0 term on a stack of {B} batches (defaults), forward + backward:")
    print(f"    one call with (B, n, d)          {t_one * 1e3:9.2f} ms   "
          f"{t_one / B * 1e3:7.2f} ms per batch")
    print(f"    {B} calls with (n, d)              {t_loop * 1e3:9.2f} ms   "
          f"{t_loop / B * 1e3:7.2f} ms per batch   ({t_loop / t_one:4.2f}x the stacked call)")


if __name__ == "__main__":
    raise SystemExit(main())
