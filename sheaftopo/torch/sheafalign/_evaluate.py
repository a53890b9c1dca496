r"""Evaluation of aligned multi-view models: retrieval, zero/few-shot, missing modalities.

Works for :class:`SheafAlign` and :class:`SingleSpaceBaseline` alike through
three methods both provide: ``compare(i, j, h_i, h_j)`` puts two modalities
in one space (an edge's comparison space; the shared space),
``neighbour_estimates(j, hs)`` estimates node j's embeddings from the others
(:math:`Q_{e\to j}P_{i\to e}h_i` from each neighbour; every other modality's
embedding as is), and ``message_dim(i, j)`` is what such an estimate costs in
numbers per sample. Similarities are cosines, computed in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..._validation import check_int, check_real
from ._train import as_views

__all__ = ["Evaluation", "evaluate"]


@dataclass
class Evaluation:
    """Scores of one model on held-out data.

    Attributes
    ----------
    recall_instance, recall_label : dict of int to float
        Cross-modal retrieval Recall@k averaged over ordered pairs (i, j),
        i != j: an item of modality i queries the test items of modality j.
        Instance level: the paired item is among the k most similar; label
        level: some item of the query's class is.
    pair_recall : ndarray, shape (n, n, len(ks))
        Instance-level Recall@k per ordered pair (NaN on the diagonal).
    zero_shot : float
        Nearest-class-centroid accuracy across modalities, averaged over
        ordered pairs: class centroids of modality i's training items,
        modality j's test items classified (no label of j used).
    zero_shot_pairs : ndarray, shape (n, n)
    few_shot : dict of int to float
        k-shot accuracy: centroids of k labelled training items per class of
        modality j in its own embedding space, j's test items classified;
        averaged over modalities and ``n_repeats`` draws.
    robustness : dict of str to dict of float to float
        Accuracy of a multi-view nearest-centroid classifier (summed cosines
        to every modality's class centroids) when each modality of each test
        item is missing with probability p (one modality always kept); the
        missing embeddings filled by ``"model"`` (the model's estimate from
        the available modalities: neighbour transport for SheafAlign, the
        available embeddings' mean in the shared space), ``"zero"`` or
        ``"mean"`` (training mean). p = 0 is included.
    missing_nmse : dict of str to float
        Normalised squared error sum ||h_hat - h||^2 / sum ||h - mean h||^2 of
        the estimate of every node's embeddings, averaged over nodes:
        ``"model"`` from all neighbours, ``"model_single"`` from one
        neighbour (averaged over neighbours), ``"zero"`` and ``"mean"`` fills.
    missing_nmse_nodes : dict of str to list of float
        The same per node.
    message_numbers : float
        Numbers per sample a neighbour sends for one estimate (d_e for
        SheafAlign, the full embedding d for the shared space), averaged.
    embedding_numbers : float
        Mean d_i: what sending full embeddings would cost.
    """

    model: str
    ks: tuple[int, ...]
    recall_instance: dict[int, float]
    recall_label: dict[int, float]
    pair_recall: np.ndarray
    zero_shot: float
    zero_shot_pairs: np.ndarray
    few_shot: dict[int, float]
    robustness: dict[str, dict[float, float]]
    missing_nmse: dict[str, float]
    missing_nmse_nodes: dict[str, list[float]]
    message_numbers: float
    embedding_numbers: float
    node_names: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (keys as strings, arrays as nested lists, NaN as None)."""

        def clean(a: np.ndarray) -> list:
            out = a.astype(object)
            out[np.isnan(a)] = None
            return out.tolist()

        return {
            "model": self.model,
            "node_names": list(self.node_names),
            "recall_instance": {str(k): v for k, v in self.recall_instance.items()},
            "recall_label": {str(k): v for k, v in self.recall_label.items()},
            "pair_recall": clean(self.pair_recall),
            "zero_shot": self.zero_shot,
            "zero_shot_pairs": clean(self.zero_shot_pairs),
            "few_shot": {str(k): v for k, v in self.few_shot.items()},
            "robustness": {
                m: {str(p): a for p, a in d.items()} for m, d in self.robustness.items()
            },
            "missing_nmse": dict(self.missing_nmse),
            "missing_nmse_nodes": {k: list(v) for k, v in self.missing_nmse_nodes.items()},
            "message_numbers": self.message_numbers,
            "embedding_numbers": self.embedding_numbers,
        }


def _unit(X: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norm, 1e-300)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _centroids(X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    U = _unit(X)
    return _unit(np.stack([U[y == c].mean(axis=0) for c in classes]))


def _retrieval(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, ks: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    S = _unit(a) @ _unit(b).T
    true = np.diag(S)
    rank = (S > true[:, None]).sum(axis=1)  # ties count in the query's favour
    inst = np.array([float(np.mean(rank < k)) for k in ks])
    top = min(max(ks), len(y))
    part = np.argpartition(-S, top - 1, axis=1)[:, :top]
    order = np.take_along_axis(
        part, np.argsort(-np.take_along_axis(S, part, axis=1), axis=1, kind="stable"), axis=1
    )
    same = y[order] == y[:, None]
    lab = np.array([float(np.mean(same[:, : min(k, top)].any(axis=1))) for k in ks])
    return inst, lab


def evaluate(
    model: Any,
    test_views: Any,
    test_labels: Any,
    *,
    train_views: Any,
    train_labels: Any,
    ks: Sequence[int] = (1, 5, 10),
    shots: Sequence[int] = (1, 5),
    drop_rates: Sequence[float] = (0.1, 0.3, 0.5),
    n_repeats: int = 3,
    seed: int = 0,
) -> Evaluation:
    """Retrieval, zero/k-shot, missing-modality and robustness scores (see :class:`Evaluation`).

    Parameters
    ----------
    model : SheafAlign or SingleSpaceBaseline
        Trained; evaluated in eval mode without gradients.
    test_views, train_views : sequence or mapping of array_like
        One array per node, rows paired (as in :func:`train`).
    test_labels, train_labels : array_like of int
        Class of every row.
    ks : sequence of int, default (1, 5, 10)
        Recall@k cut-offs.
    shots : sequence of int, default (1, 5)
    drop_rates : sequence of float in [0, 1), default (0.1, 0.3, 0.5)
    n_repeats : int, default 3
        Draws of the k-shot support sets and of the missing-modality masks.
    seed : int

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.torch.sheafalign import SheafAlign, evaluate
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((80, 3)); y = (z[:, 0] > 0).astype(int)
    >>> views = [z @ rng.standard_normal((3, d)) for d in (4, 5, 6)]
    >>> model = SheafAlign([4, 5, 6], embed_dim=4, hidden=8)
    >>> ev = evaluate(model, [v[40:] for v in views], y[40:],
    ...               train_views=[v[:40] for v in views], train_labels=y[:40])
    >>> sorted(ev.recall_instance), sorted(ev.robustness["model"])
    ([1, 5, 10], [0.0, 0.1, 0.3, 0.5])
    """
    te, tr, y_te, y_tr = _check_data(model, test_views, test_labels, train_views, train_labels)
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise TypeError(f"ks must be a sequence of positive integers; got {ks!r}")
    ks = tuple(check_int(k, "ks", minimum=1) for k in ks)
    if not ks:
        raise ValueError("ks must hold at least one k (recall@k); got an empty sequence")
    shots = tuple(check_int(k, "shots", minimum=1) for k in shots)
    rates = tuple(
        check_real(p, "drop_rates", low=0.0, high=1.0, high_inclusive=False) for p in drop_rates
    )
    repeats = check_int(n_repeats, "n_repeats", minimum=1)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    n = model.n_nodes
    classes = np.unique(y_tr)
    emb = _embed(model, tr, te, y_tr, y_te, ks, classes)
    H_tr = [_np(h) for h in emb.hs_tr]
    H_te = [_np(h) for h in emb.hs_te]
    means = [h.mean(axis=0) for h in H_tr]
    few = _few_shot(H_tr, H_te, y_tr, y_te, classes, shots, repeats, rng)
    nmse = _missing_nmse(H_te, emb.estimates, means)
    cents = [_centroids(H_tr[j], y_tr, classes) for j in range(n)]
    robust = _robustness(H_te, y_te, classes, cents, emb.estimates, means, rates, repeats, rng)
    off = ~np.eye(n, dtype=bool)
    return Evaluation(
        model=type(model).__name__,
        ks=ks,
        recall_instance={k: float(emb.pair_inst[off][:, t].mean()) for t, k in enumerate(ks)},
        recall_label={k: float(emb.pair_lab[off][:, t].mean()) for t, k in enumerate(ks)},
        pair_recall=emb.pair_inst,
        zero_shot=float(emb.zs_pairs[off].mean()),
        zero_shot_pairs=emb.zs_pairs,
        few_shot=few,
        robustness=robust,
        missing_nmse={k: float(np.mean(v)) for k, v in nmse.items()},
        missing_nmse_nodes=nmse,
        message_numbers=float(np.mean(emb.message)),
        embedding_numbers=float(np.mean(model.embed_dims)),
        node_names=tuple(model.node_names),
    )


def _check_data(
    model: Any, test_views: Any, test_labels: Any, train_views: Any, train_labels: Any
) -> tuple[list[torch.Tensor], list[torch.Tensor], np.ndarray, np.ndarray]:
    """The views as the model's tensors and the labels as integer arrays, one per row."""
    te = as_views(test_views, model, name="test_views")
    tr = as_views(train_views, model, name="train_views")
    y_te = np.asarray(test_labels).reshape(-1)
    y_tr = np.asarray(train_labels).reshape(-1)
    for name, y, data in (("test_labels", y_te, te), ("train_labels", y_tr, tr)):
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer class labels; got dtype {y.dtype}")
        if len(y) != data[0].shape[0]:
            raise ValueError(
                f"{name} must have one label per row ({data[0].shape[0]}); got {len(y)}"
            )
    return te, tr, y_te, y_tr


@dataclass
class _Embedded:
    """What :func:`evaluate` reads off the model (the rest is numpy on these)."""

    hs_tr: list[torch.Tensor]
    hs_te: list[torch.Tensor]
    pair_inst: np.ndarray
    pair_lab: np.ndarray
    zs_pairs: np.ndarray
    estimates: list[dict[int, np.ndarray]]
    message: list[int]


def _embed(
    model: Any,
    tr: list[torch.Tensor],
    te: list[torch.Tensor],
    y_tr: np.ndarray,
    y_te: np.ndarray,
    ks: tuple[int, ...],
    classes: np.ndarray,
) -> _Embedded:
    """Embeddings, pairwise retrieval and zero-shot scores, and every node's estimates from
    its neighbours; the model in eval mode without gradients (its mode restored)."""
    n = model.n_nodes
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            hs_tr = model.embed(tr)
            hs_te = model.embed(te)
            pair_inst = np.full((n, n, len(ks)), np.nan)
            pair_lab = np.full((n, n, len(ks)), np.nan)
            zs_pairs = np.full((n, n), np.nan)
            for i in range(n):
                for j in range(n):
                    if i == j:
                        continue
                    a, b = model.compare(i, j, hs_te[i], hs_te[j])
                    pair_inst[i, j], pair_lab[i, j] = _retrieval(_np(a), _np(b), y_te, ks)
                    a_tr, _ = model.compare(i, j, hs_tr[i], hs_tr[j])
                    C = _centroids(_np(a_tr), y_tr, classes)
                    pred = classes[np.argmax(_unit(_np(b)) @ C.T, axis=1)]
                    zs_pairs[i, j] = float(np.mean(pred == y_te))
            estimates = [
                {i: _np(e) for i, e in model.neighbour_estimates(j, hs_te).items()}
                for j in range(n)
            ]
            message = [model.message_dim(i, j) for j in range(n) for i in estimates[j]]
    finally:
        model.train(was_training)
    return _Embedded(hs_tr, hs_te, pair_inst, pair_lab, zs_pairs, estimates, message)


def _few_shot(
    H_tr: list[np.ndarray],
    H_te: list[np.ndarray],
    y_tr: np.ndarray,
    y_te: np.ndarray,
    classes: np.ndarray,
    shots: tuple[int, ...],
    repeats: int,
    rng: np.random.Generator,
) -> dict[int, float]:
    """k-shot accuracy: prototypes from k labelled training items of the modality itself."""
    few = {}
    for k in shots:
        accs = []
        for _ in range(repeats):
            for j in range(len(H_tr)):
                support = np.concatenate(
                    [rng.permutation(np.flatnonzero(y_tr == c))[:k] for c in classes]
                )
                C = _centroids(H_tr[j][support], y_tr[support], classes)
                pred = classes[np.argmax(_unit(H_te[j]) @ C.T, axis=1)]
                accs.append(float(np.mean(pred == y_te)))
        few[k] = float(np.mean(accs))
    return few


def _missing_nmse(
    H_te: list[np.ndarray], estimates: list[dict[int, np.ndarray]], means: list[np.ndarray]
) -> dict[str, list[float]]:
    """Per node, the normalised error of the missing-modality estimates and fills."""
    nmse: dict[str, list[float]] = {"model": [], "model_single": [], "zero": [], "mean": []}
    for j, h in enumerate(H_te):
        den = float(np.sum((h - h.mean(axis=0)) ** 2))
        den = den if den > 0 else 1.0
        E = list(estimates[j].values())
        nmse["model"].append(float(np.sum((np.mean(E, axis=0) - h) ** 2)) / den)
        nmse["model_single"].append(float(np.mean([np.sum((e - h) ** 2) for e in E])) / den)
        nmse["zero"].append(float(np.sum(h**2)) / den)
        nmse["mean"].append(float(np.sum((h - means[j]) ** 2)) / den)
    return nmse


def _robustness(
    H_te: list[np.ndarray],
    y_te: np.ndarray,
    classes: np.ndarray,
    cents: list[np.ndarray],
    estimates: list[dict[int, np.ndarray]],
    means: list[np.ndarray],
    rates: tuple[float, ...],
    repeats: int,
    rng: np.random.Generator,
) -> dict[str, dict[float, float]]:
    """Multi-view nearest-centroid accuracy with modalities dropped at random (p = 0 and
    ``rates``), the missing embeddings filled by each method."""
    n, N = len(H_te), len(y_te)
    robust: dict[str, dict[float, float]] = {"model": {}, "zero": {}, "mean": {}}
    for p in (0.0, *rates):
        scores: dict[str, list[float]] = {m: [] for m in robust}
        for _ in range(repeats):
            avail = rng.random((N, n)) >= p
            empty = ~avail.any(axis=1)
            avail[np.flatnonzero(empty), rng.integers(0, n, int(empty.sum()))] = True
            for method in robust:
                total = np.zeros((N, len(classes)))
                for j in range(n):
                    fill = _fill(method, H_te[j], avail, estimates[j], means[j])
                    X = np.where(avail[:, j : j + 1], H_te[j], fill)
                    total += _unit(X) @ cents[j].T
                pred = classes[np.argmax(total, axis=1)]
                scores[method].append(float(np.mean(pred == y_te)))
        for method in robust:
            robust[method][float(p)] = float(np.mean(scores[method]))
    return robust


def _fill(
    method: str,
    h: np.ndarray,
    avail: np.ndarray,
    estimates: dict[int, np.ndarray],
    mean: np.ndarray,
) -> np.ndarray:
    """Node j's stand-in embeddings (shape of ``h``) under ``method``: zeros, the training
    mean, or the model's estimates averaged over the available neighbours (the mean when
    none is available)."""
    if method == "zero":
        return np.zeros_like(h)
    if method == "mean":
        return np.broadcast_to(mean, h.shape)
    srcs = list(estimates)
    w = avail[:, srcs].astype(np.float64)
    acc = sum(w[:, [t]] * estimates[i] for t, i in enumerate(srcs))
    cnt = w.sum(axis=1, keepdims=True)
    return np.where(cnt > 0, acc / np.maximum(cnt, 1.0), mean)
