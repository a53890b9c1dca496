r"""Differentiable 0-dimensional persistence and ToMCLIP's topological losses.

The pattern of every function here: the *combinatorial* part of persistence
(which edges are in a minimum spanning tree, which pairs survive
sparsification) is computed by :mod:`sheaftopo.persistence`'s numba kernels on
a detached float64 CPU copy; the *values* (the edge lengths) are then
recomputed in torch from the input at exactly those pairs, so gradients flow
to the embeddings. Away from ties between edge lengths (a measure-zero set)
the selection is locally constant and the gradient is the exact gradient of
the persistence diagram.

References
----------
.. [1] J. You, D. Kang, J.-H. Jung, "Topological Alignment of Shared
   Vision-Language Embedding Space" (ToMCLIP), arXiv:2510.10889, 2025, and
   its released code (github.com/junwon0/ToMCLIP).
.. [2] M. Carrière, M. Cuturi, S. Oudot, "Sliced Wasserstein Kernel for
   Persistence Diagrams", ICML 2017.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.special import logsumexp

from .._validation import check_choice, check_int, check_real
from ..persistence._diagram_distances import _angles, _quantile_plan
from ..persistence._mst import _mst_matrix, mst
from ..persistence._sparsify import CONVENTIONS, _pairs_below, _threshold
from ._checks import (
    as_embeddings,
    as_tensor,
    check_pair,
    check_same_device,
    check_value,
    euclidean_distances,
    guard_grad,
    power_of_two,
    row_powers_of_two,
)

__all__ = [
    "ToMCLIPTerms",
    "distance_matrix_loss",
    "h0_diagram",
    "h1_births",
    "pairwise_distances",
    "sliced_wasserstein",
    "tomclip_loss",
    "tomclip_loss_terms",
    "topological_alignment_loss",
]

METRICS = ("euclidean", "cosine")
KINDS = ("diagram", "point_cloud")


# ---------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------


def _unit_rows(z: torch.Tensor, name: str) -> torch.Tensor:
    """Rows divided by their norms, each row first scaled by a power of two (exact).

    The cosine dissimilarity is scale-free, so no row magnitude (1e-300 or
    1e300) may overflow or underflow its norm.
    """
    zs = z / row_powers_of_two(z)
    norms = torch.linalg.vector_norm(zs, dim=1, keepdim=True)
    if bool((norms == 0).any()):
        i = int((norms[:, 0] == 0).nonzero()[0])
        raise ValueError(
            f"{name} must not contain zero rows with metric='cosine' (the cosine "
            f"dissimilarity is undefined there); row {i} is zero"
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
        zs = z / c
        D = euclidean_distances(zs, zs)
        D = check_value(D * c, "a pairwise distance", (name,))
    return D - torch.diag_embed(torch.diagonal(D))


def _edge_lengths(z: torch.Tensor, u: torch.Tensor, v: torch.Tensor, metric: str,
                  name: str = "z") -> torch.Tensor:
    """Exact lengths of the edges (u[k], v[k]), differentiable in ``z`` (rescaled as _pairwise)."""
    if metric == "cosine":
        w = _unit_rows(z, name)
        return 0.5 * (w[u] - w[v]).square().sum(dim=1)
    c = power_of_two(z)
    zs = z / c
    lengths = torch.linalg.vector_norm(zs[u] - zs[v], dim=1) * c
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


# ---------------------------------------------------------------------------
# selection on the CPU (numba kernels), values in torch
# ---------------------------------------------------------------------------


def _numpy64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


@dataclass(frozen=True)
class _Selection:
    """Pairs selected on a detached copy: H0 deaths, H1 births, the scale pair."""

    h0: np.ndarray  # (k, 2) pairs whose lengths are the H0 deaths (see _select)
    h1: np.ndarray  # (m, 2) non-tree edges of the eps-graph
    scale_pair: np.ndarray | None  # (2,) pair whose length divides everything
    eps: float
    D: torch.Tensor | None  # the differentiable distance matrix the pairs were chosen from


def _select(
    z: torch.Tensor, D: torch.Tensor | None, lam: float | None, convention: str, metric: str
) -> _Selection:
    """The pairs of the (ε-sparsified, or with ``lam=None`` complete) graph of ``z``.

    Without ``D`` only the exact minimum spanning tree is selected, from the
    points (no n x n matrix); with ``D`` the tree, the cycle-closing edges
    and, for the "tomclip" convention, the scale pair, all from one copy of D.

    The H0 pairs of the "exact" convention with ``lam`` are those of the
    ε-graph's filtration *completed at T = max D* (theory/sparsification-bound.md):
    the minimum spanning tree edges of length <= ε, then the largest pair of D
    once for each of the ``c - 1`` merges of the ``c`` components of the ε-graph
    at T, so that those deaths are differentiable through the pair realising T.
    The "tomclip" convention keeps the ``n - c`` tree edges only.
    """
    if D is None:
        # the tree of z / c is the tree of z (c a power of two, per row for cosine)
        scaled = z / (row_powers_of_two(z) if metric == "cosine" else power_of_two(z))
        forest = mst(_numpy64(scaled), metric=metric)
        return _Selection(forest.edges, np.zeros((0, 2), np.int64), None, float("inf"), None)
    c = power_of_two(D)
    Dn = _numpy64(D) / c  # exact; mean and spread of D / c cannot overflow
    Dn = 0.5 * (Dn + Dn.T)  # selection on an exactly symmetric copy
    eps = float("inf") if lam is None else _threshold(Dn, lam, convention)
    tree = _mst_matrix(Dn).edges
    tree = tree[Dn[tree[:, 0], tree[:, 1]] <= eps]
    lo, hi = _pairs_below(Dn, eps)
    n = Dn.shape[0]
    pairs = tree
    merges = n - 1 - len(tree)  # c - 1: the components of the eps-graph merge at T
    if lam is not None and convention == "exact" and merges > 0:
        top = np.array(np.unravel_index(int(np.argmax(Dn)), Dn.shape), dtype=np.int64)
        pairs = np.concatenate([tree, np.tile(top, (merges, 1))])
    in_tree = np.isin(lo * n + hi, np.minimum(tree[:, 0], tree[:, 1]) * n
                      + np.maximum(tree[:, 0], tree[:, 1]))
    cycles = np.stack([lo[~in_tree], hi[~in_tree]], axis=1)
    scale_pair = None
    if lam is not None and convention == "tomclip" and len(lo):
        k = int(np.argmax(Dn[lo, hi]))
        if Dn[lo[k], hi[k]] > 0:
            scale_pair = np.array([lo[k], hi[k]])
    return _Selection(pairs, cycles, scale_pair, float(eps) * c, D)


def _lengths_at(
    z: torch.Tensor, pairs: np.ndarray, sel: _Selection, metric: str, name: str = "z"
) -> torch.Tensor:
    """Lengths at ``pairs`` (divided by the scale pair's length, if any), sorted ascending.

    Gathered from the selection's distance matrix when it has one (one cheap
    gather, however many pairs); otherwise (the exact H0 diagram, n - 1
    edges) recomputed exactly from the coordinates.
    """
    idx = torch.as_tensor(pairs, device=z.device, dtype=torch.long).reshape(-1, 2)
    if sel.D is not None:
        w = sel.D[idx[:, 0], idx[:, 1]]
    else:
        w = _edge_lengths(z, idx[:, 0], idx[:, 1], metric, name)
    if sel.scale_pair is not None:
        assert sel.D is not None
        w = w / sel.D[int(sel.scale_pair[0]), int(sel.scale_pair[1])]
    return torch.sort(w).values


def _check_lam(lam: Any) -> float | None:
    return None if lam is None else check_real(lam, "lam")


def _check_metric(z: torch.Tensor, metric: Any, name: str) -> str:
    metric = check_choice(metric, "metric", METRICS)
    if metric == "cosine":
        _unit_rows(z, name)
    return metric


def h0_diagram(
    z: torch.Tensor,
    *,
    lam: float | None = None,
    convention: str = "exact",
    metric: str = "euclidean",
) -> torch.Tensor:
    r"""The finite part of the H0 persistence diagram of a batch, differentiable.

    Without ``lam``: the Vietoris–Rips H0 diagram of the rows of ``z``. Its
    finite deaths are the edge lengths of a minimum spanning tree, selected by
    :func:`sheaftopo.persistence.mst` on a detached copy and recomputed in
    torch at those edges. With ``lam``: the diagram of ToMCLIP's
    :math:`\varepsilon`-sparsified graph, :math:`\varepsilon = \mu -
    \lambda\sigma` (see :func:`sheaftopo.persistence.sparsify` for the two
    conventions). With ``convention="exact"`` this is the diagram of the
    sparsified filtration *completed at* :math:`T = \max_{ij} D_{ij}`, the
    one :func:`sheaftopo.persistence.approximation_bound` bounds: the deaths
    :math:`\le \varepsilon` are the exact ones, and the :math:`m(\varepsilon)
    = c - 1` classes of the ε-graph's ``c`` components that the exact
    diagram kills after ε die at T (differentiably, through the pair at
    distance T). ``"tomclip"`` keeps the ``n - c`` finite deaths of the
    ε-graph only and divides every length by the largest kept one (that
    division is differentiated too).

    Parameters
    ----------
    z : Tensor, shape (n, d)
        Embeddings, n >= 2.
    lam : float, optional
        Sparsification parameter λ (ToMCLIP uses 0.5). ``None``: no sparsification.
    convention : {"exact", "tomclip"}
        As in :func:`sheaftopo.persistence.sparsify` (used only with ``lam``).
    metric : {"euclidean", "cosine"}

    Returns
    -------
    Tensor, shape (k, 2)
        Rows ``(0, death)`` in ascending order of death: ``k = n - 1`` without
        ``lam`` and with ``lam`` and ``convention="exact"`` (``c - 1`` of the
        deaths equal T); with ``convention="tomclip"``, the ``n - c`` deaths of
        the ε-graph (``c`` its components). The essential class (death
        :math:`+\infty`) is left out: there is one in every batch, so no
        Wasserstein-type loss depends on it.

    Notes
    -----
    The gradient with respect to ``z`` is that of the edge lengths at the
    selected edges; it is exact wherever the selection is locally constant,
    i.e. away from ties between distances. At ties it is the gradient along
    one minimum spanning tree (``theory/h0-gradient.md``). Coincident points
    give zero length and a zero (sub)gradient, never NaN.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import h0_diagram
    >>> z = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    >>> dgm = h0_diagram(z)
    >>> dgm
    tensor([[0., 1.],
            [0., 2.]], grad_fn=<StackBackward0>)
    >>> dgm[:, 1].sum().backward()
    >>> z.grad
    tensor([[-1.],
            [ 0.],
            [ 1.]])
    """
    z = guard_grad(as_embeddings(z, "z"), "z")
    lam = _check_lam(lam)
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(z, metric, "z")
    D = None if lam is None else _pairwise(z, metric)
    sel = _select(z, D, lam, convention, metric)
    return _diagram(z, sel, metric)


def _diagram(z: torch.Tensor, sel: _Selection, metric: str) -> torch.Tensor:
    deaths = _lengths_at(z, sel.h0, sel, metric)
    return torch.stack([torch.zeros_like(deaths), deaths], dim=1)


def h1_births(
    z: torch.Tensor,
    *,
    lam: float | None = 0.5,
    convention: str = "exact",
    metric: str = "euclidean",
) -> torch.Tensor:
    r"""Births of the 1-cycles of ToMCLIP's ε-graph of a batch, differentiable.

    The lengths of the edges of the ε-graph that are not in its minimum
    spanning forest: each closes a cycle, born at its length and never killed
    (the graph has no 2-cells). The numpy counterpart is
    :func:`sheaftopo.persistence.h1_births` of
    ``sparsify(D, lam=lam, convention=convention).graph``.

    Parameters
    ----------
    z : Tensor, shape (n, d)
    lam : float or None, default 0.5
        λ of the threshold; ``None`` uses the complete graph (every non-tree
        pair, :math:`\binom{n}{2} - n + 1` births).
    convention, metric
        As in :func:`h0_diagram`.

    Returns
    -------
    Tensor, shape (m,)
        The births in ascending order.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import h1_births
    >>> z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0]])
    >>> h1_births(z, lam=0.0)
    tensor([1.4142])
    """
    z = guard_grad(as_embeddings(z, "z"), "z")
    lam = _check_lam(lam)
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(z, metric, "z")
    sel = _select(z, _pairwise(z, metric), lam, convention, metric)
    return _lengths_at(z, sel.h1, sel, metric)


# ---------------------------------------------------------------------------
# sliced Wasserstein
# ---------------------------------------------------------------------------


def _as_points2(x: Any, name: str) -> torch.Tensor:
    x = as_tensor(x, name)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(
            f"{name} must be a diagram of shape (n_points, 2); got shape {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError(
            f"{name} must be finite: remove essential points (death = inf) first, e.g. by "
            "using the finite diagrams of sheaftopo.torch.h0_diagram; NaN is never accepted"
        )
    return x


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
) -> torch.Tensor:
    r"""Sliced Wasserstein distance between two diagrams (or planar point sets), in torch.

    The same quantity as :func:`sheaftopo.persistence.sliced_wasserstein`
    (same directions, same ``kind`` and ``p`` conventions), differentiable in
    both arguments: sorting is differentiated through its permutation.

    Parameters
    ----------
    dgm1, dgm2 : Tensor, shape (n1, 2) and (n2, 2)
        Finite points (drop essential classes first). Same device and dtype.
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
        With ``kind="diagram"``, a row with death < birth (not a diagram).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sliced_wasserstein
    >>> a = torch.tensor([[0.0, 1.0]])
    >>> b = torch.tensor([[0.0, 2.0]])
    >>> float(sliced_wasserstein(a, b, n_directions=4))  # doctest: +ELLIPSIS
    0.67677...
    """
    d1 = _as_points2(dgm1, "dgm1")
    d2 = _as_points2(dgm2, "dgm2")
    check_same_device({"dgm1": d1, "dgm2": d2})
    if d1.dtype != d2.dtype:
        raise ValueError(f"dgm1 and dgm2 must have the same dtype; got {d1.dtype} and {d2.dtype}")
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    kind = check_choice(kind, "kind", KINDS)
    if kind == "diagram":
        for name, d in (("dgm1", d1), ("dgm2", d2)):
            below = d[:, 1] < d[:, 0]
            if bool(below.any()):
                i = int(below.nonzero()[0])
                raise ValueError(
                    f"{name} must be a persistence diagram (death >= birth in every row); row "
                    f"{i} is {d[i].tolist()}. Planar point sets (e.g. ToMCLIP's (birth, 0) "
                    "rows) take kind='point_cloud'"
                )
    if p is None:
        p = 1.0 if kind == "diagram" else 2.0
    p = check_real(p, "p", low=1.0)
    theta = torch.as_tensor(_angles(n_directions, seed, _plain(directions, "directions")),
                            dtype=d1.dtype, device=d1.device)
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
    i1, i2, w = _quantile_plan(n1, n2)
    wt = torch.as_tensor(w, dtype=d1.dtype, device=d1.device)
    i1t = torch.as_tensor(i1, device=d1.device)
    i2t = torch.as_tensor(i2, device=d1.device)
    return c * _weighted_lp(a[i1t] - b[i2t], wt[:, None] / M, p)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------


def _wp_sorted(a: torch.Tensor, b: torch.Tensor, p: float) -> torch.Tensor:
    """W_p between the uniform measures on sorted 1-D values a (n1,) and b (n2,)."""
    if len(a) == len(b):
        return _weighted_lp(a - b, 1.0 / len(a), p)
    i1, i2, w = _quantile_plan(len(a), len(b))
    wt = torch.as_tensor(w, dtype=a.dtype, device=a.device)
    i1t = torch.as_tensor(i1, device=a.device)
    i2t = torch.as_tensor(i2, device=a.device)
    return _weighted_lp(a[i1t] - b[i2t], wt, p)


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
    """Sliced Wasserstein between two persistence value sets (sorted deaths or births).

    H0 is the diagram {(0, d)}; H1 (ToMCLIP's representation) the points
    {(b, 0)}. For ``kind="point_cloud"`` the points lie on one axis e, so every
    projection is a rescaling by <e, u_k> and
    ``SW_p^p = mean_k |<e, u_k>|^p * W_p^p(values)``: one sort instead of one
    per direction (the same number up to rounding). An empty set is the single
    value 0, as in ToMCLIP's code.
    """
    if kind == "diagram":
        ds = torch.stack([torch.zeros_like(values_s), values_s], dim=1)
        dt = torch.stack([torch.zeros_like(values_t), values_t], dim=1)
        return sliced_wasserstein(ds, dt, n_directions=n_directions, seed=seed,
                                  directions=directions, kind=kind, p=p)
    n_directions = check_int(n_directions, "n_directions", minimum=1)
    p = 2.0 if p is None else check_real(p, "p", low=1.0)
    theta = _angles(n_directions, seed, _plain(directions, "directions"))
    axis = np.abs(np.sin(theta) if dim == 0 else np.cos(theta))
    # (mean_k |<e, u_k>|^p)^(1/p), in logarithms: no underflow for large p
    with np.errstate(divide="ignore"):
        factor = float(np.exp((logsumexp(p * np.log(axis)) - np.log(len(axis))) / p))
    if len(values_s) == 0:
        values_s = values_s.new_zeros(1)
    if len(values_t) == 0:
        values_t = values_t.new_zeros(1)
    return factor * _wp_sorted(values_s, values_t, p)


def _pair_inputs(z_student: Any, z_teacher: Any) -> tuple[torch.Tensor, torch.Tensor]:
    check_same_device({"z_student": as_tensor(z_student, "z_student"),
                       "z_teacher": as_tensor(z_teacher, "z_teacher")})
    zs = as_embeddings(z_student, "z_student")
    zt = as_embeddings(z_teacher, "z_teacher")
    check_pair(zs, zt, ("z_student", "z_teacher"))
    return guard_grad(zs, "z_student"), guard_grad(zt, "z_teacher")


def _mse(a: torch.Tensor, b: torch.Tensor, what: str) -> torch.Tensor:
    """Mean squared difference, computed on ``(a - b) / m`` (``m`` a power of two), scaled back.

    No square overflows or underflows on the way; a value that genuinely does
    not fit the dtype raises, naming the embeddings.
    """
    c = power_of_two(a, b)
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

    ``dim=0``: between the finite H0 diagrams of :func:`h0_diagram` (with the
    ε-sparsification when ``lam`` is given). ``dim=1``: between the H1 births
    of :func:`h1_births`, represented as ToMCLIP does by the points
    ``(birth, 0)`` and compared as point clouds (``kind`` must be
    ``"point_cloud"``); an empty birth set is the single point ``(0, 0)``, as
    in ToMCLIP's code. The two batches may have different embedding
    dimensions (persistence is dimension-free) but must share device and dtype.

    Parameters
    ----------
    z_student, z_teacher : Tensor, shape (n, d_s) and (n, d_t)
        Typically the teacher is detached (frozen); gradients flow to both
        otherwise.
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
    Tensor, shape ()

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
    """
    zs, zt = _pair_inputs(z_student, z_teacher)
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
    a = _persistence_values(zs, dim, lam, convention, metric, "z_student")
    b = _persistence_values(zt, dim, lam, convention, metric, "z_teacher")
    return _compare(a, b, dim, n_directions=n_directions, seed=seed, directions=directions,
                    kind=kind, p=p)


def _persistence_values(
    z: torch.Tensor, dim: int, lam: float | None, convention: str, metric: str, name: str
) -> torch.Tensor:
    """Sorted H0 deaths (dim 0) or H1 births (dim 1), differentiable."""
    if dim == 0:
        D = None if lam is None else _pairwise(z, metric, name)
        sel = _select(z, D, lam, convention, metric)
        return _lengths_at(z, sel.h0, sel, metric, name)
    sel = _select(z, _pairwise(z, metric, name), lam, convention, metric)
    return _lengths_at(z, sel.h1, sel, metric, name)


def _sparsified_matrix(D: torch.Tensor, sel: _Selection | None) -> torch.Tensor:
    """ToMCLIP's thresholded (and, for "tomclip", max-normalised) distance matrix.

    Uses the threshold and scale pair already chosen by :func:`_select` for the
    same matrix (``sel=None``: no sparsification), so nothing is recomputed.
    """
    if sel is None:
        return D
    Dd = D.detach()
    keep = 0.5 * Dd + 0.5 * Dd.T <= sel.eps  # = 0.5 * (D + D^T) of _select, without overflow
    keep.fill_diagonal_(False)
    S = torch.where(keep, D, torch.zeros_like(D))
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
        return {k: float(getattr(self, k).detach()) for k in ("total", "mse", "distance",
                                                              "h0", "h1")}


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
    weights = {}
    for name, value in (("mse_weight", mse_weight), ("distance_weight", distance_weight),
                        ("h0_weight", h0_weight), ("h1_weight", h1_weight)):
        weights[name] = check_real(value, name, low=0.0)
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
    dist = h0 = h1 = zero
    needs_topology = weights["h0_weight"] > 0 or weights["h1_weight"] > 0
    if weights["distance_weight"] > 0 or needs_topology:
        Ds, Dt = _pairwise(zs, metric, "z_student"), _pairwise(zt, metric, "z_teacher")
        sel_s = _select(zs, Ds, lam, convention, metric)  # one selection per batch,
        sel_t = _select(zt, Dt, lam, convention, metric)  # shared by all terms
        if weights["distance_weight"] > 0:
            sparsified = lam is not None
            dist = _mse(_sparsified_matrix(Ds, sel_s if sparsified else None),
                        _sparsified_matrix(Dt, sel_t if sparsified else None),
                        "the distance-matrix term")
        if needs_topology:
            sw = {"n_directions": n_directions, "seed": seed, "directions": None,
                  "kind": kind, "p": None}
            if weights["h0_weight"] > 0:
                h0 = _compare(_lengths_at(zs, sel_s.h0, sel_s, metric, "z_student"),
                              _lengths_at(zt, sel_t.h0, sel_t, metric, "z_teacher"), 0, **sw)
            if weights["h1_weight"] > 0:
                h1 = _compare(_lengths_at(zs, sel_s.h1, sel_s, metric, "z_student"),
                              _lengths_at(zt, sel_t.h1, sel_t, metric, "z_teacher"), 1, **sw)
    total = check_value(
        weights["mse_weight"] * mse + weights["distance_weight"] * dist
        + weights["h0_weight"] * h0 + weights["h1_weight"] * h1,
        "the weighted total of the ToMCLIP loss", ("z_student", "z_teacher"))
    return ToMCLIPTerms(total=total, mse=mse, distance=dist, h0=h0, h1=h1)


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

