"""``sheaftopo._core.mst.dense_mst_batch``: the tree edges of a stack, equal to ``dense_mst``'s.

The batched kernel (``prim_dense_batch``, a prange over the stack) must give
every matrix the tree ``dense_mst`` gives it, edge for edge in the same order
(key ``(D[i, j], i, j)``), whatever the ties; the tie-heavy cases are also
checked against a plain-Python Kruskal on that key.
"""

from __future__ import annotations

import numpy as np
import pytest
from _oracles import kruskal
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

from sheaftopo._core.mst import dense_mst, dense_mst_batch


def assert_batch(D: np.ndarray) -> np.ndarray:
    out = dense_mst_batch(D)
    assert out.dtype == np.int64 and out.shape == (D.shape[0], D.shape[1] - 1, 2)
    for b in range(D.shape[0]):
        np.testing.assert_array_equal(out[b], dense_mst(np.asarray(D[b], np.float64)).edges)
    return out


def lattice(B: int, n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.integers(0, k, (B, n, 2)).astype(np.float64)
    return np.stack([cdist(x, x) for x in X])


def symmetric_ints(B: int, n: int, top: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = np.triu(rng.integers(0, top + 1, (B, n, n)).astype(np.float64), 1)
    return A + A.transpose(0, 2, 1)


@pytest.mark.parametrize("n", [2, 3, 7, 64, 200])
def test_random_stacks_equal_dense_mst(n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((5, n, 9))
    D = np.stack([cdist(x, x) for x in X])
    out = assert_batch(D)
    for b in range(5):  # and the scipy tree's weight (no zero distances here)
        total = D[b][out[b][:, 0], out[b][:, 1]].sum()
        assert total == pytest.approx(minimum_spanning_tree(D[b]).sum(), rel=1e-12)


@pytest.mark.parametrize("n", [3, 10, 50])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_lattice_and_duplicates(n, k):
    """k = 1: every point coincides; small k: duplicates and tied distances."""
    assert_batch(lattice(4, n, k, seed=n * k))


@pytest.mark.parametrize("top", [0, 1, 3])
def test_integer_ties_equal_kruskal(top):
    D = symmetric_ints(3, 30, top, seed=top)
    out = assert_batch(D)
    for b in range(3):
        np.testing.assert_array_equal(out[b], kruskal(D[b]))


def test_small_and_empty_stacks():
    assert dense_mst_batch(np.zeros((3, 1, 1))).shape == (3, 0, 2)
    assert dense_mst_batch(np.zeros((0, 5, 5))).shape == (0, 4, 2)
    two = np.array([[[0.0, 2.0], [2.0, 0.0]]])
    np.testing.assert_array_equal(dense_mst_batch(two), [[[0, 1]]])
    three = np.array([[[0.0, 2.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 0.0]]])
    np.testing.assert_array_equal(dense_mst_batch(three), [[[0, 2], [1, 2]]])


def test_float32_int_readonly_noncontiguous_inputs_unchanged():
    D = lattice(3, 40, 5, seed=9)
    expected = assert_batch(D)
    f32 = D.astype(np.float32)
    np.testing.assert_array_equal(dense_mst_batch(f32), assert_batch(f32.astype(np.float64)))
    ints = symmetric_ints(2, 12, 4, seed=2).astype(np.int32)
    np.testing.assert_array_equal(dense_mst_batch(ints), assert_batch(ints.astype(np.float64)))
    frozen = D.copy()
    frozen.setflags(write=False)
    np.testing.assert_array_equal(dense_mst_batch(frozen), expected)
    big = np.zeros((6, 80, 80))
    big[::2, ::2, ::2] = D
    view = big[::2, ::2, ::2].transpose(0, 2, 1)
    before = big.copy()
    np.testing.assert_array_equal(dense_mst_batch(view), expected)
    np.testing.assert_array_equal(big, before)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, r"finite and non-negative.*D\[1, 2, 3\] = nan"),
        (np.inf, r"D\[1, 2, 3\] = inf"),
        (-0.5, r"D\[1, 2, 3\] = -0.5"),
    ],
)
def test_bad_entries_refused(bad, message):
    D = np.ones((2, 5, 5))
    D[1, 2, 3] = D[1, 3, 2] = bad
    with pytest.raises(ValueError, match=message):
        dense_mst_batch(D)


def test_bad_shapes_and_types_refused():
    with pytest.raises(ValueError, match=r"\(B, n, n\).*\(4, 4\)"):
        dense_mst_batch(np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"square.*\(2, 4, 3\)"):
        dense_mst_batch(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"n >= 1.*\(2, 0, 0\)"):
        dense_mst_batch(np.ones((2, 0, 0)))
    with pytest.raises(TypeError, match="numpy array"):
        dense_mst_batch([[[0.0]]])
    with pytest.raises(TypeError, match=r"real numbers.*complex"):
        dense_mst_batch(np.ones((1, 2, 2), complex))


@given(st.integers(1, 12), st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_property_tie_heavy_stacks(n, B, top, seed):
    D = symmetric_ints(B, n, top, seed)
    out = dense_mst_batch(D)
    for b in range(B):
        np.testing.assert_array_equal(out[b], dense_mst(D[b]).edges)
        np.testing.assert_array_equal(out[b], kruskal(D[b]))
