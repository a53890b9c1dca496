r"""One SheafAlign node: its encoder, its maps per incident edge and its terms of the loss.

Node i (one modality) owns an encoder :math:`h_i = f_i(x_i) \in \mathbb R^{d_i}`
and, for each incident edge e, a restriction map
:math:`P_{i\to e} \in \mathbb R^{d_e \times d_i}` into the edge's comparison
space and a dual map :math:`Q_{e\to i} \in \mathbb R^{d_i \times d_e}` back.
An edge's terms depend on its two ends only through the projections
:math:`z^e = P_{i\to e} h_i`, so the same :meth:`SheafNode.coupling` and
:meth:`SheafNode.reconstruction` serve the single-process model
(:class:`~sheaftopo.torch.sheafalign.SheafAlign`) and a process of the
decentralized trainer, which holds one node and receives its neighbours'
projections.

The terms are the public sheaf losses of :mod:`sheaftopo.torch`, evaluated by
their own reduction (``torch/_sheaf.py: mean_squared_norm``) on the
projections the node has computed anyway (they are sent, and InfoNCE needs
them), without the public functions' per-call validation (+50% per training
step at the test sizes):

* consistency :math:`\|z_u^e - z_v^e\|^2` =
  :func:`sheaftopo.torch.sheaf_consistency_loss` ``(h_u, h_v, P_u, P_v)``;
* InfoNCE = :func:`sheaftopo.torch.info_nce` ``(z_u^e, z_v^e)``;
* reconstruction :math:`\|Q_{e\to i} z_i^e - h_i\|^2` =
  :func:`sheaftopo.torch.sheaf_reconstruction_loss` ``(h_i, P_i, Q_i)``,

sample-averaged (``tests/torch_adapter/test_sheafalign.py`` checks them
against the public functions).

References
----------
.. [1] A. Ghalkha, Z. Tian, C. Ben Issaid, M. Bennis, "SheafAlign: A
   sheaf-theoretic framework for decentralized multimodal alignment",
   arXiv:2510.20540 (2025).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..._validation import check_int, check_real
from .._contrastive import info_nce
from .._sheaf import mean_squared_norm

__all__ = ["EdgeInfo", "MLPEncoder", "SheafNode", "node_seed"]


def node_seed(seed: int, *parts: int) -> int:
    """A 63-bit seed derived from ``seed`` and integer ``parts`` (independent streams).

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import node_seed
    >>> node_seed(0, 1) == node_seed(0, 1) != node_seed(0, 2)
    True
    """
    seed = check_int(seed, "seed", minimum=0)
    ints = [check_int(p, "parts", minimum=0) for p in parts]
    state = np.random.SeedSequence([seed, *ints]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)


class MLPEncoder(nn.Module):
    """The default encoder: ``Linear(d_in, hidden) -> GELU -> Linear(hidden, d_out)``.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch.sheafalign import MLPEncoder
    >>> MLPEncoder(10, 4, hidden=8)(torch.zeros(3, 10)).shape
    torch.Size([3, 4])
    """

    def __init__(self, d_in: int, d_out: int, *, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(check_int(d_in, "d_in", minimum=1), check_int(hidden, "hidden", minimum=1)),
            nn.GELU(),
            nn.Linear(hidden, check_int(d_out, "d_out", minimum=1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_encoder(
    index: int, d_in: int, d_out: int | None, encoder: nn.Module | None, hidden: int, seed: int
) -> tuple[nn.Module, int]:
    """A (copied or new, seeded) encoder and its output dimension."""
    if encoder is None:
        if d_out is None:
            raise ValueError("embed_dim is needed for the default encoders")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(node_seed(seed, 0, index))
            return MLPEncoder(d_in, d_out, hidden=hidden), d_out
    if not isinstance(encoder, nn.Module):
        raise TypeError(
            f"encoders[{index}] must be a torch.nn.Module; got {type(encoder).__name__}"
        )
    enc = copy.deepcopy(encoder)  # never train the caller's module in place
    was_training = enc.training
    enc.eval()
    try:
        ref = next(iter(enc.parameters()), None)
        dtype = ref.dtype if ref is not None else torch.get_default_dtype()
        with torch.no_grad():
            out = enc(torch.zeros(2, d_in, dtype=dtype))
    except Exception as exc:
        raise ValueError(
            f"encoders[{index}] failed on a batch of shape (2, {d_in}) (the node's input "
            f"dimension): {exc}"
        ) from exc
    finally:
        enc.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        raise ValueError(
            f"encoders[{index}] must map (batch, {d_in}) to (batch, d_i); got "
            f"{getattr(out, 'shape', type(out).__name__)}"
        )
    d = int(out.shape[1])
    if d_out is not None and d != d_out:
        raise ValueError(f"encoders[{index}] outputs dimension {d}; embed_dim says {d_out}")
    return enc, d


@dataclass(frozen=True)
class EdgeInfo:
    """One edge as seen from one of its ends.

    Attributes
    ----------
    edge : int
        Index of the edge in the model's edge list.
    other : int
        The node at the other end.
    other_name : str
    edge_dim : int
        d_e, the comparison space's dimension.
    is_tail : bool
        Whether this node is the edge's tail u of (u, v).
    """

    edge: int
    other: int
    other_name: str
    edge_dim: int
    is_tail: bool


def _orthogonal_rows(rows: int, cols: int, g: torch.Generator) -> torch.Tensor:
    """A random (rows, cols) matrix with orthonormal rows (rows <= cols)."""
    A = torch.randn(cols, rows, generator=g, dtype=torch.float64)
    Qm, _ = torch.linalg.qr(A)
    return Qm.T.contiguous().to(torch.get_default_dtype())


class SheafNode(nn.Module):
    r"""Everything node i owns: its encoder and, per incident edge, P_{i→e} and Q_{e→i}.

    ``P[str(e)]`` has shape (d_e, d_i), ``Q[str(e)]`` (d_i, d_e). A process
    of the decentralized trainer holds one of these and its own data only.

    Attributes
    ----------
    index : int
    name : str
    embed_dim : int
        d_i.
    incident : tuple of EdgeInfo
        Sorted by edge index.
    normalize : bool
        Whether :meth:`embed` L2-normalises the encoder's output.
    lam, beta, gamma, temperature : float
        The loss weights (copies of the model's).
    """

    encoder: nn.Module
    P: nn.ParameterDict
    Q: nn.ParameterDict

    def __init__(
        self,
        index: int,
        name: str,
        encoder: nn.Module,
        embed_dim: int,
        incident: Sequence[EdgeInfo],
        *,
        normalize: bool,
        lam: float,
        beta: float,
        gamma: float,
        temperature: float,
        seed: int,
    ) -> None:
        super().__init__()
        self.index = check_int(index, "index", minimum=0)
        self.name = str(name)
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}")
        self.encoder = encoder
        self.embed_dim = check_int(embed_dim, "embed_dim", minimum=1)
        if not all(isinstance(info, EdgeInfo) for info in incident):
            raise TypeError("incident must hold EdgeInfo records (as SheafAlign builds them)")
        self.incident = tuple(sorted(incident, key=lambda info: info.edge))
        self.normalize = bool(normalize)
        self.lam = check_real(lam, "lam", low=0.0)
        self.beta = check_real(beta, "beta", low=0.0)
        self.gamma = check_real(gamma, "gamma", low=0.0)
        self.temperature = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        P, Q = {}, {}
        for info in self.incident:
            g = torch.Generator().manual_seed(node_seed(seed, 1, info.edge, int(info.is_tail)))
            Pm = _orthogonal_rows(info.edge_dim, self.embed_dim, g)
            P[str(info.edge)] = nn.Parameter(Pm)
            Q[str(info.edge)] = nn.Parameter(Pm.T.clone())
        self.P = nn.ParameterDict(P)
        self.Q = nn.ParameterDict(Q)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``h_i``: the encoder's output, L2-normalised per row when ``normalize``."""
        h = self.encoder(x)
        return F.normalize(h, dim=1) if self.normalize else h

    def project(self, edge: int, h: torch.Tensor) -> torch.Tensor:
        r""":math:`z = P_{i\to e} h` for rows h, shape (N, d_e)."""
        return h @ self.P[str(edge)].T

    def lift(self, edge: int, z: torch.Tensor) -> torch.Tensor:
        r""":math:`Q_{e\to i} z` for rows z, shape (N, d_i)."""
        return z @ self.Q[str(edge)].T

    def info(self, edge: int) -> EdgeInfo:
        for info in self.incident:
            if info.edge == edge:
                return info
        raise KeyError(f"edge {edge} is not incident to node {self.index} ({self.name!r})")

    def coupling(
        self, z_tail: torch.Tensor, z_head: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """An edge's terms that couple its ends: (consistency, InfoNCE), sample-averaged.

        ``z_tail`` and ``z_head`` (N, d_e) are the projections of the edge's
        tail and head; InfoNCE uses this node's temperature and is 0 when
        ``beta`` is 0. Non-finite projections give a NaN contrastive term
        instead of an exception, so that the trainer can name the step and
        the term.
        """
        consistency = mean_squared_norm(z_tail - z_head)
        if not self.beta > 0:
            return consistency, consistency.new_zeros(())
        if not (bool(torch.isfinite(z_tail).all()) and bool(torch.isfinite(z_head).all())):
            return consistency, consistency.new_full((), float("nan"))
        return consistency, info_nce(z_tail, z_head, temperature=self.temperature)

    def reconstruction(self, edge: int, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r"""``mean_n ||Q_{e→i} z_n - h_n||^2`` for this node's embeddings h and projections
        :math:`z = P_{i\to e} h` on edge ``edge`` (:meth:`project`)."""
        return mean_squared_norm(self.lift(edge, z) - h)

    def local_loss(
        self,
        h: torch.Tensor,
        projections: Mapping[int, torch.Tensor],
        received: Mapping[int, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, str, float]]]:
        r"""This node's part of the loss, given its neighbours' projections as constants.

        Returns ``(objective, share, bad)``. ``objective`` is
        :math:`\sum_{e \ni i} [\lambda c_e + \beta n_e](z_i^e, \bar z_j^e) + \gamma r_i^e`
        with :math:`\bar z_j^e` the received projections (no gradient): its
        gradient in this node's parameters equals that of the global loss
        (``theory/sheafalign-decentralized-gradient.md``). ``share`` (float64,
        3 entries) holds the node's share of the global terms (consistency,
        contrastive, reconstruction): coupling terms are counted by the edge's
        tail, reconstruction terms by their own node, so shares sum to the
        global terms. ``bad`` lists non-finite ``(edge, term, value)``, with
        ``(-1, "embedding", nan)`` first when this node's own embeddings are
        not finite.
        """
        objective = h.new_zeros(())
        share = torch.zeros(3, dtype=torch.float64)
        bad: list[tuple[int, str, float]] = []
        if not bool(torch.isfinite(h).all()):
            bad.append((-1, "embedding", float("nan")))
        for info in self.incident:
            mine, theirs = projections[info.edge], received[info.edge]
            tail, head = (mine, theirs) if info.is_tail else (theirs, mine)
            cons, contr = self.coupling(tail, head)
            rec = self.reconstruction(info.edge, h, mine) if self.gamma > 0 else None
            objective = objective + self.lam * cons + self.beta * contr
            if rec is not None:
                objective = objective + self.gamma * rec
                share[2] += float(rec.detach())
                if not bool(torch.isfinite(rec)):
                    bad.append((info.edge, "reconstruction", float(rec.detach())))
            if info.is_tail:
                share[0] += float(cons.detach())
                share[1] += float(contr.detach())
                for term, val in (("consistency", cons), ("contrastive", contr)):
                    if not bool(torch.isfinite(val)):
                        bad.append((info.edge, term, float(val.detach())))
        return objective, share, bad

    def extra_repr(self) -> str:
        dims = ", ".join(f"e{i.edge}->{i.other_name}:{i.edge_dim}" for i in self.incident)
        return f"index={self.index}, name={self.name!r}, d_i={self.embed_dim}, edges=[{dims}]"
