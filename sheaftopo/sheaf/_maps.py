"""Restriction maps as flat arrays: given by the user, drawn at random; a memory guard.

Used by :class:`~sheaftopo.sheaf.CellularSheaf`'s constructors
(:func:`stack_maps`, :func:`random_maps`) and by every sheaf function that
allocates something large (:func:`check_memory`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_float_array, check_real
from ._layouts import offsets

__all__ = ["check_memory", "check_rotations", "random_flat_maps", "random_maps", "stack_maps"]


def _physical_memory() -> int:
    """Bytes of physical memory of this machine (a large default where unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return 1 << 40


def check_memory(n_floats: float, what: str) -> None:
    """Refuse up front (ValueError) an array of ``n_floats`` float64 larger than the
    machine's physical memory, instead of a MemoryError or swapping."""
    need = 8.0 * float(n_floats)
    have = _physical_memory()
    if need > have:
        raise ValueError(
            f"{what} would need about {need / 2**30:.3g} GiB, more than this machine's "
            f"{have / 2**30:.3g} GiB of memory"
        )


def stack_maps(maps: Any, name: str, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps given as an (m, r, c) array or a sequence of m 2-D arrays.

    Returns (flat float64 data, rows (m,), cols (m,)).
    """
    if isinstance(maps, np.ndarray) or (
        not isinstance(maps, (list, tuple)) and hasattr(maps, "__array__")
    ):
        arr = as_float_array(maps, name, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[0] != m:
            raise ValueError(
                f"{name} must have shape ({m}, edge_dim, vertex_dim), one map per edge, or be "
                f"a sequence of {m} matrices; got shape {arr.shape}"
            )
        rows = np.full(m, arr.shape[1], dtype=np.int64)
        cols = np.full(m, arr.shape[2], dtype=np.int64)
        flat = arr.reshape(-1)
    else:
        if not isinstance(maps, Sequence) or len(maps) != m:
            got = len(maps) if isinstance(maps, Sequence) else type(maps).__name__
            raise ValueError(f"{name} must hold {m} maps, one per edge; got {got}")
        mats = [as_float_array(f, f"{name}[{e}]", dtype=np.float64) for e, f in enumerate(maps)]
        for e, f in enumerate(mats):
            if f.ndim != 2:
                raise ValueError(f"{name}[{e}] must be a 2-D matrix; got shape {f.shape}")
        rows = np.array([f.shape[0] for f in mats], dtype=np.int64)
        cols = np.array([f.shape[1] for f in mats], dtype=np.int64)
        flat = np.concatenate([f.reshape(-1) for f in mats]) if mats else np.zeros(0)
    bad = ~np.isfinite(flat)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        e = int(np.searchsorted(offsets(rows * cols), k, side="right") - 1)
        raise ValueError(f"{name} must be finite; the map of edge {e} holds {flat[k]!r}")
    return flat, rows, cols


def random_maps(rng: np.random.Generator, k: int, r: int, c: int, orthogonal: bool) -> np.ndarray:
    """k random r x c maps, shape (k, r, c): Gaussian with variance 1/c, or Haar-distributed
    with orthonormal rows (r <= c) or columns (r > c) when ``orthogonal``."""
    if not orthogonal:
        return rng.standard_normal((k, r, c)) / np.sqrt(c)
    big, small = max(r, c), min(r, c)
    A = rng.standard_normal((k, big, small))
    Q, Rr = np.linalg.qr(A)
    Q = Q * np.sign(np.diagonal(Rr, axis1=1, axis2=2))[:, None, :]  # Haar measure
    return Q if r >= c else Q.transpose(0, 2, 1)


def random_flat_maps(
    rng: np.random.Generator, edges: np.ndarray, vd: np.ndarray, ed: np.ndarray, orthogonal: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Flat random tail and head maps of a sheaf (see :func:`random_maps`), in its layout.

    ``edges`` (m, 2), ``vd`` (n,) and ``ed`` (m,) the validated edges and stalk
    dimensions; the tail maps are drawn first, one batch per distinct shape.
    """
    m = len(edges)
    flats = []
    for ends in (edges[:, 0], edges[:, 1]):
        cols = vd[ends]
        out = np.empty(int((ed * cols).sum()))
        off = offsets(ed * cols)
        # one batched draw per distinct (d_e, d_v) shape, not per edge
        if m and (ed == ed[0]).all() and (cols == cols[0]).all():
            flats.append(random_maps(rng, m, int(ed[0]), int(cols[0]), orthogonal).ravel())
            continue
        shapes = np.stack([ed, cols], 1)
        uniq, inverse = np.unique(shapes, axis=0, return_inverse=True)
        for s, (r, c) in enumerate(uniq):
            idx = np.flatnonzero(inverse.ravel() == s)
            block = random_maps(rng, len(idx), int(r), int(c), orthogonal)
            pos = off[idx][:, None] + np.arange(r * c)[None, :]
            out[pos] = block.reshape(len(idx), -1)
        flats.append(out)
    return flats[0], flats[1]


def check_rotations(rotations: Any, m: int, atol: Any) -> np.ndarray:
    """``rotations`` as float64 (m, d, d), each orthogonal to ``atol`` (a connection's maps)."""
    R = as_float_array(rotations, "rotations", dtype=np.float64)
    if R.ndim != 3 or R.shape[0] != m or R.shape[1] != R.shape[2]:
        raise ValueError(f"rotations must have shape ({m}, d, d); got shape {R.shape}")
    if not np.isfinite(R).all():
        raise ValueError("rotations must be finite (no NaN or inf)")
    d = R.shape[1]
    if d < 1:
        raise ValueError(f"rotations must be d x d matrices with d >= 1; got shape {R.shape}")
    atol = check_real(atol, "atol", low=0.0)
    if m:  # entries of an orthogonal matrix are at most 1: larger ones cannot overflow R R^T
        with np.errstate(over="ignore", invalid="ignore"):
            err = np.abs(R @ R.transpose(0, 2, 1) - np.eye(d)).max(axis=(1, 2))
        err = np.where(np.isfinite(err), err, np.inf)
    else:
        err = np.zeros(0)
    if (err > atol).any():
        e = int(np.argmax(err))
        raise ValueError(
            f"rotations must be orthogonal; rotations[{e}] has |R R^T - I| = {err[e]:.3g} "
            f"> atol={atol:g}"
        )
    return R
