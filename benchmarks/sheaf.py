"""Sheaf operators: sheaftopo's one-pass assembly vs a per-edge Python loop, and large solves.

    python -m benchmarks.sheaf            # 1,000,000 edges, 8-dim stalks; H^0 and spectrum at 100k
    python -m benchmarks.sheaf --quick    # 100,000 edges; solves at 10k vertices
    python -m benchmarks.sheaf --assembly-only --reference per-edge --loop-edges 1000000
                                          # the per-edge reference at full size (~100 s)

Assembly: a random simple graph (n = m / 10 vertices) with random 8 x 8
restriction maps. sheaftopo builds the coboundary δ (CSR) and the Laplacian
L = δᵀδ (CSR, block row by block row). The reference is what per-paper code
does: a Python loop over edges appending each block's COO triplets, then
``tocsr()`` and the scipy product δᵀδ, on the same sheaf; it is timed on up to
``--loop-edges`` edges and, if that is fewer than m, extrapolated linearly
(said in the output). Both results are compared entry by entry on a subset.

There are two references: a per-entry loop (one Python iteration per matrix
entry, as in Neural Sheaf Diffusion) and a per-edge loop (one Python iteration
per edge, numpy for that edge's blocks). Issue 3's ">= 100x" is measured
against the per-edge one, the faster of the two; both ratios are printed.
Linear extrapolation from 100,000 edges underestimates it: 56 + 11 s
extrapolated against 60-63 s + 16-19 s measured at full size (scipy's δᵀδ
and the COO conversion grow faster than linearly).

Memory note: on this project's VMs the first touch of memory the hypervisor
has not backed yet is slow (about 1-2.5 s per GB; memory freed for ~10 s goes
cold again). The "cold" time is the first assembly in the process and
includes that for the ~3 GB of output; the "warm" time is the best of three
more, each after dropping the previous result, so its memory is reused: what
repeated use sees.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def random_graph(n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, int(m * 1.3))
    v = rng.integers(0, n, int(m * 1.3))
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keys = np.unique(lo[lo < hi] * n + hi[lo < hi])
    keys = rng.permutation(keys)[:m]
    return np.stack([keys // n, keys % n], axis=1)


def loop_coboundary_entries(F) -> object:
    """Reference 1, the straightforward per-paper loop: one Python iteration per edge
    and per matrix entry, appending COO triplets (the pattern of Neural Sheaf
    Diffusion's ``compute_incidence_index``)."""
    import itertools

    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    vo, eo = F.vertex_offsets, F.edge_offsets
    for e in range(F.n_edges):
        u, v = (int(a) for a in F.edges[e])
        T, H = F.tail_map(e), F.head_map(e)
        for i, j in itertools.product(range(T.shape[0]), range(T.shape[1])):
            rows.append(eo[e] + i)
            cols.append(vo[u] + j)
            vals.append(-T[i, j])
        for i, j in itertools.product(range(H.shape[0]), range(H.shape[1])):
            rows.append(eo[e] + i)
            cols.append(vo[v] + j)
            vals.append(H[i, j])
    return sp.coo_array((vals, (rows, cols)), shape=(F.dim_c1, F.dim_c0)).tocsr()


def loop_coboundary_blocks(F) -> object:
    """Reference 2, a tidier loop: one Python iteration per edge, numpy for its blocks."""
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    vo, eo = F.vertex_offsets, F.edge_offsets
    for e in range(F.n_edges):
        u, v = F.edges[e]
        for sign, x, M in ((-1.0, u, F.tail_map(e)), (1.0, v, F.head_map(e))):
            r, c = np.meshgrid(np.arange(M.shape[0]), np.arange(M.shape[1]), indexing="ij")
            rows.append(eo[e] + r.ravel())
            cols.append(vo[x] + c.ravel())
            vals.append(sign * M.ravel())
    return sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(F.dim_c1, F.dim_c0),
    ).tocsr()


PER_EDGE = "per-edge loop, numpy blocks"
REFERENCES = {"per-entry loop (NSD-style)": loop_coboundary_entries,
              PER_EDGE: loop_coboundary_blocks}


def assembly(m: int, d: int, loop_edges: int, references: tuple[str, ...]) -> None:
    from sheaftopo.sheaf import CellularSheaf, coboundary, laplacian

    n = max(m // 10, 2)
    E = random_graph(n, m)
    small = CellularSheaf.random(E[:50], d, d, seed=0, n_vertices=n)
    coboundary(small)
    laplacian(small)
    # compile (or load from numba's cache) the kernel for these stalk dimensions now, so
    # that "cold" below measures memory, not compilation
    from sheaftopo.sheaf import _operators

    threshold, _operators.SPECIALIZE_NNZ = _operators.SPECIALIZE_NNZ, 0
    laplacian(CellularSheaf.random(E[:50], d, d, seed=1, n_vertices=n))
    _operators.SPECIALIZE_NNZ = threshold
    F = CellularSheaf.random(E, d, d, seed=0, n_vertices=n)
    times = {}
    delta = L = None
    for label in ("cold", "warm", "warm", "warm"):
        # drop the previous result first, so a warm run reuses its (already faulted-in) memory
        delta = L = None
        F.clear_cache()
        t = time.perf_counter()
        delta = coboundary(F)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        L = laplacian(F)
        t2 = time.perf_counter() - t
        times.setdefault(label, []).append((t1, t2))
        print(f"  sheaftopo ({label:4s}): coboundary {t1:6.2f} s, Laplacian {t2:6.2f} s, "
              f"total {t1 + t2:6.2f} s", flush=True)
    print(f"  sizes: δ {delta.shape} nnz {delta.nnz:,}; L {L.shape} nnz {L.nnz:,}")
    delta = L = None  # the references below need the memory at full size
    F.clear_cache()
    cold = sum(times["cold"][0])
    warm = min(t1 + t2 for t1, t2 in times["warm"])
    spread = max(t1 + t2 for t1, t2 in times["warm"]) - warm

    k = min(loop_edges, m)
    Fk = F if k == m else CellularSheaf.random(E[:k], d, d, seed=0, n_vertices=n)
    scale = m / k
    note = "" if k == m else f", timed on {k:,} edges and extrapolated x{scale:.0f}"
    refs = {}
    for name, build in REFERENCES.items():
        if name not in references:
            continue
        t = time.perf_counter()
        dk = build(Fk)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        Lk = (dk.T @ dk).tocsr()
        t2 = time.perf_counter() - t
        refs[name] = ref = (t1 + t2) * scale
        err = max(abs(coboundary(Fk) - dk).max(), abs(laplacian(Fk) - Lk).max())
        print(f"  {name}: coboundary {t1 * scale:7.2f} s + scipy δᵀδ {t2 * scale:6.2f} s"
              f"{note}; max |difference| from ours {err:.1e}; ours is "
              f"{ref / cold:6.1f}x (cold) / {ref / warm:6.1f}x (warm) faster", flush=True)
    if PER_EDGE not in refs:
        return
    ref = refs[PER_EDGE]
    print(f"  issue 3 targets: δ + L in <= 3 s: cold {cold:.2f} s, warm {warm:.2f} s (min of "
          f"{len(times['warm'])}, spread {spread:.2f} s); >= 100x faster than the per-edge loop "
          f"(numpy blocks, the faster reference): {ref / cold:.0f}x cold, {ref / warm:.0f}x warm")


def solves(n: int, m: int, d: int) -> None:
    from sheaftopo.sheaf import CellularSheaf, global_sections, laplacian, spectrum

    E = random_graph(n, m, seed=1)
    for name, F in (
        ("constant", CellularSheaf.constant(E, d, n_vertices=n)),
        ("random", CellularSheaf.random(E, d, d, seed=0, n_vertices=n)),
    ):
        laplacian(F)
        t = time.perf_counter()
        Q = global_sections(F)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        s = spectrum(F, 10)
        t2 = time.perf_counter() - t
        print(f"  {name:8s} dim C0 {F.dim_c0:,}: H^0 (dim {Q.shape[1]}) {t1:6.1f} s; "
              f"10 smallest eigenpairs {t2:6.1f} s (max residual {s.residuals.max():.1e}, "
              f"gap {s.spectral_gap if s.zero_count < 10 else float('nan'):.4f})", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sheaf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--loop-edges", type=int, default=100_000,
                    help="edges given to the per-edge reference loop (extrapolated beyond)")
    ap.add_argument("--assembly-only", action="store_true", help="skip the solves")
    ap.add_argument("--reference", choices=("both", "per-edge", "per-entry"), default="both",
                    help="which reference loops to time (per-edge alone fits in memory at "
                    "--loop-edges 1000000: about 3 GB of triplets; per-entry needs ~15 GB)")
    args = ap.parse_args(argv)
    m = 100_000 if args.quick else 1_000_000
    print(f"assembly: random graph, {m:,} edges, {m // 10:,} vertices, 8-dim stalks")
    names = list(REFERENCES)
    chosen = {"both": names, "per-entry": names[:1], "per-edge": names[1:]}[args.reference]
    assembly(m, 8, args.loop_edges, tuple(chosen))
    if args.assembly_only:
        return 0
    n = 10_000 if args.quick else 100_000
    print(f"\nsolves: random graph, {n:,} vertices, {10 * n:,} edges, 8-dim stalks "
          "(no dense matrix)")
    solves(n, 10 * n, 8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
