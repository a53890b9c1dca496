"""The :class:`CellularSheaf` on a graph: stalks, restriction maps, and its constructors."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from .._core.graphs import as_graph_edges
from .._validation import (
    as_dims,
    as_float_array,
    check_int,
    check_random_state,
)
from ._layouts import SheafLayout, offsets, readonly
from ._maps import check_memory, check_rotations, random_flat_maps, stack_maps
from ._networkx import (
    as_edge_weights,
    check_vertex_labels,
    graph_of,
    sheaf_arrays_from_networkx,
    sheaf_to_networkx,
)
from ._nsd import nsd_arrays

__all__ = ["CellularSheaf", "common_dims"]

T = TypeVar("T")


def common_dims(vertex_dims: np.ndarray, edge_dims: np.ndarray) -> tuple[int, int]:
    """(d_v, d_e): the dimension every vertex (edge) stalk has, 0 where they differ or
    there are none."""

    def common(dims: np.ndarray) -> int:
        return int(dims[0]) if len(dims) and (dims == dims[0]).all() else 0

    return common(vertex_dims), common(edge_dims)


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
    as (m, d_e, d_v) stacks when the dimensions are uniform, and :attr:`layout`
    gives all the flat arrays at once. Instances are immutable (arrays
    read-only); operators such as the coboundary are computed once and kept
    by the sheaf (:meth:`cached`, :meth:`clear_cache`).

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
    edge_weights : array_like, shape (m,), optional
        Non-negative finite edge weights :math:`w_e`, the default ``weights``
        of every operator that takes them (:func:`laplacian`,
        :func:`dirichlet_energy`, :func:`spectrum`, :func:`diffuse`, ...).
        None (the default) means 1 on every edge. The constructors that take a
        networkx graph read them from the edge attribute named by ``weight``.

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
        edge_weights: Any = None,
    ) -> None:
        edges_arr, n, _ = as_graph_edges(edges, n_vertices, "edges")
        m = len(edges_arr)
        vd = as_dims(vertex_dims, n, "vertex_dims")
        ed = as_dims(edge_dims, m, "edge_dims")
        # own copies: the sheaf is immutable, so it must not alias the caller's arrays
        tail_arr = np.array(as_float_array(tail, "tail", dtype=np.float64), copy=True).reshape(-1)
        head_arr = np.array(as_float_array(head, "head", dtype=np.float64), copy=True).reshape(-1)
        u, v = edges_arr[:, 0], edges_arr[:, 1]
        toff = offsets(ed * vd[u])
        hoff = offsets(ed * vd[v])
        for name, arr, off in (("tail", tail_arr, toff), ("head", head_arr, hoff)):
            if arr.shape[0] != off[-1]:
                raise ValueError(
                    f"{name} must hold sum_e d_e * d_(its {name} vertex) = {off[-1]} numbers; "
                    f"got {arr.shape[0]}"
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} maps must be finite (no NaN or inf)")
        check_vertex_labels(vertex_labels, n)
        self._n = n
        self._edges = readonly(edges_arr)
        self._vdims = readonly(vd)
        self._edims = readonly(ed)
        self._tail = readonly(tail_arr)
        self._head = readonly(head_arr)
        self._voff = readonly(offsets(vd))
        self._eoff = readonly(offsets(ed))
        self._toff = readonly(toff)
        self._hoff = readonly(hoff)
        self._labels = list(vertex_labels) if vertex_labels is not None else None
        self._weights = None if edge_weights is None else readonly(as_edge_weights(edge_weights, m))
        self._layout = SheafLayout(
            self._edges, self._voff, self._eoff, self._tail, self._toff, self._head, self._hoff
        )
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
    def edge_weights(self) -> np.ndarray | None:
        """The edge weights :math:`w_e`, shape (m,), read-only; None when every edge weighs 1."""
        return self._weights

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
        return common_dims(self._vdims, self._edims)

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
    # storage and derived structure
    # ------------------------------------------------------------------

    @property
    def layout(self) -> SheafLayout:
        """All the flat arrays that store the sheaf, read-only, in one :class:`SheafLayout`.

        The numba kernels take this (by field name); the arrays are the
        sheaf's own (no copy), so they cannot be written.

        Examples
        --------
        >>> from sheaftopo.sheaf import CellularSheaf
        >>> CellularSheaf.constant([[0, 1]], 1).layout.head
        array([1.])
        """
        return self._layout

    def cached(self, key: Hashable, build: Callable[[], T]) -> T:
        """The derived object stored under ``key``, made by ``build()`` on the first request.

        The sheaf's operators (coboundary, unweighted Laplacians, the incidence
        lists, rescaled maps) are computed once and kept here; ``build`` must
        depend on nothing but the sheaf, since the sheaf is immutable.

        Parameters
        ----------
        key : hashable
            What is stored, e.g. ``"delta"``.
        build : callable () -> object

        Returns
        -------
        object
            The stored object (the same one on every call until :meth:`clear_cache`).
        """
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def clear_cache(self) -> None:
        """Drop every operator kept by :meth:`cached` (frees their memory; rebuilt on demand)."""
        self._cache.clear()

    # ------------------------------------------------------------------
    # constructors
    # ------------------------------------------------------------------

    @classmethod
    def from_maps(
        cls,
        graph: Any,
        tail: Any,
        head: Any,
        *,
        n_vertices: int | None = None,
        weight: str | None = "weight",
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
        weight : str or None, default "weight"
            For a networkx graph: the edge attribute holding :attr:`edge_weights`
            (networkx's convention: an edge without it weighs 1; None ignores
            weights). Edge lists carry no weights.

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
        edges, n, labels, w = graph_of(graph, n_vertices, weight)
        m = len(edges)
        t_flat, t_rows, t_cols = stack_maps(tail, "tail", m)
        h_flat, h_rows, h_cols = stack_maps(head, "head", m)
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
        return cls(n, edges, vd, t_rows, t_flat, h_flat, vertex_labels=labels, edge_weights=w)

    @classmethod
    def constant(
        cls,
        graph: Any,
        dim: int = 1,
        *,
        n_vertices: int | None = None,
        weight: str | None = "weight",
        nodelist: Any = None,
    ) -> CellularSheaf:
        """The constant sheaf: every stalk R^dim, every map the identity.

        Its Laplacian is the (weighted) graph Laplacian tensored with the
        identity, :math:`L_G \\otimes I_d`: with ``dim=1`` and a networkx graph,
        ``laplacian(CellularSheaf.constant(G, weight=w, nodelist=nl))`` equals
        ``networkx.laplacian_matrix(G, nodelist=nl, weight=w)``, and with
        ``normalized=True`` ``networkx.normalized_laplacian_matrix`` (where no
        vertex is isolated; networkx gives an isolated vertex a zero row, and
        so do we).

        Parameters
        ----------
        graph : networkx graph or array_like of int, shape (m, 2)
        dim : int, default 1
            The stalk dimension.
        n_vertices : int, optional
            For edge lists with isolated vertices.
        weight : str or None, default "weight"
            For a networkx graph: the edge attribute holding :attr:`edge_weights`
            (an edge without it weighs 1; None ignores weights), as networkx's
            ``weight=``. Edge lists carry no weights.
        nodelist : sequence of nodes, optional
            For a networkx graph: the vertices, in this order (default
            ``G.nodes``); a subset keeps the induced subgraph, as networkx's
            ``nodelist=``.

        Examples
        --------
        >>> from sheaftopo.sheaf import CellularSheaf, laplacian
        >>> laplacian(CellularSheaf.constant([[0, 1], [1, 2]], 1)).toarray()
        array([[ 1., -1.,  0.],
               [-1.,  2., -1.],
               [ 0., -1.,  1.]])
        >>> import networkx as nx
        >>> G = nx.Graph([("a", "b", {"weight": 2.0}), ("b", "c", {"weight": 0.5})])
        >>> laplacian(CellularSheaf.constant(G, nodelist=["c", "b", "a"])).toarray()
        array([[ 0.5, -0.5,  0. ],
               [-0.5,  2.5, -2. ],
               [ 0. , -2. ,  2. ]])
        """
        edges, n, labels, w = graph_of(graph, n_vertices, weight, nodelist)
        d = check_int(dim, "dim", minimum=1)
        m = len(edges)
        check_memory(2.0 * m * d * d + 4.0 * n * d, f"dim={d} on {m} edges (the maps)")
        eye = np.broadcast_to(np.eye(d), (m, d, d)).reshape(-1)
        return cls(n, edges, d, d, eye, eye, vertex_labels=labels, edge_weights=w)

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
        weight: str | None = "weight",
    ) -> CellularSheaf:
        """Random restriction maps.

        Gaussian entries with variance 1/d_v, or, with ``orthogonal=True``,
        uniformly random (Haar) maps with orthonormal rows (d_e <= d_v) or
        columns (d_e > d_v): orthogonal matrices when d_e = d_v. ``weight``
        reads :attr:`edge_weights` from a networkx graph, as in :meth:`constant`.

        Examples
        --------
        >>> from sheaftopo.sheaf import CellularSheaf
        >>> F = CellularSheaf.random([[0, 1], [1, 2], [2, 0]], 3, 2, seed=0, orthogonal=True)
        >>> import numpy as np
        >>> bool(np.allclose(F.tail_maps @ F.tail_maps.transpose(0, 2, 1), np.eye(2)))
        True
        """
        edges, n, labels, w = graph_of(graph, n_vertices, weight)
        m = len(edges)
        vd = as_dims(vertex_dims, n, "vertex_dims")
        ed = as_dims(edge_dims, m, "edge_dims")
        check_memory(
            float((ed * (vd[edges[:, 0]] + vd[edges[:, 1]])).sum()) + 4.0 * vd.sum(),
            "vertex_dims / edge_dims (the maps)",
        )
        if not isinstance(orthogonal, (bool, np.bool_)):
            raise TypeError(f"orthogonal must be True or False; got {orthogonal!r}")
        rng = check_random_state(seed)
        tail, head = random_flat_maps(rng, edges, vd, ed, orthogonal)
        return cls(n, edges, vd, ed, tail, head, vertex_labels=labels, edge_weights=w)

    @classmethod
    def connection(
        cls,
        graph: Any,
        rotations: Any,
        *,
        n_vertices: int | None = None,
        atol: float = 1e-8,
        weight: str | None = "weight",
    ) -> CellularSheaf:
        """An orthogonal connection (an O(d)-bundle): its Laplacian is the connection Laplacian.

        Edge e = (u, v) gets :math:`F_{u \\trianglelefteq e} = R_e` and
        :math:`F_{v \\trianglelefteq e} = I`, so a global section satisfies
        :math:`x_v = R_e x_u`: :math:`R_e` transports u's frame to v's.

        Parameters
        ----------
        rotations : array_like, shape (m, d, d)
            Orthogonal matrices (checked to ``atol``).
        weight : str or None, default "weight"
            Reads :attr:`edge_weights` from a networkx graph, as in :meth:`constant`.

        Examples
        --------
        >>> import numpy as np
        >>> from sheaftopo.sheaf import CellularSheaf, cohomology_dimensions
        >>> R = np.array([[[0.0, -1.0], [1.0, 0.0]]] * 4)   # quarter turns round a 4-cycle
        >>> F = CellularSheaf.connection([[0, 1], [1, 2], [2, 3], [3, 0]], R)
        >>> cohomology_dimensions(F)[0]   # holonomy = a full turn = identity
        2
        """
        edges, n, labels, w = graph_of(graph, n_vertices, weight)
        m = len(edges)
        R = check_rotations(rotations, m, atol)
        d = R.shape[1]
        eye = np.broadcast_to(np.eye(d), (m, d, d)).reshape(-1)
        return cls(n, edges, d, d, R.reshape(-1), eye, vertex_labels=labels, edge_weights=w)

    @classmethod
    def from_networkx(
        cls,
        G: Any,
        *,
        attr: str = "restriction",
        weight: str | None = "weight",
        nodelist: Any = None,
    ) -> CellularSheaf:
        """A sheaf from a networkx graph whose edges carry their maps.

        Every edge ``{a, b}`` must have ``G.edges[a, b][attr] = {a: F_a, b: F_b}``
        (maps keyed by endpoint, so orientation cannot be confused). Nodes are
        numbered in ``G.nodes`` order (or ``nodelist``'s, as in
        :meth:`constant`); their labels are kept in :attr:`vertex_labels`. A
        node attribute ``"dim"`` (written by :meth:`to_networkx`) gives the
        stalk dimension of a vertex without edges (default 1) and must agree
        with the maps elsewhere. The edge attribute ``weight`` gives
        :attr:`edge_weights` (an edge without it weighs 1).
        :meth:`to_networkx` is the inverse.

        Examples
        --------
        >>> import numpy as np
        >>> from sheaftopo.sheaf import CellularSheaf
        >>> F = CellularSheaf.random([[0, 1], [1, 2]], 2, 1, seed=0)
        >>> G = F.to_networkx()
        >>> G.edges[0, 1]["weight"] = 3.0
        >>> CellularSheaf.from_networkx(G).edge_weights
        array([3., 1.])
        """
        args, kwargs = sheaf_arrays_from_networkx(cls, G, attr, weight, nodelist)
        return cls(*args, **kwargs)

    def to_networkx(self, *, attr: str = "restriction", weight: str | None = "weight") -> Any:
        """A networkx Graph with the maps as edge attributes (see :meth:`from_networkx`).

        Vertex stalk dimensions are stored as the node attribute ``"dim"``, and
        :attr:`edge_weights` (when the sheaf has them) as the edge attribute
        ``weight``.
        """
        return sheaf_to_networkx(self, attr, weight)

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
        return cls(*nsd_arrays(edge_index, maps, n_vertices))

    def to_nsd(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edge_index (2, 2m), maps (2m, d_e, d_v))`` in Neural Sheaf Diffusion's layout.

        Directed edge k < m is ``edges[k]`` (tail -> head) with the tail map;
        k + m is its reverse with the head map. Needs uniform dimensions.
        """
        T, H = self.tail_maps, self.head_maps
        u, v = self._edges[:, 0], self._edges[:, 1]
        edge_index = np.stack([np.concatenate([u, v]), np.concatenate([v, u])])
        return edge_index, np.concatenate([T, H]).copy()
