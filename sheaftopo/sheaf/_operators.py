"""Coboundary, Laplacians and Dirichlet energy of a cellular sheaf, assembled in one pass."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import as_float_array, check_choice, check_real
from ._sheaf import CellularSheaf, _offsets

__all__ = [
    "coboundary",
    "dirichlet_energy",
    "edge_laplacian",
    "laplacian",
    "vertex_blocks",
]

FORMATS = ("csr", "csc", "coo", "bsr")


def _kernels() -> Any:
    from . import _assembly

    return _assembly


def _check_sheaf(sheaf: Any) -> CellularSheaf:
    if not isinstance(sheaf, CellularSheaf):
        raise TypeError(f"sheaf must be a CellularSheaf; got {type(sheaf).__name__}")
    return sheaf


def _csr(shape: tuple[int, int], indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> Any:
    import scipy.sparse as sp

    return sp.csr_array((data, indices, indptr), shape=shape)


def _index_dtype(nnz: int, dim: int) -> Any:
    return np.int32 if max(nnz, dim) < 2**31 - 1 else np.int64


def as_weights(sheaf: CellularSheaf, weights: Any) -> np.ndarray | None:
    """Edge weights: None, or (m,) finite and non-negative."""
    if weights is None:
        return None
    w = as_float_array(weights, "weights", dtype=np.float64)
    if w.shape != (sheaf.n_edges,):
        raise ValueError(f"weights must have shape ({sheaf.n_edges},), one per edge; got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        k = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise ValueError(f"weights must be finite and non-negative; weights[{k}] = {w[k]!r}")
    return w


def _incidence(sheaf: CellularSheaf) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sheaf._incidence()`` (per vertex, its edges sorted by neighbour), by a counting sort.

    Fills the sheaf's cache entry with the same arrays its own argsort gives.
    """
    if "incidence" not in sheaf._cache:
        e = sheaf.edges
        sheaf._cache["incidence"] = _kernels().incidence(e[:, 0], e[:, 1], sheaf.n_vertices)
    return sheaf._incidence()


#: Laplacians with at least this many nonzeros get a kernel compiled for their stalk
#: dimensions (see ``_assembly.laplacian_kernel``); smaller ones share the generic kernel.
SPECIALIZE_NNZ = 1 << 22


def _vertex_blocks_flat(sheaf: CellularSheaf, w: np.ndarray) -> np.ndarray:
    ptr, _, eid, side = _incidence(sheaf)
    off = _offsets(sheaf.vertex_dims**2)
    out = np.empty(int(off[-1]))
    _kernels().vertex_blocks(sheaf.vertex_offsets, ptr, eid, side, sheaf.edge_offsets,
                             sheaf._tail, sheaf._toff, sheaf._head, sheaf._hoff, w,
                             *(np.uint64(d) for d in sheaf._common_dims()), off, out)
    return out


def _pinv_sqrt_blocks(D: np.ndarray, dims: np.ndarray, off: np.ndarray, rtol: float) -> np.ndarray:
    """Block-wise D_v^{+1/2}, batched by block size (eigh), zero on near-null directions."""
    out = np.zeros_like(D)
    for d in np.unique(dims):
        idx = np.flatnonzero(dims == d)
        pos = off[idx][:, None] + np.arange(d * d)[None, :]
        B = D[pos].reshape(len(idx), d, d)
        lam, V = np.linalg.eigh(B)
        top = np.maximum(lam.max(axis=1, keepdims=True), 0.0)
        keep = lam > rtol * top
        inv_sqrt = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
        S = (V * inv_sqrt[:, None, :]) @ V.transpose(0, 2, 1)
        S = 0.5 * (S + S.transpose(0, 2, 1))  # exactly symmetric: the kernel reads S_v^T
        out[pos] = S.reshape(len(idx), -1)
    return out


def coboundary(sheaf: CellularSheaf, *, format: str = "csr") -> Any:
    r"""The coboundary :math:`\delta: C^0 \to C^1` as a sparse matrix.

    :math:`(\delta x)_e = F_{v \trianglelefteq e} x_v - F_{u \trianglelefteq e} x_u`
    for e = (u, v). Shape (dim_c1, dim_c0), nnz = sum_e d_e (d_u + d_v).
    Assembled in one parallel pass straight into CSR arrays (columns sorted)
    and cached on the sheaf.

    Parameters
    ----------
    sheaf : CellularSheaf
    format : {"csr", "csc", "coo", "bsr"}

    Returns
    -------
    scipy.sparse array, shape (dim_c1, dim_c0)

    Examples
    --------
    >>> from sheaftopo.sheaf import CellularSheaf, coboundary
    >>> coboundary(CellularSheaf.constant([[0, 1], [1, 2]], 1)).toarray()
    array([[-1.,  1.,  0.],
           [ 0., -1.,  1.]])
    """
    sheaf = _check_sheaf(sheaf)
    format = check_choice(format, "format", FORMATS)
    if "delta" not in sheaf._cache:
        sheaf._cache["delta"] = _assemble_coboundary(sheaf)
    return sheaf._cache["delta"].asformat(format)


def _assemble_coboundary(sheaf: CellularSheaf) -> Any:
    u, v = sheaf.edges[:, 0], sheaf.edges[:, 1]
    vd, ed = sheaf.vertex_dims, sheaf.edge_dims
    estart = _offsets(ed * (vd[u] + vd[v]))  # where each edge's entries start
    nnz = int(estart[-1])
    it = _index_dtype(nnz, sheaf.dim_c0)
    indptr = np.empty(sheaf.dim_c1 + 1, dtype=it)
    indices = np.empty(nnz, dtype=it)
    data = np.empty(nnz)
    _kernels().coboundary_csr(u, v, sheaf.vertex_offsets, sheaf.edge_offsets, sheaf._tail,
                              sheaf._toff, sheaf._head, sheaf._hoff, estart, indptr, indices,
                              data)
    return _csr((sheaf.dim_c1, sheaf.dim_c0), indptr, indices, data)


def laplacian(
    sheaf: CellularSheaf,
    *,
    weights: Any = None,
    normalized: bool = False,
    format: str = "csr",
    pinv_rtol: float = 1e-12,
) -> Any:
    r"""The sheaf Laplacian :math:`L = \delta^\top W \delta` on 0-cochains.

    Block (v, v) is :math:`\sum_{e \ni v} w_e F_{v \trianglelefteq e}^\top
    F_{v \trianglelefteq e}`; block (u, v) for an edge e joining them is
    :math:`-w_e F_{u \trianglelefteq e}^\top F_{v \trianglelefteq e}`. It is
    assembled block row by block row in one parallel pass (never as the
    product δᵀδ) and the unweighted one is cached. Every entry is
    :math:`w_e` times a sum of products of map entries, so the result is
    exactly symmetric for any weights (the normalised one up to rounding).

    Parameters
    ----------
    sheaf : CellularSheaf
    weights : array_like, shape (m,), optional
        Non-negative edge weights :math:`w_e` (default 1).
    normalized : bool
        Return :math:`D^{-1/2} L D^{-1/2}` with D the block diagonal of L.
        Singular blocks (a vertex whose maps all kill some direction) use
        the pseudo-inverse square root :math:`D_v^{+1/2}` (eigenvalues below
        ``pinv_rtol`` times the block's largest are treated as zero), so
        those directions get zero rows and columns. Its spectrum lies in
        [0, 2] (``theory/sheaf-normalized-spectrum.md``).
    format : {"csr", "csc", "coo", "bsr"}
    pinv_rtol : float
        Relative cut-off of the pseudo-inverse.

    Returns
    -------
    scipy.sparse array, shape (dim_c0, dim_c0), symmetric positive semidefinite

    References
    ----------
    .. [1] J. Hansen, R. Ghrist, "Toward a spectral theory of cellular sheaves",
       2019 (normalised sheaf Laplacian).

    Examples
    --------
    >>> import networkx as nx
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, laplacian
    >>> G = nx.cycle_graph(5)
    >>> L = laplacian(CellularSheaf.constant(G, 1))
    >>> bool((L.toarray() == nx.laplacian_matrix(G).toarray()).all())
    True
    """
    sheaf = _check_sheaf(sheaf)
    w = as_weights(sheaf, weights)
    format = check_choice(format, "format", FORMATS)
    pinv_rtol = check_real(pinv_rtol, "pinv_rtol", low=0.0, high=1.0)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool; got {type(normalized).__name__}")
    cacheable = w is None and not normalized
    if cacheable and "laplacian" in sheaf._cache:
        return sheaf._cache["laplacian"].asformat(format)
    L = _assemble_laplacian(sheaf, w, bool(normalized), pinv_rtol)
    if cacheable:
        sheaf._cache["laplacian"] = L
    return L.asformat(format)


def _assemble_laplacian(
    sheaf: CellularSheaf, w: np.ndarray | None, normalized: bool, pinv_rtol: float
) -> Any:
    ptr, dst, eid, side = _incidence(sheaf)
    vd = sheaf.vertex_dims
    weights = np.ones(sheaf.n_edges) if w is None else w
    soff = _offsets(vd**2)
    if normalized:
        S = _pinv_sqrt_blocks(_vertex_blocks_flat(sheaf, weights), vd, soff, pinv_rtol)
    else:
        S = np.zeros(0)
    src_sorted = np.repeat(np.arange(sheaf.n_vertices), np.diff(ptr))
    neighbour_dims = np.bincount(src_sorted, weights=vd[dst], minlength=sheaf.n_vertices)
    row_len = np.repeat(vd + neighbour_dims.astype(np.int64), vd)
    indptr64 = _offsets(row_len)
    nnz = int(indptr64[-1])
    it = _index_dtype(nnz, sheaf.dim_c0)
    indices = np.empty(nnz, dtype=it)
    data = np.empty(nnz)
    # stalk dimensions fixed at compile time for large sheaves only: each pair compiles once
    dims = sheaf._common_dims() if nnz >= SPECIALIZE_NNZ else (0, 0)
    kernel = _kernels().laplacian_kernel(*dims)
    kernel(sheaf.vertex_offsets, ptr, dst, eid, side, sheaf.edge_offsets, sheaf._tail,
           sheaf._toff, sheaf._head, sheaf._hoff, weights, S, soff, normalized, indptr64,
           indices, data)
    return _csr((sheaf.dim_c0, sheaf.dim_c0), indptr64.astype(it), indices, data)


def vertex_blocks(sheaf: CellularSheaf, *, weights: Any = None) -> list[np.ndarray] | np.ndarray:
    r"""The diagonal blocks of the Laplacian, one per vertex.

    :math:`D_v = \sum_e w_e F_{v \trianglelefteq e}^\top F_{v \trianglelefteq e}`.

    Returns an (n, d, d) array for uniform vertex dimensions, else a list.
    (The degree matrix of the normalised Laplacian.)
    """
    sheaf = _check_sheaf(sheaf)
    w = as_weights(sheaf, weights)
    flat = _vertex_blocks_flat(sheaf, np.ones(sheaf.n_edges) if w is None else w)
    vd = sheaf.vertex_dims
    if sheaf.n_vertices and (vd == vd[0]).all():
        d = int(vd[0])
        return flat.reshape(sheaf.n_vertices, d, d)
    off = _offsets(vd**2)
    return [flat[off[i] : off[i + 1]].reshape(d, d) for i, d in enumerate(vd)]


def edge_laplacian(sheaf: CellularSheaf, *, weights: Any = None, format: str = "csr") -> Any:
    r"""The up-Laplacian on 1-cochains, :math:`W^{1/2} \delta \delta^\top W^{1/2}`.

    Shape (dim_c1, dim_c1); its nonzero spectrum equals that of
    :func:`laplacian` (same weights). Two edges interact when they share a
    vertex, so it has sum_v deg(v)^2 blocks: dense around hubs.
    """
    sheaf = _check_sheaf(sheaf)
    w = as_weights(sheaf, weights)
    format = check_choice(format, "format", FORMATS)
    d = coboundary(sheaf)
    if w is not None:
        import scipy.sparse as sp

        d = sp.diags_array(np.repeat(np.sqrt(w), sheaf.edge_dims)) @ d
    return (d @ d.T).asformat(format)


def as_cochain(sheaf: CellularSheaf, x: Any, name: str = "x") -> tuple[np.ndarray, Any]:
    """A 0-cochain (or several) as a (dim_c0, k) float64 array, and a function restoring its shape.

    Accepted: (dim_c0,), (dim_c0, k), or (n_vertices, d) for uniform vertex
    dimension d (one cochain).
    """
    arr = as_float_array(x, name)
    N0 = sheaf.dim_c0
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if arr.ndim == 1 and arr.shape[0] == N0:
        return arr.astype(np.float64, copy=False).reshape(N0, 1), lambda y: y.reshape(N0)
    vd = sheaf.vertex_dims
    uniform = sheaf.n_vertices and (vd == vd[0]).all()
    if arr.ndim == 2 and uniform and arr.shape == (sheaf.n_vertices, int(vd[0])) and (
        arr.shape[0] != N0
    ):
        shape = arr.shape
        return arr.astype(np.float64).reshape(N0, 1), lambda y: y.reshape(shape)
    if arr.ndim == 2 and arr.shape[0] == N0:
        return arr.astype(np.float64, copy=False), lambda y: y
    extra = f" or ({sheaf.n_vertices}, {int(vd[0])})" if uniform else ""
    raise ValueError(
        f"{name} must be a 0-cochain of shape ({N0},), ({N0}, k){extra}; got shape {arr.shape}"
    )


def dirichlet_energy(sheaf: CellularSheaf, x: Any, *, weights: Any = None) -> Any:
    r"""The Dirichlet energy of a 0-cochain.

    :math:`x^\top L x = \sum_e w_e \|F_{v \trianglelefteq e} x_v -
    F_{u \trianglelefteq e} x_u\|^2`.

    Computed as :math:`\|W^{1/2}\delta x\|^2` with the cached coboundary.

    Returns
    -------
    float, or ndarray (k,) for a (dim_c0, k) stack of cochains

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf, dirichlet_energy
    >>> F = CellularSheaf.constant([[0, 1], [1, 2]], 1)
    >>> dirichlet_energy(F, np.array([0.0, 1.0, 3.0]))
    5.0
    """
    sheaf = _check_sheaf(sheaf)
    w = as_weights(sheaf, weights)
    X, _ = as_cochain(sheaf, x)
    Y = coboundary(sheaf) @ X
    if w is not None:
        Y = Y * np.sqrt(np.repeat(w, sheaf.edge_dims))[:, None]
    energy = np.einsum("ij,ij->j", Y, Y)
    arr = np.asarray(x)
    if arr.ndim == 2 and arr.shape[0] == sheaf.dim_c0 and not (
        sheaf.is_uniform and arr.shape == (sheaf.n_vertices, int(sheaf.vertex_dims[0]))
    ):
        return energy
    return float(energy[0])
