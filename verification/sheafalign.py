"""Checks of SheafAlign's theorems (theory/sheafalign-*.md).

``sheafalign-missing-modality`` and ``sheafalign-single-space`` need numpy only;
``sheafalign-decentralized-gradient`` is registered when PyTorch imports.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from ._registry import register_legacy as register

try:
    import torch
except ImportError:  # pragma: no cover - the gradient check needs the torch extra
    torch = None


def _random_graph(rng: np.random.Generator, n: int) -> list[list[int]]:
    """A random connected simple graph: a random spanning tree plus random extra edges."""
    order = rng.permutation(n)
    edges = {tuple(sorted((int(order[k]), int(order[rng.integers(0, k)])))) for k in range(1, n)}
    for u, v in itertools.combinations(range(n), 2):
        if rng.random() < 0.3:
            edges.add((u, v))
    return [list(e) for e in sorted(edges)]


def _decentralized_gradient(rng: np.random.Generator, count: int) -> Iterator[tuple[str, float]]:
    from sheaftopo.torch.sheafalign import SheafAlign

    for i in range(count):
        n = int(rng.integers(2, 6))
        edges = _random_graph(rng, n)
        d_in = [int(x) for x in rng.integers(2, 7, n)]
        d = [int(x) for x in rng.integers(2, 7, n)]
        d_e = [int(rng.integers(1, min(d[u], d[v]) + 1)) for u, v in edges]
        N = int(rng.integers(4, 24))
        beta, gamma = (1.0, 0.1) if i % 3 else (float(rng.uniform(0, 2)), float(rng.uniform(0, 1)))
        model = SheafAlign(
            d_in,
            edges,
            embed_dim=d,
            edge_dim=d_e,
            hidden=int(rng.integers(2, 9)),
            normalize=bool(i % 2),
            beta=beta,
            gamma=gamma,
            lam=float(rng.uniform(0.1, 2)),
            seed=int(rng.integers(0, 2**31)),
        )
        model = model.double()
        X = [torch.tensor(rng.standard_normal((N, k)) * rng.uniform(0.1, 10)) for k in d_in]
        model.zero_grad(set_to_none=True)
        model.loss_terms(X).total.backward()
        central = [
            p.grad.clone() if p.grad is not None else torch.zeros_like(p)
            for p in model.parameters()
        ]
        # every node: its own local objective, the neighbours' projections as constants
        with torch.no_grad():
            sent = {}
            for k, node in enumerate(model.nodes):
                h = node.embed(X[k])
                for info in node.incident:
                    sent[(k, info.edge)] = node.project(info.edge, h)
        model.zero_grad(set_to_none=True)
        for k, node in enumerate(model.nodes):
            h = node.embed(X[k])
            mine = {info.edge: node.project(info.edge, h) for info in node.incident}
            got = {info.edge: sent[(info.other, info.edge)] for info in node.incident}
            node.local_loss(h, mine, got)[0].backward()
        local = [p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
        err = max(float((a - b).abs().max()) for a, b in zip(central, local, strict=True))
        scale = max(max(float(a.abs().max()) for a in central), 1e-300)
        yield f"n={n} m={len(edges)} N={N} beta={beta:.2f} gamma={gamma:.2f}", err / scale


def _missing_modality(rng: np.random.Generator, count: int) -> Iterator[tuple[str, float]]:
    for i in range(count):
        N = int(rng.integers(2, 200))
        d_j = int(rng.integers(1, 9))
        n_src = int(rng.integers(1, 5))
        h_j = rng.standard_normal((N, d_j)) * rng.uniform(0.1, 10)
        family = i % 3
        bounds, ests = [], []
        for _ in range(n_src):
            d_i = int(rng.integers(1, 9))
            d_e = int(rng.integers(1, 9))
            P_j = rng.standard_normal((d_e, d_j))
            if family == 0:  # arbitrary maps and data
                h_i = rng.standard_normal((N, d_i)) * rng.uniform(0.1, 10)
                P_i = rng.standard_normal((d_e, d_i))
                Q_j = rng.standard_normal((d_j, d_e))
            else:  # a consistent edge: P_i h_i = P_j h_j exactly (d_i >= d_e, P_i onto)
                d_i = max(d_i, d_e)
                P_i = rng.standard_normal((d_e, d_i))
                h_i = (np.linalg.pinv(P_i) @ (P_j @ h_j.T)).T
                # family 1: Q_j = least-squares reconstruction (the optimal dual map)
                Q_j = (
                    np.linalg.lstsq(h_j @ P_j.T, h_j, rcond=None)[0].T
                    if family == 1
                    else rng.standard_normal((d_j, d_e))
                )
            est = h_i @ P_i.T @ Q_j.T
            cons = np.mean(np.sum((h_i @ P_i.T - h_j @ P_j.T) ** 2, axis=1))
            rec = np.mean(np.sum((h_j @ P_j.T @ Q_j.T - h_j) ** 2, axis=1))
            bounds.append(np.linalg.norm(Q_j, 2) * np.sqrt(cons) + np.sqrt(rec))
            ests.append(est)
        observed = np.sqrt(np.mean(np.sum((np.mean(ests, axis=0) - h_j) ** 2, axis=1)))
        bound = float(np.mean(bounds))
        names = ("arbitrary", "consistent, least-squares Q", "consistent, random Q")
        label = f"{names[family]} N={N} d_j={d_j} sources={n_src}"
        if bound == 0.0:
            yield label, 0.0 if observed <= 1e-12 else np.inf
        else:
            yield label, observed / bound


def _orth(A: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal basis of the column space of A."""
    if A.size == 0:
        return np.zeros((A.shape[0], 0))
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    return U[:, s > tol * max(1.0, s[0] if len(s) else 1.0)]


def _aligned(A_i: np.ndarray, A_j: np.ndarray) -> np.ndarray:
    """Latent directions g = A_i^T f_i = A_j^T f_j of all perfect linear alignments f_i, f_j.

    A_i (d_i x K) maps the latent w to view i. Returns an orthonormal basis (K x r) of the
    latent functionals that both views compute exactly.
    """
    M = np.hstack([A_i.T, -A_j.T])  # (K, d_i + d_j); null vectors are aligned pairs (f_i, f_j)
    _, s, Vt = np.linalg.svd(M)
    rank = int((s > 1e-9 * max(1.0, s[0])).sum())
    null = Vt[rank:].T
    return _orth(A_i.T @ null[: A_i.shape[0]])


def _single_space(rng: np.random.Generator, count: int) -> Iterator[tuple[str, float]]:
    for i in range(count):
        v = int(rng.integers(3, 6))
        dp = int(rng.integers(1, 4))
        du = int(rng.integers(0, 3))
        family = i % 3
        ds = 0 if family == 0 else int(rng.integers(1, 3))
        blocks = {
            "s": ds,
            **{f"r{a}{b}": dp for a, b in itertools.combinations(range(v), 2)},
            **{f"u{a}": du for a in range(v)},
        }
        offsets = np.cumsum([0, *blocks.values()])
        K = int(offsets[-1])
        where = dict(zip(blocks, itertools.pairwise(offsets), strict=True))
        A = []
        for a in range(v):
            seen = ["s"] + [f"r{min(a, b)}{max(a, b)}" for b in range(v) if b != a] + [f"u{a}"]
            cols = np.concatenate([np.arange(*where[name]) for name in seen])
            E = np.zeros((len(cols), K))
            E[np.arange(len(cols)), cols] = 1.0
            extra = int(rng.integers(0, 4))
            M, _ = np.linalg.qr(rng.standard_normal((len(cols) + extra, len(cols))))
            M = M * rng.uniform(0.2, 5.0, len(cols))  # any full-column-rank mixing
            A.append(M @ E)
        anchor = int(rng.integers(0, v))
        others = [b for b in range(v) if b != anchor]
        i_, j_ = (int(x) for x in rng.choice(others, 2, replace=False))
        G_i, G_j = _aligned(A[i_], A[anchor]), _aligned(A[j_], A[anchor])
        corr = float(np.linalg.norm(G_i.T @ G_j, 2)) if G_i.size and G_j.size else 0.0
        label = f"views={v} shared={ds} pairwise={dp} unique={du} anchor={anchor}"
        if family == 0:
            # statement: anchor-aligned embeddings of i and j are uncorrelated (independent)
            yield f"{label}: corr of anchor-aligned i, j", corr
        elif family == 1:
            # sharpness: with a shared component they do correlate (fully)
            yield f"{label}: 1 - corr with shared part", abs(1.0 - corr)
        else:
            # the edge (i, j) of a sheaf aligns exactly shared + pairwise dimensions
            dim = _aligned(A[i_], A[j_]).shape[1]
            yield f"{label}: edge alignment dim - (s + r)", float(abs(dim - (ds + dp)))


register(
    "sheafalign-missing-modality",
    theory="sheafalign-missing-modality.md",
    statement="RMS error of mean_i Q_j P_i h_i <= mean_i (||Q_j|| sqrt(consistency) + "
    "sqrt(reconstruction)); equality for consistent edges with least-squares Q_j",
    kind="ratio",
    tolerance=1e-9,
    quick=30,
    full=3000,
)(_missing_modality)

register(
    "sheafalign-single-space",
    theory="sheafalign-single-space.md",
    statement="pairwise-only redundancy: anchor-aligned embeddings of non-anchor views are "
    "uncorrelated; a sheaf edge aligns shared + pairwise dims",
    kind="error",
    tolerance=1e-8,
    quick=30,
    full=3000,
)(_single_space)

if torch is not None:
    register(
        "sheafalign-decentralized-gradient",
        theory="sheafalign-decentralized-gradient.md",
        statement="sum of per-node local gradients (neighbour projections detached) = "
        "gradient of the global SheafAlign loss",
        kind="error",
        tolerance=1e-10,
        quick=12,
        full=200,
    )(_decentralized_gradient)
