"""The analysis's parameters and result, and how it writes one reported number.

:class:`AnalysisConfig` (every parameter of :func:`~sheaftopo.report.analyze`,
checked in one place: :meth:`AnalysisConfig.validated`), :class:`AnalysisResult`
(the JSON-ready tree and the figures' arrays) and the two helpers every
section uses to write a number with its unit, :func:`q` and :func:`curve`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_real

__all__ = [
    "PREPROCESSING",
    "RETRIEVAL_METRICS",
    "SHARED_RULES",
    "SHARED_SPACES",
    "AnalysisConfig",
    "AnalysisResult",
    "check_result",
    "curve",
    "pair_key",
    "pair_names",
    "q",
]

SHARED_SPACES = ("auto", "raw", "cca")
PREPROCESSING = ("none", "center", "l2", "standardize")
RETRIEVAL_METRICS = ("cosine", "euclidean")
SHARED_RULES = ("threshold", "permutation")


@dataclass(frozen=True)
class AnalysisConfig:
    """Parameters of :func:`analyze` (all recorded in the report).

    Attributes
    ----------
    max_points : int, default 5000
        Analyse a random subsample of this many rows (the same rows of every
        set, so pairs stay paired) when there are more; 0 analyses every row.
    seed : int, default 0
        Seed of every random choice (subsamples, k-means, MMD bandwidths).
    dense_max_points : int, default 2000
        Rows used by the steps whose library functions form a full m x m
        matrix: ToMCLIP sparsification and its bound (an optimal matching of
        2m diagram points), exact optimal transport (network simplex on an
        m x m cost matrix) and MMD (the pooled 2m x 2m kernel matrix). A seeded
        subsample of the analysed rows, the same rows of every set.
    k : int, default 10
        Neighbours of the kNN graphs.
    lam : float, default 0.5
        ToMCLIP's λ: ε = mean − λ·std of the pairwise distances.
    shared_space : {"auto", "raw", "cca"}
        Space of the cross-modal quantities: ``"raw"`` uses the sets as
        given (equal dimensions needed), ``"cca"`` a CCA shared space,
        ``"auto"`` raw when the dimensions agree and CCA otherwise.
    shared_dim : int, optional
        Dimension of the CCA space (default min(d_A, d_B)).
    preprocess : {"none", "center", "l2", "standardize"}
        Applied to every set first: nothing, centre the columns, scale each
        row to unit norm, or centre and scale each column to unit variance.
    retrieval_metric : {"cosine", "euclidean"}
    ks : tuple of int, default (1, 5, 10)
        Recall cut-offs.
    n_eps : int, default 50
        Points of the ε grid of the fiber-product profile.
    sw_directions : int, default 50
        Directions of the sliced Wasserstein distance (evenly spaced).
    shared_rule : {"threshold", "permutation"}, default "threshold"
        How the subspace decomposition picks the shared dimension: the
        canonical correlations >= ``shared_threshold``, or those significant
        at level 0.05 in a max-statistic permutation test (each permutation
        costs one N x d_A x d_B product and an SVD: minutes at 20,000 x 768;
        and with many rows even weak correlations are significant).
    shared_threshold : float, default 0.5
        Correlation threshold of the ``"threshold"`` rule.
    n_permutations : int, default 19
        Permutations of the ``"permutation"`` rule (19 is the fewest for
        which a p-value can reach 0.05).
    n_worst : int, default 10
        How many of the worst-aligned items the per-item sections list
        (``pairs[i]["items"]["worst"]``), highest combined score first.
    """

    max_points: int = 5000
    seed: int = 0
    dense_max_points: int = 2000
    k: int = 10
    lam: float = 0.5
    shared_space: str = "auto"
    shared_dim: int | None = None
    preprocess: str = "none"
    retrieval_metric: str = "cosine"
    ks: tuple[int, ...] = (1, 5, 10)
    n_eps: int = 50
    sw_directions: int = 50
    shared_rule: str = "threshold"
    shared_threshold: float = 0.5
    n_permutations: int = 19
    n_worst: int = 10

    def validated(self) -> AnalysisConfig:
        """A checked copy (raises ``ValueError`` naming the bad field)."""
        check_int(self.max_points, "max_points", minimum=0)
        check_int(self.seed, "seed", minimum=0)
        check_int(self.dense_max_points, "dense_max_points", minimum=3)
        check_int(self.k, "k", minimum=1)
        check_real(self.lam, "lam")
        check_choice(self.shared_space, "shared_space", SHARED_SPACES)
        if self.shared_dim is not None:
            check_int(self.shared_dim, "shared_dim", minimum=1)
        check_choice(self.preprocess, "preprocess", PREPROCESSING)
        check_choice(self.retrieval_metric, "retrieval_metric", RETRIEVAL_METRICS)
        ks = tuple(
            check_int(k, "ks", minimum=1)
            for k in (self.ks if isinstance(self.ks, (tuple, list, np.ndarray)) else [self.ks])
        )
        if not ks:
            raise ValueError("ks must hold at least one cut-off")
        check_int(self.n_eps, "n_eps", minimum=2)
        check_int(self.sw_directions, "sw_directions", minimum=1)
        check_choice(self.shared_rule, "shared_rule", SHARED_RULES)
        check_real(self.shared_threshold, "shared_threshold", low=0.0, high=1.0)
        check_int(self.n_permutations, "n_permutations", minimum=1)
        check_int(self.n_worst, "n_worst", minimum=1)
        return AnalysisConfig(**{**asdict(self), "ks": ks})


@dataclass
class AnalysisResult:
    """What :func:`analyze` found.

    Attributes
    ----------
    data : dict
        JSON-ready: ``meta``, ``parameters``, ``inputs``, ``sets`` (per set),
        ``pairs`` (per pair, in order) and ``timings``. Every number is a
        ``{"value": ..., "unit": ...}`` entry (curves: ``"values"``).
    arrays : dict
        NumPy arrays the figures are drawn from (diagrams, deaths, profiles,
        angles, per-point overlaps), keyed by set name or pair key.
    """

    data: dict[str, Any]
    arrays: dict[str, Any] = field(default_factory=dict)

    @property
    def set_names(self) -> list[str]:
        return list(self.data["sets"])

    @property
    def pair_keys(self) -> list[str]:
        return [p["key"] for p in self.data["pairs"]]

    def pair(self, a: str, b: str) -> dict[str, Any]:
        """The entry of the pair (a, b) (in either order)."""
        for p in self.data["pairs"]:
            if {p["a"], p["b"]} == {a, b}:
                return p
        raise KeyError(f"no pair ({a!r}, {b!r}); the pairs are {self.pair_keys}")


def check_result(result: Any, name: str = "result") -> AnalysisResult:
    """``result`` itself when it is an :class:`AnalysisResult` (a ``TypeError`` otherwise)."""
    if not isinstance(result, AnalysisResult):
        raise TypeError(
            f"{name} must be an AnalysisResult (what sheaftopo.report.analyze returns); got "
            f"{type(result).__name__}"
        )
    return result


def q(value: Any, unit: str, **extra: Any) -> dict[str, Any]:
    """One reported number with its unit (and optional notes)."""
    if isinstance(value, (np.floating, float)):
        value = float(value)
    elif isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        value = int(value)
    return {"value": value, "unit": unit, **extra}


def curve(values: Any, unit: str, **extra: Any) -> dict[str, Any]:
    """A reported sequence of numbers with its unit."""
    arr = np.asarray(values).ravel()
    if arr.dtype.kind in "iub":
        return {"values": [int(v) for v in arr], "unit": unit, **extra}
    return {"values": [float(v) for v in arr.astype(np.float64)], "unit": unit, **extra}


def pair_key(a: str, b: str) -> str:
    """The key of the pair (a, b) in report.json and in the arrays."""
    return f"{a} | {b}"


def pair_names(names: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of set names, in input order."""
    return list(combinations(names, 2))
