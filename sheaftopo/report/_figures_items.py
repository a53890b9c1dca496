"""Figures of the per-item and per-class views: the joint projection and the per-class bars.

Both draw one small panel per pair (a grid, readable up to the 15 pairs of six
sets) from what the ``items`` pair step stored: ``result.arrays`` (the 2-D
projection) and ``result.data`` (the per-class numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._plotting import grid_axes, to_png

__all__ = ["MAX_BAR_CLASSES", "class_bars", "joint_projection"]

#: most classes drawn per panel of :func:`class_bars` (those with the lowest recall)
MAX_BAR_CLASSES = 30
#: most worst items annotated with their row number per panel
_ANNOTATED = 10


def _panel_size(n: int) -> tuple[float, float]:
    """Smaller panels when there are many pairs (the grid has 3 columns)."""
    return (4.2, 3.6) if n <= 6 else (3.6, 3.0)


def joint_projection(result: Any) -> bytes | None:
    """Both sets of each pair in one 2-D PCA projection of their shared space.

    A seeded sample of items (blue: set a, orange: set b) with grey lines to
    their partners; the worst-aligned items in red, annotated with their
    original row numbers. None when no pair has per-item scores.
    """
    pairs = {k: p["items"] for k, p in result.arrays["pairs"].items() if "items" in p}
    if not pairs:
        return None
    from matplotlib.collections import LineCollection

    fig, axes = grid_axes(len(pairs), *_panel_size(len(pairs)))
    small = len(pairs) > 6
    for ax, (key, it) in zip(axes, pairs.items(), strict=True):
        pa, pb = it["proj_a"], it["proj_b"]
        pos = it["proj_positions"]
        bad = np.isin(pos, it["worst"])
        ax.add_collection(
            LineCollection(np.stack([pa[~bad], pb[~bad]], axis=1), colors="0.6", lw=0.4, alpha=0.5)
        )
        ax.add_collection(LineCollection(np.stack([pa[bad], pb[bad]], axis=1), colors="red", lw=1))
        a, b = key.split(" | ", 1) if " | " in key else ("a", "b")
        ax.scatter(pa[~bad, 0], pa[~bad, 1], s=5, color="tab:blue", alpha=0.6, label=a)
        ax.scatter(pb[~bad, 0], pb[~bad, 1], s=5, color="tab:orange", alpha=0.6, label=b)
        ax.scatter(pa[bad, 0], pa[bad, 1], s=22, color="tab:blue", edgecolors="red", lw=1.2)
        ax.scatter(pb[bad, 0], pb[bad, 1], s=22, color="tab:orange", edgecolors="red", lw=1.2)
        rows = it["rows"][pos[bad]]
        for (x, y), row in list(zip(pa[bad], rows, strict=True))[:_ANNOTATED]:
            ax.annotate(str(row), (x, y), fontsize=6 if small else 7, color="darkred")
        ev = it["proj_explained"]
        ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}%)", fontsize=8)
        ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(key, fontsize=9)
        ax.autoscale_view()
        ax.legend(fontsize=7, loc="best", markerscale=2)
    fig.suptitle(
        "Shared space, 2-D PCA (units: RMS pairwise distance): grey lines join partners, "
        "red = worst-aligned items (row numbers)",
        fontsize=10,
    )
    return to_png(fig)


def _smallest_k(recalls: dict[str, Any]) -> str:
    """The key ``"@k"`` of the smallest cut-off."""
    return min(recalls, key=lambda s: int(s.lstrip("@")))


def class_bars(result: Any) -> bytes | None:
    """Per pair, grouped bars per class: recall@k a→b (smallest k) and mean kNN Jaccard.

    None without labels. With more than :data:`MAX_BAR_CLASSES` classes each
    panel shows the classes of lowest recall (its title says so).
    """
    per_pair = {
        p["key"]: p["items"]["by_class"]
        for p in result.data["pairs"]
        if p.get("items") and p["items"].get("by_class")
    }
    if not per_pair:
        return None
    fig, axes = grid_axes(len(per_pair), *_panel_size(len(per_pair)))
    for ax, (key, bc) in zip(axes, per_pair.items(), strict=True):
        at = _smallest_k(bc["recall_a_to_b"])
        recall = np.asarray(bc["recall_a_to_b"][at]["values"], dtype=float)
        jac = np.asarray(bc["knn_jaccard"]["values"], dtype=float)
        names = [str(c) for c in bc["classes"]]
        shown = np.arange(len(names))
        title = key
        if len(names) > MAX_BAR_CLASSES:
            shown = np.lexsort((shown, recall))[:MAX_BAR_CLASSES]
            title = f"{key}: the {MAX_BAR_CLASSES} classes of lowest R{at}"
        x = np.arange(len(shown))
        ax.bar(x - 0.2, recall[shown], width=0.4, color="tab:blue", label=f"R{at} a→b")
        ax.bar(x + 0.2, jac[shown], width=0.4, color="tab:green", label="kNN Jaccard")
        ax.set_xticks(x, [names[i] for i in shown], fontsize=7, rotation=90 if len(x) > 12 else 0)
        ax.set_ylim(0, 1.3)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel("class", fontsize=8)
        ax.set_ylabel("fraction", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.suptitle("Per class: cross-modal retrieval recall and kNN overlap (higher is better)")
    return to_png(fig)
