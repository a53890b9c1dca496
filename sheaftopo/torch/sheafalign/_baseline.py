"""The ImageBind-style baseline: one shared space, every modality aligned to an anchor."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..._validation import check_int, check_real
from .._contrastive import info_nce
from ._model import LossTerms, _as_encoders, _as_input_dims, _as_names
from ._node import build_encoder

__all__ = ["SingleSpaceBaseline"]


class SingleSpaceBaseline(nn.Module):
    r"""A single shared embedding space: every modality aligned to one anchor by InfoNCE.

    The loss is :math:`\sum_{i \ne a} \mathrm{InfoNCE}_\tau(h_i, h_a)` on the full
    embeddings (ImageBind binds every modality to images); modalities other
    than the anchor are compared with each other only through the shared
    space ("emergent" alignment). With the same ``seed``, ``hidden``,
    ``embed_dim`` and ``normalize`` as a :class:`SheafAlign`, the encoders
    start from identical weights.

    Parameters
    ----------
    input_dims : sequence of int
    embed_dim : int, default 64
        Dimension d of the shared space (every encoder's output).
    anchor : int or str, default 0
        The anchor modality (index or name).
    encoders, hidden, normalize, temperature, node_names, seed
        As in :class:`SheafAlign`.

    References
    ----------
    .. [1] R. Girdhar et al., "ImageBind: One Embedding Space To Bind Them
       All", CVPR 2023.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch.sheafalign import SingleSpaceBaseline
    >>> model = SingleSpaceBaseline([5, 7, 3], embed_dim=8, hidden=16, anchor=1)
    >>> g = torch.Generator().manual_seed(0)
    >>> views = [torch.randn(32, d, generator=g) for d in (5, 7, 3)]
    >>> model.loss_terms(views).total.shape, model.edges.tolist()
    (torch.Size([]), [[1, 0], [1, 2]])
    """

    def __init__(
        self,
        input_dims: Sequence[int],
        *,
        embed_dim: int = 64,
        anchor: Any = 0,
        encoders: Sequence[nn.Module | None] | None = None,
        hidden: int = 128,
        normalize: bool = True,
        temperature: float = 0.1,
        node_names: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        dims_in = _as_input_dims(input_dims)
        n = len(dims_in)
        names = _as_names(node_names, n)
        if isinstance(anchor, str):
            if anchor not in names:
                raise ValueError(f"anchor must name a node, one of {list(names)}; got {anchor!r}")
            a = names.index(anchor)
        elif isinstance(anchor, numbers.Integral):
            a = check_int(anchor, "anchor", minimum=0, maximum=n - 1)
        else:
            raise TypeError(f"anchor must be a node index or name; got {anchor!r}")
        d = check_int(embed_dim, "embed_dim", minimum=1)
        seed = check_int(seed, "seed", minimum=0)
        hidden = check_int(hidden, "hidden", minimum=1)
        encs = _as_encoders(encoders, n)
        built = [build_encoder(i, dims_in[i], d, encs[i], hidden, seed) for i in range(n)]
        self.encoders = nn.ModuleList(enc for enc, _ in built)
        self.temperature = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
        self.anchor = a
        self.normalize = bool(normalize)
        self.input_dims = dims_in
        self.embed_dims = (d,) * n
        self.node_names = names
        self.edges = np.array([[a, i] for i in range(n) if i != a], dtype=np.int64)
        self.seed = seed

    @property
    def n_nodes(self) -> int:
        return len(self.encoders)

    def embed(self, views: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``[h_0, ..., h_{n-1}]`` in the shared space."""
        hs = [enc(x) for enc, x in zip(self.encoders, views, strict=True)]
        return [F.normalize(h, dim=1) for h in hs] if self.normalize else hs

    def loss_terms(self, views: Sequence[torch.Tensor]) -> LossTerms:
        """Sum over non-anchor modalities of InfoNCE(h_i, h_anchor) on one batch."""
        hs = self.embed(views)
        total = hs[0].new_zeros(())
        per_edge = np.zeros((len(self.edges), 3))
        for k, (a, i) in enumerate(self.edges.tolist()):
            if not (bool(torch.isfinite(hs[i]).all()) and bool(torch.isfinite(hs[a]).all())):
                term = hs[i].new_full((), float("nan"))
            else:
                term = info_nce(hs[i], hs[a], temperature=self.temperature)
            per_edge[k, 1] = float(term.detach())
            total = total + term
        zero = total.new_zeros(())
        return LossTerms(total, zero, total, zero, per_edge)

    def describe_edge(self, k: int) -> str:
        a, i = self.edges[k].tolist()
        return f"pair ({self.node_names[i]}, anchor {self.node_names[a]})"

    def exchange_bytes(self, batch_size: int, itemsize: int) -> np.ndarray:
        """Bytes each node would send per step if decentralized on the star around the anchor:
        every modality sends its full embeddings to the anchor, the anchor sends its own to each."""
        d = self.embed_dims[0]
        out = np.full(self.n_nodes, batch_size * d * itemsize, dtype=np.int64)
        out[self.anchor] = (self.n_nodes - 1) * batch_size * d * itemsize
        return out

    def compare(
        self, i: int, j: int, h_i: torch.Tensor, h_j: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The shared space compares any two modalities directly."""
        return h_i, h_j

    def neighbour_estimates(self, j: int, hs: Sequence[torch.Tensor]) -> dict[int, torch.Tensor]:
        """In one shared space every other modality's embedding estimates h_j directly."""
        return {i: hs[i] for i in range(self.n_nodes) if i != j}

    def message_dim(self, i: int, j: int) -> int:
        """Numbers per sample sent for an estimate: the full embedding (d)."""
        return self.embed_dims[i]
