"""Section ``shared_space`` of each pair: the space of the cross-modal measures (raw or CCA).

Provides ``(project, ZA, ZB)`` to the later pair steps: ``project(A, B) -> (ZA, ZB)``
maps rows (NumPy or Dask) into the space, ``ZA`` and ``ZB`` are the analysed
rows mapped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import AnalysisConfig, curve, q
from .._engine import Engine, Projection
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """Choose and fit the pair's shared space; map the analysed rows into it."""
    project, info = fit(inp.A, inp.B, inp.cfg)
    ZA, ZB = project(inp.A, inp.B)
    return Section(info, provides=(project, ZA, ZB))


def fit(A: np.ndarray, B: np.ndarray, cfg: AnalysisConfig) -> tuple[Projection, dict[str, Any]]:
    """``(project, info)``: the shared space of the rows A, B and its report entry."""
    from ...sheaf import fit_restriction_maps

    da, db = A.shape[1], B.shape[1]
    mode = cfg.shared_space
    if mode == "raw" and da != db:
        raise ValueError(
            f"shared_space='raw' needs sets of equal dimension; got {da} and {db} "
            "(use 'cca' or 'auto')"
        )
    if mode == "raw" or (mode == "auto" and da == db):
        info = {
            "kind": "raw",
            "dim": q(da, "count"),
            "description": "the sets as given (equal dimensions: taken to share one space)",
        }
        return (lambda U, V: (U, V)), info
    k = min(da, db) if cfg.shared_dim is None else cfg.shared_dim
    if k > min(da, db):
        raise ValueError(f"shared_dim must be <= min(d_A, d_B) = {min(da, db)}; got {k}")
    fit = fit_restriction_maps(A, B, k)
    rho = np.asarray(fit.correlations)

    def project(U: Any, V: Any) -> tuple[Any, Any]:
        return ((U - fit.mean_u) @ fit.tail.T) * rho, ((V - fit.mean_v) @ fit.head.T) * rho

    info = {
        "kind": "cca",
        "dim": q(k, "count"),
        "description": (
            "the k canonical variates of CCA (sheaftopo.sheaf.fit_restriction_maps, "
            "SheafAlign's linear comparison space), each scaled by its canonical "
            "correlation; fitted on the analysed rows themselves, so the cross-modal "
            "numbers computed in this space are in-sample (optimistic)"
        ),
        "canonical_correlations": curve(rho, "dimensionless"),
        "rows_per_dimension": q(
            A.shape[0] / (da + db),
            "dimensionless",
            note="n / (d_A + d_B); CCA overfits when this is small",
        ),
    }
    return project, info


STEP = PairStep("shared_space", "shared space", run)
