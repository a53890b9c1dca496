"""How a report section is declared: a step, what it reads, what it returns.

A section of the report is one module of :mod:`._sections` holding one
:class:`SetStep` (run once per embedding set) or :class:`PairStep` (run once
per pair of sets) and the code that summarises it. The analysis
(:func:`~sheaftopo.report.analyze`) is a loop over the registered steps in
order: it gives each step a :class:`SetInput` or :class:`PairInput` and the
engine (:class:`~._engine.Engine`), times it under its label and files what it
returns (a :class:`Section`) under its key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from ._config import AnalysisConfig
    from ._engine import Engine

__all__ = [
    "GroupInput",
    "GroupStep",
    "PairInput",
    "PairStep",
    "Section",
    "SetInput",
    "SetStep",
    "check_registry",
]


class Section(NamedTuple):
    """What a step returns.

    Attributes
    ----------
    entry : dict
        The JSON-ready entry filed under the step's key in report.json.
    arrays : dict, optional
        Arrays for the figures: a set step's are merged into the set's arrays,
        a pair step's are filed under its key in the pair's arrays.
    provides : object, optional
        What later pair steps of the same pair read (``PairInput.products``).
    """

    entry: dict[str, Any]
    arrays: dict[str, Any] | None = None
    provides: Any = None


@dataclass(frozen=True)
class SetInput:
    """What a set step sees: one set's analysed rows and the run's settings.

    Attributes
    ----------
    name : str
        The set's name.
    M : ndarray, shape (n, d)
        Its analysed (subsampled, preprocessed) rows.
    cfg : AnalysisConfig
    dense : ndarray or None
        Positions among the analysed rows of the dense subsample (None: all).
    labels : ndarray, shape (n,), or None
        The analysed rows' labels.
    """

    name: str
    M: np.ndarray
    cfg: AnalysisConfig
    dense: np.ndarray | None
    labels: np.ndarray | None


@dataclass(frozen=True)
class PairInput:
    """What a pair step sees.

    Attributes
    ----------
    a, b : str
        The two sets' names.
    A, B : ndarray, shapes (n, d_a) and (n, d_b)
        Their analysed rows (row i of A and of B describe one item).
    cfg : AnalysisConfig
    dense : ndarray or None
        Positions of the dense subsample (None: all analysed rows).
    set_arrays : mapping of str to dict
        Every set's arrays from the set steps (e.g. its H0 diagram and scale).
    products : mapping of str to object
        What the earlier pair steps of this pair provided, by step key.
    memo : dict
        One per analysis, shared by every pair: what a step computes once per
        set and reuses across pairs (see :meth:`per_set`).
    rows : ndarray of int64, shape (n,)
        The original row number (in the sets as given) of every analysed row.
    labels : ndarray, shape (n,), or None
        The analysed rows' labels.
    """

    a: str
    b: str
    A: np.ndarray
    B: np.ndarray
    cfg: AnalysisConfig
    dense: np.ndarray | None
    set_arrays: Mapping[str, Mapping[str, Any]]
    products: Mapping[str, Any]
    memo: dict[tuple[str, str], Any]
    rows: np.ndarray
    labels: np.ndarray | None

    def per_set(self, what: str, name: str, rows: np.ndarray, compute: Callable[..., Any]) -> Any:
        """``compute(rows)`` for set ``name``, computed on the first pair that asks."""
        key = (what, name)
        if key not in self.memo:
            self.memo[key] = compute(rows)
        return self.memo[key]


@dataclass(frozen=True)
class GroupInput:
    """What a group step sees: every set at once (three or more sets).

    Attributes
    ----------
    names : list of str
        The sets' names, in input order.
    X : mapping of str to ndarray, each of shape (n, d_name)
        Every set's analysed rows.
    cfg : AnalysisConfig
    graph : list of (int, int)
        The modality graph: edges (i, j), i < j, indices into ``names``
        (every pair unless ``analyze(graph=...)`` gave fewer).
    rows : ndarray of int64, shape (n,)
        The original row number of every analysed row.
    labels : ndarray, shape (n,), or None
    pairs : list of dict
        The pair entries of report.json already computed (every pair of sets).
    pair_products : mapping of str to dict
        What each pair's steps provided, by pair key then step key.
    set_arrays : mapping of str to dict
        Every set's arrays from the set steps.
    """

    names: list[str]
    X: Mapping[str, np.ndarray]
    cfg: AnalysisConfig
    graph: list[tuple[int, int]]
    rows: np.ndarray
    labels: np.ndarray | None
    pairs: list[dict[str, Any]]
    pair_products: Mapping[str, Mapping[str, Any]]
    set_arrays: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class GroupStep:
    """A section computed once over all the sets, when there are at least ``min_sets``.

    Attributes
    ----------
    key : str
        Its top-level key in report.json (None there when it did not run).
    label : str
        Its progress and timing label.
    run : callable
        ``run(inp: GroupInput, engine: Engine) -> Section``; the section's
        arrays are filed under ``arrays[key]``.
    min_sets : int
        The fewest sets it runs on.
    """

    key: str
    label: str
    run: Callable[[GroupInput, Engine], Section]
    min_sets: int = 3


@dataclass(frozen=True)
class SetStep:
    """A per-set section.

    Attributes
    ----------
    key : str
        Where its entry goes in ``sets[name]`` of report.json.
    label : str
        Its progress and timing label (``"<label>: <set>"``).
    run : callable
        ``run(inp: SetInput, engine: Engine) -> Section``.
    needs_labels : bool
        Runs only when the analysis was given labels.
    """

    key: str
    label: str
    run: Callable[[SetInput, Engine], Section]
    needs_labels: bool = False


@dataclass(frozen=True)
class PairStep:
    """A per-pair section.

    Attributes
    ----------
    key : str
        Where its entry goes in the pair's entry of report.json.
    label : str
        Its progress and timing label (``"<label>: <a> | <b>"``).
    run : callable
        ``run(inp: PairInput, engine: Engine) -> Section``.
    needs : tuple of str
        Keys of the earlier pair steps whose ``provides`` it reads, and of the
        set steps whose arrays it reads.
    """

    key: str
    label: str
    run: Callable[[PairInput, Engine], Section]
    needs: tuple[str, ...] = ()


def check_registry(set_steps: Sequence[SetStep], pair_steps: Sequence[PairStep]) -> None:
    """Raise ``ValueError`` unless every key is unique and every need comes earlier."""
    seen = [s.key for s in set_steps]
    if len(set(seen)) != len(seen):
        raise ValueError(f"set steps with one key: {seen}")
    available = set(seen)
    done: set[str] = set()
    for step in pair_steps:
        if step.key in done:
            raise ValueError(f"two pair steps have the key {step.key!r}")
        missing = [need for need in step.needs if need not in done | available]
        if missing:
            raise ValueError(
                f"pair step {step.key!r} needs {missing}, which no earlier step provides"
            )
        done.add(step.key)
