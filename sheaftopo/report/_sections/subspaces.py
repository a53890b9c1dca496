"""Section ``subspaces`` of each pair: shared/specific subspace decomposition of the raw sets."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import AnalysisConfig, curve, q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """:func:`sheaftopo.fiber.subspace_decomposition` of the analysed rows."""
    from ...fiber import subspace_decomposition

    cfg = inp.cfg
    dec = subspace_decomposition(
        inp.A,
        inp.B,
        n_shared=cfg.shared_rule,
        threshold=cfg.shared_threshold,
        n_permutations=cfg.n_permutations,
        seed=cfg.seed,
    )
    return Section(summary(dec, cfg), {"angles": np.asarray(dec.angles)})


def _rule(cfg: AnalysisConfig) -> str:
    if cfg.shared_rule == "threshold":
        return f"canonical correlations >= {cfg.shared_threshold}"
    return (
        f"canonical correlations significant at level 0.05 against {cfg.n_permutations} "
        f"row permutations (seed {cfg.seed})"
    )


def summary(dec: Any, cfg: AnalysisConfig) -> dict[str, Any]:
    """The report entry of a subspace decomposition made with ``cfg``'s rule."""
    deg = np.degrees(dec.angles)
    frac = "fraction of the set's total variance"
    out: dict[str, Any] = {
        "n_shared": q(
            dec.n_shared,
            "count",
            note=f"shared dimension: {_rule(cfg)} (sheaftopo.fiber.subspace_decomposition)",
        ),
        "n_correlations": q(
            len(dec.correlations), "count", note="min(rank A, rank B) canonical correlations"
        ),
        "top_correlation": q(
            dec.correlations[0] if len(dec.correlations) else 0.0, "dimensionless"
        ),
        "smallest_angle": q(deg.min(initial=90.0), "degrees"),
        "median_angle": q(float(np.median(deg)) if len(deg) else 90.0, "degrees"),
        "largest_angle": q(deg.max(initial=0.0), "degrees"),
        "variance_shared_a": q(
            dec.x.variance_shared, frac, note="share of A's variance in its shared subspace"
        ),
        "variance_specific_a": q(dec.x.variance_specific, frac),
        "variance_shared_b": q(
            dec.y.variance_shared, frac, note="share of B's variance in its shared subspace"
        ),
        "variance_specific_b": q(dec.y.variance_specific, frac),
        "principal_angles": curve(
            dec.angles, "radians", note="arccos of the canonical correlations, ascending"
        ),
        "canonical_correlations": curve(dec.correlations, "dimensionless"),
    }
    if dec.common_shared_angles is not None:
        out["common_shared_angles"] = curve(
            dec.common_shared_angles,
            "radians",
            note="equal dimensions: angles between A's and B's shared subspaces in the "
            "common coordinates",
        )
    return out


STEP = PairStep("subspaces", "subspaces", run)
