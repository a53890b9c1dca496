"""Section ``persistence`` of each set: its H0 diagram (the MST deaths), on the engine's rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import q
from .._engine import Engine
from .._steps import Section, SetInput, SetStep


def run(inp: SetInput, engine: Engine) -> Section:
    """The spanning forest of every row of the set (the engine's), summarised."""
    X = engine.set_rows(inp.name, inp.M)
    forest = engine.spanning_forest(X)
    out, arr = summary(forest, engine.rms_pairwise_distance(X, inp.M))
    where = engine.computed_on(X)
    if where is not None:
        out["computed_on"] = where
    return Section(out, arr)


def summary(forest: Any, s: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report entry of a spanning forest of a set whose RMS pairwise distance is s."""
    deaths = forest.weights
    unit = "distance (the set's units)"
    out = {
        "n_points": q(forest.n_vertices, "count"),
        "n_finite_pairs": q(len(deaths), "count"),
        "rms_pairwise_distance": q(s, unit, note="s: the scale every normalised number uses"),
        "death_min": q(deaths.min() if len(deaths) else 0.0, unit),
        "death_median": q(np.median(deaths) if len(deaths) else 0.0, unit),
        "death_mean": q(deaths.mean() if len(deaths) else 0.0, unit),
        "death_max": q(deaths.max(initial=0.0), unit),
        "total_persistence": q(forest.total_weight, unit, note="sum of the finite deaths"),
        "total_persistence_normalised": q(
            forest.total_weight / s, "RMS pairwise distances", note="sum of deaths / s"
        ),
        "mst_method": forest.method,
    }
    return out, {"diagram": forest.diagram, "deaths": deaths, "scale": s}


STEP = SetStep("persistence", "H0 persistence", run)
