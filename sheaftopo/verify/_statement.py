"""Statements, instance families, and the three verbs: check, search, shrink.

A *statement* is a claim about instances, written as a function that maps one
instance to the pair ``(observed, bound)``; the statement holds on that
instance when ``observed <= bound * (1 + rtol) + atol``. The quantity the
harness tracks is the ratio ``observed / bound``: a bound that holds has every
ratio at most one, a *sharp* bound has ratios reaching one on some family, and
a counterexample is an instance with ratio above one.

A *family* draws instances from a seeded generator and knows how to perturb
them (for local search) and how to make them smaller (for shrinking a
counterexample). Instances are usually dicts of arrays and numbers, for which
generic perturbation and shrinking are provided.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_real
from ._instances import describe_instance, perturb_arrays, shrink_arrays

__all__ = ["Family", "Measurement", "Statement", "family_rng"]


@dataclass(frozen=True)
class Measurement:
    """One instance measured against a statement.

    ``ratio`` is ``observed / bound`` (0 when both are 0, inf when only the
    bound is), NaN when the statement could not be evaluated; ``error`` holds
    the exception text in that case.
    """

    observed: float
    bound: float
    ratio: float
    holds: bool
    error: str = ""


@dataclass(frozen=True)
class Statement:
    """A claim ``observed(instance) <= bound(instance)``, checked numerically.

    Parameters
    ----------
    name : str
        Short identifier, used in reports.
    evaluate : callable
        ``evaluate(instance) -> (observed, bound)``, two real numbers. For an
        identity checked against an oracle, return ``(error, tolerance)``. A
        claim made of several inequalities returns its worst one, e.g.
        ``(max_k observed_k / bound_k, 1.0)``.
    rtol, atol : float, keyword-only
        The statement holds on an instance when
        ``observed <= bound * (1 + rtol) + atol``: room for rounding, never
        for the mathematics.
    description : str, keyword-only
        The claim in words (shown in reports).
    torch_ratio : callable, optional, keyword-only
        ``torch_ratio(tensors) -> tensor``: the same ratio observed / bound,
        written in torch so that :func:`search` can ascend its gradient.
        ``tensors`` is the instance with every float array turned into a
        float64 tensor that requires grad.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.verify import Statement
    >>> triangle = Statement(
    ...     "triangle",
    ...     lambda x: (np.linalg.norm(x["a"] + x["b"]),
    ...                np.linalg.norm(x["a"]) + np.linalg.norm(x["b"])))
    >>> m = triangle.measure({"a": np.array([3.0, 0.0]), "b": np.array([0.0, 4.0])})
    >>> round(m.ratio, 6), m.holds
    (0.714286, True)
    """

    name: str
    evaluate: Callable[[Any], tuple[float, float]]
    rtol: float = 1e-9
    atol: float = 0.0
    description: str = ""
    torch_ratio: Callable[[dict[str, Any]], Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str; got {self.name!r}")
        if not callable(self.evaluate):
            raise TypeError(f"evaluate must be callable; got {type(self.evaluate).__name__}")
        check_real(self.rtol, "rtol", low=0.0)
        check_real(self.atol, "atol", low=0.0)
        if self.torch_ratio is not None and not callable(self.torch_ratio):
            raise TypeError(
                f"torch_ratio must be callable or None; got {type(self.torch_ratio).__name__}"
            )

    def measure(self, instance: Any) -> Measurement:
        """Evaluate the statement on one instance.

        An exception raised by ``evaluate`` or a non-finite result is a
        failure (``holds=False``, ``ratio=nan``), never silently skipped.
        """
        try:
            observed, bound = self.evaluate(instance)
            observed, bound = float(observed), float(bound)
        except Exception as exc:  # a raising statement is a finding
            return Measurement(math.nan, math.nan, math.nan, False, f"{type(exc).__name__}: {exc}")
        if math.isnan(observed) or math.isnan(bound) or math.isinf(observed):
            return Measurement(observed, bound, math.nan, False, "non-finite observed or bound")
        if bound > 0:
            ratio = observed / bound if math.isfinite(bound) else 0.0
        else:
            ratio = 0.0 if observed <= max(bound, 0.0) + self.atol else math.inf
        holds = (
            observed <= bound * (1.0 + self.rtol) + self.atol
            if bound >= 0
            else (observed <= bound + self.atol)
        )
        return Measurement(observed, bound, ratio, bool(holds))


def _badness(m: Measurement) -> float:
    """Order measurements worst-first: failures to evaluate beat every ratio."""
    return math.inf if math.isnan(m.ratio) else m.ratio


@dataclass(frozen=True)
class Family:
    """A seeded generator of instances, with local moves for search and shrinking.

    Parameters
    ----------
    name : str
        Shown in reports (per-family worst ratios).
    sample : callable
        ``sample(rng) -> instance`` for a ``numpy.random.Generator``.
    describe : callable, optional
        ``describe(instance) -> str``, a short label; the default lists the
        instance's keys, shapes and scalars.
    perturb : callable, optional
        ``perturb(instance, rng, step) -> instance``, a random move of relative
        size ``step``, used by :func:`search`. The default moves every float
        array of a dict instance (:func:`perturb_arrays`).
    shrink : callable, optional
        ``shrink(instance) -> iterable of instances``, smaller or simpler
        variants, simplest first, used by :func:`shrink`. The default drops rows
        and rounds entries of a dict instance.
    project : callable, optional
        Maps a perturbed instance back into the family (e.g. symmetrise and
        clip eigenvalues to keep a matrix SPD); applied after ``perturb`` and to
        every shrink candidate. Returning None rejects the candidate.
    tight : bool, keyword-only
        True for the family on which the bound is known to be sharp: the
        harness then requires its worst ratio to reach ``1 - delta``.
    """

    name: str
    sample: Callable[[np.random.Generator], Any]
    describe: Callable[[Any], str] = describe_instance
    perturb: Callable[[Any, np.random.Generator, float], Any] = perturb_arrays
    shrink: Callable[[Any], Iterable[Any]] = shrink_arrays
    project: Callable[[Any], Any] | None = None
    tight: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str; got {self.name!r}")
        for attr in ("sample", "describe", "perturb", "shrink"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"{attr} must be callable; got {getattr(self, attr)!r}")
        if self.project is not None and not callable(self.project):
            raise TypeError(f"project must be callable or None; got {self.project!r}")

    def moved(self, instance: Any, rng: np.random.Generator, step: float) -> Any:
        cand = self.perturb(instance, rng, step)
        return cand if self.project is None else self.project(cand)

    def label(self, instance: Any) -> str:
        try:
            return f"{self.name}: {self.describe(instance)}"
        except Exception as exc:  # a label must never hide the finding
            return f"{self.name}: <describe failed: {type(exc).__name__}>"


def _as_families(families: Family | Sequence[Family], name: str = "families") -> list[Family]:
    if isinstance(families, Family):
        return [families]
    try:
        out = list(families)
    except TypeError:
        raise TypeError(
            f"{name} must be a Family or a sequence of Family; got {type(families).__name__}"
        ) from None
    if not out or not all(isinstance(f, Family) for f in out):
        raise TypeError(f"{name} must be a non-empty sequence of Family objects; got {out!r}")
    return out


def _check_statement(statement: Any) -> Statement:
    if not isinstance(statement, Statement):
        raise TypeError(f"statement must be a Statement; got {type(statement).__name__}")
    return statement


def family_rng(seed: int, *names: str) -> np.random.Generator:
    """The generator of one (statement, family) pair: stable across runs and processes."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])
