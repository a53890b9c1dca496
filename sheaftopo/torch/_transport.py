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

from .._core.deprecation import REMOVED_IN
from .._validation import check_int, check_real
from ._checks import (
    as_tensor,
    check_finite,
    check_same_device,
    check_same_dtype,
    check_value,
    euclidean_distances,
    guard_grad,
    power_of_two,
    renamed_keywords,
)

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


def _cost(xs: torch.Tensor, ys: torch.Tensor, p: float, c: float) -> torch.Tensor:
    """``||x_i - y_j||**p`` in torch from ``xs = x / c``, ``ys = y / c`` (c a power of two).

    Centred on the pooled mean, as the numpy cost; the distances are computed
    at unit scale and multiplied by ``c`` (exact), so only a cost that does
    not fit the dtype overflows.
    """
    centre = (xs.sum(dim=0) + ys.sum(dim=0)) / (xs.shape[0] + ys.shape[0])
    d = euclidean_distances(xs - centre, ys - centre) * c
    return d.square() if p == 2.0 else d.pow(p)


def _power(c: float, p: float) -> float:
    """``c ** p`` as a float (inf or 0 beyond the float64 range, never OverflowError)."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.power(np.float64(c), p))


def _entropic_value(
    x: torch.Tensor,
    y: torch.Tensor,
    a: Any,
    b: Any,
    reg: float | None,
    p: float,
    max_iter: int,
    tol: float,
    names: tuple[str, str] = ("x", "y"),
) -> torch.Tensor:
    """The (entropic) optimal cost, the plan solved at unit scale (homogeneity in the points)."""
    from ..geometry import entropic_transport, exact_transport

    c = power_of_two(x, y)
    xs, ys = x / c, y / c
    X = xs.detach().to("cpu", torch.float64).numpy()
    Y = ys.detach().to("cpu", torch.float64).numpy()
    if reg is None:
        res = exact_transport(X, Y, a=_weights(a), b=_weights(b), p=p, return_plan=True)
        entropic = 0.0
    else:
        # the plan of (C, reg) is the plan of (C / c**p, reg / c**p)
        with np.errstate(over="ignore", under="ignore"):
            reg_scaled = float(np.exp(np.log(reg) - p * np.log(c)))
        if not (reg_scaled > np.finfo(np.float64).tiny and np.isfinite(reg_scaled)):
            raise ValueError(
                f"reg = {reg!r} is out of proportion to the cost (points of magnitude "
                f"{c:.3g}, p = {p}): reg / max|x|**p = {reg_scaled:.3g} does not fit in float64"
            )
        res = entropic_transport(
            X,
            Y,
            reg=reg_scaled,
            a=_weights(a),
            b=_weights(b),
            p=p,
            max_iter=max_iter,
            tol=tol,
            return_plan=True,
        )
        entropic = (res.cost - res.linear_cost) * _power(c, p)  # a constant of the points
    plan = torch.as_tensor(np.asarray(res.plan), dtype=x.dtype, device=x.device)
    value = (plan * _cost(xs, ys, p, c)).sum() + entropic
    return check_value(value, "the transport cost", names)


def _check_solver(
    reg: Any, p: Any, max_iter: Any, tol: Any, *, reg_required: bool
) -> tuple[float | None, float, int, float]:
    """The solver settings, all checked whether or not they are used."""
    if reg is not None or reg_required:
        reg = check_real(reg, "reg", low=0.0, low_inclusive=False)
    p = check_real(p, "p", low=1.0)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    return reg, p, max_iter, tol


def _check_pair(
    x: Any, y: Any, names: tuple[str, str] = ("x", "y")
) -> tuple[torch.Tensor, torch.Tensor]:
    nx, ny = names
    x, y = _cloud(x, nx), _cloud(y, ny)
    check_same_device({nx: x, ny: y})
    check_same_dtype({nx: x, ny: y})
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{nx} and {ny} must have the same dimension; got shapes {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    return guard_grad(x, nx), guard_grad(y, ny)


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
        Sinkhorn settings (entropic case); checked (an integer >= 1 and a
        finite positive number) in every case.

    Notes
    -----
    The plan is solved for the points divided by a power of two (exactly;
    ``reg`` divided by its p-th power), so coordinates from 1e-300 to 1e300
    work; a cost that does not fit the dtype raises ``ValueError`` naming
    ``x`` and ``y``.

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
    reg, p, max_iter, tol = _check_solver(reg, p, max_iter, tol, reg_required=False)
    return _entropic_value(x, y, a, b, reg, p, max_iter, tol)


@renamed_keywords(REMOVED_IN, x="X", y="Y")
def sinkhorn_divergence(
    X: torch.Tensor,
    Y: torch.Tensor,
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
    for the point clouds ``x = X``, ``y = Y``: the ``cost`` of
    :func:`sheaftopo.geometry.sinkhorn_divergence` (same arguments and
    defaults, save ``return_plan``: this returns the value alone, as a
    tensor; the keywords ``x=``, ``y=`` of earlier releases still work until
    sheaftopo 0.3, with a ``DeprecationWarning``). Each term is
    differentiated through its own plan (in both arguments for the
    self-transport terms). Non-negative, zero (with zero gradient) for
    identical inputs.

    Parameters
    ----------
    X, Y : Tensor, shape (n, d) and (m, d)
        Same device and dtype.
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
    x, y = _check_pair(X, Y, ("X", "Y"))
    checked, p, max_iter, tol = _check_solver(reg, p, max_iter, tol, reg_required=True)
    assert checked is not None  # reg_required: _check_solver refused None
    reg = checked
    xy = _entropic_value(x, y, a, b, reg, p, max_iter, tol, ("X", "Y"))
    xx = _entropic_value(x, x, a, a, reg, p, max_iter, tol, ("X", "Y"))
    yy = _entropic_value(y, y, b, b, reg, p, max_iter, tol, ("X", "Y"))
    return xy - 0.5 * (xx + yy)
