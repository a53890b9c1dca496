r"""The sliced Wasserstein distance between persistence diagrams (or planar point sets), in torch.

:func:`sliced_wasserstein` mirrors :func:`sheaftopo.persistence.sliced_wasserstein`
(same arguments, defaults and directions); :func:`_compare` is the one-axis
shortcut the ToMCLIP losses use for H0 deaths and H1 births.

References
----------
.. [1] M. Carrière, M. Cuturi, S. Oudot, "Sliced Wasserstein Kernel for
   Persistence Diagrams", ICML 2017.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._core.kernels import kernel_loader
from .._core.slicing import angles, quantile_plan
from .._core.threads import torch_selection
from .._validation import check_choice, check_int, check_real
from ._checks import as_tensor, check_same_device, power_of_two

__all__ = ["sliced_wasserstein"]

KINDS = ("diagram", "point_cloud")
_kernels = kernel_loader("sheaftopo.torch._sliced_kernels")
ESSENTIAL = ("raise", "drop")


def _as_points2(x: Any, name: str, essential: str = "raise") -> torch.Tensor:
    """A (n, 2) tensor of finite points; with ``essential="drop"`` deaths may be +inf."""
    x = as_tensor(x, name)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(
            f"{name} must be a diagram of shape (n_points, 2); got shape {tuple(x.shape)}"
        )
    ok = torch.isfinite(x)
    if essential == "drop":
        ok[:, 1] |= torch.isposinf(x[:, 1])
    if not bool(ok.all()):
        raise ValueError(
            f"{name} must be finite: remove essential points (death = inf) first, e.g. by "
            "using the finite diagrams of sheaftopo.torch.finite_h0_diagram, or pass "
            "essential='drop'; NaN (and an infinite birth) is never accepted"
        )
    return x


def _drop_essential(d1: torch.Tensor, d2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The finite parts of two diagrams with equally many essential points (``essential="drop"``).

    As :func:`sheaftopo.persistence.sliced_wasserstein`: different counts make
    every Wasserstein-type distance infinite, a ``ValueError``.
    """
    e1, e2 = torch.isposinf(d1[:, 1]), torch.isposinf(d2[:, 1])
    n1, n2 = int(e1.sum()), int(e2.sum())
    if n1 == 0 and n2 == 0:
        return d1, d2
    if n1 != n2:
        raise ValueError(
            f"dgm1 has {n1} essential point(s) (death = +inf) but dgm2 has {n2}; they cannot "
            "be matched to each other or to the diagonal, so every Wasserstein-type distance "
            "between these diagrams is infinite; essential='drop' only applies when the "
            "counts agree"
        )
    return d1[~e1], d2[~e2]


def _check_diagram_rows(d1: torch.Tensor, d2: torch.Tensor) -> None:
    """Every row of a persistence diagram has death >= birth (``kind="diagram"``)."""
    for name, d in (("dgm1", d1), ("dgm2", d2)):
        below = d[:, 1] < d[:, 0]
        if bool(below.any()):
            i = int(below.nonzero()[0])
            raise ValueError(
                f"{name} must be a persistence diagram (death >= birth in every row); row "
                f"{i} is {d[i].tolist()}. Planar point sets (e.g. ToMCLIP's (birth, 0) "
                "rows) take kind='point_cloud'"
            )


def _plain(value: Any, name: str) -> Any:
    """A tensor of real numbers as a numpy array (a constant, not differentiated); else as is."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers; got a tensor of dtype {value.dtype}")
        return value.detach().to("cpu", torch.float64).numpy()
    return value


def _root(s: torch.Tensor, p: float) -> torch.Tensor:
    """``s ** (1/p)`` with a zero (not NaN) gradient at ``s = 0``."""
    if p == 1.0:
        return s
    pos = s > 0
    safe = torch.where(pos, s, torch.ones_like(s))
    return torch.where(pos, safe ** (1.0 / p), torch.zeros_like(s))


def _weighted_lp(diff: torch.Tensor, weights: Any, p: float) -> torch.Tensor:
    r""":math:`(\sum w |\mathrm{diff}|^p)^{1/p}`, the p-th powers taken of ``diff / m``.

    ``m`` is a power of two with ``max|diff| / m`` in [1, 2): no p-th power
    overflows or underflows (large ``p`` included) and ``m * (...)^{1/p}`` is
    the exact rescaling. ``weights`` broadcasts against ``diff``.
    """
    m = power_of_two(diff)
    return m * _root((weights * (diff / m).abs().pow(p)).sum(), p)


def sliced_wasserstein(
    dgm1: torch.Tensor,
    dgm2: torch.Tensor,
    *,
    n_directions: int = 50,
    seed: Any = None,
    directions: Any = None,
    kind: str = "diagram",
    p: float | None = None,
    essential: str = "raise",
) -> torch.Tensor:
    r"""Sliced Wasserstein distance between two diagrams (or planar point sets), in torch.

    The same quantity as :func:`sheaftopo.persistence.sliced_wasserstein`
    (same arguments, defaults, directions, ``kind``, ``p`` and ``essential``
    conventions; a scalar tensor where it returns a float), differentiable in
    both arguments: sorting is differentiated through its permutation.

    Parameters
    ----------
    dgm1, dgm2 : Tensor, shape (n1, 2) and (n2, 2)
        Finite points (see ``essential`` for deaths ``+inf``). Same device and dtype.
        With ``kind="point_cloud"`` any planar points are accepted (e.g.
        ToMCLIP's ``(birth, 0)`` rows for H1).
    n_directions : int, default 50
    seed : optional
        ``None``: evenly spaced angles :math:`-\pi/2 + k\pi/M` (deterministic,
        so two calls give the same value and gradient). Otherwise angles
        drawn from this seed with numpy, as in the numpy function.
    directions : array_like, shape (M,), optional
        Angles in radians, used as given.
    kind : {"diagram", "point_cloud"}
        ``"diagram"``: Carrière–Cuturi–Oudot (each diagram augmented with the
        diagonal projections of the other's points), default ``p = 1``.
        ``"point_cloud"``: uniform probability measures on the points, as
        POT's ``sliced_wasserstein_distance``, default ``p = 2``.
    p : float, optional
        Order, >= 1.
    essential : {"raise", "drop"}, default "raise"
        Essential points (death ``+inf``): ``"raise"`` refuses them;
        ``"drop"`` removes them from both diagrams, provided both have the
        same number of them (else ``ValueError``), as in the numpy function.
        The finite diagrams of :func:`finite_h0_diagram` have none.

    Returns
    -------
    Tensor, shape ()
        On the inputs' device and dtype. Zero with a zero gradient for
        identical inputs. Computed on the diagrams divided by a power of two
        and with the p-th powers taken of differences divided by their
        largest (both exact rescalings), so any finite magnitude and any
        ``p`` work.

    Raises
    ------
    ValueError
        With ``kind="diagram"``, a row with death < birth (not a diagram); on
        essential points, see ``essential``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sliced_wasserstein
    >>> a = torch.tensor([[0.0, 1.0]])
    >>> b = torch.tensor([[0.0, 2.0]])
    >>> float(sliced_wasserstein(a, b, n_directions=4))  # doctest: +ELLIPSIS
    0.67677...
    """
    essential = check_choice(essential, "essential", ESSENTIAL)
    d1 = _as_points2(dgm1, "dgm1", essential)
    d2 = _as_points2(dgm2, "dgm2", essential)
    check_same_device({"dgm1": d1, "dgm2": d2})
    if d1.dtype != d2.dtype:
        raise ValueError(f"dgm1 and dgm2 must have the same dtype; got {d1.dtype} and {d2.dtype}")
    if essential == "drop":
        d1, d2 = _drop_essential(d1, d2)
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    kind = check_choice(kind, "kind", KINDS)
    if kind == "diagram":
        _check_diagram_rows(d1, d2)
    if p is None:
        p = 1.0 if kind == "diagram" else 2.0
    p = check_real(p, "p", low=1.0)
    theta = torch.as_tensor(
        angles(n_directions, seed, _plain(directions, "directions")),
        dtype=d1.dtype,
        device=d1.device,
    )
    U = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)  # (M, 2)
    n1, n2 = len(d1), len(d2)
    # keeps the graph (and device/dtype) for empty input; 0 * x before the sum, so that
    # entries near the largest float cannot overflow the sum to inf (and inf * 0 to NaN)
    zero = (d1 * 0.0).sum() + (d2 * 0.0).sum()
    # homogeneous of degree 1: computed on the diagrams divided by a power of two, exactly
    c = power_of_two(d1, d2)
    d1, d2 = d1 / c, d2 / c
    M = len(theta)
    if kind == "diagram":
        if n1 + n2 == 0:
            return zero
        diag1 = (0.5 * d1.sum(dim=1, keepdim=True)).expand(-1, 2)
        diag2 = (0.5 * d2.sum(dim=1, keepdim=True)).expand(-1, 2)
        a = torch.sort(torch.cat([d1, diag2]) @ U.T, dim=0).values
        b = torch.sort(torch.cat([d2, diag1]) @ U.T, dim=0).values
        return c * _weighted_lp(a - b, 1.0 / M, p)
    if n1 == 0 and n2 == 0:
        return zero
    if n1 == 0 or n2 == 0:
        which = "dgm1" if n1 == 0 else "dgm2"
        raise ValueError(
            f"kind='point_cloud' compares uniform probability measures and {which} has "
            "no points, so its measure is undefined; use kind='diagram'"
        )
    a = torch.sort(d1 @ U.T, dim=0).values
    b = torch.sort(d2 @ U.T, dim=0).values
    if n1 == n2:
        return c * _weighted_lp(a - b, 1.0 / (M * n1), p)
    i1, i2, w = quantile_plan(n1, n2)
    wt = torch.as_tensor(w, dtype=d1.dtype, device=d1.device)
    i1t = torch.as_tensor(i1, device=d1.device)
    i2t = torch.as_tensor(i2, device=d1.device)
    return c * _weighted_lp(a[i1t] - b[i2t], wt[:, None] / M, p)


def _wp_sorted(a: torch.Tensor, b: torch.Tensor, p: float) -> torch.Tensor:
    """W_p between the uniform measures on sorted 1-D values a (n1,) and b (n2,)."""
    if len(a) == len(b):
        return _weighted_lp(a - b, 1.0 / len(a), p)
    i1, i2, w = quantile_plan(len(a), len(b))
    wt = torch.as_tensor(w, dtype=a.dtype, device=a.device)
    i1t = torch.as_tensor(i1, device=a.device)
    i2t = torch.as_tensor(i2, device=a.device)
    return _weighted_lp(a[i1t] - b[i2t], wt, p)


def _sw_deaths(a: torch.Tensor, b: torch.Tensor, theta: np.ndarray, p: float) -> torch.Tensor:
    """:func:`sliced_wasserstein` (``kind="diagram"``) between ``{(0, a_i)}`` and ``{(0, b_j)}``.

    The diagrams of finite H0 deaths, births all 0, without re-validating them
    (the caller's values are finite and non-negative), on a non-CPU device
    (the CPU uses :class:`_DeathsSW`). The point ``(0, x)`` projects on
    ``u = (cos t, sin t)`` to ``x sin t`` and its diagonal projection
    ``(x/2, x/2)`` to ``x (cos t + sin t) / 2``, so each augmented diagram's
    projections are two scaled copies of the deaths: an (M, n1 + n2) matrix
    sorted row by row. The general function's number up to rounding (the
    diagonal term is one product instead of a sum of two).
    """
    zero = (a * 0.0).sum() + (b * 0.0).sum()
    if len(a) + len(b) == 0:
        return zero
    c = power_of_two(a, b)
    a, b = a / c, b / c
    sin = torch.as_tensor(np.sin(theta), dtype=a.dtype, device=a.device)[:, None]
    mid = torch.as_tensor(0.5 * (np.cos(theta) + np.sin(theta)), dtype=a.dtype, device=a.device)
    proj_s = torch.cat([sin * a, mid[:, None] * b], dim=1)
    proj_t = torch.cat([sin * b, mid[:, None] * a], dim=1)
    diff = torch.sort(proj_s, dim=1).values - torch.sort(proj_t, dim=1).values
    return c * _weighted_lp(diff, 1.0 / len(theta), p) + zero


class _DeathsSW(torch.autograd.Function):
    """SW of B pairs of H0 diagrams (deaths stored as segments) by the CPU kernel.

    :func:`._sliced_kernels.sw_deaths_segments`: each segment is sorted by
    merging two monotone runs, in parallel over the pairs, and the gradient
    comes with the value. ``a`` (Ka,) and ``b`` (Kb,) hold the deaths, pair
    ``s`` being ``a[off_a[s]:off_a[s + 1]]`` and ``b[off_b[s]:off_b[s + 1]]``.
    Returns the B values. First-order only (the backward is a saved vector).
    """

    @staticmethod
    def forward(
        ctx: Any, a: torch.Tensor, b: torch.Tensor, off_a: Any, off_b: Any, theta: Any, p: float
    ) -> Any:
        sin, mid = np.sin(theta), 0.5 * (np.cos(theta) + np.sin(theta))
        an = a.detach().to(torch.float64).numpy()
        bn = b.detach().to(torch.float64).numpy()
        pairs = len(off_a) - 1  # the kernel is parallel over the pairs only
        with torch_selection((an.size + bn.size) * len(theta) if pairs > 1 else 0):
            values, ga, gb = _kernels().sw_deaths_segments(an, off_a, bn, off_b, sin, mid, p)
        seg_a = torch.from_numpy(np.repeat(np.arange(len(off_a) - 1), np.diff(off_a)))
        seg_b = torch.from_numpy(np.repeat(np.arange(len(off_b) - 1), np.diff(off_b)))
        ga_t, gb_t = torch.from_numpy(ga).to(a.dtype), torch.from_numpy(gb).to(b.dtype)
        ctx.save_for_backward(ga_t, gb_t, seg_a, seg_b)
        return torch.from_numpy(values).to(a.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        ga, gb, seg_a, seg_b = ctx.saved_tensors
        return g[seg_a] * ga, g[seg_b] * gb, None, None, None, None


def _compare_segments(
    a: torch.Tensor,
    off_a: np.ndarray,
    b: torch.Tensor,
    off_b: np.ndarray,
    dim: int,
    **sw: Any,
) -> torch.Tensor:
    """:func:`_compare` for B pairs of value sets stored as segments: shape (B,).

    H0 diagrams on the CPU are one kernel call for the whole batch
    (:class:`_DeathsSW`); other kinds and devices compare pair by pair (each
    a sort and a handful of small tensor operations). Segments need not be
    sorted.
    """
    if sw["kind"] == "diagram" and a.device.type == "cpu":
        n_directions = check_int(sw["n_directions"], "n_directions", minimum=1)
        theta = angles(n_directions, sw["seed"], _plain(sw["directions"], "directions"))
        p = 1.0 if sw["p"] is None else check_real(sw["p"], "p", low=1.0)
        return _DeathsSW.apply(a, b, off_a, off_b, theta, p)
    pairs = zip(off_a[:-1], off_a[1:], off_b[:-1], off_b[1:], strict=True)
    return torch.stack(
        [
            _compare(torch.sort(a[i:j]).values, torch.sort(b[k:m]).values, dim, **sw)
            for i, j, k, m in pairs
        ]
    )


def _compare(
    values_s: torch.Tensor,
    values_t: torch.Tensor,
    dim: int,
    *,
    n_directions: int,
    seed: Any,
    directions: Any,
    kind: str,
    p: float | None,
) -> torch.Tensor:
    """Sliced Wasserstein between two persistence value sets (deaths or births, sorted).

    H0 is the diagram {(0, d)}; H1 (ToMCLIP's representation) the points
    {(b, 0)}. For ``kind="point_cloud"`` the points lie on one axis e, so every
    projection is a rescaling by <e, u_k> and
    ``SW_p^p = mean_k |<e, u_k>|^p * W_p^p(values)``: one sort instead of one
    per direction (the same number up to rounding). An empty set is the single
    value 0, as in ToMCLIP's code.
    """
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    theta = angles(n_directions, seed, _plain(directions, "directions"))
    if kind == "diagram":
        p = 1.0 if p is None else check_real(p, "p", low=1.0)
        if values_s.device.type == "cpu":
            off_s = np.array([0, len(values_s)], np.int64)
            off_t = np.array([0, len(values_t)], np.int64)
            return _DeathsSW.apply(values_s, values_t, off_s, off_t, theta, p)[0]
        return _sw_deaths(values_s, values_t, theta, p)
    p = 2.0 if p is None else check_real(p, "p", low=1.0)
    axis = np.abs(np.sin(theta) if dim == 0 else np.cos(theta))
    # (mean_k |<e, u_k>|^p)^(1/p) = top * (mean_k (|<e, u_k>| / top)^p)^(1/p): the
    # largest term is 1, so the mean is at least 1/M and nothing underflows for large p
    top = float(axis.max())
    factor = 0.0 if top == 0.0 else top * float(np.mean((axis / top) ** p)) ** (1.0 / p)
    if len(values_s) == 0:
        values_s = values_s.new_zeros(1)
    if len(values_t) == 0:
        values_t = values_t.new_zeros(1)
    return factor * _wp_sorted(values_s, values_t, p)
