"""The torch Borůvka MST (sheaftopo/torch/_device_mst.py): the tree of dense Prim, on any device.

Every case compares ``dense_mst_edges`` with ``sheaftopo._core.mst.dense_mst``
(numba Prim on the same total order ``(D[i, j], min(i, j), max(i, j))``) row
for row, and the tie-heavy ones also with a plain-Python Kruskal on that key.
The CUDA tests run only where a GPU is present.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _oracles import kruskal  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402

from sheaftopo._core.mst import dense_mst  # noqa: E402
from sheaftopo.torch import _device_mst  # noqa: E402
from sheaftopo.torch._device_mst import dense_mst_edges, max_rounds  # noqa: E402

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def reference(D: np.ndarray) -> np.ndarray:
    """``dense_mst(D).edges`` of every matrix of a stack (..., n, n), stacked alike."""
    flat = D.reshape(-1, *D.shape[-2:]).astype(np.float64)
    n = D.shape[-1]
    edges = [dense_mst(M).edges for M in flat]
    return np.stack(edges).reshape(*D.shape[:-2], n - 1, 2) if edges else None


def assert_tree(D: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    T = torch.as_tensor(D, dtype=dtype)
    out = dense_mst_edges(T)
    assert out.dtype == torch.long
    assert out.shape == (*D.shape[:-2], D.shape[-1] - 1, 2)
    np.testing.assert_array_equal(out.numpy(), reference(T.double().numpy()))
    return out


def lattice(shape: tuple[int, ...], k: int, seed: int) -> np.ndarray:
    """Distance matrices of random points on a small integer lattice (many ties, duplicates)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, k, (*shape, 2)).astype(np.float64)
    return np.sqrt(((X[..., :, None, :] - X[..., None, :, :]) ** 2).sum(-1))


def symmetric_ints(B: int, n: int, top: int, seed: int) -> np.ndarray:
    """Random symmetric integer-valued matrices with entries in 0..top, zero diagonal."""
    rng = np.random.default_rng(seed)
    A = rng.integers(0, top + 1, (B, n, n)).astype(np.float64)
    A = np.triu(A, 1)
    return A + A.transpose(0, 2, 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [2, 3, 5, 17, 64, 130])
def test_random_matrices_equal_prim(n, dtype):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((3, n, 7))
    D = np.stack([cdist(x, x) for x in X])
    assert_tree(D, dtype)


@pytest.mark.parametrize("n", [2, 3, 4, 9, 33, 100])
@pytest.mark.parametrize("top", [0, 1, 2, 5])
def test_integer_valued_ties_equal_prim_and_kruskal(n, top):
    D = symmetric_ints(4, n, top, seed=n * 10 + top)
    out = assert_tree(D)
    for b in range(4):
        np.testing.assert_array_equal(out[b].numpy(), kruskal(D[b]))


@pytest.mark.parametrize("n", [3, 16, 50, 120])
@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_lattice_and_duplicate_points_equal_prim(n, k):
    """k = 1: all points coincide (every distance 0); small k: many duplicates and ties."""
    assert_tree(lattice((3, n), k, seed=n + k))


@pytest.mark.parametrize("value", [0.0, 1.0, 1e-300, 1e300])
def test_all_equal_matrix_is_the_star_of_vertex_0(value):
    n = 9
    D = np.full((n, n), value)
    np.fill_diagonal(D, 0.0)
    out = dense_mst_edges(torch.from_numpy(D))
    expected = np.stack([np.zeros(n - 1, np.int64), np.arange(1, n)], axis=1)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_float32_extremes_keep_their_order():
    D = symmetric_ints(2, 20, 4, seed=3) * np.float32(1e37)
    D[:, 0, 1] = D[:, 1, 0] = np.float32(1e-45)  # subnormal
    assert_tree(D.astype(np.float32), torch.float32)


def test_float64_extremes_keep_their_order():
    levels = np.array([0.0, 5e-324, 1e-300, 1.0, 1e300, 1.7e308])
    rng = np.random.default_rng(11)
    A = np.triu(levels[rng.integers(0, len(levels), (3, 25, 25))], 1)
    D = A + A.transpose(0, 2, 1)
    out = assert_tree(D)
    for b in range(3):
        np.testing.assert_array_equal(out[b].numpy(), kruskal(D[b]))


def test_one_two_three_vertices():
    one = dense_mst_edges(torch.zeros(1, 1))
    assert one.shape == (0, 2) and one.dtype == torch.long
    assert dense_mst_edges(torch.zeros(4, 1, 1)).shape == (4, 0, 2)
    np.testing.assert_array_equal(dense_mst_edges(torch.tensor([[0.0, 5.0], [5.0, 0.0]])), [[0, 1]])
    D3 = torch.tensor([[0.0, 2.0, 1.0], [2.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(dense_mst_edges(D3), [[0, 2], [1, 2]])


def test_batched_shapes_equal_prim_per_matrix():
    assert_tree(lattice((5, 40), 4, seed=1))  # (B, n, n)
    assert_tree(lattice((2, 3, 25), 3, seed=2))  # (A, B, n, n)
    assert dense_mst_edges(torch.zeros(0, 6, 6)).shape == (0, 5, 2)
    assert dense_mst_edges(torch.zeros(2, 0, 6, 6)).shape == (2, 0, 5, 2)


def test_batch_mixes_finished_and_unfinished_matrices():
    """A 2-vertex-like star finishes in one round while a chain in the same batch needs more."""
    n = 32
    star = np.ones((n, n))
    np.fill_diagonal(star, 0)
    x = np.arange(n, dtype=np.float64) ** 1.5  # a chain with growing gaps
    chain = np.abs(x[:, None] - x[None, :])
    assert_tree(np.stack([star, chain, star]))


@pytest.mark.parametrize("n", [2, 3, 5, 129, 300])
def test_hook_chains_of_every_length(n):
    """Growing gaps on a line: every vertex hooks to its left neighbour, one chain of n - 1."""
    x = np.arange(n, dtype=np.float64) ** 1.5
    chain = np.abs(x[:, None] - x[None, :])
    rev = chain[::-1, ::-1].copy()  # the chain hooks to the right instead
    out = assert_tree(np.stack([chain, rev]))
    np.testing.assert_array_equal(out[0].numpy(), np.stack([np.arange(n - 1), np.arange(1, n)], 1))


@given(
    st.integers(1, 12),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(0, 2**32 - 1),
    st.sampled_from([torch.float32, torch.float64]),
)
def test_property_tie_heavy_matrices(n, B, top, seed, dtype):
    D = symmetric_ints(B, n, top, seed)
    out = dense_mst_edges(torch.as_tensor(D, dtype=dtype))
    assert out.shape == (B, n - 1, 2)
    for b in range(B):
        np.testing.assert_array_equal(out[b].numpy(), dense_mst(D[b]).edges)
        np.testing.assert_array_equal(out[b].numpy(), kruskal(D[b]))


def test_input_not_modified_noncontiguous_and_grad():
    D = torch.from_numpy(lattice((2, 30), 5, seed=4))
    big = torch.zeros(2, 60, 60, dtype=torch.float64)
    big[:, ::2, ::2] = D
    view = big[:, ::2, ::2].mT  # non-contiguous, symmetric
    assert not view.is_contiguous()
    before = big.clone()
    np.testing.assert_array_equal(dense_mst_edges(view).numpy(), reference(D.numpy()))
    assert torch.equal(big, before)
    leaf = D.clone().requires_grad_(True)
    out = dense_mst_edges(leaf)
    assert not out.requires_grad and leaf.grad is None
    assert torch.equal(leaf.detach(), D)


def test_inference_mode_tensors_inside_and_outside():
    D = lattice((2, 30), 4, seed=6)
    with torch.inference_mode():
        T = torch.from_numpy(D.copy())
        inside = dense_mst_edges(T)
    outside = dense_mst_edges(T)  # an inference tensor used outside the mode
    np.testing.assert_array_equal(inside.numpy(), reference(D))
    np.testing.assert_array_equal(outside.numpy(), reference(D))


def test_read_only_numpy_backed_tensor():
    D = lattice((20,), 3, seed=5)
    D.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns about non-writable arrays
        T = torch.from_numpy(D)
    np.testing.assert_array_equal(dense_mst_edges(T).numpy(), dense_mst(D).edges)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.nan, "must be finite.*; found D\\[1, 2, 3\\] = nan"),
        (np.inf, "must be finite.*; found D\\[1, 2, 3\\] = inf"),
        (-np.inf, "must be finite"),
        (-1.0, "must be non-negative.*; found D\\[1, 2, 3\\] = -1.0"),
    ],
)
def test_bad_entries_are_refused_with_their_index(bad, message):
    D = torch.ones(2, 5, 5, dtype=torch.float64)
    D[1, 2, 3] = D[1, 3, 2] = bad
    with pytest.raises(ValueError, match="D " + message):
        dense_mst_edges(D)


def test_asymmetric_and_shapes_and_types_refused():
    D = torch.ones(3, 4, 4)
    D[0, 0, 1] = 2.0
    with pytest.raises(ValueError, match=r"symmetric.*D\[0, 1\] = 2.0.*= 1.0"):
        dense_mst_edges(D[0])
    with pytest.raises(ValueError, match=r"symmetric.*D\[0, 0, 1\]"):
        dense_mst_edges(D)
    with pytest.raises(ValueError, match=r"square matrices.*\(3, 4, 5\)"):
        dense_mst_edges(torch.ones(3, 4, 5))
    with pytest.raises(ValueError, match=r"n >= 1.*\(0, 0\)"):
        dense_mst_edges(torch.ones(0, 0))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        dense_mst_edges(torch.ones(4))
    with pytest.raises(TypeError, match="float32 or float64"):
        dense_mst_edges(torch.ones(3, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="half precision"):
        dense_mst_edges(torch.ones(3, 3, dtype=torch.float16))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        dense_mst_edges(np.ones((3, 3)))


def test_round_bound_and_stall_raise(monkeypatch):
    assert [max_rounds(n) for n in (1, 2, 3, 4, 5, 256, 257)] == [1, 2, 3, 3, 4, 9, 10]

    def nothing(W, comp, idx):
        B, n = comp.shape
        return torch.full((B, n), torch.inf, dtype=W.dtype), torch.full((B, n), n * n)

    monkeypatch.setattr(_device_mst, "_cheapest_edges", nothing)
    with pytest.raises(RuntimeError, match="merged no components"):
        dense_mst_edges(torch.ones(4, 4))


def test_rounds_never_exceed_log2(monkeypatch):
    """Worst cases for Borůvka (a path with increasing weights, ties everywhere) stay in bound."""
    calls = []
    real = _device_mst._cheapest_edges

    def counted(W, comp, idx):
        calls.append(1)
        return real(W, comp, idx)

    monkeypatch.setattr(_device_mst, "_cheapest_edges", counted)
    for D in (symmetric_ints(1, 200, 0, 0), lattice((1, 200), 2, 0), symmetric_ints(1, 257, 1, 1)):
        calls.clear()
        assert_tree(D)
        assert len(calls) <= max_rounds(D.shape[-1]) - 1  # ceil(log2 n) rounds suffice


@CUDA
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_same_device_same_tree(dtype):
    D = lattice((3, 70), 4, seed=7)
    T = torch.as_tensor(D, dtype=dtype, device="cuda")
    out = dense_mst_edges(T)
    assert out.device == T.device and out.dtype == torch.long
    np.testing.assert_array_equal(out.cpu().numpy(), reference(D))


@CUDA
def test_cuda_synchronises_only_once_per_round():
    """With sync debugging on, the syncs are the validation flags and one read per round."""
    n = 300
    T = torch.as_tensor(lattice((4, n), 6, seed=8), device="cuda")
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            out = dense_mst_edges(T)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    syncs = [w for w in seen if "synchroniz" in str(w.message)]
    assert 1 <= len(syncs) <= max_rounds(n) + 1
    assert out.device == T.device
