"""``nn.Module`` wrappers: losses that hold settings or parameters."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_int, check_real
from ._checks import as_tensor, check_value
from ._contrastive import _check_inputs, _info_nce, info_nce
from ._sheaf import _reconstruction, sheaf_consistency_loss
from ._tomclip import ToMCLIPTerms, tomclip_loss_terms, topological_alignment_loss

__all__ = ["InfoNCELoss", "SheafConsistencyLoss", "ToMCLIPLoss", "TopologicalAlignmentLoss"]


def _settings(fn: Callable[..., Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword settings of a loss module, refused at construction if ``fn`` has no such
    keyword (a typo would otherwise surface only at the first forward call)."""
    accepted = [
        name
        for name, par in inspect.signature(fn).parameters.items()
        if par.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise TypeError(
            f"{', '.join(unknown)} is not a setting of {fn.__name__}; the settings are "
            f"{', '.join(accepted)}"
        )
    return dict(settings)


class ToMCLIPLoss(nn.Module):
    """ToMCLIP's combined loss as a module (see :func:`tomclip_loss_terms` for the arguments).

    ``forward(z_student, z_teacher)`` returns the total; the terms of the
    last call are kept in ``last_terms`` as floats, for logging.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import ToMCLIPLoss
    >>> loss_fn = ToMCLIPLoss(h1_weight=0.0)
    >>> z = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    >>> float(loss_fn(z, z)), loss_fn.last_terms["h0"]
    (0.0, 0.0)
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = _settings(tomclip_loss_terms, settings)
        self.last_terms: dict[str, float] = {}

    def forward(self, z_student: torch.Tensor, z_teacher: torch.Tensor) -> torch.Tensor:
        terms: ToMCLIPTerms = tomclip_loss_terms(z_student, z_teacher, **self.settings)
        self.last_terms = terms.as_floats()
        return terms.total

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.settings.items())


class TopologicalAlignmentLoss(nn.Module):
    """:func:`topological_alignment_loss` with fixed settings.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import TopologicalAlignmentLoss
    >>> loss_fn = TopologicalAlignmentLoss(lam=None, n_directions=10)
    >>> z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    >>> float(loss_fn(z, z))
    0.0
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = _settings(topological_alignment_loss, settings)

    def forward(self, z_student: torch.Tensor, z_teacher: torch.Tensor) -> torch.Tensor:
        return topological_alignment_loss(z_student, z_teacher, **self.settings)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.settings.items())


class InfoNCELoss(nn.Module):
    """Symmetric InfoNCE (:func:`info_nce`) with a fixed or learnable temperature.

    Parameters
    ----------
    temperature : float, default 0.1
    learnable : bool, default False
        Learn ``log(1 / temperature)`` as a parameter (CLIP's logit scale).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import InfoNCELoss
    >>> round(float(InfoNCELoss()(torch.eye(3), torch.eye(3))), 6)
    9.1e-05
    """

    def __init__(self, temperature: float = 0.1, *, learnable: bool = False) -> None:
        super().__init__()
        t = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        if not isinstance(learnable, (bool, np.bool_)):
            raise TypeError(f"learnable must be True or False; got {learnable!r}")
        log_scale = torch.tensor(math.log(1.0 / t), dtype=torch.float64)
        if learnable:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    @property
    def temperature(self) -> float:
        return float(torch.exp(-self.log_scale.detach()))

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        if isinstance(self.log_scale, nn.Parameter):
            za, zb = _check_inputs(z_a, z_b)
            return _info_nce(za, zb, torch.exp(self.log_scale).to(za.dtype))
        return info_nce(z_a, z_b, temperature=self.temperature)


class SheafConsistencyLoss(nn.Module):
    r"""One SheafAlign edge: learnable restriction maps and their duals, with the edge's loss.

    Holds :math:`P_{i\to e} \in \mathbb R^{d_e\times d_i}`,
    :math:`P_{j\to e} \in \mathbb R^{d_e\times d_j}` and the dual maps
    :math:`Q_{e\to i}, Q_{e\to j}`; ``forward(h_i, h_j)`` returns

    .. math::

        \lambda\,\|P_{i\to e}h_i - P_{j\to e}h_j\|^2
        + \beta\,\mathrm{InfoNCE}_\tau(P_{i\to e}h_i, P_{j\to e}h_j)
        + \gamma\,\big(\|Q_{e\to i}P_{i\to e}h_i - h_i\|^2
        + \|Q_{e\to j}P_{j\to e}h_j - h_j\|^2\big),

    sample-averaged, with SheafAlign's defaults λ = 1, β = 1, γ = 0.1,
    τ = 0.1 and :math:`d_e = \min(d_i, d_j) / 2`.

    Parameters
    ----------
    d_i, d_j : int
        Node embedding dimensions.
    d_e : int, optional
        Edge (comparison space) dimension; default ``max(1, min(d_i, d_j) // 2)``.
    lam, beta, gamma, temperature : float
    seed : int, optional
        Seed of the orthogonal initialisation of the maps (duals start as
        transposes, so ``Q P`` starts as a projection); a non-negative
        integer (``None``: 0).

    References
    ----------
    .. [1] SheafAlign, arXiv:2510.20540.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import SheafConsistencyLoss
    >>> edge = SheafConsistencyLoss(8, 6, seed=0)
    >>> edge.P_i.shape, edge.Q_j.shape
    (torch.Size([3, 8]), torch.Size([6, 3]))
    >>> g = torch.Generator().manual_seed(0)
    >>> loss = edge(torch.randn(16, 8, generator=g), torch.randn(16, 6, generator=g))
    >>> loss.backward()
    >>> edge.P_i.grad.shape
    torch.Size([3, 8])
    """

    def __init__(
        self,
        d_i: int,
        d_j: int,
        d_e: int | None = None,
        *,
        lam: float = 1.0,
        beta: float = 1.0,
        gamma: float = 0.1,
        temperature: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        d_i = check_int(d_i, "d_i", minimum=1)
        d_j = check_int(d_j, "d_j", minimum=1)
        d_e = max(1, min(d_i, d_j) // 2) if d_e is None else check_int(d_e, "d_e", minimum=1)
        self.lam = check_real(lam, "lam", low=0.0)
        self.beta = check_real(beta, "beta", low=0.0)
        self.gamma = check_real(gamma, "gamma", low=0.0)
        self.temperature = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        seed = 0 if seed is None else check_int(seed, "seed", minimum=0, maximum=2**64 - 1)
        g = torch.Generator().manual_seed(seed)

        def orthogonal(rows: int, cols: int) -> torch.Tensor:
            A = torch.randn(max(rows, cols), min(rows, cols), generator=g)
            Qm, _ = torch.linalg.qr(A)
            return Qm if rows >= cols else Qm.T

        self.P_i = nn.Parameter(orthogonal(d_e, d_i))
        self.P_j = nn.Parameter(orthogonal(d_e, d_j))
        self.Q_i = nn.Parameter(self.P_i.detach().T.clone())
        self.Q_j = nn.Parameter(self.P_j.detach().T.clone())

    def forward(self, h_i: torch.Tensor, h_j: torch.Tensor) -> torch.Tensor:
        dtype = as_tensor(h_i, "h_i").dtype
        P_i, P_j = self.P_i.to(dtype), self.P_j.to(dtype)
        consistency = sheaf_consistency_loss(h_i, h_j, P_i, P_j)  # validates h_i and h_j
        total = self.lam * consistency
        if self.beta > 0:
            z_i = check_value(h_i @ P_i.T, "the projection P_i h_i", ("h_i",))
            z_j = check_value(h_j @ P_j.T, "the projection P_j h_j", ("h_j",))
            za, zb = _check_inputs(z_i, z_j, ("P_i h_i", "P_j h_j"))
            total = total + self.beta * _info_nce(za, zb, 1.0 / self.temperature)
        if self.gamma > 0:
            total = total + self.gamma * (
                _reconstruction(h_i, P_i, self.Q_i.to(dtype), "mean", ("h_i", "P_i", "Q_i"))
                + _reconstruction(h_j, P_j, self.Q_j.to(dtype), "mean", ("h_j", "P_j", "Q_j"))
            )
        return check_value(total, "the edge loss", ("h_i", "h_j"))
