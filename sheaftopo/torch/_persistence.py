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
from functools import cached_property
from typing import Any

import numpy as np
import torch

from .._core.kernels import kernel_loader
from .._core.mst import NO_COORDS, mst_kernels
from .._core.scaling import GRAM_GUARD
from .._core.screening import CONVENTIONS, threshold
from .._core.threads import torch_selection
from .._validation import check_choice, check_real
from ..persistence import mst, mst_batch
from ._checks import (
    as_embeddings,
    check_value,
    guard_grad,
    power_of_two,
    row_powers_of_two,
    stack_powers_of_two,
)
from ._distances import SAFE_SCALE, _check_metric, _edge_lengths, _pairwise

__all__ = ["finite_h0_diagram", "sparsified_h1_births"]

_kernels = kernel_loader("sheaftopo.torch._distance_kernels")


def _numpy64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


@dataclass(frozen=True)
class _Selection:
    """Pairs selected on a detached copy: H0 deaths, and lazily H1 births and the scale pair.

    ``Dn`` is the exactly symmetric float64 copy ``D / c`` the pairs were chosen
    from (``None`` for the exact tree selected from the points), ``eps`` the
    threshold in the units of ``D``. The H1 pairs and ToMCLIP's scale pair
    need the ε-graph's edge mask (an n² scan); they are computed on first use,
    so a loss that needs neither (the H0 term with the "exact" convention)
    never pays for it.
    """

    h0: np.ndarray  # (k, 2) pairs whose lengths are the H0 deaths (see _select)
    tree: np.ndarray  # (t, 2) minimum spanning tree edges of length <= eps
    Dn: np.ndarray | None  # (n, n) symmetric float64 copy of D / c
    c: float  # the power of two D was divided by
    eps: float  # threshold in the units of D (inf: no sparsification)
    convention: str
    D: torch.Tensor | None  # the _pairwise matrix to gather lengths from (None: recompute)

    @cached_property
    def kept(self) -> np.ndarray:
        """(n, n) bool: the pairs i < j with ``Dn[i, j] <= eps`` (the ε-graph's edges)."""
        if self.Dn is None:
            return np.zeros((0, 0), np.bool_)
        return np.triu(self.Dn <= self.eps / self.c, 1)

    @cached_property
    def h1(self) -> np.ndarray:
        """(m, 2) pairs below ``eps`` not in the tree (row-major): the cycle-closing edges."""
        if self.Dn is None:
            return np.zeros((0, 2), np.int64)
        cycles = self.kept.copy()
        t = np.sort(self.tree, axis=1)
        cycles[t[:, 0], t[:, 1]] = False
        return np.stack(np.nonzero(cycles), axis=1).astype(np.int64, copy=False)

    @cached_property
    def scale_pair(self) -> np.ndarray | None:
        """(2,) the largest kept pair (first in row-major order), whose length divides
        everything in the "tomclip" convention; None otherwise or when it has length 0."""
        if self.Dn is None or self.convention != "tomclip" or not np.isfinite(self.eps):
            return None
        masked = np.where(self.kept, self.Dn, -1.0)
        k = int(np.argmax(masked))
        if masked.flat[k] <= 0:
            return None
        return np.array(np.unravel_index(k, masked.shape), dtype=np.int64)


def _selection_matrices(z: torch.Tensor, metric: str, name: str = "z") -> np.ndarray:
    """Distance matrices of a stack ``z`` (B, n, d) for choosing pairs only: (B, n, n) float64.

    Detached and exactly symmetric with a zero diagonal. Euclidean on the CPU:
    one batched symmetric BLAS product and
    :func:`._distance_kernels.gram_distances_batch` (in parallel over B),
    about 40% less work than ``torch.cdist``, which multiplies twice as much
    (2026-12-03, 2-core machine, 256 x 512 float32: 0.44 against 0.73 ms of
    thread time). Each element is divided by its own power of two when its
    magnitude calls for it (exact). Elsewhere: the differentiable function's
    own matrices, detached and symmetrised.
    """
    if metric != "euclidean" or z.device.type != "cpu":
        with torch.no_grad():
            mats = [_numpy64(_pairwise(zb.detach(), metric, name)) for zb in z]
        return np.stack([0.5 * M + 0.5 * M.T for M in mats])
    with torch.no_grad():
        zd = z.detach().contiguous()
        c = stack_powers_of_two(zd)  # max / c in [1, 2), per element
        scaled = bool(((c < SAFE_SCALE[0]) | (c > SAFE_SCALE[1])).any())
        if scaled:
            zd = zd / c[:, None, None]
        G = torch.matmul(zd, zd.mT)
    Zn = zd.numpy()
    tol = GRAM_GUARD * Zn.shape[2] * float(np.finfo(Zn.dtype).eps)
    # numba threads <= torch's (_core/threads.py); the kernel is parallel over the
    # stack only, so a single batch runs serial without consulting the machine's load
    with torch_selection(Zn.size if len(Zn) > 1 else 0):
        D = _kernels().gram_distances_batch(G.numpy(), Zn, tol)
    if scaled:
        with np.errstate(over="ignore"):
            D *= c.to(torch.float64).numpy()[:, None, None]  # exact
        if not np.isfinite(D.max()):
            raise ValueError(
                f"a pairwise distance does not fit in float64 (it overflows at the magnitude "
                f"of {name}); rescale {name}"
            )
    return D


def _selection_matrix(z: torch.Tensor, metric: str, name: str = "z") -> torch.Tensor:
    """The (n, n) :func:`_selection_matrices` of one batch ``z`` (n, d), as a CPU tensor.

    Deaths chosen on it come from :func:`_edge_lengths` at the chosen pairs (an
    O(k d) backward instead of the O(n² d) one of a differentiable matrix).
    """
    return torch.from_numpy(_selection_matrices(z[None], metric, name)[0])


def _select(
    z: torch.Tensor,
    D: torch.Tensor | None,
    lam: float | None,
    convention: str,
    metric: str,
    *,
    symmetric: bool = False,
) -> _Selection:
    """The pairs of the (ε-sparsified, or with ``lam=None`` complete) graph of ``z``.

    Without ``D`` only the exact minimum spanning tree is selected, from the
    points (no n x n matrix); with ``D`` the tree and, on demand
    (:class:`_Selection`), the cycle-closing edges and, for the "tomclip"
    convention, the scale pair, all from one copy of D. ``D`` may be
    differentiable (its entries are then gathered as the lengths) or a
    :func:`_selection_matrix` (lengths recomputed from the coordinates; with
    ``symmetric=True`` it is used as it is, without a symmetrised copy).
    """
    if D is None:
        # the tree of z / c is the tree of z (c a power of two, per row for cosine)
        scaled = z / (row_powers_of_two(z) if metric == "cosine" else power_of_two(z))
        with torch_selection(scaled.numel()):  # numba threads <= torch's (_core/threads.py)
            forest = mst(_numpy64(scaled), metric=metric)
        return _exact_tree(forest, convention)
    Dn = _numpy64(D)  # a view when D is already a float64 CPU tensor (never written to)
    if symmetric and Dn.dtype == np.float64:  # a _selection_matrix: used as it is
        c = 1.0
    else:
        c = power_of_two(D)
        Dn = Dn / c  # exact; the symmetrised sum cannot overflow
        Dn = 0.5 * (Dn + Dn.T)  # selection on an exactly symmetric copy
    parent, _ = mst_kernels().prim_dense(Dn, np.zeros(len(Dn)), 1.0, NO_COORDS, 0.0)
    # lengths: gathered from a differentiable matrix, recomputed for a selection matrix
    return _finish(Dn, parent, lam, convention, c, None if symmetric else D)


def _exact_tree(forest: Any, convention: str) -> _Selection:
    """The :class:`_Selection` of an exact minimum spanning tree (no sparsification)."""
    return _Selection(forest.edges, forest.edges, None, 1.0, float("inf"), convention, None)


def _finish(
    Dn: np.ndarray,
    parent: np.ndarray,
    lam: float | None,
    convention: str,
    c: float,
    D: torch.Tensor | None,
) -> _Selection:
    """The :class:`_Selection` of a symmetric matrix ``Dn`` (= D / c) and its Prim tree ``parent``.

    The H0 pairs of the "exact" convention with ``lam`` are those of the
    ε-graph's filtration *completed at T = max D* (theory/sparsification-bound.md):
    the minimum spanning tree edges of length <= ε, then the largest pair of D
    once for each of the ``c - 1`` merges of the ``c`` components of the ε-graph
    at T, so that those deaths are differentiable through the pair realising T.
    The "tomclip" convention keeps the ``n - c`` tree edges only.
    """
    eps = float("inf") if lam is None else threshold(Dn, lam, convention)
    tree = np.stack([parent[1:], np.arange(1, len(Dn))], axis=1)
    tree = tree[Dn[tree[:, 0], tree[:, 1]] <= eps]
    pairs = tree
    merges = len(Dn) - 1 - len(tree)  # c - 1: the components of the eps-graph merge at T
    if lam is not None and convention == "exact" and merges > 0:
        top = np.array(np.unravel_index(int(np.argmax(Dn)), Dn.shape), dtype=np.int64)
        pairs = np.concatenate([tree, np.tile(top, (merges, 1))])
    return _Selection(pairs, tree, Dn, c, float(eps) * c, convention, D)


def _select_batch(
    z: torch.Tensor, lam: float | None, convention: str, metric: str, name: str = "z"
) -> list[_Selection]:
    """:func:`_select` for every batch of a stack ``z`` (B, n, d), the kernels called once.

    Without ``lam``: the exact trees from the points, one :func:`mst_batch`
    call. With ``lam``: the :func:`_selection_matrices` and one parallel Prim
    over the stack; only the thresholds (one O(n²) numpy pass each) are per batch.
    Lengths are recomputed from the coordinates (no matrix is kept).
    """
    B, n, _ = z.shape
    if lam is None and B == 1:
        return [_select(z[0], None, None, convention, metric)]  # mst picks its method
    if lam is None:
        # the tree of z / c is the tree of z (c a power of two, per row for cosine)
        if metric == "cosine":
            scaled = z / row_powers_of_two(z.reshape(B * n, -1)).view(B, n, 1)
        else:
            scaled = z / power_of_two(z)
        with torch_selection(scaled.numel()):  # numba threads <= torch's (_core/threads.py)
            forests = mst_batch(_numpy64(scaled), metric=metric)
        return [_exact_tree(f, convention) for f in forests]
    Dn = _selection_matrices(z, metric, name)
    with torch_selection(Dn.size if B > 1 else 0):  # parallel over the stack only
        parents, _ = mst_kernels().prim_dense_batch(
            Dn, np.zeros((B, n)), 1.0, np.zeros((B, 0, 0)), 0.0
        )
    return [_finish(Dn[b], parents[b], lam, convention, 1.0, None) for b in range(B)]


def _lengths_segments(
    z: torch.Tensor, pairs: list[np.ndarray], sels: list[_Selection], metric: str, name: str
) -> tuple[torch.Tensor, np.ndarray]:
    """The lengths at ``pairs[b]`` of every batch of ``z`` (B, n, d), as segments.

    One gather and one norm for the whole stack (:func:`_edge_lengths` on the
    flattened rows); segment ``b`` is divided by the length of its selection's
    scale pair, if any. Returns the flat lengths (unsorted) and the offsets
    (B + 1,).
    """
    B, n, _ = z.shape
    counts = np.array([len(p) for p in pairs], dtype=np.int64)
    scaled = [b for b in range(B) if sels[b].scale_pair is not None]
    idx = np.concatenate(
        [np.asarray(p, np.int64).reshape(-1, 2) + b * n for b, p in enumerate(pairs)]
        + [sels[b].scale_pair.reshape(1, 2) + b * n for b in scaled]  # type: ignore[union-attr]
    )
    t = torch.as_tensor(idx, device=z.device)
    K = int(counts.sum())
    c = stack_powers_of_two(z) if metric == "euclidean" and B > 1 else None
    if c is not None and bool(((c < SAFE_SCALE[0]) | (c > SAFE_SCALE[1])).any()):
        # each batch on its own exact scale, lengths times c[b]: one batch's 1e300
        # must not underflow another's 1e-300 (a single batch is scaled by _edge_lengths)
        seg_all = np.concatenate([np.repeat(np.arange(B), counts), scaled]).astype(np.int64)
        w = _edge_lengths((z / c[:, None, None]).reshape(B * n, -1), t[:, 0], t[:, 1], metric)
        w = check_value(w * c[torch.as_tensor(seg_all, device=z.device)], "an edge length", (name,))
    else:  # one scale fits every batch, or cosine lengths (scale-free row by row)
        w = _edge_lengths(z.reshape(B * n, z.shape[2]), t[:, 0], t[:, 1], metric, name)
    lengths = w[:K]
    if scaled:
        divisor = torch.ones(B, dtype=w.dtype, device=w.device)
        divisor = divisor.index_put((torch.as_tensor(scaled, device=w.device),), w[K:])
        seg = torch.as_tensor(np.repeat(np.arange(B), counts), device=w.device)
        lengths = lengths / divisor[seg]
    return lengths, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _lengths_at(
    z: torch.Tensor, pairs: np.ndarray, sel: _Selection, metric: str, name: str = "z"
) -> torch.Tensor:
    """Lengths at ``pairs`` (divided by the scale pair's length, if any), sorted ascending.

    Gathered from the selection's distance matrix when it has one (a
    :func:`_pairwise` matrix: one cheap gather, however many pairs); otherwise
    (the exact tree, or a :func:`_selection_matrix`, which is not kept)
    recomputed exactly from the coordinates, an O(k d) graph however large n is.
    """
    scale = sel.scale_pair
    idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if scale is not None:
        idx = np.concatenate([idx, scale.reshape(1, 2)])
    t = torch.as_tensor(idx, device=z.device)
    if sel.D is not None:
        w = sel.D[t[:, 0], t[:, 1]]
    else:
        w = _edge_lengths(z, t[:, 0], t[:, 1], metric, name)
    if scale is not None:
        w = w[:-1] / w[-1]
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
    D = None if lam is None else _selection_matrix(z, metric)
    sel = _select(z, D, lam, convention, metric, symmetric=True)
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
