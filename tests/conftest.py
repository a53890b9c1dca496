"""Shared pytest configuration.

Hypothesis runs derandomized by default so that the suite (and CI, which runs
the README's test command) is reproducible: the same examples every run. Set
``HYPOTHESIS_PROFILE=explore`` to search with fresh random examples and many
more of them; add anything it finds as an explicit regression test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    parser.addoption(
        "--adversarial",
        choices=("quick", "thorough"),
        default=None,
        help="profile of the bad-input suite (tests/*/test_*_adversarial.py): 'quick' "
        "(default, CI) or 'thorough' (many more examples per function); the environment "
        "variable SHEAFTOPO_ADVERSARIAL does the same",
    )


def pytest_configure(config):
    chosen = config.getoption("--adversarial", default=None)
    if chosen:
        os.environ["SHEAFTOPO_ADVERSARIAL"] = chosen


def pytest_terminal_summary(terminalreporter):
    from _adversarial import CASES, profile

    if not CASES:
        return
    total = sum(CASES.values())
    terminalreporter.write_sep("-", f"bad-input cases tried ({profile()} profile): {total}")
    for sub, count in sorted(CASES.items()):
        terminalreporter.write_line(f"  {sub:<12} {count:>7}")


def make_paired(n: int = 150, d_a: int = 12, d_b: int = 7, seed: int = 0):
    """Two views of a 4-dimensional latent with 3 clusters, plus noise, and the labels.

    The input of the report, io and CLI tests (small paired embedding sets with
    planted shared structure).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3 + 1)[:n]
    centres = 4.0 * rng.standard_normal((3, 4))
    z = centres[labels] + rng.standard_normal((n, 4))
    A = z @ rng.standard_normal((4, d_a)) + 0.3 * rng.standard_normal((n, d_a))
    B = z @ rng.standard_normal((4, d_b)) + 0.3 * rng.standard_normal((n, d_b))
    return A, B, labels


@pytest.fixture(scope="session")
def paired():
    return make_paired()


@pytest.fixture
def sigint_handled():
    """SIGINT handled by Python (as in a terminal), whatever this test process inherited.

    A shell without job control starts background jobs with SIGINT ignored; the
    Ctrl-C handling of the command line rightly leaves an ignored SIGINT alone,
    and a SIGINT sent to the process would do nothing.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
