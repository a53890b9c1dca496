"""Lipschitz embeddings of polynomials over Z_n into a real space (the maps f, g
of the approximate fiber product), and the distance between polynomials they
are Lipschitz for (representation of :mod:`sheaftopo.fiber._polynomial`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_vector, check_int, check_random_state, check_real
from ._numeric import check_allocation
from ._polynomial import _check_modulus, _in_ring

__all__ = ["PolynomialEmbedding", "evaluation_embedding", "poly_distance", "projection_embedding"]


#: embedding matrices are bounded so that no embedding or Lipschitz constant overflows:
#: max|A| * max(L, sqrt(k L)) <= this
_MAX_EMBEDDING_GAIN = 1e300
#: the smallest scale of a projection entry that is still a normal float64 with full precision
_MIN_PROJECTION_UNIT = float(np.finfo(np.float64).tiny) * 2.0**53


def poly_distance(P: Any, Q: Any, *, modulus: int) -> np.ndarray:
    r"""Distance between items encoded as polynomials: Euclidean norm of the lifted coefficients.

    Coefficients are lifted to the integers :math:`\{0, \dots, n-1\}` and
    divided by n; an item is all of its polynomials (all patches). This is the
    metric in which the embeddings of :class:`PolynomialEmbedding` are
    Lipschitz (it is a metric on :math:`\mathbb{Z}_n[x]_{<L}`; it does not see
    the wrap-around 255 + 1 = 0, which suits intensities that saturate).

    Parameters
    ----------
    P, Q : array_like of int, shape (n_items, L) or (n_items, n_polys, L)

    Returns
    -------
    ndarray of float64, shape (n_items,)

    Examples
    --------
    >>> from sheaftopo.fiber import poly_distance
    >>> poly_distance([[0, 0], [3, 4]], [[0, 0], [0, 0]], modulus=10)
    array([0. , 0.5])
    """
    n = _check_modulus(modulus)
    A = _in_ring(P, n, "P", min_ndim=2)
    B = _in_ring(Q, n, "Q", min_ndim=2)
    if A.shape != B.shape:
        raise ValueError(f"P and Q must have the same shape; got {A.shape} and {B.shape}")
    diff = (A - B).reshape(A.shape[0], -1).astype(np.float64) / n
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


@dataclass(frozen=True, eq=False)
class PolynomialEmbedding:
    r"""A linear embedding of polynomials over Z_n into a real space.

    Each polynomial with coefficients :math:`c \in \{0, \dots, n-1\}^L` is
    sent to :math:`A\,c / n \in \mathbb{R}^k`; an item made of several
    polynomials (the patches of an image) is sent to the concatenation. The
    map is :math:`\|A\|_2`-Lipschitz for :func:`poly_distance` (which also
    divides the coefficients by n).

    Attributes
    ----------
    matrix : ndarray, shape (k, L)
        A (read-only).
    modulus : int
        n.
    description : str
        How A was built.
    """

    matrix: np.ndarray
    modulus: int
    description: str = ""

    def __post_init__(self) -> None:
        A = as_float_array(self.matrix, "matrix", dtype=np.float64)
        if A.ndim != 2 or 0 in A.shape:
            raise ValueError(
                f"matrix must be a non-empty 2-D array of shape (k, L); got shape {A.shape}"
            )
        if not np.isfinite(A).all():
            raise ValueError("matrix must be finite (no NaN or inf)")
        _check_gain(A, "matrix")
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a string; got {type(self.description).__name__}")
        object.__setattr__(self, "matrix", _frozen(A))
        object.__setattr__(self, "modulus", _check_modulus(self.modulus))

    @property
    def n_coeffs(self) -> int:
        """L, the number of coefficients of each polynomial."""
        return int(self.matrix.shape[1])

    @property
    def lipschitz(self) -> float:
        r"""The Lipschitz constant :math:`\|A\|_2` w.r.t. :func:`poly_distance` (exact)."""
        return float(np.linalg.norm(self.matrix, 2))

    def __call__(self, P: Any) -> np.ndarray:
        """Embed items: (n_items, L) or (n_items, n_polys, L) → (n_items, n_polys * k)."""
        A = _in_ring(P, self.modulus, "P", min_ndim=2)
        if A.ndim > 3:
            raise ValueError(
                f"P must have shape (n_items, L) or (n_items, n_polys, L); got {A.shape}"
            )
        if A.shape[-1] != self.n_coeffs:
            raise ValueError(
                f"P must have {self.n_coeffs} coefficients per polynomial (the embedding's L); "
                f"got shape {A.shape}"
            )
        X = A.astype(np.float64) / self.modulus
        out = X @ self.matrix.T
        return np.ascontiguousarray(out.reshape(A.shape[0], -1))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _gain(A: np.ndarray) -> float:
    """max|A| max(L, sqrt(k L)): bounds every embedded coordinate and the Lipschitz constant."""
    k, L = A.shape
    return float(np.abs(A).max()) * max(L, math.sqrt(k * L))


def _check_gain(A: np.ndarray, what: str) -> None:
    if not _gain(A) <= _MAX_EMBEDDING_GAIN:
        raise ValueError(
            f"{what} gives an embedding matrix too large for float64: max|A| max(L, sqrt(k L)) "
            f"= {_gain(A):.3g} exceeds {_MAX_EMBEDDING_GAIN:.0e}, so embeddings or the "
            "Lipschitz constant would overflow"
        )


def evaluation_embedding(
    n_coeffs: int, points: Any = None, *, modulus: int, n_points: int = 8
) -> PolynomialEmbedding:
    r"""Evaluate the lifted polynomial :math:`\sum_k (c_k / n) t^k` at real points t.

    Parameters
    ----------
    n_coeffs : int
        L, coefficients per polynomial.
    points : array_like of float, shape (k,), optional
        Evaluation points; default ``n_points`` Chebyshev nodes
        :math:`\cos(\pi (j + 1/2) / k)` in (-1, 1).
    modulus : int
        n of the ring the coefficients live in.
    n_points : int
        k when ``points`` is not given.

    Returns
    -------
    PolynomialEmbedding
        ``matrix`` is the Vandermonde matrix :math:`(t_j^k)`.

    Raises
    ------
    TypeError
        ``points`` not real (strings, objects, complex numbers).
    ValueError
        ``points`` empty, not 1-D or not finite; points and ``n_coeffs`` so
        large that the powers :math:`t_j^{L-1}` (times L) exceed 1e300, where
        embeddings would overflow (points in [-1, 1], the default, never do);
        a matrix larger than the machine's memory.

    Examples
    --------
    >>> from sheaftopo.fiber import evaluation_embedding
    >>> f = evaluation_embedding(3, [0.0, 1.0], modulus=10)
    >>> f([[1, 2, 3]])  # (0.1 + 0.2 t + 0.3 t^2) at t = 0 and t = 1
    array([[0.1, 0.6]])
    """
    L = check_int(n_coeffs, "n_coeffs", minimum=1)
    n = _check_modulus(modulus)
    if points is None:
        k = check_int(n_points, "n_points", minimum=1)
        check_allocation(2 * 8 * k * L, f"n_points={k} and n_coeffs={L}")
        t = np.cos(np.pi * (np.arange(k) + 0.5) / k)
    else:
        t = as_vector(points, "points")
        check_allocation(2 * 8 * len(t) * L, f"{len(t)} points and n_coeffs={L}")
    with np.errstate(over="ignore", under="ignore"):
        V = t[:, None] ** np.arange(L)[None, :]
    if not (np.isfinite(V).all() and _gain(V) <= _MAX_EMBEDDING_GAIN):
        raise ValueError(
            f"points and n_coeffs: the powers t**(n_coeffs - 1) of points as large as "
            f"{float(np.abs(t).max()):.3g} with n_coeffs={L} exceed what float64 embeddings "
            "hold (use points in [-1, 1] or fewer coefficients)"
        )
    return PolynomialEmbedding(_frozen(V), n, f"evaluation at {len(t)} real points")


def projection_embedding(
    n_coeffs: int, dim: int, *, modulus: int, seed: Any = None, scale: float = 1.0
) -> PolynomialEmbedding:
    r"""A seeded Gaussian random projection of the lifted coefficients (Johnson–Lindenstrauss).

    ``matrix`` has i.i.d. N(0, scale² / dim) entries. ``ValueError`` for a
    ``scale`` whose entries would be subnormal (scale / sqrt(dim) below about
    2e-292: they lose precision) or so large that embeddings could overflow
    (max|A| max(L, sqrt(dim L)) above 1e300), and for a matrix larger than the
    machine's memory.

    Examples
    --------
    >>> from sheaftopo.fiber import projection_embedding
    >>> g = projection_embedding(5, 3, modulus=100, seed=0)
    >>> g([[1, 2, 3, 4, 5], [0, 0, 0, 0, 0]]).shape
    (2, 3)
    """
    L = check_int(n_coeffs, "n_coeffs", minimum=1)
    k = check_int(dim, "dim", minimum=1)
    n = _check_modulus(modulus)
    s = check_real(scale, "scale", low=0.0, low_inclusive=False)
    rng = check_random_state(seed)
    unit = s / math.sqrt(k)
    if unit < _MIN_PROJECTION_UNIT:
        raise ValueError(
            f"scale = {s!r} is too small: the entries scale / sqrt(dim) = {unit:.3g} would be "
            "subnormal floats and lose precision"
        )
    check_allocation(2 * 8 * k * L, f"n_coeffs={L} and dim={k}")
    A = rng.standard_normal((k, L)) * unit
    _check_gain(A, f"scale = {s!r}")
    return PolynomialEmbedding(_frozen(A), n, f"Gaussian projection to {k} dimensions")
