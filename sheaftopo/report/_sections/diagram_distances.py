"""Section ``persistence`` of each pair: distances between the two sets' H0 diagrams.

The headline, ``sliced_wasserstein_relative``, compares the *shapes* of the two
death distributions: each diagram is scaled to unit total persistence (its
deaths divided by their sum), and the sliced Wasserstein distance of the two
is divided by its bound, the cost of sending both to the diagonal:

.. math::

    SW_{rel} = \\frac{SW(D_a / T_a,\\ D_b / T_b)}
    {SW(D_a / T_a,\\ \\emptyset) + SW(D_b / T_b,\\ \\emptyset)} \\in [0, 1],

with :math:`T` the total persistence (the triangle inequality of the p = 1
distance at fixed directions gives the bound). It is free of scale (any factor
cancels) and of size: with unit total persistence the p = 1 distance is a
mean over points, and the shape of the MST edge-length distribution converges
as n grows, whereas the sum over points of the raw distance grows with n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section

_EMPTY = np.zeros((0, 2))


def run(inp: PairInput, engine: Engine) -> Section:
    """Sliced Wasserstein and bottleneck distances of the diagrams of the set steps."""
    return Section(summary(inp.set_arrays[inp.a], inp.set_arrays[inp.b], inp.cfg.sw_directions))


def _unit_total(dgm: np.ndarray) -> np.ndarray:
    """The finite points of an H0 diagram (births 0) scaled to unit total persistence.

    All deaths 0 (every point on the diagonal): the empty diagram, its equal.
    """
    fin = dgm[np.isfinite(dgm[:, 1])]
    total = float(np.sum(fin[:, 1] - fin[:, 0]))
    return fin / total if total > 0 else _EMPTY


def relative_sw(da: np.ndarray, db: np.ndarray, n_directions: int) -> float:
    """Sliced Wasserstein of the diagrams at unit total persistence, over its bound (0..1)."""
    from ...persistence import sliced_wasserstein

    ua, ub = _unit_total(da), _unit_total(db)
    bound = sliced_wasserstein(ua, _EMPTY, n_directions=n_directions) + sliced_wasserstein(
        ub, _EMPTY, n_directions=n_directions
    )
    if bound == 0:
        return 0.0
    sw = sliced_wasserstein(ua, ub, n_directions=n_directions)
    return min(sw / bound, 1.0)


def summary(pa: Any, pb: Any, n_directions: int) -> dict[str, Any]:
    """The distances between two sets' diagrams (headline: scale- and size-free)."""
    from ...persistence import bottleneck, sliced_wasserstein

    da = pa["diagram"] / pa["scale"]
    db = pb["diagram"] / pb["scale"]
    unit = "RMS pairwise distances (each diagram divided by its set's s)"
    return {
        "sliced_wasserstein_relative": q(
            relative_sw(da, db, n_directions),
            "fraction (0 to 1)",
            note="how differently the two sets' MST edge lengths (H0 deaths) are distributed, "
            "up to scale: sliced Wasserstein distance (Carriere-Cuturi-Oudot, p=1, "
            f"{n_directions} evenly spaced directions) between the diagrams each scaled to "
            "unit total persistence, divided by its bound (both sent to the diagonal); "
            "0: the same distribution of deaths, 1: the bound. Free of scale and of the "
            "number of points",
            better="lower",
        ),
        "bottleneck": q(
            bottleneck(da, db),
            unit,
            note="exact (Hera) bottleneck distance of the normalised diagrams: the largest "
            "single mismatch of a death (e.g. a gap between clusters that one set has and the "
            "other not); at most half the largest normalised death; scale-free, changes "
            "slowly with the number of points",
            better="lower",
        ),
        "sliced_wasserstein": q(
            sliced_wasserstein(da, db, n_directions=n_directions, essential="drop"),
            unit,
            note="the raw sliced Wasserstein distance of the normalised diagrams (same "
            "directions): a sum over all diagram points, so it grows with the number of "
            "points; compare only reports of the same size (the headline is "
            "sliced_wasserstein_relative)",
            better="lower",
        ),
    }


STEP = PairStep("persistence", "diagram distances", run, needs=("persistence",))
