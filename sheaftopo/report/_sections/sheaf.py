"""Section ``sheaf`` (three or more sets): the modalities as a learned cellular sheaf.

The sets are the vertices of the modality graph (every pair by default,
``analyze(graph=...)`` / ``--graph FILE`` otherwise); every edge gets a
comparison space and restriction maps learned in closed form
(:func:`sheaftopo.sheaf.learn_sheaf`). The measures and their definitions are
those of :mod:`.._sheaf_measures`; this module files them in report.json
(top-level key ``"sheaf"``, None with fewer than three sets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import curve, pair_key, q
from .._engine import Engine
from .._sheaf_measures import MAP_REG, MAX_EDGE_DIM, RIDGE, SheafMeasures, measure_sheaf
from .._steps import GroupInput, GroupStep, Section

_INCONSISTENCY = (
    "mean over items of ||F_v x_v - F_u x_u||² / (2 k_e) in the edge's comparison space "
    "(centred rows, whitened maps): 0 = the two sets agree exactly there, 1 = uncorrelated; "
    "about 1 - mean of the edge's k_e canonical correlations"
)
_ITEM = (
    "per analysed row (in their order): the Dirichlet energy of the item's 0-cochain (its centred "
    "rows in every set) with edge weights 1 / (2 m k_e), i.e. the mean over the m edges of "
    "||(δx)_e||² / (2 k_e); its mean over the items is the mean edge inconsistency"
)


def run(inp: GroupInput, engine: Engine) -> Section:
    """:func:`~.._sheaf_measures.measure_sheaf` of the analysed rows (report.json's ``sheaf``)."""
    cfg = inp.cfg
    X = [inp.X[name] for name in inp.names]
    m = measure_sheaf(X, inp.graph, threshold=cfg.shared_threshold)
    n_worst = int(getattr(cfg, "n_worst", 10))
    entry = {
        "graph": _graph(inp),
        "settings": _settings(cfg.shared_threshold),
        "edges": [_edge(inp.names, m, e) for e in range(len(m.edges))],
        "inconsistency": q(
            m.edge_inconsistency.mean(),
            "dimensionless",
            better="lower",
            note="mean over the edges of their inconsistency (0 = consistent, 1 = uncorrelated)",
        ),
        "global_sections": _sections(m, cfg.shared_threshold),
        "items": _items(inp, m, n_worst),
    }
    arrays = {
        "names": list(inp.names),
        "edges": m.edges,
        "item_edge": m.item_edge,
        "item_total": m.item_total,
        "rows": inp.rows,
    }
    return Section(entry, arrays)


def _graph(inp: GroupInput) -> dict[str, Any]:
    n = len(inp.names)
    return {
        "sets": list(inp.names),
        "edges": [[inp.names[u], inp.names[v]] for u, v in inp.graph],
        "complete": len(inp.graph) == n * (n - 1) // 2,
        "n_edges": q(len(inp.graph), "count"),
    }


def _settings(threshold: float) -> dict[str, Any]:
    return {
        "threshold": q(
            threshold,
            "correlation",
            note="shared_threshold: a canonical correlation counts when at or above it and at "
            "or above its chance level",
        ),
        "max_edge_dim": q(MAX_EDGE_DIM, "count", note="most comparison dimensions per edge"),
        "map_ridge": q(
            MAP_REG, "relative", note="ridge of the restriction maps (times the mean variance)"
        ),
        "regression_ridge": q(
            RIDGE, "relative", note="ridge of the regression on the other sets (pair-specific)"
        ),
    }


def _edge(names: list[str], m: SheafMeasures, e: int) -> dict[str, Any]:
    u, v = (int(t) for t in m.edges[e])
    seen = m.seen_by_others[e]
    return {
        "key": pair_key(names[u], names[v]),
        "a": names[u],
        "b": names[v],
        "edge_dim": q(
            m.edge_dims[e],
            "count",
            note="k_e, the comparison space's dimension: the canonical correlations at or above "
            "max(threshold, chance), at least 1, at most max_edge_dim",
        ),
        "inconsistency": q(
            m.edge_inconsistency[e], "dimensionless", better="lower", note=_INCONSISTENCY
        ),
        "agreement": q(
            1.0 - m.edge_inconsistency[e],
            "dimensionless",
            better="higher",
            note="1 - inconsistency",
        ),
        "canonical_correlations": curve(m.correlations[e], "correlation", note="descending"),
        "chance_correlation": q(
            m.chance[e],
            "correlation",
            note="largest canonical correlation expected of independent data of these dimensions "
            "and rows (Wachter's limit)",
        ),
        "n_significant": q(m.n_significant[e], "count"),
        "pair_specific": q(
            m.n_specific[e],
            "count",
            note="significant directions of the pair that no other set sees (canonical "
            "correlation with every other set, concatenated, below max(threshold, chance)); "
            "0 when seen_chance is 1 (the other sets have too many dimensions for the rows)",
        ),
        "seen_by_others": curve(
            seen,
            "correlation",
            note="canonical correlations between the pair's significant directions and the "
            "other sets, descending",
        ),
        "least_seen": q(
            float(seen.min()) if len(seen) else None,
            "correlation",
            note="the pair's direction the other sets see least (low: pair-specific)",
        ),
        "seen_chance": q(m.seen_chance[e], "correlation", note="chance level of seen_by_others"),
    }


def _sections(m: SheafMeasures, threshold: float) -> dict[str, Any]:
    shown = slice(0, max(10, m.n_sections + 3))
    return {
        "dimension": q(
            m.n_sections,
            "count",
            note="approximate global sections: readouts of every set (spanned by the rows of its "
            "restriction maps) whose items agree across every edge: eigenvectors of the "
            "normalised mean Dirichlet form with eigenvalue below the tolerance whose readouts "
            "correlate at the threshold or above on every edge",
        ),
        "tolerance": q(1.0 - threshold, "1 - correlation", note="1 - threshold"),
        "smallest_eigenvalues": curve(
            m.section_eigenvalues[shown],
            "1 - correlation",
            note="ascending; an eigenvalue is 1 minus the degree-weighted mean correlation over "
            "the edges of its readouts (0: the readouts agree on every item, 1: uncorrelated)",
        ),
        "weakest_edge_correlations": curve(
            m.section_weakest_edge[shown],
            "correlation",
            note="for each of those eigenvectors, the smallest correlation of its readouts over "
            "the edges (0 where a set does not read it)",
        ),
    }


def _label(labels: np.ndarray | None, i: int) -> Any:
    if labels is None:
        return None
    value = labels[i]
    return value.item() if isinstance(value, np.generic) else str(value)


def _items(inp: GroupInput, m: SheafMeasures, n_worst: int) -> dict[str, Any]:
    total = m.item_total
    order = np.argsort(-total, kind="stable")[: min(n_worst, len(total))]
    share = m.item_edge[:, order] / np.maximum(len(m.edges) * total[order], np.finfo(float).tiny)
    top = share.argmax(axis=0)
    worst = [
        {
            "row": int(inp.rows[i]),
            "label": _label(inp.labels, int(i)),
            "inconsistency": q(total[i], "dimensionless", better="lower"),
            "edge": pair_key(inp.names[m.edges[top[j], 0]], inp.names[m.edges[top[j], 1]]),
            "edge_share": q(
                share[top[j], j], "fraction", note="share of the item's inconsistency on that edge"
            ),
        }
        for j, i in enumerate(order.tolist())
    ]
    return {
        "inconsistency": curve(total, "dimensionless", note=_ITEM, better="lower"),
        "median": q(float(np.median(total)), "dimensionless", better="lower"),
        "worst": worst,
        "n_worst": q(len(worst), "count", note="items with the largest inconsistency, worst first"),
    }


STEP = GroupStep("sheaf", "sheaf of the modalities", run, min_sets=3)
