"""Mutation testing of the harness: every check must be able to fail.

A *mutant* replaces one library function (or method) by a wrong one: a
constant result, a dropped term, a wrong constant, an off-by-one, a transposed
map, a wrong gradient, a loosened tolerance. ``python -m verification
--mutants`` applies each mutant in turn and runs the checks of its theory page
(quick size, stopping at the first violation); the mutant is *killed* when at
least one check fails. A surviving mutant means a check that cannot see that
bug: the harness exits non-zero.

The replacement is installed on the named module and on every loaded module
that holds the same object under the same name (``from x import f`` copies),
so an oracle that secretly calls the function under test is mutated too and
the mutant survives: non-independent oracles show up as survivors.

Mutants are declared next to the checks they target::

    @mutant("sinkhorn divergence is 0", page="ot-sinkhorn-divergence.md",
            target="sheaftopo.geometry:sinkhorn_divergence")
    def _(original):
        return lambda *args, **kwargs: 0.0
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._registry import REGISTRY, _table, parallel_map, run_check


@dataclass(frozen=True)
class Mutant:
    """A wrong version of one library function.

    ``target`` is ``"module:attribute"`` or ``"module:Class.attribute"``;
    ``make(original)`` returns the replacement. ``checks`` defaults to every
    check whose theory page is ``page``. ``quick`` marks the mutants run by
    the test suite.
    """

    name: str
    page: str
    target: str
    make: Callable[[Any], Any]
    checks: tuple[str, ...] = ()
    quick: bool = False

    def check_names(self) -> tuple[str, ...]:
        if self.checks:
            return self.checks
        return tuple(n for n, c in REGISTRY.items() if c.theory == self.page)


MUTANTS: dict[str, Mutant] = {}


def mutant(
    name: str,
    *,
    page: str,
    target: str,
    checks: Sequence[str] = (),
    quick: bool = False,
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorator registering ``make(original) -> replacement`` as a mutant."""
    if ":" not in target:
        raise ValueError(f"target must be 'module:attribute'; got {target!r}")

    def deco(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in MUTANTS:
            raise ValueError(f"a mutant named {name!r} is already registered")
        MUTANTS[name] = Mutant(name, page, target, make, tuple(checks), quick)
        return make

    return deco


def _resolve(target: str) -> tuple[Any, str, Any]:
    """(owner, attribute name, original) for ``module:attr`` or ``module:Cls.attr``."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    parts = path.split(".")
    for p in parts[:-1]:
        owner = getattr(owner, p)
    attr = parts[-1]
    if isinstance(owner, type):
        # keep staticmethod/classmethod wrappers: look in the class dict
        for klass in owner.__mro__:
            if attr in vars(klass):
                return owner, attr, vars(klass)[attr]
        raise AttributeError(f"{target}: no attribute {attr!r}")
    return owner, attr, getattr(owner, attr)


@contextlib.contextmanager
def applied(m: Mutant) -> Iterator[None]:
    """Install the mutant for the duration of the block, everywhere it was imported."""
    owner, attr, original = _resolve(m.target)
    replacement = m.make(original)
    patched: list[tuple[Any, str, Any]] = [(owner, attr, original)]
    if not isinstance(owner, type):
        for mod in list(sys.modules.values()):
            d = getattr(mod, "__dict__", None)
            if mod is not owner and d is not None and d.get(attr) is original:
                patched.append((mod, attr, original))
    try:
        for obj, name, _ in patched:
            setattr(obj, name, replacement)
        yield
    finally:
        for obj, name, orig in reversed(patched):
            setattr(obj, name, orig)


@dataclass(frozen=True)
class MutantResult:
    name: str
    page: str
    killed: bool
    killed_by: str
    seconds: float
    error: str = ""


def run_mutant(name: str, seed: int = 0) -> MutantResult:
    """Apply one mutant and run its page's checks until one fails."""
    m = MUTANTS[name]
    t0 = time.perf_counter()
    names = m.check_names()
    if not names:
        return MutantResult(name, m.page, False, "", 0.0, f"no check for page {m.page}")
    try:
        with applied(m):
            for check_name in names:
                res = run_check(REGISTRY[check_name], quick=True, seed=seed,
                                stop_on_violation=True)
                if not res.passed:
                    return MutantResult(name, m.page, True, f"{check_name}: {res.reason}",
                                        time.perf_counter() - t0)
    except Exception as exc:  # a broken mutant must not pass as killed
        return MutantResult(name, m.page, False, "", time.perf_counter() - t0,
                            f"{type(exc).__name__}: {exc}")
    return MutantResult(name, m.page, False, "", time.perf_counter() - t0)


def run_mutants(
    names: Iterable[str] | None = None, *, seed: int = 0, jobs: int = 1
) -> list[MutantResult]:
    selected = list(MUTANTS) if names is None else list(names)
    unknown = [n for n in selected if n not in MUTANTS]
    if unknown:
        raise KeyError(f"unknown mutant(s) {', '.join(unknown)}")
    return parallel_map(run_mutant, [(n, seed) for n in selected], jobs)


def format_mutant_table(results: list[MutantResult]) -> str:
    """Per page: mutants and how many were killed; then every survivor."""
    pages: dict[str, list[MutantResult]] = {}
    for r in results:
        pages.setdefault(r.page, []).append(r)
    rows = [(page, str(len(rs)), str(sum(r.killed for r in rs)),
             f"{sum(r.seconds for r in rs):.1f}") for page, rs in sorted(pages.items())]
    rows.append(("total", str(len(results)), str(sum(r.killed for r in results)),
                 f"{sum(r.seconds for r in results):.1f}"))
    out = _table(("page", "mutants", "killed", "seconds"), rows)
    survivors = [r for r in results if not r.killed]
    if survivors:
        out += "\n\nSURVIVED:\n" + "\n".join(
            f"  {r.page}: {r.name}" + (f" ({r.error})" if r.error else "") for r in survivors
        )
    return out
