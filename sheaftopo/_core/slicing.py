"""Directions and quantile plans of sliced Wasserstein distances.

``angles`` chooses the projection directions (evenly spaced, random, or
given); ``quantile_plan`` is the exact monotone coupling of two uniform
measures of different sizes. Used by
:func:`sheaftopo.persistence.sliced_wasserstein` and by its differentiable
counterpart in :mod:`sheaftopo.torch`, which must project on the same
directions and pair the same atoms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import as_vector, check_random_state

__all__ = ["angles", "quantile_plan"]


def angles(n_directions: int, seed: Any, directions: Any) -> np.ndarray:
    """Angles in [-pi/2, pi/2) of the projection directions.

    Parameters
    ----------
    n_directions : int
        Number of directions when ``directions`` is None.
    seed : None, int or numpy.random.Generator
        None: ``n_directions`` evenly spaced angles; otherwise that many
        uniform random angles from this seed.
    directions : array_like, shape (M,), optional
        The angles themselves; then ``seed`` must be None.

    Returns
    -------
    ndarray of float64, shape (M,)
    """
    if directions is not None:
        if seed is not None:
            raise ValueError(
                "seed has no effect when directions is given; pass one of them, not both"
            )
        return as_vector(directions, "directions")
    if seed is None:
        return -np.pi / 2 + np.pi * np.arange(n_directions) / n_directions
    rng = check_random_state(seed)
    return rng.uniform(-np.pi / 2, np.pi / 2, size=n_directions)


def quantile_plan(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged quantile breakpoints of two uniform measures with n1 and n2 atoms.

    The quantile function of the uniform measure on sorted values
    ``x_0 <= ... <= x_{n-1}`` is ``Q(u) = x_{ceil(u n) - 1}``. On each interval
    between consecutive points of ``{k / n1} U {k / n2}`` both quantile
    functions are constant; the breakpoints are computed exactly in units of
    ``1 / lcm(n1, n2)``.

    Parameters
    ----------
    n1, n2 : int
        Numbers of atoms, both >= 1.

    Returns
    -------
    i1, i2 : ndarray of int64, shape (K,)
        The atom indices on each interval.
    w : ndarray of float64, shape (K,)
        The interval lengths (summing to 1).
    """
    g = math.gcd(n1, n2)
    s1, s2 = n2 // g, n1 // g  # lcm / n1 and lcm / n2
    lcm = s1 * n1
    # the union of two sorted progressions: a stable sort of their concatenation
    # merges the two runs in linear time, then the common multiples are dropped
    # (the same array as np.union1d, without its hashing)
    t = np.concatenate(
        [np.arange(1, n1 + 1, dtype=np.int64) * s1, np.arange(1, n2 + 1, dtype=np.int64) * s2]
    )
    t.sort(kind="stable")
    t = t[np.concatenate([[True], t[1:] != t[:-1]])]
    i1 = (t + (s1 - 1)) // s1 - 1
    i2 = (t + (s2 - 1)) // s2 - 1
    w = np.diff(t, prepend=0) / lcm
    return i1, i2, w
