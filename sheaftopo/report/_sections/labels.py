"""Section ``labels`` of each set (with labels only): silhouette and NMI of the given classes."""

from __future__ import annotations

from typing import Any

from .._config import q
from .._engine import Engine
from .._measures import _scale_of
from .._steps import Section, SetInput, SetStep


def run(inp: SetInput, engine: Engine) -> Section:
    """Silhouette and NMI of the labels on the set's analysed rows."""
    from ...geometry import label_scores

    seed = inp.cfg.seed
    # silhouette and k-means are scale-free: score M divided by a power of two (exact), so
    # squared distances of coordinates near 1e300 or 1e-300 neither overflow nor underflow
    s = label_scores(inp.M / _scale_of(inp.M), inp.labels, seed=seed)
    out: dict[str, Any] = {
        "n_labels": q(s.n_labels, "count"),
        "silhouette": q(
            s.silhouette,
            "dimensionless (-1 to 1)",
            note="mean silhouette of the given labels, Euclidean",
        ),
        "nmi": q(
            s.nmi,
            "dimensionless (0 to 1)",
            note=f"NMI between the labels and k-means with {s.n_labels} clusters (seed {seed})",
        ),
    }
    return Section(out)


STEP = SetStep("labels", "labels", run, needs_labels=True)
