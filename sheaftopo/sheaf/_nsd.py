"""Neural Sheaf Diffusion's map layout read into a :class:`CellularSheaf`'s arrays.

:meth:`CellularSheaf.from_nsd <sheaftopo.sheaf.CellularSheaf.from_nsd>` calls
:func:`nsd_arrays`; the checks name NSD's arguments (``edge_index``, ``maps``,
``n_vertices``), never the constructor's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_int
from ._maps import check_memory

__all__ = ["nsd_arrays"]


def nsd_arrays(
    edge_index: Any, maps: Any, n_vertices: int | None
) -> tuple[int, np.ndarray, int, int, np.ndarray, np.ndarray]:
    """``(n, edges, d_v, d_e, tail, head)`` for ``CellularSheaf(...)`` from NSD's layout.

    Parameters
    ----------
    edge_index : array_like of int, shape (2, 2m)
        Directed edges, every undirected edge in both directions.
    maps : array_like, shape (2m, d_e, d_v) or (2m, d)
        One map (or its diagonal) per directed edge.
    n_vertices : int or None
        Default: largest index + 1.

    Returns
    -------
    n : int
    edges : ndarray of int64, shape (m, 2)
        ``(min, max)`` of every undirected edge, in the order of ``edge_index``.
    d_v, d_e : int
    tail, head : ndarray of float64
        Flat maps: the directed edge (min, max)'s map is the tail map, its
        reverse's the head map.
    """
    ei, M = _directed_arrays(edge_index, maps)
    s, t = ei[0], ei[1]
    n = _vertex_count(ei, n_vertices)
    rev = _reverse_columns(s, t, n)
    fwd = np.flatnonzero(s < t)
    de, dv = M.shape[1], M.shape[2]
    return (
        n,
        np.stack([s[fwd], t[fwd]], axis=1).reshape(-1, 2),
        dv,
        de,
        M[fwd].reshape(-1),
        M[rev[fwd]].reshape(-1),
    )


def _directed_arrays(edge_index: Any, maps: Any) -> tuple[np.ndarray, np.ndarray]:
    """``edge_index`` as int64 (2, E) and ``maps`` as float64 (E, d_e, d_v), diagonals expanded."""
    ei = np.asarray(edge_index)
    if ei.dtype.kind not in "iu" and not (ei.size == 0 and ei.dtype.kind == "f"):
        raise TypeError(
            f"edge_index must be an integer array of shape (2, E); got an array of "
            f"dtype {ei.dtype} and shape {ei.shape}"
        )
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E); got shape {ei.shape}")
    ei = ei.astype(np.int64)
    M = as_float_array(maps, "maps", dtype=np.float64)
    E = ei.shape[1]
    if M.ndim not in (2, 3) or M.shape[0] != E:
        raise ValueError(
            f"maps must have shape ({E}, d_e, d_v) or ({E}, d), one per directed edge "
            f"(column of edge_index); got shape {M.shape}"
        )
    if not np.isfinite(M).all():
        k = int(np.argwhere(~np.isfinite(M))[0, 0])
        raise ValueError(f"maps must be finite; maps[{k}] (directed edge {k}) holds NaN or inf")
    if M.ndim == 2:
        d = M.shape[1]
        check_memory(float(E) * d * d, f"diagonal maps of shape {M.shape}")
        full = np.zeros((E, d, d))
        full[:, np.arange(d), np.arange(d)] = M
        M = full
    if M.shape[1] < 1 or M.shape[2] < 1:
        raise ValueError(f"maps must have non-empty stalks; got shape {M.shape}")
    return ei, M


def _vertex_count(ei: np.ndarray, n_vertices: int | None) -> int:
    """n_vertices checked against the indices of ``edge_index`` (or read off them)."""
    E = ei.shape[1]
    s, t = ei[0], ei[1]
    if n_vertices is None:
        if E == 0:
            raise ValueError("n_vertices must be given when edge_index has no edges")
        n = int(max(s.max(), t.max())) + 1
    else:
        n = check_int(n_vertices, "n_vertices", minimum=1)
    if E and (int(ei.min()) < 0 or int(ei.max()) >= n):
        k = int(np.flatnonzero((ei < 0).any(0) | (ei >= n).any(0))[0])
        raise ValueError(
            f"edge_index must index vertices in [0, {n}) (n_vertices); column {k} is "
            f"({s[k]}, {t[k]})"
        )
    return n


def _reverse_columns(s: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
    """For every directed edge k = (s, t) the column of (t, s); refuses self-loops, repeated
    directed edges and edges without their reverse."""
    E = s.shape[0]
    loops = s == t
    if loops.any():
        k = int(np.flatnonzero(loops)[0])
        raise ValueError(
            f"edge_index has a self-loop ({s[k]}, {t[k]}) in column {k}; a cellular sheaf "
            "here has none (NSD's self-loops belong to its residual term, not to the "
            "sheaf): drop those columns of edge_index and maps before calling from_nsd"
        )
    key = s * n + t
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if len(dup):
        i, j = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise ValueError(
            f"edge_index repeats the directed edge ({s[i]}, {t[i]}) in columns {i} and {j}; "
            "each directed edge must appear once (parallel edges are not supported)"
        )
    rkey = t * n + s
    pos = np.minimum(np.searchsorted(key[order], rkey), max(E - 1, 0))
    found = key[order][pos] == rkey if E else np.zeros(0, dtype=bool)
    if not found.all():
        k = int(np.flatnonzero(~found)[0])
        raise ValueError(
            f"edge_index must list every edge in both directions; ({s[k]}, {t[k]}) "
            f"(column {k}) has no reverse ({t[k]}, {s[k]})"
        )
    return order[pos]
