"""Small sheaves run the numba kernels on the calling thread (same results, no pool wake-up)."""

from __future__ import annotations

import numba
import numpy as np

from sheaftopo.sheaf import CellularSheaf, _operators, coboundary, laplacian, vertex_blocks


def _operators_of(F: CellularSheaf, w: np.ndarray) -> list[np.ndarray]:
    return [coboundary(F).toarray(), laplacian(F, weights=w).toarray(),
            laplacian(F, weights=w, normalized=True).toarray(),
            np.asarray(vertex_blocks(F, weights=w))]


def test_serial_small_sheaves_match_the_pool_and_restore_the_thread_count(monkeypatch):
    E = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
    w = np.array([1.0, 2.0, 0.0, 0.5, 3.0])
    before = numba.get_num_threads()
    serial = _operators_of(CellularSheaf.random(E, 3, 2, seed=4), w)
    assert numba.get_num_threads() == before
    monkeypatch.setattr(_operators, "SERIAL_WORK", 0)  # force the thread pool
    pooled = _operators_of(CellularSheaf.random(E, 3, 2, seed=4), w)
    for a, b in zip(serial, pooled, strict=True):
        np.testing.assert_array_equal(a, b)


def test_serial_dispatch_restores_the_thread_count_on_error():
    F = CellularSheaf.constant([[0, 1]], 2)
    before = numba.get_num_threads()
    try:
        with _operators.serial_if_small(F):
            assert numba.get_num_threads() == 1
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert numba.get_num_threads() == before
