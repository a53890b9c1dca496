"""The shared input checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sheaftopo import _validation as v


def test_as_points_keeps_float32_and_converts_ints_without_touching_input():
    X32 = np.ones((3, 2), dtype=np.float32)
    assert v.as_points(X32).dtype == np.float32
    assert v.as_points(X32) is X32
    Xi = np.ones((3, 2), dtype=np.int32)
    out = v.as_points(Xi)
    assert out.dtype == np.float64 and Xi.dtype == np.int32
    assert v.as_points([[1, 2], [3, 4]]).shape == (2, 2)


@pytest.mark.parametrize(
    ("x", "exc", "match"),
    [
        (None, TypeError, "got None"),
        (np.array([[1 + 2j]]), TypeError, "real numbers"),
        (np.array([["x"]]), TypeError, "real numbers"),
        (sp.eye_array(3), TypeError, "dense"),
        (np.ones(3), ValueError, r"2-D.*shape \(3,\)"),
        (np.full((2, 2), np.nan), ValueError, r"NaN.*index \(0, 0\)"),
    ],
)
def test_as_points_errors_name_the_argument(x, exc, match):
    with pytest.raises(exc, match=match) as info:
        v.as_points(x, "Z")
    assert "Z" in str(info.value)


def test_torch_like_objects_are_refused_with_a_pointer():
    class FakeTensor:
        def detach(self):
            return self

        def cpu(self):
            return self

    with pytest.raises(TypeError, match=r"sheaftopo\.torch"):
        v.as_points(FakeTensor(), "X")


def test_distance_matrix_symmetry_tolerance():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    D[0, 1] += 1e-13  # rounding-level asymmetry passes
    v.as_distance_matrix(D)
    D[0, 1] += 1e-3
    with pytest.raises(ValueError, match=r"symmetric.*D\[0, 1\]"):
        v.as_distance_matrix(D)


def test_diagram_validation():
    assert v.as_diagram(np.zeros((0, 2))).shape == (0, 2)
    assert v.as_diagram([]).shape == (0, 2)
    v.as_diagram([[0.0, np.inf]])
    with pytest.raises(ValueError, match="death >= birth"):
        v.as_diagram([[1.0, 0.5]])
    with pytest.raises(ValueError, match="births"):
        v.as_diagram([[np.inf, np.inf]])
    with pytest.raises(ValueError, match="deaths"):
        v.as_diagram([[0.0, np.nan]])
    with pytest.raises(ValueError, match=r"\(n_points, 2\)"):
        v.as_diagram(np.zeros((3, 3)))


def test_scalars_and_choices():
    assert v.check_int(np.int64(3), "k", minimum=1) == 3
    with pytest.raises(TypeError, match="k must be an integer"):
        v.check_int(True, "k")
    with pytest.raises(ValueError, match=">= 1"):
        v.check_int(0, "k", minimum=1)
    assert v.check_real(np.float32(0.5), "a", low=0, high=1) == 0.5
    assert v.check_real(np.array(2.0), "a") == 2.0
    with pytest.raises(ValueError, match="> 0"):
        v.check_real(0.0, "a", low=0, low_inclusive=False)
    assert v.check_real(np.inf, "a", allow_inf=True) == np.inf
    with pytest.raises(ValueError, match="one of 'x', 'y'"):
        v.check_choice("z", "mode", ("x", "y"))
    g = np.random.default_rng(1)
    assert v.check_random_state(g) is g
    assert isinstance(v.check_random_state(None), np.random.Generator)
    with pytest.raises(TypeError):
        v.check_random_state("seed")
    with pytest.raises(ValueError):
        v.check_random_state(-1)


def test_check_k_bounds_neighbour_counts_by_the_cloud_size():
    assert v.check_k(3, 4) == 3
    with pytest.raises(ValueError, match=r"k must be at most n - 1 = 3 for Y with 4 points"):
        v.check_k(4, 4, what="Y")
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        v.check_k(0, 4, "n_neighbors")
    with pytest.raises(TypeError, match="k must be an integer"):
        v.check_k(2.0, 4)


def test_as_weights_uniform_default_and_refuses_unnormalised_weights():
    np.testing.assert_array_equal(v.as_weights(None, 4, "a"), np.full(4, 0.25))
    w = np.array([0.5, 0.25, 0.25], dtype=np.float32)
    out = v.as_weights(w, 3, "a")
    assert out.dtype == np.float64 and out is not w and w.dtype == np.float32
    assert out.sum() == 1.0
    with pytest.raises(ValueError, match=r"b must sum to 1 .*b / b\.sum\(\)"):
        v.as_weights([1.0, 1.0], 2, "b")
    with pytest.raises(ValueError, match=r"b must be non-negative; found b\[1\]"):
        v.as_weights([1.5, -0.5], 2, "b")
    with pytest.raises(ValueError, match=r"1-D array of 3 weights"):
        v.as_weights([0.5, 0.5], 3, "b")
    with pytest.raises(ValueError, match="NaN or inf"):
        v.as_weights([np.nan, 1.0], 2, "b")
