"""Section ``items`` of each pair: per-item scores, the worst items and, with labels, per class.

Reads what the earlier steps of the pair computed (nothing is computed twice):
the per-point kNN Jaccard (``neighbourhoods``), the partners' retrieval ranks
and every query's nearest cross-modal row (``retrieval``), the per-row
distance-matrix residual (``distance_alignment``, from its one blocked pass)
and the shared-space rows (``shared_space``). Adds the partner distance in the
shared space (O(n d)), the combined score, the per-class view and a 2-D PCA
projection of the shared space for the figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import curve, q
from .._engine import Engine
from .._measures import _rms_unscaled, _scale_of
from .._steps import PairInput, PairStep, Section

__all__ = ["MEASURES", "STEP", "combined_score", "worst_positions"]

#: the per-item measures, in the order of report.json and of the CSV
MEASURES = ("knn_jaccard", "rank_a_to_b", "rank_b_to_a", "partner_distance", "distance_residual")

SCORE_NOTE = (
    "combined score, higher = worse aligned: the mean of four badness percentiles, each in "
    "[0, 1] = (average rank - 1) / (n - 1) of the item among all analysed items (ties share "
    "their average rank; a measure equal for every item gives 0.5): 1 - knn_jaccard; the "
    "retrieval rank (mean of the percentiles of rank_a_to_b and rank_b_to_a, so retrieval "
    "counts once); partner_distance; distance_residual (left out, the mean taken over three, "
    "when the distance alignment is undefined). Scale-free and robust to outliers: only the "
    "order of the items within each measure matters"
)

#: most items drawn in the joint projection besides the worst
PLOT_SAMPLE = 300
#: most items whose shared-space rows the projection's PCA is fitted on
PCA_ITEMS = 1000


def run(inp: PairInput, engine: Engine) -> Section:
    """The per-item measures, the combined score, the worst items, per class and the projection."""
    measures, residual_note = item_measures(inp)
    score = combined_score(measures)
    worst = worst_positions(score, inp.cfg.n_worst)
    labels = None if inp.labels is None else json_labels(inp.labels)
    entry: dict[str, Any] = {
        "n_items": q(len(score), "count"),
        "rows": curve(inp.rows, "row number (0-based, in the sets as given)"),
        "labels": labels,
        **_measure_curves(measures, residual_note),
        "score": curve(
            score, "fraction (mean badness percentile)", better="lower", note=SCORE_NOTE
        ),
        "worst": _worst_entries(worst, inp.rows, labels, score, measures),
        "by_class": None if inp.labels is None else by_class(inp, measures),
    }
    _, ZA, ZB = inp.products["shared_space"]
    arrays = {"worst": worst, "score": score, **projection(ZA, ZB, worst, inp.cfg.seed)}
    arrays["rows"] = inp.rows
    return Section(entry, arrays)


def item_measures(inp: PairInput) -> tuple[dict[str, np.ndarray | None], str | None]:
    """Every per-item measure (``distance_residual`` None when undefined) and why it is None."""
    retrieval = inp.products["retrieval"]
    alignment = inp.products.get("distance_alignment")
    _, ZA, ZB = inp.products["shared_space"]
    measures: dict[str, np.ndarray | None] = {
        "knn_jaccard": np.asarray(inp.products["neighbourhoods"], dtype=np.float64),
        "rank_a_to_b": retrieval.ranks_ab,
        "rank_b_to_a": retrieval.ranks_ba,
        "partner_distance": partner_distance(ZA, ZB),
        "distance_residual": None if alignment is None else alignment.row_rms_error,
    }
    note = (
        "undefined: a set's pairwise distances are all equal (see distance_alignment)"
        if alignment is None
        else None
    )
    return measures, note


def partner_distance(ZA: np.ndarray, ZB: np.ndarray) -> np.ndarray:
    r"""Per item, :math:`\|z^A_i - z^B_i\| / s`, s the RMS pairwise distance of the pooled rows.

    Parameters
    ----------
    ZA, ZB : ndarray, shape (n, k)
        The analysed rows of the two sets in their shared space.

    Returns
    -------
    ndarray of float64, shape (n,)
        Zeros when every pooled row is the same point (s = 0). Computed on the
        rows divided by one power of two (exact; no overflow), O(n k).
    """
    p = max(_scale_of(ZA), _scale_of(ZB))
    U = np.asarray(ZA, dtype=np.float64) / p
    V = np.asarray(ZB, dtype=np.float64) / p
    D = U - V
    dist = np.sqrt(np.einsum("ij,ij->i", D, D))
    del D
    # the pooled 2n rows' sum of squared deviations, from each set's (no stacked copy)
    n = U.shape[0]
    mu_u, mu_v = U.mean(axis=0), V.mean(axis=0)
    half = 0.5 * (mu_u - mu_v)
    U -= mu_u
    V -= mu_v
    ss = np.einsum("ij,ij->", U, U) + np.einsum("ij,ij->", V, V) + 2 * n * float(half @ half)
    s = float(np.sqrt(2.0 * ss / (2 * n - 1)))
    return dist / s if s > 0 else np.zeros_like(dist)


def _badness_percentile(x: Any) -> np.ndarray:
    """(average rank - 1) / (n - 1) of every entry (larger x = larger percentile), in [0, 1]."""
    from scipy.stats import rankdata

    n = len(x)
    return (rankdata(x, method="average") - 1.0) / max(n - 1, 1)


def combined_score(measures: dict[str, np.ndarray | None]) -> np.ndarray:
    """The combined per-item score (higher = worse aligned; :data:`SCORE_NOTE`), in [0, 1].

    Parameters
    ----------
    measures : dict of str to ndarray of shape (n,) or None
        The :data:`MEASURES`; ``distance_residual`` may be None (left out).

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> m = {"knn_jaccard": np.array([1.0, 0.5, 0.0]), "rank_a_to_b": np.array([0, 0, 2]),
    ...      "rank_b_to_a": np.array([0, 1, 2]), "partner_distance": np.array([0.1, 0.2, 0.9]),
    ...      "distance_residual": None}
    >>> combined_score(m).round(3).tolist()
    [0.042, 0.458, 1.0]
    """
    retrieval = 0.5 * (
        _badness_percentile(measures["rank_a_to_b"]) + _badness_percentile(measures["rank_b_to_a"])
    )
    parts = [
        _badness_percentile(1.0 - np.asarray(measures["knn_jaccard"])),
        retrieval,
        _badness_percentile(measures["partner_distance"]),
    ]
    if measures.get("distance_residual") is not None:
        parts.append(_badness_percentile(measures["distance_residual"]))
    return np.mean(parts, axis=0)


def worst_positions(score: np.ndarray, n_worst: int) -> np.ndarray:
    """Positions of the ``n_worst`` highest scores, highest first (ties: lowest position first).

    Examples
    --------
    >>> import numpy as np
    >>> worst_positions(np.array([0.2, 0.9, 0.5, 0.9]), 3).tolist()
    [1, 3, 2]
    """
    order = np.lexsort((np.arange(len(score)), -score))
    return order[: min(n_worst, len(score))].astype(np.int64)


def json_labels(labels: np.ndarray) -> list[Any]:
    """The labels as JSON values (byte strings decoded as UTF-8, undecodable bytes replaced)."""
    if labels.dtype.kind == "S":
        return [v.decode("utf-8", "replace") for v in labels.tolist()]
    return labels.tolist()


def _measure_curves(
    measures: dict[str, np.ndarray | None], residual_note: str | None
) -> dict[str, Any]:
    """The per-item measures of report.json, each a curve with its unit, direction and meaning."""
    residual = measures["distance_residual"]
    return {
        "knn_jaccard": curve(
            measures["knn_jaccard"],
            "fraction",
            better="higher",
            note="Jaccard index of the item's k nearest neighbours in a and in b",
        ),
        "rank_a_to_b": curve(
            measures["rank_a_to_b"],
            "rank (0 = first)",
            better="lower",
            note="0-based rank of b_i when a_i queries every row of b in the shared space",
        ),
        "rank_b_to_a": curve(
            measures["rank_b_to_a"],
            "rank (0 = first)",
            better="lower",
            note="0-based rank of a_i when b_i queries every row of a in the shared space",
        ),
        "partner_distance": curve(
            measures["partner_distance"],
            "RMS pairwise distances of the pooled shared-space rows",
            better="lower",
            note="||z_a(i) - z_b(i)|| in the shared space divided by the RMS distance between "
            "the 2n pooled shared-space rows (scale-free; about 1 for an unrelated partner)",
        ),
        "distance_residual": (
            {"values": None, "unit": "dimensionless", "note": residual_note}
            if residual is None
            else curve(
                residual,
                "dimensionless (distances in each set's RMS pairwise distance)",
                better="lower",
                note="sqrt(mean_{j != i} (d_A(i,j)/s_A - d_B(i,j)/s_B)^2): the item's row of "
                "distance_alignment's rms_error (whose square is the mean of these squares)",
            )
        ),
    }


def _worst_entries(
    worst: np.ndarray,
    rows: np.ndarray,
    labels: list[Any] | None,
    score: np.ndarray,
    measures: dict[str, np.ndarray | None],
) -> list[dict[str, Any]]:
    """One dict per worst item: its original row, label, score and measures."""
    cols = {"score": score, **measures}
    values = {
        name: (None if col is None else np.asarray(col)[worst].tolist())
        for name, col in cols.items()
    }
    out = []
    for j, pos in enumerate(worst.tolist()):
        item: dict[str, Any] = {
            "row": int(rows[pos]),
            "label": None if labels is None else labels[pos],
        }
        item.update({name: (None if v is None else v[j]) for name, v in values.items()})
        out.append(item)
    return out


# ----------------------------------------------------------------------
# per class
# ----------------------------------------------------------------------

#: most classes whose full confusion matrix is written (the most confused pairs always are)
MAX_MATRIX_CLASSES = 60
#: most off-diagonal (class, class) pairs listed as the top confusions
TOP_CONFUSIONS = 10


def by_class(inp: PairInput, measures: dict[str, np.ndarray | None]) -> dict[str, Any]:
    """Per class: count, recall@k both ways, mean kNN Jaccard and partner distance; confusions."""
    assert inp.labels is not None
    retrieval = inp.products["retrieval"]
    classes, inv = np.unique(inp.labels, return_inverse=True)
    inv = inv.ravel()
    counts = np.bincount(inv, minlength=len(classes))

    def mean_by(x: Any) -> np.ndarray:
        return (
            np.bincount(inv, weights=np.asarray(x, dtype=np.float64), minlength=len(classes))
            / counts
        )

    def recalls(ranks: np.ndarray) -> dict[str, Any]:
        return {f"@{k}": curve(mean_by(ranks < k), "fraction", better="higher") for k in inp.cfg.ks}

    return {
        "classes": json_labels(classes),
        "count": curve(counts, "count"),
        "recall_a_to_b": recalls(retrieval.ranks_ab),
        "recall_b_to_a": recalls(retrieval.ranks_ba),
        "knn_jaccard": curve(mean_by(measures["knn_jaccard"]), "fraction", better="higher"),
        "partner_distance": curve(
            mean_by(measures["partner_distance"]),
            "RMS pairwise distances of the pooled shared-space rows",
            better="lower",
        ),
        "a_to_b": confusion(inv, retrieval.nearest_ab, classes, "a", "b", mean_by),
        "b_to_a": confusion(inv, retrieval.nearest_ba, classes, "b", "a", mean_by),
        "note": "per class: mean over the class's items (its rows of the per-item table); "
        "recall@k: fraction of the class's queries whose partner ranks < k",
    }


def confusion(
    inv: np.ndarray, nearest: np.ndarray, classes: np.ndarray, q_set: str, t_set: str, mean_by: Any
) -> dict[str, Any]:
    """The cross-modal class confusion of queries from ``q_set`` answered in ``t_set``.

    ``inv`` holds each item's class index; ``nearest[i]`` is the row of the
    other set scoring highest for query i (the partner when it ranks first,
    else exact ties to the lowest index: :class:`~sheaftopo.report.Retrieval`).
    """
    C = len(classes)
    got = inv[nearest]
    same = inv == got
    codes = inv * C + got
    wrong, n_wrong = np.unique(codes[~same], return_counts=True)
    top = np.lexsort((wrong, -n_wrong))[:TOP_CONFUSIONS]
    names = json_labels(classes)
    matrix = None
    if C <= MAX_MATRIX_CLASSES:
        matrix = np.bincount(codes, minlength=C * C).reshape(C, C).tolist()
    return {
        "same_class": q(
            float(same.mean()),
            "fraction",
            better="higher",
            note=f"items of {q_set} whose nearest cross-modal neighbour in {t_set} (highest "
            "retrieval score; the partner when it ranks first, else ties to the lowest row) "
            "has the same class",
        ),
        "same_class_by_class": curve(mean_by(same), "fraction", better="higher"),
        "matrix": matrix,
        "matrix_note": (
            f"counts: row = class of the query item in {q_set}, column = class of its nearest "
            f"neighbour in {t_set}; classes in the order of 'classes'"
            if matrix is not None
            else f"not written: {C} classes (more than {MAX_MATRIX_CLASSES}); see top_confusions"
        ),
        "top_confusions": [
            {
                f"class_{q_set}": names[int(c) // C],
                f"nearest_class_{t_set}": names[int(c) % C],
                "count": int(m),
            }
            for c, m in zip(wrong[top].tolist(), n_wrong[top].tolist(), strict=True)
        ],
    }


# ----------------------------------------------------------------------
# the 2-D projection of the figure
# ----------------------------------------------------------------------


def projection(ZA: np.ndarray, ZB: np.ndarray, worst: np.ndarray, seed: int) -> dict[str, Any]:
    """2-D PCA coordinates of a seeded sample of items plus the worst, in both sets.

    The two principal axes are those of the pooled shared-space rows of a
    seeded subsample of at most :data:`PCA_ITEMS` items (all when fewer);
    the plotted items are a seeded sample of at most :data:`PLOT_SAMPLE`
    items and the worst ones. Coordinates are in RMS pairwise distances of the
    pooled fitted rows.
    """
    n = ZA.shape[0]
    rng = np.random.default_rng([seed, 18])
    fit = rng.choice(n, size=PCA_ITEMS, replace=False) if n > PCA_ITEMS else np.arange(n)
    shown = rng.choice(n, size=PLOT_SAMPLE, replace=False) if n > PLOT_SAMPLE else np.arange(n)
    shown = np.union1d(shown, worst)
    used = np.union1d(fit, shown)
    p = max(_scale_of(ZA[used]), _scale_of(ZB[used]))
    pooled = np.vstack([np.asarray(ZA[fit], np.float64), np.asarray(ZB[fit], np.float64)]) / p
    mean = pooled.mean(axis=0)
    s = _rms_unscaled(pooled)
    axes, explained = _principal_axes(pooled - mean)
    scale = s if s > 0 else 1.0

    def coords(Z: np.ndarray) -> np.ndarray:
        return ((np.asarray(Z[shown], np.float64) / p - mean) @ axes) / scale

    return {
        "proj_a": coords(ZA),
        "proj_b": coords(ZB),
        "proj_positions": shown,
        "proj_explained": explained,
    }


def _principal_axes(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two leading principal axes of the centred rows C (k x 2) and their variance shares.

    An eigendecomposition of the smaller of the two Gram matrices (k x k or
    m x m); a missing second axis (k = 1) or one of zero variance is a zero column.
    """
    from scipy.linalg import eigh

    m, k = C.shape
    G = C.T @ C if k <= m else C @ C.T
    top = min(2, G.shape[0])
    w, v = eigh(G, subset_by_index=[G.shape[0] - top, G.shape[0] - 1])  # ascending
    w, v = np.maximum(w[::-1], 0.0), v[:, ::-1]
    if k > m:  # v holds left singular vectors: map them to axes of the k-dimensional space
        root = np.sqrt(w)
        v = (C.T @ v) / np.where(root > 0, root, 1.0)
    axes = np.zeros((k, 2))
    axes[:, :top] = v * (w > 0)
    total = float(np.trace(G))
    explained = np.zeros(2)
    explained[:top] = w / total if total > 0 else 0.0
    return axes, explained


STEP = PairStep(
    "items",
    "per-item scores",
    run,
    needs=("distance_alignment", "neighbourhoods", "shared_space", "retrieval"),
)
