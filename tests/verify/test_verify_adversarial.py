"""Bad input through sheaftopo.verify: every public name ends in a result or a clear error.

The verbs (``check``, ``search``, ``shrink``), the constructors (``Statement``,
``Family``), the generic moves (``perturb_arrays``, ``shrink_arrays``) and the
generators (``point_clouds``, ``spd_pairs``, ``sheaves_on_graphs``,
``diagrams``, ``paired_embeddings``) get NaN, inf, wrong types, absurd sizes
and wrong objects through :func:`_adversarial.check_call`; a statement that
raises or returns NaN on an instance is a *finding* (a violation with the
error recorded), never a crash of the harness and never a silent pass.
"""

from __future__ import annotations

import math

import numpy as np
from _adversarial import bad_scalars, check_call, examples
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.verify import (
    Family,
    Statement,
    check,
    diagrams,
    paired_embeddings,
    perturb_arrays,
    point_clouds,
    search,
    sheaves_on_graphs,
    shrink,
    shrink_arrays,
    spd_pairs,
)

SUB = "verify"
# search moves instances: project keeps them in the family's support [0.5, 1]
FAM = Family("unit", lambda rng: {"x": np.array([rng.uniform(0.5, 1.0)])},
             project=lambda inst: {"x": np.clip(inst["x"], 0.5, 1.0)})
TRUE = Statement("true", lambda inst: (float(inst["x"][0]), 1.0))
BAD_OBJECTS = [None, "x", 3, 2.5, [1, 2], {"a": 1}, np.zeros(3), object()]


@settings(max_examples=examples(20, 200), deadline=None)
@given(st.sampled_from(["n", "seed"]), st.one_of(bad_scalars(), st.sampled_from(BAD_OBJECTS)))
def test_check_bad_scalars(arg, value):
    def ok(rep):
        assert rep.holds and rep.worst <= 1.0

    check_call(SUB, check, TRUE, FAM, names=arg, check=ok, **{arg: value})


@settings(max_examples=examples(20, 200), deadline=None)
@given(
    st.sampled_from(["restarts", "steps", "step_size", "gradient_steps", "learning_rate",
                     "seed"]),
    st.one_of(bad_scalars(), st.sampled_from(BAD_OBJECTS)),
)
def test_search_bad_scalars(arg, value):
    def ok(res):
        assert res.worst <= 1.0 and res.counterexample is None

    kwargs = {"restarts": 1, "steps": 3, arg: value}
    check_call(SUB, search, TRUE, FAM, names=(arg, "torch_ratio"), check=ok, **kwargs)


@settings(max_examples=examples(10, 60), deadline=None)
@given(st.sampled_from(BAD_OBJECTS), st.sampled_from(BAD_OBJECTS))
def test_verbs_refuse_wrong_objects(statement, family):
    check_call(SUB, check, statement, FAM, names="statement")
    check_call(SUB, check, TRUE, family, names="families")
    check_call(SUB, search, TRUE, family, names="family")
    check_call(SUB, shrink, statement, {"x": np.zeros(1)}, names="statement")
    check_call(SUB, shrink, TRUE, {"x": np.array([2.0])}, family, names="family")


@settings(max_examples=examples(10, 60), deadline=None)
@given(st.sampled_from([*BAD_OBJECTS, math.nan, -1.0, math.inf]))
def test_constructors(value):
    check_call(SUB, Statement, "s", value, names="evaluate")
    check_call(SUB, Statement, "s", TRUE.evaluate, rtol=value, names="rtol")
    check_call(SUB, Statement, value, TRUE.evaluate, names="name")
    check_call(SUB, Family, "f", value, names="sample")
    check_call(SUB, Family, "f", FAM.sample, project=value, names="project")


@settings(max_examples=examples(15, 100), deadline=None)
@given(st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, 0.0]))
def test_statements_returning_bad_numbers_are_findings(value):
    claim = Statement("bad", lambda inst: (value, 1.0))
    rep = check(claim, FAM, n=3)
    finite_ok = math.isfinite(value) and value <= 1.0
    assert rep.holds == finite_ok
    if not finite_ok:
        assert rep.violations == 3


def test_raising_statement_is_a_finding_not_a_crash():
    claim = Statement("raises", lambda inst: np.linalg.cholesky(-np.eye(2)))
    rep = check(claim, FAM, n=2)
    assert not rep.holds and "LinAlgError" in rep.worst_label
    res = search(claim, FAM, restarts=1, steps=2)
    assert math.isinf(res.worst) or math.isnan(res.worst)


@settings(max_examples=examples(20, 200), deadline=None)
@given(
    st.sampled_from([point_clouds, spd_pairs, sheaves_on_graphs, diagrams, paired_embeddings]),
    st.sampled_from(["kind", "maps", "n", "dim", "cond", "noise", "n_vertices", "stalk_dim"]),
    st.one_of(bad_scalars(), st.sampled_from([*BAD_OBJECTS, (5, 2), (-1, 3), "mixed"])),
)
def test_generators_bad_arguments(make, arg, value):
    import inspect

    params = inspect.signature(make).parameters
    if arg not in params:
        return
    first = next(iter(params))
    kwargs = {arg: value}
    args = ()
    if arg == first:
        args, kwargs = (value,), {}

    def ok(fam):
        inst = fam.sample(np.random.default_rng(0))
        for v in inst.values():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                assert np.isfinite(v).all()

    check_call(SUB, make, *args, names=arg, check=ok, **kwargs)


@settings(max_examples=examples(20, 200), deadline=None)
@given(st.sampled_from([*BAD_OBJECTS, {"X": np.full((3, 2), np.nan)}, {"X": np.zeros((0, 2))},
                        {"X": np.full((2, 2), 1e300)}, {}]))
def test_generic_moves(instance):
    rng = np.random.default_rng(0)
    if not isinstance(instance, dict):
        check_call(SUB, perturb_arrays, instance, rng, 0.1, names="dict")
        assert list(shrink_arrays(instance)) == []
        return
    moved = perturb_arrays(instance, rng, 0.1)
    assert set(moved) == set(instance)
    for cand in shrink_arrays(instance):
        assert set(cand) == set(instance)
    assert all(v is not instance.get(k) or not isinstance(v, np.ndarray) or v.size == 0
               for k, v in moved.items()) or not instance
