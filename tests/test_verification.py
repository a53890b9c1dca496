"""The theorem harness: every check holds, can see sharpness, and can fail (mutants)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import verification
from sheaftopo.verify import Family, Statement
from verification import MUTANTS, REGISTRY
from verification.__main__ import main
from verification._mutants import Mutant, format_mutant_table, run_mutant
from verification._registry import NO_SHARP_FAMILY, Check, run_check

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "theory").glob("*.md") if p.name != "README.md")


def test_every_check_has_a_theory_page_that_names_it():
    assert len(REGISTRY) >= 30
    for check in REGISTRY.values():
        assert check.theory_path.is_file(), check.theory_path
        text = check.theory_path.read_text()
        assert check.name in text, f"{check.theory} does not name its check {check.name}"


def test_every_page_has_a_check():
    covered = {c.theory for c in REGISTRY.values()}
    assert not [p for p in PAGES if p not in covered]


def test_no_check_uses_the_legacy_adapter():
    for check in REGISTRY.values():
        _, families = check.build()
        assert [f.name for f in families] != ["legacy"], check.name


def test_every_bound_is_sharp_or_says_why_not():
    for check in REGISTRY.values():
        if check.kind != "bound":
            continue
        _, families = check.build()
        if check.tight_delta is None:
            assert NO_SHARP_FAMILY in check.theory_path.read_text(), (
                f"{check.name}: no tight family and {check.theory} does not say "
                f"{NO_SHARP_FAMILY!r}"
            )
        else:
            assert any(f.tight for f in families), f"{check.name}: tight_delta without a family"
            assert 0 < check.tight_delta < 0.5


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_quick_harness_holds(name):
    (result,) = verification.run([name], quick=True)
    assert result.instances >= 10
    assert result.passed, (
        f"{name}: {result.reason}; worst {result.worst} on {result.worst_instance}"
    )


# --------------------------------------------------------------------------
# the harness itself can fail
# --------------------------------------------------------------------------


def _check(evaluate, *, kind="bound", tight_delta=None, tight=False):
    fam = Family("f", lambda rng: {"x": np.array([rng.uniform(0.0, 1.0)])}, tight=tight)
    return Check("c", "x.md", kind, 5, 5, lambda: (Statement("c", evaluate), [fam]), tight_delta)


def test_a_violated_check_fails_with_a_shrunk_counterexample():
    res = run_check(_check(lambda inst: (float(inst["x"][0]) + 1.0, 1.0)), quick=True)
    assert not res.passed and res.worst > 1 and "violation" in res.reason
    assert res.counterexample and "ratio" in res.counterexample


def test_a_nan_or_raising_check_fails():
    assert not run_check(_check(lambda inst: (np.nan, 1.0)), quick=True).passed
    assert not run_check(_check(lambda inst: 1 / 0), quick=True).passed


def test_a_loose_bound_fails_its_sharpness_requirement():
    loose = _check(lambda inst: (float(inst["x"][0]), 2.0), tight_delta=0.01, tight=True)
    res = run_check(loose, quick=True)
    assert not res.passed and "not sharp" in res.reason
    sharp = _check(lambda inst: (0.995, 1.0), tight_delta=0.01, tight=True)
    assert run_check(sharp, quick=True).passed


# --------------------------------------------------------------------------
# mutation testing
# --------------------------------------------------------------------------


def test_mutant_library_size_and_coverage():
    assert len(MUTANTS) >= 60
    per_page = {p: 0 for p in PAGES}
    for m in MUTANTS.values():
        assert m.page in per_page, f"{m.name}: unknown page {m.page}"
        assert m.check_names(), f"{m.name}: no check runs against it"
        per_page[m.page] += 1
    assert not {p: k for p, k in per_page.items() if k < 2}, per_page
    quick = {m.page for m in MUTANTS.values() if m.quick}
    assert quick == set(PAGES), sorted(set(PAGES) - quick)


@pytest.mark.parametrize("name", sorted(n for n, m in MUTANTS.items() if m.quick))
def test_quick_mutants_are_killed(name):
    res = run_mutant(name)
    assert res.killed, f"mutant {name!r} survived {MUTANTS[name].check_names()} {res.error}"


def test_a_harmless_mutant_survives_and_the_cli_says_so(capsys):
    name = "identity (test)"
    MUTANTS[name] = Mutant(name, "h0-stability.md", "sheaftopo.persistence:bottleneck",
                           lambda f: f)
    try:
        res = run_mutant(name)
        assert not res.killed
        assert "SURVIVED" in format_mutant_table([res])
        assert main(["--mutants", name]) == 1
        assert "SURVIVED" in capsys.readouterr().err
    finally:
        del MUTANTS[name]


def test_mutants_are_undone():
    import sheaftopo.persistence as p

    before = p.bottleneck
    name = next(n for n, m in MUTANTS.items() if m.target == "sheaftopo.persistence:bottleneck")
    run_mutant(name)
    assert p.bottleneck is before


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------


def test_cli_runs_checks_in_parallel_and_lists(capsys):
    out = subprocess.run(
        [sys.executable, "-m", "verification", "--quick", "--jobs", "2", "h0-stability",
         "subsample-bound"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "h0-stability" in out.stdout and "subsample-bound" in out.stdout
    assert "[tight]" in out.stdout and "pass" in out.stdout
    # the other entry points in this process (each subprocess costs an import of everything)
    assert main(["--list-mutants"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(MUTANTS)
    assert main(["no-such-theorem"]) == 2
    assert "unknown check" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_jobs:
        main(["--jobs", "0"])
    assert bad_jobs.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_theory_index_lists_every_check_on_its_page_row():
    import re

    rows = {}
    for line in (ROOT / "theory" / "README.md").read_text().splitlines():
        m = re.match(r"\| \[[a-z0-9-]+\]\(([a-z0-9-]+\.md)\) \|", line)
        if m:
            rows[m.group(1)] = set(re.findall(r"`([a-z0-9-]+)`", line.split(" | ")[-1]))
    expected: dict[str, set[str]] = {}
    for c in REGISTRY.values():
        expected.setdefault(c.theory, set()).add(c.name)
    assert rows == expected
