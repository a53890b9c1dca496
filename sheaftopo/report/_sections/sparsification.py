"""Section ``sparsification`` of each set: ToMCLIP's ε-sparsification at λ and its W2 bound."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import q
from .._engine import Engine
from .._measures import _scale_of
from .._steps import Section, SetInput, SetStep


def run(inp: SetInput, engine: Engine) -> Section:
    """The sparsification of the dense subsample of the set's analysed rows."""
    M = inp.M if inp.dense is None else inp.M[inp.dense]
    return Section(summary(M, inp.cfg.lam))


def summary(X: np.ndarray, lam: float) -> dict[str, Any]:
    """ToMCLIP's sparsification of the rows X at λ = ``lam``, with its bound and the true W2."""
    from scipy.spatial.distance import cdist

    from ...persistence import approximation_bound, sparsify

    scale = _scale_of(X)  # distances of X / scale cannot overflow; times scale: exact
    D = cdist(X / scale, X / scale)
    D *= scale
    g = sparsify(D, lam=lam)
    b = approximation_bound(D, g.eps, p=2.0)
    n = D.shape[0]
    unit = "distance (the set's units)"
    return {
        "n_points": q(n, "count"),
        "lam": q(lam, "dimensionless"),
        "eps": q(g.eps, unit, note="mean - lam * std of the off-diagonal distances"),
        "n_edges": q(g.n_edges, "count"),
        "edge_fraction": q(g.n_edges / (n * (n - 1) / 2), "fraction of all pairs"),
        "n_components": q(g.n_components, "count"),
        "n_affected": q(b.n_affected, "count", note="finite H0 pairs dying after eps: m(eps)"),
        "T": q(b.scale, unit, note="largest distance, where the sparsified filtration completes"),
        "bound": q(b.bound, unit, note="m(eps)^(1/2) (T - eps)^+ (ToMCLIP Thm. 1)"),
        "w2_exact_vs_sparse": q(b.distance, unit, note="true W2 between the two H0 diagrams"),
        "ratio": q(b.ratio, "dimensionless", note="w2 / bound, <= 1 by the theorem"),
    }


STEP = SetStep("sparsification", "ToMCLIP sparsification", run)
