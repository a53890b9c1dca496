"""The registry of checks and the runner (serial or ``--jobs N`` processes).

A check is a :class:`sheaftopo.verify.Statement` measured on a list of
:class:`sheaftopo.verify.Family` objects: the harness is built on the same
public API a researcher uses for their own statements.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheaftopo.verify import Family, FamilyResult, Statement, check

THEORY_DIR = Path(__file__).resolve().parent.parent / "theory"

#: What a check's factory returns: the statement and the families it is measured on.
Factory = Callable[[], tuple[Statement, Sequence[Family]]]

#: The sentence a theory page must contain when a bound has no known sharp family.
NO_SHARP_FAMILY = "No sharp family is known"


@dataclass(frozen=True)
class Check:
    """One theorem's numerical check.

    ``kind="bound"``: the statement is an inequality. Either one of its
    families is marked ``tight`` and the worst ratio observed on the tight
    families must reach ``1 - tight_delta`` (the bound is sharp and the check
    can see it), or ``tight_delta`` is None and the theory page says
    ``No sharp family is known``. ``kind="identity"``: the statement compares
    against an independent oracle, ``(error, tolerance)``.
    """

    name: str
    theory: str
    kind: str
    quick: int
    full: int
    factory: Factory
    tight_delta: float | None = None

    @property
    def theory_path(self) -> Path:
        return THEORY_DIR / self.theory

    def build(self) -> tuple[Statement, list[Family]]:
        statement, families = self.factory()
        families = [families] if isinstance(families, Family) else list(families)
        if statement.name != self.name:
            statement = Statement(
                self.name,
                statement.evaluate,
                rtol=statement.rtol,
                atol=statement.atol,
                description=statement.description,
                torch_ratio=statement.torch_ratio,
            )
        return statement, families


@dataclass(frozen=True)
class CheckResult:
    name: str
    statement: str
    kind: str
    instances: int
    worst: float
    worst_instance: str
    passed: bool
    seconds: float
    families: tuple[FamilyResult, ...] = ()
    tight_worst: float | None = None
    tight_required: float | None = None
    counterexample: str = ""
    reason: str = ""


REGISTRY: dict[str, Check] = {}


def register(
    name: str,
    *,
    theory: str,
    kind: str = "bound",
    quick: int = 10,
    full: int = 200,
    tight_delta: float | None = None,
) -> Callable[[Factory], Factory]:
    """Decorator registering ``factory() -> (Statement, families)`` as the check ``name``.

    ``quick`` and ``full`` are instances per family.
    """
    if kind not in ("bound", "identity"):
        raise ValueError(f"kind must be 'bound' or 'identity'; got {kind!r}")
    if kind == "identity" and tight_delta is not None:
        raise ValueError(f"{name}: an identity check has no sharp family (tight_delta)")

    def deco(factory: Factory) -> Factory:
        if name in REGISTRY:
            raise ValueError(f"a check named {name!r} is already registered")
        REGISTRY[name] = Check(name, theory, kind, quick, full, factory, tight_delta)
        return factory

    return deco


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one BLAS/OpenMP, numba and torch thread, then restore them.

    Check instances are small: on a busy machine the pools' wake-up costs more
    than the work (tiny eigh/expm calls and 3-vertex Laplacians were 10x
    slower with the default pools).
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    numba = sys.modules.get("numba")
    torch_threads = torch.get_num_threads() if torch is not None else None
    numba_threads = numba.get_num_threads() if numba is not None else None
    try:
        with threadpool_limits(1):
            if torch is not None:
                torch.set_num_threads(1)
            if numba is not None:
                numba.set_num_threads(1)
            yield
    finally:
        if torch is not None and torch_threads is not None:
            torch.set_num_threads(torch_threads)
        if numba is not None and numba_threads is not None:
            numba.set_num_threads(numba_threads)


def run_check(
    check_: Check, *, quick: bool = False, seed: int = 0, stop_on_violation: bool = False
) -> CheckResult:
    """Run one check on its seeded instances."""
    t0 = time.perf_counter()
    n = check_.quick if quick else check_.full
    try:
        with one_thread():
            statement, families = check_.build()
            rep = check(
                statement,
                families,
                n=n,
                seed=seed,
                shrink_counterexample=not stop_on_violation,
                stop_on_violation=stop_on_violation,
            )
    except Exception as exc:  # a broken family or factory fails its row, not the run
        reason = f"the check itself raised {type(exc).__name__}: {exc}"
        return CheckResult(check_.name, "", check_.kind, 0, math.nan, reason, False,
                           time.perf_counter() - t0, reason=reason)
    passed, reason = rep.holds, "" if rep.holds else f"{rep.violations} violation(s)"
    tight_worst = rep.tight_worst()
    required = None
    if check_.kind == "bound" and check_.tight_delta is not None and not (
        stop_on_violation and not passed
    ):
        required = 1.0 - check_.tight_delta
        if tight_worst is None:
            passed, reason = False, "no family is marked tight"
        elif not (tight_worst >= required):
            passed = False
            reason = (reason + "; " if reason else "") + (
                f"not sharp: tight family worst {tight_worst:.6g} < {required:.6g}"
            )
    cex = ""
    if rep.counterexample is not None:
        c = rep.counterexample
        cex = f"{c.label} (ratio {c.measurement.ratio:.6g}, {c.shrink_steps} shrink steps)"
    return CheckResult(
        name=check_.name,
        statement=statement.description,
        kind=check_.kind,
        instances=rep.instances,
        worst=rep.worst,
        worst_instance=rep.worst_label,
        passed=passed,
        seconds=time.perf_counter() - t0,
        families=rep.families,
        tight_worst=tight_worst,
        tight_required=required,
        counterexample=cex,
        reason=reason,
    )


def _run_named(name: str, quick: bool, seed: int) -> CheckResult:
    return run_check(REGISTRY[name], quick=quick, seed=seed)


def worker_environment(jobs: int) -> dict[str, str]:
    """Thread limits for ``jobs`` worker processes sharing this machine's cores."""
    per = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    return dict.fromkeys(names, per)


def parallel_map(func: Callable[..., Any], args: Sequence[tuple], jobs: int) -> list[Any]:
    """``[func(*a) for a in args]`` on ``jobs`` spawned processes (in order).

    The workers get thread limits so that their BLAS, OpenMP and numba pools
    together do not oversubscribe the cores.
    """
    if jobs <= 1 or len(args) <= 1:
        return [func(*a) for a in args]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in worker_environment(jobs)}
    os.environ.update(worker_environment(jobs))
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(func, *a) for a in args]
            return [f.result() for f in futures]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _longest_first(names: list[str], quick: bool) -> list[str]:
    return sorted(names, key=lambda n: -(REGISTRY[n].quick if quick else REGISTRY[n].full))


def run(
    names: Iterable[str] | None = None, *, quick: bool = False, seed: int = 0, jobs: int = 1
) -> list[CheckResult]:
    """Run the named checks (all when ``names`` is None) and return their results."""
    selected = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in selected if n not in REGISTRY]
    if unknown:
        raise KeyError(
            f"unknown check(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}"
        )
    results = parallel_map(_run_named, [(n, quick, seed) for n in selected], jobs)
    return results


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.6g}" if not math.isnan(x) else "nan"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def format_table(results: list[CheckResult], *, families: bool = True) -> str:
    """A plain-text table of results, with one indented row per family.

    ``worst`` is the largest observed / bound (for identities: error /
    tolerance); ``sharp`` is the worst ratio on the tight families and the
    level it must reach.
    """
    header = ("theorem / family", "instances", "worst", "sharp", "status", "seconds",
              "worst instance")
    rows = []
    for r in results:
        sharp = "-" if r.tight_required is None else (
            f"{_fmt(r.tight_worst)} >= {r.tight_required:.4g}"
        )
        rows.append((r.name, str(r.instances), _fmt(r.worst), sharp,
                     "pass" if r.passed else "FAIL", f"{r.seconds:.1f}", r.worst_instance))
        if families:
            for f in r.families:
                rows.append((f"  {f.family}" + (" [tight]" if f.tight else ""), str(f.instances),
                             _fmt(f.worst), "", "" if not f.violations else
                             f"{f.violations} bad", "", f.worst_label))
    return _table(header, rows)

