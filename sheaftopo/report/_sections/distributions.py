"""Section ``distributions`` of each pair: OT, Bures-Wasserstein, MMD and modality gap."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section


def run(inp: PairInput, engine: Engine) -> Section:
    """The distribution distances of the shared-space rows (OT and MMD: the dense subsample)."""
    _, ZA, ZB = inp.products["shared_space"]
    return Section(summary(ZA, ZB, inp.dense))


def gaussian_fit(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Mean and covariance of the rows Z (Ledoit-Wolf shrunk when the sample one is singular)."""
    from ...geometry import covariance

    C = covariance(Z)
    w = np.linalg.eigvalsh(C)
    if w[0] > 1e-12 * max(w[-1], 1e-300):
        return Z.mean(axis=0), C, "sample covariance"
    return (
        Z.mean(axis=0),
        covariance(Z, shrinkage="ledoit_wolf"),
        ("Ledoit-Wolf shrunk covariance (the sample covariance is singular)"),
    )


def summary(ZA: np.ndarray, ZB: np.ndarray, sub: np.ndarray | None) -> dict[str, Any]:
    """The report entry of the shared-space rows ZA, ZB (``sub``: the dense subsample)."""
    from ...geometry import (
        exact_transport,
        gaussian_wasserstein,
        median_bandwidth,
        mmd2,
        modality_gap,
    )

    SA, SB = (ZA, ZB) if sub is None else (ZA[sub], ZB[sub])
    m = SA.shape[0]
    ot = exact_transport(SA, SB, p=2.0)
    ma, ca, how_a = gaussian_fit(ZA)
    mb, cb, how_b = gaussian_fit(ZB)
    bw = median_bandwidth(SA, SB)
    unit = "shared-space distance"
    return {
        "ot_cost": q(
            ot.cost,
            "squared shared-space distance",
            note=f"exact OT (POT network simplex) between the uniform measures on {m} rows of "
            "each set, squared Euclidean ground cost: W2^2 (sheaftopo.geometry.exact_transport)",
            n_points=m,
            converged=bool(ot.converged),
        ),
        "w2": q(float(np.sqrt(max(ot.cost, 0.0))), unit, note="sqrt(ot_cost)"),
        "bures_wasserstein": q(
            float(gaussian_wasserstein(ma, ca, mb, cb)),
            unit,
            note="closed-form W2 between the Gaussian fits (means, covariances) of all "
            "analysed rows (sheaftopo.geometry.gaussian_wasserstein)",
            covariance_a=how_a,
            covariance_b=how_b,
        ),
        "mmd": q(
            mmd2(SA, SB, bandwidth=bw),
            "squared kernel distance (dimensionless)",
            note=f"unbiased MMD^2, Gaussian kernel with the median-heuristic bandwidth, on {m} "
            "rows of each set (sheaftopo.geometry.mmd2); about 0 for equal distributions, "
            "slightly negative possible",
            n_points=m,
        ),
        "mmd_bandwidth": q(bw, unit, note="median pairwise distance of the pooled rows"),
        "modality_gap": q(
            modality_gap(ZA, ZB),
            "unit-sphere distance (0 to 2)",
            note="distance between the centroids of the L2-normalised rows "
            "(sheaftopo.geometry.modality_gap)",
        ),
    }


STEP = PairStep("distributions", "distributions", run, needs=("shared_space",))
