"""The result types of the fiber product: :class:`FiberProduct` and :class:`FiberProfile`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.fiber_blocks import order_statistic
from .._validation import check_real

__all__ = ["FiberProduct", "FiberProfile"]


@dataclass(frozen=True, eq=False)
class FiberProduct:
    r"""The pairs of an approximate fiber product.

    Attributes
    ----------
    rows : ndarray of int64, shape (n_pairs,)
        Row indices i into F, sorted; pairs are in lexicographic (i, j) order.
    cols : ndarray of int64, shape (n_pairs,)
        Row indices j into G.
    distances : ndarray of float64, shape (n_pairs,)
        The canonical distance of each pair (all <= ``eps``).
    shape : tuple of int
        (N, M), the sizes of F and G.
    eps : float
        The tolerance ε.
    metric : str
        ``"euclidean"`` or ``"cosine"``.
    method : str
        The algorithm that ran: ``"blocked"``, ``"kdtree"`` or ``"exact-match"``
        (ε = 0, Euclidean).
    """

    rows: np.ndarray
    cols: np.ndarray
    distances: np.ndarray
    shape: tuple[int, int]
    eps: float
    metric: str
    method: str

    @property
    def n_pairs(self) -> int:
        """Number of pairs in the product."""
        return int(self.rows.shape[0])

    def __len__(self) -> int:
        return self.n_pairs

    @property
    def density(self) -> float:
        """Fraction of all N·M pairs that are in the product."""
        return self.n_pairs / (self.shape[0] * self.shape[1])

    def to_sparse(self) -> Any:
        """The product as a scipy CSR array of shape (N, M) holding the distances.

        Every pair is a stored entry; pairs at distance 0 (equal embeddings)
        are stored as explicit zeros, so use ``.nnz`` (not
        ``count_nonzero()``) to count pairs, and do not call
        ``eliminate_zeros()``.
        """
        import scipy.sparse as sp

        n, m = self.shape
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=n), out=indptr[1:])
        return sp.csr_array((self.distances.copy(), self.cols.copy(), indptr), shape=(n, m))

    def __repr__(self) -> str:
        return (
            f"FiberProduct(shape={self.shape}, eps={self.eps:.6g}, metric={self.metric!r}, "
            f"n_pairs={self.n_pairs}, method={self.method!r})"
        )


@dataclass(frozen=True, eq=False)
class FiberProfile:
    r"""Sizes of the ε-products over a grid of tolerances, and the recall of true pairs.

    Attributes
    ----------
    eps : ndarray of float64, shape (K,)
        The grid (non-decreasing), as given.
    counts : ndarray of int64, shape (K,)
        ``counts[k]`` = number of pairs (i, j) with canonical distance
        <= ``eps[k]``, i.e. ``len(approximate_fiber_product(F, G, eps[k]))``.
    n_total : int
        N·M, the number of all pairs.
    recall : ndarray of float64, shape (K,), or None
        Fraction of the true pairs inside each ε-product (None without
        ``true_pairs``).
    true_distances : ndarray of float64, shape (T,), or None
        Canonical distances of the true pairs, in the order given.
    fraction : float
        The recall target that defines ``epsilon_star``.
    epsilon_star : float or None
        The smallest ε whose product contains at least ``fraction`` of the
        true pairs: the ⌈fraction·T⌉-th smallest true distance (exact). None
        without ``true_pairs``.
    metric : str
    method : str
    """

    eps: np.ndarray
    counts: np.ndarray
    n_total: int
    recall: np.ndarray | None
    true_distances: np.ndarray | None
    fraction: float
    epsilon_star: float | None
    metric: str
    method: str

    @property
    def fractions(self) -> np.ndarray:
        """``counts / n_total``: the fraction of all pairs inside each ε-product."""
        return self.counts / self.n_total

    def epsilon_for_recall(self, fraction: float) -> float:
        """The smallest ε containing at least ``fraction`` (in (0, 1]) of the true pairs."""
        if self.true_distances is None:
            raise ValueError("this profile was computed without true_pairs")
        q = check_real(fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
        return order_statistic(np.sort(self.true_distances), q)

    def __repr__(self) -> str:
        star = "None" if self.epsilon_star is None else f"{self.epsilon_star:.6g}"
        return (
            f"FiberProfile(K={len(self.eps)}, n_total={self.n_total}, metric={self.metric!r}, "
            f"epsilon_star={star}, method={self.method!r})"
        )
