r"""Polynomials over Z_n = Z/nZ: encodings of images and token sequences, and ring arithmetic.

Zhao (arXiv:2412.00373) reads an image as polynomials over :math:`\mathbb{Z}_{256}[x]`
(the intensities of a patch are the coefficients) and a text as a polynomial
over :math:`\mathbb{Z}_{|V|}[x]` (the token ids are the coefficients).

Representation
--------------
A batch of polynomials is an integer array of shape ``(..., L)``: the last
axis holds the coefficients in *ascending* order (``P[..., k]`` is the
coefficient of :math:`x^k`), every coefficient in ``[0, n)``; leading axes are
batch axes and broadcast as in numpy. Arrays keep a fixed length ``L`` (the
zero polynomial and :math:`x^0 + 0x` are both valid rows), so the *degree* is
a property of the values (:func:`poly_degree`), not of the shape.

:math:`\mathbb{Z}_n` is not a field unless n is prime
-----------------------------------------------------
For :math:`n = 256` (and any composite n) the ring has *zero divisors*:
:math:`2 \cdot 128 = 0`. Consequences for :math:`\mathbb{Z}_n[x]`:

* the degree of a product can be smaller than the sum of the degrees
  (:math:`(128x + 1)(2x + 1) = 130x + 1` over :math:`\mathbb{Z}_{256}`); it is
  equal exactly when the product of the leading coefficients is non-zero;
* there is no division with remainder by a polynomial whose leading
  coefficient is not a unit, no Euclidean algorithm and no gcd in general,
  and factorisation is not unique (:math:`x^2 = (x + 128)^2` over
  :math:`\mathbb{Z}_{256}`);
* an element :math:`a` has an inverse exactly when :math:`\gcd(a, n) = 1`.

So this module offers only what is well defined over every
:math:`\mathbb{Z}_n`: addition, subtraction, multiplication, evaluation at
points of :math:`\mathbb{Z}_n` (a ring homomorphism
:math:`\mathbb{Z}_n[x] \to \mathbb{Z}_n`), reduction of integer coefficients
mod n, and inverses of the units of :math:`\mathbb{Z}_n`
(:func:`unit_inverse` refuses non-units).

Integer arithmetic
------------------
Everything is computed in int64 with the modulus limited to ``2**31``: a
product of two residues is then below ``2**62`` and never overflows. Products
of polynomials accumulate several such products before reducing (as many as
fit below ``2**63``); evaluation reduces after every Horner step.

This module holds the checks and the ring arithmetic; the encodings of images
and token sequences are in :mod:`~sheaftopo.fiber._encodings`, the
embeddings into a real space in :mod:`~sheaftopo.fiber._poly_embeddings`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._numeric import check_allocation

__all__ = [
    "MAX_MODULUS",
    "is_unit",
    "poly_add",
    "poly_degree",
    "poly_eval",
    "poly_mul",
    "poly_reduce",
    "poly_sub",
    "unit_inverse",
]

#: the largest modulus supported (products of residues stay below 2**62)
MAX_MODULUS = 2**31
_INT64_MAX = 2**63 - 1


def _check_modulus(modulus: Any, name: str = "modulus") -> int:
    if isinstance(modulus, bool) or not isinstance(modulus, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer n >= 2 (the ring Z_n); got {modulus!r} of type "
            f"{type(modulus).__name__}"
        )
    n = int(modulus)
    if n < 2:
        raise ValueError(
            f"{name} must be >= 2: Z_n with n < 2 is the zero ring (or not a ring); got {n}"
        )
    if n > MAX_MODULUS:
        raise ValueError(
            f"{name} must be <= 2**31 = {MAX_MODULUS} so that products of residues fit in "
            f"int64; got {n}"
        )
    return n


def _as_integers(x: Any, name: str) -> np.ndarray:
    """An integer array (any int dtype, or Python ints); bool, float and objects refused."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy integer array; got a torch tensor")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise ValueError(
            f"{name} must be a rectangular integer array (ragged nested sequences cannot be "
            f"one); numpy said: {exc}"
        ) from None
    if arr.size == 0 and arr.dtype.kind == "f" and not isinstance(x, np.ndarray):
        return arr.astype(np.int64)  # an empty list: no values to be of the wrong kind
    if arr.dtype.kind == "O":
        if arr.size and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in arr.flat
        ):
            return arr
        raise TypeError(f"{name} must hold integers; got an array of Python objects")
    if arr.dtype.kind not in "iu":
        hint = ""
        if arr.dtype.kind == "f":
            hint = " (convert explicitly, e.g. np.rint(x).astype(np.int64), after scaling)"
        raise TypeError(f"{name} must be an integer array; got dtype {arr.dtype}{hint}")
    return arr


def _in_ring(x: Any, modulus: int, name: str, *, min_ndim: int = 1) -> np.ndarray:
    """int64 array with every entry in [0, modulus)."""
    arr = _as_integers(x, name)
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s) (coefficients on the last "
            f"axis); got shape {arr.shape}"
        )
    if min_ndim and arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one coefficient; got shape {arr.shape}")
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= modulus:
            bad = (arr < 0) | (arr >= modulus)
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name} has a coefficient outside the ring Z_{modulus}: {name}{list(idx)} = "
                f"{arr[idx]} (every entry must be in [0, {modulus}); use poly_reduce to reduce "
                "integers mod n)"
            )
    return arr.astype(np.int64)


def poly_reduce(P: Any, *, modulus: int) -> np.ndarray:
    """Reduce integer coefficients into [0, n): the ring map Z[x] → Z_n[x].

    Parameters
    ----------
    P : array_like of int, shape (..., L)
        Any integers (negative, or larger than n; Python ints of any size).
    modulus : int
        n, with 2 <= n <= 2**31.

    Returns
    -------
    ndarray of int64, shape (..., L)

    Examples
    --------
    >>> from sheaftopo.fiber import poly_reduce
    >>> poly_reduce([-1, 256, 1000], modulus=256)
    array([255,   0, 232])
    """
    n = _check_modulus(modulus)
    arr = _as_integers(P, "P")
    if arr.dtype.kind == "O":
        return np.array([int(v) % n for v in arr.flat], dtype=np.int64).reshape(arr.shape)
    if arr.dtype == np.uint64:
        return (arr % np.uint64(n)).astype(np.int64)
    return np.mod(arr.astype(np.int64), n)


def _batch_shape(A: np.ndarray, B: np.ndarray, out_len: int) -> tuple[int, ...]:
    """The broadcast batch shape of P and Q (ValueError naming them if none), size-checked."""
    try:
        lead = np.broadcast_shapes(A.shape[:-1], B.shape[:-1])
    except ValueError:
        raise ValueError(
            "P and Q must have batch shapes (all axes but the last) that broadcast together; "
            f"got P of shape {A.shape} and Q of shape {B.shape}"
        ) from None
    check_allocation(
        3 * 8 * int(np.prod(lead, dtype=object)) * out_len,
        f"P of shape {A.shape} and Q of shape {B.shape} (broadcast)",
    )
    return lead


def _pad_to(P: np.ndarray, length: int) -> np.ndarray:
    if P.shape[-1] == length:
        return P
    pad = [(0, 0)] * (P.ndim - 1) + [(0, length - P.shape[-1])]
    return np.pad(P, pad)


def poly_add(P: Any, Q: Any, *, modulus: int) -> np.ndarray:
    """Sum of polynomials over Z_n (batched, broadcasting the leading axes).

    Parameters
    ----------
    P : array_like of int, shape (..., Lp)
    Q : array_like of int, shape (..., Lq)
        Coefficients in [0, n), ascending powers.
    modulus : int

    Returns
    -------
    ndarray of int64, shape (..., max(Lp, Lq))

    Examples
    --------
    >>> from sheaftopo.fiber import poly_add
    >>> poly_add([200, 100], [100, 200, 7], modulus=256)
    array([44, 44,  7])
    """
    n = _check_modulus(modulus)
    A = _in_ring(P, n, "P")
    B = _in_ring(Q, n, "Q")
    L = max(A.shape[-1], B.shape[-1])
    _batch_shape(A, B, L)
    return np.mod(_pad_to(A, L) + _pad_to(B, L), n)


def poly_sub(P: Any, Q: Any, *, modulus: int) -> np.ndarray:
    """Difference P - Q over Z_n (batched, broadcasting the leading axes).

    Examples
    --------
    >>> from sheaftopo.fiber import poly_sub
    >>> poly_sub([1, 2], [2, 2], modulus=256)
    array([255,   0])
    """
    n = _check_modulus(modulus)
    A = _in_ring(P, n, "P")
    B = _in_ring(Q, n, "Q")
    L = max(A.shape[-1], B.shape[-1])
    _batch_shape(A, B, L)
    return np.mod(_pad_to(A, L) - _pad_to(B, L), n)


def poly_mul(P: Any, Q: Any, *, modulus: int) -> np.ndarray:
    r"""Product of polynomials over Z_n (batched, broadcasting the leading axes).

    Over composite n the degree of the product can drop (zero divisors), see
    the module notes; the result always has length Lp + Lq - 1.

    Parameters
    ----------
    P : array_like of int, shape (..., Lp)
    Q : array_like of int, shape (..., Lq)
    modulus : int

    Returns
    -------
    ndarray of int64, shape (..., Lp + Lq - 1)

    Examples
    --------
    >>> from sheaftopo.fiber import poly_mul, poly_degree
    >>> R = poly_mul([1, 128], [1, 2], modulus=256)  # (1 + 128x)(1 + 2x)
    >>> R, poly_degree(R)
    (array([  1, 130,   0]), array(1))
    """
    n = _check_modulus(modulus)
    A = _in_ring(P, n, "P")
    B = _in_ring(Q, n, "Q")
    if A.shape[-1] < B.shape[-1]:
        A, B = B, A
    la, lb = A.shape[-1], B.shape[-1]
    lead = _batch_shape(A, B, la + lb - 1)
    out = np.zeros((*lead, la + lb - 1), dtype=np.int64)
    # each pass adds at most one term <= (n-1)^2 to every entry; reduce before overflow
    per_reduce = max(1, (_INT64_MAX - (n - 1)) // max(1, (n - 1) ** 2))
    pending = 0
    for j in range(lb):
        out[..., j : j + la] += A * B[..., j : j + 1]
        pending += 1
        if pending == per_reduce:
            np.mod(out, n, out=out)
            pending = 0
    np.mod(out, n, out=out)
    return out


def poly_eval(P: Any, points: Any, *, modulus: int) -> np.ndarray:
    r"""Evaluate polynomials over Z_n at points of Z_n (Horner's rule, reduced every step).

    Evaluation at a point :math:`a \in \mathbb{Z}_n` is a ring homomorphism:
    :math:`(P + Q)(a) = P(a) + Q(a)` and :math:`(PQ)(a) = P(a)Q(a)` in
    :math:`\mathbb{Z}_n`.

    Parameters
    ----------
    P : array_like of int, shape (..., L)
    points : int or array_like of int, shape (k,)
        Points of Z_n (entries in [0, n)).
    modulus : int

    Returns
    -------
    ndarray of int64, shape (...) for a scalar point, (..., k) otherwise

    Examples
    --------
    >>> from sheaftopo.fiber import poly_eval
    >>> poly_eval([1, 2, 3], [0, 1, 2], modulus=7)  # 1 + 2x + 3x^2
    array([1, 6, 3])
    """
    n = _check_modulus(modulus)
    A = _in_ring(P, n, "P")
    x = _in_ring(points, n, "points", min_ndim=0)
    if x.ndim > 1:
        raise ValueError(f"points must be a scalar or a 1-D array; got shape {x.shape}")
    check_allocation(
        2 * 8 * int(np.prod(A.shape[:-1], dtype=object)) * max(1, x.size),
        f"P of shape {A.shape} at {x.size} points",
    )
    acc = np.zeros((*A.shape[:-1], *x.shape), dtype=np.int64)
    coeff_view = A[..., None] if x.ndim == 1 else A
    for k in range(A.shape[-1] - 1, -1, -1):
        acc *= x
        acc += coeff_view[..., k, :] if x.ndim == 1 else coeff_view[..., k]
        np.mod(acc, n, out=acc)
    return acc


def poly_degree(P: Any) -> np.ndarray:
    """Degree of each polynomial: index of its last non-zero coefficient (-1 for zero).

    Parameters
    ----------
    P : array_like of int, shape (..., L)
        Coefficients (already reduced mod n).

    Returns
    -------
    ndarray of int64, shape (...)

    Examples
    --------
    >>> from sheaftopo.fiber import poly_degree
    >>> poly_degree([[1, 2, 0], [0, 0, 0]])
    array([ 1, -1])
    """
    A = _as_integers(P, "P")
    if A.ndim < 1 or A.shape[-1] == 0:
        raise ValueError(f"P must have coefficients on its last axis; got shape {A.shape}")
    nz = A != 0
    L = A.shape[-1]
    last = L - 1 - np.argmax(nz[..., ::-1], axis=-1)
    return np.where(nz.any(axis=-1), last, -1).astype(np.int64)


def _gcd_and_inverse(a: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """gcd(a, n) and x with a x = gcd (mod n), by the extended Euclidean algorithm."""
    r0 = np.full(a.shape, n, dtype=np.int64)
    r1 = a.astype(np.int64).copy()
    s0 = np.zeros(a.shape, dtype=np.int64)
    s1 = np.ones(a.shape, dtype=np.int64)
    while (r1 != 0).any():
        live = r1 != 0
        q = np.where(live, r0 // np.where(live, r1, 1), 0)
        r0, r1 = np.where(live, r1, r0), np.where(live, r0 - q * r1, r1)
        s0, s1 = np.where(live, s1, s0), np.where(live, s0 - q * s1, s1)
    return r0, np.mod(s0, n)


def is_unit(a: Any, *, modulus: int) -> np.ndarray:
    """Whether each element of Z_n is a unit (gcd(a, n) = 1).

    Examples
    --------
    >>> from sheaftopo.fiber import is_unit
    >>> is_unit([1, 2, 3, 128, 255], modulus=256)
    array([ True, False,  True, False,  True])
    """
    n = _check_modulus(modulus)
    x = _in_ring(a, n, "a", min_ndim=0)
    g, _ = _gcd_and_inverse(x, n)
    return g == 1


def unit_inverse(a: Any, *, modulus: int) -> np.ndarray:
    """Multiplicative inverses in Z_n of units; a non-unit raises ``ValueError``.

    Over Z_256 exactly the odd residues are units; an even residue is a zero
    divisor (``2 * 128 = 0``) and has no inverse.

    Examples
    --------
    >>> from sheaftopo.fiber import unit_inverse
    >>> unit_inverse([1, 3, 255], modulus=256)
    array([  1, 171, 255])
    """
    n = _check_modulus(modulus)
    x = _in_ring(a, n, "a", min_ndim=0)
    g, inv = _gcd_and_inverse(x, n)
    bad = g != 1
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if x.ndim else ()
        raise ValueError(
            f"a{list(idx) if idx else ''} = {x[idx]} is not a unit of Z_{n} (gcd with {n} is "
            f"{g[idx]}), so it has no inverse; {int(bad.sum())} non-unit(s) in total"
        )
    return inv
