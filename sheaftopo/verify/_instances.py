"""Generic moves on dict instances: perturb for search, shrink for counterexamples.

Most instances are dicts of arrays and numbers; these functions give every
:class:`~sheaftopo.verify.Family` a default random move (relative noise on every
float array and float), a default list of smaller variants (drop rows, round,
zero entries) and a default short label.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["describe_instance", "perturb_arrays", "shrink_arrays"]


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def perturb_arrays(instance: Any, rng: np.random.Generator, step: float) -> Any:
    """Move every float array of a dict instance by relative noise of size ``step``.

    Each array moves by ``step * scale * N(0, 1)`` entrywise, ``scale`` its
    largest magnitude (1 for an all-zero array); float scalars are multiplied
    by ``exp(step * N(0, 1))``. Integers and other values are kept.
    """
    if not isinstance(instance, dict):
        raise TypeError(
            "the generic perturbation needs a dict instance; give the Family a perturb= "
            f"function for {type(instance).__name__} instances"
        )
    out = {}
    for k, v in instance.items():
        if _is_float_array(v) and v.size:
            scale = float(np.abs(v).max()) or 1.0
            out[k] = v + step * scale * rng.standard_normal(v.shape)
        elif isinstance(v, float) and math.isfinite(v):
            out[k] = v * math.exp(step * float(rng.standard_normal()))
        else:
            out[k] = v
    return out


def _row_count(instance: dict) -> int:
    lengths = {v.shape[0] for v in instance.values() if isinstance(v, np.ndarray) and v.ndim}
    return lengths.pop() if len(lengths) == 1 else 0


def shrink_arrays(instance: Any) -> Iterator[Any]:
    """Smaller variants of a dict instance, simplest first.

    Candidates: drop one row from every array (and the matching column of the
    square ones) when all arrays share their first length; then round float
    arrays to 1, 2, 3 and 6 significant digits; then set single float entries
    to zero.
    """
    if not isinstance(instance, dict):
        return
    n = _row_count(instance)
    if n > 1:
        for i in range(n):
            keep = np.delete(np.arange(n), i)
            cand = {}
            for k, v in instance.items():
                if isinstance(v, np.ndarray) and v.ndim:
                    w = v[keep]
                    if v.ndim >= 2 and v.shape[1] == n:
                        w = w[:, keep]
                    cand[k] = w
                else:
                    cand[k] = v
            yield cand
    for digits in (1, 2, 3, 6):
        cand = {}
        changed = False
        for k, v in instance.items():
            if _is_float_array(v) and v.size:
                r = _round_significant(v, digits)
                changed |= not np.array_equal(r, v)
                cand[k] = r
            else:
                cand[k] = v
        if changed:
            yield cand
    for k, v in instance.items():
        if _is_float_array(v) and v.size <= 64:
            for idx in zip(*np.nonzero(v), strict=True):
                w = v.copy()
                w[idx] = 0.0
                yield {**instance, k: w}


def _round_significant(v: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(v != 0, 10.0 ** (np.floor(np.log10(np.abs(v))) - digits + 1), 1.0)
        out = np.where(np.isfinite(mag) & (mag > 0), np.round(v / mag) * mag, v)
    return np.asarray(out, dtype=v.dtype)


def describe_instance(instance: Any) -> str:
    """A one-line description: array shapes and scalar values."""
    if isinstance(instance, dict):
        parts = []
        for k, v in instance.items():
            if isinstance(v, np.ndarray):
                parts.append(f"{k}: {v.dtype.name}{list(v.shape)}")
            elif isinstance(v, (int, float, np.integer, np.floating, str, bool)):
                parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
            else:
                parts.append(f"{k}: {type(v).__name__}")
        return ", ".join(parts)
    return type(instance).__name__
