"""Numerical verification of your own statements: check, search, shrink.

A researcher states a bound as a function of an instance returning
``(observed, bound)`` (:class:`Statement`), picks or writes instance families
(:class:`Family`; public generators for point clouds with ties, duplicates and
clusters, SPD pairs by condition number, sheaves on graphs, persistence
diagrams and paired embeddings), and gets back

* :func:`check` -- the worst ratio observed / bound over seeded instances,
  per family, with the instance that attains it;
* :func:`search` -- an adversarial search that maximises the ratio (random
  restarts, local moves, gradient ascent through torch where the statement
  is differentiable);
* :func:`shrink` -- a small counterexample when the ratio exceeds one.

Hypothesis strategies for the same instances are in
:mod:`sheaftopo.verify.strategies` (needs ``hypothesis``). The checks of the
theory pages (``python -m verification``) are written with this API; see
``docs/verify.md`` for a tutorial.
"""

from ._check import Counterexample, FamilyResult, Report, check, shrink
from ._generators import diagrams, paired_embeddings, point_clouds, sheaves_on_graphs, spd_pairs
from ._instances import perturb_arrays, shrink_arrays
from ._search import SearchResult, search
from ._statement import Family, Measurement, Statement

__all__ = [
    "Counterexample",
    "Family",
    "FamilyResult",
    "Measurement",
    "Report",
    "SearchResult",
    "Statement",
    "check",
    "diagrams",
    "paired_embeddings",
    "perturb_arrays",
    "point_clouds",
    "search",
    "sheaves_on_graphs",
    "shrink",
    "shrink_arrays",
    "spd_pairs",
]
