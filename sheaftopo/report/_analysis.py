"""The numbers of an alignment report: computed here, rendered elsewhere.

:func:`analyze` takes two or more embedding sets with paired rows and returns an
:class:`AnalysisResult`: a JSON-ready tree of every quantity (each with its
unit) and the arrays the figures are drawn from. Every quantity comes from a
library function (``sheaftopo.persistence``, ``sheaftopo.sheaf``,
``sheaftopo.fiber``, ``sheaftopo.geometry`` and :mod:`._measures`) called on
the analysed rows; nothing is recomputed here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from .._validation import (
    as_points,
    check_choice,
    check_int,
    check_random_state,
    check_real,
)
from ._measures import _scale_of, distance_alignment, retrieval_recall, rms_pairwise_distance
from ._progress import Progress

__all__ = [
    "AnalysisConfig",
    "AnalysisResult",
    "analyze",
    "count_steps",
    "paired_subsample",
    "preprocess",
]

SHARED_SPACES = ("auto", "raw", "cca")
PREPROCESSING = ("none", "center", "l2", "standardize")
RETRIEVAL_METRICS = ("cosine", "euclidean")


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
        check_choice(self.shared_rule, "shared_rule", ("threshold", "permutation"))
        check_real(self.shared_threshold, "shared_threshold", low=0.0, high=1.0)
        check_int(self.n_permutations, "n_permutations", minimum=1)
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


def paired_subsample(n: int, max_points: int, rng: Any) -> np.ndarray | None:
    """Sorted indices of ``max_points`` rows drawn without replacement, or None (all rows).

    Parameters
    ----------
    n : int
        Number of rows, >= 0.
    max_points : int
        Rows to keep, >= 0; 0 (or ``max_points >= n``) keeps every row.
    rng : numpy.random.Generator, int or None
        The generator (an int or None seeds a new one).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import paired_subsample
    >>> paired_subsample(10, 4, np.random.default_rng(0))
    array([2, 4, 5, 7])
    >>> paired_subsample(10, 0, np.random.default_rng(0)) is None
    True
    """
    n = check_int(n, "n", minimum=0)
    max_points = check_int(max_points, "max_points", minimum=0)
    rng = check_random_state(rng, "rng")
    if max_points == 0 or n <= max_points:
        return None
    return np.sort(rng.choice(n, size=max_points, replace=False)).astype(np.int64)


def preprocess(X: Any, how: str) -> np.ndarray:
    """Apply one of :data:`PREPROCESSING` to the points X.

    ``"none"`` returns a copy of X (float32 stays float32); every other choice
    returns a new float64 array. Any magnitude: ``"l2"`` divides each row by
    its largest entry before its norm, ``"center"`` and ``"standardize"`` work
    on X divided by a power of two (exact) so that sums cannot overflow.
    ``"standardize"`` leaves a column that is constant up to rounding (standard
    deviation at most 64 machine epsilons of its mean) centred but unscaled,
    as it does an exactly constant one.

    Raises
    ------
    ValueError
        X is not a finite 2-D array of at least one point, ``how`` is unknown,
        a row is zero (``"l2"``) or centring leaves the float64 range.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import preprocess
    >>> preprocess(np.array([[3.0, 4.0], [0.0, 2.0]]), "l2")
    array([[0.6, 0.8],
           [0. , 1. ]])
    """
    how = check_choice(how, "how", PREPROCESSING)
    Xv = as_points(X, "X")
    if how == "none":
        return np.array(Xv)
    return _preprocessed(Xv, how)


def _preprocessed(X: np.ndarray, how: str, name: str = "X") -> np.ndarray:
    """:func:`preprocess` of a checked X, ``how`` other than "none" (a new float64 array)."""
    Y = np.array(X, dtype=np.float64)
    if how == "l2":
        return unit_rows(Y, name=name)
    scale = _scale_of(Y)
    Y /= scale
    mean = Y.mean(axis=0)
    Z = standardized(Y, mean, (Y - mean).std(axis=0) if how == "standardize" else None)
    if how == "center":
        Z *= scale
        if not np.isfinite(Z).all():
            raise ValueError(
                f"{name}: centring leaves the float64 range (coordinates of opposite signs near "
                "1e308); rescale X first"
            )
    return Z


def unit_rows(Y: np.ndarray, start: int = 0, name: str = "X") -> np.ndarray:
    """``Y`` (a float64 array of the caller's own) with every row scaled to unit norm, in place.

    Each row is divided by its largest entry first, so norms neither overflow
    nor underflow. ``start`` is the global index of ``Y``'s first row and
    ``name`` what ``Y`` is, for the error on a zero row.
    """
    top = np.max(np.abs(Y), axis=1) if Y.shape[1] else np.zeros(Y.shape[0])
    if (top == 0).any():
        i = int(np.flatnonzero(top == 0)[0])
        raise ValueError(
            f"{name}: row {start + i} is zero and cannot be scaled to unit norm ('l2')"
        )
    Y /= top[:, None]
    Y /= np.linalg.norm(Y, axis=1)[:, None]
    return Y


def standardized(Y: Any, mean: np.ndarray, sd: np.ndarray | None) -> Any:
    """``(Y - mean) / sd`` (NumPy or Dask); ``sd`` None: centred only.

    A column whose ``sd`` is 0, or at most 64 machine epsilons of its mean (a
    constant column, up to the rounding of the mean), is left centred.
    """
    Z = Y - mean
    if sd is not None:
        sd = np.asarray(sd, dtype=np.float64)
        flat = sd <= 64.0 * np.finfo(np.float64).eps * np.abs(np.asarray(mean))
        Z = Z / np.where(flat, 1.0, sd)
    return Z


def _check_labels(labels: Any, n_rows: int) -> np.ndarray:
    """One class per row: integers, booleans, strings or finite floats, as a new 1-D array."""
    if hasattr(labels, "detach") and not isinstance(labels, np.ndarray):
        raise TypeError("labels must be a NumPy array or a list; got a torch tensor")
    y = np.array(labels)
    if y.dtype.kind == "O":
        kinds = {type(v).__name__ for v in y.ravel()}
        if not all(isinstance(v, str) for v in y.ravel()):
            raise TypeError(
                "labels must be integers or strings (one type); got an object array holding "
                f"{', '.join(sorted(kinds))}"
            )
        y = y.astype(str)
    if y.dtype.kind not in "iubfUS":
        raise TypeError(f"labels must be integers or strings; got dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != n_rows:
        raise ValueError(
            f"labels must be 1-D with one label per row ({n_rows}); got shape {y.shape}"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(f"labels must be finite; label {i} is {y[i]!r}")
    return y


def _pair_key(a: str, b: str) -> str:
    return f"{a} | {b}"


def _check_sets(sets: Mapping[str, Any]) -> dict[str, np.ndarray]:
    _check_mapping(sets)
    out = {str(k): as_points(v, f"set {k!r}") for k, v in sets.items()}
    _check_paired_rows(out)
    return out


def _check_mapping(sets: Any) -> None:
    if not isinstance(sets, Mapping):
        raise TypeError(f"sets must be a mapping of name to array; got {type(sets).__name__}")
    if len(sets) < 2:
        raise ValueError(f"an alignment analysis needs at least 2 embedding sets; got {len(sets)}")


def _check_paired_rows(out: Mapping[str, Any]) -> None:
    """Every set (anything with a ``shape``) has the first set's number of rows."""
    names = list(out)
    n = out[names[0]].shape[0]
    for name in names[1:]:
        if out[name].shape[0] != n:
            raise ValueError(
                f"set {name!r} has {out[name].shape[0]} rows but set {names[0]!r} has {n}; "
                "the sets must have paired rows"
            )


class _InMemory:
    """How :func:`analyze` computes without Dask: everything on the analysed rows."""

    def __init__(self, sets: Mapping[str, Any]) -> None:
        self.raw = _check_sets(sets)

    def rows(self, idx: np.ndarray | None, how: str) -> dict[str, np.ndarray]:
        out = {k: M if idx is None else M[idx] for k, M in self.raw.items()}
        if how == "none":  # the checked sets themselves: nothing downstream writes to them
            return out
        return {k: _preprocessed(M, how, f"set {k!r}") for k, M in out.items()}

    def persistence(self, name: str, M: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
        return _persistence(M)

    def fiber(
        self, a: str, b: str, project: Any, ZA: np.ndarray, ZB: np.ndarray, cfg: AnalysisConfig
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return _fiber_profile(ZA, ZB, cfg)

    def meta(self, n: int) -> dict[str, Any] | None:
        return None


def _check_spread(X: np.ndarray, name: str) -> None:
    if np.all(X == X[0]):
        raise ValueError(
            f"set {name!r}: every analysed row is the same point; distances, persistence and "
            "covariances are degenerate"
        )


# ----------------------------------------------------------------------
# per set
# ----------------------------------------------------------------------


def _persistence(X: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..persistence import mst

    return _persistence_summary(mst(X), rms_pairwise_distance(X))


def _persistence_summary(forest: Any, s: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report entry of a spanning forest of a set whose RMS pairwise distance is s."""
    deaths = forest.weights
    unit = "distance (the set's units)"
    out = {
        "n_points": q(forest.n_vertices, "count"),
        "n_finite_pairs": q(len(deaths), "count"),
        "rms_pairwise_distance": q(s, unit, note="s: the scale every normalised number uses"),
        "death_min": q(deaths.min() if len(deaths) else 0.0, unit),
        "death_median": q(np.median(deaths) if len(deaths) else 0.0, unit),
        "death_mean": q(deaths.mean() if len(deaths) else 0.0, unit),
        "death_max": q(deaths.max(initial=0.0), unit),
        "total_persistence": q(forest.total_weight, unit, note="sum of the finite deaths"),
        "total_persistence_normalised": q(
            forest.total_weight / s, "RMS pairwise distances", note="sum of deaths / s"
        ),
        "mst_method": forest.method,
    }
    return out, {"diagram": forest.diagram, "deaths": deaths, "scale": s}


def _sparsification(X: np.ndarray, lam: float) -> dict[str, Any]:
    from scipy.spatial.distance import cdist

    from ..persistence import approximation_bound, sparsify

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


# ----------------------------------------------------------------------
# per pair
# ----------------------------------------------------------------------


def _diagram_distances(pa: dict[str, Any], pb: dict[str, Any], n_directions: int) -> dict[str, Any]:
    from ..persistence import bottleneck, sliced_wasserstein

    da = pa["diagram"] / pa["scale"]
    db = pb["diagram"] / pb["scale"]
    unit = "RMS pairwise distances"
    return {
        "sliced_wasserstein": q(
            sliced_wasserstein(da, db, n_directions=n_directions, essential="drop"),
            unit,
            note=f"Carriere-Cuturi-Oudot, p=1, {n_directions} evenly spaced directions, "
            "diagrams divided by each set's s",
        ),
        "bottleneck": q(bottleneck(da, db), unit, note="exact (Hera), normalised diagrams"),
    }


def _shared_space(
    A: np.ndarray, B: np.ndarray, cfg: AnalysisConfig
) -> tuple[Any, dict[str, Any]]:
    """``(project, info)``: ``project(A, B) -> (ZA, ZB)`` maps rows (NumPy or Dask) to the space."""
    from ..sheaf import fit_restriction_maps

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


def _retrieval(ZA: np.ndarray, ZB: np.ndarray, cfg: AnalysisConfig) -> tuple[dict, dict]:
    r = retrieval_recall(ZA, ZB, ks=cfg.ks, metric=cfg.retrieval_metric)
    out = {
        "metric": cfg.retrieval_metric,
        "recall_a_to_b": {f"@{k}": q(v, "fraction") for k, v in r.recall_ab.items()},
        "recall_b_to_a": {f"@{k}": q(v, "fraction") for k, v in r.recall_ba.items()},
        "mrr_a_to_b": q(r.mrr_ab, "dimensionless", note="mean reciprocal rank"),
        "mrr_b_to_a": q(r.mrr_ba, "dimensionless", note="mean reciprocal rank"),
        "median_rank_a_to_b": q(float(np.median(r.ranks_ab)), "rank (0 = first)"),
        "median_rank_b_to_a": q(float(np.median(r.ranks_ba)), "rank (0 = first)"),
    }
    return out, {"ranks_ab": r.ranks_ab, "ranks_ba": r.ranks_ba}


def _distance_alignment(A: np.ndarray, B: np.ndarray) -> dict[str, Any]:
    try:
        r = distance_alignment(A, B)
    except ValueError as e:  # a set whose distances are all equal: no correlation to report
        why = f"undefined: {e}"
        return {
            "correlation": q(None, "dimensionless", note=why),
            "rms_error": q(None, "dimensionless", note=why),
            "n_pairs": q(A.shape[0] * (A.shape[0] - 1) // 2, "count"),
        }
    return {
        "correlation": q(
            r.correlation,
            "dimensionless",
            note="Pearson correlation of d_A(i,j) and d_B(i,j) over all pairs i<j",
        ),
        "rms_error": q(
            r.rms_error,
            "dimensionless",
            note="sqrt(mean_{i<j} (d_A(i,j)/s_A - d_B(i,j)/s_B)^2), s = RMS pairwise distance; "
            "0: equal up to scale",
        ),
        "n_pairs": q(r.n_pairs, "count"),
    }


def _knn_sets(X: np.ndarray, k: int) -> np.ndarray:
    from ..geometry import knn_indices

    return knn_indices(X / _scale_of(X), k=k)  # neighbours do not change with the scale


def _neighbourhoods(
    A: np.ndarray, B: np.ndarray, NA: np.ndarray, NB: np.ndarray, k: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..geometry import knn_hausdorff

    # per-point Jaccard of the two kNN index sets (sheaftopo.geometry.knn_indices, the sets
    # knn_overlap compares); their mean is knn_overlap(A, B, k=k)
    inter = (NA[:, :, None] == NB[:, None, :]).sum(axis=(1, 2))
    jac = inter / (2 * k - inter)
    out = {
        "k": q(k, "count"),
        "overlap": q(
            float(jac.mean()),
            "fraction",
            note="mean over points of the Jaccard index of the k-nearest-neighbour sets "
            "(sheaftopo.geometry.knn_overlap); 1: every neighbourhood preserved",
        ),
        "overlap_median": q(float(np.median(jac)), "fraction"),
        "overlap_zero_fraction": q(
            float(np.mean(inter == 0)),
            "fraction of points",
            note="points whose neighbourhoods share no point",
        ),
        "hausdorff_mismatch": q(
            # in units of each set's own neighbourhood radius: scale-free, so computed on the
            # sets divided by powers of two (exact; no overflow of squared distances)
            knn_hausdorff(A / _scale_of(A), B / _scale_of(B), k=k),
            "mean k-th neighbour distances",
            note="mean over points of the Hausdorff distance between a point's two "
            "neighbourhoods, in each set's mean k-th-neighbour radius "
            "(sheaftopo.geometry.knn_hausdorff); 0: same neighbourhoods",
        ),
    }
    return out, {"overlap": jac, "k": k}


def _gaussian_fit(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    from ..geometry import covariance

    C = covariance(Z)
    w = np.linalg.eigvalsh(C)
    if w[0] > 1e-12 * max(w[-1], 1e-300):
        return Z.mean(axis=0), C, "sample covariance"
    return (
        Z.mean(axis=0),
        covariance(Z, shrinkage="ledoit_wolf"),
        ("Ledoit-Wolf shrunk covariance (the sample covariance is singular)"),
    )


def _distributions(ZA: np.ndarray, ZB: np.ndarray, sub: np.ndarray | None) -> dict[str, Any]:
    from ..geometry import (
        exact_transport,
        gaussian_wasserstein,
        median_bandwidth,
        mmd2,
        modality_gap,
    )

    SA, SB = (ZA, ZB) if sub is None else (ZA[sub], ZB[sub])
    m = SA.shape[0]
    ot = exact_transport(SA, SB, p=2.0)
    ma, ca, how_a = _gaussian_fit(ZA)
    mb, cb, how_b = _gaussian_fit(ZB)
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


def _fiber_profile(
    ZA: np.ndarray, ZB: np.ndarray, cfg: AnalysisConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..fiber import epsilon_star, fiber_profile

    stars = [epsilon_star(ZA, ZB, "diagonal", fraction=f) for f in STAR_FRACTIONS]
    top = stars[0] if stars[0] > 0 else 0.5 * rms_pairwise_distance(np.concatenate([ZA, ZB]))
    prof = fiber_profile(ZA, ZB, _eps_grid(top, stars, cfg), true_pairs="diagonal")
    return _fiber_summary(prof, *stars)


#: recall targets of the three reported ε: every true pair, half, 90 %
STAR_FRACTIONS = (1.0, 0.5, 0.9)


def _eps_grid(top: float, stars: Sequence[float], cfg: AnalysisConfig) -> np.ndarray:
    """The profile's grid: ``n_eps`` points up to ``top``, and the reported ε."""
    return np.unique(np.concatenate([np.linspace(0.0, top, cfg.n_eps), stars]))


def _fiber_summary(
    prof: Any, star: float, e50: float, e90: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report entry of a diagonal fiber profile and its three ε."""
    n = len(prof.true_distances)
    unit = "shared-space distance"

    def at(eps: float) -> dict[str, Any]:
        c = int(prof.counts[int(np.searchsorted(prof.eps, eps))])
        return {
            "pairs": q(c, "count"),
            "pairs_per_item": q(
                c / n, "pairs per row", note="candidates within eps of a query, on average"
            ),
            "pair_fraction": q(c / prof.n_total, "fraction of all n^2 pairs"),
        }

    out = {
        "metric": prof.metric,
        "eps_star": q(
            star,
            unit,
            note="smallest eps whose product contains every true pair "
            "(i, i) (sheaftopo.fiber.epsilon_star)",
        ),
        "eps_recall_50": q(e50, unit, note="smallest eps containing half of the true pairs"),
        "eps_recall_90": q(e90, unit, note="smallest eps containing 90% of the true pairs"),
        "at_eps_star": at(star),
        "at_eps_recall_90": at(e90),
        "at_eps_recall_50": at(e50),
        "profile_eps": curve(prof.eps, unit),
        "profile_pairs": curve(prof.counts, "count"),
        "profile_recall": curve(prof.recall, "fraction of the n true pairs"),
        "method": prof.method,
    }
    arr = {
        "eps": prof.eps,
        "pair_fraction": prof.fractions,
        "recall": prof.recall,
        "eps_star": star,
    }
    return out, arr


def _subspaces(
    A: np.ndarray, B: np.ndarray, cfg: AnalysisConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..fiber import subspace_decomposition

    dec = subspace_decomposition(
        A,
        B,
        n_shared=cfg.shared_rule,
        threshold=cfg.shared_threshold,
        n_permutations=cfg.n_permutations,
        seed=cfg.seed,
    )
    if cfg.shared_rule == "threshold":
        rule = f"canonical correlations >= {cfg.shared_threshold}"
    else:
        rule = (
            f"canonical correlations significant at level 0.05 against {cfg.n_permutations} "
            f"row permutations (seed {cfg.seed})"
        )
    deg = np.degrees(dec.angles)
    frac = "fraction of the set's total variance"
    out: dict[str, Any] = {
        "n_shared": q(
            dec.n_shared,
            "count",
            note=f"shared dimension: {rule} (sheaftopo.fiber.subspace_decomposition)",
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
    return out, {"angles": np.asarray(dec.angles)}


def _label_scores(M: np.ndarray, y: np.ndarray, cfg: AnalysisConfig) -> dict[str, Any]:
    from ..geometry import label_scores

    # silhouette and k-means are scale-free: score M divided by a power of two (exact), so
    # squared distances of coordinates near 1e300 or 1e-300 neither overflow nor underflow
    s = label_scores(M / _scale_of(M), y, seed=cfg.seed)
    return {
        "n_labels": q(s.n_labels, "count"),
        "silhouette": q(
            s.silhouette,
            "dimensionless (-1 to 1)",
            note="mean silhouette of the given labels, Euclidean",
        ),
        "nmi": q(
            s.nmi,
            "dimensionless (0 to 1)",
            note=f"NMI between the labels and k-means with {s.n_labels} clusters (seed {cfg.seed})",
        ),
    }


# ----------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------


def count_steps(n_sets: int, has_labels: bool) -> int:
    """Number of progress steps :func:`analyze` takes for ``n_sets`` sets."""
    n_sets = check_int(n_sets, "n_sets", minimum=0)
    if not isinstance(has_labels, (bool, np.bool_)):
        raise TypeError(f"has_labels must be True or False; got {has_labels!r}")
    per_set = 2 + (1 if has_labels else 0)
    return n_sets * per_set + n_sets * (n_sets - 1) // 2 * len(PAIR_STEPS)


PAIR_STEPS = (
    "diagram distances",
    "distance alignment",
    "kNN neighbourhoods",
    "shared space",
    "retrieval",
    "distributions",
    "fiber product",
    "subspaces",
)


def analyze(
    sets: Mapping[str, Any],
    *,
    labels: Any = None,
    config: AnalysisConfig | None = None,
    sources: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    dask: Any = None,
) -> AnalysisResult:
    """Compute an alignment report for two or more embedding sets with paired rows.

    For each set: H0 persistence (MST deaths), ToMCLIP's ε-sparsification at
    λ with its proved W2 error bound next to the true W2, and with labels the
    silhouette and NMI. For each pair of sets: sliced-Wasserstein and
    bottleneck distances between the scale-normalised H0 diagrams, the
    distance-matrix alignment, kNN neighbourhood overlap and Hausdorff
    mismatch (all dimension-free); then, in a shared space (the raw space when
    the dimensions agree, a CCA space otherwise), cross-modal retrieval
    recall@k, OT cost, Bures–Wasserstein distance between Gaussian fits, MMD,
    modality gap and the approximate fiber-product profile; and the
    shared/specific subspace decomposition of the raw sets.

    Parameters
    ----------
    sets : mapping of str to array_like, each of shape (n, d_name)
        The embedding sets; row i of every set describes item i.
    labels : array_like, shape (n,), optional
        A class per row.
    config : AnalysisConfig, optional
        Parameters (defaults: :class:`AnalysisConfig`).
    sources : mapping of str to str, optional
        Where each set came from (file names), recorded in the report.
    progress : Progress, optional
        Shows the steps; none by default.
    dask : DaskOptions, optional
        Run the exact all-pairs measures on every row, on Dask: the H0
        diagram of each set (:func:`sheaftopo.distributed.mst_dask`, and the
        diagram distances built on it) and the fiber-product profile and ε*
        of each pair (:func:`sheaftopo.distributed.fiber_profile_dask`; a CCA
        shared space is fitted on the subsample and applied to every row).
        The sets may then be anything :mod:`sheaftopo.distributed` reads
        lazily (Dask arrays, zarr stores, directories of ``.npy`` or
        ``.parquet`` shards, lists of chunks); every other measure runs on
        the seeded subsample of ``max_points`` rows gathered from them, and
        ``center`` / ``standardize`` use the statistics of every row.
        ``report.json``'s ``meta.distributed`` says which measure ran where,
        on how many rows.

    Returns
    -------
    AnalysisResult

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.report import AnalysisConfig, analyze
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((200, 8))
    >>> res = analyze({"a": A, "b": A.copy()}, config=AnalysisConfig(k=5))
    >>> p = res.pair("a", "b")
    >>> p["persistence"]["bottleneck"]["value"], p["retrieval"]["recall_a_to_b"]["@1"]["value"]
    (0.0, 1.0)
    """
    for arg, value, kind in (
        ("config", config, AnalysisConfig),
        ("progress", progress, Progress),
        ("sources", sources, Mapping),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(
                f"{arg} must be a {kind.__name__} or None; got {type(value).__name__}"
            )
    cfg = (config or AnalysisConfig()).validated()
    if dask is None:
        return _analyze(_InMemory(sets), labels, cfg, sources, progress)
    from ..distributed._inputs import connect
    from ._distributed import DaskOptions, OnDask

    if not isinstance(dask, DaskOptions):
        raise TypeError(f"dask must be a DaskOptions or None; got {type(dask).__name__}")
    opts = dask.validated()
    _check_mapping(sets)
    with connect(opts.client, opts.timeout) as client:
        return _analyze(OnDask(sets, opts, client), labels, cfg, sources, progress)


def _analyze(
    engine: Any,
    labels: Any,
    cfg: AnalysisConfig,
    sources: Mapping[str, str] | None,
    progress: Progress | None,
) -> AnalysisResult:
    """The body of :func:`analyze`; ``engine`` holds the sets and computes the exact parts."""
    raw = engine.raw
    names = list(raw)
    n_total = raw[names[0]].shape[0]
    y = None if labels is None else _check_labels(labels, n_total)
    rng = np.random.default_rng(cfg.seed)
    idx = paired_subsample(n_total, cfg.max_points, rng)
    X = engine.rows(idx, cfg.preprocess)
    n = X[names[0]].shape[0]
    if n < cfg.k + 2:
        raise ValueError(
            f"the sets have {n} analysed rows; the kNN steps need at least k + 2 = {cfg.k + 2}"
        )
    for name, M in X.items():
        _check_spread(M, name)
    y_an = None if y is None else (y if idx is None else y[idx])
    if y_an is not None and not 2 <= len(np.unique(y_an)) <= n - 1:
        raise ValueError(
            f"labels must take between 2 and n - 1 = {n - 1} distinct values on the {n} "
            f"analysed rows (silhouette and NMI); got {len(np.unique(y_an))}"
        )
    dense = paired_subsample(n, cfg.dense_max_points, rng)
    pairs = list(combinations(names, 2))
    own_progress = progress is None
    prog = progress or Progress(count_steps(len(names), y is not None), enabled=False)
    t_start = time.perf_counter()

    sets_out: dict[str, Any] = {}
    arrays: dict[str, Any] = {"sets": {}, "pairs": {}}
    pers: dict[str, dict[str, Any]] = {}
    for name in names:
        M = X[name]
        with prog.step(f"H0 persistence: {name}"):
            summary, arr = engine.persistence(name, M)
        pers[name] = arr
        with prog.step(f"ToMCLIP sparsification: {name}"):
            sp = _sparsification(M if dense is None else M[dense], cfg.lam)
        entry: dict[str, Any] = {
            "n_dims": q(M.shape[1], "count"),
            "persistence": summary,
            "sparsification": sp,
        }
        if y_an is not None:
            with prog.step(f"labels: {name}"):
                entry["labels"] = _label_scores(M, y_an, cfg)
        sets_out[name] = entry
        arrays["sets"][name] = arr

    pairs_out = []
    knn: dict[str, np.ndarray] = {}
    for a, b in pairs:
        A, B = X[a], X[b]
        key = _pair_key(a, b)
        parr: dict[str, Any] = {}
        entry = {"key": key, "a": a, "b": b}
        with prog.step(f"diagram distances: {key}"):
            entry["persistence"] = _diagram_distances(pers[a], pers[b], cfg.sw_directions)
        with prog.step(f"distance alignment: {key}"):
            entry["distance_alignment"] = _distance_alignment(A, B)
        with prog.step(f"kNN neighbourhoods: {key}"):
            for name in (a, b):
                if name not in knn:
                    knn[name] = _knn_sets(X[name], cfg.k)
            entry["neighbourhoods"], parr["neighbourhoods"] = _neighbourhoods(
                A, B, knn[a], knn[b], cfg.k
            )
        with prog.step(f"shared space: {key}"):
            project, entry["shared_space"] = _shared_space(A, B, cfg)
            ZA, ZB = project(A, B)
        with prog.step(f"retrieval: {key}"):
            entry["retrieval"], parr["retrieval"] = _retrieval(ZA, ZB, cfg)
        with prog.step(f"distributions: {key}"):
            entry["distributions"] = _distributions(ZA, ZB, dense)
        with prog.step(f"fiber product: {key}"):
            entry["fiber_product"], parr["fiber_product"] = engine.fiber(
                a, b, project, ZA, ZB, cfg
            )
        with prog.step(f"subspaces: {key}"):
            entry["subspaces"], parr["subspaces"] = _subspaces(A, B, cfg)
        pairs_out.append(entry)
        arrays["pairs"][key] = parr
    elapsed = time.perf_counter() - t_start
    if own_progress:
        prog.close()

    from .. import __version__

    inputs: dict[str, Any] = {
        "sets": [
            {
                "name": name,
                "source": (sources or {}).get(name, "in memory"),
                "n_rows": q(raw[name].shape[0], "count"),
                "n_dims": q(raw[name].shape[1], "count"),
                "dtype": str(raw[name].dtype),
            }
            for name in names
        ],
        "labels": None
        if y is None
        else {
            "source": (sources or {}).get("__labels__", "in memory"),
            "n_classes": q(len(np.unique(y)), "count"),
        },
        "n_rows": q(n_total, "count"),
        "n_rows_analysed": q(n, "count"),
        "subsample": {
            "applied": idx is not None,
            "seed": cfg.seed,
            "method": "numpy.random.default_rng(seed).choice(n, size, replace=False), sorted; "
            "the same rows of every set",
            "indices": None if idx is None else idx.tolist(),
        },
        "dense_subsample": _sub_info(
            dense, n, "ToMCLIP sparsification and its bound, exact OT, MMD"
        ),
    }
    data: dict[str, Any] = {
        "meta": {
            "tool": "sheaftopo analyze",
            "sheaftopo_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seed": cfg.seed,
        },
        "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "inputs": inputs,
        "sets": sets_out,
        "pairs": pairs_out,
        "timings": {
            "total": q(elapsed, "seconds"),
            "steps": {k: q(v, "seconds") for k, v in prog.timings.items()},
        },
    }
    distributed = engine.meta(n)
    if distributed is not None:
        data["meta"]["distributed"] = distributed
    return AnalysisResult(data=data, arrays=arrays)


def _sub_info(sub: np.ndarray | None, n: int, used_for: str) -> dict[str, Any]:
    return {
        "applied": sub is not None,
        "size": q(n if sub is None else len(sub), "count"),
        "used_for": used_for,
        "positions": None if sub is None else sub.tolist(),
        "note": "positions among the analysed rows, drawn after the main subsample from the "
        "same generator",
    }


def pair_names(names: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of set names, in input order."""
    return list(combinations(names, 2))
