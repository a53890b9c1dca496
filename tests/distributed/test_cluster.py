"""The Dask algorithms on a real multi-process LocalCluster, a lost worker and a dead scheduler."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from sheaftopo.distributed import DaskOptions, fiber_profile_dask, mst_dask  # noqa: E402
from sheaftopo.fiber import fiber_profile  # noqa: E402
from sheaftopo.persistence import h0_diagram  # noqa: E402


def _blobs(n, d=8, seed=3):
    rng = np.random.default_rng(seed)
    centres = 20 * rng.standard_normal((5, d))
    return centres[rng.integers(0, 5, n)] + rng.standard_normal((n, d))


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


@pytest.mark.parametrize("block_rows", [64, 250, 1000])
def test_two_worker_processes_by_address(cluster, block_rows):
    # the address path: connect, compute on two worker processes, close
    X = _blobs(900)
    forest = mst_dask(X, n_neighbors=4,
                      options=DaskOptions(client=cluster.scheduler_address, block_rows=block_rows))
    assert forest.diagram.tobytes() == h0_diagram(X).tobytes()
    grid = np.array([0.5, 2.0, 8.0])
    opts = DaskOptions(client=cluster.scheduler_address, block_rows=block_rows)
    prof = fiber_profile_dask(X[:300], X[300:600], grid, options=opts)
    assert np.array_equal(prof.counts, fiber_profile(X[:300], X[300:600], grid).counts)


def test_killed_worker_is_replaced_and_the_answer_is_unchanged(cluster, tmp_path):
    X = _blobs(6000, d=32)
    ref = h0_diagram(X)
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        out: dict = {}

        def work():
            out["forest"] = mst_dask(X, n_neighbors=2,
                                     options=DaskOptions(client=client, block_rows=300))

        t = threading.Thread(target=work)
        t.start()
        deadline = time.monotonic() + 60
        victim = None
        while time.monotonic() < deadline and t.is_alive():
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy:
                victim = busy[0]
                break
            time.sleep(0.02)
        assert victim is not None, "no task was ever running"
        os.kill(pids[victim], 9)
        killed_while_running = t.is_alive()
        t.join(timeout=300)
        assert not t.is_alive()
        assert killed_while_running
        assert out["forest"].diagram.tobytes() == ref.tobytes()
        # the nanny restarted the worker: two workers again
        client.wait_for_workers(2, timeout=60)


def test_unreachable_scheduler_fails_fast_with_a_clear_error():
    t0 = time.monotonic()
    where = r"could not reach a Dask scheduler at 'tcp://127\.0\.0\.1:1' within 2 s"
    with pytest.raises(ConnectionError, match=where):
        mst_dask(np.zeros((4, 2)), options=DaskOptions(client="tcp://127.0.0.1:1", timeout=2))
    assert time.monotonic() - t0 < 20
