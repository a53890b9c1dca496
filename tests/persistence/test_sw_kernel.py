"""sliced_wasserstein_kernel against GUDHI's SlicedWassersteinKernel and sliced_wasserstein."""

from __future__ import annotations

import numpy as np
import pytest
from gudhi.representations import SlicedWassersteinKernel

from sheaftopo.persistence import sliced_wasserstein, sliced_wasserstein_kernel

# GUDHI's example diagrams (its Wasserstein tests and docs) and random ones
DIAG1 = np.array([[2.7, 3.7], [9.6, 14.0], [34.2, 34.974]])
DIAG2 = np.array([[2.8, 4.45], [9.5, 14.1]])
DIAG3 = np.array([[0.0, 2.0], [4.0, 6.0]])


def _gudhi_angles(m: int) -> np.ndarray:
    """The angles GUDHI's num_directions=m uses (m - 1 of them)."""
    return np.linspace(-np.pi / 2, np.pi / 2, num=m, endpoint=False)[:-1]


@pytest.fixture(scope="module")
def diagrams():
    rng = np.random.default_rng(0)
    rand = [np.sort(rng.uniform(0, 5, (k, 2)), axis=1) for k in (1, 4, 7)]
    return [DIAG1, DIAG2, DIAG3, np.empty((0, 2)), *rand]


@pytest.mark.parametrize(("m", "b"), [(10, 1.0), (3, 0.3), (50, 7.0)])
def test_matches_gudhi(diagrams, m, b):
    sigma = np.sqrt(b / 2.0)  # GUDHI divides by its bandwidth b, the paper by 2 sigma^2
    ref = SlicedWassersteinKernel(num_directions=m, bandwidth=b).fit(diagrams)
    K = sliced_wasserstein_kernel(diagrams, directions=_gudhi_angles(m), bandwidth=sigma)
    np.testing.assert_allclose(K, ref.transform(diagrams), rtol=1e-12, atol=1e-15)
    # rectangular: GUDHI's transform(X) is K(X, fitted)
    X = diagrams[4:]
    Kxy = sliced_wasserstein_kernel(X, diagrams, directions=_gudhi_angles(m), bandwidth=sigma)
    np.testing.assert_allclose(Kxy, ref.transform(X), rtol=1e-12, atol=1e-15)
    assert ref(DIAG1, DIAG2) == pytest.approx(K[0, 1], rel=1e-12)


def test_is_the_exponential_of_sliced_wasserstein(diagrams):
    K = sliced_wasserstein_kernel(diagrams, bandwidth=0.8, n_directions=7, seed=3)
    assert K.shape == (len(diagrams), len(diagrams))
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_array_equal(np.diag(K), 1.0)
    for a in range(len(diagrams)):
        for b in range(a):
            sw = sliced_wasserstein(diagrams[a], diagrams[b], n_directions=7, seed=3)
            assert K[a, b] == pytest.approx(np.exp(-sw / (2 * 0.8**2)), rel=1e-12)
    assert np.linalg.eigvalsh(K).min() > -1e-10  # positive definite (CCO Thm. 3.5)


def test_scale_and_input_forms(diagrams):
    K = sliced_wasserstein_kernel(diagrams, bandwidth=1.0)
    big = [d * 2.0**900 for d in diagrams]
    np.testing.assert_allclose(
        sliced_wasserstein_kernel(big, bandwidth=2.0**450), K, rtol=1e-12, atol=0
    )
    lists = [d.tolist() for d in diagrams]
    np.testing.assert_array_equal(sliced_wasserstein_kernel(lists), K)
    assert sliced_wasserstein_kernel([], diagrams).shape == (0, len(diagrams))
    np.testing.assert_array_equal(sliced_wasserstein_kernel([[], []]), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"dgms_y\[1\] has essential"):
        sliced_wasserstein_kernel(diagrams, [DIAG1, [[0.0, np.inf]]])
    with pytest.raises(TypeError, match="dgms_x must be a list"):
        sliced_wasserstein_kernel(DIAG1)
