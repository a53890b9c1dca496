r"""The H0 pairs of a stack of batches chosen on the batches' own device (no host copy).

On the CPU the losses choose their pairs with numba kernels on a float64 copy
(:func:`._persistence._select_batch`). On another device (CUDA) that copy would
cross to the host every step; :func:`device_h0_segments` keeps everything on
the device instead: the (B, n, n) distance matrices, ToMCLIP's threshold
:math:`\varepsilon = \mu - \lambda\sigma` of each, the minimum spanning trees
(:func:`._device_mst.dense_mst_edges`, Borůvka in torch), the completion at
:math:`T = \max D` ("exact" convention) or the scale pair ("tomclip"), and the
deaths recomputed from the coordinates at the chosen pairs. Only the B counts
of kept edges of the "tomclip" convention are read back (B integers, to cut the
segments); no matrix, tree or index array leaves the device.

The conventions are those of :func:`sheaftopo.persistence.sparsify` and of the
CPU path (``"exact"``: off-diagonal mean and population std; ``"tomclip"``: all
n² entries, unbiased std), computed in float64 reductions on the device. The
distances are the difference formula's (``torch.cdist`` without the matrix
product), exactly symmetrised, so near pairs are as accurate as on the CPU;
the two paths agree to rounding (tests/torch_adapter/test_device_selection.py,
run on CPU tensors here and on CUDA where a GPU is present).
"""

from __future__ import annotations

import numpy as np
import torch

from ._checks import check_value, row_powers_of_two, stack_powers_of_two
from ._device_mst import dense_mst_edges
from ._distances import _edge_lengths

__all__ = ["device_h0_segments"]


def _distances(z: torch.Tensor, metric: str) -> torch.Tensor:
    """(B, n, n) symmetric distances of the (already rescaled) stack, detached, zero diagonal."""
    with torch.no_grad():
        if metric == "cosine":
            u = z / row_powers_of_two(z)
            u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
            D = (1.0 - u @ u.mT).clamp_min(0.0)
        else:
            D = torch.cdist(z, z, compute_mode="donot_use_mm_for_euclid_dist")
        D = 0.5 * D + 0.5 * D.mT
        D.diagonal(dim1=-2, dim2=-1).zero_()
    return D


def _thresholds(D: torch.Tensor, lam: float, convention: str) -> torch.Tensor:
    """ε = mean - lam * std of each matrix (float64 reductions), shape (B,)."""
    n = D.shape[-1]
    X = D.to(torch.float64)
    total = X.sum(dim=(1, 2))
    if convention == "exact":  # the n(n-1) off-diagonal entries, population std
        count, ddof = n * (n - 1), 0
        mean = total / count
        ss = ((X - mean[:, None, None]) ** 2).sum(dim=(1, 2)) - n * mean**2
    else:  # ToMCLIP's code: all n^2 entries, unbiased std
        count, ddof = n * n, 1
        mean = total / count
        ss = ((X - mean[:, None, None]) ** 2).sum(dim=(1, 2))
    return mean - lam * torch.sqrt(ss.clamp_min(0.0) / (count - ddof))


def _pairs(
    D: torch.Tensor, lam: float | None, convention: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The H0 pairs of every matrix, flat with their batch index, and the scale pairs.

    Returns ``(pairs (K, 2), batch (K,), scale (B, 2) or None)``; ``scale[b]``
    is ``(-1, -1)`` where batch b has no positive kept pair.
    """
    B, n, _ = D.shape
    edges = dense_mst_edges(D)  # (B, n - 1, 2), on D's device
    batch = torch.arange(B, device=D.device).repeat_interleave(n - 1)
    if lam is None:
        return edges.reshape(-1, 2), batch, None
    eps = _thresholds(D, lam, convention).to(D.dtype)
    w = D[torch.arange(B, device=D.device)[:, None], edges[..., 0], edges[..., 1]]
    kept = w <= eps[:, None]
    if convention == "exact":  # the components merge at T = max D: its pair, once per merge
        flat = D.reshape(B, -1).argmax(dim=1)
        top = torch.stack([flat // n, flat % n], dim=1)
        pairs = torch.where(kept[..., None], edges, top[:, None, :])
        return pairs.reshape(-1, 2), batch, None
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=D.device), diagonal=1)
    masked = torch.where((D <= eps[:, None, None]) & upper, D, torch.full_like(D, -1.0))
    best, flat = masked.reshape(B, -1).max(dim=1)  # first maximum in row-major order
    scale = torch.stack([flat // n, flat % n], dim=1)
    scale = torch.where((best > 0)[:, None], scale, torch.full_like(scale, -1))
    return edges[kept], batch.reshape(B, n - 1)[kept], scale


def device_h0_segments(
    z: torch.Tensor, lam: float | None, convention: str, metric: str, name: str = "z"
) -> tuple[torch.Tensor, np.ndarray]:
    """H0 deaths of every batch of ``z`` (B, n, d), chosen and computed on ``z``'s device.

    The same quantities as the CPU path of
    :func:`sheaftopo.torch.topological_alignment_loss` (deaths of the minimum
    spanning tree of the ε-graph, completed at T for ``"exact"``, divided by
    the largest kept distance for ``"tomclip"``). Returns the flat deaths
    (unsorted within a segment) and the segment offsets (B + 1,) on the host.
    """
    B, n, d = z.shape
    c = (
        stack_powers_of_two(z)
        if metric == "euclidean"
        else torch.ones(B, dtype=z.dtype, device=z.device)
    )
    zs = z / c[:, None, None]  # exact: each batch on its own scale
    pairs, batch, scale = _pairs(_distances(zs.detach(), metric), lam, convention)
    rows = zs.reshape(B * n, d)
    offset = batch * n
    w = _edge_lengths(rows, pairs[:, 0] + offset, pairs[:, 1] + offset, metric, name)
    if metric == "euclidean":
        w = check_value(w * c[batch], "an edge length", (name,))
    if scale is not None:
        has = scale[:, 0] >= 0
        base = torch.arange(B, device=z.device) * n
        s = _edge_lengths(
            rows, scale[:, 0].clamp_min(0) + base, scale[:, 1].clamp_min(0) + base, metric, name
        )
        if metric == "euclidean":
            s = s * c
        w = w / torch.where(has, s, torch.ones_like(s))[batch]
    counts = torch.bincount(batch, minlength=B).cpu().numpy()  # B integers: the segments
    return w, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
