"""Where the exact all-pairs measures run: the engine protocol and the in-memory engine.

The sections compute most numbers on the analysed rows themselves. The
measures that need every row, the H0 spanning forest of a set and the
fiber-product profile of a pair, ask an :class:`Engine` instead:
:class:`InMemory` computes them on the analysed rows (the default),
:class:`~._dask_engine.OnDask` on every row, on Dask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ._measures import rms_pairwise_distance
from ._preprocess import check_sets, preprocessed

__all__ = ["Engine", "InMemory"]

#: maps a pair's rows (NumPy or Dask) to its shared space: ``project(A, B) -> (ZA, ZB)``
Projection = Callable[[Any, Any], tuple[Any, Any]]


class Engine(Protocol):
    """What an engine gives the analysis and its sections.

    ``raw`` holds the sets as given (checked: a mapping of name to an array of
    paired rows, in input order). "Every row" below means the engine's rows: the
    analysed rows in memory, all rows on Dask; the ``analysed`` arguments are
    the analysed rows (an engine may use them when they are every row).
    """

    @property
    def raw(self) -> Mapping[str, Any]:
        """The sets as given, checked, in input order."""
        ...

    def rows(self, idx: np.ndarray | None, how: str) -> dict[str, np.ndarray]:
        """Every set's rows ``idx`` (sorted; None: all), preprocessed by ``how``, in memory."""
        ...

    def set_rows(self, name: str, analysed: np.ndarray) -> Any:
        """Every row of set ``name``, preprocessed."""
        ...

    def shared_rows(
        self, a: str, b: str, project: Projection, ZA: np.ndarray, ZB: np.ndarray
    ) -> tuple[Any, Any]:
        """Every row of the pair (a, b) in its shared space (``ZA``, ``ZB``: the analysed ones)."""
        ...

    def stacked(self, FA: Any, FB: Any) -> Any:
        """The rows of FA then those of FB, as one array."""
        ...

    def spanning_forest(self, X: Any) -> Any:
        """The minimum spanning forest of the rows X (a ``SpanningForest``)."""
        ...

    def rms_pairwise_distance(self, X: Any, analysed: np.ndarray) -> float:
        """The RMS pairwise distance of the rows X, whose analysed part is ``analysed``."""
        ...

    def epsilon_stars(self, FA: Any, FB: Any, fractions: Sequence[float]) -> list[float]:
        """The smallest ε containing each fraction of the diagonal true pairs (i, i)."""
        ...

    def fiber_profile(self, FA: Any, FB: Any, eps: np.ndarray) -> Any:
        """The diagonal fiber-product profile on the grid ``eps`` (a ``FiberProfile``)."""
        ...

    def computed_on(self, X: Any) -> str | None:
        """How the report says where a measure on the rows X ran (None: the analysed rows)."""
        ...

    def meta(self, n: int) -> dict[str, Any] | None:
        """``meta.distributed`` of report.json for ``n`` analysed rows (None: nothing to say)."""
        ...


class InMemory:
    """The engine of :func:`~sheaftopo.report.analyze` without Dask: all on the analysed rows."""

    def __init__(self, sets: Mapping[str, Any]) -> None:
        self.raw = check_sets(sets)

    def rows(self, idx: np.ndarray | None, how: str) -> dict[str, np.ndarray]:
        out = {k: M if idx is None else M[idx] for k, M in self.raw.items()}
        if how == "none":  # the checked sets themselves: nothing downstream writes to them
            return out
        return {k: preprocessed(M, how, f"set {k!r}") for k, M in out.items()}

    def set_rows(self, name: str, analysed: np.ndarray) -> np.ndarray:
        return analysed

    def shared_rows(
        self, a: str, b: str, project: Projection, ZA: np.ndarray, ZB: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return ZA, ZB

    def stacked(self, FA: np.ndarray, FB: np.ndarray) -> np.ndarray:
        return np.concatenate([FA, FB])

    def spanning_forest(self, X: np.ndarray) -> Any:
        from ..persistence import mst

        return mst(X)

    def rms_pairwise_distance(self, X: np.ndarray, analysed: np.ndarray) -> float:
        return rms_pairwise_distance(analysed)

    def epsilon_stars(
        self, FA: np.ndarray, FB: np.ndarray, fractions: Sequence[float]
    ) -> list[float]:
        from ..fiber import epsilon_star

        return [epsilon_star(FA, FB, "diagonal", fraction=f) for f in fractions]

    def fiber_profile(self, FA: np.ndarray, FB: np.ndarray, eps: np.ndarray) -> Any:
        from ..fiber import fiber_profile

        return fiber_profile(FA, FB, eps, true_pairs="diagonal")

    def computed_on(self, X: Any) -> str | None:
        return None

    def meta(self, n: int) -> dict[str, Any] | None:
        return None
