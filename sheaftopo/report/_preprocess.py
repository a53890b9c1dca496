"""What happens to the rows before any section sees them.

The checks of the sets and labels :func:`~sheaftopo.report.analyze` is given,
the seeded paired subsample, and the preprocessing (:func:`preprocess`; its
steps :func:`unit_rows` and :func:`standardized` also work on one row block or
a Dask array, which is how the Dask engine preprocesses every row lazily).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import as_points, check_choice, check_int, check_random_state
from ..io import check_distinct_rows, check_paired
from ._config import PREPROCESSING
from ._measures import _scale_of

__all__ = [
    "check_graph",
    "check_labels",
    "check_mapping",
    "check_paired_rows",
    "check_sets",
    "check_spread",
    "paired_subsample",
    "preprocess",
    "preprocessed",
    "standardized",
    "unit_rows",
]


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
    """Apply one of the preprocessing modes (``PREPROCESSING``) to the points X.

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
    return preprocessed(Xv, how)


def preprocessed(X: np.ndarray, how: str, name: str = "X") -> np.ndarray:
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


def check_graph(graph: Any, names: list[str]) -> list[tuple[int, int]]:
    """The modality graph as sorted index pairs into ``names`` (default: every pair).

    Parameters
    ----------
    graph : None, networkx graph, or sequence of (str, str)
        Edges between set names. Each edge must join two different known
        names and appear once (in either orientation).
    names : list of str
        The sets' names, in input order.

    Returns
    -------
    list of (int, int)
        Edges (i, j), i < j, sorted.

    Raises
    ------
    TypeError
        ``graph`` is not a graph or a sequence of pairs of names.
    ValueError
        An unknown name, a self-loop, a repeated edge, or no edge.

    Examples
    --------
    >>> from sheaftopo.report._preprocess import check_graph
    >>> check_graph(None, ["a", "b", "c"])
    [(0, 1), (0, 2), (1, 2)]
    >>> check_graph([("c", "a"), ("b", "c")], ["a", "b", "c"])
    [(0, 2), (1, 2)]
    """
    if graph is None:
        return [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    if hasattr(graph, "edges") and hasattr(graph, "nodes"):  # a networkx graph
        pairs = list(graph.edges())
    elif isinstance(graph, (str, bytes)) or not hasattr(graph, "__iter__"):
        raise TypeError(
            f"graph must be a networkx graph or a sequence of (name, name) edges; got "
            f"{type(graph).__name__}"
        )
    else:
        pairs = list(graph)
    index = {name: i for i, name in enumerate(names)}
    edges: set[tuple[int, int]] = set()
    for e in pairs:
        if isinstance(e, (str, bytes)) or not hasattr(e, "__len__") or len(e) != 2:
            raise TypeError(f"graph: every edge must be a pair of set names; got {e!r}")
        u, v = e
        for end in (u, v):
            if end not in index:
                raise ValueError(f"graph: edge {e!r} names {end!r}, which is not a set ({names})")
        if u == v:
            raise ValueError(f"graph: edge {e!r} is a self-loop")
        key = (min(index[u], index[v]), max(index[u], index[v]))
        if key in edges:
            raise ValueError(f"graph: edge {e!r} appears twice")
        edges.add(key)
    if not edges:
        raise ValueError("graph must hold at least one edge")
    return sorted(edges)


def check_labels(labels: Any, n_rows: int) -> np.ndarray:
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


def check_sets(sets: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The sets as checked point arrays keyed by ``str(name)``, with paired rows."""
    check_mapping(sets)
    out = {str(k): as_points(v, f"set {k!r}") for k, v in sets.items()}
    check_paired_rows(out)
    return out


def check_mapping(sets: Any) -> None:
    """``sets`` is a mapping of at least two names to sets."""
    if not isinstance(sets, Mapping):
        raise TypeError(f"sets must be a mapping of name to array; got {type(sets).__name__}")
    if len(sets) < 2:
        raise ValueError(f"an alignment analysis needs at least 2 embedding sets; got {len(sets)}")


def check_paired_rows(sets: Mapping[str, Any]) -> None:
    """Every set (anything with a ``shape``) has the first set's number of rows.

    :func:`sheaftopo.io.check_paired`, with the sets named as the report names
    them (``set 'a'``).
    """
    check_paired({f"set {k!r}": v for k, v in sets.items()})


def check_spread(X: np.ndarray, name: str) -> None:
    """The analysed rows of set ``name`` are not all one vector (``io.check_distinct_rows``)."""
    check_distinct_rows(X, f"set {name!r}", rows="analysed row")
