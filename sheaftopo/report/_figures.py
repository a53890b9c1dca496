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
from ._plotting import grid_axes, single_axes, to_png

__all__ = ["FIGURES", "render_figures"]


def persistence_diagrams(result: Any) -> bytes:
    """H0 diagrams side by side, deaths divided by each set's RMS pairwise distance."""
    sets = result.arrays["sets"]
    fig, axes = grid_axes(len(sets))
    top = max(float(a["deaths"].max(initial=0.0)) / a["scale"] for a in sets.values()) or 1.0
    for ax, (name, a) in zip(axes, sets.items(), strict=True):
        dgm = a["diagram"] / a["scale"]
        fin = dgm[np.isfinite(dgm[:, 1])]
        ax.scatter(fin[:, 0], fin[:, 1], s=6, alpha=0.5, color="tab:blue", label="finite")
        n_inf = int(np.count_nonzero(~np.isfinite(dgm[:, 1])))
        lim = 1.12 * top
        ax.scatter([0.0] * n_inf, [lim] * n_inf, marker="^", color="tab:red", label="∞ (essential)")
        ax.plot([0, lim], [0, lim], color="grey", lw=0.8)
        ax.set_xlim(-0.05 * lim, lim)
        ax.set_ylim(-0.02 * lim, 1.05 * lim)
        ax.set_xlabel("birth / s")
        ax.set_ylabel("death / s")
        ax.set_title(f"H0 diagram: {name}")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("H0 persistence (s = RMS pairwise distance of the set)")
    return to_png(fig)


def mst_deaths(result: Any) -> bytes:
    """Histograms of the normalised MST edge lengths (H0 deaths), all sets on one axis."""
    fig, ax = single_axes()
    sets = result.arrays["sets"]
    allv = np.concatenate([a["deaths"] / a["scale"] for a in sets.values()])
    bins = np.histogram_bin_edges(allv, bins=50) if allv.size else 10
    for name, a in sets.items():
        ax.hist(
            a["deaths"] / a["scale"], bins=bins, histtype="step", lw=1.5, label=name, density=True
        )
    ax.set_xlabel("MST edge length / s  (H0 death)")
    ax.set_ylabel("density")
    ax.set_title("MST deaths")
    ax.legend(fontsize=8)
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
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("ε-profiles of the approximate fiber product")
    return to_png(fig)


def principal_angles(result: Any) -> bytes:
    """Principal angles between the two modalities' subspaces, per pair."""
    fig, ax = single_axes()
    for key, p in result.arrays["pairs"].items():
        ang = np.degrees(np.asarray(p["subspaces"]["angles"], dtype=float))
        ax.plot(np.arange(1, len(ang) + 1), ang, marker="o", ms=3, label=key)
    ax.set_xlabel("index")
    ax.set_ylabel("principal angle (degrees)")
    ax.set_ylim(-2, 92)
    ax.set_title("Principal-angle spectrum")
    ax.legend(fontsize=8)
    return to_png(fig)


def knn_overlap(result: Any) -> bytes:
    """Distribution of the per-point Jaccard overlap of the two kNN sets.

    With k neighbours the overlap takes only the k + 1 values j / (2k - j),
    j shared neighbours: the histogram has one bar per value.
    """
    fig, ax = single_axes()
    for key, p in result.arrays["pairs"].items():
        nb = p["neighbourhoods"]
        k = int(nb["k"])
        j = np.arange(k + 1)
        values = j / (2 * k - j)
        shared = np.rint(2 * k * nb["overlap"] / (1 + nb["overlap"])).astype(np.int64)
        frac = np.bincount(shared, minlength=k + 1)[: k + 1] / max(len(shared), 1)
        ax.plot(values, frac, marker="o", ms=4, lw=1.2, label=key)
    ax.set_xlabel("Jaccard overlap of the k nearest neighbours")
    ax.set_ylabel("fraction of points")
    ax.set_title("kNN neighbourhood overlap")
    ax.legend(fontsize=8)
    return to_png(fig)


#: file name -> (drawing function, caption)
FIGURES: dict[str, tuple[Callable[[Any], bytes], str]] = {
    "persistence_diagrams.png": (
        persistence_diagrams,
        "H0 persistence diagrams of the sets, side by side (deaths divided by the set's RMS "
        "pairwise distance s).",
    ),
    "mst_deaths.png": (
        mst_deaths,
        "Distribution of the MST edge lengths (the finite H0 deaths), normalised by s.",
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
        "Per class (with labels): cross-modal retrieval recall, kNN overlap and partner "
        "distance of each pair.",
    ),
    "sheaf_graph.png": (
        sheaf_graph,
        "Three or more sets: the modality graph, edge widths by agreement.",
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
