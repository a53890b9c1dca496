"""Section ``neighbourhoods`` of each pair: kNN overlap and Hausdorff mismatch.

Provides the per-point Jaccard index of the two kNN sets (shape (n,)).
"""

from __future__ import annotations

import numpy as np

from .._config import q
from .._engine import Engine
from .._measures import _scale_of
from .._steps import PairInput, PairStep, Section


def knn_sets(X: np.ndarray, k: int) -> np.ndarray:
    """The k nearest neighbours of every row of X (:func:`sheaftopo.geometry.knn_indices`)."""
    from ...geometry import knn_indices

    return knn_indices(X / _scale_of(X), k=k)  # neighbours do not change with the scale


def run(inp: PairInput, engine: Engine) -> Section:
    """Per-point Jaccard of the kNN sets (computed once per set) and the Hausdorff mismatch."""
    from ...geometry import knn_hausdorff

    A, B, k = inp.A, inp.B, inp.cfg.k
    NA = inp.per_set("knn", inp.a, A, lambda X: knn_sets(X, k))
    NB = inp.per_set("knn", inp.b, B, lambda X: knn_sets(X, k))
    # per-point Jaccard of the two kNN index sets (sheaftopo.geometry.knn_indices, the sets
    # knn_overlap compares); their mean is knn_overlap(A, B, k=k)
    inter = (NA[:, :, None] == NB[:, None, :]).sum(axis=(1, 2))
    jac = inter / (2 * k - inter)
    out = {
        "k": q(k, "count"),
        "overlap": q(
            float(jac.mean()),
            "fraction",
            note="mean over points of the Jaccard index of the k-nearest-neighbour sets "
            "(sheaftopo.geometry.knn_overlap); 1: every neighbourhood preserved",
            better="higher",
        ),
        "overlap_median": q(float(np.median(jac)), "fraction", better="higher"),
        "overlap_zero_fraction": q(
            float(np.mean(inter == 0)),
            "fraction of points",
            note="points whose neighbourhoods share no point",
            better="lower",
        ),
        "hausdorff_mismatch": q(
            # in units of each set's own neighbourhood radius: scale-free, so computed on the
            # sets divided by powers of two (exact; no overflow of squared distances)
            knn_hausdorff(A / _scale_of(A), B / _scale_of(B), k=k),
            "mean k-th neighbour distances",
            note="mean over points of the Hausdorff distance between a point's two "
            "neighbourhoods, in each set's mean k-th-neighbour radius "
            "(sheaftopo.geometry.knn_hausdorff); 0: same neighbourhoods",
            better="lower",
        ),
    }
    return Section(out, {"overlap": jac, "k": k}, provides=jac)


STEP = PairStep("neighbourhoods", "kNN neighbourhoods", run)
