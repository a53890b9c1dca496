"""Small paired embedding sets with planted shared structure (the report tests' input)."""

from __future__ import annotations

import numpy as np
import pytest


def make_paired(n: int = 150, d_a: int = 12, d_b: int = 7, seed: int = 0):
    """Two views of a 4-dimensional latent with 3 clusters, plus noise, and the labels."""
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
