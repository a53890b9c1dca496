r"""Decentralized SheafAlign on one machine: start one process per node and collect the result.

:func:`train_distributed` writes every node's parameters and data to its own
file, starts ``model.n_nodes`` processes (``torch.multiprocessing``), each of
which trains its node with :func:`~sheaftopo.torch.sheafalign.run_node`, waits
for them with a deadline, and loads the trained nodes back, or raises the
most informative error of the failed processes. Before anything starts it
refuses a call that every ``spawn``/``forkserver`` child would re-run from an
unguarded main script.
"""

from __future__ import annotations

import ast
import copy
import datetime
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..._validation import check_choice, check_int, check_real
from ._distributed import (
    DistributedTrainingError,
    PeerFailureError,
    _first_line,
    load_node_results,
    run_node,
    save_node_result,
)
from ._model import SheafAlign
from ._node import SheafNode
from ._train import (
    NonFiniteLossError,
    StepInfo,
    TrainResult,
    _check_training_args,
    as_views,
)

__all__ = ["train_distributed"]


_GUARD_ADVICE = (
    "With start_method={method!r} every process it starts re-runs the top level of your "
    "main script {where} (that is how Python's {method!r} start method works), so each "
    "process would start training again and die before it runs. Put the call under the "
    'guard:\n\n    if __name__ == "__main__":\n        result = train_distributed(model, '
    'views, ...)\n\nor pass start_method="fork" (POSIX, CPU only).'
)


def _reexecuted_main() -> str | None:
    """The main script (or module) a 'spawn'/'forkserver' child re-runs, or None.

    Mirrors ``multiprocessing.spawn``: a main module imported by name (``python
    -m pkg.mod``) is re-run unless it is a package's ``__main__``; a main script
    run by path is re-run unless it is IPython's; an interactive session or
    ``python -c`` has nothing to re-run.
    """
    import multiprocessing.spawn as mp_spawn

    main = sys.modules.get("__main__")
    if main is None:
        return None
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return None if name == "__main__" or name.endswith(".__main__") else name
    path = getattr(main, "__file__", None)
    if path is None or getattr(mp_spawn, "WINEXE", False):
        return None
    if os.path.splitext(os.path.basename(path))[0] == "ipython":
        return None
    return str(path)


def _names_main(test: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(test))


def _unguarded_call_site() -> tuple[str, int] | None:
    """(main script, line) when this call runs from the main script's top level unguarded.

    Walks the stack to the main module's top-level frame and reads the script:
    a call under ``if __name__ == "__main__":`` (or any ``if`` testing
    ``__name__``) is guarded. None when the main script is not re-run by the
    child processes, cannot be read, or the call does not come from its top level.
    """
    if _reexecuted_main() is None:
        return None
    main = sys.modules["__main__"]
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            break
        frame = frame.f_back
    if frame is None:
        return None
    path = getattr(main, "__file__", None)
    line = frame.f_lineno
    try:
        with open(str(path), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError, TypeError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and _names_main(node.test)
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return None
    return str(path), line


def _check_main_guard(start_method: str) -> None:
    """Refuse, before any process starts, a run that every child would re-start and die in."""
    if start_method == "fork":
        return
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # this *is* a child re-running the unguarded script: say so in its stderr
        raise DistributedTrainingError(
            "train_distributed was called while a child process was importing the main "
            "script. " + _GUARD_ADVICE.format(method=start_method, where="")
        )
    site = _unguarded_call_site()
    if site is not None:
        path, line = site
        raise DistributedTrainingError(
            f"train_distributed is called at the top level of {path} (line {line}), "
            'outside an `if __name__ == "__main__":` block. '
            + _GUARD_ADVICE.format(method=start_method, where=f"({path})")
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(
    rank: int, world: int, workdir: str, port: int, backend: str, timeout: float, threads: int
) -> None:
    """Body of one spawned process: load only its own node and data, train, report."""
    directory = Path(workdir)
    (directory / f"started{rank}").touch()  # reached: the process got past bootstrapping
    torch.set_num_threads(threads)
    try:
        payload = torch.load(directory / f"node{rank}.pt", weights_only=False, map_location="cpu")
        node: SheafNode = payload["node"]
        x: torch.Tensor = payload["x"]
        if backend == "nccl":
            device = torch.device("cuda", rank)
            torch.cuda.set_device(device)
            node, x = node.to(device), x.to(device)
        try:
            dist.init_process_group(
                backend,
                init_method=f"tcp://127.0.0.1:{port}",
                rank=rank,
                world_size=world,
                timeout=datetime.timedelta(seconds=timeout),
            )
        except RuntimeError as exc:
            raise PeerFailureError(
                f"node {node.name!r} (rank {rank}): rendezvous failed: {_first_line(exc)}"
            ) from exc
        result = run_node(node, x, timeout=timeout, **payload["train"])
        save_node_result(directory, node, result)
    except BaseException as exc:
        report = {
            "kind": type(exc).__name__,
            "message": str(exc),
            "peer": isinstance(exc, PeerFailureError),
            "origin": int(getattr(exc, "origin", 1)),
            "traceback": traceback.format_exc(),
        }
        (directory / f"error{rank}.json").write_text(json.dumps(report))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # skip process-group teardown: peers may be gone
    dist.destroy_process_group()


_RERAISE: dict[str, type[Exception]] = {
    "NonFiniteLossError": NonFiniteLossError,
    "FloatingPointError": FloatingPointError,
    "ValueError": ValueError,
    "TypeError": TypeError,
}


def _failure(model: SheafAlign, codes: list[int | None], directory: Path) -> BaseException:
    """The most informative exception for a failed run (root cause first)."""
    errors = {}
    for rank in range(len(codes)):
        path = directory / f"error{rank}.json"
        if path.is_file():
            errors[rank] = json.loads(path.read_text())
    names = model.node_names
    dead = [r for r, c in enumerate(codes) if c not in (0, None) and r not in errors]
    hung = [r for r, c in enumerate(codes) if c is None]
    primary = sorted(
        (r for r in errors if not errors[r]["peer"]),
        key=lambda r: (-errors[r]["origin"], r),
    )
    others = "; ".join(
        f"node {names[r]!r}: {errors[r]['message']}" for r in sorted(errors) if errors[r]["peer"]
    )
    if primary:
        r = primary[0]
        cls = _RERAISE.get(errors[r]["kind"], DistributedTrainingError)
        return cls(
            f"decentralized training failed on node {names[r]!r} (rank {r}): {errors[r]['message']}"
        )
    parts = []
    for r in dead:
        if not (directory / f"started{r}").exists():
            parts.append(
                f"node {names[r]!r} (rank {r}) died with exit code {codes[r]} while Python "
                "started the process, before sheaftopo's worker ran (its traceback is above "
                "on stderr). The usual cause: a 'spawn' or 'forkserver' process re-runs the "
                "top level of the main script, so code there that must run once (such as "
                "the call to train_distributed) has to be under "
                '`if __name__ == "__main__":`, or the main script fails on import'
            )
            continue
        parts.append(
            f"node {names[r]!r} (rank {r}) died with exit code {codes[r]} without "
            "reporting an error"
        )
    for r in hung:
        parts.append(f"node {names[r]!r} (rank {r}) did not finish and was terminated")
    if others:
        parts.append(f"the others stopped: {others}")
    if not parts:
        parts.append("a process failed without reporting why")
    return DistributedTrainingError("decentralized training failed: " + "; ".join(parts))


def train_distributed(
    model: SheafAlign,
    views: Any,
    *,
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    callback: Callable[[StepInfo], None] | None = None,
    timeout: float = 60.0,
    backend: str = "auto",
    threads: int = 1,
    start_method: str = "spawn",
) -> TrainResult:
    """Train ``model`` (in place) with one process per node on ``torch.distributed``.

    Spawns ``model.n_nodes`` processes on this machine, rendezvous on
    ``127.0.0.1`` at a free port. Process i receives node i's parameters and
    node i's data only (through its own file), trains with :func:`run_node`
    and writes back its parameters and history; nothing but the projections
    z_i^e (and three loss numbers per step) crosses between processes.

    Parameters
    ----------
    model : SheafAlign
    views, epochs, batch_size, lr, weight_decay, seed
        As in :func:`train`; the same seed gives the same steps and, up to
        rounding, the same losses.
    callback : callable, optional
        Called in every process after every step with a :class:`StepInfo`
        whose ``node`` is the process's node; it must be picklable (a
        module-level function).
    timeout : float, default 60
        Seconds any exchange may wait; a dead or stalled process makes the
        others fail within about this time (at once when its connections
        close), and the launcher terminates what is left
        ``min(timeout, 5) + 2`` seconds after the first failure.
    backend : {"auto", "gloo", "nccl"}
        ``"auto"``: NCCL when CUDA offers a GPU per node, gloo otherwise.
        Under NCCL process i uses ``cuda:i``.
    threads : int, default 1
        ``torch.set_num_threads`` in every process (several processes share
        the machine's cores).
    start_method : {"spawn", "forkserver", "fork"}, default "spawn"
        How processes start. ``"spawn"`` (portable, safe) imports torch
        afresh in every process, seconds each; ``"fork"`` (POSIX, CPU only)
        starts at once with this process's imports; it is unsafe once this
        process has used CUDA, and with ``threads > 1`` a child may hang in
        an OpenMP runtime that the parent had started. Under ``"spawn"`` and
        ``"forkserver"`` every process re-runs the top level of the main
        script, so a script must call ``train_distributed`` under
        ``if __name__ == "__main__":``; a call from an unguarded top level is
        refused (``DistributedTrainingError``, before any process starts).

    Examples
    --------
    >>> import torch
    >>> from sheaftopo.torch.sheafalign import SheafAlign, train_distributed
    >>> g = torch.Generator().manual_seed(0)
    >>> views = [torch.randn(40, d, generator=g) for d in (3, 4)]
    >>> model = SheafAlign([3, 4], embed_dim=4, hidden=4)
    >>> result = train_distributed(model, views, epochs=2, batch_size=20, start_method="fork")
    >>> result.mode, result.bytes_sent[0].tolist()   # 20 rows x d_e = 2 float32 each way
    ('distributed', [160, 160])

    Returns
    -------
    TrainResult
        ``mode="distributed"``; ``bytes_sent`` as counted by the processes.

    Raises
    ------
    NonFiniteLossError
        (a ``FloatingPointError``) A loss term became NaN or inf; the message
        names the step, the term and the node that saw it first.
    DistributedTrainingError
        A process died or stalled; the message names it and what the others saw.
    ValueError, TypeError
        Bad input (checked before any process starts).
    """
    if not isinstance(model, SheafAlign):
        raise TypeError(
            "train_distributed trains a SheafAlign model (one process per node); got "
            f"{type(model).__name__}"
        )
    epochs, batch_size, lr, weight_decay, seed = _check_training_args(
        epochs, batch_size, lr, weight_decay, seed
    )
    timeout = check_real(timeout, "timeout", low=0.0, low_inclusive=False)
    threads = check_int(threads, "threads", minimum=1)
    backend = check_choice(backend, "backend", ("auto", "gloo", "nccl"))
    start_method = check_choice(start_method, "start_method", ("spawn", "forkserver", "fork"))
    _check_main_guard(start_method)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable; got {type(callback).__name__}")
    data = as_views(views, model)
    backend = _resolve_backend(backend, model.n_nodes)
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "weight_decay": weight_decay,
        "seed": seed,
        "callback": callback,
    }
    t_launch = time.time()
    t0 = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="sheafalign-"))
    procs: list[Any] = []
    try:
        _write_payloads(model, data, settings, workdir)
        _start(procs, model.n_nodes, workdir, backend, timeout, threads, start_method)
        codes = _wait_for_exit(procs, timeout)
        if any(c != 0 for c in codes):
            raise _failure(model, codes, workdir)
        return load_node_results(
            model, workdir, seconds=time.perf_counter() - t0, t_launch=t_launch
        )
    finally:
        _stop(procs)
        shutil.rmtree(workdir, ignore_errors=True)


def _resolve_backend(backend: str, world: int) -> str:
    """``"auto"``: NCCL when CUDA offers a GPU per node, gloo otherwise; NCCL needs them."""
    if backend == "auto":
        backend = (
            "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= world else "gloo"
        )
    if backend == "nccl" and torch.cuda.device_count() < world:
        raise ValueError(
            f"backend='nccl' needs one GPU per node ({world}); found {torch.cuda.device_count()}"
        )
    return backend


def _write_payloads(
    model: SheafAlign, data: list[torch.Tensor], settings: dict[str, Any], workdir: Path
) -> None:
    """Node i's file: a CPU copy of node i, node i's data and the training settings."""
    for i, node in enumerate(model.node_list()):
        torch.save(
            {"node": copy.deepcopy(node).cpu(), "x": data[i].detach().cpu(), "train": settings},
            workdir / f"node{i}.pt",
        )


def _start(
    procs: list[Any],
    world: int,
    workdir: Path,
    backend: str,
    timeout: float,
    threads: int,
    start_method: str,
) -> None:
    """Start one daemon process per node, all meeting at a free port of 127.0.0.1; each is
    appended to ``procs`` as soon as it runs (so that a failure midway stops those)."""
    import torch.multiprocessing as mp

    ctx: Any = mp.get_context(start_method)
    port = _free_port()
    for rank in range(world):
        p = ctx.Process(
            target=_worker,
            args=(rank, world, str(workdir), port, backend, timeout, threads),
            daemon=True,
        )
        p.start()
        procs.append(p)


def _wait_for_exit(procs: list[Any], timeout: float) -> list[int | None]:
    """The processes' exit codes once all have exited, or once the others had
    ``min(timeout, 5) + 2`` seconds after the first failure (None: still running)."""
    deadline = None
    while True:
        codes = [p.exitcode for p in procs]
        if all(c is not None for c in codes):
            break
        now = time.monotonic()
        if deadline is None and any(c not in (None, 0) for c in codes):
            # every step all-reduces over all processes, so once one has failed the
            # others cannot finish theirs: they fail at once when its connections
            # close, or after `timeout` when it hangs; a grace period lets them report
            deadline = now + min(timeout, 5.0) + 2.0
        if deadline is not None and now > deadline:
            break
        time.sleep(0.02)
    return [p.exitcode for p in procs]


def _stop(procs: list[Any]) -> None:
    """Terminate what is still running (kill what ignores that) and reap every process."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5.0)
        if p.is_alive():
            p.kill()
            p.join(timeout=5.0)
