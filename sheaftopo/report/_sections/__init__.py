"""The report's sections, one module each, and the registry the analysis loops over.

Adding a section: write its module here (a ``STEP``: a
:class:`~.._steps.SetStep` or :class:`~.._steps.PairStep` with its summary
code) and add one line to :data:`SET_STEPS`, :data:`PAIR_STEPS` or
:data:`GROUP_STEPS`. The steps run in the order listed (set steps, then pair
steps, then group steps); a pair step may read what earlier ones provide (its
``needs``); a group step sees every set and every pair's entry and products.
"""

from __future__ import annotations

from .._steps import GroupStep, PairStep, SetStep, check_registry
from . import (
    diagram_distances,
    distance_alignment,
    distributions,
    fiber_product,
    items,
    labels,
    neighbourhoods,
    persistence,
    retrieval,
    shared_space,
    sheaf,
    sparsification,
    subspaces,
)

__all__ = ["GROUP_STEPS", "PAIR_STEPS", "SET_STEPS"]

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
    items.STEP,
)

#: the steps over all sets at once, in order (report.json: ``data[step.key]``, None when a
#: step did not run: fewer sets than its ``min_sets``)
GROUP_STEPS: tuple[GroupStep, ...] = (sheaf.STEP,)

check_registry(SET_STEPS, PAIR_STEPS)
