r"""What the diagram distances share: essential points, exact rescaling, overflow checks.

A persistence diagram is an array of shape ``(n_points, 2)`` of
``(birth, death)`` rows with ``death >= birth``; deaths may be ``+inf``
(essential classes). The diagonal :math:`\Delta = \{(x, x)\}` is understood to
hold every point with infinite multiplicity, so diagrams of different sizes
can be compared: a point may be matched to its orthogonal projection onto the
diagonal, :math:`\pi_\Delta(b, d) = \big(\tfrac{b+d}{2}, \tfrac{b+d}{2}\big)`.

Used by :mod:`._sliced` (:func:`~sheaftopo.persistence.sliced_wasserstein`) and
:mod:`._matching` (:func:`~sheaftopo.persistence.wasserstein`,
:func:`~sheaftopo.persistence.bottleneck`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "coordinate_scale",
    "cost_scale",
    "essential_counts_differ_message",
    "handle_essential",
    "in_range",
    "n_essential",
]


def n_essential(dgm: np.ndarray) -> int:
    return int(np.count_nonzero(np.isinf(dgm[:, 1])))


def essential_counts_differ_message(n1: int, n2: int) -> str:
    return (
        f"dgm1 has {n1} essential point(s) (death = +inf) but dgm2 has {n2}; "
        "they cannot be matched to each other or to the diagonal, so every "
        "Wasserstein-type distance between these diagrams is infinite"
    )


def handle_essential(
    d1: np.ndarray, d2: np.ndarray, essential: str
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the ``essential`` policy; return the finite parts of both diagrams."""
    n1, n2 = n_essential(d1), n_essential(d2)
    if n1 == 0 and n2 == 0:
        return d1, d2
    if essential == "raise":
        name, n = ("dgm1", n1) if n1 else ("dgm2", n2)
        other = f" (and dgm2 has {n2})" if n1 and n2 else ""
        raise ValueError(
            f"{name} has {n} essential point(s) with death = +inf{other}; the sliced "
            "Wasserstein distance is defined for finite points only. Pass "
            "essential='drop' to compare the finite parts (exact for H0 Rips "
            "diagrams, whose single (0, inf) points coincide), or remove them yourself"
        )
    if n1 != n2:
        raise ValueError(
            essential_counts_differ_message(n1, n2)
            + "; essential='drop' only applies when the counts agree"
        )
    return d1[np.isfinite(d1[:, 1])], d2[np.isfinite(d2[:, 1])]


def coordinate_scale(f1: np.ndarray, f2: np.ndarray) -> float:
    """A power of two near the largest |coordinate| of two finite diagrams (1.0 if none)."""
    top = max(float(np.abs(f1).max(initial=0.0)), float(np.abs(f2).max(initial=0.0)))
    if top == 0.0:
        return 1.0
    return math.ldexp(1.0, min(max(math.frexp(top)[1], -1021), 1023))


def cost_scale(d1: np.ndarray, d2: np.ndarray, target: int = 0) -> float:
    """A power of two bringing the diagrams' largest cost scale into ``[2**(target-1), 2**target)``.

    The cost scale is the largest finite persistence ``d - b`` and, when both
    diagrams have the same number of essential points, the largest gap
    between their births matched in order. Falls back to the largest
    |coordinate| when both are 0, to 1.0 when everything is 0. Everything is
    computed on halves, so spans beyond the float64 range (``-1e308`` to
    ``1e308``) do not overflow. The result is at most ``2**1023`` and at least
    ``2**-1074`` (a subnormal scale divides exactly), and is never so small
    that dividing the largest |coordinate| by it overflows.
    """
    fin1 = d1[np.isfinite(d1[:, 1])]
    fin2 = d2[np.isfinite(d2[:, 1])]
    halves = [0.5 * fin1[:, 1] - 0.5 * fin1[:, 0], 0.5 * fin2[:, 1] - 0.5 * fin2[:, 0]]
    e1 = np.sort(d1[~np.isfinite(d1[:, 1]), 0])
    e2 = np.sort(d2[~np.isfinite(d2[:, 1]), 0])
    if len(e1) == len(e2):
        halves.append(np.abs(0.5 * e1 - 0.5 * e2))
    half = float(np.concatenate(halves).max(initial=0.0))
    coords = [np.abs(d1[:, 0]), np.abs(d2[:, 0]), np.abs(fin1[:, 1]), np.abs(fin2[:, 1])]
    top_coord = float(np.concatenate(coords).max(initial=0.0))
    if half > 0.0:
        exponent = math.frexp(half)[1] + 1 - target  # 2 * half < 2**(frexp exponent + 1)
    elif top_coord > 0.0:
        exponent = math.frexp(top_coord)[1] - target
    else:
        return 1.0
    if top_coord > 0.0:
        exponent = max(exponent, math.frexp(top_coord)[1] - 1000)
    return math.ldexp(1.0, min(max(exponent, -1074), 1023))


def in_range(value: float, what: str) -> float:
    """``value``, or a ValueError when a finite distance overflowed float64."""
    if math.isinf(value) or math.isnan(value):
        raise ValueError(
            f"the {what} between dgm1 and dgm2 exceeds the float64 range "
            f"({np.finfo(np.float64).max:.3g}); divide both diagrams by a constant first "
            "(the distance scales with it)"
        )
    return value
