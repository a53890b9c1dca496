"""The analysis is a loop over declared steps: a new section is one module and one registry line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sheaftopo import report
from sheaftopo.report import AnalysisConfig, _sections, analyze, count_steps, render_json
from sheaftopo.report._engine import Engine, InMemory
from sheaftopo.report._steps import PairStep, Section, SetStep, check_registry

CFG = AnalysisConfig(k=5, max_points=80, dense_max_points=40)


def _toy_pair(inp, engine):
    """A toy section: the mean shared-space distance of paired rows (reads the shared space)."""
    _, ZA, ZB = inp.products["shared_space"]
    d = float(np.linalg.norm(ZA - ZB, axis=1).mean())
    return Section(
        {"mean_pair_distance": {"value": d, "unit": "shared-space distance"}},
        {"distances": np.linalg.norm(ZA - ZB, axis=1)},
    )


def _toy_set(inp, engine):
    return Section({"n_rows": {"value": int(inp.M.shape[0]), "unit": "count"}})


TOY_PAIR = PairStep("toy", "toy section", _toy_pair, needs=("shared_space",))
TOY_SET = SetStep("toy_rows", "toy rows", _toy_set)


def test_a_registered_section_runs_and_appears_in_report_json(paired, monkeypatch):
    A, B, labels = paired
    monkeypatch.setattr(_sections, "PAIR_STEPS", (*_sections.PAIR_STEPS, TOY_PAIR))
    monkeypatch.setattr(_sections, "SET_STEPS", (*_sections.SET_STEPS, TOY_SET))
    res = analyze({"a": A, "b": B}, labels=labels, config=CFG)
    data = json.loads(render_json(res))
    pair = data["pairs"][0]
    assert list(pair)[-1] == "toy" and pair["toy"]["mean_pair_distance"]["value"] > 0
    assert res.arrays["pairs"]["a | b"]["toy"]["distances"].shape == (80,)
    assert data["sets"]["a"]["toy_rows"]["n_rows"]["value"] == 80
    assert "toy section: a | b" in data["timings"]["steps"]
    assert "toy rows: b" in data["timings"]["steps"]
    # the step count follows the registry: 4 set steps with labels, 10 pair steps, no group
    # step with two sets
    assert count_steps(2, True) == 2 * 4 + 10
    # every other section is unchanged by the new one
    monkeypatch.undo()
    plain = json.loads(render_json(analyze({"a": A, "b": B}, labels=labels, config=CFG)))
    del pair["toy"]
    assert pair == plain["pairs"][0]


def test_the_registry_is_the_public_pair_steps_in_order():
    assert report.PAIR_STEPS is _sections.PAIR_STEPS
    assert [s.label for s in report.PAIR_STEPS] == [
        "diagram distances",
        "distance alignment",
        "kNN neighbourhoods",
        "shared space",
        "retrieval",
        "distributions",
        "fiber product",
        "subspaces",
        "per-item scores",
    ]
    # three sets: the sheaf step runs once
    assert count_steps(3, False) == 3 * 2 + 3 * 9 + 1
    assert count_steps(2, False) == 2 * 2 + 9


def test_the_registry_refuses_a_need_no_earlier_step_provides():
    late = PairStep("early", "early", _toy_pair, needs=("shared_space",))
    with pytest.raises(ValueError, match="needs \\['shared_space'\\]"):
        check_registry(_sections.SET_STEPS, (late, *_sections.PAIR_STEPS))
    with pytest.raises(ValueError, match="two pair steps have the key 'retrieval'"):
        check_registry(_sections.SET_STEPS, (*_sections.PAIR_STEPS, _sections.PAIR_STEPS[4]))
    check_registry(_sections.SET_STEPS, _sections.PAIR_STEPS)


def test_the_in_memory_engine_satisfies_the_protocol(paired):
    A, B, _ = paired
    engine: Engine = InMemory({"a": A, "b": B})
    for name in Engine.__dict__:
        if not name.startswith("_") and callable(getattr(Engine, name)):
            assert callable(getattr(engine, name)), name
    rows = engine.rows(None, "none")
    assert engine.set_rows("a", rows["a"]) is rows["a"]
    assert engine.meta(len(A)) is None and engine.computed_on(rows["a"]) is None
