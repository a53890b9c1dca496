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
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_float_array, as_vector, check_int, check_random_state, check_real
from ._numeric import check_allocation

__all__ = [
    "MAX_MODULUS",
    "PolynomialEmbedding",
    "encode_image",
    "encode_tokens",
    "evaluation_embedding",
    "is_unit",
    "poly_add",
    "poly_degree",
    "poly_distance",
    "poly_eval",
    "poly_mul",
    "poly_reduce",
    "poly_sub",
    "projection_embedding",
    "unit_inverse",
]

#: the largest modulus supported (products of residues stay below 2**62)
MAX_MODULUS = 2**31
_INT64_MAX = 2**63 - 1
#: embedding matrices are bounded so that no embedding or Lipschitz constant overflows:
#: max|A| * max(L, sqrt(k L)) <= this
_MAX_EMBEDDING_GAIN = 1e300
#: the smallest scale of a projection entry that is still a normal float64 with full precision
_MIN_PROJECTION_UNIT = float(np.finfo(np.float64).tiny) * 2.0**53


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


# --------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------


def _patch_shape(patch_size: Any, H: int, W: int) -> tuple[int, int]:
    if patch_size is None:
        return H, W
    if isinstance(patch_size, numbers.Integral) and not isinstance(patch_size, bool):
        ph = pw = check_int(patch_size, "patch_size", minimum=1)
    else:
        if not isinstance(patch_size, Sequence) or len(patch_size) != 2:
            raise TypeError(
                f"patch_size must be None, an int or a pair (ph, pw); got {patch_size!r}"
            )
        ph = check_int(patch_size[0], "patch_size[0]", minimum=1)
        pw = check_int(patch_size[1], "patch_size[1]", minimum=1)
    if H % ph or W % pw:
        raise ValueError(
            f"patch_size {(ph, pw)} must divide the image size {(H, W)}; crop or pad the "
            "images first"
        )
    return ph, pw


def encode_image(image: Any, *, patch_size: Any = None) -> np.ndarray:
    r"""Encode images as polynomials over Z_256[x]: one per patch, intensities as coefficients.

    Each image is cut into non-overlapping ``ph × pw`` patches (row-major
    order over the grid of patches); the pixels of a patch, read row by row,
    are the coefficients of :math:`x^0, x^1, \dots, x^{ph\,pw - 1}`.

    Parameters
    ----------
    image : array_like of int, shape (..., H, W)
        8-bit intensities (uint8, or any integer dtype with values in
        [0, 255]); leading axes are batch axes (several images, or colour
        channels in channels-first layout).
    patch_size : int or (int, int), optional
        Patch height and width, dividing H and W. Default: the whole image is
        one polynomial.

    Returns
    -------
    ndarray of uint8, shape (..., n_patches, ph * pw)
        ``n_patches = (H // ph) * (W // pw)``; coefficients of Z_256[x].

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (images as elements of :math:`\mathbb{Z}_{256}[x]`).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import encode_image
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> encode_image(img, patch_size=2)
    array([[ 0,  1,  4,  5],
           [ 2,  3,  6,  7],
           [ 8,  9, 12, 13],
           [10, 11, 14, 15]], dtype=uint8)
    """
    arr = _in_ring(image, 256, "image", min_ndim=2)
    if arr.shape[-2] == 0 or arr.shape[-1] == 0:
        raise ValueError(f"image must have at least one pixel; got shape {arr.shape}")
    H, W = arr.shape[-2:]
    ph, pw = _patch_shape(patch_size, H, W)
    lead = arr.shape[:-2]
    x = arr.reshape(*lead, H // ph, ph, W // pw, pw)
    x = np.moveaxis(x, -3, -2)  # (..., H/ph, W/pw, ph, pw)
    return np.ascontiguousarray(x.reshape(*lead, (H // ph) * (W // pw), ph * pw)).astype(np.uint8)


def encode_tokens(tokens: Any, *, vocab_size: int) -> np.ndarray:
    r"""Encode token-id sequences as polynomials over Z_|V|[x] (token k is the coefficient of x^k).

    Parameters
    ----------
    tokens : array_like of int, shape (L,) or (B, L), or a list of sequences
        Token ids in [0, vocab_size). A list of sequences of different
        lengths is padded on the right with zeros. Trailing zero coefficients
        do not change a polynomial, so sequences that differ only by trailing
        id-0 tokens get the same polynomial: reserve id 0 for padding if that
        matters.
    vocab_size : int
        |V| >= 2, the modulus.

    Returns
    -------
    ndarray of int64, shape (L,) or (B, L_max)

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (texts as elements of :math:`\mathbb{Z}_{|V|}[x]`).

    Examples
    --------
    >>> from sheaftopo.fiber import encode_tokens
    >>> encode_tokens([[5, 2, 9], [7]], vocab_size=10)
    array([[5, 2, 9],
           [7, 0, 0]])
    """
    n = _check_modulus(vocab_size, "vocab_size")
    if (
        isinstance(tokens, (list, tuple))
        and tokens
        and all(isinstance(t, (list, tuple, np.ndarray)) for t in tokens)
    ):
        seqs = [_in_ring(t, n, f"tokens[{k}]") for k, t in enumerate(tokens)]
        for k, t in enumerate(seqs):
            if t.ndim != 1:
                raise ValueError(f"tokens[{k}] must be a 1-D sequence; got shape {t.shape}")
        out = np.zeros((len(seqs), max(len(t) for t in seqs)), dtype=np.int64)
        for k, t in enumerate(seqs):
            out[k, : len(t)] = t
        return out
    arr = _in_ring(tokens, n, "tokens")
    if arr.ndim > 2:
        raise ValueError(f"tokens must be 1-D (one sequence) or 2-D (B, L); got shape {arr.shape}")
    return arr


# --------------------------------------------------------------------------
# embeddings f, g into a real space
# --------------------------------------------------------------------------


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
            raise TypeError(
                f"description must be a string; got {type(self.description).__name__}"
            )
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
