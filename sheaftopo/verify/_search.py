"""Adversarial search: maximise observed / bound over a family.

Random restarts, adaptive hill climbing with the family's moves, and (for
statements with a torch ratio) gradient ascent on ``log(observed / bound)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_real
from ._check import Counterexample, shrink
from ._instances import _is_float_array
from ._statement import Family, Measurement, Statement, _badness, _check_statement, family_rng

__all__ = ["SearchResult", "search"]


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


def _gradient_ascent(statement: Statement, instance: dict, steps: int, lr: float) -> dict | None:
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


class _Best:
    """The worst instance seen so far (largest ratio), and how many were measured."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.instance: Any = None
        self._measurement: Measurement | None = None
        self.evaluations = 0
        self.trace: list[float] = []

    @property
    def measurement(self) -> Measurement:
        assert self._measurement is not None, "nothing measured yet"
        return self._measurement

    def consider(self, instance: Any) -> Measurement:
        """Measure ``instance``; keep it when it is the worst so far."""
        m = self.statement.measure(instance)
        self.evaluations += 1
        if self._measurement is None or _badness(m) > _badness(self._measurement):
            self.instance, self._measurement = instance, m
        return m


def _hill_climb(
    best: _Best,
    family: Family,
    inst: Any,
    cur: Measurement,
    rng: np.random.Generator,
    steps: int,
    step_size: float,
) -> None:
    """Random moves from ``inst``, kept when the ratio grows; adaptive step size.

    The step doubles after a success (up to 10) and halves after three failures
    in a row; a failure to evaluate (infinite badness) ends the climb.
    """
    step, fails = step_size, 0
    for _ in range(steps):
        if math.isinf(_badness(cur)):
            return
        cand = family.moved(inst, rng, step)
        if cand is None:
            continue
        m = best.consider(cand)
        if _badness(m) > _badness(cur):
            inst, cur, fails = cand, m, 0
            step = min(step * 2.0, 10.0)
        else:
            fails += 1
            if fails >= 3:
                step, fails = step / 2.0, 0


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
    best = _Best(statement)
    for _ in range(restarts):
        inst = family.sample(rng)
        cur = best.consider(inst)
        if gradient_steps and isinstance(inst, dict):
            climbed = _gradient_ascent(statement, inst, gradient_steps, learning_rate)
            if climbed is not None and family.project is not None:
                climbed = family.project(climbed)
            if climbed is not None:
                m = best.consider(climbed)
                if _badness(m) > _badness(cur):
                    inst, cur = climbed, m
        _hill_climb(best, family, inst, cur, rng, steps, step_size)
        best.trace.append(_badness(best.measurement))
    best_m, best_inst = best.measurement, best.instance
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
        evaluations=best.evaluations,
        trace=tuple(best.trace),
        counterexample=cex,
        seconds=time.perf_counter() - t0,
    )
