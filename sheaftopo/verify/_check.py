"""Check a statement on seeded families, and shrink what violates it.

:func:`check` samples every family with its own seeded generator and reports the
worst ratio observed / bound, per family and overall; :func:`shrink` makes a
violating instance small while it still violates the statement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_int
from ._statement import (
    Family,
    Measurement,
    Statement,
    _as_families,
    _badness,
    _check_statement,
    family_rng,
)

__all__ = ["Counterexample", "FamilyResult", "Report", "check", "shrink"]


@dataclass(frozen=True)
class Counterexample:
    """An instance on which a statement fails, shrunk to a small one."""

    instance: Any
    label: str
    measurement: Measurement
    original_label: str
    original_ratio: float
    shrink_steps: int


def shrink(
    statement: Statement,
    instance: Any,
    family: Family | None = None,
    *,
    max_evaluations: int = 2000,
) -> Counterexample:
    """Shrink a counterexample greedily while it stays a counterexample.

    Repeatedly replaces the instance by the first candidate of
    ``family.shrink`` (fewer rows, rounder numbers, zeros) on which the
    statement still fails, until no candidate fails or the budget of
    evaluations is spent.

    Parameters
    ----------
    statement : Statement
    instance : object
        Must violate ``statement``.
    family : Family, optional
        Supplies ``shrink``, ``project`` and ``describe``; the default family
        treats ``instance`` as a dict of arrays.
    max_evaluations : int, keyword-only
        Budget of statement evaluations.

    Returns
    -------
    Counterexample

    Raises
    ------
    ValueError
        If ``instance`` does not violate the statement.
    """
    statement = _check_statement(statement)
    fam = family if family is not None else Family("instance", lambda rng: instance)
    if not isinstance(fam, Family):
        raise TypeError(f"family must be a Family or None; got {type(family).__name__}")
    max_evaluations = check_int(max_evaluations, "max_evaluations", minimum=1)
    current = statement.measure(instance)
    if current.holds:
        raise ValueError(
            f"instance must violate {statement.name!r} to be shrunk; its ratio is "
            f"{current.ratio:.6g} (holds)"
        )
    original_label, original_ratio = fam.label(instance), current.ratio
    evaluations, steps = 0, 0
    progress = True
    while progress and evaluations < max_evaluations:
        progress = False
        for cand in fam.shrink(instance):
            if fam.project is not None:
                cand = fam.project(cand)
                if cand is None:
                    continue
            evaluations += 1
            m = statement.measure(cand)
            if not m.holds:
                instance, current = cand, m
                steps += 1
                progress = True
                break
            if evaluations >= max_evaluations:
                break
    return Counterexample(
        instance, fam.label(instance), current, original_label, original_ratio, steps
    )


@dataclass(frozen=True)
class FamilyResult:
    """The worst of one family: ``worst`` is the largest ratio (inf/nan on failure)."""

    family: str
    instances: int
    worst: float
    worst_label: str
    violations: int
    tight: bool


@dataclass(frozen=True)
class Report:
    """What :func:`check` found.

    ``worst`` is the largest ratio over every instance (NaN when an instance
    could not be evaluated), ``worst_instance`` the instance attaining it,
    ``counterexample`` a shrunk violating instance (None when the statement
    held everywhere), ``families`` the per-family worst.
    """

    statement: str
    instances: int
    worst: float
    worst_label: str
    worst_instance: Any
    violations: int
    families: tuple[FamilyResult, ...]
    counterexample: Counterexample | None
    seconds: float

    @property
    def holds(self) -> bool:
        return self.violations == 0 and self.instances > 0

    def tight_worst(self) -> float | None:
        """The largest ratio over the families marked tight (None when none is)."""
        ws = [f.worst for f in self.families if f.tight]
        return max(ws) if ws else None


def check(
    statement: Statement,
    families: Family | Sequence[Family],
    *,
    n: int = 100,
    seed: int = 0,
    shrink_counterexample: bool = True,
    stop_on_violation: bool = False,
) -> Report:
    """Measure a statement on ``n`` seeded instances of every family.

    Parameters
    ----------
    statement : Statement
    families : Family or sequence of Family
    n : int, keyword-only
        Instances drawn per family.
    seed : int, keyword-only
        Every (statement, family) pair draws from its own generator seeded by
        ``seed`` and the two names, so a report is reproducible and adding a
        family does not change the others' instances.
    shrink_counterexample : bool, keyword-only
        Shrink the worst violating instance (see :func:`shrink`).
    stop_on_violation : bool, keyword-only
        Return at the first violation (what mutation testing needs).

    Returns
    -------
    Report

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.verify import Family, Statement, check
    >>> amgm = Statement("am-gm", lambda x: (np.sqrt(x["a"] * x["b"]), (x["a"] + x["b"]) / 2))
    >>> pos = Family("positive pairs", lambda rng: {"a": rng.uniform(0, 1), "b": rng.uniform(0, 1)})
    >>> rep = check(amgm, pos, n=200)
    >>> rep.holds, rep.worst <= 1
    (True, True)
    """
    statement = _check_statement(statement)
    fams = _as_families(families)
    n = check_int(n, "n", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    t0 = time.perf_counter()
    results: list[FamilyResult] = []
    worst_m: Measurement | None = None
    worst_inst: Any = None
    worst_label, worst_fam = "", fams[0]
    total = violations = 0
    stopped = False
    for fam in fams:
        rng = family_rng(seed, statement.name, fam.name)
        f_worst, f_label, f_viol, f_count = -math.inf, "", 0, 0
        for _ in range(n):
            inst = fam.sample(rng)
            m = statement.measure(inst)
            f_count += 1
            bad = _badness(m)
            if not m.holds:
                f_viol += 1
            if bad > f_worst or f_count == 1:
                f_worst = bad if not math.isnan(m.ratio) else math.nan
                f_label = fam.label(inst) + (f" [{m.error}]" if m.error else "")
            if worst_m is None or bad > _badness(worst_m):
                worst_m, worst_inst, worst_label, worst_fam = m, inst, f_label, fam
            if not m.holds and stop_on_violation:
                stopped = True
                break
            if math.isnan(f_worst):
                f_worst = math.nan
        total += f_count
        violations += f_viol
        results.append(FamilyResult(fam.name, f_count, f_worst, f_label, f_viol, fam.tight))
        if stopped:
            break
    cex = None
    if (
        violations
        and shrink_counterexample
        and worst_m is not None
        and not math.isnan(worst_m.ratio)
    ):
        cex = shrink(statement, worst_inst, worst_fam, max_evaluations=500)
    assert worst_m is not None
    return Report(
        statement=statement.name,
        instances=total,
        worst=worst_m.ratio,
        worst_label=worst_label,
        worst_instance=worst_inst,
        violations=violations,
        families=tuple(results),
        counterexample=cex,
        seconds=time.perf_counter() - t0,
    )
