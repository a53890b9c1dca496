"""The two sets of a fiber product in screening form, and the screening error bounds.

:func:`prepare` puts F and G into the form the engines screen (rows divided by
powers of two, centred, every entry below 1; cosine: unit rows) next to the
canonical form that decides membership; :func:`coef` bounds the rounding error
of a screening value, which :func:`choose_precision` weighs against ε. The
bounds are derived in ``theory/fiber-product.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.fiber_blocks import unit_rows
from ._numeric import exponent_of, ldexp_scalar

_U32 = 2.0**-24
# relative slack that covers every float64 rounding of the screening
# (centring, norms, the expansion, the canonical sum): (d + 16) * 2**-50


def f64_slack(d: int) -> float:
    """``(d + 16) * 2**-50``: relative slack covering every float64 rounding of the screening."""
    return (d + 16) * 2.0**-50


#: stands for screening rows that were freed once the blocked engine was built
RELEASED = np.empty((0, 0))


@dataclass
class Prepared:
    """Both sets in canonical form (cF, cG) and in screening form (a, b).

    Euclidean: cF, cG are the original rows and a, b the rows divided by a
    power of two, centred on the common mean and divided by another power of
    two, so that every entry is below 1 in magnitude: a screening distance is
    the distance times ``2**shift`` (kept as an exponent: the factor itself
    need not be a finite float). Cosine: cF = a, cG = b are the unit rows and
    ``shift`` is 0.
    """

    cF: np.ndarray
    cG: np.ndarray
    metric: int
    a: np.ndarray
    b: np.ndarray
    nA: np.ndarray  # squared norms of a, b
    nB: np.ndarray
    shift: int  # screening distance = distance * 2**shift

    @property
    def d(self) -> int:
        return int(self.cF.shape[1])

    @property
    def reach_cap(self) -> float:
        """A screening distance beyond every pair's (entries of a, b are below 1)."""
        return 2.0 * math.sqrt(self.d) + 1.0 if self.metric == 0 else 3.0

    def screen_eps(self, eps: Any) -> Any:
        """ε (scalar or array) in screening units of distance, capped at :attr:`reach_cap`.

        Euclidean: ``eps * 2**shift``; cosine: ``sqrt(2 eps)``, the chord of a
        pair at cosine distance ε. A tolerance beyond every distance of the
        data is capped (the pairs it selects do not change), so no square
        overflows whatever ε.
        """
        cap = self.reach_cap
        if self.metric == 1:
            return np.sqrt(2.0 * np.minimum(np.asarray(eps, np.float64), cap * cap / 2.0))
        if np.ndim(eps) == 0:
            return min(ldexp_scalar(float(eps), self.shift), cap)
        with np.errstate(over="ignore"):
            return np.minimum(np.ldexp(np.asarray(eps, np.float64), self.shift), cap)


def prepare(F: np.ndarray, G: np.ndarray, metric: str) -> Prepared:
    if metric == "cosine":
        a = unit_rows(F, "F")
        b = unit_rows(G, "G")
        nA = np.einsum("ij,ij->i", a, a)
        nB = np.einsum("ij,ij->i", b, b)
        return Prepared(a, b, 1, a, b, nA, nB, 0)
    # powers of two (exact): first so that the mean cannot overflow, then so
    # that the centred entries are below 1
    e0 = exponent_of(F, G)
    a = np.ldexp(F, -e0)
    b = np.ldexp(G, -e0)
    mu = (a.sum(axis=0) + b.sum(axis=0)) / (len(a) + len(b))
    a -= mu
    b -= mu
    e1 = exponent_of(a, b)
    np.ldexp(a, -e1, out=a)
    np.ldexp(b, -e1, out=b)
    nA = np.einsum("ij,ij->i", a, a)
    nB = np.einsum("ij,ij->i", b, b)
    return Prepared(F, G, 0, a, b, nA, nB, -(e0 + e1))


def screen_threshold(p: Prepared, eps: float) -> float:
    """ε in screening units: the squared screening distance (cosine: squared chord 2ε)."""
    r = float(p.screen_eps(eps))
    return r * r


def coef(d: int, precision: str) -> tuple[float, float]:
    """(coef, tau): the screening error of a pair is <= coef * (nA + nB) + tau."""
    if precision == "float32":
        return 2.0 * (d + 4) * _U32 + f64_slack(d), d * 2.0**-140
    return 4.0 * f64_slack(d), d * 2.0**-1060


def choose_precision(precision: str, p: Prepared, e_q: float) -> str:
    if precision != "auto":
        return precision
    d = p.d
    typical = float(p.nA.mean() + p.nB.mean())
    coef32 = coef(d, "float32")[0]
    return "float32" if coef32 * typical <= 0.05 * e_q else "float64"


def sample_density(p: Prepared, e_q: float) -> float:
    """Estimated fraction of pairs within the threshold (from up to 256 rows of F)."""
    rng = np.random.default_rng(0)
    ia = rng.choice(len(p.a), size=min(len(p.a), 256), replace=False)
    ib = rng.choice(len(p.b), size=min(len(p.b), 8192), replace=False)
    q = p.nA[ia][:, None] + p.nB[ib][None, :] - 2.0 * (p.a[ia] @ p.b[ib].T)
    return float((q <= e_q).mean())
