"""Section ``retrieval`` of each pair: cross-modal recall@k in the shared space.

Provides the :class:`~sheaftopo.report.Retrieval` (per-query ranks and nearest rows).
"""

from __future__ import annotations

import numpy as np

from .._config import q
from .._engine import Engine
from .._measures import retrieval_recall
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """:func:`~sheaftopo.report.retrieval_recall` of the analysed rows in the shared space."""
    _, ZA, ZB = inp.products["shared_space"]
    cfg = inp.cfg
    r = retrieval_recall(ZA, ZB, ks=cfg.ks, metric=cfg.retrieval_metric)
    out = {
        "metric": cfg.retrieval_metric,
        "recall_a_to_b": {
            f"@{k}": q(v, "fraction", better="higher") for k, v in r.recall_ab.items()
        },
        "recall_b_to_a": {
            f"@{k}": q(v, "fraction", better="higher") for k, v in r.recall_ba.items()
        },
        "mrr_a_to_b": q(r.mrr_ab, "dimensionless", note="mean reciprocal rank", better="higher"),
        "mrr_b_to_a": q(r.mrr_ba, "dimensionless", note="mean reciprocal rank", better="higher"),
        "median_rank_a_to_b": q(float(np.median(r.ranks_ab)), "rank (0 = first)", better="lower"),
        "median_rank_b_to_a": q(float(np.median(r.ranks_ba)), "rank (0 = first)", better="lower"),
    }
    return Section(out, {"ranks_ab": r.ranks_ab, "ranks_ba": r.ranks_ba}, provides=r)


STEP = PairStep("retrieval", "retrieval", run, needs=("shared_space",))
