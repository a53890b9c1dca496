r"""The local-covariance alignment term, differentiable (the geometry issue's Riemannian loss).

Neighbourhoods are chosen on detached copies (:func:`sheaftopo.geometry.knn_indices`);
the covariance of every neighbourhood and the divergence between paired
covariances are computed in torch, so gradients reach both embedding sets.
With ``shrinkage="ledoit_wolf"`` or ``"oas"`` the data-driven shrinkage
intensity is computed on the detached neighbourhoods and held constant in the
backward pass (as an estimated tuning constant); a float ``shrinkage`` makes
the loss an exact smooth function of the embeddings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._core.shrinkage import check_shrinkage, shrinkage_coefficients
from .._validation import check_choice, check_k
from ._checks import as_embeddings, check_pair, check_value, guard_grad, power_of_two
from ._spd import _EighFunction, spd_distance, stein_divergence

__all__ = ["local_alignment_loss"]

DIVERGENCES = ("stein", "affine", "log_euclidean", "bures", "von_neumann")


def _local_covariances(
    z: torch.Tensor, nbrs: np.ndarray, shrinkage: str | float | None
) -> torch.Tensor:
    n, d = z.shape
    idx = np.concatenate([np.arange(n)[:, None], nbrs], axis=1)  # (n, k + 1)
    Zb = z[torch.as_tensor(idx, device=z.device)]  # (n, s, d)
    s = Zb.shape[1]
    Zc = Zb - Zb.mean(dim=1, keepdim=True)
    emp = Zc.mT @ Zc / s
    if shrinkage is None:
        return emp
    coef_np = shrinkage_coefficients(
        Zc.detach().to("cpu", torch.float64).numpy(),
        emp.detach().to("cpu", torch.float64).numpy(),
        shrinkage,
    )
    coef = torch.as_tensor(coef_np, dtype=z.dtype, device=z.device)[:, None, None]
    mu = torch.diagonal(emp, dim1=-2, dim2=-1).sum(-1)[:, None, None] / d
    eye = torch.eye(d, dtype=z.dtype, device=z.device)
    return (1.0 - coef) * emp + coef * mu * eye


def local_alignment_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    k: int,
    divergence: str = "stein",
    shrinkage: Any = "ledoit_wolf",
) -> torch.Tensor:
    r"""Mean divergence between the local covariances of two paired embedding sets.

    The torch counterpart of :func:`sheaftopo.geometry.local_alignment`
    (same neighbourhoods — each point and its k nearest others —, same
    covariance and shrinkage formulas, same divergences), returning the
    mean of :math:`D(\Sigma^X_i, \Sigma^Y_i)` over the points:

    * ``"stein"``: :math:`\log\det\frac{A+B}{2} - \frac12\log\det(AB)`;
    * ``"affine"``, ``"log_euclidean"``, ``"bures"``: squared geodesic distance;
    * ``"von_neumann"``: :math:`\mathrm{tr}(A\log A - A\log B - A + B)`.

    Each is zero exactly when the covariances agree (the proposal's
    :math:`\mathrm{tr}(\Sigma_V\log\Sigma_T)` is not, see
    ``theory/spd-stein-divergence.md``).

    Parameters
    ----------
    x, y : Tensor, shape (n, d)
        Paired rows, same dimension, device and dtype.
    k : int
        Neighbours per point, ``1 <= k <= n - 1``.
    divergence : {"stein", "affine", "log_euclidean", "bures", "von_neumann"}
    shrinkage : {"ledoit_wolf", "oas", None} or float in [0, 1], default "ledoit_wolf"
        With ``k < d`` and no shrinkage the covariances are singular (error).

    Returns
    -------
    Tensor, shape ()

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import local_alignment_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    >>> float(local_alignment_loss(x, x + 5.0, k=6))   # translation: same covariances
    0.0
    >>> float(local_alignment_loss(x, 2.0 * x, k=6, shrinkage=0.1)) > 0
    True
    """
    from ..geometry import knn_indices  # geometry loads only when this loss is used

    x = as_embeddings(x, "x")
    y = as_embeddings(y, "y")
    check_pair(x, y, ("x", "y"))
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension to compare their covariances; got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    k = check_k(k, x.shape[0])
    divergence = check_choice(divergence, "divergence", DIVERGENCES)
    shrink = check_shrinkage(shrinkage)
    # covariances are homogeneous of degree 2: computed for x / c, y / c (c a power of
    # two, exact); stein, affine and log-Euclidean are invariant, bures and von Neumann
    # scale by c**2
    c = power_of_two(x, y)
    xs, ys = guard_grad(x, "x") / c, guard_grad(y, "y") / c
    nx = knn_indices(xs.detach().to("cpu", torch.float64).numpy(), k=k)
    ny = knn_indices(ys.detach().to("cpu", torch.float64).numpy(), k=k)
    SX = _local_covariances(xs, nx, shrink)
    SY = _local_covariances(ys, ny, shrink)
    try:
        if divergence == "stein":
            values = stein_divergence(SX, SY)
        elif divergence == "von_neumann":
            LX = _EighFunction.apply(0.5 * (SX + SX.mT), "log")
            LY = _EighFunction.apply(0.5 * (SY + SY.mT), "log")
            values = (SX * (LX - LY)).sum(dim=(-2, -1)) - torch.diagonal(
                SX - SY, dim1=-2, dim2=-1
            ).sum(-1)
        else:
            values = spd_distance(SX, SY, metric=divergence, squared=True)
    except ValueError as err:
        raise ValueError(
            f"the local covariances (k = {k}, shrinkage = {shrinkage!r}) are not all positive "
            f"definite: {err}. With k < d = {x.shape[1]} they are singular unless shrunk; "
            "pass shrinkage='ledoit_wolf' or a positive float"
        ) from None
    if divergence in ("bures", "von_neumann"):
        return check_value(values.mean() * c * c, f"the {divergence} divergence", ("x", "y"))
    return values.mean()
