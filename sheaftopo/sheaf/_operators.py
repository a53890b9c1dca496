"""Coboundary, Laplacians and Dirichlet energy of a cellular sheaf, assembled in one pass."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._core import threads
from .._core.kernels import kernel_loader
from .._validation import as_float_array, check_choice, check_real, power_of_two_scale
from ._layouts import CSRArrays, Incidence, Normalisation, SheafLayout, offsets, readonly
from ._networkx import as_edge_weights
from ._sheaf import CellularSheaf, common_dims

__all__ = [
    "coboundary",
    "dirichlet_energy",
    "edge_laplacian",
    "laplacian",
    "vertex_blocks",
]

FORMATS = ("csr", "csc", "coo", "bsr")


_kernels = kernel_loader("sheaftopo.sheaf._assembly")


#: Sheaves with fewer map entries plus vertices than this run the parallel kernels on
#: the calling thread alone: waking numba's thread pool costs more than the work.
#: Measured 2026-12-03 on this project's two-core VM, timing ``laplacian`` of a 3-vertex
#: sheaf with ``SERIAL_WORK = 0`` and with the default: 75 ms with the pool and 0.6 ms
#: without it while the machine was loaded; 0.1-0.3 ms either way when it was idle (a
#: harness measures thousands of small sheaves, usually on a busy machine).
SERIAL_WORK = 1 << 16


@contextlib.contextmanager
def serial_if_small(sheaf: CellularSheaf) -> Iterator[None]:
    """Run the numba kernels of the block on one thread when ``sheaf`` is small.

    The kernels' results do not depend on the thread count (each output entry
    is computed by one thread in a fixed order), so this changes only the time.
    """
    lay = sheaf.layout
    work = lay.tail.shape[0] + lay.head.shape[0] + sheaf.n_vertices
    with threads.serial_if_small(work, SERIAL_WORK):
        yield


def _check_sheaf(sheaf: Any) -> CellularSheaf:
    if not isinstance(sheaf, CellularSheaf):
        raise TypeError(f"sheaf must be a CellularSheaf; got {type(sheaf).__name__}")
    return sheaf


def _csr(shape: tuple[int, int], indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> Any:
    import scipy.sparse as sp

    return sp.csr_array((data, indices, indptr), shape=shape)


def _index_dtype(nnz: int, dim: int) -> Any:
    return np.int32 if max(nnz, dim) < 2**31 - 1 else np.int64


def _edge_weights(sheaf: CellularSheaf, weights: Any) -> np.ndarray | None:
    """The per-edge weights to use: None (unweighted), or (m,) finite and non-negative.

    ``weights=None`` means the sheaf's own :attr:`CellularSheaf.edge_weights`
    (None when it has none); others are checked by :func:`as_edge_weights`.
    """
    if weights is None:
        return sheaf.edge_weights
    return as_edge_weights(weights, sheaf.n_edges, "weights")


#: restriction maps (weights) whose largest magnitude is 2**e with |e| above this are
#: rescaled by 2**-e before any product is formed (exact: a power of two)
_SAFE_EXPONENT = 60


def _exponent(arr: np.ndarray) -> int:
    """e with ``max|arr| / 2**e`` in [0.5, 1); 0 for an empty or all-zero array."""
    return int(np.frexp(power_of_two_scale(arr))[1]) - 1


def scaled_maps(sheaf: CellularSheaf) -> tuple[np.ndarray, np.ndarray, int]:
    """``(tail / 2**e, head / 2**e, e)``: the maps brought near magnitude 1 (cached).

    Every operator is homogeneous in the maps (δ of degree 1, L of degree 2),
    so the kernels work on these and the callers multiply back by the exact
    power of two, or use the scale-free quantity (kernels, projections). Maps
    already within ``2**±60`` are used as they are (e = 0, no copy).
    """
    return sheaf.cached("scaled_maps", lambda: _scaled_maps(sheaf.layout))


def _scaled_maps(lay: SheafLayout) -> tuple[np.ndarray, np.ndarray, int]:
    both = np.concatenate([lay.tail[:1], lay.head[:1]])  # dtype, possibly empty
    top = _map_top(lay)
    e = _exponent(np.array([top], dtype=both.dtype))
    if abs(e) <= _SAFE_EXPONENT:
        return lay.tail, lay.head, 0
    # read-only like the originals: the numba kernels see one array type
    return readonly(np.ldexp(lay.tail, -e)), readonly(np.ldexp(lay.head, -e)), e


def scaled_layout(sheaf: CellularSheaf) -> tuple[SheafLayout, int]:
    """``(layout, e)``: the sheaf's :class:`SheafLayout` with the maps of :func:`scaled_maps`."""
    tail, head, e = scaled_maps(sheaf)
    return sheaf.layout._replace(tail=tail, head=head), e


def scaled_weights(sheaf: CellularSheaf, w: np.ndarray | None) -> tuple[np.ndarray, int]:
    """``(w / 2**e, e)`` for validated weights (ones and 0 for None); see :func:`scaled_maps`."""
    if w is None:
        return np.ones(sheaf.n_edges), 0
    e = _exponent(w)
    if abs(e) <= _SAFE_EXPONENT:
        return w, 0
    return np.ldexp(w, -e), e


def _abs_max(a: np.ndarray) -> float:
    """max|a| without an |a| temporary (the maps of a 1M-edge sheaf are 0.5 GB each)."""
    if a.size == 0:
        return 0.0
    return max(float(a.max()), -float(a.min()))


def _map_top(lay: SheafLayout) -> float:
    return max(_abs_max(lay.tail), _abs_max(lay.head))


def unscale(
    data: Any, e: Any, what: str, sheaf: CellularSheaf, w: np.ndarray | None, extra: str = ""
) -> Any:
    """``data * 2**e`` (exact, underflow rounds to 0), or a ValueError naming the inputs
    when the value at the original scale overflows float64. ``e`` may be an array
    (broadcast against ``data``)."""
    if np.all(np.asarray(e) == 0):
        return data
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(data, e)
    if not np.isfinite(out).all():
        wtop = float(w.max(initial=0.0)) if w is not None else 1.0
        top = _map_top(sheaf.layout)
        raise ValueError(
            f"{what} overflows float64 (its entries would exceed 1.8e308): it is homogeneous "
            f"in the sheaf's restriction maps (largest |entry| {top:.3g}) and the "
            f"weights (largest {wtop:.3g}){extra}; rescale the sheaf's maps or the weights"
        )
    return out


def incidence(sheaf: CellularSheaf) -> Incidence:
    """Per vertex, its incident edges sorted by neighbour (a counting sort; kept by the sheaf)."""

    def build() -> Incidence:
        with serial_if_small(sheaf):
            return Incidence(*_kernels().incidence(sheaf.edges, sheaf.n_vertices))

    return sheaf.cached("incidence", build)


#: Laplacians with at least this many nonzeros get a kernel compiled for their stalk
#: dimensions (see ``_assembly.laplacian_kernel``); smaller ones share the generic kernel.
SPECIALIZE_NNZ = 1 << 22


def _vertex_blocks_scaled(sheaf: CellularSheaf, w: np.ndarray | None) -> tuple[np.ndarray, int]:
    """The Laplacian's diagonal blocks, flat, of the rescaled maps and weights, and the
    exponent e with ``D_v = 2**e * blocks``."""
    inc = incidence(sheaf)
    lay, ef = scaled_layout(sheaf)
    ws, ew = scaled_weights(sheaf, w)
    off = offsets(sheaf.vertex_dims**2)
    out = np.empty(int(off[-1]))
    udv, ude = (np.uint64(d) for d in common_dims(sheaf.vertex_dims, sheaf.edge_dims))
    with serial_if_small(sheaf):
        _kernels().vertex_blocks(lay, inc, ws, udv, ude, off, out)
    return out, 2 * ef + ew


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
    delta = sheaf.cached("delta", lambda: _assemble_coboundary(sheaf, sheaf.layout))
    return delta.asformat(format)


def coboundary_scaled(sheaf: CellularSheaf) -> tuple[Any, int]:
    """``(delta_s, e)`` with ``delta = 2**e * delta_s``, assembled from :func:`scaled_maps`."""
    lay, e = scaled_layout(sheaf)
    if e == 0:
        return coboundary(sheaf), 0
    return sheaf.cached("delta_scaled", lambda: _assemble_coboundary(sheaf, lay)), e


def _assemble_coboundary(sheaf: CellularSheaf, lay: SheafLayout) -> Any:
    """The coboundary of the maps in ``lay`` (the sheaf's own or rescaled ones), CSR."""
    u, v = sheaf.edges[:, 0], sheaf.edges[:, 1]
    vd, ed = sheaf.vertex_dims, sheaf.edge_dims
    estart = offsets(ed * (vd[u] + vd[v]))  # where each edge's entries start
    nnz = int(estart[-1])
    it = _index_dtype(nnz, sheaf.dim_c0)
    out = CSRArrays(np.empty(sheaf.dim_c1 + 1, dtype=it), np.empty(nnz, dtype=it), np.empty(nnz))
    with serial_if_small(sheaf):
        _kernels().coboundary_csr(lay, estart, out)
    return _csr((sheaf.dim_c1, sheaf.dim_c0), out.indptr, out.indices, out.data)


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
        [0, 2] (``theory/sheaf-normalized-laplacian.md``).
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
    w = _edge_weights(sheaf, weights)
    format = check_choice(format, "format", FORMATS)
    pinv_rtol = check_real(pinv_rtol, "pinv_rtol", low=0.0, high=1.0)
    if not isinstance(normalized, (bool, np.bool_)):
        raise TypeError(f"normalized must be a bool; got {type(normalized).__name__}")

    def build() -> Any:
        Ls, e = laplacian_scaled(sheaf, w, bool(normalized), pinv_rtol)
        if e:
            Ls = _csr(
                Ls.shape, Ls.indptr, Ls.indices, unscale(Ls.data, e, "the Laplacian", sheaf, w)
            )
        return Ls

    if weights is not None:  # the sheaf's own weights (or none) are cached with it
        return build().asformat(format)
    return sheaf.cached(("laplacian", bool(normalized), pinv_rtol), build).asformat(format)


def laplacian_scaled(
    sheaf: CellularSheaf,
    w: np.ndarray | None,
    normalized: bool = False,
    pinv_rtol: float = 1e-12,
) -> tuple[Any, int]:
    """``(L_s, e)`` with ``L = 2**e * L_s``, assembled from the rescaled maps and weights
    (e = 0 for the normalised Laplacian, which is scale-free). Those with no weights or the
    sheaf's own :attr:`~CellularSheaf.edge_weights` are cached."""
    if w is None or w is sheaf.edge_weights:
        return sheaf.cached(
            ("laplacian_scaled", normalized, pinv_rtol, w is None),
            lambda: _assemble_laplacian(sheaf, w, normalized, pinv_rtol),
        )
    return _assemble_laplacian(sheaf, w, normalized, pinv_rtol)


def _assemble_laplacian(
    sheaf: CellularSheaf, w: np.ndarray | None, normalized: bool, pinv_rtol: float
) -> tuple[Any, int]:
    """:func:`laplacian_scaled` without the cache: one pass of the Laplacian kernel."""
    inc = incidence(sheaf)
    lay, ef = scaled_layout(sheaf)
    weights, ew = scaled_weights(sheaf, w)
    vd = sheaf.vertex_dims
    soff = offsets(vd**2)
    if normalized:
        S = _pinv_sqrt_blocks(_vertex_blocks_scaled(sheaf, w)[0], vd, soff, pinv_rtol)
    else:
        S = np.zeros(0)
    src_sorted = np.repeat(np.arange(sheaf.n_vertices), np.diff(inc.ptr))
    neighbour_dims = np.bincount(src_sorted, weights=vd[inc.dst], minlength=sheaf.n_vertices)
    row_len = np.repeat(vd + neighbour_dims.astype(np.int64), vd)
    indptr64 = offsets(row_len)
    nnz = int(indptr64[-1])
    it = _index_dtype(nnz, sheaf.dim_c0)
    out = CSRArrays(indptr64, np.empty(nnz, dtype=it), np.empty(nnz))
    # stalk dimensions fixed at compile time for large sheaves only: each pair compiles once
    dims = common_dims(vd, sheaf.edge_dims) if nnz >= SPECIALIZE_NNZ else (0, 0)
    kernel = _kernels().laplacian_kernel(*dims)
    with serial_if_small(sheaf):
        kernel(lay, inc, weights, Normalisation(S, soff, normalized), out)
    return (
        _csr((sheaf.dim_c0, sheaf.dim_c0), indptr64.astype(it), out.indices, out.data),
        0 if normalized else 2 * ef + ew,
    )


def vertex_blocks(sheaf: CellularSheaf, *, weights: Any = None) -> list[np.ndarray] | np.ndarray:
    r"""The diagonal blocks of the Laplacian, one per vertex.

    :math:`D_v = \sum_e w_e F_{v \trianglelefteq e}^\top F_{v \trianglelefteq e}`.

    Returns an (n, d, d) array for uniform vertex dimensions, else a list.
    (The degree matrix of the normalised Laplacian.) Computed on maps and
    weights rescaled by powers of two and scaled back exactly; a
    ``ValueError`` says so when the blocks overflow float64.
    """
    sheaf = _check_sheaf(sheaf)
    w = _edge_weights(sheaf, weights)
    flat, e = _vertex_blocks_scaled(sheaf, w)
    flat = unscale(flat, e, "the vertex blocks", sheaf, w)
    vd = sheaf.vertex_dims
    if sheaf.n_vertices and (vd == vd[0]).all():
        d = int(vd[0])
        return flat.reshape(sheaf.n_vertices, d, d)
    off = offsets(vd**2)
    return [flat[off[i] : off[i + 1]].reshape(d, d) for i, d in enumerate(vd)]


def edge_laplacian(sheaf: CellularSheaf, *, weights: Any = None, format: str = "csr") -> Any:
    r"""The up-Laplacian on 1-cochains, :math:`W^{1/2} \delta \delta^\top W^{1/2}`.

    Shape (dim_c1, dim_c1); its nonzero spectrum equals that of
    :func:`laplacian` (same weights). Two edges interact when they share a
    vertex, so it has sum_v deg(v)^2 blocks: dense around hubs.
    """
    sheaf = _check_sheaf(sheaf)
    w = _edge_weights(sheaf, weights)
    format = check_choice(format, "format", FORMATS)
    import scipy.sparse as sp

    d, ef = coboundary_scaled(sheaf)
    ws, ew = scaled_weights(sheaf, w)
    if w is not None:
        d = sp.diags_array(np.repeat(np.sqrt(ws), sheaf.edge_dims)) @ d
    A = (d @ d.T).tocsr()
    if 2 * ef + ew:
        A = sp.csr_array(
            (unscale(A.data, 2 * ef + ew, "the edge Laplacian", sheaf, w), A.indices, A.indptr),
            shape=A.shape,
        )
    return A.asformat(format)


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
    if (
        arr.ndim == 2
        and uniform
        and arr.shape == (sheaf.n_vertices, int(vd[0]))
        and (arr.shape[0] != N0)
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
    w = _edge_weights(sheaf, weights)
    X, _ = as_cochain(sheaf, x)
    # x^T L x is homogeneous of degree 2 in the maps and in x, 1 in the weights: computed
    # at magnitude ~1 and scaled back by an exact power of two
    ex = _exponent(X)
    d, ef = coboundary_scaled(sheaf)
    ws, ew = scaled_weights(sheaf, w)
    Y = d @ np.ldexp(X, -ex)
    if w is not None:
        Y = Y * np.sqrt(np.repeat(ws, sheaf.edge_dims))[:, None]
    top = np.abs(Y).max(axis=0, initial=0.0) if Y.shape[0] else np.zeros(Y.shape[1])
    ey = np.frexp(np.where(top > 0, top, 1.0))[1]
    Y = np.ldexp(Y, -ey[None, :])  # every column at magnitude ~1: its sum of squares is exact
    energy = unscale(
        np.einsum("ij,ij->j", Y, Y),
        2 * (ey + ef + ex) + ew,
        "the Dirichlet energy",
        sheaf,
        w,
        extra=" and in x (degree 2)",
    )
    arr = np.asarray(x)
    if (
        arr.ndim == 2
        and arr.shape[0] == sheaf.dim_c0
        and not (sheaf.is_uniform and arr.shape == (sheaf.n_vertices, int(sheaf.vertex_dims[0])))
    ):
        return energy
    return float(energy[0])
