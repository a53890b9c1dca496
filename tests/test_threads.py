"""The threading policy (sheaftopo/_core/threads.py): counts restored, results unchanged."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from sheaftopo._core import threads
from sheaftopo.persistence import mst


def _blas_counts() -> list[int]:
    return [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


def test_numba_threads_restores_and_never_raises() -> None:
    top = numba.get_num_threads()
    with threads.numba_threads(1):
        assert numba.get_num_threads() == 1
        with threads.numba_threads(top + 5):  # an upper bound set outside is kept
            assert numba.get_num_threads() == 1
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == top


def test_numba_threads_restored_after_an_exception() -> None:
    top = numba.get_num_threads()
    with pytest.raises(RuntimeError), threads.numba_threads(1):
        raise RuntimeError("inside")
    assert numba.get_num_threads() == top


def test_serial_if_small() -> None:
    top = numba.get_num_threads()
    with threads.serial_if_small(10):
        assert numba.get_num_threads() == 1
    with threads.serial_if_small(threads.SERIAL_WORK):
        assert numba.get_num_threads() == top
    assert numba.get_num_threads() == top


def test_numba_region_caps_blas_only_for_large_problems() -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded
    before = _blas_counts()
    assert before
    with threads.numba_region(threads.SERIAL_WORK):
        assert _blas_counts() == [1] * len(before)
    assert _blas_counts() == before
    top = numba.get_num_threads()
    with threads.numba_region(10):
        assert numba.get_num_threads() == 1
        assert _blas_counts() == before
    assert numba.get_num_threads() == top


@pytest.mark.parametrize(("n", "d", "method"), [(2048, 64, "boruvka"), (30_000, 3, "kdtree")])
def test_mst_identical_serial_and_parallel(n: int, d: int, method: str) -> None:
    X = np.random.default_rng(n).standard_normal((n, d))
    X[1] = X[0]  # a duplicate: a tie the kernels must break the same way
    parallel = mst(X, method=method)
    with threads.numba_threads(1):
        serial = mst(X, method=method)
    assert np.array_equal(parallel.edges, serial.edges)
    assert np.array_equal(parallel.weights, serial.weights)


def test_torch_selection_respects_torch_threads() -> None:
    torch = pytest.importorskip("torch")
    from sheaftopo.torch import finite_h0_diagram

    top, torch_top = numba.get_num_threads(), torch.get_num_threads()
    z = torch.randn(30_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    reference = finite_h0_diagram(z, lam=None)
    try:
        torch.set_num_threads(1)
        with threads.torch_selection(threads.SERIAL_WORK):
            assert numba.get_num_threads() == 1
        assert numba.get_num_threads() == top
        assert torch.equal(finite_h0_diagram(z, lam=None), reference)
    finally:
        torch.set_num_threads(torch_top)
    with threads.torch_selection(10):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == top
