r"""Minimum spanning trees of dense matrices in torch, on the matrices' own device, batched.

:func:`dense_mst_edges` selects the minimum spanning tree of each matrix of a
stack of shape ``(..., n, n)`` with torch operations only, so that on a CUDA
device the selection needs no host copy of the matrices: Borůvka's algorithm
[1]_ in the data-parallel form of [2]_, every round vectorised over the batch
and over all vertices:

1. entries joining two vertices of one component are masked to ``+inf`` (in
   place, on one working copy of the stack);
2. every vertex takes its lightest remaining edge (row minimum);
3. every component takes the lightest of its vertices' edges (two
   ``scatter_reduce`` passes: the minimum value, then the smallest vertex pair
   among the vertices that reach it);
4. every component hooks onto the component its edge leads to; of the two
   components of a mutual pair (both chose the same edge) the one with the
   smaller label stays a root, so the hooks form a forest, which pointer
   jumping (``ceil(log2 n)`` gathers) flattens into the new labels.

Each round at least halves the number of components of every matrix still
in progress, so at most ``ceil(log2 n)`` rounds run; the loop allows one more
and raises ``RuntimeError`` if a round merges nothing while more than one
component remains (impossible for the validated input, so it would be a bug).

**One total order, so one tree.** Edges are compared on the key
``(D[i, j], min(i, j), max(i, j))``, a strict total order on the edges, so the
minimum spanning tree is unique and equals the one of
:func:`sheaftopo._core.mst.dense_mst` (dense Prim, whose comparisons use the same
key: ``_pair_less`` in ``sheaftopo/_core/mst_kernels.py``) whatever the ties:
duplicate points, integer or lattice distances, all-equal matrices. Within a
row ``i`` the pairs ``(min(i, j), max(i, j))`` are increasing in ``j``, so the
row step needs the minimum value and, among equal values, the smallest column:
that is what ``torch.min(dim=...)`` returns (its documented contract: "the
indices of the first minimal value"), and tests/torch_adapter/test_device_mst.py
checks it on tie-heavy matrices. Comparisons are exact (no arithmetic is done
on the entries), in the input's dtype; float32 entries keep their order in
float64, so the tree is that of the float64 copy.

**Host synchronisations.** Validation reads three flags in one transfer;
then each round reads two flags (whether a matrix still has more than one
component, and whether a round stalled) in one transfer, so a call synchronises
at most ``ceil(log2 n) + 2`` times, each time for a few bytes, never per edge or
per vertex; no entry of ``D`` and no intermediate array leaves the device.

Performance, measured 2026-12-03 20:07 UTC on the project's 2-core machine
(CPU tensors only: no GPU there), torch 2.13.0, numba 0.68.1, float64
Euclidean distance matrices of random points in 16-D, best of 7 calls, every
configuration run twice (both runs given, in ms), load average 2.3-4.1 (the
other sessions' test runs), command ``python -m benchmarks.device_mst``
(``--threads 1`` sets torch's and numba's threads to one; a rerun at 20:25 UTC,
load 2.5, one thread: 1.98 / 22.4 / 180 ms for the device path against 0.28 /
5.4 / 16.6 ms for the Prim loop):

==============  =======  ===================  ====================  ===================
input           threads  ``dense_mst_edges``  ``dense_mst`` (loop)  ``dense_mst_batch``
==============  =======  ===================  ====================  ===================
256 x 256       2        87.7 / 124           0.43 / 0.26           0.47 / 0.30
256 x 256       1        1.80 / 1.62          0.25 / 0.23           0.28 / 0.27
16 x 256 x 256  2        19.5 / 156           7.60 / 5.71           5.49 / 12.2
16 x 256 x 256  1        27.1 / 32.3          4.98 / 4.87           5.93 / 9.59
2048 x 2048     2        161 / 242            13.5 / 15.5           25.3 / 27.4
2048 x 2048     1        155 / 166            13.4 / 15.9           22.4 / 24.9
==============  =======  ===================  ====================  ===================

With two torch threads on two loaded cores the torch version collapses from
run to run (the pool contention of docs/architecture.md, "Threads"; with one
thread it is steady). float32 input takes about the same time (256 x 256, one
thread: 1.98 / 1.58 ms). The trees were checked equal in the same process.
``dense_mst_batch`` includes its validation (two reductions over ``D``),
which ``dense_mst`` does not do: 0.63-0.79 ms at 16 x 256 x 256 and 6.3-10.6
ms at 2048 x 2048 (same script, 20:11 UTC, load 4.0-4.5, four runs).

On a CPU the numba Prim kernels (``sheaftopo._core.mst.dense_mst`` and the
batched ``dense_mst_batch``) remain the faster selection: Borůvka reads the
whole matrix once per round (``O(n^2 log n)`` work against Prim's ``O(n^2)``).
This module is for tensors that live on an accelerator, where the copy to
the host and the sequential Prim are what it avoids.

References
----------
.. [1] O. Borůvka, "O jistém problému minimálním", Práce Moravské
   přírodovědecké společnosti 3, 1926, pp. 37-58.
.. [2] V. Vineet, P. Harish, S. Patidar, P. J. Narayanan, "Fast minimum
   spanning tree for large graphs on the GPU", Proc. High Performance
   Graphics 2009, pp. 167-171.
"""

from __future__ import annotations

import math

import torch

from ._checks import as_tensor

__all__ = ["dense_mst_edges", "max_rounds"]


def max_rounds(n: int) -> int:
    """The most Borůvka rounds :func:`dense_mst_edges` allows for ``n`` vertices.

    ``ceil(log2 n)`` rounds always suffice (each at least halves the number of
    components); one more is allowed so that the stall check, not the bound,
    reports a bug.
    """
    return (math.ceil(math.log2(n)) if n > 1 else 0) + 1


def _batch_index(flat: int, batch_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index into the leading dimensions of the ``flat``-th matrix of the stack."""
    if not batch_shape:
        return ()
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), batch_shape))


def _check_entries(W: torch.Tensor, batch_shape: tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless every matrix of ``W`` (B, n, n) is finite, >= 0, symmetric.

    One host synchronisation when the input is valid (three flags read together);
    finiteness and sign are decided by the smallest and largest entry (NaN
    propagates through both), the element-wise scans run only to name the first
    bad entry.
    """
    if W.numel() == 0:
        return
    low, high = torch.aminmax(W)
    ok = torch.stack([torch.isfinite(low) & torch.isfinite(high), low >= 0, (W == W.mT).all()])
    ok = ok.tolist()
    if all(ok):
        return
    bad = ~torch.isfinite(W) if not ok[0] else (W < 0) if not ok[1] else W != W.mT
    b, i, j = (int(v) for v in bad.nonzero()[0])
    where = f"D[{', '.join(str(k) for k in (*_batch_index(b, batch_shape), i, j))}]"
    value = W[b, i, j].item()
    if not ok[0]:
        raise ValueError(
            f"D must be finite (a complete graph: every pair has a finite length); "
            f"found {where} = {value!r}"
        )
    if not ok[1]:
        raise ValueError(f"D must be non-negative (a dissimilarity); found {where} = {value!r}")
    raise ValueError(
        f"D must be symmetric (exactly: symmetrise it with 0.5 * (D + D.mT)); found "
        f"{where} = {value!r} but its transpose entry = {W[b, j, i].item()!r}"
    )


def _as_stack(D: object) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``D`` validated, detached and flattened to (B, n, n), and its leading shape."""
    D = as_tensor(D, "D", min_ndim=2)
    if D.shape[-1] != D.shape[-2] or D.shape[-1] == 0:
        raise ValueError(
            f"D must be a stack of square matrices of shape (..., n, n) with n >= 1; "
            f"got shape {tuple(D.shape)}"
        )
    n = D.shape[-1]
    batch_shape = tuple(D.shape[:-2])
    W = D.detach().reshape(-1, n, n)
    _check_entries(W, batch_shape)
    return W, batch_shape


def _cheapest_edges(
    W: torch.Tensor, comp: torch.Tensor, idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every component's lightest outgoing edge, on the key ``(w, min(i, j), max(i, j))``.

    ``W`` is the working copy whose entries inside a component are ``+inf``.
    Returns ``(value, code)``, each (B, n) indexed by component label (the
    label of a component is the vertex it is rooted at): ``value[c]`` is the
    edge's weight and ``code[c] = min(i, j) * n + max(i, j)`` its vertex pair,
    or ``inf`` and ``n * n`` where ``c`` is no label or has no outgoing edge.
    """
    B, n = comp.shape
    row_w, row_j = W.min(dim=2)  # the first minimal column: the smallest pair
    code = torch.minimum(idx, row_j) * n + torch.maximum(idx, row_j)
    value = torch.full((B, n), torch.inf, dtype=W.dtype, device=W.device)
    value = value.scatter_reduce(1, comp, row_w, "amin")
    reaches = (row_w == value.gather(1, comp)) & torch.isfinite(row_w)
    code = torch.where(reaches, code, n * n)
    best = torch.full((B, n), n * n, dtype=torch.long, device=W.device)
    best = best.scatter_reduce(1, comp, code, "amin")
    return value, best


def _hook(
    comp: torch.Tensor, code: torch.Tensor, idx: torch.Tensor, jumps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge every component along its edge ``code``; returns the new labels and who hooked.

    ``hooked[c]`` is true for the labels that stop being roots this round: the
    components whose edge is recorded (the other one of a mutual pair, the
    smaller label, stays a root and records nothing, its edge being the same).
    """
    n = comp.shape[1]
    has_edge = code < n * n
    safe = torch.where(has_edge, code, 0)
    lo, hi = safe // n, safe % n
    other = torch.where(comp.gather(1, lo) == idx, hi, lo)
    parent = torch.where(has_edge, comp.gather(1, other), idx)
    mutual = has_edge & (parent.gather(1, parent) == idx) & (idx < parent)
    parent = torch.where(mutual, idx, parent)
    hooked = parent != idx
    for _ in range(jumps):
        parent = parent.gather(1, parent)
    return parent.gather(1, comp), hooked


def _boruvka(W: torch.Tensor) -> torch.Tensor:
    """The tree edges (B, n - 1, 2) of every matrix of ``W`` (B, n, n), n >= 2, sorted."""
    B, n, _ = W.shape
    idx = torch.arange(n, device=W.device).expand(B, n)
    comp = idx.clone()
    weight = torch.full((B, n), torch.inf, dtype=W.dtype, device=W.device)
    pair = torch.zeros((B, n), dtype=torch.long, device=W.device)
    log_n = math.ceil(math.log2(n))
    work = W.clone(memory_format=torch.contiguous_format)  # masked in place, round by round
    work.diagonal(dim1=1, dim2=2).fill_(torch.inf)
    for r in range(max_rounds(n)):
        value, code = _cheapest_edges(work, comp, idx)
        # at most n / 2**r components now, so hook chains shorter than 2**(log_n - r)
        comp, hooked = _hook(comp, code, idx, max(1, log_n - r))
        weight = torch.where(hooked, value, weight)  # slot c: the edge that hooked c
        pair = torch.where(hooked, code, pair)
        several = (comp != comp[:, :1]).any(dim=1)
        more, stalled = torch.stack([several.any(), (several & ~hooked.any(dim=1)).any()]).tolist()
        if stalled:
            raise RuntimeError(
                "dense_mst_edges: a Borůvka round merged no components while more than one "
                "remained (only a non-finite or unordered entry of D can cause this, and those "
                "are rejected up front: please report it)"
            )
        if not more:
            break
        work.masked_fill_(comp[:, :, None] == comp[:, None, :], torch.inf)
    else:
        raise RuntimeError(
            f"dense_mst_edges: {max_rounds(n)} Borůvka rounds did not join {n} vertices into "
            "one tree (each round at least halves the components of a finite matrix: please "
            "report it)"
        )
    return _sorted_edges(weight, pair, n)


def _sorted_edges(weight: torch.Tensor, pair: torch.Tensor, n: int) -> torch.Tensor:
    """The recorded edges in the order ``(weight, min, max)``; the one empty slot (inf) dropped."""
    by_pair = torch.argsort(pair, dim=1)  # codes are distinct for the n - 1 tree edges
    w = weight.gather(1, by_pair)
    order = by_pair.gather(1, torch.argsort(w, dim=1, stable=True))[:, : n - 1]
    code = pair.gather(1, order)
    return torch.stack([code // n, code % n], dim=2)


def dense_mst_edges(D: torch.Tensor) -> torch.Tensor:
    r"""The minimum spanning tree of each dense matrix of a stack, on its device, in torch.

    Parameters
    ----------
    D : Tensor, shape (..., n, n)
        Float32 or float64 dissimilarity matrices, any leading batch
        dimensions, any device: finite, non-negative and exactly symmetric
        (``0.5 * (D + D.mT)`` is); the diagonal is not read otherwise.
        Infinite entries are refused rather than read as missing edges: the
        result is a spanning *tree* of every matrix, ``n - 1`` edges, never a
        forest. Read only (detached; never modified).

    Returns
    -------
    LongTensor, shape (..., n - 1, 2)
        On ``D``'s device. For every matrix, its tree edges ``(i, j)`` with
        ``i < j``, sorted by the key ``(D[i, j], i, j)``: the minimum spanning
        tree for that key, unique, and equal to
        ``sheaftopo._core.mst.dense_mst(D).edges`` row for row. Row ``k``
        is the edge whose length is the ``k``-th finite H0 death.

    Raises
    ------
    TypeError
        If ``D`` is not a float32 or float64 tensor.
    ValueError
        If ``D`` is not a stack of square matrices with ``n >= 1``, or holds
        NaN, inf, a negative or an asymmetric entry (the message names the
        first such entry).

    Notes
    -----
    Borůvka rounds in torch (see the module docstring): ``O(n^2)`` work per
    round and matrix, at most ``ceil(log2 n)`` rounds, one host
    synchronisation per round (two flags) plus one for validation.

    References
    ----------
    .. [1] V. Vineet, P. Harish, S. Patidar, P. J. Narayanan, "Fast minimum
       spanning tree for large graphs on the GPU", High Performance Graphics 2009.

    Examples
    --------
    >>> import torch
    >>> D = torch.tensor([[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]])
    >>> dense_mst_edges(D)
    tensor([[0, 1],
            [1, 2]])
    >>> dense_mst_edges(torch.stack([D, D.flip(0, 1)])).shape
    torch.Size([2, 2, 2])
    """
    W, batch_shape = _as_stack(D)
    n = W.shape[-1]
    if n == 1 or W.shape[0] == 0:
        return torch.zeros((*batch_shape, n - 1, 2), dtype=torch.long, device=W.device)
    return _boruvka(W).reshape(*batch_shape, n - 1, 2)
