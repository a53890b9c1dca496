"""How well labels are separated in one embedding set: silhouette and
cross-validated k-nearest-neighbour accuracy (scikit-learn, imported on use).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_points,
    check_random_state,
    power_of_two_scale,
)

__all__ = ["LabelScores", "label_scores"]


@dataclass(frozen=True)
class LabelScores:
    """How well an embedding separates given labels.

    Attributes
    ----------
    silhouette : float
        Mean silhouette coefficient of the labels (Euclidean), in [-1, 1].
    nmi : float
        Normalised mutual information (arithmetic normalisation) between the
        labels and a k-means clustering into as many clusters, in [0, 1].
    n_labels : int
        Number of distinct labels (and of k-means clusters).
    """

    silhouette: float
    nmi: float
    n_labels: int


def _label_kind(value: Any) -> str:
    """The kind of one label: "bool", "number" or "str"; TypeError for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Real):
        return "number"
    if isinstance(value, (str, np.str_)):
        return "str"
    raise TypeError(
        "labels must be integers, real numbers, strings or booleans; got "
        f"{value!r} of type {type(value).__name__}"
    )


def _labels(labels: Any, n: int) -> tuple[np.ndarray, int]:
    """Integer codes of one label type: numbers, strings or booleans, never a mix.

    A mix (``[1, "a"]``, or ``None`` among numbers) is refused rather than
    converted, since NumPy would silently turn ``1`` into ``"1"`` and merge it
    with a string label ``"1"``.
    """
    if isinstance(labels, str) or labels is None:
        raise TypeError(
            f"labels must be a sequence of {n} labels; got {labels!r} of type "
            f"{type(labels).__name__}"
        )
    try:
        lab = np.asarray(labels)
    except (ValueError, TypeError):  # ragged nesting
        lab = np.asarray(list(labels), dtype=object)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(
            f"labels must be a 1-D array of {n} labels (one per row); got shape {lab.shape}"
        )
    if lab.dtype.kind == "O" or (lab.dtype.kind == "U" and not isinstance(labels, np.ndarray)):
        # lists are checked element by element (NumPy turns [1, "a"] into strings)
        items = list(labels) if lab.dtype.kind == "U" else list(lab)
        kinds = {_label_kind(v) for v in items}
        if len(kinds) > 1:
            raise TypeError(
                "labels must all be of one kind (numbers, strings or booleans); got a mix of "
                + " and ".join(sorted(kinds))
            )
        lab = np.asarray(items)
    if lab.dtype.kind not in "biufUS":
        raise TypeError(
            f"labels must be integers, real numbers, strings or booleans; got dtype {lab.dtype}"
        )
    if lab.dtype.kind == "f" and not np.isfinite(lab).all():
        raise ValueError("labels must not contain NaN or inf")
    _, codes = np.unique(lab, return_inverse=True)
    n_labels = int(codes.max()) + 1
    if not 2 <= n_labels <= n - 1:
        raise ValueError(
            f"labels must take between 2 and n - 1 = {n - 1} distinct values for a silhouette "
            f"score; got {n_labels}"
        )
    return codes.reshape(n), n_labels


def _sklearn_seed(seed: Any) -> int:
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    return int(check_random_state(seed).integers(0, 2**31 - 1))


def _label_scores(X: np.ndarray, codes: np.ndarray, n_labels: int, seed: Any) -> LabelScores:
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score, silhouette_score

    X = X / power_of_two_scale(X)  # both scores are scale-invariant: no overflow in sklearn
    sil = float(silhouette_score(X, codes, metric="euclidean"))
    km = KMeans(n_clusters=n_labels, n_init=10, random_state=_sklearn_seed(seed)).fit(X)
    nmi = float(normalized_mutual_info_score(codes, km.labels_))
    return LabelScores(silhouette=sil, nmi=nmi, n_labels=n_labels)


def label_scores(X: Any, labels: Any, *, seed: Any = 0) -> LabelScores:
    r"""Silhouette of given labels, and NMI between the labels and a seeded k-means clustering.

    The silhouette is scikit-learn's ``silhouette_score(X, labels)``
    (Euclidean). Both scores are invariant under scaling ``X``, and are
    computed on ``X`` divided by a power of two that brings it to unit scale,
    so any finite magnitude works. The NMI is ``normalized_mutual_info_score(labels,
    KMeans(n_clusters=L, n_init=10, random_state=seed).fit(X).labels_)`` with
    :math:`L` the number of distinct labels.

    Parameters
    ----------
    X : array_like, shape (n, d)
    labels : array_like, shape (n,)
        Integers, real numbers, strings or booleans, all of one kind (a mix
        such as ``[1, "a"]`` or ``None`` among numbers raises ``TypeError``);
        2 to n - 1 distinct ones.
    seed : int, numpy.random.Generator or None, default 0
        Seed of k-means (an int is passed to scikit-learn as is; a Generator
        or None first draws one).

    Returns
    -------
    LabelScores

    Raises
    ------
    TypeError
        On labels of mixed kinds or of another kind.
    ValueError
        On NaN or inf, labels of the wrong length, or fewer than 2 or more
        than n - 1 distinct labels.

    References
    ----------
    .. [1] P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation
       and validation of cluster analysis", J. Comput. Appl. Math. 20, 1987.
    .. [2] A. Strehl, J. Ghosh, "Cluster ensembles", JMLR 3, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import label_scores
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 10])
    >>> s = label_scores(X, [0] * 20 + [1] * 20)
    >>> s.silhouette > 0.8, s.nmi, s.n_labels
    (True, 1.0, 2)
    """
    X = as_points(X, "X", dtype=np.float64)
    codes, n_labels = _labels(labels, X.shape[0])
    return _label_scores(X, codes, n_labels, seed)
