"""Section ``distributions`` of each pair: OT, Bures-Wasserstein, MMD and modality gap."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._config import q
from .._engine import Engine
from .._steps import PairInput, PairStep, Section

#: permutations of the MMD test: p-values from 1/200 = 0.005 up; at 2 x 2000 rows one
#: (4000 x 4000) @ (4000 x 199) product, ~0.2 s per pair beside the kernel matrix itself
MMD_PERMUTATIONS = 199

_FITTED = (
    "; here the shared space is a CCA fitted on these rows, where both sets have equal means "
    "and covariances by construction: MMD^2 and its test see only differences beyond the "
    "second moments, and the test is conservative (p near 1)"
)


def run(inp: PairInput, engine: Engine) -> Section:
    """The distribution distances of the shared-space rows (OT and MMD: the dense subsample)."""
    _, ZA, ZB = inp.products["shared_space"]
    cfg = inp.cfg
    fitted = not (
        cfg.shared_space == "raw"
        or (cfg.shared_space == "auto" and inp.A.shape[1] == inp.B.shape[1])
    )
    return Section(summary(ZA, ZB, inp.dense, seed=cfg.seed, fitted_space=fitted))


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


def summary(
    ZA: np.ndarray,
    ZB: np.ndarray,
    sub: np.ndarray | None,
    *,
    seed: int = 0,
    fitted_space: bool = False,
) -> dict[str, Any]:
    """The report entry of the shared-space rows ZA, ZB (``sub``: the dense subsample).

    ``fitted_space``: the shared space is a CCA fitted on these rows (the MMD
    note then says what that does to the test).
    """
    from ...geometry import (
        exact_transport,
        gaussian_wasserstein,
        mmd2_test,
        modality_gap,
    )

    SA, SB = (ZA, ZB) if sub is None else (ZA[sub], ZB[sub])
    m = SA.shape[0]
    ot = exact_transport(SA, SB, p=2.0)
    ma, ca, how_a = gaussian_fit(ZA)
    mb, cb, how_b = gaussian_fit(ZB)
    # bandwidth None: the median heuristic of the pooled rows, from the kernel's own distances
    test = mmd2_test(SA, SB, n_permutations=MMD_PERMUTATIONS, seed=seed, paired=True)
    unit = "shared-space distance"
    return {
        "ot_cost": q(
            ot.cost,
            "squared shared-space distance",
            note=f"exact OT (POT network simplex) between the uniform measures on {m} rows of "
            "each set, squared Euclidean ground cost: W2^2 (sheaftopo.geometry.exact_transport)",
            better="lower",
            n_points=m,
            converged=bool(ot.converged),
        ),
        "w2": q(float(np.sqrt(max(ot.cost, 0.0))), unit, note="sqrt(ot_cost)", better="lower"),
        "bures_wasserstein": q(
            float(gaussian_wasserstein(ma, ca, mb, cb)),
            unit,
            note="closed-form W2 between the Gaussian fits (means, covariances) of all "
            "analysed rows (sheaftopo.geometry.gaussian_wasserstein)",
            better="lower",
            covariance_a=how_a,
            covariance_b=how_b,
        ),
        **mmd_entries(test, m, fitted_space),
        "modality_gap": q(
            modality_gap(ZA, ZB),
            "unit-sphere distance (0 to 2)",
            note="distance between the centroids of the L2-normalised rows "
            "(sheaftopo.geometry.modality_gap)",
            better="lower",
        ),
    }


def mmd_entries(test: Any, m: int, fitted_space: bool) -> dict[str, Any]:
    """The MMD entries of a paired :class:`~sheaftopo.geometry.MMDTest` on m rows of each set."""
    kernel = f"Gaussian kernel with the median-heuristic bandwidth, on {m} rows of each set"
    return {
        "mmd_paired": q(
            test.statistic,
            "squared kernel distance (dimensionless)",
            note=f"MMD^2 between the two sets' rows, {kernel}: the U-statistic over pairs of "
            "items (sheaftopo.geometry.mmd2_test, paired=True), unbiased for paired rows; 0 "
            "for equal distributions, so a negative value means indistinguishable from equal; "
            f"p_value: paired permutation test, {test.n_permutations} permutations that swap "
            "each item's two rows with probability 1/2, (1 + #{permuted >= observed}) / "
            "(1 + B): small means the two sets' rows are distributed differently"
            + (_FITTED if fitted_space else ""),
            better="lower",
            n_points=m,
            p_value=test.p_value,
            n_permutations=test.n_permutations,
        ),
        "mmd": q(
            test.mmd2,
            "squared kernel distance (dimensionless)",
            note=f"unbiased MMD^2 of two independent samples (sheaftopo.geometry.mmd2), {kernel}; "
            "with paired rows its cross term includes each item's own k(a_i, b_i), which pulls "
            "it below 0 by how close partners are: read mmd_paired",
            better="lower",
            n_points=m,
        ),
        "mmd_bandwidth": q(
            float(test.bandwidth),
            "shared-space distance",
            note="median pairwise distance of the pooled rows",
        ),
    }


STEP = PairStep("distributions", "distributions", run, needs=("shared_space",))
