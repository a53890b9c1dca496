"""Section ``items`` of each pair: per-item scores, the worst items and, with labels, per class.

Being written this session (issue 18) by helper I; the step is registered so
that the plumbing can be tested.
"""

from __future__ import annotations

from .._engine import Engine
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    return Section({})


STEP = PairStep(
    "items",
    "per-item scores",
    run,
    needs=("distance_alignment", "neighbourhoods", "shared_space", "retrieval"),
)
