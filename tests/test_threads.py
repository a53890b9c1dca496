"""The threading policy (sheaftopo/_core/threads.py): counts restored, results unchanged."""

from __future__ import annotations

import subprocess
import sys

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


def test_numba_region_caps_blas_for_every_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded
    before = _blas_counts()
    assert before
    top = numba.get_num_threads()
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with threads.numba_region(threads.SERIAL_WORK):
        assert _blas_counts() == [1] * len(before)
        assert numba.get_num_threads() == 1  # the busy machine's one free core
    assert _blas_counts() == before
    monkeypatch.setattr(threads, "free_cores", lambda: 1 << 10)
    with threads.numba_region(threads.SERIAL_WORK):
        assert numba.get_num_threads() == top
    with threads.numba_region(10):
        assert numba.get_num_threads() == 1
        assert _blas_counts() == [1] * len(before)  # no BLAS pool spinning beside it
    assert numba.get_num_threads() == top
    assert _blas_counts() == before


def test_free_cores_counts_other_processes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    free = threads.free_cores()
    assert 1 <= free <= threads._own_cores()
    monkeypatch.setattr(threads, "_own_cores", lambda: 2)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    for tasks, expected in [
        ((1, 1), 2),  # only the caller runs
        ((3, 3), 2),  # the caller and two of its own spinning pool threads
        ((3, 1), 1),  # two other processes: one thread, not a lock-step pair
        ((9, 2), 1),  # never below one
        (None, 2),  # /proc unreadable (not Linux): the affinity's count
    ]:
        monkeypatch.setattr(threads, "_running_tasks", lambda t=tasks: t)
        assert threads.free_cores() == expected
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)  # a 2-core cpuset of 16 CPUs
    monkeypatch.setattr(threads, "_running_tasks", lambda: (9, 1))  # 8 others, 1 on our share
    assert threads.free_cores() == 1
    monkeypatch.setattr(threads, "_running_tasks", lambda: (2, 1))  # 1 other on 16 CPUs
    assert threads.free_cores() == 2
    monkeypatch.setattr(threads, "_running_tasks", lambda: (1, 1))
    assert threads.free_cores() == 2


def test_running_tasks_reads_proc() -> None:
    tasks = threads._running_tasks()
    if tasks is None:
        pytest.skip("no /proc/loadavg here")
    machine, own = tasks
    assert machine >= 1
    assert own >= 1


def test_blas_threads_never_raises_a_user_limit() -> None:
    from threadpoolctl import threadpool_limits

    np.ones((4, 4)) @ np.ones((4, 4))
    before = _blas_counts()
    with threadpool_limits(1, user_api="blas"):
        with threads.blas_threads(8):
            assert _blas_counts() == [1] * len(before)
        with pytest.raises(RuntimeError), threads.blas_threads(1):
            raise RuntimeError("inside")
        assert _blas_counts() == [1] * len(before)
    assert _blas_counts() == before


def test_blas_region_uses_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    np.ones((4, 4)) @ np.ones((4, 4))
    before = _blas_counts()
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with threads.blas_region(threads.SERIAL_WORK):
        assert _blas_counts() == [1] * len(before)
    monkeypatch.setattr(threads, "free_cores", lambda: 1 << 10)
    with threads.blas_region(10):  # small: one thread, however many cores are free
        assert _blas_counts() == [1] * len(before)
    assert _blas_counts() == before


def test_prim_identical_with_any_blas_count(monkeypatch: pytest.MonkeyPatch) -> None:
    X = np.random.default_rng(7).standard_normal((2048, 64))
    X[5] = X[3]
    monkeypatch.setattr(threads, "free_cores", lambda: 1 << 10)
    wide = mst(X, method="prim")
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    narrow = mst(X, method="prim")
    assert np.array_equal(wide.edges, narrow.edges)
    assert np.array_equal(wide.weights, narrow.weights)


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
        blas = _blas_counts()
        with threads.torch_selection(threads.SERIAL_WORK):
            assert numba.get_num_threads() == 1
            assert _blas_counts() == [1] * len(blas)
        with threads.torch_selection(10):
            assert _blas_counts() == [1] * len(blas)
        assert numba.get_num_threads() == top
        assert _blas_counts() == blas
        assert torch.equal(finite_h0_diagram(z, lam=None), reference)
    finally:
        torch.set_num_threads(torch_top)
    with threads.torch_selection(10):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == top


def test_torch_region_lowers_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    top = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(threads, "free_cores", lambda: 1)
        with pytest.raises(RuntimeError), threads.torch_region():
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(threads, "free_cores", lambda: 8)
        with threads.torch_region():  # never raised above the user's count
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(top)


def test_torch_count_kept_restores_torch() -> None:
    torch = pytest.importorskip("torch")
    top = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with threads.torch_count_kept():
            torch.set_num_threads(2)  # what a numba parallel launch can do
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(top)


def test_numba_regions_leave_torch_threads_alone() -> None:
    """torch imported first shares its libgomp with numba's omp layer (a fresh process).

    With ``torch_count_kept`` replaced by a no-op (``GUARD_OFF = True``) this
    printed 2 (numba 0.68.1, torch 2.13.0, 2026-12-03): the bug it guards against.
    """
    pytest.importorskip("torch")
    code = (
        "import torch, numpy as np\n"
        "torch.set_num_threads(1)\n"
        "assert torch.get_num_threads() == 1  # torch's OpenMP state is set up here\n"
        "from sheaftopo._core import threads\n"
        "threads.free_cores = lambda: 2  # as on an idle machine\n"
        "if GUARD_OFF:\n"
        "    import contextlib\n"
        "    threads.torch_count_kept = contextlib.nullcontext\n"
        "from sheaftopo.persistence import mst\n"
        "mst(np.random.default_rng(0).standard_normal((2048, 64)), method='boruvka')\n"
        "mst(np.random.default_rng(0).standard_normal((30000, 3)), method='kdtree')\n"
        "print(torch.get_num_threads())\n"
    )
    run = [sys.executable, "-c", "GUARD_OFF = False\n" + code]
    out = subprocess.run(run, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "1"
