r"""Differentiable 0-dimensional persistence of a batch: H0 deaths and H1 births.

The pattern of every function here: the *combinatorial* part of persistence
(which edges are in a minimum spanning tree, which pairs survive
sparsification) is computed by :mod:`sheaftopo.persistence`'s numba kernels on
a detached float64 CPU copy; the *values* (the edge lengths) are then
recomputed in torch from the input at exactly those pairs, so gradients flow
to the embeddings. Away from ties between edge lengths (a measure-zero set)
the selection is locally constant and the gradient is the exact gradient of
the persistence diagram.

The names differ from the numpy ones on purpose: :func:`finite_h0_diagram`
returns the ``n - 1`` *finite* rows (and takes ToMCLIP's ``lam``) where
:func:`sheaftopo.persistence.h0_diagram` returns all ``n`` rows including
``(0, inf)``; :func:`sparsified_h1_births` builds the ε-graph from points where
:func:`sheaftopo.persistence.h1_births` takes a graph.

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

from .._core.mst import dense_mst
from .._core.screening import CONVENTIONS, pairs_below, threshold
from .._core.threads import torch_selection
from .._validation import check_choice, check_real
from ..persistence import mst
from ._checks import as_embeddings, guard_grad, power_of_two, row_powers_of_two
from ._distances import _check_metric, _edge_lengths, _pairwise

__all__ = ["finite_h0_diagram", "sparsified_h1_births"]


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
        with torch_selection(scaled.numel()):  # numba threads <= torch's (_core/threads.py)
            forest = mst(_numpy64(scaled), metric=metric)
        return _Selection(forest.edges, np.zeros((0, 2), np.int64), None, float("inf"), None)
    c = power_of_two(D)
    Dn = _numpy64(D) / c  # exact; mean and spread of D / c cannot overflow
    Dn = 0.5 * (Dn + Dn.T)  # selection on an exactly symmetric copy
    eps = float("inf") if lam is None else threshold(Dn, lam, convention)
    tree = dense_mst(Dn).edges
    tree = tree[Dn[tree[:, 0], tree[:, 1]] <= eps]
    lo, hi = pairs_below(Dn, eps)
    n = Dn.shape[0]
    pairs = tree
    merges = n - 1 - len(tree)  # c - 1: the components of the eps-graph merge at T
    if lam is not None and convention == "exact" and merges > 0:
        top = np.array(np.unravel_index(int(np.argmax(Dn)), Dn.shape), dtype=np.int64)
        pairs = np.concatenate([tree, np.tile(top, (merges, 1))])
    in_tree = np.isin(
        lo * n + hi, np.minimum(tree[:, 0], tree[:, 1]) * n + np.maximum(tree[:, 0], tree[:, 1])
    )
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


def finite_h0_diagram(
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

    Relation to :func:`sheaftopo.persistence.h0_diagram`: that function
    returns all ``n`` rows of the (unsparsified) diagram, the last one the
    essential ``(0, inf)``; without ``lam`` this one returns the other
    ``n - 1`` rows, the same deaths (to rounding: they are recomputed from the
    coordinates in torch), as a tensor. Hence the different name; the old
    name ``sheaftopo.torch.h0_diagram`` still works until sheaftopo 0.3, with a
    ``DeprecationWarning``.

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
    >>> from sheaftopo.torch import finite_h0_diagram
    >>> z = torch.tensor([[0.0], [1.0], [3.0]], requires_grad=True)
    >>> dgm = finite_h0_diagram(z)
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


def sparsified_h1_births(
    z: torch.Tensor,
    *,
    lam: float | None = 0.5,
    convention: str = "exact",
    metric: str = "euclidean",
) -> torch.Tensor:
    r"""Births of the 1-cycles of ToMCLIP's ε-graph of a batch, differentiable.

    The lengths of the edges of the ε-graph that are not in its minimum
    spanning forest: each closes a cycle, born at its length and never killed
    (the graph has no 2-cells).

    Relation to :func:`sheaftopo.persistence.h1_births`: that function takes
    a graph; this one takes points and builds the graph itself, so
    ``sparsified_h1_births(z, lam=lam, convention=convention, metric=metric)``
    is ``h1_births(sparsify(D, lam=lam, convention=convention).graph)`` with
    ``D = pairwise_distances(z, metric=metric)`` (the same births to rounding,
    as a tensor; with ``convention="tomclip"`` both divide by the largest
    kept distance). Hence the different name; the
    old name ``sheaftopo.torch.h1_births`` still works until sheaftopo 0.3,
    with a ``DeprecationWarning``.

    Parameters
    ----------
    z : Tensor, shape (n, d)
    lam : float or None, default 0.5
        λ of the threshold; ``None`` uses the complete graph (every non-tree
        pair, :math:`\binom{n}{2} - n + 1` births).
    convention, metric
        As in :func:`finite_h0_diagram`.

    Returns
    -------
    Tensor, shape (m,)
        The births in ascending order.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch import sparsified_h1_births
    >>> z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0]])
    >>> sparsified_h1_births(z, lam=0.0)
    tensor([1.4142])
    """
    z = guard_grad(as_embeddings(z, "z"), "z")
    lam = _check_lam(lam)
    convention = check_choice(convention, "convention", CONVENTIONS)
    metric = _check_metric(z, metric, "z")
    sel = _select(z, _pairwise(z, metric), lam, convention, metric)
    return _lengths_at(z, sel.h1, sel, metric)
