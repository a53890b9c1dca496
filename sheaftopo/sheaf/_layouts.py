"""Named layouts: the groups of flat arrays the sheaf kernels take, each a NamedTuple.

The numba kernels of :mod:`sheaftopo.sheaf._assembly` read a sheaf and write
sparse matrices through flat arrays. Passed one by one, two arrays of the
same type (the tail and head maps, their offsets, the vertex and edge
offsets) could be swapped without any error; grouped in these NamedTuples the
kernels read every array by name (numba types a NamedTuple of arrays as a
struct: no copy, no cost per access).

:class:`SheafLayout` is public: :attr:`CellularSheaf.layout
<sheaftopo.sheaf.CellularSheaf.layout>` returns one. The others are the
kernels' inputs and outputs, built by :mod:`sheaftopo.sheaf._operators`.
Nothing here imports numba.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CSRArrays", "Incidence", "Normalisation", "SheafLayout", "offsets", "readonly"]


class SheafLayout(NamedTuple):
    """The flat arrays that store a :class:`~sheaftopo.sheaf.CellularSheaf` (all read-only).

    Attributes
    ----------
    edges : ndarray of int64, shape (m, 2)
        ``(tail, head)`` of every edge.
    vertex_offsets : ndarray of int64, shape (n + 1,)
        Vertex v's coordinates in a 0-cochain are
        ``vertex_offsets[v]:vertex_offsets[v + 1]`` (d_v of them).
    edge_offsets : ndarray of int64, shape (m + 1,)
        Edge e's coordinates in a 1-cochain are ``edge_offsets[e]:edge_offsets[e + 1]``.
    tail : ndarray of float64, shape (sum_e d_e d_u,)
        The tail maps :math:`F_{u \\trianglelefteq e}` (d_e x d_u), row-major, edge after edge.
    tail_offsets : ndarray of int64, shape (m + 1,)
        Edge e's tail map is ``tail[tail_offsets[e]:tail_offsets[e + 1]]``.
    head : ndarray of float64, shape (sum_e d_e d_v,)
        The head maps :math:`F_{v \\trianglelefteq e}` (d_e x d_v), likewise.
    head_offsets : ndarray of int64, shape (m + 1,)
        Edge e's head map is ``head[head_offsets[e]:head_offsets[e + 1]]``.

    Examples
    --------
    >>> from sheaftopo.sheaf import CellularSheaf
    >>> lay = CellularSheaf.constant([[0, 1], [1, 2]], 2).layout
    >>> lay.vertex_offsets, lay.tail_offsets
    (array([0, 2, 4, 6]), array([0, 4, 8]))
    >>> lay.tail.flags.writeable
    False
    """

    edges: np.ndarray
    vertex_offsets: np.ndarray
    edge_offsets: np.ndarray
    tail: np.ndarray
    tail_offsets: np.ndarray
    head: np.ndarray
    head_offsets: np.ndarray


class Incidence(NamedTuple):
    """Per vertex, its incident edges sorted by neighbour (each array of length 2m).

    Vertex p's incidences are ``ptr[p]:ptr[p + 1]``; incidence t is the edge
    ``eid[t]`` to the neighbour ``dst[t]``, seen from its tail (``side[t] = 0``)
    or its head (1).
    """

    ptr: np.ndarray
    dst: np.ndarray
    eid: np.ndarray
    side: np.ndarray


class Normalisation(NamedTuple):
    """The blocks S_v of the normalised Laplacian S L S (S = D^{+1/2}), or none.

    ``S[soff[v]:soff[v + 1]]`` is the symmetric d_v x d_v block S_v, row-major;
    with ``use`` False the kernels ignore ``S`` and ``soff`` (empty arrays).
    """

    S: np.ndarray
    soff: np.ndarray
    use: bool


class CSRArrays(NamedTuple):
    """The three arrays of a CSR matrix (row pointers, column ids, values)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray


def readonly(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array with its write flag cleared (a copy when not contiguous)."""
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def offsets(sizes: np.ndarray) -> np.ndarray:
    """Exclusive prefix sums with the total appended: shape (len(sizes) + 1,), int64."""
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out
