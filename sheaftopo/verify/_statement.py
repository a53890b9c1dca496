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
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_real

__all__ = [
    "Counterexample",
    "Family",
    "FamilyResult",
    "Measurement",
    "Report",
    "SearchResult",
    "Statement",
    "check",
    "search",
    "shrink",
]


# --------------------------------------------------------------------------
# statements
# --------------------------------------------------------------------------


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
        holds = observed <= bound * (1.0 + self.rtol) + self.atol if bound >= 0 else (
            observed <= bound + self.atol
        )
        return Measurement(observed, bound, ratio, bool(holds))


def _badness(m: Measurement) -> float:
    """Order measurements worst-first: failures to evaluate beat every ratio."""
    return math.inf if math.isnan(m.ratio) else m.ratio


# --------------------------------------------------------------------------
# generic perturbation and shrinking of dict instances
# --------------------------------------------------------------------------


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def perturb_arrays(instance: Any, rng: np.random.Generator, step: float) -> Any:
    """Move every float array of a dict instance by relative noise of size ``step``.

    Each array moves by ``step * scale * N(0, 1)`` entrywise, ``scale`` its
    largest magnitude (1 for an all-zero array); float scalars are multiplied
    by ``exp(step * N(0, 1))``. Integers and other values are kept.
    """
    if not isinstance(instance, dict):
        raise TypeError(
            "the generic perturbation needs a dict instance; give the Family a perturb= "
            f"function for {type(instance).__name__} instances"
        )
    out = {}
    for k, v in instance.items():
        if _is_float_array(v) and v.size:
            scale = float(np.abs(v).max()) or 1.0
            out[k] = v + step * scale * rng.standard_normal(v.shape)
        elif isinstance(v, float) and math.isfinite(v):
            out[k] = v * math.exp(step * float(rng.standard_normal()))
        else:
            out[k] = v
    return out


def _row_count(instance: dict) -> int:
    lengths = {v.shape[0] for v in instance.values() if isinstance(v, np.ndarray) and v.ndim}
    return lengths.pop() if len(lengths) == 1 else 0


def shrink_arrays(instance: Any) -> Iterator[Any]:
    """Smaller variants of a dict instance, simplest first.

    Candidates: drop one row from every array (and the matching column of the
    square ones) when all arrays share their first length; then round float
    arrays to 1, 2, 3 and 6 significant digits; then set single float entries
    to zero.
    """
    if not isinstance(instance, dict):
        return
    n = _row_count(instance)
    if n > 1:
        for i in range(n):
            keep = np.delete(np.arange(n), i)
            cand = {}
            for k, v in instance.items():
                if isinstance(v, np.ndarray) and v.ndim:
                    w = v[keep]
                    if v.ndim >= 2 and v.shape[1] == n:
                        w = w[:, keep]
                    cand[k] = w
                else:
                    cand[k] = v
            yield cand
    for digits in (1, 2, 3, 6):
        cand = {}
        changed = False
        for k, v in instance.items():
            if _is_float_array(v) and v.size:
                r = _round_significant(v, digits)
                changed |= not np.array_equal(r, v)
                cand[k] = r
            else:
                cand[k] = v
        if changed:
            yield cand
    for k, v in instance.items():
        if _is_float_array(v) and v.size <= 64:
            for idx in zip(*np.nonzero(v), strict=True):
                w = v.copy()
                w[idx] = 0.0
                yield {**instance, k: w}


def _round_significant(v: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(v != 0, 10.0 ** (np.floor(np.log10(np.abs(v))) - digits + 1), 1.0)
        out = np.where(np.isfinite(mag) & (mag > 0), np.round(v / mag) * mag, v)
    return np.asarray(out, dtype=v.dtype)


def describe_instance(instance: Any) -> str:
    """A one-line description: array shapes and scalar values."""
    if isinstance(instance, dict):
        parts = []
        for k, v in instance.items():
            if isinstance(v, np.ndarray):
                parts.append(f"{k}: {v.dtype.name}{list(v.shape)}")
            elif isinstance(v, (int, float, np.integer, np.floating, str, bool)):
                parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
            else:
                parts.append(f"{k}: {type(v).__name__}")
        return ", ".join(parts)
    return type(instance).__name__


# --------------------------------------------------------------------------
# families
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# shrinking
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# check: sample every family, report the worst
# --------------------------------------------------------------------------


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
    if violations and shrink_counterexample and worst_m is not None and not math.isnan(
        worst_m.ratio
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


# --------------------------------------------------------------------------
# search: maximise the ratio
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """What :func:`search` found: the instance with the largest ratio.

    ``trace`` holds the best ratio after each restart; ``counterexample`` is
    the shrunk best instance when it violates the statement.
    """

    statement: str
    family: str
    worst: float
    worst_label: str
    worst_instance: Any
    evaluations: int
    trace: tuple[float, ...]
    counterexample: Counterexample | None
    seconds: float = field(default=0.0)


def _gradient_ascent(
    statement: Statement, instance: dict, steps: int, lr: float
) -> dict | None:
    """Ascend ``log torch_ratio`` from ``instance`` with Adam; None if not applicable."""
    import torch

    keys = [k for k, v in instance.items() if _is_float_array(v) and v.size]
    if not keys or statement.torch_ratio is None:
        return None
    params = {k: torch.tensor(instance[k], dtype=torch.float64, requires_grad=True) for k in keys}
    scales = {k: float(np.abs(instance[k]).max()) or 1.0 for k in keys}
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    best, best_val = None, -math.inf
    for _ in range(steps):
        opt.zero_grad()
        tensors = {**instance, **{k: params[k] * 1.0 for k in keys}}
        r = statement.torch_ratio(tensors)
        if not bool(torch.isfinite(r)) or float(r.detach()) <= 0:
            break
        if float(r.detach()) > best_val:
            best_val = float(r.detach())
            best = {**instance, **{k: params[k].detach().numpy().copy() for k in keys}}
        (-torch.log(r)).backward()
        for k in keys:
            grad = params[k].grad
            if grad is not None:
                grad.mul_(scales[k])
        opt.step()
    return best


def search(
    statement: Statement,
    family: Family,
    *,
    restarts: int = 10,
    steps: int = 50,
    step_size: float = 0.2,
    gradient_steps: int = 0,
    learning_rate: float = 0.01,
    seed: int = 0,
    shrink_counterexample: bool = True,
) -> SearchResult:
    """Adversarial search: look for the instance that maximises observed / bound.

    Each restart samples an instance from ``family`` and hill-climbs: a random
    move of relative size ``step`` (``family.perturb`` then ``family.project``)
    is kept when the ratio grows; the step doubles after a success and halves
    after three failures in a row. With ``gradient_steps > 0`` and a statement
    that has ``torch_ratio``, each restart first ascends the gradient of
    ``log(observed / bound)`` through torch (the exact ratio, in NumPy, decides
    what is kept). The best instance over all restarts is returned and, if it
    violates the statement, shrunk.

    Parameters
    ----------
    statement : Statement
    family : Family
    restarts, steps : int, keyword-only
        Random restarts, and local moves per restart.
    step_size : float, keyword-only
        Initial relative size of a move, in (0, 10].
    gradient_steps : int, keyword-only
        Adam steps on the torch ratio per restart (needs torch).
    learning_rate : float, keyword-only
        Adam's learning rate, relative to each array's largest magnitude.
    seed : int, keyword-only
    shrink_counterexample : bool, keyword-only

    Returns
    -------
    SearchResult

    Examples
    --------
    A planted false claim, ``|a + b| <= max(|a|, |b|)``, is refuted and shrunk:

    >>> import numpy as np
    >>> from sheaftopo.verify import Family, Statement, search
    >>> false = Statement(
    ...     "max-norm", lambda x: (abs(x["a"] + x["b"]), max(abs(x["a"]), abs(x["b"]))))
    >>> fam = Family("reals", lambda rng: {"a": rng.normal(), "b": rng.normal()})
    >>> res = search(false, fam, restarts=3, steps=20)
    >>> res.worst > 1, res.counterexample is not None
    (True, True)
    """
    statement = _check_statement(statement)
    if not isinstance(family, Family):
        raise TypeError(f"family must be a Family; got {type(family).__name__}")
    restarts = check_int(restarts, "restarts", minimum=1)
    steps = check_int(steps, "steps", minimum=0)
    step_size = check_real(step_size, "step_size", low=0.0, high=10.0, low_inclusive=False)
    gradient_steps = check_int(gradient_steps, "gradient_steps", minimum=0)
    learning_rate = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    seed = check_int(seed, "seed", minimum=0)
    if gradient_steps and statement.torch_ratio is None:
        raise ValueError(
            f"gradient_steps={gradient_steps} needs a statement with torch_ratio; "
            f"{statement.name!r} has none"
        )
    t0 = time.perf_counter()
    rng = family_rng(seed, statement.name, family.name, "search")
    best_inst: Any = None
    best_m: Measurement | None = None
    evaluations = 0
    trace: list[float] = []

    def consider(inst: Any) -> Measurement:
        nonlocal best_inst, best_m, evaluations
        m = statement.measure(inst)
        evaluations += 1
        if best_m is None or _badness(m) > _badness(best_m):
            best_inst, best_m = inst, m
        return m

    for _ in range(restarts):
        inst = family.sample(rng)
        cur = consider(inst)
        if gradient_steps and isinstance(inst, dict):
            climbed = _gradient_ascent(statement, inst, gradient_steps, learning_rate)
            if climbed is not None and family.project is not None:
                climbed = family.project(climbed)
            if climbed is not None:
                m = consider(climbed)
                if _badness(m) > _badness(cur):
                    inst, cur = climbed, m
        step, fails = step_size, 0
        for _ in range(steps):
            if math.isinf(_badness(cur)):
                break
            cand = family.moved(inst, rng, step)
            if cand is None:
                continue
            m = consider(cand)
            if _badness(m) > _badness(cur):
                inst, cur, fails = cand, m, 0
                step = min(step * 2.0, 10.0)
            else:
                fails += 1
                if fails >= 3:
                    step, fails = step / 2.0, 0
        assert best_m is not None
        trace.append(_badness(best_m))
    assert best_m is not None
    cex = None
    if not best_m.holds and shrink_counterexample and not math.isnan(best_m.ratio):
        cex = shrink(statement, best_inst, family, max_evaluations=500)
    label = family.label(best_inst) + (f" [{best_m.error}]" if best_m.error else "")
    return SearchResult(
        statement=statement.name,
        family=family.name,
        worst=best_m.ratio,
        worst_label=label,
        worst_instance=best_inst,
        evaluations=evaluations,
        trace=tuple(trace),
        counterexample=cex,
        seconds=time.perf_counter() - t0,
    )
