"""``sheaftopo sheafalign experiment | node``: SheafAlign experiments and decentralized training.

SheafAlign (arXiv:2510.20540) aligns modalities held by the nodes of a
communication graph through a learned cellular sheaf; the library is
:mod:`sheaftopo.torch.sheafalign` (it needs the torch extra, imported only when
this subcommand runs). ``experiment`` trains SheafAlign at several edge
dimensions and the ImageBind-style single-space baseline and writes tables and
plots; ``node`` trains one node under ``torchrun`` (``torchrun
--nproc-per-node 6 -m sheaftopo sheafalign node --out DIR``). Exit status: 0 on
success, 2 for a usage error or a bad value (one line on stderr).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import PROG, InputError, Parser, error

__all__ = ["add_parser", "build_parser", "run"]

#: feature counts of the three views of scikit-learn's digits (see ``load_views``)
_DIGITS_DIMS = {"left": 24, "middle": 16, "right": 24}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sheafalign`` to the subcommands of the ``sheaftopo`` parser; return its parser.

    Its arguments are parsed by :func:`build_parser` when it runs (the option
    choices come from the torch side, which ``sheaftopo --help`` does not import).
    """
    return subparsers.add_parser(
        "sheafalign",
        help="SheafAlign experiments and decentralized training (needs the torch extra)",
        description="SheafAlign (arXiv:2510.20540): see 'sheaftopo sheafalign --help'.",
        add_help=False,
        pass_through=True,
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``sheaftopo sheafalign experiment | node`` (imports torch).

    Returns
    -------
    argparse.ArgumentParser
        Its usage errors are one line on stderr, exit status 2.
    """
    parser = Parser(
        prog=f"{PROG} sheafalign",
        description="SheafAlign (arXiv:2510.20540): decentralized multimodal alignment with a "
        "learned cellular sheaf, against an ImageBind-style single shared space.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser(
        "experiment",
        help="train SheafAlign (d_e = d/4, d/2, 3d/4) and the baseline; write tables and plots",
    )
    _add_common(exp)
    _add_experiment(exp)
    node = sub.add_parser(
        "node",
        help="train one node under torchrun (RANK = node index); writes node-result{RANK}.pt",
        description="Run under torchrun, one process per node, e.g. "
        f"`torchrun --nproc-per-node 6 -m {PROG} sheafalign node --out DIR`. Each "
        "process loads only its own view and exchanges only edge projections.",
    )
    _add_common(node)
    node.add_argument("--out", type=Path, required=True, help="directory for node results")
    node.add_argument("--edge-fraction", type=float, default=0.5, help="d_e as a fraction of d")
    node.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    return parser


def _add_common(p: argparse.ArgumentParser) -> None:
    """The options of both commands: data, graph, model, training, synthetic data."""
    from ..torch.sheafalign import DATASETS, GRAPH_KINDS

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


def _add_experiment(exp: argparse.ArgumentParser) -> None:
    """The options of ``experiment`` only."""
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


def run(args: argparse.Namespace) -> int:
    """Run ``experiment`` or ``node`` with the arguments after ``sheafalign``.

    Returns
    -------
    int
        0 on success; 2 when torch is missing, or for a bad value (a
        ``ValueError`` or ``TypeError`` of the library's checks), reported as
        one line on stderr.
    """
    try:
        parser = build_parser()
    except ImportError as exc:
        return error("sheafalign", exc)
    parsed = parser.parse_args(args.passed)
    try:
        if parsed.command == "experiment":
            return _experiment(parsed, args.passed)
        return _node(parsed)
    except (ValueError, TypeError, InputError) as exc:
        return error("sheafalign", exc)


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
    """``experiment``: :func:`~sheaftopo.torch.sheafalign.run_experiment` with the options."""
    from ..torch.sheafalign import load_views, run_experiment

    distributed = args.distributed
    if distributed == 0:  # --distributed without N: one process per node
        distributed = (
            len(args.nodes)
            if args.nodes
            else load_views(args.dataset, synthetic=_synthetic(args)).n_views
        )
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
        command=f"{PROG} sheafalign " + " ".join(shlex.quote(a) for a in argv),
        verbose=not args.quiet,
    )
    if not args.quiet:
        print(res.markdown())
        print("wrote " + ", ".join(str(p) for p in res.files.values()))
    return 0


def _node(args: argparse.Namespace) -> int:
    """``node``: train this process's node under torchrun, save its result, print a summary."""
    import torch

    rank, names = _placement(args)
    torch.set_num_threads(args.threads)
    node, x = _own_node(args, names, rank)
    _train_node(args, node, x, names[rank])
    return 0


def _placement(args: argparse.Namespace) -> tuple[int, list[str]]:
    """This process's rank and the node names, checked against torchrun's world.

    Raises
    ------
    InputError
        Outside torchrun, with ``--graph knn``, or when the node count and the
        process count differ.
    """
    try:
        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except KeyError:
        raise InputError(
            "the node command runs under torchrun (RANK and WORLD_SIZE must be set)"
        ) from None
    if args.graph == "knn":
        raise InputError(
            "--graph knn needs every node's data in one place; use complete, ring or star"
        )
    # the node list and input dimensions are public metadata; the data are this node's own
    names = list(args.nodes) if args.nodes else _default_nodes(args)
    if len(names) != world:
        raise InputError(
            f"{len(names)} nodes ({', '.join(names)}) need {len(names)} processes; torchrun "
            f"started {world}"
        )
    return rank, names


def _own_node(args: argparse.Namespace, names: list[str], rank: int) -> tuple[Any, Any]:
    """This node's part of the model and its own training view, on its device."""
    import torch

    from ..torch.sheafalign import SheafAlign, load_views

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
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        if args.backend == "nccl"
        else torch.device("cpu")
    )
    node = node.to(device)
    return node, torch.as_tensor(own.train[0], dtype=torch.float32, device=device)


def _train_node(args: argparse.Namespace, node: Any, x: Any, name: str) -> None:
    """Train the node in torch.distributed's process group; save and summarize the result."""
    import torch.distributed as dist

    from ..torch.sheafalign import run_node, save_node_result

    dist.init_process_group(args.backend, timeout=datetime.timedelta(seconds=args.timeout))
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
            "node": name,
            "final_loss": float(result.losses[-1]),
            "bytes_sent_per_epoch": int(result.bytes_sent.sum() // max(1, args.epochs)),
            "seconds_per_epoch": float(result.epoch_seconds.mean()),
        }
        print(json.dumps(summary))
    finally:
        dist.destroy_process_group()


def _default_nodes(args: argparse.Namespace) -> list[str]:
    """Every view of the data set, in order."""
    from ..datasets import MFEAT_VIEWS

    if args.dataset == "mfeat":
        return list(MFEAT_VIEWS)
    if args.dataset == "digits":
        return list(_DIGITS_DIMS)
    return [f"v{i}" for i in range(args.n_views)]


def _input_dims(args: argparse.Namespace, names: list[str]) -> list[int]:
    """Every node's input dimension, without loading the other nodes' data."""
    from ..datasets import MFEAT_VIEWS

    if args.dataset == "mfeat":
        return [MFEAT_VIEWS[n] for n in names]
    if args.dataset == "digits":
        return [_DIGITS_DIMS[n] for n in names]
    latent = args.shared_dim + (args.n_views - 1) * args.pairwise_dim + args.unique_dim
    return [latent + 4] * len(names)  # make_pid_views' extra_dim = 4
