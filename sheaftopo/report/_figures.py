"""PNG figures of an :class:`~sheaftopo.report.AnalysisResult` (matplotlib, Agg).

Each function draws one figure from ``result.arrays`` and returns the PNG
bytes; :func:`render_figures` draws all of them. Figures are built as
``matplotlib.figure.Figure`` objects and saved through the Agg canvas, without
pyplot: nothing opens a window, the process's pyplot backend and state are
left alone, and ``import sheaftopo`` does not load matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._config import check_result
from ._figures_items import class_bars, joint_projection
from ._figures_sheaf import sheaf_graph
from ._plotting import grid_axes, new_figure, single_axes, to_png

__all__ = ["FIGURES", "render_figures"]

#: more series than this on one axis: the legend goes outside, to the right
_LEGEND_INSIDE = 6


def _style(i: int, n: int) -> dict[str, Any]:
    """Colour and line style of series i of n: tab10 up to 10, then tab20, dashes alternating."""
    from matplotlib import colormaps

    if n <= 10:
        return {"color": colormaps["tab10"](i % 10), "ls": "-"}
    return {"color": colormaps["tab20"](i % 20), "ls": "-" if i % 2 == 0 else "--"}


def _lines_axes(n: int) -> tuple[Any, Any]:
    """One axis for n overlaid series (wider when their legend goes outside)."""
    if n <= _LEGEND_INSIDE:
        return single_axes()
    fig = new_figure(8.6, 4.2)
    return fig, fig.subplots()


def _legend(ax: Any, n: int, **inside: Any) -> None:
    if n <= _LEGEND_INSIDE:
        ax.legend(fontsize=8, **inside)
    else:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def death_cdfs(result: Any) -> bytes:
    """Empirical CDFs of every set's H0 deaths (MST edge lengths), overlaid, in two units.

    Left: deaths divided by the set's RMS pairwise distance s (the diagrams the
    bottleneck distance compares); right: deaths divided by the set's mean
    death (the shapes the relative sliced Wasserstein distance compares).
    """
    sets = result.arrays["sets"]
    fig = new_figure(11.0, 4.0)
    left, right = fig.subplots(1, 2)
    tops = []
    for i, (name, a) in enumerate(sets.items()):
        d = np.sort(np.asarray(a["deaths"], dtype=np.float64))
        if d.size == 0:
            continue
        y = np.arange(1, d.size + 1) / d.size
        mean = float(d.mean())
        rel = d / mean if mean > 0 else d
        tops.append(float(np.quantile(rel, 0.99)))
        style = _style(i, len(sets))
        left.step(d / a["scale"], y, where="post", lw=1.4, label=name, **style)
        right.step(rel, y, where="post", lw=1.4, label=name, **style)
    left.set_xlabel("H0 death / s  (MST edge length over the RMS pairwise distance)")
    right.set_xlabel("H0 death / the set's mean death")
    top = 1.5 * float(np.median(tops)) if tops else 0.0  # a long tail of one set runs off
    if top > 0:
        right.set_xlim(-0.02 * top, top)
    for ax in (left, right):
        ax.set_ylabel("fraction of deaths ≤ x")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right", ncol=2 if len(sets) > 4 else 1)
    left.set_title("deaths in units of s (bottleneck)")
    right.set_title("deaths in units of their mean (SW(H0) rel.)")
    fig.suptitle("H0 persistence: distribution of the MST edge lengths of every set")
    return to_png(fig)


def epsilon_profiles(result: Any) -> bytes:
    """Approximate fiber product: share of all pairs and recall of true pairs vs ε."""
    pairs = result.arrays["pairs"]
    fig, axes = grid_axes(len(pairs))
    for ax, (key, p) in zip(axes, pairs.items(), strict=True):
        f = p["fiber_product"]
        ax.plot(f["eps"], f["pair_fraction"], label="pairs within ε / n²", color="tab:blue")
        ax.plot(f["eps"], f["recall"], label="recall of true pairs", color="tab:green")
        if f.get("eps_star") is not None and np.isfinite(f["eps_star"]):
            ax.axvline(f["eps_star"], color="tab:red", ls="--", lw=1, label="ε*")
        ax.set_xlabel("ε (shared-space distance)")
        ax.set_ylabel("fraction")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(key)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=9)
    fig.suptitle("ε-profiles of the approximate fiber product")
    return to_png(fig)


def principal_angles(result: Any) -> bytes:
    """Principal angles between the two modalities' subspaces, per pair."""
    pairs = result.arrays["pairs"]
    fig, ax = _lines_axes(len(pairs))
    for i, (key, p) in enumerate(pairs.items()):
        ang = np.degrees(np.asarray(p["subspaces"]["angles"], dtype=float))
        style = _style(i, len(pairs))
        ax.plot(np.arange(1, len(ang) + 1), ang, marker="o", ms=3, label=key, **style)
    ax.set_xlabel("index")
    ax.set_ylabel("principal angle (degrees)")
    ax.set_ylim(-2, 92)
    ax.set_title("Principal-angle spectrum")
    _legend(ax, len(pairs), loc="lower right")
    return to_png(fig)


def knn_overlap(result: Any) -> bytes:
    """Distribution of the per-point Jaccard overlap of the two kNN sets.

    With k neighbours the overlap takes only the k + 1 values j / (2k - j),
    j shared neighbours: the histogram has one bar per value.
    """
    pairs = result.arrays["pairs"]
    fig, ax = _lines_axes(len(pairs))
    for i, (key, p) in enumerate(pairs.items()):
        nb = p["neighbourhoods"]
        k = int(nb["k"])
        j = np.arange(k + 1)
        values = j / (2 * k - j)
        shared = np.rint(2 * k * nb["overlap"] / (1 + nb["overlap"])).astype(np.int64)
        frac = np.bincount(shared, minlength=k + 1)[: k + 1] / max(len(shared), 1)
        ax.plot(values, frac, marker="o", ms=4, lw=1.2, label=key, **_style(i, len(pairs)))
    ax.set_xlabel("Jaccard overlap of the k nearest neighbours")
    ax.set_ylabel("fraction of points")
    ax.set_title("kNN neighbourhood overlap")
    _legend(ax, len(pairs))
    return to_png(fig)


#: file name -> (drawing function, caption)
FIGURES: dict[str, tuple[Callable[[Any], bytes], str]] = {
    "death_cdfs.png": (
        death_cdfs,
        "Empirical CDFs of every set's H0 deaths (its MST edge lengths), overlaid: left in "
        "units of the set's RMS pairwise distance s, right in units of the set's mean death. "
        "Curves that coincide on the right: the same shape of death distribution (SW(H0) rel. "
        "0).",
    ),
    "epsilon_profiles.png": (
        epsilon_profiles,
        "Approximate fiber product: fraction of all n² pairs within ε and recall of the true "
        "pairs (i, i), against ε; ε* (dashed) contains every true pair.",
    ),
    "principal_angles.png": (
        principal_angles,
        "Principal angles between the modalities' subspaces (0°: shared direction, 90°: "
        "modality-specific).",
    ),
    "knn_overlap.png": (
        knn_overlap,
        "Per-point Jaccard overlap of the k-nearest-neighbour sets of the two modalities.",
    ),
    "joint_projection.png": (
        joint_projection,
        "Both sets of each pair in one 2-D projection of their shared space, a sample of "
        "items linked to their partners, the worst-aligned items highlighted.",
    ),
    "class_bars.png": (
        class_bars,
        "Per class (with labels): recall@1 of the partner from a to b and the mean kNN "
        "Jaccard of each pair's items (with many pairs, the six of lowest top-1 retrieval).",
    ),
    "sheaf_graph.png": (
        sheaf_graph,
        "Three or more sets: the modality graph; each edge coloured and drawn wider by its "
        "agreement (1 - inconsistency), labelled with its comparison dimension k and its "
        "pair-specific directions (dashed red when there are any).",
    ),
}


def render_figures(result: Any) -> dict[str, bytes]:
    """Every figure of :data:`FIGURES` that applies, as PNG bytes, by file name.

    A drawing function returns None when its figure does not apply to the
    result (the sheaf graph with two sets, the per-class bars without labels).
    """
    check_result(result)
    out = {}
    for name, (draw, _) in FIGURES.items():
        png = draw(result)
        if png is not None:
            out[name] = png
    return out
