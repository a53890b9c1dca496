"""Section ``persistence`` of each pair: distances between the two sets' normalised H0 diagrams."""

from __future__ import annotations

from typing import Any

from .._config import q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """Sliced Wasserstein and bottleneck distances of the diagrams of the set steps."""
    return Section(summary(inp.set_arrays[inp.a], inp.set_arrays[inp.b], inp.cfg.sw_directions))


def summary(pa: Any, pb: Any, n_directions: int) -> dict[str, Any]:
    """The distances between two sets' diagrams, each divided by its set's scale."""
    from ...persistence import bottleneck, sliced_wasserstein

    da = pa["diagram"] / pa["scale"]
    db = pb["diagram"] / pb["scale"]
    unit = "RMS pairwise distances"
    return {
        "sliced_wasserstein": q(
            sliced_wasserstein(da, db, n_directions=n_directions, essential="drop"),
            unit,
            note=f"Carriere-Cuturi-Oudot, p=1, {n_directions} evenly spaced directions, "
            "diagrams divided by each set's s",
        ),
        "bottleneck": q(bottleneck(da, db), unit, note="exact (Hera), normalised diagrams"),
    }


STEP = PairStep("persistence", "diagram distances", run, needs=("persistence",))
