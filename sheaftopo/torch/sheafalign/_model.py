r"""The SheafAlign model: per-node encoders, per-edge restriction maps and their duals.

Node i (one modality) owns an encoder :math:`h_i = f_i(x_i) \in \mathbb R^{d_i}`
and, for each incident edge e, a restriction map
:math:`P_{i\to e} \in \mathbb R^{d_e \times d_i}` into the edge's comparison
space and a dual map :math:`Q_{e\to i} \in \mathbb R^{d_i \times d_e}` back.
The loss is

.. math::

    \mathcal L = \sum_{e = (u, v)} \lambda\,\|z_u^e - z_v^e\|^2
    + \beta\,\mathrm{InfoNCE}_\tau(z_u^e, z_v^e)
    + \gamma\,\big(\|Q_{e\to u} z_u^e - h_u\|^2 + \|Q_{e\to v} z_v^e - h_v\|^2\big),
    \qquad z_i^e = P_{i\to e} h_i,

sample-averaged. Everything a node owns lives in one :class:`SheafNode`
(``_node.py``, which also evaluates the terms), so a process of the
decentralized trainer can hold its node and nothing else; the coupling terms
of an edge depend on the two ends only through the projections :math:`z^e`,
which are all that crosses an edge. This module holds the whole model: the
graph, the nodes built from one seed, the global loss and inference across
nodes.

References
----------
.. [1] A. Ghalkha, Z. Tian, C. Ben Issaid, M. Bennis, "SheafAlign: A
   sheaf-theoretic framework for decentralized multimodal alignment",
   arXiv:2510.20540 (2025).
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..._validation import check_choice, check_int, check_real
from ._graph import GRAPH_KINDS, check_connected, make_graph, shortest_path
from ._node import EdgeInfo, SheafNode, build_encoder

__all__ = ["LossTerms", "SheafAlign"]

@dataclass
class LossTerms:
    """The terms of a loss evaluation.

    Attributes
    ----------
    total : Tensor, shape ()
        :math:`\\lambda C + \\beta N + \\gamma R` (differentiable).
    consistency, contrastive, reconstruction : Tensor, shape ()
        Summed over edges (differentiable).
    edges : ndarray of float64, shape (m, 3)
        Per edge: consistency, contrastive and the reconstruction of both ends
        (detached), for messages and inspection.
    nonfinite_nodes : tuple of int
        Nodes whose embeddings h_i hold NaN or inf (where a non-finite loss
        comes from).
    """

    total: torch.Tensor
    consistency: torch.Tensor
    contrastive: torch.Tensor
    reconstruction: torch.Tensor
    edges: np.ndarray
    nonfinite_nodes: tuple[int, ...] = ()

    def as_floats(self) -> dict[str, float]:
        """The four scalars as Python floats."""
        return {
            "total": float(self.total.detach()),
            "consistency": float(self.consistency.detach()),
            "contrastive": float(self.contrastive.detach()),
            "reconstruction": float(self.reconstruction.detach()),
        }


def _as_names(node_names: Any, n: int) -> tuple[str, ...]:
    if node_names is None:
        return tuple(str(i) for i in range(n))
    names = tuple(str(x) for x in node_names)
    if len(names) != n:
        raise ValueError(f"node_names must have one entry per node ({n}); got {len(names)}")
    if len(set(names)) != n:
        raise ValueError(f"node_names must be distinct; got {list(names)}")
    return names


def _as_input_dims(input_dims: Any) -> tuple[int, ...]:
    if isinstance(input_dims, numbers.Integral) or not isinstance(input_dims, Sequence):
        raise TypeError(
            "input_dims must be a sequence with one feature count per node (modality); got "
            f"{input_dims!r}"
        )
    dims = tuple(check_int(d, f"input_dims[{i}]", minimum=1) for i, d in enumerate(input_dims))
    if len(dims) < 2:
        raise ValueError(
            f"SheafAlign needs at least two nodes (modalities): input_dims must have length "
            f">= 2; got {len(dims)}"
        )
    return dims


def _as_embed_dims(embed_dim: Any, n: int) -> list[int | None]:
    if embed_dim is None:
        return [None] * n
    if isinstance(embed_dim, numbers.Integral):
        return [check_int(embed_dim, "embed_dim", minimum=1)] * n
    dims = list(embed_dim)
    if len(dims) != n:
        raise ValueError(f"embed_dim must be an int or have one entry per node ({n})")
    return [check_int(d, f"embed_dim[{i}]", minimum=1) for i, d in enumerate(dims)]


def _as_encoders(encoders: Any, n: int) -> list[nn.Module | None]:
    if encoders is None:
        return [None] * n
    if isinstance(encoders, nn.Module) and not isinstance(encoders, nn.ModuleList):
        raise TypeError("encoders must be a sequence with one nn.Module (or None) per node")
    encs = list(encoders)
    if len(encs) != n:
        raise ValueError(f"encoders must have one entry per node ({n}); got {len(encs)}")
    return encs


def _edge_dims(edge_dim: Any, edges: np.ndarray, dims: Sequence[int], names: Sequence[str]) -> list:
    out = []
    for k, (u, v) in enumerate(edges.tolist()):
        small = min(dims[u], dims[v])
        if edge_dim is None:
            d = max(1, small // 2)
        elif isinstance(edge_dim, numbers.Integral):
            d = check_int(edge_dim, "edge_dim", minimum=1)
        elif isinstance(edge_dim, numbers.Real):
            f = check_real(edge_dim, "edge_dim", low=0.0, high=1.0, low_inclusive=False)
            d = max(1, round(f * small))
        else:
            seq = list(edge_dim)
            if len(seq) != len(edges):
                raise ValueError(
                    f"edge_dim must be None, an int, a fraction in (0, 1] or one int per edge "
                    f"({len(edges)}); got {len(seq)} entries"
                )
            d = check_int(seq[k], f"edge_dim[{k}]", minimum=1)
        if d > small:
            i = u if dims[u] <= dims[v] else v
            raise ValueError(
                f"edge_dim d_e = {d} of edge ({names[u]}, {names[v]}) exceeds the embedding "
                f"dimension d_i = {dims[i]} of node {names[i]!r}: the comparison space must not "
                "be larger than the spaces it compares (d_e <= min(d_u, d_v))"
            )
        out.append(d)
    return out


class SheafAlign(nn.Module):
    r"""SheafAlign: decentralized multimodal alignment through a learned cellular sheaf.

    Parameters
    ----------
    input_dims : sequence of int
        Feature count of every node's data (one node per modality), n >= 2.
    graph : {"complete", "ring", "star"}, networkx graph or array_like (m, 2), default "complete"
        The communication graph; it must be connected. Edge lists are
        oriented (u, v) = (tail, head). For a k-nearest graph build the edge
        list with :func:`make_graph` ("knn" needs the data).
    embed_dim : int or sequence of int, default 64
        d_i of the default encoders (also checked against given encoders;
        ``None`` with custom encoders: read off a dry run).
    edge_dim : None, int, float in (0, 1] or sequence of int, optional
        d_e: default ``min(d_u, d_v) // 2`` (SheafAlign's d_i / 2); a float is
        a fraction of ``min(d_u, d_v)``. ``d_e > min(d_u, d_v)`` raises.
    encoders : sequence of nn.Module or None, optional
        One per node, mapping (N, input_dims[i]) to (N, d_i); copied, never
        trained in place. Default: :class:`MLPEncoder` with ``hidden`` units.
    hidden : int, default 128
    normalize : bool, default True
        L2-normalise the embeddings h_i (CLIP and ImageBind do).
    lam, beta, gamma : float, default 1, 1, 0.1
        Weights of the consistency, contrastive and reconstruction terms.
    temperature : float, default 0.1
        InfoNCE's τ.
    node_names : sequence of str, optional
    seed : int, default 0
        Initialisation: node i's encoder and maps come from streams derived
        from (seed, i) and (seed, edge), so that a process can build its own
        node alone and get the same parameters.

    Attributes
    ----------
    nodes : nn.ModuleList of SheafNode
    edges : ndarray of int64, shape (m, 2)
    edge_dims : tuple of int
    embed_dims, input_dims : tuple of int
    node_names : tuple of str

    References
    ----------
    .. [1] SheafAlign, arXiv:2510.20540.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch.sheafalign import SheafAlign
    >>> model = SheafAlign([5, 7, 3], "complete", embed_dim=8, hidden=16)
    >>> model.edges.tolist(), model.edge_dims
    ([[0, 1], [0, 2], [1, 2]], (4, 4, 4))
    >>> g = torch.Generator().manual_seed(0)
    >>> views = [torch.randn(32, d, generator=g) for d in (5, 7, 3)]
    >>> terms = model.loss_terms(views)
    >>> terms.total.backward()
    >>> model.to_sheaf()
    CellularSheaf(n_vertices=3, n_edges=3, vertex_dim=8, edge_dim=4)
    """

    nodes: nn.ModuleList

    def __init__(
        self,
        input_dims: Sequence[int],
        graph: Any = "complete",
        *,
        embed_dim: Any = 64,
        edge_dim: Any = None,
        encoders: Sequence[nn.Module | None] | None = None,
        hidden: int = 128,
        normalize: bool = True,
        lam: float = 1.0,
        beta: float = 1.0,
        gamma: float = 0.1,
        temperature: float = 0.1,
        node_names: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        dims_in = _as_input_dims(input_dims)
        n = len(dims_in)
        names = _as_names(node_names, n)
        if isinstance(graph, str):
            graph = check_choice(graph, "graph", GRAPH_KINDS)
            if graph == "knn":
                raise ValueError(
                    "graph='knn' needs the data: build the edge list with "
                    "make_graph('knn', n_nodes, views=...) and pass it"
                )
            graph = make_graph(graph, n)
        edges = check_connected(graph, n, names=names)
        self.lam = check_real(lam, "lam", low=0.0)
        self.beta = check_real(beta, "beta", low=0.0)
        self.gamma = check_real(gamma, "gamma", low=0.0)
        self.temperature = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        seed = check_int(seed, "seed", minimum=0)
        hidden = check_int(hidden, "hidden", minimum=1)
        wanted = _as_embed_dims(embed_dim, n)
        encs = _as_encoders(encoders, n)
        built = [build_encoder(i, dims_in[i], wanted[i], encs[i], hidden, seed) for i in range(n)]
        dims = tuple(d for _, d in built)
        de = _edge_dims(edge_dim, edges, dims, names)
        incident: list[list[EdgeInfo]] = [[] for _ in range(n)]
        for k, (u, v) in enumerate(edges.tolist()):
            incident[u].append(EdgeInfo(k, v, names[v], de[k], True))
            incident[v].append(EdgeInfo(k, u, names[u], de[k], False))
        self.nodes = nn.ModuleList(
            SheafNode(
                i,
                names[i],
                built[i][0],
                dims[i],
                incident[i],
                normalize=normalize,
                lam=self.lam,
                beta=self.beta,
                gamma=self.gamma,
                temperature=self.temperature,
                seed=seed,
            )
            for i in range(n)
        )
        self.edges = edges
        self.edge_dims = tuple(de)
        self.embed_dims = dims
        self.input_dims = dims_in
        self.node_names = names
        self.normalize = bool(normalize)
        self.seed = seed

    # ------------------------------------------------------------------ structure

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def node(self, i: int) -> SheafNode:
        """Node i's :class:`SheafNode` (``nodes[i]``, typed)."""
        return cast(SheafNode, self.nodes[i])

    def node_list(self) -> list[SheafNode]:
        """All nodes, in order."""
        return [cast(SheafNode, m) for m in self.nodes]

    def neighbours(self, i: int) -> list[int]:
        """Nodes adjacent to node i, sorted."""
        return sorted(info.other for info in self.node(i).incident)

    def edge_between(self, i: int, j: int) -> int | None:
        """Index of the edge joining i and j, or None."""
        for info in self.node(i).incident:
            if info.other == j:
                return info.edge
        return None

    def to_sheaf(self) -> Any:
        r"""The learned cellular sheaf: stalks :math:`\mathbb R^{d_i}` and :math:`\mathbb R^{d_e}`,
        restriction maps :math:`F_{i\trianglelefteq e} = P_{i\to e}` (float64 copies).

        Its Laplacian (:func:`sheaftopo.sheaf.laplacian`) and global sections
        (:func:`sheaftopo.sheaf.global_sections`) describe which joint
        embeddings every edge considers consistent.
        """
        from ...sheaf import CellularSheaf

        tails, heads = [], []
        for k, (u, v) in enumerate(self.edges.tolist()):
            tails.append(self.node(u).P[str(k)].detach().cpu().double().numpy())
            heads.append(self.node(v).P[str(k)].detach().cpu().double().numpy())
        return CellularSheaf.from_maps(self.edges, tails, heads, n_vertices=self.n_nodes)

    # ------------------------------------------------------------------ loss

    def embed(self, views: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``[h_0, ..., h_{n-1}]`` (differentiable; the caller picks train/eval mode)."""
        return [node.embed(x) for node, x in zip(self.node_list(), views, strict=True)]

    def loss_terms(self, views: Sequence[torch.Tensor]) -> LossTerms:
        """The global loss on one batch (paired rows of every node's data).

        ``views[i]`` has shape (N, input_dims[i]), the same N everywhere
        (at least 2 rows, for InfoNCE). Validation is left to :func:`train`;
        this is the training step's hot path.
        """
        hs = self.embed(views)
        cons_sum = hs[0].new_zeros(())
        contr_sum = hs[0].new_zeros(())
        rec_sum = hs[0].new_zeros(())
        per_edge = np.zeros((len(self.edges), 3))
        for k, (u, v) in enumerate(self.edges.tolist()):
            nu, nv = self.node(u), self.node(v)
            zu, zv = nu.project(k, hs[u]), nv.project(k, hs[v])
            cons, contr = nu.coupling(zu, zv)
            cons_sum = cons_sum + cons
            contr_sum = contr_sum + contr
            per_edge[k, 0] = float(cons.detach())
            per_edge[k, 1] = float(contr.detach())
            if self.gamma > 0:
                rec = nu.reconstruction(k, hs[u], zu) + nv.reconstruction(k, hs[v], zv)
                rec_sum = rec_sum + rec
                per_edge[k, 2] = float(rec.detach())
        total = self.lam * cons_sum + self.beta * contr_sum + self.gamma * rec_sum
        bad: tuple[int, ...] = ()
        if not np.isfinite(per_edge).all():
            bad = tuple(i for i, h in enumerate(hs) if not bool(torch.isfinite(h).all()))
        return LossTerms(total, cons_sum, contr_sum, rec_sum, per_edge, bad)

    def edge_loss(self, k: int, views: Sequence[torch.Tensor]) -> torch.Tensor:
        r"""Edge k's part of the loss (differentiable): its λ·consistency + β·InfoNCE +
        γ·(both reconstructions); the loss is the sum over edges.

        Only the two endpoints' encoders and maps enter it, so its gradient
        vanishes on every other node: gradients flow along edges only.
        """
        k = check_int(k, "k", minimum=0, maximum=len(self.edges) - 1)
        u, v = self.edges[k].tolist()
        nu, nv = self.node(u), self.node(v)
        hu, hv = nu.embed(views[u]), nv.embed(views[v])
        zu, zv = nu.project(k, hu), nv.project(k, hv)
        cons, contr = nu.coupling(zu, zv)
        total = self.lam * cons + self.beta * contr
        if self.gamma > 0:
            rec = nu.reconstruction(k, hu, zu) + nv.reconstruction(k, hv, zv)
            total = total + self.gamma * rec
        return total

    def describe_edge(self, k: int) -> str:
        u, v = self.edges[k].tolist()
        return f"edge {k} ({self.node_names[u]}, {self.node_names[v]})"

    def exchange_bytes(self, batch_size: int, itemsize: int) -> np.ndarray:
        """Bytes node i sends per step: its projections z_i^e (batch x d_e) for every edge."""
        return np.array(
            [
                sum(batch_size * info.edge_dim * itemsize for info in node.incident)
                for node in self.node_list()
            ],
            dtype=np.int64,
        )

    # ------------------------------------------------------------------ inference

    def transport(self, i: int, j: int, h_i: torch.Tensor) -> torch.Tensor:
        r"""Carry node i's embeddings to node j: :math:`Q_{e\to j}P_{i\to e}h_i` along a
        shortest path (one hop for neighbours: the missing-modality estimate
        :math:`\hat h_{j\leftarrow i}`)."""
        path = shortest_path(self.edges, self.n_nodes, i, j)
        h = h_i
        for a, b in itertools.pairwise(path):
            e = self.edge_between(a, b)
            assert e is not None
            h = self.node(b).lift(e, self.node(a).project(e, h))
        return h

    def compare(
        self, i: int, j: int, h_i: torch.Tensor, h_j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Node i's and node j's items in one comparison space (an edge stalk).

        Neighbours meet in their edge's space; otherwise i's embeddings are
        transported along a shortest path to the last node before j and both
        are projected into the last edge's space.
        """
        path = shortest_path(self.edges, self.n_nodes, i, j)
        k = path[-2]
        a = self.transport(i, k, h_i) if k != i else h_i
        e = self.edge_between(k, j)
        assert e is not None
        return self.node(k).project(e, a), self.node(j).project(e, h_j)

    def neighbour_estimates(self, j: int, hs: Sequence[torch.Tensor]) -> dict[int, torch.Tensor]:
        r"""One-hop estimates :math:`\hat h_{j\leftarrow i} = Q_{e\to j}P_{i\to e}h_i` of node
        j's embeddings from each neighbour i (average them over the available ones)."""
        out = {}
        for info in self.node(j).incident:
            i = info.other
            out[i] = self.node(j).lift(info.edge, self.node(i).project(info.edge, hs[i]))
        return out

    def message_dim(self, i: int, j: int) -> int:
        """Numbers per sample node i sends for node j's estimate (d_e of their edge)."""
        e = self.edge_between(i, j)
        if e is None:
            raise ValueError(f"nodes {i} and {j} are not neighbours")
        return self.edge_dims[e]
