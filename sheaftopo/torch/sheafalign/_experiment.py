"""The SheafAlign experiment: both models on one data set and graph, tables and plots."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._validation import check_choice, check_int, check_real
from ._baseline import SingleSpaceBaseline
from ._data import DATASETS, MultiViewSplit, load_views
from ._evaluate import Evaluation, evaluate
from ._graph import GRAPH_KINDS, make_graph
from ._launch import train_distributed
from ._model import SheafAlign
from ._train import TrainResult, train

__all__ = ["DEFAULT_ANCHORS", "ExperimentResult", "run_experiment"]

#: The single-space baseline's anchor per data set (the most image-like view).
DEFAULT_ANCHORS = {"mfeat": "pix", "digits": "middle", "synthetic": "v0"}

#: The synthetic setting of the experiment: pairwise-only redundancy.
SYNTHETIC_DEFAULTS = {
    "n_samples": 1500,
    "n_views": 3,
    "shared_dim": 0,
    "pairwise_dim": 4,
    "unique_dim": 4,
    "noise": 0.1,
}


@dataclass
class ExperimentResult:
    """Everything one experiment produced.

    Attributes
    ----------
    settings : dict
        The arguments, the graph, the machine.
    rows : list of dict
        One summary row per trained model (SheafAlign at every d_e, then
        the baseline), the columns of the Markdown table.
    evaluations : dict of str to Evaluation
    training : dict of str to TrainResult
    files : dict of str to Path
        Written files (empty when ``out`` was None).
    """

    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    evaluations: dict[str, Evaluation]
    training: dict[str, TrainResult]
    files: dict[str, Path] = field(default_factory=dict)

    def markdown(self) -> str:
        """The results as Markdown tables."""
        return _markdown(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "rows": self.rows,
            "evaluations": {k: v.as_dict() for k, v in self.evaluations.items()},
            "training": {k: v.as_dict() for k, v in self.training.items()},
        }


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _markdown(res: ExperimentResult) -> str:
    s = res.settings
    lines = [
        f"## SheafAlign vs single shared space — {s['dataset']}, {s['graph']} graph",
        "",
        f"Nodes: {', '.join(s['nodes'])} ({len(s['edges'])} edges); embedding d = "
        f"{s['embed_dim']}; {s['epochs']} epochs, batch {s['batch_size']}, Adam lr {s['lr']:g}, "
        f"seed {s['seed']}; {s['n_train']} training / {s['n_test']} test items; "
        f"training mode: {s['mode']}; baseline anchor: {s['anchor']}.",
        "",
        "Retrieval: Recall@k averaged over ordered modality pairs (instance: the paired item; "
        "label: an item of the same class). Zero-shot: class centroids of one modality, items "
        "of another. k-shot: k labelled items per class of the modality itself.",
        "",
        "| model | d_e | R@1 | R@5 | R@10 | label R@1 | label R@5 | zero-shot | 1-shot | 5-shot "
        "| acc. p=0.5 | missing NMSE | numbers/sample | s/epoch | MB/epoch |",
        "|" + " --- |" * 15,
    ]
    for r in res.rows:
        lines.append(
            f"| {r['model']} | {r['edge_dim']} | {_fmt(r['R@1'])} | {_fmt(r['R@5'])} | "
            f"{_fmt(r['R@10'])} | {_fmt(r['label R@1'])} | {_fmt(r['label R@5'])} | "
            f"{_fmt(r['zero-shot'])} | {_fmt(r['1-shot'])} | {_fmt(r['5-shot'])} | "
            f"{_fmt(r['robust p=0.5'])} | {_fmt(r['missing NMSE'])} | "
            f"{r['numbers/sample']:g} | {_fmt(r['seconds/epoch'], 2)} | "
            f"{_fmt(r['MB/epoch'], 2)} |"
        )
    lines += [
        "",
        "Missing modality (normalised squared error of every node's embedding estimated from "
        "its neighbours; 1 = predicting the mean):",
        "",
        "| model | from all neighbours | from one neighbour | zero fill | mean fill | "
        "numbers/sample sent | full embedding |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, ev in res.evaluations.items():
        m = ev.missing_nmse
        lines.append(
            f"| {name} | {_fmt(m['model'])} | {_fmt(m['model_single'])} | {_fmt(m['zero'])} | "
            f"{_fmt(m['mean'])} | {ev.message_numbers:g} | {ev.embedding_numbers:g} |"
        )
    rates = sorted(next(iter(res.evaluations.values())).robustness["model"])
    lines += [
        "",
        "Robustness (multi-view nearest-centroid accuracy, each modality dropped with "
        "probability p; fill = model estimate / zero / training mean):",
        "",
        "| model | fill | " + " | ".join(f"p={p:g}" for p in rates) + " |",
        "| --- | --- | " + " | ".join("---" for _ in rates) + " |",
    ]
    for name, ev in res.evaluations.items():
        for fill in ("model", "zero", "mean"):
            vals = " | ".join(_fmt(ev.robustness[fill][p]) for p in rates)
            lines.append(f"| {name} | {fill} | {vals} |")
    lines += ["", f"Command: `{s['command']}`", ""]
    return "\n".join(lines)


def _row(label: str, edge_dim: Any, ev: Evaluation, tr: TrainResult) -> dict[str, Any]:
    return {
        "model": label,
        "edge_dim": edge_dim,
        "R@1": ev.recall_instance.get(1, float("nan")),
        "R@5": ev.recall_instance.get(5, float("nan")),
        "R@10": ev.recall_instance.get(10, float("nan")),
        "label R@1": ev.recall_label.get(1, float("nan")),
        "label R@5": ev.recall_label.get(5, float("nan")),
        "zero-shot": ev.zero_shot,
        "1-shot": ev.few_shot.get(1, float("nan")),
        "5-shot": ev.few_shot.get(5, float("nan")),
        "robust p=0.5": ev.robustness["model"].get(0.5, float("nan")),
        "missing NMSE": ev.missing_nmse["model"],
        "numbers/sample": ev.message_numbers,
        "seconds/epoch": float(np.mean(tr.epoch_seconds)),
        "MB/epoch": float(np.mean(tr.bytes_per_epoch)) / 1e6,
    }


def _plots(res: ExperimentResult, out: Path) -> dict[str, Path]:
    """The three figures (recall, communication, robustness) written to ``out``."""
    sheaf = [(k, ev) for k, ev in res.evaluations.items() if k.startswith("SheafAlign")]
    base = res.evaluations.get("single space")
    files = {}
    files["recall_plot"] = _recall_plot(res, sheaf, base, out / "recall_vs_edge_dim.png")
    files["communication_plot"] = _communication_plot(
        sheaf, base, out / "communication_vs_error.png"
    )
    files["robustness_plot"] = _robustness_plot(res, out / "robustness.png")
    return files


def _recall_plot(
    res: ExperimentResult,
    sheaf: list[tuple[str, Evaluation]],
    base: Evaluation | None,
    path: Path,
) -> Path:
    """Instance Recall@k of SheafAlign against d_e, the baseline's as horizontal lines."""
    from matplotlib.figure import Figure

    de = [res.rows[i]["edge_dim"] for i in range(len(sheaf))]
    ks = sorted(sheaf[0][1].recall_instance) if sheaf else []
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    for t, k in enumerate(ks):
        color = f"C{t}"
        ax.plot(
            de,
            [ev.recall_instance[k] for _, ev in sheaf],
            "o-",
            color=color,
            label=f"SheafAlign R@{k}",
        )
        if base is not None:
            ax.axhline(base.recall_instance[k], color=color, ls="--", label=f"single space R@{k}")
    ax.set_xlabel("edge dimension d_e")
    ax.set_ylabel("instance Recall@k (mean over pairs)")
    ax.set_title(f"{res.settings['dataset']}: recall vs comparison-space size")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _communication_plot(
    sheaf: list[tuple[str, Evaluation]], base: Evaluation | None, path: Path
) -> Path:
    """Missing-modality error against the numbers sent per sample, with the zero/mean fills."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.plot(
        [ev.message_numbers for _, ev in sheaf],
        [ev.missing_nmse["model"] for _, ev in sheaf],
        "o-",
        label="SheafAlign, all neighbours",
    )
    ax.plot(
        [ev.message_numbers for _, ev in sheaf],
        [ev.missing_nmse["model_single"] for _, ev in sheaf],
        "s:",
        label="SheafAlign, one neighbour",
    )
    if base is not None:
        ax.plot(
            [base.message_numbers],
            [base.missing_nmse["model"]],
            "D",
            label="single space (full embeddings)",
        )
    ref = sheaf[0][1] if sheaf else base
    if ref is not None:
        ax.axhline(ref.missing_nmse["mean"], color="grey", ls="--", label="mean fill (0 sent)")
        ax.axhline(ref.missing_nmse["zero"], color="k", ls=":", label="zero fill (0 sent)")
    ax.set_xlabel("numbers sent per sample per neighbour")
    ax.set_ylabel("missing-modality NMSE")
    ax.set_title("communication vs reconstruction error")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _robustness_plot(res: ExperimentResult, path: Path) -> Path:
    """Multi-view accuracy against the drop probability, main model and baseline, per fill."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    main = res.settings["main_model"]
    for name, style in ((main, "-"), ("single space", "--")):
        ev = res.evaluations.get(name)
        if ev is None:
            continue
        for fill, marker in (("model", "o"), ("zero", "x"), ("mean", "s")):
            ps = sorted(ev.robustness[fill])
            ax.plot(
                ps,
                [ev.robustness[fill][p] for p in ps],
                marker=marker,
                ls=style,
                label=f"{name}, {fill} fill",
            )
    ax.set_xlabel("drop probability p per modality")
    ax.set_ylabel("multi-view accuracy")
    ax.set_title("robustness to missing modalities")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def run_experiment(
    dataset: str = "mfeat",
    *,
    graph: str = "complete",
    nodes: Sequence[str] | None = None,
    epochs: int = 40,
    fractions: Sequence[float] = (0.25, 0.5, 0.75),
    embed_dim: int = 64,
    hidden: int = 128,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    anchor: str | None = None,
    knn_k: int = 2,
    distributed: int | None = None,
    start_method: str = "spawn",
    timeout: float = 120.0,
    threads: int = 1,
    synthetic: dict[str, Any] | None = None,
    out: str | Path | None = None,
    command: str = "",
    verbose: bool = False,
) -> ExperimentResult:
    """Train SheafAlign at d_e = f d for every fraction f, and the baseline; evaluate; report.

    Parameters
    ----------
    dataset : {"mfeat", "digits", "synthetic"}
    graph : {"complete", "ring", "star", "knn"}
        The communication graph; a star is centred on the baseline's anchor;
        ``"knn"`` joins each modality to the ``knn_k`` most similar ones
        (training data).
    nodes : sequence of str, optional
        Views to use, in node order (default: all of the data set).
    epochs, batch_size, lr, seed
        The same budget for every model.
    fractions : sequence of float, default (0.25, 0.5, 0.75)
        Edge dimensions d_e = round(f d). The model with f = 0.5 (SheafAlign's
        default) is the "main" one, or the middle fraction otherwise.
    embed_dim, hidden : int
        d (every node) and the encoders' hidden width, shared with the baseline.
    anchor : str, optional
        The baseline's anchor view (default: :data:`DEFAULT_ANCHORS`).
    distributed : int, optional
        Train the SheafAlign models with this many processes
        (:func:`train_distributed`; must equal the number of nodes);
        default: single-process simulation.
    start_method, timeout
        Of the distributed training.
    threads : int, default 1
        Torch threads per process.
    synthetic : dict, optional
        Options of :func:`make_pid_views` (default :data:`SYNTHETIC_DEFAULTS`).
    out : path, optional
        Directory for ``results.json``, ``results.md`` and three plots.
    command : str
        The invocation, recorded in the outputs.
    verbose : bool
        Print progress.

    Returns
    -------
    ExperimentResult

    Examples
    --------
    >>> from sheaftopo.torch.sheafalign import run_experiment
    >>> res = run_experiment("synthetic", epochs=1, fractions=(0.5,), embed_dim=8, hidden=8,
    ...                      synthetic={"n_samples": 200})
    >>> [row["model"] for row in res.rows]
    ['SheafAlign d_e=4', 'single space']
    >>> "| SheafAlign d_e=4 | 4 |" in res.markdown()
    True
    """
    dataset, graph, epochs, fracs, options, split, distributed = _prepare(
        dataset, graph, epochs, fractions, nodes, seed, synthetic, distributed
    )
    anchor, edges = _anchor_and_graph(dataset, graph, split, anchor, knn_k)
    run = _Run(
        split,
        {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed},
        print if verbose else (lambda *a, **k: None),
    )
    previous = torch.get_num_threads()
    torch.set_num_threads(check_int(threads, "threads", minimum=1))
    try:
        main_name = _fit_sheafalign(
            run,
            fracs,
            edges,
            {"embed_dim": embed_dim, "hidden": hidden, "node_names": split.names, "seed": seed},
            distributed,
            {"timeout": timeout, "threads": threads, "start_method": start_method},
        )
        base = SingleSpaceBaseline(
            split.input_dims,
            anchor=anchor,
            embed_dim=embed_dim,
            hidden=hidden,
            node_names=split.names,
            seed=seed,
        )
        run.fit("single space", base, "-", None, {})
    finally:
        torch.set_num_threads(previous)
    settings = _settings(
        dataset=dataset,
        graph=graph,
        split=split,
        edges=edges,
        embed_dim=embed_dim,
        hidden=hidden,
        fracs=fracs,
        budget=run.budget,
        anchor=anchor,
        distributed=distributed,
        start_method=start_method,
        options=options,
        threads=threads,
        main_name=main_name,
        command=command,
    )
    res = ExperimentResult(settings, run.rows, run.evaluations, run.training)
    if out is not None:
        _write(res, Path(out))
    return res


def _prepare(
    dataset: str,
    graph: str,
    epochs: int,
    fractions: Sequence[float],
    nodes: Sequence[str] | None,
    seed: int,
    synthetic: dict[str, Any] | None,
    distributed: int | None,
) -> tuple[str, str, int, tuple[float, ...], dict[str, Any], MultiViewSplit, int | None]:
    """The checked arguments, the synthetic options and the data split (the data set's node
    count checked against the requested process count)."""
    dataset = check_choice(dataset, "dataset", DATASETS)
    graph = check_choice(graph, "graph", GRAPH_KINDS)
    epochs = check_int(epochs, "epochs", minimum=1)
    fracs = tuple(
        check_real(f, "fractions", low=0.0, high=1.0, low_inclusive=False) for f in fractions
    )
    if not fracs:
        raise ValueError("fractions must hold at least one edge-dimension fraction")
    options = {**SYNTHETIC_DEFAULTS, **(synthetic or {})}
    split: MultiViewSplit = load_views(dataset, nodes=nodes, seed=seed, synthetic=options)
    n = split.n_views
    if n < 2:
        raise ValueError(f"the experiment needs at least two nodes; got {list(split.names)}")
    if distributed is not None:
        distributed = check_int(distributed, "distributed", minimum=2)
        if distributed != n:
            raise ValueError(
                f"distributed training runs one process per node: {n} nodes "
                f"({', '.join(split.names)}) need {n} processes, not {distributed}"
            )
    return dataset, graph, epochs, fracs, options, split, distributed


def _anchor_and_graph(
    dataset: str, graph: str, split: MultiViewSplit, anchor: str | None, knn_k: int
) -> tuple[str, np.ndarray]:
    """The baseline's anchor view (the data set's default, else the first view when absent)
    and the communication graph's edges; a star is centred on the anchor, so both models
    use the same topology."""
    anchor = anchor if anchor is not None else DEFAULT_ANCHORS[dataset]
    if anchor not in split.names:
        anchor = split.names[0]
    n = split.n_views
    edges = make_graph(
        graph,
        n,
        k=min(knn_k, n - 1),
        center=split.names.index(anchor),
        views=split.train if graph == "knn" else None,
    )
    return anchor, edges


@dataclass
class _Run:
    """Trains and evaluates the experiment's models on one split with one budget."""

    split: MultiViewSplit
    budget: dict[str, Any]  # epochs, batch_size, lr, seed: the same for every model
    say: Callable[..., None]
    rows: list[dict[str, Any]] = field(default_factory=list)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    training: dict[str, TrainResult] = field(default_factory=dict)

    def fit(
        self,
        name: str,
        model: Any,
        edge_dim: Any,
        processes: int | None,
        distributed_options: dict[str, Any],
    ) -> None:
        """Train ``model`` (with ``processes`` processes, or in this one), evaluate it on
        the test split and record its row."""
        t0 = time.perf_counter()
        if processes is not None:
            tr = train_distributed(model, self.split.train, **self.budget, **distributed_options)
        else:
            tr = train(model, self.split.train, **self.budget)
        seconds = time.perf_counter() - t0
        if isinstance(model, SheafAlign):
            self.say(
                f"{name}: trained in {seconds:.1f} s "
                f"({np.mean(tr.epoch_seconds):.3f} s/epoch), final loss {tr.losses[-1]:.4f}"
            )
        else:
            self.say(f"{name}: trained in {seconds:.1f} s, final loss {tr.losses[-1]:.4f}")
        ev = evaluate(
            model,
            self.split.test,
            self.split.y_test,
            train_views=self.split.train,
            train_labels=self.split.y_train,
            seed=self.budget["seed"],
        )
        self.evaluations[name], self.training[name] = ev, tr
        self.rows.append(_row(name, edge_dim, ev, tr))


def _fit_sheafalign(
    run: _Run,
    fracs: tuple[float, ...],
    edges: np.ndarray,
    model_options: dict[str, Any],
    processes: int | None,
    distributed_options: dict[str, Any],
) -> str:
    """Train and evaluate SheafAlign at d_e = f d for every fraction f; returns the main
    model's name (f = 0.5, or the middle fraction)."""
    main_frac = 0.5 if 0.5 in fracs else sorted(fracs)[len(fracs) // 2]
    main_name = ""
    for f in fracs:
        model = SheafAlign(run.split.input_dims, edges, edge_dim=f, **model_options)
        name = f"SheafAlign d_e={model.edge_dims[0]}"
        if f == main_frac:
            main_name = name
        run.fit(name, model, model.edge_dims[0], processes, distributed_options)
    return main_name


def _settings(
    *,
    dataset: str,
    graph: str,
    split: MultiViewSplit,
    edges: np.ndarray,
    embed_dim: int,
    hidden: int,
    fracs: tuple[float, ...],
    budget: dict[str, Any],
    anchor: str,
    distributed: int | None,
    start_method: str,
    options: dict[str, Any],
    threads: int,
    main_name: str,
    command: str,
) -> dict[str, Any]:
    """The experiment's settings as recorded in its outputs."""
    epochs = budget["epochs"]
    return {
        "dataset": dataset,
        "graph": graph,
        "nodes": list(split.names),
        "edges": [[split.names[u], split.names[v]] for u, v in edges.tolist()],
        "embed_dim": embed_dim,
        "hidden": hidden,
        "fractions": list(fracs),
        "epochs": epochs,
        "batch_size": budget["batch_size"],
        "lr": budget["lr"],
        "seed": budget["seed"],
        "anchor": anchor,
        "mode": f"distributed ({distributed} processes, {start_method})"
        if distributed is not None
        else "simulated (one process)",
        "n_train": len(split.y_train),
        "n_test": len(split.y_test),
        "synthetic": options if dataset == "synthetic" else None,
        "threads": threads,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
        f"torch {torch.__version__}",
        "main_model": main_name,
        "command": command or f"run_experiment({dataset!r}, graph={graph!r}, epochs={epochs})",
    }


def _write(res: ExperimentResult, directory: Path) -> None:
    """``results.json``, ``results.md`` and the plots in ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    res.files["json"] = directory / "results.json"
    res.files["json"].write_text(json.dumps(res.as_dict(), indent=1, default=float))
    res.files["markdown"] = directory / "results.md"
    res.files["markdown"].write_text(res.markdown())
    res.files.update(_plots(res, directory))
