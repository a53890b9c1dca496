r"""Sheaf losses: SheafAlign's consistency and reconstruction terms, the Laplacian energy.

Shapes follow ``torch.matmul`` broadcasting: any leading dimensions (e.g. one
per edge, stacked) are summed over, the sample dimension is averaged. A
restriction map :math:`P_{i\to e}` of node ``i`` into the comparison space of
edge ``e`` has shape ``(d_e, d_i)`` and acts on row embeddings as
``h_i @ P.T``; the dual map :math:`Q_{e\to i}` has shape ``(d_i, d_e)``.

References
----------
.. [1] SheafAlign: sheaf-theoretic decentralized multimodal alignment,
   arXiv:2510.20540.
.. [2] J. Hansen, R. Ghrist, "Toward a spectral theory of cellular sheaves",
   J. Appl. Comput. Topol. 3, 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import check_choice
from ._checks import (
    FLOATS,
    as_tensor,
    check_finite,
    check_same_device,
    check_same_dtype,
    check_value,
    guard_grad,
    power_of_two,
)

__all__ = [
    "laplacian_tensor",
    "sheaf_consistency_loss",
    "sheaf_energy",
    "sheaf_reconstruction_loss",
]


def mean_squared_norm(diff: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared norms of ``diff`` (..., N, d) summed over all but the samples, then reduced.

    The value of both sheaf losses on their residual (``reduction`` "mean" or
    "sum" over the N samples), without checks or rescaling: NaN and inf
    propagate. The public losses call it on validated, rescaled input
    (:func:`_reduce`); SheafAlign's training step (``sheafalign/_node.py``)
    calls it on the projections it has computed anyway, and lets a
    non-finite value reach its trainer, which names the step and the term.
    """
    per_sample = diff.square().sum(dim=-1)
    if per_sample.ndim > 1:  # leading (edge) dimensions are summed
        per_sample = per_sample.reshape(-1, per_sample.shape[-1]).sum(dim=0)
    return per_sample.mean() if reduction == "mean" else per_sample.sum()


def _reduce(diff: torch.Tensor, reduction: str, names: tuple[str, ...]) -> torch.Tensor:
    """:func:`mean_squared_norm` of ``diff``, checked and at unit scale.

    The squares are taken of ``diff / m`` (``m`` a power of two) and scaled
    back, so they neither overflow nor underflow on the way; a value that
    does not fit the dtype raises, naming the arguments.
    """
    check_value(diff, "the difference of the restricted embeddings", names)
    m = power_of_two(diff)
    value = mean_squared_norm(diff / m, reduction) * m * m
    return check_value(value, "the loss", names)


def _check_map(P: Any, name: str, d_in: int, what: str) -> torch.Tensor:
    P = as_tensor(P, name, min_ndim=2)
    check_finite(P, name)
    if P.shape[-1] != d_in:
        raise ValueError(
            f"{name} must have shape (..., d_out, {d_in}) to act on {what} of dimension "
            f"{d_in}; got shape {tuple(P.shape)}"
        )
    return P


def _check_samples(h: Any, name: str) -> torch.Tensor:
    h = as_tensor(h, name, min_ndim=2)
    if h.shape[-2] == 0:
        raise ValueError(f"{name} must hold at least one sample; got shape {tuple(h.shape)}")
    check_finite(h, name)
    return h


def sheaf_consistency_loss(
    h_i: torch.Tensor,
    h_j: torch.Tensor,
    P_i: torch.Tensor,
    P_j: torch.Tensor,
    *,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""SheafAlign's consistency term :math:`\sum_e \|P_{i\to e} h_i - P_{j\to e} h_j\|^2`.

    Parameters
    ----------
    h_i, h_j : Tensor, shape (..., N, d_i) and (..., N, d_j)
        Embeddings of the same N samples at the two ends of each edge.
    P_i, P_j : Tensor, shape (..., d_e, d_i) and (..., d_e, d_j)
        Restriction maps into the edge's comparison space.
    reduction : {"mean", "sum"}
        Over the N samples; leading (edge) dimensions are always summed.

    Returns
    -------
    Tensor, shape ()
        Zero exactly when the restrictions agree on every sample (a global
        section on the samples).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sheaf_consistency_loss
    >>> h_i, h_j = torch.ones(5, 2), torch.ones(5, 3)
    >>> P_i, P_j = torch.ones(1, 2), torch.ones(1, 3)
    >>> float(sheaf_consistency_loss(h_i, h_j, P_i, P_j))  # (2 - 3)**2
    1.0
    """
    h_i = _check_samples(h_i, "h_i")
    h_j = _check_samples(h_j, "h_j")
    P_i = _check_map(P_i, "P_i", h_i.shape[-1], "h_i")
    P_j = _check_map(P_j, "P_j", h_j.shape[-1], "h_j")
    tensors = {"h_i": h_i, "h_j": h_j, "P_i": P_i, "P_j": P_j}
    check_same_device(tensors)
    check_same_dtype(tensors)
    if P_i.shape[-2] != P_j.shape[-2]:
        raise ValueError(
            f"P_i and P_j must map into the same edge space; got d_e = {P_i.shape[-2]} and "
            f"{P_j.shape[-2]} (shapes {tuple(P_i.shape)} and {tuple(P_j.shape)})"
        )
    if h_i.shape[-2] != h_j.shape[-2]:
        raise ValueError(
            f"h_i and h_j must hold the same samples; got {h_i.shape[-2]} and {h_j.shape[-2]} rows"
        )
    reduction = check_choice(reduction, "reduction", ("mean", "sum"))
    h_i, h_j = guard_grad(h_i, "h_i"), guard_grad(h_j, "h_j")
    P_i, P_j = guard_grad(P_i, "P_i"), guard_grad(P_j, "P_j")
    diff = h_i @ P_i.transpose(-1, -2) - h_j @ P_j.transpose(-1, -2)  # (..., N, d_e)
    return _reduce(diff, reduction, ("h_i", "h_j", "P_i", "P_j"))


def sheaf_reconstruction_loss(
    h: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, *, reduction: str = "mean"
) -> torch.Tensor:
    r"""SheafAlign's reconstruction term :math:`\|Q_{e\to i} P_{i\to e} h_i - h_i\|^2`.

    Parameters
    ----------
    h : Tensor, shape (..., N, d_i)
    P : Tensor, shape (..., d_e, d_i)
        Restriction into the edge space.
    Q : Tensor, shape (..., d_i, d_e)
        Dual map back to the node.
    reduction : {"mean", "sum"}
        Over samples; leading dimensions are summed.

    Returns
    -------
    Tensor, shape ()
        Zero when ``Q P`` is the identity on the samples' span (e.g. ``Q`` a
        left inverse of an injective ``P``).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sheaf_reconstruction_loss
    >>> h = torch.tensor([[1.0, 2.0]])
    >>> P = torch.tensor([[1.0, 0.0]])      # keeps the first coordinate
    >>> float(sheaf_reconstruction_loss(h, P, P.T))
    4.0
    """
    h = _check_samples(h, "h")
    P = _check_map(P, "P", h.shape[-1], "h")
    Q = _check_map(Q, "Q", P.shape[-2], "the edge space of P")
    tensors = {"h": h, "P": P, "Q": Q}
    check_same_device(tensors)
    check_same_dtype(tensors)
    if Q.shape[-2] != h.shape[-1]:
        raise ValueError(
            f"Q must map back to the node space of dimension {h.shape[-1]}; got shape "
            f"{tuple(Q.shape)}"
        )
    reduction = check_choice(reduction, "reduction", ("mean", "sum"))
    return _reconstruction(h, P, Q, reduction, ("h", "P", "Q"))


def _reconstruction(
    h: torch.Tensor, P: torch.Tensor, Q: torch.Tensor, reduction: str, names: tuple[str, ...]
) -> torch.Tensor:
    """The reconstruction term on validated input; errors name ``names`` (h, P, Q)."""
    h, P, Q = (guard_grad(t, n) for t, n in zip((h, P, Q), names, strict=True))
    back = (h @ P.transpose(-1, -2)) @ Q.transpose(-1, -2)
    return _reduce(back - h, reduction, names)


def laplacian_tensor(
    sheaf: Any,
    *,
    weights: Any = None,
    normalized: bool = False,
    device: Any = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The sheaf Laplacian of :func:`sheaftopo.sheaf.laplacian` as a sparse torch tensor.

    Convert once and reuse it across training steps.

    Parameters
    ----------
    sheaf : CellularSheaf
    weights, normalized
        As in :func:`sheaftopo.sheaf.laplacian`.
    device, dtype
        Of the result (default: CPU, float64). ``dtype`` must be
        ``torch.float32`` or ``torch.float64`` (a Laplacian's entries are real
        numbers: an integer dtype would truncate them, so it raises
        ``TypeError``).

    Returns
    -------
    Tensor, sparse COO, shape (dim C0, dim C0), coalesced

    Examples
    --------
    >>> from sheaftopo.sheaf import CellularSheaf
    >>> from sheaftopo.torch import laplacian_tensor
    >>> L = laplacian_tensor(CellularSheaf.constant([[0, 1]], 1))
    >>> L.to_dense()
    tensor([[ 1., -1.],
            [-1.,  1.]], dtype=torch.float64)
    """
    from ..sheaf import laplacian

    if dtype not in FLOATS:
        raise TypeError(
            f"dtype must be torch.float32 or torch.float64 (the Laplacian has real entries); "
            f"got {dtype!r}"
        )
    try:
        device = None if device is None else torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must name a torch device (e.g. 'cpu', 'cuda:0'); got {device!r}"
        ) from exc
    L = laplacian(sheaf, weights=weights, normalized=normalized).tocoo()
    idx = torch.as_tensor(np.vstack([L.row, L.col]).astype(np.int64))
    vals = torch.as_tensor(L.data)
    out = torch.sparse_coo_tensor(
        idx, vals, L.shape, dtype=dtype, device=device, check_invariants=False
    )
    return out.coalesce()


def sheaf_energy(x: torch.Tensor, L: Any) -> torch.Tensor:
    r"""The Dirichlet energy :math:`x^\top L x` of 0-cochains, differentiable in ``x``.

    Parameters
    ----------
    x : Tensor, shape (dim C0,) or (dim C0, k)
        One cochain, or k cochains as columns (their energies are summed).
        Stalks are concatenated in vertex order, as in :mod:`sheaftopo.sheaf`.
    L : Tensor (sparse or dense), shape (dim C0, dim C0), or CellularSheaf
        A Laplacian from :func:`laplacian_tensor` (on ``x``'s device and
        dtype), or a sheaf, whose Laplacian is then assembled and converted
        on every call.

    Returns
    -------
    Tensor, shape ()
        :math:`\sum_e \|F_{v\trianglelefteq e}x_v - F_{u\trianglelefteq e}x_u\|^2`
        (summed over columns); its gradient is :math:`(L + L^\top)x` (:math:`2Lx`).

    Notes
    -----
    The energy is computed for ``x`` divided by a power of two and scaled
    back (exactly), so cochains of any magnitude work; an energy or a
    gradient that does not fit the dtype raises ``ValueError`` naming ``x``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.sheaf import CellularSheaf
    >>> from sheaftopo.torch import sheaf_energy
    >>> F = CellularSheaf.constant([[0, 1], [1, 2]], 1)
    >>> float(sheaf_energy(torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64), F))
    5.0
    """
    x = as_tensor(x, "x")
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (dim_c0,) or (dim_c0, k); got {tuple(x.shape)}")
    check_finite(x, "x")
    if not isinstance(L, torch.Tensor):
        from ..sheaf import CellularSheaf

        if not isinstance(L, CellularSheaf):
            raise TypeError(
                f"L must be a torch tensor (see laplacian_tensor) or a CellularSheaf; got "
                f"{type(L).__name__}"
            )
        L = laplacian_tensor(L, device=x.device, dtype=x.dtype)
    if L.ndim != 2 or L.shape[0] != L.shape[1] or L.shape[0] != x.shape[0]:
        raise ValueError(
            f"L must be square with one row per entry of x; got L of shape {tuple(L.shape)} "
            f"and x of shape {tuple(x.shape)}"
        )
    check_same_device({"x": x, "L": L})
    check_same_dtype({"x": x, "L": L})
    if not L.is_sparse:
        check_finite(L, "L")
    elif not bool(torch.isfinite(L.coalesce().values()).all()):
        raise ValueError("L must be finite; its values contain NaN or inf")
    X = guard_grad(x if x.ndim == 2 else x[:, None], "x")
    return _Energy.apply(X, L)


def _matmul(L: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    return torch.sparse.mm(L, X) if L.is_sparse else L @ X


class _Energy(torch.autograd.Function):
    """``sum(X * (L @ X))`` at unit scale: X / c with c a power of two, scaled back exactly.

    Written as a Function so that the backward never forms ``c**2`` (which
    overflows for |x| > 1e154 even where the energy and its gradient
    :math:`(L + L^\top)x` do not, e.g. near the kernel of L).
    """

    @staticmethod
    def forward(ctx: Any, X: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
        c = power_of_two(X)
        Xs = X / c
        e = (Xs * _matmul(L, Xs)).sum()
        ctx.save_for_backward(Xs, L)
        ctx.c = c
        return check_value(e * c * c, "the energy x^T L x", ("x",))

    @staticmethod
    def backward(ctx: Any, G: torch.Tensor) -> tuple[Any, Any]:
        Xs, L = ctx.saved_tensors
        c = ctx.c
        grad_x = grad_L = None
        if ctx.needs_input_grad[0]:
            LtX = _matmul(L.t(), Xs) if L.is_sparse else L.mT @ Xs
            grad_x = G * ((_matmul(L, Xs) + LtX) * c)
        if ctx.needs_input_grad[1]:
            X = Xs * c
            outer = G * (X @ X.T)
            grad_L = outer.sparse_mask(L.coalesce()) if L.is_sparse else outer
        return grad_x, grad_L
