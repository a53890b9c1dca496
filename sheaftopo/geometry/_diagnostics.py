r"""Diagnostics comparing two embedding sets: distributional, neighbourhood and label scores.

Paired diagnostics take two sets ``X`` (n, d_X) and ``Y`` (n, d_Y) whose row
``i`` describes the same item in two modalities. The neighbourhood-based ones
(:func:`knn_overlap`, :func:`knn_hausdorff`) only compare index sets and
within-modality distances, so they work when :math:`d_X \ne d_Y`;
:func:`mmd2` and :func:`modality_gap` compare the points themselves and need
equal dimensions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    as_points,
    check_k,
    check_random_state,
    check_real,
    power_of_two_scale,
)
from ._checks import as_pair, cloud_scale
from ._local import _BLOCK_ENTRIES, _distances, _knn

__all__ = [
    "LabelScores",
    "ManifoldDiagnostics",
    "knn_hausdorff",
    "knn_overlap",
    "label_scores",
    "manifold_diagnostics",
    "median_bandwidth",
    "mmd2",
    "modality_gap",
]


def _pairwise(Z: np.ndarray) -> np.ndarray:
    """Euclidean distances (N, N) with an exactly zero diagonal (see _distances)."""
    D = _distances(Z, Z)
    np.fill_diagonal(D, 0.0)
    return D


def _median(D: np.ndarray) -> float:
    """Median of the pairwise distances ``D[i, j]``, i < j, from the full matrix.

    The flattened matrix holds the N zeros of the diagonal (the smallest
    values) and every pair twice, so the pair median is the mean of the
    entries of rank N + P - 1 and N + P (0-based), P = N (N - 1) / 2.
    """
    N = D.shape[0]
    P = N * (N - 1) // 2
    lo, hi = N + P - 1, N + P
    part = np.partition(D.ravel(), (lo, hi))
    return 0.5 * (float(part[lo]) + float(part[hi]))


def median_bandwidth(X: Any, Y: Any = None) -> float:
    r"""The median heuristic: the median Euclidean distance between distinct points.

    :math:`\sigma = \operatorname{median}\{\|z_i - z_j\|_2 : i < j\}` over the
    rows :math:`z` of ``X`` stacked on ``Y`` (or of ``X`` alone), the usual
    median over :math:`N(N-1)/2` values (the mean of the two middle ones when
    their number is even). Distances are computed as
    :math:`\|z_i\|^2 + \|z_j\|^2 - 2 z_i^T z_j` after centring (and
    recomputed from the differences where that would lose more than a
    relative 1e-8 to cancellation), on the
    points divided by a power of two (exact), small distances recomputed from
    the differences at the data's own scale, so any finite magnitude works,
    also for clouds of very different magnitudes.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d), optional

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On NaN or inf, fewer than two points in all, or different dimensions.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A kernel two-sample test", JMLR 13, 2012.

    Examples
    --------
    >>> from sheaftopo.geometry import median_bandwidth
    >>> median_bandwidth([[0.0], [1.0], [3.0]])  # distances 1, 2, 3
    2.0
    >>> median_bandwidth([[0.0], [1.0]], [[3.0], [7.0]])  # 1, 3, 7, 2, 6, 4
    3.5
    """
    if Y is None:
        Z = as_points(X, "X", dtype=np.float64)
    else:
        Z = np.concatenate(as_pair(X, Y, paired=False, same_dim=True))
    if Z.shape[0] < 2:
        raise ValueError("the median heuristic needs at least two points in all")
    sigma = _median(_pairwise(Z))
    if not math.isfinite(sigma):
        raise ValueError(
            "the median distance between the points of X and Y overflows float64; rescale them"
        )
    return sigma


def _bandwidths(bandwidth: Any, D: np.ndarray) -> np.ndarray:
    """The bandwidths (positive and finite), in the units of the distances ``D``."""
    if bandwidth is None:
        sigma = _median(D)
        if not math.isfinite(sigma):
            raise ValueError(
                "the median-heuristic bandwidth overflows float64 (X and Y are too far "
                "apart); pass bandwidth= explicitly"
            )
        if sigma == 0:
            raise ValueError(
                "the median-heuristic bandwidth is 0 (more than half of the pairs of points "
                "coincide); pass bandwidth= explicitly"
            )
        return np.array([sigma])
    if isinstance(bandwidth, np.ndarray) and bandwidth.ndim == 0:
        bandwidth = bandwidth[()]  # a 0-d array is a scalar
    if isinstance(bandwidth, (Sequence, np.ndarray)) and not isinstance(bandwidth, str):
        values = [check_real(s, "bandwidth", low=0.0, low_inclusive=False) for s in bandwidth]
        if not values:
            raise ValueError("bandwidth must be a positive number or a non-empty sequence of them")
    else:
        values = [check_real(bandwidth, "bandwidth", low=0.0, low_inclusive=False)]
    return np.array(values)


def mmd2(X: Any, Y: Any, *, bandwidth: Any = None) -> float:
    r"""Unbiased estimate of the squared maximum mean discrepancy with a Gaussian kernel.

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{1}{n(n-1)}\sum_{i \ne j} k(x_i, x_j)
        + \frac{1}{m(m-1)}\sum_{i \ne j} k(y_i, y_j)
        - \frac{2}{nm}\sum_{i, j} k(x_i, y_j),

    the U-statistic of Gretton et al. [1]_ (an unbiased estimate of
    :math:`\mathrm{MMD}^2 = \mathbb{E}k(x,x') + \mathbb{E}k(y,y') - 2\mathbb{E}k(x,y)`;
    it can be slightly negative), with
    :math:`k(x, y) = \frac{1}{L}\sum_{l=1}^{L} \exp\big(-\|x - y\|^2 / (2\sigma_l^2)\big)`.
    The rows of ``X`` and ``Y`` need not be paired.

    Parameters
    ----------
    X : array_like, shape (n, d)
        ``n >= 2`` samples.
    Y : array_like, shape (m, d)
        ``m >= 2`` samples, same dimension.
    bandwidth : float or sequence of floats, optional
        The :math:`\sigma_l > 0`. By default one bandwidth, the median
        heuristic :func:`median_bandwidth` of the pooled samples (which makes
        the estimate data-dependent, and so not exactly unbiased; pass a fixed
        bandwidth for that).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, fewer than two samples in either
        set, or a non-positive bandwidth.

    Notes
    -----
    Memory and time :math:`O((n + m)^2)`: the full kernel matrix of the pooled
    sample is formed. Distances and bandwidths are divided by the same power
    of two (exact) before the kernel is evaluated, so any finite magnitude
    works.

    References
    ----------
    .. [1] A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schölkopf, A. Smola,
       "A kernel two-sample test", JMLR 13, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import mmd2
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    >>> abs(mmd2(X, Y, bandwidth=1.0)) < 0.01
    True
    >>> mmd2(X, Y + 2.0, bandwidth=1.0) > 0.3
    True
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    n, m = X.shape[0], Y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(
            f"X and Y must each hold at least 2 samples for the unbiased MMD estimate; got {n} "
            f"and {m} rows"
        )
    D = _pairwise(np.concatenate([X, Y]))
    sigmas = _bandwidths(bandwidth, D)
    K = np.zeros_like(D)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        for sigma in sigmas:
            # (D / sigma)^2 saturates to inf (kernel 0) or 0 (kernel 1), never NaN (sigma
            # is positive and finite)
            K += np.exp(-0.5 * np.square(D / sigma))
    K /= len(sigmas)
    kxx = (K[:n, :n].sum() - np.trace(K[:n, :n])) / (n * (n - 1))
    kyy = (K[n:, n:].sum() - np.trace(K[n:, n:])) / (m * (m - 1))
    kxy = K[:n, n:].sum() / (n * m)
    return float(kxx + kyy - 2.0 * kxy)


def _jaccard(NX: np.ndarray, NY: np.ndarray) -> np.ndarray:
    """Per-row Jaccard index of two (n, k) index arrays with distinct entries per row."""
    n, k = NX.shape
    out = np.empty(n)
    rows = max(1, _BLOCK_ENTRIES // (k * k))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        inter = (NX[start:stop, :, None] == NY[start:stop, None, :]).sum(axis=(1, 2))
        out[start:stop] = inter / (2 * k - inter)
    return out


def _directed_hausdorff_rows(X: np.ndarray, NA: np.ndarray, NB: np.ndarray) -> np.ndarray:
    """Per row i, the Hausdorff distance between X[NA[i]] and X[NB[i]]."""
    n, k = NA.shape
    d = X.shape[1]
    out = np.empty(n)
    rows = max(1, _BLOCK_ENTRIES // (k * k * d))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        A = X[NA[start:stop]]  # (b, k, d)
        B = X[NB[start:stop]]
        diff = A[:, :, None, :] - B[:, None, :, :]
        dist = np.sqrt(np.einsum("bijd,bijd->bij", diff, diff))
        out[start:stop] = np.maximum(dist.min(axis=2).max(axis=1), dist.min(axis=1).max(axis=1))
    return out


def _knn_scale(X: np.ndarray, N: np.ndarray, name: str) -> float:
    far = X[N[:, -1]] - X
    r = float(np.mean(np.sqrt(np.einsum("ij,ij->i", far, far))))
    if r == 0:
        raise ValueError(
            f"every point of {name} has its k nearest neighbours at distance 0 (duplicated "
            "points), so the neighbourhood scale used to normalise the Hausdorff mismatch is 0"
        )
    return r


def _hausdorff(X: np.ndarray, Y: np.ndarray, NX: np.ndarray, NY: np.ndarray) -> np.ndarray:
    hx = _directed_hausdorff_rows(X, NX, NY) / _knn_scale(X, NX, "X")
    hy = _directed_hausdorff_rows(Y, NX, NY) / _knn_scale(Y, NY, "Y")
    return 0.5 * (hx + hy)


def knn_overlap(X: Any, Y: Any, *, k: int) -> float:
    r"""Mean Jaccard index of the k-nearest-neighbour sets of paired points.

    .. math::

        \frac{1}{n}\sum_{i=1}^{n}
        \frac{|\mathcal{K}^X_i \cap \mathcal{K}^Y_i|}{|\mathcal{K}^X_i \cup \mathcal{K}^Y_i|},

    where :math:`\mathcal{K}^X_i` is the set of indices of the :math:`k`
    nearest other points of :math:`x_i` in ``X`` (see :func:`knn_indices`),
    likewise :math:`\mathcal{K}^Y_i` in ``Y``. 1 when every neighbourhood is
    preserved, 0 when none is shared. Dimension-free: ``X`` and ``Y`` may have
    different numbers of columns.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows.
    k : int
        ``1 <= k <= n - 1``.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    ValueError
        On NaN or inf, different row counts, or ``k`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import knn_overlap
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 5))
    >>> rotation = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    >>> knn_overlap(X, 3.0 * X @ rotation, k=5)  # a similarity keeps every neighbourhood
    1.0
    >>> knn_overlap(X, X[:, :1], k=5) < 1.0
    True
    """
    X, Y = as_pair(X, Y, paired=True, same_dim=False)
    k = check_k(k, X.shape[0])
    return float(_jaccard(_knn(X, k), _knn(Y, k)).mean())


def knn_hausdorff(X: Any, Y: Any, *, k: int) -> float:
    r"""Hausdorff mismatch of the k-nearest-neighbour graphs of paired points.

    For each point :math:`i`, compare its neighbourhood in ``X`` with the
    neighbourhood it has in ``Y``, pulled back through the pairing, as point
    sets of each space, and normalise by the typical neighbourhood radius:

    .. math::

        h_i = \frac12\Big(
        \frac{d_H\big(X[\mathcal{K}^X_i], X[\mathcal{K}^Y_i]\big)}{r_X}
        + \frac{d_H\big(Y[\mathcal{K}^X_i], Y[\mathcal{K}^Y_i]\big)}{r_Y}\Big),
        \qquad \text{result} = \frac1n \sum_i h_i,

    with :math:`d_H(A, B) = \max(\max_{a}\min_{b}\|a-b\|, \max_{b}\min_{a}\|a-b\|)`
    the Hausdorff distance (Euclidean), :math:`\mathcal{K}^X_i`,
    :math:`\mathcal{K}^Y_i` the k-nearest-neighbour index sets as in
    :func:`knn_overlap`, and :math:`r_X = \frac1n\sum_i \|x_i - x_{(k)}(i)\|`
    the mean distance to the k-th neighbour (likewise :math:`r_Y`). It is 0
    when every neighbourhood is the same point set in both spaces, grows with
    how far (in units of the neighbourhood radius) the other modality's
    neighbours lie, is invariant under translations, rotations and scalings of
    either set separately (it is computed on each set divided by a power of
    two, exact, so any finite magnitude works), and
    works when :math:`d_X \ne d_Y`.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows.
    k : int
        ``1 <= k <= n - 1``.

    Returns
    -------
    float, non-negative

    Raises
    ------
    ValueError
        On NaN or inf, different row counts, ``k`` out of range, or a set whose
        k-th neighbour distances are all 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import knn_hausdorff
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> knn_hausdorff(X, 2.0 * X + 1.0, k=5)
    0.0
    >>> knn_hausdorff(X, X[::-1], k=5) > 0.5
    True
    """
    X, Y = _unit_pair(X, Y)
    k = check_k(k, X.shape[0])
    return float(_hausdorff(X, Y, _knn(X, k), _knn(Y, k)).mean())


def _unit_pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Paired clouds, each divided by its own power-of-two scale (exact).

    The neighbourhood diagnostics are invariant under scaling either set, so
    they are computed there: nothing overflows or underflows.
    """
    X, Y = as_pair(X, Y, paired=True, same_dim=False)
    return X / cloud_scale(X), Y / cloud_scale(Y)


def modality_gap(X: Any, Y: Any) -> float:
    r"""Distance between the centroids of two embedding sets after L2 row normalisation.

    .. math::

        \Big\| \frac1n \sum_i \frac{x_i}{\|x_i\|} - \frac1m \sum_j \frac{y_j}{\|y_j\|} \Big\|_2,

    the "modality gap" of Liang et al. [1]_ (the norm of their gap vector),
    between 0 and 2. Rows need not be paired; dimensions must agree.

    Parameters
    ----------
    X : array_like, shape (n, d)
    Y : array_like, shape (m, d)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On NaN or inf, different dimensions, or a zero row (no direction).

    References
    ----------
    .. [1] W. Liang, Y. Zhang, Y. Kwon, S. Yeung, J. Zou, "Mind the gap:
       understanding the modality gap in multi-modal contrastive
       representation learning", NeurIPS 2022.

    Examples
    --------
    >>> from sheaftopo.geometry import modality_gap
    >>> modality_gap([[1.0, 0.0], [2.0, 0.0]], [[0.0, 5.0]])  # |(1, 0) - (0, 1)|
    1.4142135623730951
    """
    X, Y = as_pair(X, Y, paired=False, same_dim=True)
    centroids = []
    for name, A in (("X", X), ("Y", Y)):
        top = np.abs(A).max(axis=1)
        if (top == 0).any():
            raise ValueError(
                f"{name} has a zero row (row {int(np.flatnonzero(top == 0)[0])}), which has no "
                "direction to normalise"
            )
        # each row at unit scale first (a power of two, exact), so no norm over- or underflows
        A = np.ldexp(A, -np.frexp(top)[1][:, None])
        centroids.append((A / np.linalg.norm(A, axis=1)[:, None]).mean(axis=0))
    return float(np.linalg.norm(centroids[0] - centroids[1]))


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


@dataclass(frozen=True)
class ManifoldDiagnostics:
    """All the diagnostics of two paired embedding sets (see :func:`manifold_diagnostics`).

    Attributes
    ----------
    n_points : int
    k : int
    knn_overlap : float
        Mean Jaccard index (:func:`knn_overlap`).
    knn_overlap_per_point : ndarray, shape (n,)
    hausdorff_mismatch : float
        :func:`knn_hausdorff`.
    hausdorff_per_point : ndarray, shape (n,)
    mmd2 : float or None
        :func:`mmd2`; None when the dimensions differ.
    modality_gap : float or None
        :func:`modality_gap`; None when the dimensions differ.
    labels_x, labels_y : LabelScores or None
        :func:`label_scores` of each set; None without labels.
    """

    n_points: int
    k: int
    knn_overlap: float
    knn_overlap_per_point: np.ndarray
    hausdorff_mismatch: float
    hausdorff_per_point: np.ndarray
    mmd2: float | None
    modality_gap: float | None
    labels_x: LabelScores | None
    labels_y: LabelScores | None


def manifold_diagnostics(
    X: Any,
    Y: Any,
    *,
    k: int = 10,
    labels: Any = None,
    bandwidth: Any = None,
    seed: Any = 0,
) -> ManifoldDiagnostics:
    r"""Compare two paired embedding sets: neighbourhoods, distributions, modality gap, labels.

    Computes the k-nearest neighbours of each set once and returns
    :func:`knn_overlap` and :func:`knn_hausdorff` (with their per-point
    values, to see *where* the geometries disagree), :func:`mmd2` and
    :func:`modality_gap` when the dimensions agree (None otherwise), and
    :func:`label_scores` of each set when ``labels`` are given.

    Parameters
    ----------
    X : array_like, shape (n, d_X)
    Y : array_like, shape (n, d_Y)
        Paired rows.
    k : int, default 10
        Neighbours per point, ``1 <= k <= n - 1``.
    labels : array_like, shape (n,), optional
        Class labels shared by the paired rows.
    bandwidth : float or sequence of floats, optional
        Passed to :func:`mmd2`.
    seed : int, numpy.random.Generator or None, default 0
        Passed to :func:`label_scores`.

    Returns
    -------
    ManifoldDiagnostics

    Raises
    ------
    ValueError
        As the individual functions.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.geometry import manifold_diagnostics
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> diag = manifold_diagnostics(X, X @ rng.normal(size=(4, 3)), k=5)
    >>> diag.mmd2 is None, 0.0 < diag.knn_overlap < 1.0
    (True, True)
    """
    X, Y = as_pair(X, Y, paired=True, same_dim=False)
    n = X.shape[0]
    k = check_k(k, n)
    codes = None
    if labels is not None:
        codes, n_labels = _labels(labels, n)
    Xu, Yu = X / cloud_scale(X), Y / cloud_scale(Y)
    NX, NY = _knn(Xu, k), _knn(Yu, k)
    jac = _jaccard(NX, NY)
    haus = _hausdorff(Xu, Yu, NX, NY)
    same = X.shape[1] == Y.shape[1]
    return ManifoldDiagnostics(
        n_points=n,
        k=k,
        knn_overlap=float(jac.mean()),
        knn_overlap_per_point=jac,
        hausdorff_mismatch=float(haus.mean()),
        hausdorff_per_point=haus,
        mmd2=mmd2(X, Y, bandwidth=bandwidth) if same else None,
        modality_gap=modality_gap(X, Y) if same else None,
        labels_x=None if codes is None else _label_scores(X, codes, n_labels, seed),
        labels_y=None if codes is None else _label_scores(Y, codes, n_labels, seed),
    )
