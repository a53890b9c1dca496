"""Contrastive losses: symmetric InfoNCE on cosine similarity."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._validation import check_real
from ._checks import as_embeddings, check_pair, guard_grad, row_powers_of_two

__all__ = ["info_nce"]


def info_nce(z_a: torch.Tensor, z_b: torch.Tensor, *, temperature: float = 0.1) -> torch.Tensor:
    r"""Symmetric InfoNCE loss between paired embeddings (CLIP's loss; SheafAlign's τ = 0.1).

    With :math:`s_{ij} = \cos(a_i, b_j) / \tau`,

    .. math::

        \mathcal L = \frac{1}{2n}\sum_{i=1}^n \Big[
        -\log\frac{e^{s_{ii}}}{\sum_j e^{s_{ij}}}
        -\log\frac{e^{s_{ii}}}{\sum_j e^{s_{ji}}}\Big],

    the mean of the cross-entropies of retrieving :math:`b_i` from
    :math:`a_i` and :math:`a_i` from :math:`b_i` among the batch.

    Parameters
    ----------
    z_a, z_b : Tensor, shape (n, d)
        Paired rows (row ``i`` of each describes item ``i``), n >= 2, same
        device and dtype. Zero rows are refused (no direction).
    temperature : float, default 0.1
        τ > 0.

    Returns
    -------
    Tensor, shape ()
        At least 0; at most :math:`\log n` plus :math:`2/\tau` times how far
        the pairs are from aligned.

    References
    ----------
    .. [1] A. Radford et al., "Learning Transferable Visual Models From Natural
       Language Supervision" (CLIP), ICML 2021.
    .. [2] SheafAlign, arXiv:2510.20540 (τ = 0.1).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import info_nce
    >>> z = torch.eye(4)
    >>> round(float(info_nce(z, z)), 6)  # log(1 + 3 e^{-10})
    0.000136
    """
    za, zb = _check_inputs(z_a, z_b)
    tau = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
    return _info_nce(za, zb, 1.0 / tau)


def _check_inputs(
    z_a: Any, z_b: Any, names: tuple[str, str] = ("z_a", "z_b")
) -> tuple[torch.Tensor, torch.Tensor]:
    za = as_embeddings(z_a, names[0])
    zb = as_embeddings(z_b, names[1])
    check_pair(za, zb, names)
    if za.shape[1] != zb.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same embedding dimension to compare "
            f"them by cosine similarity; got shapes {tuple(za.shape)} and {tuple(zb.shape)}"
        )
    for name, z in zip(names, (za, zb), strict=True):
        if bool((z == 0).all(dim=1).any()):
            raise ValueError(f"{name} has a zero row; cosine similarity is undefined there")
    return guard_grad(za, names[0]), guard_grad(zb, names[1])


def _unit(z: torch.Tensor) -> torch.Tensor:
    """Rows of unit norm; each row is first divided by a power of two (exact), so rows of
    any magnitude (1e-300 or 1e300) normalise without underflow or overflow."""
    return F.normalize(z / row_powers_of_two(z), dim=1)


def _info_nce(za: torch.Tensor, zb: torch.Tensor, scale: float | torch.Tensor) -> torch.Tensor:
    """The loss on validated inputs; ``scale`` = 1/τ (a tensor when the temperature is learned)."""
    logits = _unit(za) @ _unit(zb).T * scale
    target = torch.arange(len(za), device=za.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
