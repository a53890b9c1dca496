r"""Diagnostics comparing two embedding sets: distributional, neighbourhood and label scores.

Paired diagnostics take two sets ``X`` (n, d_X) and ``Y`` (n, d_Y) whose row
``i`` describes the same item in two modalities. The neighbourhood-based ones
(:func:`knn_overlap`, :func:`knn_hausdorff`) only compare index sets and
within-modality distances, so they work when :math:`d_X \ne d_Y`;
:func:`mmd2` and :func:`modality_gap` compare the points themselves and need
equal dimensions.

This module holds the neighbourhood scores, the modality gap and
:func:`manifold_diagnostics`, which gathers them; the MMD is in
:mod:`~sheaftopo.geometry._mmd` and the label scores in
:mod:`~sheaftopo.geometry._label_scores`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_k,
)
from ._checks import as_pair, cloud_scale
from ._label_scores import LabelScores, _label_scores, _labels
from ._local import _BLOCK_ENTRIES, _knn
from ._mmd import mmd2

__all__ = [
    "ManifoldDiagnostics",
    "knn_hausdorff",
    "knn_overlap",
    "manifold_diagnostics",
    "modality_gap",
]


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
