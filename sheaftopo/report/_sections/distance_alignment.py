"""Section ``distance_alignment`` of each pair: how well the two distance matrices agree.

Provides the :class:`~sheaftopo.report.DistanceAlignment` (its per-row
``row_rms_error`` is the per-item ``distance_residual``), or None when the
alignment is undefined.
"""

from __future__ import annotations

from typing import Any

from .._config import q
from .._engine import Engine
from .._measures import distance_alignment
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """:func:`~sheaftopo.report.distance_alignment` of the analysed rows."""
    A, B = inp.A, inp.B
    try:
        r = distance_alignment(A, B)
    except ValueError as e:  # a set whose distances are all equal: no correlation to report
        why = f"undefined: {e}"
        undefined: dict[str, Any] = {
            "correlation": q(None, "dimensionless", note=why),
            "rms_error": q(None, "dimensionless", note=why),
            "n_pairs": q(A.shape[0] * (A.shape[0] - 1) // 2, "count"),
        }
        return Section(undefined, provides=None)
    out = {
        "correlation": q(
            r.correlation,
            "dimensionless",
            note="Pearson correlation of d_A(i,j) and d_B(i,j) over all pairs i<j",
            better="higher",
        ),
        "rms_error": q(
            r.rms_error,
            "dimensionless",
            note="sqrt(mean_{i<j} (d_A(i,j)/s_A - d_B(i,j)/s_B)^2), s = RMS pairwise distance; "
            "0: equal up to scale",
            better="lower",
        ),
        "n_pairs": q(r.n_pairs, "count"),
    }
    return Section(out, provides=r)


STEP = PairStep("distance_alignment", "distance alignment", run)
