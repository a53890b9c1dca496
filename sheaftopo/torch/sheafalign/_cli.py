"""Command line: ``python -m sheaftopo.torch.sheafalign experiment | node``."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ._data import DATASETS
from ._graph import GRAPH_KINDS

__all__ = ["build_parser", "main"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="mfeat")
    p.add_argument("--graph", choices=GRAPH_KINDS, default="complete")
    p.add_argument(
        "--nodes",
        nargs="+",
        metavar="VIEW",
        help="views to use as nodes, in order (default: all of the data set)",
    )
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--embed-dim", type=int, default=64, help="node embedding dimension d")
    p.add_argument("--hidden", type=int, default=128, help="hidden units of the MLP encoders")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--knn-k", type=int, default=2, help="neighbours per node of --graph knn")
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds a distributed exchange may wait before failing",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--n-samples", type=int, default=1500, help="synthetic: items")
    p.add_argument("--n-views", type=int, default=3, help="synthetic: views")
    p.add_argument("--shared-dim", type=int, default=0, help="synthetic: fully shared dims")
    p.add_argument("--pairwise-dim", type=int, default=4, help="synthetic: dims per pair")
    p.add_argument("--unique-dim", type=int, default=4, help="synthetic: unique dims per view")
    p.add_argument("--noise", type=float, default=0.1, help="synthetic: feature noise")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of :func:`main`."""
    parser = argparse.ArgumentParser(
        prog="python -m sheaftopo.torch.sheafalign",
        description="SheafAlign (arXiv:2510.20540): decentralized multimodal alignment with a "
        "learned cellular sheaf, against an ImageBind-style single shared space.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser(
        "experiment",
        help="train SheafAlign (d_e = d/4, d/2, 3d/4) and the baseline; write tables and plots",
    )
    _common(exp)
    exp.add_argument(
        "--out",
        type=Path,
        default=Path("sheafalign-results"),
        help="output directory (results.json, results.md, *.png)",
    )
    exp.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.25, 0.5, 0.75],
        help="edge dimensions as fractions of d",
    )
    exp.add_argument("--anchor", help="baseline's anchor view (default: the image-like view)")
    exp.add_argument(
        "--distributed",
        type=int,
        nargs="?",
        const=0,
        default=None,
        metavar="N",
        help="train SheafAlign with N processes, one per node (N = number of "
        "nodes; without N: one per node)",
    )
    exp.add_argument("--start-method", choices=("spawn", "forkserver", "fork"), default="spawn")
    exp.add_argument("--quiet", action="store_true")
    node = sub.add_parser(
        "node",
        help="train one node under torchrun (RANK = node index); writes node-result{RANK}.pt",
        description="Run under torchrun, one process per node, e.g. "
        "`torchrun --nproc-per-node 6 -m sheaftopo.torch.sheafalign node --out DIR`. Each "
        "process loads only its own view and exchanges only edge projections.",
    )
    _common(node)
    node.add_argument("--out", type=Path, required=True, help="directory for node results")
    node.add_argument("--edge-fraction", type=float, default=0.5, help="d_e as a fraction of d")
    node.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    return parser


def _synthetic(args: argparse.Namespace) -> dict:
    return {
        "n_samples": args.n_samples,
        "n_views": args.n_views,
        "shared_dim": args.shared_dim,
        "pairwise_dim": args.pairwise_dim,
        "unique_dim": args.unique_dim,
        "noise": args.noise,
    }


def _experiment(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from ._data import load_views
    from ._experiment import run_experiment

    distributed = args.distributed
    if distributed == 0:  # --distributed without N: one process per node
        distributed = (
            len(args.nodes)
            if args.nodes
            else load_views(args.dataset, synthetic=_synthetic(args)).n_views
        )
    command = "python -m sheaftopo.torch.sheafalign " + " ".join(shlex.quote(a) for a in argv)
    res = run_experiment(
        args.dataset,
        graph=args.graph,
        nodes=args.nodes,
        epochs=args.epochs,
        fractions=args.fractions,
        embed_dim=args.embed_dim,
        hidden=args.hidden,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        anchor=args.anchor,
        knn_k=args.knn_k,
        distributed=distributed,
        start_method=args.start_method,
        timeout=args.timeout,
        threads=args.threads,
        synthetic=_synthetic(args),
        out=args.out,
        command=command,
        verbose=not args.quiet,
    )
    if not args.quiet:
        print(res.markdown())
        print("wrote " + ", ".join(str(p) for p in res.files.values()))
    return 0


def _node(args: argparse.Namespace) -> int:
    import torch
    import torch.distributed as dist

    from ._data import load_views
    from ._distributed import run_node, save_node_result
    from ._model import SheafAlign

    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except KeyError:
        print(
            "the node command runs under torchrun (RANK and WORLD_SIZE must be set)",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)
    if args.graph == "knn":
        print(
            "--graph knn needs every node's data in one place; use complete, ring or star",
            file=sys.stderr,
        )
        return 2
    # the node list and input dimensions are public metadata; the data are this node's own
    names = list(args.nodes) if args.nodes else _default_nodes(args)
    if len(names) != world:
        print(
            f"{len(names)} nodes ({', '.join(names)}) need {len(names)} processes; torchrun "
            f"started {world}",
            file=sys.stderr,
        )
        return 2
    own = load_views(args.dataset, nodes=[names[rank]], seed=args.seed, synthetic=_synthetic(args))
    dims = _input_dims(args, names)
    if dims[rank] != own.input_dims[0]:
        raise RuntimeError(
            f"view {names[rank]!r} has {own.input_dims[0]} features, expected {dims[rank]}"
        )
    model = SheafAlign(
        dims,
        args.graph,
        embed_dim=args.embed_dim,
        hidden=args.hidden,
        edge_dim=args.edge_fraction,
        node_names=names,
        seed=args.seed,
    )
    node = model.node(rank)
    del model  # keep only this node's parameters
    backend = args.backend
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        if backend == "nccl"
        else torch.device("cpu")
    )
    node = node.to(device)
    x = torch.as_tensor(own.train[0], dtype=torch.float32, device=device)
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=args.timeout))
    try:
        result = run_node(
            node,
            x,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            timeout=args.timeout,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        save_node_result(args.out, node, result)
        summary = {
            "node": names[rank],
            "final_loss": float(result.losses[-1]),
            "bytes_sent_per_epoch": int(result.bytes_sent.sum() // max(1, args.epochs)),
            "seconds_per_epoch": float(result.epoch_seconds.mean()),
        }
        print(json.dumps(summary))
    finally:
        dist.destroy_process_group()
    return 0


_DIGITS_DIMS = {"left": 24, "middle": 16, "right": 24}


def _default_nodes(args: argparse.Namespace) -> list[str]:
    from ...datasets import MFEAT_VIEWS

    if args.dataset == "mfeat":
        return list(MFEAT_VIEWS)
    if args.dataset == "digits":
        return list(_DIGITS_DIMS)
    return [f"v{i}" for i in range(args.n_views)]


def _input_dims(args: argparse.Namespace, names: list[str]) -> list[int]:
    """Every node's input dimension, without loading the other nodes' data."""
    from ...datasets import MFEAT_VIEWS

    if args.dataset == "mfeat":
        return [MFEAT_VIEWS[n] for n in names]
    if args.dataset == "digits":
        return [_DIGITS_DIMS[n] for n in names]
    latent = args.shared_dim + (args.n_views - 1) * args.pairwise_dim + args.unique_dim
    return [latent + 4] * len(names)  # make_pid_views' extra_dim = 4


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m sheaftopo.torch.sheafalign experiment|node [options]``.

    Returns the exit status (0 on success, 2 on bad usage). A bad value (a
    ``ValueError`` or ``TypeError`` from the checks) is reported as one line
    ``error: ...`` on stderr, with exit status 2, not as a traceback.

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import main
    >>> main(["experiment", "--dataset", "digits", "--epochs", "0"])  # stderr: error: epochs ...
    2
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(args_list)
    try:
        if args.command == "experiment":
            return _experiment(args, args_list)
        return _node(args)
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
