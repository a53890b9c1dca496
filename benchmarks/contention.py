"""Hot paths idle and under contention: does sheaftopo's speed survive a busy machine?

    python -m benchmarks.contention            # 2 busy background processes
    python -m benchmarks.contention --quick    # fewer repetitions
    python -m benchmarks.contention --busy 1   # one busy process
    python -m benchmarks.contention --torch-threads 1   # torch.set_num_threads(1) first
    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.contention   # OpenMP pools sleep at once

The environment passes to the measured processes (``OMP_WAIT_POLICY``,
``OMP_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` are printed): libgomp reads
``OMP_WAIT_POLICY`` / ``GOMP_SPINCOUNT`` when it loads, so only the
environment of a fresh process can change how torch's pool waits.

Each measurement runs in a fresh Python process (so "before" means before any
sheaftopo call), first on the machine as it is ("idle") and then while
``--busy`` background processes spin on a core each (as DataLoader workers or
a second job do). In each process, in this order:

* ``cdist before``: ``torch.cdist`` forward + backward of a 256 x 512 float32
  batch, before sheaftopo has run anything;
* ``loss``: ``sheaftopo.torch.topological_alignment_loss`` (ToMCLIP's SW(H0)
  term, λ = 0.5) forward + backward, 256 x 512 float32;
* ``loss in torch_region``: the same step inside
  ``sheaftopo._core.threads.torch_region()`` (torch's threads lowered to the
  free cores for the step; absent in a tree without it);
* ``h0``: ``sheaftopo.persistence.h0_diagram`` of 2048 x 64 float64 points;
* ``cdist after``: the ``cdist before`` step again, after the sheaftopo calls.

A second fresh process per condition never imports sheaftopo (``torch
alone``): it times the same cdist step twice, with a pause between the two
blocks, so that a change of torch's speed over a process's life can be told
apart from an effect of sheaftopo's calls.

Times are medians over the repetitions (a busy machine's best time hides the
stalls a user sees). Printed: each path's idle and busy median, busy / idle,
``cdist after / cdist before`` in each condition, the load average before each
condition and what :func:`sheaftopo._core.threads.free_cores` saw in the
measured process. The issue's targets (issue 17): loss and h0 at most 2x idle
under two busy processes; cdist after equal to cdist before.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

from ._busy import busy_processes

#: rows that describe the conditions, not timings (no ratio)
CONTEXT = ("load average (1 min)", "free cores seen")


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (numba compilation, allocator, thread pools)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1e3 * times[len(times) // 2]


def _cdist_step(torch_threads: int) -> Callable[[], None]:
    import torch

    if torch_threads:
        torch.set_num_threads(torch_threads)
    gen = torch.Generator().manual_seed(0)
    zs = torch.randn(256, 512, generator=gen, requires_grad=True)

    def cdist_step() -> None:
        torch.cdist(zs, zs).sum().backward()

    return cdist_step


def child(repeat: int, torch_threads: int) -> dict[str, float]:
    """One process's measurements (run with ``--child``)."""
    import numpy as np
    import torch

    cdist_step = _cdist_step(torch_threads)
    out = {"cdist before": median_ms(cdist_step, 3 * repeat)}

    from sheaftopo._core import threads
    from sheaftopo.persistence import h0_diagram
    from sheaftopo.torch import topological_alignment_loss

    gen = torch.Generator().manual_seed(1)
    zs = torch.randn(256, 512, generator=gen, requires_grad=True)
    zt = torch.randn(256, 512, generator=gen)

    def loss_step() -> None:
        topological_alignment_loss(zs, zt, seed=0).backward()

    X = np.random.default_rng(0).standard_normal((2048, 64))
    # -1 for a sheaftopo without the load-aware policy (to measure an older tree)
    seen = threads.free_cores() if hasattr(threads, "free_cores") else -1
    out["loss"] = median_ms(loss_step, repeat)
    if hasattr(threads, "torch_region"):

        def loss_in_region() -> None:
            with threads.torch_region():
                loss_step()

        out["loss in torch_region"] = median_ms(loss_in_region, repeat)
    out["h0"] = median_ms(lambda: h0_diagram(X), repeat)
    out["cdist after"] = median_ms(cdist_step, 3 * repeat)
    out["free cores seen"] = seen
    return out


def child_torch_alone(repeat: int, torch_threads: int) -> dict[str, float]:
    """The cdist step twice in a process that never imports sheaftopo (``--child-torch``)."""
    cdist_step = _cdist_step(torch_threads)
    first = median_ms(cdist_step, 3 * repeat)
    time.sleep(0.5)
    later = median_ms(cdist_step, 3 * repeat)
    assert not any(m.split(".")[0] == "sheaftopo" for m in sys.modules)
    return {"torch alone: cdist first": first, "torch alone: cdist later": later}


def _run_child(flag: str, repeat: int, torch_threads: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.contention", flag, "--repeat", str(repeat)]
    cmd += ["--torch-threads", str(torch_threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(repeat: int, busy: int, torch_threads: int) -> dict[str, float]:
    with busy_processes(busy):
        out = {"load average (1 min)": os.getloadavg()[0]}
        out.update(_run_child("--child", repeat, torch_threads))
        out.update(_run_child("--child-torch", repeat, torch_threads))
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.contention",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--busy", type=int, default=2, help="busy background processes")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch.set_num_threads(N) in the measured process (0: torch's default)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-torch", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    repeat = 5 if args.quick else args.repeat
    if args.child:
        print(json.dumps(child(repeat, args.torch_threads)))
        return 0
    if args.child_torch:
        print(json.dumps(child_torch_alone(repeat, args.torch_threads)))
        return 0
    print(
        f"cores: {os.cpu_count()}, busy processes: {args.busy}, repeat: {repeat}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '-')}, "
        f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', '-')}, "
        f"torch threads: {args.torch_threads or 'default'}"
    )
    idle = measure(repeat, 0, args.torch_threads)
    busy = measure(repeat, args.busy, args.torch_threads)
    print(f"{'path (median ms)':<26} {'idle':>9} {'busy':>9} {'busy/idle':>10}")
    for name in idle:
        ratio = "" if name in CONTEXT else f"{busy[name] / idle[name]:10.2f}"
        print(f"{name:<26} {idle[name]:9.2f} {busy[name]:9.2f} {ratio}")
    for label, r in (("idle", idle), ("busy", busy)):
        print(
            f"cdist after / before ({label}): {r['cdist after'] / r['cdist before']:.2f}; "
            "torch alone, later / first: "
            f"{r['torch alone: cdist later'] / r['torch alone: cdist first']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
