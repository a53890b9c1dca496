r"""Optimal-transport losses with gradients through the optimal plan.

The plan is computed by :mod:`sheaftopo.geometry` (POT's network simplex or
log-domain Sinkhorn) on a detached float64 CPU copy; the loss is then
:math:`\langle P, C(x, y)\rangle` with the ground cost :math:`C` computed in
torch on the inputs' device, plus (entropic case) the entropic term as a
constant. By the envelope theorem the gradient of the optimal value with
respect to the cost is the optimal plan, so this is the exact gradient of
:math:`W_p^p` wherever the optimal plan is unique (a subgradient otherwise),
and of the entropic optimum :math:`\mathrm{OT}_\varepsilon` (whose plan is
always unique) up to the Sinkhorn tolerance. No gradient flows to the
weights ``a``, ``b``.

References
----------
.. [1] G. Peyré, M. Cuturi, *Computational Optimal Transport*, 2019, §9.1.
.. [2] J. Feydy et al., "Interpolating between optimal transport and MMD using
   Sinkhorn divergences", AISTATS 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validation import check_real
from ._checks import as_tensor, check_finite, check_same_device, check_same_dtype

__all__ = ["sinkhorn_divergence", "transport_loss"]


def _cloud(x: Any, name: str) -> torch.Tensor:
    x = as_tensor(x, name)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(
            f"{name} must be a 2-D tensor of shape (n_points, dim) with n_points >= 1; got "
            f"shape {tuple(x.shape)}"
        )
    check_finite(x, name)
    return x


def _weights(w: Any) -> Any:
    if isinstance(w, torch.Tensor):
        return w.detach().to("cpu", torch.float64).numpy()
    return w


def _cost(x: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """``||x_i - y_j||**p`` in torch (centred on the pooled mean, as the numpy cost)."""
    c = (x.sum(dim=0) + y.sum(dim=0)) / (x.shape[0] + y.shape[0])
    d = torch.cdist(x - c, y - c)
    return d.square() if p == 2.0 else d.pow(p)


def _entropic_value(
    x: torch.Tensor, y: torch.Tensor, a: Any, b: Any, reg: float | None, p: float,
    max_iter: int, tol: float,
) -> torch.Tensor:
    from ..geometry import entropic_transport, exact_transport

    X = x.detach().to("cpu", torch.float64).numpy()
    Y = y.detach().to("cpu", torch.float64).numpy()
    if reg is None:
        res = exact_transport(X, Y, a=_weights(a), b=_weights(b), p=p, return_plan=True)
    else:
        res = entropic_transport(X, Y, reg=reg, a=_weights(a), b=_weights(b), p=p,
                                 max_iter=max_iter, tol=tol, return_plan=True)
    plan = torch.as_tensor(np.asarray(res.plan), dtype=x.dtype, device=x.device)
    value = (plan * _cost(x, y, p)).sum()
    return value + (res.cost - res.linear_cost)  # the entropic term, a constant


def _check_pair(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _cloud(x, "x"), _cloud(y, "y")
    check_same_device({"x": x, "y": y})
    check_same_dtype({"x": x, "y": y})
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension; got shapes {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    return x, y


def transport_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    a: Any = None,
    b: Any = None,
    reg: float | None = None,
    p: float = 2.0,
    max_iter: int = 10_000,
    tol: float = 1e-9,
) -> torch.Tensor:
    r"""Optimal transport cost between two weighted point clouds, differentiable in the points.

    ``reg=None``: the exact cost :math:`W_p^p = \min_{P\in\Pi(a,b)}\langle P,
    C\rangle` (the ``cost`` of :func:`sheaftopo.geometry.exact_transport`).
    ``reg > 0``: the entropic optimum :math:`\mathrm{OT}_\varepsilon =
    \langle P_\varepsilon, C\rangle + \varepsilon\,\mathrm{KL}(P_\varepsilon
    \| a\otimes b)` (the ``cost`` of
    :func:`sheaftopo.geometry.entropic_transport`, same convention).
    :math:`C_{ij} = \|x_i - y_j\|^p`.

    Parameters
    ----------
    x, y : Tensor, shape (n, d) and (m, d)
        Same device and dtype. The solver runs on the CPU (POT); the cost
        and the gradient are computed on the inputs' device.
    a, b : array_like or Tensor, shape (n,) and (m,), optional
        Weights summing to one (default uniform); not differentiated.
    reg : float, optional
        Entropic regularisation ε > 0, in the units of the cost.
    p : float, default 2.0
    max_iter, tol
        Sinkhorn settings (entropic case).

    Returns
    -------
    Tensor, shape ()

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import transport_loss
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([[0.5], [3.0]], dtype=torch.float64)
    >>> loss = transport_loss(x, y)  # (0.5**2 + 2**2) / 2
    >>> float(loss.detach())
    2.125
    >>> loss.backward()
    >>> x.grad.ravel().tolist()  # (x_i - y_matched) for each point, weight 1/2
    [-0.5, -2.0]
    """
    x, y = _check_pair(x, y)
    reg = None if reg is None else check_real(reg, "reg", low=0.0, low_inclusive=False)
    p = check_real(p, "p", low=1.0)
    return _entropic_value(x, y, a, b, reg, p, max_iter, tol)


def sinkhorn_divergence(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    reg: float,
    a: Any = None,
    b: Any = None,
    p: float = 2.0,
    max_iter: int = 10_000,
    tol: float = 1e-9,
) -> torch.Tensor:
    r"""The debiased Sinkhorn divergence, differentiable in the points.

    :math:`S_\varepsilon = \mathrm{OT}_\varepsilon(x, y) -
    \tfrac12\mathrm{OT}_\varepsilon(x, x) - \tfrac12\mathrm{OT}_\varepsilon(y, y)`,
    as :func:`sheaftopo.geometry.sinkhorn_divergence`; each term is
    differentiated through its own plan (in both arguments for the
    self-transport terms). Non-negative, zero (with zero gradient) for
    identical inputs.

    Parameters
    ----------
    x, y : Tensor, shape (n, d) and (m, d)
    reg : float
        ε > 0.
    a, b, p, max_iter, tol
        As in :func:`transport_loss`.

    Returns
    -------
    Tensor, shape ()

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sinkhorn_divergence
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(20, 2, generator=g, dtype=torch.float64)
    >>> abs(float(sinkhorn_divergence(x, x, reg=0.1))) < 1e-10
    True
    """
    x, y = _check_pair(x, y)
    reg = check_real(reg, "reg", low=0.0, low_inclusive=False)
    p = check_real(p, "p", low=1.0)
    xy = _entropic_value(x, y, a, b, reg, p, max_iter, tol)
    xx = _entropic_value(x, x, a, a, reg, p, max_iter, tol)
    yy = _entropic_value(y, y, b, b, reg, p, max_iter, tol)
    return xy - 0.5 * (xx + yy)
