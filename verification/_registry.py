"""The registry of checks and the runner."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: An instance generator: yields (label, observed value) for ``n`` instances.
Instances = Callable[[np.random.Generator, int], Iterator[tuple[str, float]]]

THEORY_DIR = Path(__file__).resolve().parent.parent / "theory"


@dataclass(frozen=True)
class Check:
    """One theorem's numerical check.

    ``kind="ratio"``: each instance yields observed / bound, and the theorem
    holds when every ratio is <= 1 + tolerance. ``kind="error"``: each instance
    yields an error against an oracle, which must be <= tolerance.
    """

    name: str
    theory: str
    statement: str
    kind: str
    tolerance: float
    quick: int
    full: int
    instances: Instances

    @property
    def theory_path(self) -> Path:
        return THEORY_DIR / self.theory

    def holds(self, value: float) -> bool:
        if not np.isfinite(value):
            return False
        limit = 1.0 + self.tolerance if self.kind == "ratio" else self.tolerance
        return value <= limit


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


REGISTRY: dict[str, Check] = {}


def register(
    name: str,
    *,
    theory: str,
    statement: str,
    kind: str = "ratio",
    tolerance: float = 1e-9,
    quick: int = 30,
    full: int = 2000,
) -> Callable[[Instances], Instances]:
    """Decorator registering an instance generator as the check ``name``."""
    if kind not in ("ratio", "error"):
        raise ValueError(f"kind must be 'ratio' or 'error'; got {kind!r}")

    def deco(func: Instances) -> Instances:
        if name in REGISTRY:
            raise ValueError(f"a check named {name!r} is already registered")
        REGISTRY[name] = Check(name, theory, statement, kind, tolerance, quick, full, func)
        return func

    return deco


def run_check(check: Check, *, quick: bool = False, seed: int = 0) -> CheckResult:
    """Run one check on its seeded instances."""
    rng = np.random.default_rng([seed, sum(map(ord, check.name))])
    n = check.quick if quick else check.full
    worst = -np.inf
    worst_label = ""
    count = 0
    passed = True
    t0 = time.perf_counter()
    for label, value in check.instances(rng, n):
        count += 1
        value = float(value)
        if not check.holds(value):
            passed = False
        if np.isnan(value) or (not np.isnan(worst) and value > worst):
            worst, worst_label = value, label
    if count == 0:
        passed = False
        worst_label = "no instances were generated"
    return CheckResult(
        name=check.name,
        statement=check.statement,
        kind=check.kind,
        instances=count,
        worst=worst,
        worst_instance=worst_label,
        passed=passed,
        seconds=time.perf_counter() - t0,
    )


def run(
    names: Iterable[str] | None = None, *, quick: bool = False, seed: int = 0
) -> list[CheckResult]:
    """Run the named checks (all when ``names`` is None) and return their results."""
    selected = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in selected if n not in REGISTRY]
    if unknown:
        raise KeyError(
            f"unknown check(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}"
        )
    return [run_check(REGISTRY[n], quick=quick, seed=seed) for n in selected]


def format_table(results: list[CheckResult]) -> str:
    """A plain-text table of results."""
    header = ("theorem", "instances", "worst", "measure", "status", "seconds", "worst instance")
    rows = [
        (
            r.name,
            str(r.instances),
            f"{r.worst:.6g}",
            "observed/bound" if r.kind == "ratio" else "error",
            "pass" if r.passed else "FAIL",
            f"{r.seconds:.1f}",
            r.worst_instance,
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)
