"""Input checks specific to sheaftopo.geometry (SPD batches, weights, paired point sets).

They complement :mod:`sheaftopo._validation` (which they reuse) and follow its
rules: a ``TypeError`` for the wrong kind of object, a ``ValueError`` for the
wrong shape or value, a message naming the argument with what was seen and
what was expected, and never a modified input.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import (
    as_float_array,
    as_points,
    check_real,
    power_of_two_scale,
)

#: Relative tolerance of the symmetry check for float64 input: a matrix ``P``
#: passes when ``max|P - P^T| <= SYMMETRY_RTOL * max|P|``. float32 input uses
#: ``100 * eps(float32)`` (about 1.2e-5) instead.
SYMMETRY_RTOL = 1e-7

#: A symmetric matrix counts as singular (and is refused wherever a positive definite
#: one is required) when its smallest eigenvalue is at most ``n * eps * largest``, with
#: ``n`` the matrix size and ``eps`` the float64 machine epsilon (about 2.2e-16): below
#: that relative level the smallest eigenvalue is indistinguishable from rounding of
#: the largest one, so neither its sign nor its size carries information (the relative
#: eigenvalue test of LAPACK's rank decisions and ``numpy.linalg.matrix_rank``).
SINGULAR_RTOL_PER_N = float(np.finfo(np.float64).eps)


def _index_text(idx: tuple[int, ...]) -> str:
    return "" if not idx else f" (the matrix at batch index {idx})"


def _check_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must not contain NaN or inf; found {float(arr[idx])!r} at index {idx} "
            f"({int(bad.sum())} such entries)"
        )


def as_symmetric(P: Any, name: str) -> np.ndarray:
    """A finite batch of real symmetric matrices, shape (..., n, n), as float64.

    Symmetry is checked matrix by matrix to a relative tolerance
    (:data:`SYMMETRY_RTOL`, or ``100 * eps`` for float32 input); the returned
    array is the exactly symmetric part ``(P + P^T) / 2`` (a new array).
    """
    return _symmetric_and_scale(P, name)[0]


def _symmetric_and_scale(P: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`as_symmetric`, and the largest absolute entry of each matrix of the input."""
    arr = as_float_array(P, name)
    in_dtype = arr.dtype
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(
            f"{name} must be a square matrix or a batch of them, shape (..., n, n); "
            f"got shape {arr.shape}"
        )
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must hold matrices of size at least 1 x 1; got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    _check_finite(arr, name)
    rtol = max(SYMMETRY_RTOL, 100.0 * float(np.finfo(in_dtype).eps))
    swapped = np.swapaxes(arr, -1, -2)
    asym = np.abs(arr - swapped).max(axis=(-1, -2))
    scale = np.abs(arr).max(axis=(-1, -2))
    bad = asym > rtol * scale
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        rel = float(asym[idx] / scale[idx])
        raise ValueError(
            f"{name} must be symmetric{_index_text(idx)}: max |{name} - {name}^T| / "
            f"max |{name}| = {rel:.3g} exceeds the tolerance {rtol:.3g}"
        )
    if scale.size and float(scale.max()) > 8e307:  # arr + arr^T would overflow
        return 0.5 * arr + 0.5 * swapped, scale
    return 0.5 * (arr + swapped), scale


def matrix_scale_exponents(P: np.ndarray, *, even: bool = False) -> np.ndarray:
    """Integer exponents ``e`` (batch shape) with ``max|P_b| / 2**e_b`` in [1/4, 1).

    Dividing by powers of two is exact, so ``ldexp(P, -e)`` is the batch brought
    to unit scale without rounding (0 for all-zero matrices). ``even=True``
    rounds the exponents up to even integers, so that square roots of the
    scale factors are exact powers of two as well.
    """
    return _exponents(np.abs(P).max(axis=(-1, -2)), even)


def _exponents(top: np.ndarray, even: bool) -> np.ndarray:
    _, e = np.frexp(top)
    e = e.astype(np.int64)
    if even:
        e = e + (e % 2)
    return e


#: unit_scaled leaves batches alone whose entries all lie within 2^-SAFE_EXPONENT ..
#: 2^SAFE_EXPONENT in magnitude (about 1e-90 .. 1e90): there, products of three
#: matrices and inverses stay far inside the float64 range.
SAFE_EXPONENT = 300


def unit_scaled(P: np.ndarray, *, even: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(ldexp(P, -e), e)``: the batch brought to a safe scale, and the exponents that undo it.

    Batches already at a safe scale (every matrix's largest entry between
    2^-300 and 2^300, see :data:`SAFE_EXPONENT`) are returned as they are
    with ``e = 0`` (no copy, and results bit for bit those of the unscaled
    computation); otherwise every matrix is divided by a power of two that
    brings its largest entry into [1/4, 1), which is exact.
    """
    top = np.abs(P).max(axis=(-1, -2))
    e = _exponents(top, even)
    if not (np.abs(e[top > 0]) > SAFE_EXPONENT).any():
        return P, np.zeros_like(e)
    return np.ldexp(P, -e[..., None, None]), e


def not_positive_definite(P: np.ndarray, name: str) -> ValueError:
    """The error for a batch ``P`` of symmetric matrices of which one is not positive definite.

    Locates the first matrix whose smallest eigenvalue (``eigvalsh``) is not
    positive, or, when rounding made a factorisation fail on a matrix with a
    tiny positive eigenvalue, the worst-conditioned one, and reports its
    smallest and largest eigenvalue.
    """
    lam = np.linalg.eigvalsh(P)
    lo, hi = lam[..., 0], lam[..., -1]
    idx: tuple[int, ...] = ()
    if lo.ndim:
        bad = lo <= 0
        flat = int(np.flatnonzero(bad.ravel())[0]) if bad.any() else int(np.argmin(lo / hi))
        idx = tuple(int(i) for i in np.unravel_index(flat, lo.shape))
    return ValueError(
        f"{name} must be symmetric positive definite{_index_text(idx)}; its smallest "
        f"eigenvalue is {float(lo[idx]):.6g} (largest {float(hi[idx]):.6g})"
    )


def as_spd(P: Any, name: str) -> np.ndarray:
    """A batch of symmetric positive definite matrices, shape (..., n, n), float64.

    Every matrix must be symmetric (see :func:`as_symmetric`) and numerically
    positive definite: its eigenvalues (of the matrix brought to unit scale by
    a power of two, so that any finite scale from 1e-308 to 1e308 works) must
    satisfy ``smallest > n * eps * largest``
    (:data:`SINGULAR_RTOL_PER_N`); singular, indefinite and numerically
    singular matrices are refused with a ``ValueError`` naming ``name``, the
    batch index and both eigenvalues.
    """
    arr, top = _symmetric_and_scale(P, name)  # arr is new: its diagonal may be shifted
    e = _exponents(top, False)
    if (np.abs(e[top > 0]) > SAFE_EXPONENT).any():
        scaled = np.ldexp(arr, -e[..., None, None])
        top = np.ldexp(top, -e)
    else:
        scaled, e = arr, np.zeros_like(e)
    scaled = np.ascontiguousarray(scaled)  # (a no-op here) the diagonal view below needs it
    n = arr.shape[-1]
    # Fast certificate: tau = n^2 eps max|P_ij| >= n eps lambda_max, and a Cholesky
    # factorisation of P - tau I succeeds only if lambda_min > tau (up to rounding of the
    # order of tau itself). Only when it fails are the eigenvalues computed, to decide
    # exactly and to report them. The shift is applied to the diagonal in place and the
    # saved diagonal put back exactly.
    tau = n * n * SINGULAR_RTOL_PER_N * top
    view = scaled.reshape(*scaled.shape[:-2], n * n)[..., :: n + 1]  # the diagonals
    diag = view.copy()
    view -= tau[..., None]
    try:
        np.linalg.cholesky(scaled)
        return arr
    except np.linalg.LinAlgError:
        pass
    finally:
        view[...] = diag
    lam = np.linalg.eigvalsh(scaled)
    lo, hi = lam[..., 0], lam[..., -1]
    bad = ~(lo > n * SINGULAR_RTOL_PER_N * hi)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        lo_v = float(np.ldexp(lo[idx], e[idx]))
        hi_v = float(np.ldexp(hi[idx], e[idx]))
        what = "indefinite" if lo[idx] < 0 else "singular"
        raise ValueError(
            f"{name} must be symmetric positive definite{_index_text(idx)}; its smallest "
            f"eigenvalue is {lo_v:.6g} (largest {hi_v:.6g}), so it is {what} (a matrix counts "
            f"as singular when smallest <= n * eps * largest = {n} * 2.2e-16 * largest)"
        )
    return arr


def cholesky(P: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factors of a batch of symmetric matrices, or a clear ``ValueError``."""
    try:
        return np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        raise not_positive_definite(P, name) from None


def spd_eigh(P: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of SPD matrices; refuses eigenvalues <= 0."""
    lam, U = np.linalg.eigh(P)
    if not (lam[..., 0] > 0).all():
        raise not_positive_definite(P, name)
    return lam, U


def broadcast_batch(P: np.ndarray, Q: np.ndarray, names: tuple[str, str]) -> tuple[int, ...]:
    """The broadcast batch shape of two matrix batches of the same matrix size."""
    if P.shape[-2:] != Q.shape[-2:]:
        raise ValueError(
            f"{names[0]} and {names[1]} must hold matrices of the same size; got "
            f"{names[0]} of shape {P.shape} and {names[1]} of shape {Q.shape}"
        )
    try:
        return np.broadcast_shapes(P.shape[:-2], Q.shape[:-2])
    except ValueError:
        raise ValueError(
            f"the batch shapes of {names[0]} {P.shape[:-2]} and {names[1]} {Q.shape[:-2]} "
            f"do not broadcast (shapes {P.shape} and {Q.shape})"
        ) from None


def check_reg(reg: Any, name: str = "reg") -> float:
    """A finite, strictly positive regularisation."""
    return check_real(reg, name, low=0.0, low_inclusive=False)


def check_order(p: Any, name: str = "p") -> float:
    """A finite transport order ``p >= 1``."""
    return check_real(p, name, low=1.0)


#: cloud_scale leaves coordinates up to 2^CLOUD_EXPONENT in magnitude as they are
CLOUD_EXPONENT = 400


def cloud_scale(*clouds: np.ndarray) -> float:
    """The power of two to divide point clouds by before forming squares of coordinates.

    Data whose largest coordinate is below 1/2 are brought up to [1/2, 1);
    data up to :math:`2^{400}` are left alone (s = 1); larger data are brought
    down to :math:`2^{400}` only, not to unit scale, so that a second, much
    smaller cloud (or small coordinates) do not fall into the subnormal range:
    squared distances up to about :math:`2^{800} d` stay far from overflow,
    and the distance kernels recompute the small ones from differences.
    Dividing by a power of two is exact.
    """
    top = max((float(np.abs(Z).max(initial=0.0)) for Z in clouds), default=0.0)
    s = power_of_two_scale(np.array([top]))
    if s <= 1.0:
        return s
    return max(1.0, math.ldexp(s, -CLOUD_EXPONENT))


def as_pair(
    X: Any, Y: Any, names: tuple[str, str] = ("X", "Y"), *, paired: bool, same_dim: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Two point clouds as float64, with equal row counts (``paired``) and/or dimensions."""
    A = as_points(X, names[0], dtype=np.float64)
    B = as_points(Y, names[1], dtype=np.float64)
    if paired and A.shape[0] != B.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of rows (row i of one is "
            f"paired with row i of the other); got {A.shape[0]} and {B.shape[0]} rows"
        )
    if same_dim and A.shape[1] != B.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features; got "
            f"{A.shape[1]} and {B.shape[1]}"
        )
    return A, B


def as_spd_batch(P: Any, name: str) -> np.ndarray:
    """A stack of SPD matrices of shape (N, n, n) with N >= 1 (symmetry checked)."""
    arr = as_spd(P, name)
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be a stack of matrices of shape (n_matrices, n, n); got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one matrix; got shape {arr.shape}")
    return arr
