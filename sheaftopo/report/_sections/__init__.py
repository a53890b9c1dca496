"""The report's sections, one module each, and the registry the analysis loops over.

Adding a section: write its module here (a ``STEP``: a
:class:`~.._steps.SetStep` or :class:`~.._steps.PairStep` with its summary
code) and add one line to :data:`SET_STEPS` or :data:`PAIR_STEPS`. The steps
run in the order listed; a pair step may read what earlier ones provide (its
``needs``).
"""

from __future__ import annotations

from .._steps import PairStep, SetStep, check_registry
from . import (
    diagram_distances,
    distance_alignment,
    distributions,
    fiber_product,
    labels,
    neighbourhoods,
    persistence,
    retrieval,
    shared_space,
    sparsification,
    subspaces,
)

__all__ = ["PAIR_STEPS", "SET_STEPS"]

#: the per-set steps, in order (report.json: ``sets[name][step.key]``)
SET_STEPS: tuple[SetStep, ...] = (
    persistence.STEP,
    sparsification.STEP,
    labels.STEP,
)

#: the per-pair steps, in order (report.json: ``pairs[i][step.key]``)
PAIR_STEPS: tuple[PairStep, ...] = (
    diagram_distances.STEP,
    distance_alignment.STEP,
    neighbourhoods.STEP,
    shared_space.STEP,
    retrieval.STEP,
    distributions.STEP,
    fiber_product.STEP,
    subspaces.STEP,
)

check_registry(SET_STEPS, PAIR_STEPS)
