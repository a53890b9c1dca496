"""Figures of the per-item and per-class views: the joint projection and the per-class bars.

Both draw one panel per pair, at most :data:`MAX_PANELS` (with more pairs,
e.g. the 15 of six sets, those where the sets disagree most, and the title
says so), from what the ``items`` pair step stored: ``result.arrays`` (the
2-D projection) and ``result.data`` (the per-class numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._plotting import grid_axes, to_png

__all__ = ["MAX_BAR_CLASSES", "MAX_PANELS", "class_bars", "joint_projection", "shown_pairs"]

#: most classes drawn per panel of :func:`class_bars` (those with the lowest recall)
MAX_BAR_CLASSES = 30
#: most pairs drawn (one panel each): with more, those of lowest top-1 retrieval
MAX_PANELS = 6
#: most worst items annotated with their row number per panel
_ANNOTATED = 10


def shown_pairs(result: Any) -> tuple[list[str], str]:
    """The keys of the pairs to draw (input order) and a sentence saying which, when not all.

    Every pair with per-item scores when there are at most :data:`MAX_PANELS`;
    otherwise the :data:`MAX_PANELS` of lowest top-1 retrieval (the fraction of
    items whose partner ranks first, both directions pooled; ties: earlier
    pair), where the sets disagree most.
    """
    pairs = [p for p in result.data["pairs"] if p.get("items")]
    keys = [p["key"] for p in pairs]
    if len(pairs) <= MAX_PANELS:
        return keys, ""
    top1 = [
        np.mean(np.equal(p["items"]["rank_a_to_b"]["values"], 0))
        + np.mean(np.equal(p["items"]["rank_b_to_a"]["values"], 0))
        for p in pairs
    ]
    chosen = sorted(np.lexsort((np.arange(len(pairs)), top1))[:MAX_PANELS].tolist())
    note = (
        f" — the {MAX_PANELS} of {len(pairs)} pairs with the lowest top-1 retrieval "
        "(every pair is in report.json)"
    )
    return [keys[i] for i in chosen], note


def joint_projection(result: Any) -> bytes | None:
    """Both sets of each pair in one 2-D PCA projection of their shared space.

    A seeded sample of items (blue: set a, orange: set b) with grey lines to
    their partners; the worst-aligned items in red, annotated with their
    original row numbers. None when no pair has per-item scores; with more
    than :data:`MAX_PANELS` pairs, the pairs of :func:`shown_pairs` (the
    title says which).
    """
    keys, note = shown_pairs(result)
    if not keys:
        return None
    from matplotlib.collections import LineCollection

    pairs = {k: result.arrays["pairs"][k]["items"] for k in keys}
    fig, axes = grid_axes(len(pairs), 4.2, 3.6)
    for ax, (key, it) in zip(axes, pairs.items(), strict=True):
        pa, pb = it["proj_a"], it["proj_b"]
        pos = it["proj_positions"]
        bad = np.isin(pos, it["worst"])
        links: Any = np.stack([pa, pb], axis=1)  # one segment per item: (a_i, b_i)
        ax.add_collection(LineCollection(links[~bad], colors="0.6", lw=0.4, alpha=0.5))
        ax.add_collection(LineCollection(links[bad], colors="red", lw=1))
        a, b = key.split(" | ", 1) if " | " in key else ("a", "b")
        ax.scatter(pa[~bad, 0], pa[~bad, 1], s=5, color="tab:blue", alpha=0.6, label=a)
        ax.scatter(pb[~bad, 0], pb[~bad, 1], s=5, color="tab:orange", alpha=0.6, label=b)
        ax.scatter(pa[bad, 0], pa[bad, 1], s=22, color="tab:blue", edgecolors="red", lw=1.2)
        ax.scatter(pb[bad, 0], pb[bad, 1], s=22, color="tab:orange", edgecolors="red", lw=1.2)
        rows = it["rows"][pos[bad]]
        for (x, y), row in list(zip(pa[bad], rows, strict=True))[:_ANNOTATED]:
            ax.annotate(str(row), (x, y), fontsize=7, color="darkred")
        ev = it["proj_explained"]
        ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}%)", fontsize=8)
        ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(key, fontsize=9)
        ax.autoscale_view()
        ax.legend(fontsize=7, loc="upper right", markerscale=2)
    fig.suptitle(
        "Shared space, 2-D PCA (units: RMS pairwise distance): grey lines join partners, "
        f"red = worst-aligned items (row numbers){note.replace(' — ', chr(10))}",
        fontsize=10,
    )
    return to_png(fig)


def _smallest_k(recalls: dict[str, Any]) -> str:
    """The key ``"@k"`` of the smallest cut-off."""
    return min(recalls, key=lambda s: int(s.lstrip("@")))


def class_bars(result: Any) -> bytes | None:
    """Per pair, grouped bars per class: recall@k a→b (smallest k) and mean kNN Jaccard.

    None without labels. With more than :data:`MAX_BAR_CLASSES` classes each
    panel shows the classes of lowest recall (its title says so); with more
    than :data:`MAX_PANELS` pairs, the pairs of :func:`shown_pairs`.
    """
    if result.data["inputs"]["labels"] is None:
        return None
    keys, note = shown_pairs(result)
    entries = {p["key"]: p for p in result.data["pairs"]}
    per_pair = {k: entries[k]["items"]["by_class"] for k in keys if entries[k]["items"]["by_class"]}
    if not per_pair:
        return None
    fig, axes = grid_axes(len(per_pair), 4.2, 3.6)
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
        ticks = [names[i] for i in shown]
        crowded = sum(len(t) for t in ticks) > 40
        ax.set_xticks(
            x, ticks, fontsize=7, rotation=60 if crowded else 0, ha="right" if crowded else "center"
        )
        ax.set_ylim(0, 1.3)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_xlabel("class", fontsize=8)
        ax.set_ylabel("fraction", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.suptitle(
        "Per class: cross-modal retrieval recall and kNN overlap (higher is better)"
        + note.replace(" — ", "\n")
    )
    return to_png(fig)
