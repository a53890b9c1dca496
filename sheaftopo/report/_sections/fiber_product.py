"""Section ``fiber_product`` of each pair: the approximate fiber-product profile and ε*.

Runs on the engine's rows (every row on Dask) in the pair's shared space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._config import AnalysisConfig, curve, q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section

#: recall targets of the three reported ε: every true pair, half, 90 %
STAR_FRACTIONS = (1.0, 0.5, 0.9)


def run(inp: PairInput, engine: Engine) -> Section:
    """The diagonal profile on a grid up to ε* (or half the pooled RMS distance when ε* is 0)."""
    project, ZA, ZB = inp.products["shared_space"]
    FA, FB = engine.shared_rows(inp.a, inp.b, project, ZA, ZB)
    stars = engine.epsilon_stars(FA, FB, STAR_FRACTIONS)
    top = stars[0]
    if not top > 0:
        top = 0.5 * engine.rms_pairwise_distance(engine.stacked(FA, FB), np.concatenate([ZA, ZB]))
    prof = engine.fiber_profile(FA, FB, eps_grid(top, stars, inp.cfg))
    out, arr = summary(prof, *stars)
    where = engine.computed_on(FA)
    if where is not None:
        out["computed_on"] = where
    return Section(out, arr)


def eps_grid(top: float, stars: Sequence[float], cfg: AnalysisConfig) -> np.ndarray:
    """The profile's grid: ``n_eps`` points up to ``top``, and the reported ε."""
    return np.unique(np.concatenate([np.linspace(0.0, top, cfg.n_eps), stars]))


def _at(prof: Any, eps: float, n: int) -> dict[str, Any]:
    """The candidate pairs of the profile at ``eps`` (n true pairs)."""
    c = int(prof.counts[int(np.searchsorted(prof.eps, eps))])
    return {
        "pairs": q(c, "count"),
        "pairs_per_item": q(
            c / n, "pairs per row", note="candidates within eps of a query, on average"
        ),
        "pair_fraction": q(c / prof.n_total, "fraction of all n^2 pairs"),
    }


def summary(
    prof: Any, star: float, e50: float, e90: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report entry of a diagonal fiber profile and its three ε."""
    n = len(prof.true_distances)
    unit = "shared-space distance"
    out = {
        "metric": prof.metric,
        "eps_star": q(
            star,
            unit,
            note="smallest eps whose product contains every true pair "
            "(i, i) (sheaftopo.fiber.epsilon_star)",
        ),
        "eps_recall_50": q(e50, unit, note="smallest eps containing half of the true pairs"),
        "eps_recall_90": q(e90, unit, note="smallest eps containing 90% of the true pairs"),
        "at_eps_star": _at(prof, star, n),
        "at_eps_recall_90": _at(prof, e90, n),
        "at_eps_recall_50": _at(prof, e50, n),
        "profile_eps": curve(prof.eps, unit),
        "profile_pairs": curve(prof.counts, "count"),
        "profile_recall": curve(prof.recall, "fraction of the n true pairs"),
        "method": prof.method,
    }
    arr = {
        "eps": prof.eps,
        "pair_fraction": prof.fractions,
        "recall": prof.recall,
        "eps_star": star,
    }
    return out, arr


STEP = PairStep("fiber_product", "fiber product", run, needs=("shared_space",))
