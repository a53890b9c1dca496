"""The theorem harness: every check holds in quick mode; the CLI reports and fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import verification
from verification._registry import Check, run_check

ROOT = Path(__file__).resolve().parent.parent


def test_every_check_has_a_theory_page():
    assert len(verification.REGISTRY) >= 5
    for check in verification.REGISTRY.values():
        assert check.theory_path.is_file(), check.theory_path
        text = check.theory_path.read_text()
        assert check.name in text, f"{check.theory} does not name its check {check.name}"


@pytest.mark.parametrize("name", sorted(verification.REGISTRY))
def test_quick_harness_holds(name):
    (result,) = verification.run([name], quick=True)
    assert result.instances >= 10
    assert result.passed, f"{name}: worst {result.worst} on {result.worst_instance}"


def test_a_violated_check_fails():
    def bad(rng, n):
        for i in range(n):
            yield f"instance {i}", 1.0 + i

    check = Check("bad", "x.md", "always violated", "ratio", 1e-9, 3, 3, bad)
    res = run_check(check, quick=True)
    assert not res.passed and res.worst == 3.0 and res.worst_instance == "instance 2"

    def nan(rng, n):
        yield "nan", np.nan

    assert not run_check(Check("nan", "x.md", "", "error", 1e-9, 1, 1, nan)).passed


def test_cli_runs_one_check_and_lists():
    out = subprocess.run(
        [sys.executable, "-m", "verification", "--quick", "h0-stability"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "h0-stability" in out.stdout and "pass" in out.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "verification", "--list"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert "sparsification-bound" in listing.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "verification", "no-such-theorem"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert unknown.returncode == 2 and "unknown check" in unknown.stderr
