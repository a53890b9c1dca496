"""The :class:`CellularSheaf` on a graph: stalks, restriction maps, and its constructors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import (
    as_dims,
    as_float_array,
    as_graph_edges,
    check_int,
    check_random_state,
    check_real,
)

__all__ = ["CellularSheaf"]


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


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _offsets(sizes: np.ndarray) -> np.ndarray:
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def _stack_maps(maps: Any, name: str, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        e = int(np.searchsorted(_offsets(rows * cols), k, side="right") - 1)
        raise ValueError(f"{name} must be finite; the map of edge {e} holds {flat[k]!r}")
    return flat, rows, cols


class CellularSheaf:
    r"""A cellular sheaf of real vector spaces on a simple graph.

    Every vertex v carries a stalk :math:`\mathbb{R}^{d_v}`, every edge e a
    stalk :math:`\mathbb{R}^{d_e}`, and every incidence :math:`v \trianglelefteq e`
    a restriction map :math:`F_{v \trianglelefteq e}: \mathbb{R}^{d_v} \to
    \mathbb{R}^{d_e}`.

    **Orientation.** Edge ``e = edges[e] = (u, v)`` has tail u and head v; the
    coboundary is :math:`(\delta x)_e = F_{v \trianglelefteq e} x_v -
    F_{u \trianglelefteq e} x_u` (head minus tail). Reversing an edge negates
    its row of δ and changes nothing else (Laplacians, cohomology).

    **Cochains.** A 0-cochain is one vector of length ``dim_c0 = sum(d_v)``,
    vertex v at ``vertex_offsets[v]:vertex_offsets[v + 1]``; 1-cochains
    likewise with ``edge_offsets``. When all vertex stalks have dimension d,
    functions also accept 0-cochains of shape (n_vertices, d).

    **Storage.** The maps live in two flat float64 arrays (tails and heads,
    row-major per edge), so that sheaves with different stalk dimensions are
    as cheap as uniform ones; :attr:`tail_maps` / :attr:`head_maps` view them
    as (m, d_e, d_v) stacks when the dimensions are uniform. Instances are
    immutable (arrays read-only); operators such as the coboundary are
    computed once and cached.

    Use the constructors :meth:`constant`, :meth:`from_maps`, :meth:`random`,
    :meth:`connection`, :meth:`from_networkx` and :meth:`from_nsd` rather than
    ``__init__``.

    Parameters
    ----------
    n_vertices : int
    edges : array_like of int, shape (m, 2)
        No self-loops, no repeated edges.
    vertex_dims : array_like of int, shape (n_vertices,)
    edge_dims : array_like of int, shape (m,)
    tail, head : ndarray of float64
        Flat row-major maps: edge e's tail map (d_e x d_u) then the next.
    vertex_labels : list, optional
        Original node labels (kept by :meth:`from_networkx`).

    References
    ----------
    .. [1] J. Hansen, R. Ghrist, "Toward a spectral theory of cellular
       sheaves", J. Appl. Comput. Topol. 3 (2019).
    .. [2] C. Bodnar et al., "Neural Sheaf Diffusion", NeurIPS 2022.
    .. [3] SheafAlign, arXiv:2510.20540.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.sheaf import CellularSheaf
    >>> F = CellularSheaf.constant(np.array([[0, 1], [1, 2]]), 2)
    >>> F.n_vertices, F.n_edges, F.dim_c0, F.dim_c1
    (3, 2, 6, 4)
    """

    def __init__(
        self,
        n_vertices: int,
        edges: Any,
        vertex_dims: Any,
        edge_dims: Any,
        tail: Any,
        head: Any,
        *,
        vertex_labels: list | None = None,
    ) -> None:
        edges_arr, n, _ = as_graph_edges(edges, n_vertices, "edges")
        m = len(edges_arr)
        vd = as_dims(vertex_dims, n, "vertex_dims")
        ed = as_dims(edge_dims, m, "edge_dims")
        # own copies: the sheaf is immutable, so it must not alias the caller's arrays
        tail_arr = np.array(as_float_array(tail, "tail", dtype=np.float64), copy=True).reshape(-1)
        head_arr = np.array(as_float_array(head, "head", dtype=np.float64), copy=True).reshape(-1)
        u, v = edges_arr[:, 0], edges_arr[:, 1]
        toff = _offsets(ed * vd[u])
        hoff = _offsets(ed * vd[v])
        for name, arr, off in (("tail", tail_arr, toff), ("head", head_arr, hoff)):
            if arr.shape[0] != off[-1]:
                raise ValueError(
                    f"{name} must hold sum_e d_e * d_(its {name} vertex) = {off[-1]} numbers; "
                    f"got {arr.shape[0]}"
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} maps must be finite (no NaN or inf)")
        if vertex_labels is not None:
            if isinstance(vertex_labels, (str, bytes, dict)) or not (
                isinstance(vertex_labels, Sequence)
                or (isinstance(vertex_labels, np.ndarray) and vertex_labels.ndim == 1)
            ):
                raise TypeError(
                    f"vertex_labels must be a list of {n} node labels or None; got "
                    f"{type(vertex_labels).__name__}"
                )
            if len(vertex_labels) != n:
                raise ValueError(
                    f"vertex_labels must have {n} entries; got {len(vertex_labels)}"
                )
        self._n = n
        self._edges = _readonly(edges_arr)
        self._vdims = _readonly(vd)
        self._edims = _readonly(ed)
        self._tail = _readonly(tail_arr)
        self._head = _readonly(head_arr)
        self._voff = _readonly(_offsets(vd))
        self._eoff = _readonly(_offsets(ed))
        self._toff = _readonly(toff)
        self._hoff = _readonly(hoff)
        self._labels = list(vertex_labels) if vertex_labels is not None else None
        self._cache: dict[Any, Any] = {}

    # ------------------------------------------------------------------
    # basic structure
    # ------------------------------------------------------------------

    @property
    def n_vertices(self) -> int:
        return self._n

    @property
    def n_edges(self) -> int:
        return int(self._edges.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """(m, 2) int64: ``(tail, head)`` of every edge."""
        return self._edges

    @property
    def vertex_dims(self) -> np.ndarray:
        return self._vdims

    @property
    def edge_dims(self) -> np.ndarray:
        return self._edims

    @property
    def vertex_offsets(self) -> np.ndarray:
        """(n + 1,): vertex v's coordinates in a 0-cochain are ``[off[v], off[v+1])``."""
        return self._voff

    @property
    def edge_offsets(self) -> np.ndarray:
        """(m + 1,): edge e's coordinates in a 1-cochain are ``[off[e], off[e+1])``."""
        return self._eoff

    @property
    def dim_c0(self) -> int:
        """Dimension of the 0-cochains, sum of the vertex stalk dimensions."""
        return int(self._voff[-1])

    @property
    def dim_c1(self) -> int:
        """Dimension of the 1-cochains, sum of the edge stalk dimensions."""
        return int(self._eoff[-1])

    @property
    def vertex_labels(self) -> list:
        """Node labels (those of the networkx graph it came from, else 0..n-1)."""
        return list(self._labels) if self._labels is not None else list(range(self._n))

    @property
    def is_uniform(self) -> bool:
        """True when all vertex stalks share one dimension and all edge stalks another."""
        dv, de = self._common_dims()
        return (self._n == 0 or dv > 0) and (self.n_edges == 0 or de > 0)

    def _common_dims(self) -> tuple[int, int]:
        """(d_v, d_e): the dimension every vertex (edge) stalk has, 0 where they differ or
        there are none."""

        def common(dims: np.ndarray) -> int:
            return int(dims[0]) if len(dims) and (dims == dims[0]).all() else 0

        return common(self._vdims), common(self._edims)

    def _uniform_shape(self, what: str) -> tuple[int, int]:
        if not self.is_uniform:
            raise ValueError(
                f"{what} needs uniform stalk dimensions; this sheaf has vertex dims "
                f"{sorted(set(self._vdims.tolist()))} and edge dims "
                f"{sorted(set(self._edims.tolist()))}: use tail_map(e) / head_map(e)"
            )
        de = int(self._edims[0]) if self.n_edges else 0
        return de, int(self._vdims[0])

    @property
    def tail_maps(self) -> np.ndarray:
        """(m, d_e, d_v) read-only view of the tail maps (uniform dimensions only)."""
        de, dv = self._uniform_shape("tail_maps")
        return self._tail.reshape(self.n_edges, de, dv)

    @property
    def head_maps(self) -> np.ndarray:
        """(m, d_e, d_v) read-only view of the head maps (uniform dimensions only)."""
        de, dv = self._uniform_shape("head_maps")
        return self._head.reshape(self.n_edges, de, dv)

    def _check_edge(self, e: Any) -> int:
        return check_int(e, "e", minimum=0, maximum=self.n_edges - 1)

    def tail_map(self, e: int) -> np.ndarray:
        """F_{u<=e} for e = (u, v), shape (d_e, d_u)."""
        e = self._check_edge(e)
        de, du = int(self._edims[e]), int(self._vdims[self._edges[e, 0]])
        return self._tail[self._toff[e] : self._toff[e + 1]].reshape(de, du)

    def head_map(self, e: int) -> np.ndarray:
        """F_{v<=e} for e = (u, v), shape (d_e, d_v)."""
        e = self._check_edge(e)
        de, dv = int(self._edims[e]), int(self._vdims[self._edges[e, 1]])
        return self._head[self._hoff[e] : self._hoff[e + 1]].reshape(de, dv)

    def __repr__(self) -> str:
        if self.is_uniform:
            de = int(self._edims[0]) if self.n_edges else 0
            dims = f"vertex_dim={int(self._vdims[0])}, edge_dim={de}"
        else:
            dims = "ragged dims"
        return f"CellularSheaf(n_vertices={self._n}, n_edges={self.n_edges}, {dims})"

    # ------------------------------------------------------------------
    # derived structure (cached)
    # ------------------------------------------------------------------

    def _incidence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per vertex, its incident edges sorted by neighbour: (ptr, dst, eid, side)."""
        if "incidence" not in self._cache:
            m = self.n_edges
            u, v = self._edges[:, 0], self._edges[:, 1]
            src = np.concatenate([u, v])
            dst = np.concatenate([v, u])
            order = np.argsort(src * self._n + dst, kind="stable")
            ptr = _offsets(np.bincount(src, minlength=self._n))
            eid = order % max(m, 1)  # incidence i < m is edge i's tail, i >= m its head
            side = (order >= m).astype(np.int64)
            self._cache["incidence"] = (ptr, dst[order], eid, side)
        return self._cache["incidence"]

    # ------------------------------------------------------------------
    # constructors
    # ------------------------------------------------------------------

    @classmethod
    def from_maps(
        cls, graph: Any, tail: Any, head: Any, *, n_vertices: int | None = None
    ) -> CellularSheaf:
        """A sheaf from its restriction maps.

        Parameters
        ----------
        graph : networkx graph or array_like (m, 2)
            Edges ``(u, v)``: u is the tail, v the head.
        tail, head : array_like (m, d_e, d_v) or sequence of m matrices
            ``tail[e]`` is :math:`F_{u \\trianglelefteq e}` (d_e x d_u),
            ``head[e]`` is :math:`F_{v \\trianglelefteq e}` (d_e x d_v). Stalk
            dimensions are read off the shapes and must agree at every vertex.
        n_vertices : int, optional
            For edge lists with isolated vertices; those get stalk dimension 1
            (no map constrains them).

        Examples
        --------
        >>> import numpy as np
        >>> from sheaftopo.sheaf import CellularSheaf
        >>> R = np.array([[0.0, -1.0], [1.0, 0.0]])
        >>> F = CellularSheaf.from_maps([[0, 1]], [np.eye(2)], [R])
        >>> F.head_map(0)
        array([[ 0., -1.],
               [ 1.,  0.]])
        """
        edges, n, labels = as_graph_edges(graph, n_vertices)
        m = len(edges)
        t_flat, t_rows, t_cols = _stack_maps(tail, "tail", m)
        h_flat, h_rows, h_cols = _stack_maps(head, "head", m)
        if (t_rows != h_rows).any():
            e = int(np.flatnonzero(t_rows != h_rows)[0])
            raise ValueError(
                f"tail[{e}] and head[{e}] must map into the same edge stalk; they have "
                f"{t_rows[e]} and {h_rows[e]} rows"
            )
        vd = np.zeros(n, dtype=np.int64)
        ends = np.concatenate([edges[:, 0], edges[:, 1]])
        cols = np.concatenate([t_cols, h_cols])
        vd[ends] = cols  # any one incidence per vertex; all are checked next
        clash = vd[ends] != cols
        if clash.any():
            k = int(np.flatnonzero(clash)[0])
            e, which = k % m, ("tail" if k < m else "head")
            raise ValueError(
                f"{which}[{e}] has {cols[k]} columns but vertex {ends[k]}'s stalk has dimension "
                f"{vd[ends[k]]} in another of its maps"
            )
        vd[vd == 0] = 1
        return cls(n, edges, vd, t_rows, t_flat, h_flat, vertex_labels=labels)

    @classmethod
    def constant(cls, graph: Any, dim: int = 1, *, n_vertices: int | None = None) -> CellularSheaf:
        """The constant sheaf: every stalk R^dim, every map the identity.

        Its Laplacian is the graph Laplacian tensored with the identity,
        :math:`L_G \\otimes I_d`.

        Examples
        --------
        >>> from sheaftopo.sheaf import CellularSheaf, laplacian
        >>> laplacian(CellularSheaf.constant([[0, 1], [1, 2]], 1)).toarray()
        array([[ 1., -1.,  0.],
               [-1.,  2., -1.],
               [ 0., -1.,  1.]])
        """
        edges, n, labels = as_graph_edges(graph, n_vertices)
        d = check_int(dim, "dim", minimum=1)
        m = len(edges)
        check_memory(2.0 * m * d * d + 4.0 * n * d, f"dim={d} on {m} edges (the maps)")
        eye = np.broadcast_to(np.eye(d), (m, d, d)).reshape(-1)
        return cls(n, edges, d, d, eye, eye, vertex_labels=labels)

    @classmethod
    def random(
        cls,
        graph: Any,
        vertex_dims: Any,
        edge_dims: Any,
        *,
        seed: Any = None,
        orthogonal: bool = False,
        n_vertices: int | None = None,
    ) -> CellularSheaf:
        """Random restriction maps.

        Gaussian entries with variance 1/d_v, or, with ``orthogonal=True``,
        uniformly random (Haar) maps with orthonormal rows (d_e <= d_v) or
        columns (d_e > d_v): orthogonal matrices when d_e = d_v.

        Examples
        --------
        >>> from sheaftopo.sheaf import CellularSheaf
        >>> F = CellularSheaf.random([[0, 1], [1, 2], [2, 0]], 3, 2, seed=0, orthogonal=True)
        >>> import numpy as np
        >>> bool(np.allclose(F.tail_maps @ F.tail_maps.transpose(0, 2, 1), np.eye(2)))
        True
        """
        edges, n, labels = as_graph_edges(graph, n_vertices)
        m = len(edges)
        vd = as_dims(vertex_dims, n, "vertex_dims")
        ed = as_dims(edge_dims, m, "edge_dims")
        check_memory(float((ed * (vd[edges[:, 0]] + vd[edges[:, 1]])).sum()) + 4.0 * vd.sum(),
                     "vertex_dims / edge_dims (the maps)")
        if not isinstance(orthogonal, (bool, np.bool_)):
            raise TypeError(f"orthogonal must be True or False; got {orthogonal!r}")
        rng = check_random_state(seed)
        flats = []
        for ends in (edges[:, 0], edges[:, 1]):
            cols = vd[ends]
            out = np.empty(int((ed * cols).sum()))
            off = _offsets(ed * cols)
            # one batched draw per distinct (d_e, d_v) shape, not per edge
            if m and (ed == ed[0]).all() and (cols == cols[0]).all():
                flats.append(_random_maps(rng, m, int(ed[0]), int(cols[0]), orthogonal).ravel())
                continue
            shapes = np.stack([ed, cols], 1)
            uniq, inverse = np.unique(shapes, axis=0, return_inverse=True)
            for s, (r, c) in enumerate(uniq):
                idx = np.flatnonzero(inverse.ravel() == s)
                block = _random_maps(rng, len(idx), int(r), int(c), orthogonal)
                pos = off[idx][:, None] + np.arange(r * c)[None, :]
                out[pos] = block.reshape(len(idx), -1)
            flats.append(out)
        return cls(n, edges, vd, ed, flats[0], flats[1], vertex_labels=labels)

    @classmethod
    def connection(
        cls, graph: Any, rotations: Any, *, n_vertices: int | None = None, atol: float = 1e-8
    ) -> CellularSheaf:
        """An orthogonal connection (an O(d)-bundle): its Laplacian is the connection Laplacian.

        Edge e = (u, v) gets :math:`F_{u \\trianglelefteq e} = R_e` and
        :math:`F_{v \\trianglelefteq e} = I`, so a global section satisfies
        :math:`x_v = R_e x_u`: :math:`R_e` transports u's frame to v's.

        Parameters
        ----------
        rotations : array_like, shape (m, d, d)
            Orthogonal matrices (checked to ``atol``).

        Examples
        --------
        >>> import numpy as np
        >>> from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions
        >>> R = np.array([[[0.0, -1.0], [1.0, 0.0]]] * 4)   # quarter turns round a 4-cycle
        >>> F = CellularSheaf.connection([[0, 1], [1, 2], [2, 3], [3, 0]], R)
        >>> cohomology_dimensions(F)[0]   # holonomy = a full turn = identity
        2
        """
        edges, n, labels = as_graph_edges(graph, n_vertices)
        m = len(edges)
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
        eye = np.broadcast_to(np.eye(d), (m, d, d)).reshape(-1)
        return cls(n, edges, d, d, R.reshape(-1), eye, vertex_labels=labels)

    @classmethod
    def from_networkx(cls, G: Any, *, attr: str = "restriction") -> CellularSheaf:
        """A sheaf from a networkx graph whose edges carry their maps.

        Every edge ``{a, b}`` must have ``G.edges[a, b][attr] = {a: F_a, b: F_b}``
        (maps keyed by endpoint, so orientation cannot be confused). Nodes are
        numbered in ``G.nodes`` order; their labels are kept in
        :attr:`vertex_labels`. A node attribute ``"dim"`` (written by
        :meth:`to_networkx`) gives the stalk dimension of a vertex without
        edges (default 1) and must agree with the maps elsewhere.
        :meth:`to_networkx` is the inverse.
        """
        if not (hasattr(G, "nodes") and hasattr(G, "edges") and hasattr(G, "is_directed")):
            raise TypeError(
                f"G must be a networkx graph whose edges carry their maps; got "
                f"{type(G).__name__} (use from_maps for edge lists)"
            )
        _check_attr(attr)
        edges, n, labels = as_graph_edges(G, name="G")
        assert labels is not None  # a networkx graph always has labels
        tails, heads = [], []
        for k, (a, b) in enumerate(G.edges()):
            maps = G.edges[a, b].get(attr)
            if not isinstance(maps, dict) or a not in maps or b not in maps:
                raise ValueError(
                    f"edge {k} ({a!r}, {b!r}) must carry {attr}={{{a!r}: F_a, {b!r}: F_b}}; "
                    f"got {type(maps).__name__}"
                )
            tails.append(maps[a])
            heads.append(maps[b])
        sheaf = cls.from_maps(edges, tails, heads, n_vertices=n)
        vd = sheaf._vdims.copy()
        touched = np.zeros(n, dtype=bool)
        touched[edges.ravel()] = True
        for i, node in enumerate(labels):
            dim = G.nodes[node].get("dim")
            if dim is None:
                continue
            dim = check_int(dim, f"the 'dim' attribute of node {node!r}", minimum=1)
            if touched[i] and dim != vd[i]:
                raise ValueError(
                    f"the 'dim' attribute of node {node!r} is {dim} but its restriction maps "
                    f"have {vd[i]} columns"
                )
            vd[i] = dim
        return cls(n, edges, vd, sheaf._edims, sheaf._tail, sheaf._head, vertex_labels=labels)

    def to_networkx(self, *, attr: str = "restriction") -> Any:
        """A networkx Graph with the maps as edge attributes (see :meth:`from_networkx`).

        Vertex stalk dimensions are stored as the node attribute ``"dim"``.
        """
        import networkx as nx

        _check_attr(attr)
        G = nx.Graph()
        labels = self.vertex_labels
        for i, lab in enumerate(labels):
            G.add_node(lab, dim=int(self._vdims[i]))
        for e, (a, b) in enumerate(self._edges):
            la, lb = labels[a], labels[b]
            G.add_edge(la, lb, **{attr: {la: self.tail_map(e).copy(), lb: self.head_map(e).copy()}})
        return G

    @classmethod
    def from_nsd(
        cls, edge_index: Any, maps: Any, *, n_vertices: int | None = None
    ) -> CellularSheaf:
        """A sheaf from Neural Sheaf Diffusion's map layout.

        Parameters
        ----------
        edge_index : array_like of int, shape (2, 2m)
            Directed edges, every undirected edge present in both directions
            (PyTorch Geometric's convention). Self-loops and repeated directed
            edges raise ``ValueError`` (drop NSD's self-loops first: they are
            not part of the sheaf).
        maps : array_like, shape (2m, d_e, d_v) or (2m, d)
            ``maps[k]`` is :math:`F_{s \\trianglelefteq e}` for the directed edge
            ``k = (s, t)`` (general or orthogonal maps), or its diagonal
            (NSD's diagonal sheaves). Torch tensors: pass ``.detach().cpu().numpy()``.
        n_vertices : int, optional
            Default: largest index + 1 (required when ``edge_index`` is empty).
            Every vertex gets stalk dimension d_v.

        Returns
        -------
        CellularSheaf

        Notes
        -----
        Edge ``{s, t}`` becomes ``(min, max)`` with the tail map taken from the
        directed edge (min, max). NSD's off-diagonal Laplacian block for
        (s, t) is then ours, :math:`-F_s^\top F_t`.
        """
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
        rev = order[pos]
        fwd = np.flatnonzero(s < t)
        de, dv = M.shape[1], M.shape[2]
        return cls(n, np.stack([s[fwd], t[fwd]], axis=1).reshape(-1, 2), dv, de,
                   M[fwd].reshape(-1), M[rev[fwd]].reshape(-1))

    def to_nsd(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edge_index (2, 2m), maps (2m, d_e, d_v))`` in Neural Sheaf Diffusion's layout.

        Directed edge k < m is ``edges[k]`` (tail -> head) with the tail map;
        k + m is its reverse with the head map. Needs uniform dimensions.
        """
        T, H = self.tail_maps, self.head_maps
        u, v = self._edges[:, 0], self._edges[:, 1]
        edge_index = np.stack([np.concatenate([u, v]), np.concatenate([v, u])])
        return edge_index, np.concatenate([T, H]).copy()


def _check_attr(attr: Any) -> None:
    if not isinstance(attr, str):
        raise TypeError(f"attr must be a string (an edge attribute name); got {attr!r}")


def _random_maps(rng: np.random.Generator, k: int, r: int, c: int, orthogonal: bool) -> np.ndarray:
    if not orthogonal:
        return rng.standard_normal((k, r, c)) / np.sqrt(c)
    big, small = max(r, c), min(r, c)
    A = rng.standard_normal((k, big, small))
    Q, Rr = np.linalg.qr(A)
    Q = Q * np.sign(np.diagonal(Rr, axis1=1, axis2=2))[:, None, :]  # Haar measure
    return Q if r >= c else Q.transpose(0, 2, 1)
