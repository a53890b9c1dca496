r"""Decentralized SheafAlign training on ``torch.distributed``: one process per node.

Each process holds one :class:`SheafNode` (its encoder and its maps) and its
own modality's data. Per step, for every incident edge e, node i sends its
projection :math:`z_i^e = P_{i\to e}h_i` (batch x d_e numbers) to the
neighbour and receives the neighbour's; it then evaluates the edge's coupling
terms with the received projection as a constant and back-propagates into its
own parameters only. The coupling terms of an edge depend on the two ends
through the projections alone, so this gradient *is* the gradient of the
global loss (``theory/sheafalign-decentralized-gradient.md``): no gradient
ever crosses an edge, and no raw data or embedding ever leaves a process.
Besides the projections, every node contributes three float64 numbers per
step to an all-reduce of the loss terms (for logging and NaN detection).

Failures do not hang: every send, receive and all-reduce waits at most
``timeout`` seconds, a dead peer closes its connections (gloo then fails at
once), and the launcher stops the remaining processes and raises an error
naming the failed node and the step.

This module holds what runs inside one process (:func:`run_node`) and the
hand-over of its result; ``_launch.py`` starts the processes on one machine
(:func:`train_distributed`).
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..._validation import check_real
from ._model import SheafAlign
from ._node import SheafNode
from ._train import (
    _TERM_NAMES,
    CONTROL_NUMBERS,
    StepInfo,
    TrainResult,
    _check_training_args,
    batch_indices,
    check_step,
)

__all__ = [
    "DistributedTrainingError",
    "NodeResult",
    "PeerFailureError",
    "load_node_results",
    "run_node",
    "save_node_result",
]


class DistributedTrainingError(RuntimeError):
    """Decentralized training failed in one of its processes (the message says which)."""


class PeerFailureError(RuntimeError):
    """A send, receive or all-reduce with other nodes failed or timed out."""


@dataclass
class NodeResult:
    """What one process reports after training its node.

    Attributes
    ----------
    node : int
    losses : ndarray, shape (steps,)
        The global loss per step (after the all-reduce; equal on every node).
    terms : ndarray, shape (steps, 3)
        Global consistency, contrastive and reconstruction per step.
    bytes_sent : ndarray of int64, shape (steps,)
        Bytes of the projection tensors this node handed to ``isend``.
    control_bytes : ndarray of int64, shape (steps,)
        Bytes this node contributed to the loss all-reduce.
    epoch_seconds : ndarray, shape (epochs,)
    steps_per_epoch : int
    start_time : float
        ``time.time()`` when the first epoch began (for start-up accounting).
    """

    node: int
    losses: np.ndarray
    terms: np.ndarray
    bytes_sent: np.ndarray
    control_bytes: np.ndarray
    epoch_seconds: np.ndarray
    steps_per_epoch: int
    start_time: float


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _wait(works: list[Any], timeout: datetime.timedelta) -> None:
    for w in works:
        w.wait(timeout)


def run_node(
    node: SheafNode,
    x: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    timeout: float = 60.0,
    callback: Callable[[StepInfo], None] | None = None,
) -> NodeResult:
    """Train one node inside an initialised process group (rank = node index).

    This is what every process runs, under :func:`train_distributed` or
    under ``torchrun`` (see ``sheaftopo sheafalign node``).
    ``node`` and ``x`` (this node's data, on the node's device) are the only
    model state and data the process needs.

    Parameters
    ----------
    node : SheafNode
        ``model.nodes[rank]`` of a :class:`SheafAlign` built with the same
        arguments on every process (its initialisation depends only on the
        seed, not on the other nodes).
    x : Tensor, shape (n_samples, input_dim)
    epochs, batch_size, lr, weight_decay, seed, callback
        As in :func:`train`; all processes must use the same values.
    timeout : float, default 60
        Seconds any exchange may wait before failing.

    Returns
    -------
    NodeResult
    """
    if not isinstance(node, SheafNode):
        raise TypeError(f"node must be a SheafNode; got {type(node).__name__}")
    epochs, batch_size, lr, weight_decay, seed = _check_training_args(
        epochs, batch_size, lr, weight_decay, seed
    )
    wait_for = datetime.timedelta(
        seconds=check_real(timeout, "timeout", low=0.0, low_inclusive=False)
    )
    label, n = _check_group(node, x, wait_for)
    opt = torch.optim.Adam(node.parameters(), lr=lr, weight_decay=weight_decay)
    node.train()
    losses, terms_log, sent, control, epoch_seconds = [], [], [], [], []
    steps_per_epoch, g = 0, 0
    start_time = time.time()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        batches = batch_indices(n, batch_size, seed, epoch)
        steps_per_epoch = len(batches)
        for step, idx in enumerate(batches):
            at = f"at epoch {epoch}, step {step}"
            h = node.embed(x[torch.as_tensor(idx, device=x.device)])
            projections = {info.edge: node.project(info.edge, h) for info in node.incident}
            received, nbytes = _exchange(node, projections, label, at, wait_for)
            objective, share, bad = node.local_loss(h, projections, received)
            glob = _all_reduce_terms(share.to(x.device), label, at, wait_for)
            values = dict(zip(_TERM_NAMES, glob, strict=True))
            values["total"] = node.lam * glob[0] + node.beta * glob[1] + node.gamma * glob[2]
            where, origin = _where_nonfinite(node, label, bad)
            check_step(values, epoch=epoch, step=step, global_step=g, where=where, origin=origin)
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            losses.append(values["total"])
            terms_log.append(glob)
            sent.append(nbytes)
            control.append(CONTROL_NUMBERS * 8)
            if callback is not None:
                terms = {t: values[t] for t in _TERM_NAMES}
                callback(StepInfo(epoch, step, g, values["total"], terms, node=node.index))
            g += 1
        epoch_seconds.append(time.perf_counter() - t0)
    node.eval()
    return NodeResult(
        node=node.index,
        losses=np.array(losses, dtype=np.float64),
        terms=np.array(terms_log, dtype=np.float64).reshape(-1, 3),
        bytes_sent=np.array(sent, dtype=np.int64),
        control_bytes=np.array(control, dtype=np.int64),
        epoch_seconds=np.array(epoch_seconds),
        steps_per_epoch=steps_per_epoch,
        start_time=start_time,
    )


def _check_group(node: SheafNode, x: torch.Tensor, wait_for: datetime.timedelta) -> tuple[str, int]:
    """Check the process group against the node and agree on the sample count.

    Returns the node's label for messages and its number of rows (equal on
    every process, or ``ValueError``).
    """
    # the arguments first, then the state: a bad argument is named even outside a group
    if not dist.is_initialized():
        raise RuntimeError("run_node needs an initialised process group (init_process_group)")
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank != node.index:
        raise ValueError(f"process rank {rank} must run node {rank}; got node {node.index}")
    label = f"node {node.name!r} (rank {rank})"
    others = [info.other for info in node.incident]
    if any(o >= world for o in others):
        raise ValueError(f"{label} has neighbours beyond the {world} processes of the group")
    n = int(x.shape[0])
    try:
        counts = torch.tensor([n, -n], dtype=torch.float64, device=x.device)
        _wait([dist.all_reduce(counts, op=dist.ReduceOp.MAX, async_op=True)], wait_for)
    except RuntimeError as exc:
        raise PeerFailureError(f"{label}: start-up all-reduce failed: {_first_line(exc)}") from exc
    hi, lo = int(counts[0]), -int(counts[1])
    if hi != lo:
        raise ValueError(
            f"mismatched sample counts across nodes: {label} has {n} rows, the nodes hold "
            f"between {lo} and {hi}; row r of every node must describe the same item r"
        )
    return label, n


def _exchange(
    node: SheafNode,
    projections: dict[int, torch.Tensor],
    label: str,
    at: str,
    wait_for: datetime.timedelta,
) -> tuple[dict[int, torch.Tensor], int]:
    """Send this node's projections to its neighbours and receive theirs (one batch of
    point-to-point operations). Returns the received projections by edge and the bytes sent."""
    received, ops, nbytes = {}, [], 0
    for info in node.incident:
        out = projections[info.edge].detach().contiguous()
        buf = torch.empty_like(out)
        received[info.edge] = buf
        ops.append(dist.P2POp(dist.isend, out, info.other))
        ops.append(dist.P2POp(dist.irecv, buf, info.other))
        nbytes += out.numel() * out.element_size()
    try:
        if ops:
            _wait(dist.batch_isend_irecv(ops), wait_for)
    except RuntimeError as exc:
        names = ", ".join(repr(info.other_name) for info in node.incident)
        raise PeerFailureError(
            f"{label}: exchange with neighbour(s) {names} failed {at}: "
            f"{_first_line(exc)} (a neighbour process has probably died "
            f"or stalled; exchanges wait at most {wait_for.total_seconds():g} s)"
        ) from exc
    return received, nbytes


def _all_reduce_terms(
    share: torch.Tensor, label: str, at: str, wait_for: datetime.timedelta
) -> list[float]:
    """The global (consistency, contrastive, reconstruction): the sum of every node's share."""
    try:
        _wait([dist.all_reduce(share, async_op=True)], wait_for)
    except RuntimeError as exc:
        raise PeerFailureError(
            f"{label}: loss all-reduce failed {at}: "
            f"{_first_line(exc)} (another process has probably died or stalled)"
        ) from exc
    return share.cpu().tolist()


def _where_nonfinite(
    node: SheafNode, label: str, bad: list[tuple[int, str, float]]
) -> tuple[str, int]:
    """Where a non-finite loss comes from, as this process saw it, and how close it is to
    the cause (``origin``, for the launcher's report: 2 its own embeddings, 1 one of its
    edge terms, 0 only the all-reduced total)."""
    if bad and bad[0][1] == "embedding":
        return f" (the embeddings of {label} are not finite)", 2
    if bad:
        k, term, val = bad[0]
        info = node.info(k)
        return (
            f" (first seen by {label} on its edge {k} with {info.other_name!r}, "
            f"whose {term} is {val})",
            1,
        )
    return " (reported by another node)", 0


def _result_path(directory: Path, rank: int) -> Path:
    return directory / f"node-result{rank}.pt"


def save_node_result(directory: str | os.PathLike, node: SheafNode, result: NodeResult) -> Path:
    """Write a trained node's parameters and history (what :func:`load_node_results` reads)."""
    if not isinstance(node, SheafNode):
        raise TypeError(f"node must be a SheafNode; got {type(node).__name__}")
    if not isinstance(result, NodeResult):
        raise TypeError(f"result must be a NodeResult; got {type(result).__name__}")
    path = _result_path(Path(directory), node.index)
    state = {k: v.detach().cpu() for k, v in node.state_dict().items()}
    torch.save({"state": state, "result": result}, path)
    return path


def load_node_results(
    model: SheafAlign, directory: str | os.PathLike, *, seconds: float = 0.0, t_launch: float = 0.0
) -> TrainResult:
    """Load every node's trained parameters into ``model`` and assemble the run's history.

    ``directory`` holds ``node-result{i}.pt`` for every node i, written by the
    processes of :func:`train_distributed` or of the ``node`` command under
    ``torchrun``.
    """
    directory = Path(directory)
    results = []
    for i, node in enumerate(model.node_list()):
        path = _result_path(directory, i)
        if not path.is_file():
            raise FileNotFoundError(f"no result for node {i} ({node.name!r}): {path} is missing")
        saved = torch.load(path, weights_only=False)
        node.load_state_dict(saved["state"])
        results.append(saved["result"])
    first = results[0]
    start = min(r.start_time for r in results)
    return TrainResult(
        mode="distributed",
        losses=first.losses,
        terms={t: first.terms[:, k].copy() for k, t in enumerate(_TERM_NAMES)},
        bytes_sent=np.stack([r.bytes_sent for r in results], axis=1),
        control_bytes=np.stack([r.control_bytes for r in results], axis=1),
        steps_per_epoch=first.steps_per_epoch,
        epoch_seconds=first.epoch_seconds,
        seconds=seconds,
        startup_seconds=max(0.0, start - t_launch) if t_launch else 0.0,
        node_names=tuple(model.node_names),
    )
