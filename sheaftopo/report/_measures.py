"""Alignment measures that have no home elsewhere in the library: blocked, exact, O(n d) memory.

:func:`distance_alignment` compares the two distance matrices of paired sets
(dimension-free: it only reads each set's own distances). :func:`retrieval_recall`
ranks every true partner among all candidates (the sets must live in one space).
Both visit every pair of rows through row blocks of Gram matrices, so memory
stays at a few blocks whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_points, check_choice, check_int, power_of_two_scale

__all__ = [
    "DistanceAlignment",
    "Retrieval",
    "distance_alignment",
    "retrieval_recall",
    "rms_pairwise_distance",
]

#: bytes of one working block (a few are alive at once)
_BLOCK_BYTES = 1 << 26


def _block_rows(n: int, budget: int = _BLOCK_BYTES) -> int:
    """Rows of an (rows, n) float64 block within ``budget`` bytes."""
    return int(max(64, min(n, budget // (8 * max(n, 1)))))


def _square_block(n: int, budget: int = _BLOCK_BYTES) -> int:
    """Side of a square float64 block within ``budget`` bytes."""
    return int(max(64, min(n, np.sqrt(budget / 8))))


def _paired(
    A: Any, B: Any, same_dim: bool, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    Av = as_points(A, "A", dtype=dtype)
    Bv = as_points(B, "B", dtype=dtype)
    if Av.shape[0] != Bv.shape[0]:
        raise ValueError(
            f"A and B must have paired rows (the same number); got {Av.shape[0]} and {Bv.shape[0]}"
        )
    if same_dim and Av.shape[1] != Bv.shape[1]:
        raise ValueError(
            f"A and B must live in one space (the same number of columns); got {Av.shape[1]} "
            f"and {Bv.shape[1]} (map them into a shared space first)"
        )
    return Av, Bv


def rms_pairwise_distance(X: Any) -> float:
    r"""Root-mean-square distance between distinct rows, in O(n d).

    .. math::

        s(X) = \Big(\binom{n}{2}^{-1} \sum_{i<j} \|x_i - x_j\|^2\Big)^{1/2}
             = \Big(\tfrac{2n}{n-1}\,\operatorname{tr}\hat\Sigma\Big)^{1/2},

    with :math:`\hat\Sigma` the covariance with the 1/n normalisation. Dividing
    a set by s(X) makes its scale comparable with another set's whatever their
    units or dimensions; it is invariant under rotations and translations.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points, n >= 2. Any magnitude: the sum is formed on X divided by a
        power of two (exact) and the result scaled back, so squares neither
        overflow nor underflow.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than 2 rows, or a result beyond the float64 range (coordinates
        near 1e308).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import rms_pairwise_distance
    >>> rms_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]]))
    5.0
    """
    Xv = as_points(X, "X", dtype=np.float64)
    n = Xv.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 rows to have pairwise distances; got {n}")
    scale = _scale_of(Xv)
    return _times(_rms_unscaled(Xv / scale), scale, "X")


def _scale_of(X: np.ndarray) -> float:
    """:func:`~sheaftopo._validation.power_of_two_scale`, capped at 2**1023 (2**1024 is inf).

    With the cap, ``max|X| / scale`` lies in [0.5, 2): still far from overflow.
    """
    if X.size and float(np.max(np.abs(X))) >= 2.0**1023:
        return 2.0**1023
    return power_of_two_scale(X)


def _divided(X: np.ndarray, scale: float) -> np.ndarray:
    """``X / scale`` in X's dtype (formed in float64: 2**128 is not a float32)."""
    return (X.astype(np.float64, copy=False) / scale).astype(X.dtype, copy=False)


def _rms_unscaled(Y: np.ndarray) -> float:
    """The RMS pairwise distance of rows of magnitude at most 1 (no overflow possible)."""
    n = Y.shape[0]
    C = Y - Y.mean(axis=0, dtype=np.float64)
    return float(np.sqrt(2.0 * n / (n - 1) * np.einsum("ij,ij->", C, C, dtype=np.float64) / n))


def _times(value: float, scale: float, name: str) -> float:
    """``value * scale``, refused when it leaves the float64 range."""
    out = value * scale
    if not np.isfinite(out):
        raise ValueError(
            f"{name}: the RMS pairwise distance ({value!r} x {scale!r}) exceeds the float64 "
            "range; rescale the coordinates"
        )
    return float(out)


@dataclass(frozen=True)
class DistanceAlignment:
    r"""How well two distance matrices agree (see :func:`distance_alignment`).

    Attributes
    ----------
    correlation : float
        Pearson correlation of :math:`d^A_{ij}` and :math:`d^B_{ij}` over the
        pairs i < j (scale-free). Never NaN: :func:`distance_alignment`
        refuses sets whose distances are all equal.
    rms_error : float
        :math:`\big(\operatorname{mean}_{i<j} (d^A_{ij}/s_A -
        d^B_{ij}/s_B)^2\big)^{1/2}`, s the RMS pairwise distance: 0 when the
        sets agree up to scale, at most 2.
    scale_a, scale_b : float
        :math:`s_A`, :math:`s_B`.
    n_pairs : int
        n(n-1)/2.
    row_rms_error : ndarray of float64, shape (n,)
        Per row i, :math:`\big(\tfrac{1}{n-1}\sum_{j \ne i} (d^A_{ij}/s_A -
        d^B_{ij}/s_B)^2\big)^{1/2}`: the row's share of ``rms_error`` (the
        mean of its squares is ``rms_error**2``), computed in the same pass.
    """

    correlation: float
    rms_error: float
    scale_a: float
    scale_b: float
    n_pairs: int
    row_rms_error: np.ndarray


def _center(X: np.ndarray, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    C64 = X - X.mean(axis=0, dtype=np.float64)
    C = C64.astype(dtype, copy=False)
    return C, np.einsum("ij,ij->i", C, C, dtype=np.float64)


def _dist_block(C: np.ndarray, sq: np.ndarray, i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    G = (C[i0:i1] @ C[j0:j1].T).astype(np.float64, copy=False)
    G *= -2.0
    G += sq[i0:i1, None]
    G += sq[None, j0:j1]
    np.maximum(G, 0.0, out=G)
    return np.sqrt(G, out=G)


def distance_alignment(A: Any, B: Any) -> DistanceAlignment:
    r"""Agreement of the Euclidean distance matrices of two paired sets.

    Row i of A and row i of B describe the same item; the dimensions may
    differ. Over all pairs i < j, with :math:`d^A_{ij} = \|a_i - a_j\|` and
    :math:`s_A` the RMS pairwise distance (:func:`rms_pairwise_distance`):

    * ``correlation`` — the Pearson correlation of :math:`(d^A_{ij})` and
      :math:`(d^B_{ij})`;
    * ``rms_error`` — :math:`\big(\operatorname{mean}_{i<j}
      (d^A_{ij}/s_A - d^B_{ij}/s_B)^2\big)^{1/2}`, the relative Frobenius
      error :math:`\|D_A/s_A - D_B/s_B\|_F / \|D_A/s_A\|_F` of the
      scale-normalised matrices (both have the same norm);
    * ``row_rms_error`` — the same per row i, over j != i (which items the
      error comes from), accumulated in the same pass.

    All are invariant under rotations, translations and rescalings of either
    set; both are exact over all :math:`\binom n2` pairs, computed in row
    blocks of Gram matrices of the centred points (time O(n² (d_A + d_B)),
    memory O(n d) plus a few blocks).

    Parameters
    ----------
    A : array_like, shape (n, d_A)
    B : array_like, shape (n, d_B)
        Paired points, n >= 3, of any magnitude (each set is divided by a
        power of two first, which is exact and changes neither number). When
        both are float32 the Gram products are float32 (twice as fast; squared
        distances then carry a relative error of about d·1e-7 of the squared
        norms), everything else float64.

    Returns
    -------
    DistanceAlignment

    Raises
    ------
    ValueError
        Fewer than 3 rows, rows not paired, or a set whose pairwise distances
        are all equal (all zero: identical rows; or equal up to a relative
        spread of 1e-9, e.g. a regular simplex): the correlation is then
        undefined.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import distance_alignment
    >>> A = np.random.default_rng(0).standard_normal((50, 3))
    >>> r = distance_alignment(A, 10 * A[:, ::-1])      # same shape, other scale and axes
    >>> round(r.correlation, 12), round(r.rms_error, 12)
    (1.0, 0.0)
    """
    Av, Bv = _paired(A, B, same_dim=False, dtype=None)
    n = Av.shape[0]
    if n < 3:
        raise ValueError(
            f"A and B need at least 3 rows (a correlation over at least 3 pairs of distances); "
            f"got {n}"
        )
    # both numbers are scale-free: work on each set divided by a power of two (exact)
    pa, pb = _scale_of(Av), _scale_of(Bv)
    Av, Bv = _divided(Av, pa), _divided(Bv, pb)
    sa, sb = _rms_unscaled(Av), _rms_unscaled(Bv)
    for name, s_ in (("A", sa), ("B", sb)):
        if s_ == 0:
            raise ValueError(
                f"{name}: every row is the same point (all pairwise distances are 0); "
                "the distance alignment is undefined"
            )
    work = np.float32 if Av.dtype == Bv.dtype == np.float32 else np.float64
    CA, qa = _center(Av, work)
    CB, qb = _center(Bv, work)
    inv_a = 1.0 / sa if sa > 0 else 0.0
    inv_b = 1.0 / sb if sb > 0 else 0.0
    sums, row_sq = _alignment_sums(CA, qa, CB, qb, inv_a, inv_b)
    s_x, s_y, s_xx, s_yy, s_xy, s_dd = sums
    m = n * (n - 1) // 2
    var_x = s_xx / m - (s_x / m) ** 2
    var_y = s_yy / m - (s_y / m) ** 2
    cov = s_xy / m - (s_x / m) * (s_y / m)
    for name, var in (("A", var_x), ("B", var_y)):
        # normalised distances have RMS 1; a spread below ~1e-9 is rounding, not geometry
        if not var > _EQUAL_DISTANCES**2:
            raise ValueError(
                f"{name}: all pairwise distances are equal (relative spread "
                f"{np.sqrt(max(var, 0.0)):.1e} <= {_EQUAL_DISTANCES:.0e}, e.g. the vertices of "
                "a regular simplex); their correlation with the other set's distances is "
                "undefined"
            )
    corr = float(np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0))
    return DistanceAlignment(
        correlation=corr,
        rms_error=float(np.sqrt(max(s_dd, 0.0) / m)),
        scale_a=_times(sa, pa, "A"),
        scale_b=_times(sb, pb, "B"),
        n_pairs=m,
        row_rms_error=np.sqrt(row_sq / (n - 1)),
    )


def _alignment_sums(
    CA: np.ndarray, qa: np.ndarray, CB: np.ndarray, qb: np.ndarray, inv_a: float, inv_b: float
) -> tuple[tuple[float, ...], np.ndarray]:
    """One blocked pass over the pairs i < j of the normalised distances x = d^A/s_A, y = d^B/s_B.

    Returns the sums of x-1, y-1, (x-1)², (y-1)², (x-1)(y-1) and (x-y)² over
    the pairs i < j, and per row i the sum over j != i of (x_ij - y_ij)².
    """
    n = CA.shape[0]
    bs = _square_block(n)
    # normalised distances are near 1 on average: accumulate shifted sums (no cancellation)
    s_x = s_y = s_xx = s_yy = s_xy = 0.0
    row_sq = np.zeros(n)
    for i0 in range(0, n, bs):
        i1 = min(n, i0 + bs)
        for j0 in range(i0, n, bs):
            j1 = min(n, j0 + bs)
            x = _dist_block(CA, qa, i0, i1, j0, j1)
            y = _dist_block(CB, qb, i0, i1, j0, j1)
            x *= inv_a
            y *= inv_b
            dd = x - y
            if j0 == i0:  # a diagonal block: both (i, j) and (j, i) are in it; d_ii = 0
                np.fill_diagonal(dd, 0.0)
                row_sq[i0:i1] += np.einsum("ij,ij->i", dd, dd)
                iu = np.triu_indices(i1 - i0, k=1, m=j1 - j0)
                x, y = x[iu], y[iu]
            else:
                row_sq[i0:i1] += np.einsum("ij,ij->i", dd, dd)
                row_sq[j0:j1] += np.einsum("ij,ij->j", dd, dd)
            x -= 1.0
            y -= 1.0
            s_x += float(x.sum())
            s_y += float(y.sum())
            s_xx += float(np.vdot(x, x))
            s_yy += float(np.vdot(y, y))
            s_xy += float(np.vdot(x, y))
    # every pair i < j is in the rows of i and of j
    return (s_x, s_y, s_xx, s_yy, s_xy, float(row_sq.sum()) / 2.0), row_sq


#: standard deviation of the normalised distances below which they count as all equal
_EQUAL_DISTANCES = 1e-9


@dataclass(frozen=True)
class Retrieval:
    """Cross-modal retrieval of the true partner (see :func:`retrieval_recall`).

    Attributes
    ----------
    ks : tuple of int
        The cut-offs.
    recall_ab, recall_ba : dict of int to float
        recall@k for queries from A searching B, and from B searching A.
    ranks_ab, ranks_ba : ndarray of int64, shape (n,)
        0-based rank of each query's partner (0: retrieved first).
    mrr_ab, mrr_ba : float
        Mean reciprocal rank, mean of 1 / (rank + 1).
    metric : str
        ``"cosine"`` or ``"euclidean"``.
    nearest_ab, nearest_ba : ndarray of int64, shape (n,)
        The row of B that query :math:`a_i` scores highest (``nearest_ab[i]``),
        and the row of A that query :math:`b_j` scores highest: the partner
        itself whenever it ranks first (rank 0, i.e. within the rounding
        tolerance of the best score), otherwise the highest score, exact ties
        going to the lowest index. ``nearest_ab[i] == i`` exactly when
        ``ranks_ab[i] == 0``.
    """

    ks: tuple[int, ...]
    recall_ab: dict[int, float]
    recall_ba: dict[int, float]
    ranks_ab: np.ndarray
    ranks_ba: np.ndarray
    mrr_ab: float
    mrr_ba: float
    metric: str
    nearest_ab: np.ndarray
    nearest_ba: np.ndarray


def _scores_prep(X: np.ndarray, metric: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ready for the Gram products, and their squared norms (euclidean) or zeros."""
    if metric == "cosine":
        # each row divided by its largest entry first: norms neither overflow nor underflow
        top = np.max(np.abs(X), axis=1)
        if (top == 0).any():
            i = int(np.flatnonzero(top == 0)[0])
            raise ValueError(
                f"{name} has a zero row ({i}); cosine similarity is undefined there "
                "(use metric='euclidean')"
            )
        Y = X / top[:, None]
        return Y / np.linalg.norm(Y, axis=1)[:, None], np.zeros(X.shape[0])
    return X, np.einsum("ij,ij->i", X, X)


def retrieval_recall(A: Any, B: Any, *, ks: Any = (1, 5, 10), metric: str = "cosine") -> Retrieval:
    r"""Recall@k of cross-modal retrieval: does row i of A find row i of B, and back?

    Each row :math:`a_i` queries all rows of B, scored by cosine similarity
    (``metric="cosine"``) or by negative Euclidean distance; its partner's
    rank is the number of rows scoring strictly higher,

    .. math:: r_i = \#\{j : s(a_i, b_j) > s(a_i, b_i) + \tau\},

    with :math:`\tau = 8 d\,\epsilon_{64}\,|s|_{\max}` absorbing rounding, so
    that exact ties (duplicate rows) count in the partner's favour.
    recall@k is the fraction of queries with :math:`r_i < k`. The same scores,
    read by column, answer the queries from B. Exact over all n² pairs, in
    row blocks (float64).

    Parameters
    ----------
    A, B : array_like, shape (n, d)
        Paired rows in one space (map modalities of different dimensions into
        a shared space first), of any magnitude: cosine scores normalise each
        row after dividing it by its largest entry, Euclidean ranks are
        computed on both sets divided by one power of two (ranks do not
        change).
    ks : sequence of int, default (1, 5, 10)
        Cut-offs, each >= 1 (values above n give recall 1).
    metric : {"cosine", "euclidean"}

    Returns
    -------
    Retrieval

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import retrieval_recall
    >>> A = np.eye(3)
    >>> r = retrieval_recall(A, A[[0, 2, 1]] + [[0, 0, 0], [0.1, 0, 0], [0, 0, 0]], ks=(1, 2))
    >>> r.recall_ab, r.ranks_ab.tolist()
    ({1: 0.3333333333333333, 2: 1.0}, [0, 1, 1])
    """
    Av, Bv = _paired(A, B, same_dim=True)
    metric = check_choice(metric, "metric", ("cosine", "euclidean"))
    ks_t = tuple(check_int(k, "ks", minimum=1) for k in np.atleast_1d(np.asarray(ks)).tolist())
    if not ks_t:
        raise ValueError("ks must hold at least one cut-off")
    d = Av.shape[1]
    if metric == "euclidean":  # ranks are unchanged by one common scale: a power of two
        scale = max(_scale_of(Av), _scale_of(Bv))
        Av, Bv = Av / scale, Bv / scale
    Pa, qa = _scores_prep(Av, metric, "A")
    Pb, qb = _scores_prep(Bv, metric, "B")
    partner = np.einsum("ij,ij->i", Pa, Pb)
    bound = float(
        np.sqrt(np.max(np.einsum("ij,ij->i", Pa, Pa)) * np.max(np.einsum("ij,ij->i", Pb, Pb)))
    )
    tol = (
        8.0
        * d
        * np.finfo(np.float64).eps
        * max(2.0 * bound + float(qa.max(initial=0)) + float(qb.max(initial=0)), 1e-300)
    )
    ranks_ab, ranks_ba, nearest_ab, nearest_ba = _ranks(Pa, qa, Pb, qb, partner, tol, metric)
    rec_ab = {k: float(np.mean(ranks_ab < k)) for k in ks_t}
    rec_ba = {k: float(np.mean(ranks_ba < k)) for k in ks_t}
    return Retrieval(
        ks=ks_t,
        recall_ab=rec_ab,
        recall_ba=rec_ba,
        ranks_ab=ranks_ab,
        ranks_ba=ranks_ba,
        mrr_ab=float(np.mean(1.0 / (ranks_ab + 1.0))),
        mrr_ba=float(np.mean(1.0 / (ranks_ba + 1.0))),
        metric=metric,
        nearest_ab=nearest_ab,
        nearest_ba=nearest_ba,
    )


def _ranks(
    Pa: np.ndarray,
    qa: np.ndarray,
    Pb: np.ndarray,
    qb: np.ndarray,
    partner: np.ndarray,
    tol: float,
    metric: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One blocked pass over the scores: every partner's rank and every query's nearest row.

    ``(ranks_ab, ranks_ba, nearest_ab, nearest_ba)``, as in :class:`Retrieval`.
    """
    n = Pa.shape[0]
    ranks_ab = np.zeros(n, np.int64)
    ranks_ba = np.zeros(n, np.int64)
    nearest_ab = np.zeros(n, np.int64)
    nearest_ba = np.zeros(n, np.int64)
    best_ba = np.full(n, -np.inf)
    # score(i, j) = 2 <a_i, b_j> - |b_j|^2 - |a_i|^2 for euclidean (negative squared distance);
    # the row term |a_i|^2 and the column term |b_j|^2 are constant along the ranks they affect,
    # so each direction drops its constant term
    own_ab = 2.0 * partner - qb if metric == "euclidean" else partner
    own_ba = 2.0 * partner - qa if metric == "euclidean" else partner
    bs = _block_rows(n)
    for i0 in range(0, n, bs):
        i1 = min(n, i0 + bs)
        S = Pa[i0:i1] @ Pb.T
        if metric == "euclidean":
            S *= 2.0
            ab = S - qb[None, :]  # A -> B: rank among b_j of 2<a_i, b_j> - |b_j|^2
            ba = S - qa[i0:i1, None]  # B -> A: rank among a_i of 2<a_i, b_j> - |a_i|^2
        else:
            ab = ba = S
        ranks_ab[i0:i1] = np.count_nonzero(ab > own_ab[i0:i1, None] + tol, axis=1)
        ranks_ba += np.count_nonzero(ba > own_ba[None, :] + tol, axis=0)
        nearest_ab[i0:i1] = np.argmax(ab, axis=1)  # first maximum: the lowest index
        # B -> A: the columns' maxima (a fast reduction); the argmax, a slow strided one, only
        # for the columns whose best row is in this block (strictly: an earlier block, a lower
        # index, keeps a tie)
        top_score = ba.max(axis=0)
        better = np.flatnonzero(top_score > best_ba)
        if better.size:
            best_ba[better] = top_score[better]
            nearest_ba[better] = np.argmax(ba[:, better], axis=0) + i0
    own = np.arange(n)
    nearest_ab = np.where(ranks_ab == 0, own, nearest_ab)
    nearest_ba = np.where(ranks_ba == 0, own, nearest_ba)
    return ranks_ab, ranks_ba, nearest_ab, nearest_ba
