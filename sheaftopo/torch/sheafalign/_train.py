"""Single-process training (the simulation mode), shared by SheafAlign and the baseline."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..._validation import check_int, check_real

__all__ = ["NonFiniteLossError", "StepInfo", "TrainResult", "as_views", "batch_indices", "train"]

_TERM_NAMES = ("consistency", "contrastive", "reconstruction")
#: float64 numbers per node in the loss all-reduce (one per term)
CONTROL_NUMBERS = 3


@dataclass(frozen=True)
class StepInfo:
    """What a training callback sees after every optimizer step.

    Attributes
    ----------
    epoch, step, global_step : int
        ``step`` counts within the epoch, ``global_step`` from the start.
    loss : float
        The global loss of the step (all edges, all nodes).
    terms : dict of str to float
        consistency, contrastive, reconstruction (summed over edges).
    node : int or None
        The calling node in decentralized training (one call per process);
        None in single-process training.
    """

    epoch: int
    step: int
    global_step: int
    loss: float
    terms: dict[str, float]
    node: int | None = None


@dataclass
class TrainResult:
    """The history of a training run.

    Attributes
    ----------
    mode : {"simulated", "distributed"}
    losses : ndarray, shape (steps,)
        Global loss of every step (before the step's update).
    terms : dict of str to ndarray, shape (steps,)
        consistency, contrastive and reconstruction, summed over edges.
    bytes_sent : ndarray of int64, shape (steps, n_nodes)
        Payload bytes each node sends to its neighbours per step: the
        projections z_i^e (batch x d_e numbers each) for SheafAlign; full
        embeddings to and from the anchor for the baseline. In the
        distributed mode these are counted from the tensors handed to
        ``isend``; the simulation counts the same tensors.
    control_bytes : ndarray of int64, shape (steps, n_nodes)
        Payload each node contributes to the all-reduce of the loss terms
        (3 float64 per step), kept apart from the data exchange.
    steps_per_epoch : int
    epoch_seconds : ndarray, shape (epochs,)
        Wall time of every epoch (rank 0's in the distributed mode).
    seconds : float
        Wall time of the whole call (process start-up included).
    startup_seconds : float
        Distributed mode: from the call to the start of the first epoch
        (spawning, imports, rendezvous); 0 in the simulation.
    """

    mode: str
    losses: np.ndarray
    terms: dict[str, np.ndarray]
    bytes_sent: np.ndarray
    control_bytes: np.ndarray
    steps_per_epoch: int
    epoch_seconds: np.ndarray
    seconds: float
    startup_seconds: float = 0.0
    node_names: tuple[str, ...] = field(default=())

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)

    @property
    def bytes_per_step(self) -> np.ndarray:
        """(steps,) payload bytes sent by all nodes together."""
        return self.bytes_sent.sum(axis=1)

    @property
    def bytes_per_epoch(self) -> np.ndarray:
        """(epochs,) payload bytes sent by all nodes together."""
        return self.bytes_per_step.reshape(self.epochs, self.steps_per_epoch).sum(axis=1)

    @property
    def epoch_losses(self) -> np.ndarray:
        """(epochs,) mean step loss of every epoch."""
        return self.losses.reshape(self.epochs, self.steps_per_epoch).mean(axis=1)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (per-epoch arrays; per-step losses)."""
        return {
            "mode": self.mode,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "losses": self.losses.tolist(),
            "epoch_losses": self.epoch_losses.tolist(),
            "terms": {k: v.tolist() for k, v in self.terms.items()},
            "bytes_per_epoch": self.bytes_per_epoch.tolist(),
            "bytes_per_node_per_epoch": (
                self.bytes_sent.reshape(self.epochs, self.steps_per_epoch, -1).sum(axis=1)
            ).tolist(),
            "control_bytes_per_epoch": self.control_bytes.reshape(
                self.epochs, self.steps_per_epoch, -1
            )
            .sum(axis=(1, 2))
            .tolist(),
            "epoch_seconds": self.epoch_seconds.tolist(),
            "seconds": self.seconds,
            "startup_seconds": self.startup_seconds,
            "node_names": list(self.node_names),
        }


def _model_dtype_device(model: torch.nn.Module) -> tuple[torch.dtype, torch.device]:
    p = next(iter(model.parameters()), None)
    if p is None:
        return torch.get_default_dtype(), torch.device("cpu")
    return p.dtype, p.device


def as_views(
    views: Any, model: Any, *, name: str = "views", min_rows: int = 2
) -> list[torch.Tensor]:
    """Validate and convert one data set per node to the model's dtype and device.

    ``views`` is a sequence in node order or a mapping from node name to
    array (numpy or torch), each of shape (n_samples, input_dims[i]) with the
    same n_samples (rows are paired). Raises ``ValueError`` for a node
    without data, wrong feature counts, mismatched sample counts, NaN/inf;
    ``TypeError`` for non-numeric data. Inputs are never modified.
    """
    names = model.node_names
    n = len(names)
    if isinstance(views, Mapping):
        unknown = [k for k in views if str(k) not in names]
        if unknown:
            raise ValueError(f"{name} names unknown node(s) {unknown}; the nodes are {list(names)}")
        items = [views.get(nm) for nm in names]
    elif isinstance(views, Sequence) and not isinstance(views, str):
        items = list(views)
        if len(items) != n:
            raise ValueError(
                f"{name} must hold one array per node ({n}: {list(names)}); got {len(items)}"
            )
    else:
        raise TypeError(f"{name} must be a sequence or a mapping of arrays; got {type(views)}")
    dtype, device = _model_dtype_device(model)
    out = []
    for i, X in enumerate(items):
        label = f"node {i} ({names[i]!r})"
        if X is None:
            raise ValueError(f"{label} has no data: {name}[{i}] is None")
        if isinstance(X, torch.Tensor):
            if not (X.dtype.is_floating_point or X.dtype in (torch.int32, torch.int64)):
                raise TypeError(f"{name}[{i}] must hold real numbers; got dtype {X.dtype}")
            source_finite = bool(torch.isfinite(X).all()) if X.is_floating_point() else True
            t = X.detach().to(device=device, dtype=dtype)
        else:
            arr = np.asarray(X)
            if arr.dtype.kind not in "fiu":
                raise TypeError(f"{name}[{i}] must hold real numbers; got dtype {arr.dtype}")
            arr64 = np.array(arr, dtype=np.float64)
            source_finite = bool(np.isfinite(arr64).all())
            t = torch.as_tensor(arr64, device=device).to(dtype)
        if t.ndim != 2:
            raise ValueError(
                f"{name}[{i}] ({label}) must be 2-D (n_samples, n_features); got shape "
                f"{tuple(t.shape)}"
            )
        if t.shape[0] == 0 or t.shape[1] == 0:
            raise ValueError(f"{label} has no data: {name}[{i}] has shape {tuple(t.shape)}")
        if t.shape[1] != model.input_dims[i]:
            raise ValueError(
                f"{name}[{i}] ({label}) must have {model.input_dims[i]} features (the model's "
                f"input_dims[{i}]); got {t.shape[1]}"
            )
        if not bool(torch.isfinite(t).all()):
            if source_finite:
                raise ValueError(
                    f"{name}[{i}] ({label}) has values beyond the range of the model's dtype "
                    f"{dtype} (largest {torch.finfo(dtype).max:.3g}); rescale the data or "
                    "convert the model (e.g. model.double())"
                )
            raise ValueError(f"{name}[{i}] ({label}) must be finite; it contains NaN or inf")
        out.append(t)
    rows = [t.shape[0] for t in out]
    if len(set(rows)) != 1:
        detail = ", ".join(f"{names[i]!r}: {r}" for i, r in enumerate(rows))
        raise ValueError(
            f"mismatched sample counts across nodes ({detail}); row r of every node must "
            "describe the same item r"
        )
    if rows[0] < min_rows:
        raise ValueError(f"{name} must hold at least {min_rows} samples per node; got {rows[0]}")
    return out


def batch_indices(n_samples: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """The mini-batches of one epoch: a seeded permutation split into near-equal parts.

    ``max(1, n_samples // batch_size)`` batches of ``batch_size`` to
    ``2 batch_size - 1`` rows (never a tiny trailing batch, which InfoNCE
    could not use). Every process of the decentralized trainer draws the same
    batches from the same ``(seed, epoch)``, without communicating.

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import batch_indices
    >>> [len(b) for b in batch_indices(10, 4, seed=0, epoch=0)]
    [5, 5]
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    epoch = check_int(epoch, "epoch", minimum=0)
    perm = np.random.default_rng([seed, epoch]).permutation(n_samples)
    return np.array_split(perm, max(1, n_samples // batch_size))


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or inf; the message names the step, the term and where.

    ``origin`` (decentralized training) says how directly the raising process
    saw the cause: 2 its own embeddings, 1 one of its edge terms, 0 only the
    all-reduced total.
    """

    def __init__(self, message: str, *, origin: int = 1) -> None:
        super().__init__(message)
        self.origin = origin


def check_step(
    terms: Mapping[str, float],
    *,
    epoch: int,
    step: int,
    global_step: int,
    where: str = "",
    origin: int = 1,
) -> None:
    """Raise :class:`NonFiniteLossError` naming the step and the term when a term is not finite."""
    for term in ("total", *_TERM_NAMES):
        if term in terms and not np.isfinite(terms[term]):
            bad = [t for t in _TERM_NAMES if t in terms and not np.isfinite(terms[t])]
            named = bad[0] if bad else term
            raise NonFiniteLossError(
                f"training stopped at epoch {epoch}, step {step} (global step {global_step}): "
                f"the {named} term of the loss is {terms[named]}{where}; no update was applied "
                "(lower the learning rate, or check the data and the encoders)",
                origin=origin,
            )


def _check_training_args(
    epochs: int, batch_size: int, lr: float, weight_decay: float, seed: int
) -> tuple[int, int, float, float, int]:
    # the optimizer holds lr and weight_decay in the parameters' dtype (float32 at least)
    top = float(torch.finfo(torch.float32).max)
    return (
        check_int(epochs, "epochs", minimum=1),
        check_int(batch_size, "batch_size", minimum=2),
        check_real(lr, "lr", low=0.0, low_inclusive=False, high=top),
        check_real(weight_decay, "weight_decay", low=0.0, high=top),
        check_int(seed, "seed", minimum=0),
    )


def train(
    model: Any,
    views: Any,
    *,
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    callback: Callable[[StepInfo], None] | None = None,
    threads: int | None = None,
) -> TrainResult:
    """Train a :class:`SheafAlign` or :class:`SingleSpaceBaseline` in this process (in place).

    The simulation mode of decentralized training: one process computes the
    global loss and one backward pass; with the same ``seed`` it takes the
    same steps as :func:`train_distributed` (equal losses up to rounding).
    Adam over all parameters, which is elementwise and hence identical to
    one Adam per node.

    Parameters
    ----------
    model : SheafAlign or SingleSpaceBaseline
        Trained in place.
    views : sequence or mapping of array_like
        One (n_samples, input_dims[i]) array per node, rows paired.
    epochs : int, default 20
    batch_size : int, default 256
        See :func:`batch_indices`.
    lr, weight_decay : float
        Adam's.
    seed : int
        Order of the mini-batches.
    callback : callable, optional
        Called with a :class:`StepInfo` after every step.
    threads : int, optional
        ``torch.set_num_threads`` during training (restored afterwards);
        default: leave torch's setting. The model's matrices are small, and
        on a busy machine one thread is often several times faster than
        intra-op threads competing for cores.

    Returns
    -------
    TrainResult

    Raises
    ------
    NonFiniteLossError
        (a ``FloatingPointError``) A loss term became NaN or inf; the message
        names the step, the term and the first edge where it happened, and no
        update was applied.

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch.sheafalign import SheafAlign, train
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(64, 2, generator=g)
    >>> views = [z @ torch.randn(2, d, generator=g) for d in (4, 5, 6)]
    >>> model = SheafAlign([4, 5, 6], "ring", embed_dim=4, hidden=8)
    >>> result = train(model, views, epochs=3, batch_size=32)
    >>> result.losses.shape, result.bytes_per_epoch.tolist()  # 2 steps x 6 sends x 32x2 floats
    ((6,), [3072, 3072, 3072])
    """
    epochs, batch_size, lr, weight_decay, seed = _check_training_args(
        epochs, batch_size, lr, weight_decay, seed
    )
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    data = as_views(views, model)
    if threads is None:
        return _train(model, data, epochs, batch_size, lr, weight_decay, seed, callback)
    previous = torch.get_num_threads()
    torch.set_num_threads(check_int(threads, "threads", minimum=1))
    try:
        return _train(model, data, epochs, batch_size, lr, weight_decay, seed, callback)
    finally:
        torch.set_num_threads(previous)


def _train(
    model: Any,
    data: list[torch.Tensor],
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    callback: Callable[[StepInfo], None] | None,
) -> TrainResult:
    t_start = time.perf_counter()
    n = data[0].shape[0]
    dtype, _ = _model_dtype_device(model)
    itemsize = torch.empty((), dtype=dtype).element_size()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    was_training = model.training
    model.train()
    losses, terms_log, sent, control, epoch_seconds = [], [], [], [], []
    n_nodes = len(data)
    steps_per_epoch = 0
    g = 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        batches = batch_indices(n, batch_size, seed, epoch)
        steps_per_epoch = len(batches)
        for step, idx in enumerate(batches):
            index = torch.as_tensor(idx, device=data[0].device)
            terms = model.loss_terms([x[index] for x in data])
            values = terms.as_floats()
            where = ""
            bad = ~np.isfinite(terms.edges)
            if bad.any():
                k, t = map(int, np.argwhere(bad)[0])
                where = (
                    f" (first on {model.describe_edge(k)}, whose {_TERM_NAMES[t]} is "
                    f"{terms.edges[k, t]}"
                )
                if terms.nonfinite_nodes:
                    names = ", ".join(repr(model.node_names[i]) for i in terms.nonfinite_nodes)
                    where += f"; non-finite embeddings at node(s) {names}"
                where += ")"
            check_step(values, epoch=epoch, step=step, global_step=g, where=where)
            opt.zero_grad(set_to_none=True)
            terms.total.backward()
            opt.step()
            losses.append(values["total"])
            terms_log.append([values[t] for t in _TERM_NAMES])
            sent.append(model.exchange_bytes(len(idx), itemsize))
            control.append(np.full(n_nodes, CONTROL_NUMBERS * 8, dtype=np.int64))
            if callback is not None:
                callback(
                    StepInfo(epoch, step, g, values["total"], {t: values[t] for t in _TERM_NAMES})
                )
            g += 1
        epoch_seconds.append(time.perf_counter() - t0)
    model.train(was_training)
    T = np.array(terms_log, dtype=np.float64).reshape(-1, 3)
    return TrainResult(
        mode="simulated",
        losses=np.array(losses, dtype=np.float64),
        terms={t: T[:, k].copy() for k, t in enumerate(_TERM_NAMES)},
        bytes_sent=np.array(sent, dtype=np.int64).reshape(-1, n_nodes),
        control_bytes=np.array(control, dtype=np.int64).reshape(-1, n_nodes),
        steps_per_epoch=steps_per_epoch,
        epoch_seconds=np.array(epoch_seconds),
        seconds=time.perf_counter() - t_start,
        node_names=tuple(model.node_names),
    )
