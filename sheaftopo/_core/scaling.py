"""Exact power-of-two rescaling and the Gram-identity rounding guard.

Distances computed on data divided by a power of two and multiplied back are
exactly those at the original scale, while squares can neither overflow nor
underflow. Used by :mod:`sheaftopo.persistence` (MST, subsampling, the
sparsification threshold through :mod:`sheaftopo._core.screening`) and by
:mod:`sheaftopo.distributed` (the Dask MST), which must agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import power_of_two_scale

__all__ = ["GRAM_GUARD", "rescaled", "scale_exponent", "scaled_back"]

#: squared distances under GRAM_GUARD * d * eps * (|x|^2 + |y|^2) are recomputed exactly
GRAM_GUARD = 64.0


def scale_exponent(arr: np.ndarray) -> int:
    """``e`` such that ``2**e = power_of_two_scale(arr)``: max |arr| / 2**e in [0.5, 1).

    Parameters
    ----------
    arr : ndarray
        Any real array.

    Returns
    -------
    int
        The exponent. For entries of 2**1023 or more, whose scale 2**1024 is
        not a float, ``e`` is 1023 and the scaled entries land in [1, 2).
    """
    with np.errstate(over="ignore"):
        s = power_of_two_scale(arr)
    return 1023 if math.isinf(s) else math.frexp(s)[1] - 1


def rescaled(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """``(arr / s, s)`` with ``s = 2**scale_exponent(arr)``: a new array, max |entry| in [0.5, 1).

    The division is an exact change of exponent (``ldexp``), so quantities
    homogeneous in the entries (distances, deaths) computed on ``arr / s`` and
    multiplied by ``s`` are those exact arithmetic would give at the original
    scale, while squares can neither overflow (coordinates above ~1e154) nor
    underflow (below ~1e-160). The dtype is kept.

    Parameters
    ----------
    arr : ndarray
        Real array of any shape; not modified.

    Returns
    -------
    scaled : ndarray, same shape and dtype as ``arr``
    scale : float
        The power of two ``s``.
    """
    e = scale_exponent(arr)
    return np.ldexp(arr, -e), math.ldexp(1.0, e)


def scaled_back(dist: np.ndarray, scale: float, name: str) -> np.ndarray:
    """``dist * scale``, or a ``ValueError`` naming ``name`` if that leaves the float64 range.

    Parameters
    ----------
    dist : ndarray of float64
        Distances computed on the rescaled data.
    scale : float
        The ``s`` of :func:`rescaled`.
    name : str
        Name of the user's argument, for the error message.

    Returns
    -------
    ndarray of float64, same shape as ``dist``
    """
    with np.errstate(over="ignore"):
        out = dist * scale
    if not np.isfinite(out).all():
        raise ValueError(
            f"{name}: distances between its points exceed the largest float64 "
            f"({np.finfo(np.float64).max:.3g}); divide {name} by a constant first "
            "(every death scales with it)"
        )
    return out
