"""Differentiable pairwise distances of a batch of embeddings (Euclidean and cosine).

The distance matrix and the edge lengths from which every topological loss of
the adapter is built (:mod:`._persistence`, :mod:`._tomclip`), with the exact
power-of-two rescalings that keep magnitudes from 1e-300 to 1e300 usable.
"""

from __future__ import annotations

from typing import Any

import torch

from .._core.kernels import kernel_loader
from .._validation import check_choice
from ._checks import (
    as_embeddings,
    check_value,
    euclidean_distances,
    guard_grad,
    power_of_two,
    row_powers_of_two,
)

__all__ = ["pairwise_distances"]

METRICS = ("euclidean", "cosine")
_kernels = kernel_loader("sheaftopo.torch._distance_kernels")
#: relative squared distance under which a pair is recomputed from its coordinates
NEAR = 1e-2
#: scales c = power_of_two(z) inside which the exact division z / c is skipped: with
#: max|z| in [2^-20, 2^21) the squares of the large entries and their sums over up to
#: 2^40 features stay far inside the float32 range, so the distances are those of z / c
#: times c, except through entries 2^-40 below the largest (their squares underflow
#: either way)
SAFE_SCALE = (2.0**-20, 2.0**20)


def _unit_rows(z: torch.Tensor, name: str) -> torch.Tensor:
    """Rows divided by their norms, each row first scaled by a power of two (exact).

    The cosine dissimilarity is scale-free, so no row magnitude (1e-300 or
    1e300) may overflow or underflow its norm.
    """
    zs = z / row_powers_of_two(z)
    norms = torch.linalg.vector_norm(zs, dim=-1, keepdim=True)
    if bool((norms == 0).any()):
        where = tuple((norms[..., 0] == 0).nonzero()[0].tolist())
        row = where[0] if len(where) == 1 else where
        raise ValueError(
            f"{name} must not contain zero rows with metric='cosine' (the cosine "
            f"dissimilarity is undefined there); row {row} is zero"
        )
    return zs / norms


def _pairwise(z: torch.Tensor, metric: str, name: str = "z") -> torch.Tensor:
    """(n, n) distances with an exactly zero diagonal; finite gradients everywhere.

    Euclidean distances are computed on ``z / c`` (``c`` a power of two) and
    multiplied back, exactly; a distance beyond the dtype's range raises.
    """
    if metric == "cosine":
        u = _unit_rows(z, name)
        D = (1.0 - u @ u.T).clamp_min(0.0)
    else:
        c = power_of_two(z)
        zs = z if SAFE_SCALE[0] <= c <= SAFE_SCALE[1] else z / c
        if z.device.type == "cpu":
            D = _GramDistances.apply(zs)  # exactly symmetric, zero diagonal
        else:
            D = euclidean_distances(zs, zs)
        D = check_value(D if zs is z else D * c, "a pairwise distance", (name,))
        if z.device.type == "cpu":
            return D
    if D.requires_grad:
        return D - torch.diag_embed(torch.diagonal(D))
    return D.fill_diagonal_(0.0)  # no graph to protect: in place


class _GramDistances(torch.autograd.Function):
    """Euclidean distance matrix of CPU rows: one Gram product forward, one backward.

    Forward: ``Z Z^T`` (BLAS) and :func:`._distance_kernels.gram_distances`
    (float64; pairs with ``d^2 <= NEAR (|z_i|^2 + |z_j|^2)``, where the identity
    would cancel, recomputed from the coordinates, so every entry has a
    relative error of order 50 eps at most, as in :func:`euclidean_distances`;
    exactly symmetric, zero diagonal), returned in ``Z``'s dtype. Backward: the gradient
    ``rowsum(W) Z - W Z`` with ``W = (G + G^T) / D``, one more product, the
    near pairs (where that difference would cancel) left out of ``W`` and their
    terms ``W_ij (z_i - z_j)`` added from the differences; zero at coincident
    points. ``torch.cdist``'s backward runs a pairwise loop instead;
    measured 2026-12-03 on the 2-core machine (loaded, one torch thread, 256 x
    512 float32, ``python -m benchmarks.torch_losses``): see the floor row
    there. First-order only (the backward is not itself differentiable).
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:
        Z = z.detach().contiguous()
        n = Z.shape[0]
        D = torch.empty(n, n, dtype=Z.dtype)
        near = torch.zeros(n, n, dtype=torch.bool)
        # NEAR: the accuracy contract of euclidean_distances (about 50 eps relative)
        _kernels().fill_distances((Z @ Z.T).numpy(), Z.numpy(), NEAR, D.numpy(), near.numpy())
        ctx.save_for_backward(Z, D, near)
        return D

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        Z, D, near = ctx.saved_tensors
        W = torch.where(D > 0, (g + g.mT) / D, torch.zeros_like(D))  # 0: coincident points
        i, j = near.nonzero(as_tuple=True)  # the pairs the forward recomputed
        w = W[i, j, None]
        if len(i):  # rowsum(W) z - W Z would cancel at near pairs: their terms apart, exactly
            W = W.index_put((i, j), torch.zeros_like(w[:, 0])).index_put(
                (j, i), torch.zeros_like(w[:, 0])
            )
        grad = W.sum(dim=1, keepdim=True) * Z - W @ Z
        if len(i):
            diff = w * (Z[i] - Z[j])
            grad = grad.index_add(0, i, diff).index_add(0, j, -diff)
        return grad


def _edge_lengths(
    z: torch.Tensor, u: torch.Tensor, v: torch.Tensor, metric: str, name: str = "z"
) -> torch.Tensor:
    """Exact lengths of the edges (u[k], v[k]), differentiable in ``z`` (rescaled as _pairwise)."""
    if metric == "cosine":
        w = _unit_rows(z, name)
        return 0.5 * (w[u] - w[v]).square().sum(dim=1)
    c = power_of_two(z)
    ends = z.index_select(0, torch.stack([u, v], dim=1).reshape(-1)).view(len(u), 2, z.shape[1])
    if SAFE_SCALE[0] <= c <= SAFE_SCALE[1]:
        lengths = torch.linalg.vector_norm(ends[:, 0] - ends[:, 1], dim=1)
    else:
        ends = ends / c
        lengths = torch.linalg.vector_norm(ends[:, 0] - ends[:, 1], dim=1) * c
    return check_value(lengths, "an edge length", (name,))


def pairwise_distances(z: torch.Tensor, *, metric: str = "euclidean") -> torch.Tensor:
    r"""All pairwise distances of a batch of embeddings, differentiable.

    Parameters
    ----------
    z : Tensor, shape (n, d)
        Embeddings, float32 or float64, on any device.
    metric : {"euclidean", "cosine"}
        ``"cosine"`` is the dissimilarity :math:`1 - \cos(x, y)
        = \tfrac12\|\hat x - \hat y\|^2`, as in :func:`sheaftopo.persistence.mst`.

    Returns
    -------
    Tensor, shape (n, n)
        Symmetric, zero diagonal, on ``z``'s device and dtype. The gradient is
        finite everywhere (zero for coincident points). Euclidean distances
        are computed on ``z`` divided by a power of two and scaled back
        (exact), cosine ones on rows divided by their own powers of two, so
        coordinates from 1e-300 to 1e300 work; a distance beyond the dtype's
        range raises ``ValueError`` naming ``z``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import pairwise_distances
    >>> pairwise_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    tensor([[0., 5.],
            [5., 0.]])
    """
    z = guard_grad(as_embeddings(z, "z", min_points=1), "z")
    metric = check_choice(metric, "metric", METRICS)
    return _pairwise(z, metric)


def _check_metric(z: torch.Tensor, metric: Any, name: str) -> str:
    metric = check_choice(metric, "metric", METRICS)
    if metric == "cosine":
        _unit_rows(z, name)
    return metric
