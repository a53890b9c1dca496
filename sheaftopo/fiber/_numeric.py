"""Exact power-of-two rescaling and allocation limits shared by the fiber modules.

Quantities homogeneous in the coordinates (distances, loadings, canonical
weights) are computed on data divided by a power of two and multiplied back:
``np.ldexp`` by an integer exponent is exact (barring subnormal results), so
squares neither overflow near 1e154 nor underflow near 1e-160. The scale is
kept as an *exponent* because the scale itself (up to 2**1074 for subnormal
data) need not be a finite float.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np


def exponent_of(*arrays: Any) -> int:
    """``e`` with ``max|arrays| / 2**e`` in [0.5, 1): the frexp exponent of the largest entry.

    0 when every entry is zero (or there are none). The arrays must be finite.
    """
    top = 0.0
    for a in arrays:
        a = np.asarray(a)
        if a.size:
            top = max(top, float(np.max(np.abs(a))))
    if top == 0.0:
        return 0
    return math.frexp(top)[1]


def ldexp_scalar(x: float, e: int) -> float:
    """``x * 2**e`` for a finite ``x >= 0``; ``inf`` where that exceeds the float64 range."""
    if x == 0.0:
        return 0.0
    m, e0 = math.frexp(x)
    if e0 + e > 1024:
        return math.inf
    return math.ldexp(m, e0 + e)


def physical_memory() -> int:
    """Bytes of physical memory of this machine (a large default where unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 1 << 40


def check_allocation(n_bytes: int, what: str) -> None:
    """Refuse up front a working set larger than the machine's physical memory.

    ``what`` names the arguments that set the size (it starts the message).
    """
    limit = physical_memory()
    if n_bytes > limit:
        raise ValueError(
            f"{what} ask for about {n_bytes / 2**30:.3g} GiB of working memory, more than "
            f"this machine's {limit / 2**30:.3g} GiB: choose smaller sizes"
        )
