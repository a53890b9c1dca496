r"""ToMCLIP's topological losses between a student and a teacher batch.

Built on :mod:`._persistence` (the differentiable H0 deaths and H1 births),
:mod:`._sliced` (their sliced Wasserstein comparison) and
:mod:`._distances`; each batch's distances and selection are computed once
and shared by all terms.

References
----------
.. [1] J. You, D. Kang, J.-H. Jung, "Topological Alignment of Shared
   Vision-Language Embedding Space" (ToMCLIP), arXiv:2510.10889, 2025, and
   its released code (github.com/junwon0/ToMCLIP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._core.screening import CONVENTIONS
from .._validation import check_choice, check_int, check_real
from ._checks import (
    as_embeddings,
    as_tensor,
    check_pair,
    check_same_device,
    check_value,
    guard_grad,
    power_of_two,
)
from ._device_selection import device_h0_segments
from ._distances import SAFE_SCALE, _check_metric, _pairwise
from ._persistence import (
    _check_lam,
    _lengths_at,
    _lengths_segments,
    _select,
    _select_batch,
    _Selection,
)
from ._sliced import KINDS, _compare, _compare_segments

__all__ = [
    "ToMCLIPTerms",
    "distance_matrix_loss",
    "tomclip_loss",
    "tomclip_loss_terms",
    "topological_alignment_loss",
]


def _pair_inputs(
    z_student: Any, z_teacher: Any, *, stacked: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    check_same_device(
        {
            "z_student": as_tensor(z_student, "z_student"),
            "z_teacher": as_tensor(z_teacher, "z_teacher"),
        }
    )
    zs = as_embeddings(z_student, "z_student", stacked=stacked)
    zt = as_embeddings(z_teacher, "z_teacher", stacked=stacked)
    if zs.ndim != zt.ndim or zs.shape[:-2] != zt.shape[:-2]:
        raise ValueError(
            "z_student and z_teacher must both be single batches (n, d) or stacks with the "
            f"same number of batches (B, n, d); got shapes {tuple(zs.shape)} and "
            f"{tuple(zt.shape)}"
        )
    check_pair(zs, zt, ("z_student", "z_teacher"))
    return guard_grad(zs, "z_student"), guard_grad(zt, "z_teacher")


def _mse(a: torch.Tensor, b: torch.Tensor, what: str) -> torch.Tensor:
    """Mean squared difference, computed on ``(a - b) / m`` (``m`` a power of two), scaled back.

    No square overflows or underflows on the way; a value that genuinely does
    not fit the dtype raises, naming the embeddings.
    """
    c = power_of_two(a, b)
    if SAFE_SCALE[0] <= c <= SAFE_SCALE[1]:
        c, diff = 1.0, a - b  # far from the largest float: a - b cannot overflow
    else:
        diff = a / c - b / c  # a - b itself may overflow near the largest float
    m = power_of_two(diff)
    value = (diff / m).square().mean() * (m * c) * (m * c)
    return check_value(value, what, ("z_student", "z_teacher"))


def topological_alignment_loss(
    z_student: torch.Tensor,
    z_teacher: torch.Tensor,
    *,
    lam: float | None = 0.5,
    dim: int = 0,
    n_directions: int = 50,
    seed: Any = None,
    directions: Any = None,
    kind: str = "diagram",
    p: float | None = None,
    convention: str = "exact",
    metric: str = "euclidean",
) -> torch.Tensor:
    r"""Sliced Wasserstein distance between the persistence of two batches (ToMCLIP).

    ``dim=0``: between the finite H0 diagrams of :func:`finite_h0_diagram` (with the
    ε-sparsification when ``lam`` is given). ``dim=1``: between the H1 births
    of :func:`sparsified_h1_births`, represented as ToMCLIP does by the points
    ``(birth, 0)`` and compared as point clouds (``kind`` must be
    ``"point_cloud"``); an empty birth set is the single point ``(0, 0)``, as
    in ToMCLIP's code. The two batches may have different embedding
    dimensions (persistence is dimension-free) but must share device and dtype.

    Parameters
    ----------
    z_student, z_teacher : Tensor, shape (n, d_s) and (n, d_t), or (B, n, d_s) and (B, n, d_t)
        Typically the teacher is detached (frozen); gradients flow to both
        otherwise. A stack of B batches gives B losses from one selection call
        for the whole stack (one batched Gram product and one parallel
        minimum-spanning-tree kernel; for ``dim=0`` also one gather and one
        sliced-Wasserstein kernel), each equal to the loss of its batch alone.
    lam : float or None, default 0.5
        ToMCLIP's λ; ``None`` compares the exact (unsparsified) diagrams.
    dim : {0, 1}
    n_directions, seed, directions, kind, p
        As in :func:`sliced_wasserstein`. The default directions are evenly
        spaced: deterministic value and gradient.
    convention : {"exact", "tomclip"}
        Sparsification convention (:func:`sheaftopo.persistence.sparsify`).
    metric : {"euclidean", "cosine"}

    Returns
    -------
    Tensor, shape () or (B,)

    References
    ----------
    .. [1] ToMCLIP, arXiv:2510.10889.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import topological_alignment_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> zt = torch.randn(64, 16, generator=g, dtype=torch.float64)
    >>> zs = (zt + 0.1 * torch.randn(64, 16, generator=g, dtype=torch.float64))
    >>> zs.requires_grad_()
    ... # doctest: +ELLIPSIS
    tensor(...)
    >>> loss = topological_alignment_loss(zs, zt)
    >>> loss.backward()
    >>> bool(loss > 0), bool(torch.isfinite(zs.grad).all())
    (True, True)
    >>> float(topological_alignment_loss(zt, zt))
    0.0
    >>> stack = torch.randn(4, 32, 8, generator=g, dtype=torch.float64)
    >>> topological_alignment_loss(stack, stack.flip(0)).shape  # four losses
    torch.Size([4])
    """
    zs, zt = _pair_inputs(z_student, z_teacher, stacked=True)
    lam = _check_lam(lam)
    dim = check_int(dim, "dim", minimum=0, maximum=1)
    kind = check_choice(kind, "kind", KINDS)
    if dim == 1 and kind != "point_cloud":
        raise ValueError(
            "dim=1 compares H1 births (essential classes, death = inf), which have no "
            "diagonal projection; use kind='point_cloud' (ToMCLIP's (birth, 0) points)"
        )
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(zs, metric, "z_student")
    _check_metric(zt, metric, "z_teacher")
    single = zs.ndim == 2
    zs3, zt3 = (zs[None], zt[None]) if single else (zs, zt)
    if dim == 0 and zs3.shape == zt3.shape and zs.device.type == "cpu":
        # one selection call for both sides: its kernels run the two in parallel
        B = zs3.shape[0]
        both, off = _persistence_values(
            torch.cat([zs3, zt3]), 0, lam, convention, metric, "z_student or z_teacher"
        )
        a, off_a = both[: off[B]], off[: B + 1]
        b, off_b = both[off[B] :], off[B:] - off[B]
    else:
        a, off_a = _persistence_values(zs3, dim, lam, convention, metric, "z_student")
        b, off_b = _persistence_values(zt3, dim, lam, convention, metric, "z_teacher")
    sw = {"n_directions": n_directions, "seed": seed, "directions": directions, "kind": kind}
    losses = _compare_segments(a, off_a, b, off_b, dim, p=p, **sw)
    return losses[0] if single else losses


def _persistence_values(
    z: torch.Tensor, dim: int, lam: float | None, convention: str, metric: str, name: str
) -> tuple[torch.Tensor, np.ndarray]:
    """H0 deaths (dim 0) or H1 births (dim 1) of every batch of ``z`` (B, n, d), as segments.

    H0: one selection for the whole stack (:func:`_select_batch`) and one
    gather of the lengths. H1 gathers its thousands of births from each
    batch's differentiable distance matrix, batch by batch.
    """
    if dim == 0 and z.device.type != "cpu":  # chosen on the device: no host copy
        return device_h0_segments(z, lam, convention, metric, name)
    if dim == 0:
        sels = _select_batch(z, lam, convention, metric, name)
        return _lengths_segments(z, [s.h0 for s in sels], sels, metric, name)
    parts = []
    for zb in z:
        sel = _select(zb, _pairwise(zb, metric, name), lam, convention, metric)
        parts.append(_lengths_at(zb, sel.h1, sel, metric, name))
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in parts])]).astype(np.int64)
    return torch.cat(parts), offsets


def _sparsified_matrix(D: torch.Tensor, sel: _Selection | None) -> torch.Tensor:
    """ToMCLIP's thresholded (and, for "tomclip", max-normalised) distance matrix.

    Uses the threshold and scale pair already chosen by :func:`_select` for the
    same matrix (``sel=None``: no sparsification), so nothing is recomputed.
    """
    if sel is None:
        return D
    kept = torch.from_numpy(sel.kept).to(D.device)  # the pairs i < j _select kept
    S = torch.where(kept | kept.T, D, torch.zeros_like(D))
    if sel.scale_pair is not None:
        S = S / D[int(sel.scale_pair[0]), int(sel.scale_pair[1])]
    return S


def distance_matrix_loss(
    z_student: torch.Tensor,
    z_teacher: torch.Tensor,
    *,
    lam: float | None = 0.5,
    convention: str = "tomclip",
    metric: str = "euclidean",
) -> torch.Tensor:
    r"""Mean squared difference of the (sparsified) distance matrices of two batches.

    With ``lam``: each matrix is ToMCLIP's ε-graph of its batch, i.e. the
    weights of ``sheaftopo.persistence.sparsify(D, lam=lam,
    convention=convention).graph`` as a dense matrix (pairs above ε set to 0;
    ``"tomclip"`` divides by the largest kept distance), and the loss is
    :math:`\frac{1}{n^2}\sum_{ij} (S^{s}_{ij} - S^{t}_{ij})^2` (ToMCLIP's "dm"
    term). ``lam=None`` compares the raw distance matrices.

    Parameters
    ----------
    z_student, z_teacher : Tensor, shape (n, d_s) and (n, d_t)
        Paired rows; the dimensions may differ.
    lam : float or None, default 0.5
    convention : {"exact", "tomclip"}, default "tomclip"
    metric : {"euclidean", "cosine"}

    Returns
    -------
    Tensor, shape ()

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import distance_matrix_loss
    >>> z = torch.tensor([[0.0], [1.0], [3.0]])
    >>> float(distance_matrix_loss(z, 2 * z, lam=None))  # (1 + 4 + 9) * 2 / 9
    3.1111111640930176
    """
    zs, zt = _pair_inputs(z_student, z_teacher)
    lam = _check_lam(lam)
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(zs, metric, "z_student")
    _check_metric(zt, metric, "z_teacher")
    Ds, Dt = _pairwise(zs, metric, "z_student"), _pairwise(zt, metric, "z_teacher")
    if lam is None:
        return _mse(Ds, Dt, "the distance-matrix loss")
    Ss = _sparsified_matrix(Ds, _select(zs, Ds, lam, convention, metric))
    St = _sparsified_matrix(Dt, _select(zt, Dt, lam, convention, metric))
    return _mse(Ss, St, "the distance-matrix loss")


@dataclass(frozen=True)
class ToMCLIPTerms:
    """The terms of ToMCLIP's loss (all scalar tensors, weights already applied to ``total``).

    Attributes
    ----------
    total : Tensor
        ``mse_weight * mse + distance_weight * distance + h0_weight * h0 + h1_weight * h1``.
    mse, distance, h0, h1 : Tensor
        The unweighted terms: pointwise MSE, distance-matrix loss, sliced
        Wasserstein of the H0 diagrams and of the H1 births.
    """

    total: torch.Tensor
    mse: torch.Tensor
    distance: torch.Tensor
    h0: torch.Tensor
    h1: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """The terms as Python floats (for logging)."""
        return {
            k: float(getattr(self, k).detach()) for k in ("total", "mse", "distance", "h0", "h1")
        }


def tomclip_loss_terms(
    z_student: torch.Tensor,
    z_teacher: torch.Tensor,
    *,
    mse_weight: float = 1.0,
    distance_weight: float = 0.01,
    h0_weight: float = 0.01,
    h1_weight: float = 0.01,
    lam: float | None = 0.5,
    n_directions: int = 50,
    seed: Any = None,
    kind: str = "point_cloud",
    convention: str = "tomclip",
    metric: str = "euclidean",
) -> ToMCLIPTerms:
    r"""ToMCLIP's combined distillation loss, term by term.

    .. math::

        \mathcal L = w_{\mathrm{mse}}\,\mathrm{MSE}(z_s, z_t)
        + w_{\mathrm{dm}}\,\mathcal L_{\mathrm{dm}}
        + w_0\,SW(\mathrm{PD}_0(z_s), \mathrm{PD}_0(z_t))
        + w_1\,SW(\mathrm{PD}_1(z_s), \mathrm{PD}_1(z_t)),

    with the published defaults of ToMCLIP's released training script
    (coefficients 1 / 0.01 / 0.01 / 0.01, λ = 0.5, 50 projections, sliced
    Wasserstein of POT's point-cloud kind, the ``"tomclip"`` sparsification
    convention). Unlike the released code, the directions are evenly spaced
    by default (deterministic; pass ``seed`` for random ones), and every
    distance is computed once per batch and shared by the three topological
    terms.

    Parameters
    ----------
    z_student, z_teacher : Tensor, shape (n, d)
        Same shape (the MSE term compares them entry by entry).
    mse_weight, distance_weight, h0_weight, h1_weight : float
        Non-negative weights; a zero weight skips its term's computation
        (the term is then reported as 0).
    lam, n_directions, seed, kind, convention, metric
        As in :func:`topological_alignment_loss`.

    Returns
    -------
    ToMCLIPTerms

    References
    ----------
    .. [1] ToMCLIP, arXiv:2510.10889; defaults from the released
       ``pt_Training_with_tdaloss.py``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import tomclip_loss_terms
    >>> g = torch.Generator().manual_seed(0)
    >>> zt = torch.randn(32, 8, generator=g)
    >>> terms = tomclip_loss_terms(zt + 0.1, zt)
    >>> sorted(terms.as_floats())
    ['distance', 'h0', 'h1', 'mse', 'total']
    >>> round(float(terms.mse), 6)
    0.01
    """
    zs, zt = _pair_inputs(z_student, z_teacher)
    if zs.shape != zt.shape:
        raise ValueError(
            f"z_student and z_teacher must have the same shape for the MSE term; got "
            f"{tuple(zs.shape)} and {tuple(zt.shape)}"
        )
    weights = _check_weights(
        mse_weight=mse_weight,
        distance_weight=distance_weight,
        h0_weight=h0_weight,
        h1_weight=h1_weight,
    )
    lam = _check_lam(lam)
    kind = check_choice(kind, "kind", KINDS)
    if weights["h1_weight"] > 0 and kind != "point_cloud":
        raise ValueError(
            "the H1 term compares births as ToMCLIP's (birth, 0) points and needs "
            "kind='point_cloud'; set h1_weight=0 to use kind='diagram'"
        )
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(zs, metric, "z_student")
    _check_metric(zt, metric, "z_teacher")
    zero = (zs * 0.0).sum() + (zt * 0.0).sum()  # no overflow of a sum near the largest float
    mse = _mse(zs, zt, "the MSE term") if weights["mse_weight"] > 0 else zero
    sw = {"n_directions": n_directions, "seed": seed, "directions": None, "kind": kind, "p": None}
    dist, h0, h1 = _distance_terms(zs, zt, weights, zero, lam, convention, metric, sw)
    total = check_value(
        weights["mse_weight"] * mse
        + weights["distance_weight"] * dist
        + weights["h0_weight"] * h0
        + weights["h1_weight"] * h1,
        "the weighted total of the ToMCLIP loss",
        ("z_student", "z_teacher"),
    )
    return ToMCLIPTerms(total=total, mse=mse, distance=dist, h0=h0, h1=h1)


def _check_weights(**weights: Any) -> dict[str, float]:
    """The term weights, each a non-negative real (the error names the keyword)."""
    return {name: check_real(value, name, low=0.0) for name, value in weights.items()}


def _distance_terms(
    zs: torch.Tensor,
    zt: torch.Tensor,
    weights: dict[str, float],
    zero: torch.Tensor,
    lam: float | None,
    convention: str,
    metric: str,
    sw: dict[str, Any],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distance-matrix, H0 and H1 terms (``zero`` where the weight is 0).

    Each batch's distance matrix and selection are computed once, and only
    when a term with a positive weight needs them, then shared by all terms.
    """
    dist = h0 = h1 = zero
    needs_topology = weights["h0_weight"] > 0 or weights["h1_weight"] > 0
    if not (weights["distance_weight"] > 0 or needs_topology):
        return dist, h0, h1
    Ds, Dt = _pairwise(zs, metric, "z_student"), _pairwise(zt, metric, "z_teacher")
    sel_s = _select(zs, Ds, lam, convention, metric)  # one selection per batch,
    sel_t = _select(zt, Dt, lam, convention, metric)  # shared by all terms
    if weights["distance_weight"] > 0:
        sparsified = lam is not None
        dist = _mse(
            _sparsified_matrix(Ds, sel_s if sparsified else None),
            _sparsified_matrix(Dt, sel_t if sparsified else None),
            "the distance-matrix term",
        )
    if weights["h0_weight"] > 0:
        h0 = _compare(
            _lengths_at(zs, sel_s.h0, sel_s, metric, "z_student"),
            _lengths_at(zt, sel_t.h0, sel_t, metric, "z_teacher"),
            0,
            **sw,
        )
    if weights["h1_weight"] > 0:
        h1 = _compare(
            _lengths_at(zs, sel_s.h1, sel_s, metric, "z_student"),
            _lengths_at(zt, sel_t.h1, sel_t, metric, "z_teacher"),
            1,
            **sw,
        )
    return dist, h0, h1


def tomclip_loss(z_student: torch.Tensor, z_teacher: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """ToMCLIP's combined loss as one scalar: ``tomclip_loss_terms(...).total``.

    Takes the keyword arguments of :func:`tomclip_loss_terms` (published
    defaults: weights 1 / 0.01 / 0.01 / 0.01, λ = 0.5, 50 directions).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import tomclip_loss
    >>> z = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    >>> float(tomclip_loss(z, z))
    0.0
    """
    return tomclip_loss_terms(z_student, z_teacher, **kwargs).total
