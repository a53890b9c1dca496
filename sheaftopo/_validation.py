"""The one place where inputs are checked.

Every public function of sheaftopo converts and checks its arguments with the
helpers below before doing any work, so that bad input gets one kind of error
everywhere: a ``TypeError`` for the wrong kind of object, a ``ValueError`` for
the wrong shape or value, and a message that names the argument, says what was
seen, and what was expected.

The helpers never modify their input. They return either the input itself (when
it already has the requested dtype and layout) or a new array; callers must
therefore treat the returned arrays as read-only unless they asked for a copy.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_diagram",
    "as_dims",
    "as_distance_matrix",
    "as_edge_list",
    "as_float_array",
    "as_points",
    "as_sparse_graph",
    "as_vector",
    "as_weights",
    "check_choice",
    "check_int",
    "check_k",
    "check_random_state",
    "check_real",
    "kernel_layout",
    "power_of_two_scale",
]

_FLOAT_DTYPES = (np.float32, np.float64)

#: Probability weights must sum to one within this absolute tolerance; they are
#: then divided by their sum (so that, for example, float32 weights summing to
#: one in float32 arithmetic are accepted). See :func:`as_weights`.
WEIGHT_SUM_ATOL = 1e-6


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"an object of type {type(x).__name__}"


def as_float_array(x: Any, name: str, *, dtype: Any = None) -> np.ndarray:
    """Convert ``x`` to a real floating array without copying when possible.

    float32 and float64 are kept; integer and boolean input becomes float64.
    Object, complex, string and datetime input raise ``TypeError``.
    """
    if x is None:
        raise TypeError(f"{name} must be an array of real numbers; got None")
    try:
        import scipy.sparse as sp

        if sp.issparse(x):
            raise TypeError(f"{name} must be a dense array; got a scipy.sparse {type(x).__name__}")
    except ImportError:  # pragma: no cover - scipy is a core dependency
        pass
    if hasattr(x, "detach") and hasattr(x, "cpu") and not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} must be a NumPy array; got a torch tensor "
            "(use the functions in sheaftopo.torch for tensors, or pass tensor.numpy())"
        )
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(
            f"{name} must be a rectangular array of real numbers; got a ragged "
            f"{type(x).__name__} ({exc})"
        ) from None
    kind = arr.dtype.kind
    if kind not in "fiub":
        raise TypeError(
            f"{name} must hold real numbers; got {_describe(arr)} (dtype kind {kind!r})"
        )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif kind != "f" or arr.dtype not in _FLOAT_DTYPES:
        arr = arr.astype(np.float64)
    return kernel_layout(arr)


def kernel_layout(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself when it is C-contiguous, writeable and native-endian; else a C copy.

    numba compiles one specialisation per array *type*, and read-only,
    non-contiguous and byte-swapped arrays are distinct types: without this
    normalisation a read-only view costs a fresh compilation (seconds) on
    every kernel it reaches. The copy is never written through to the caller.
    """
    if arr.flags.c_contiguous and arr.flags.writeable and arr.dtype.isnative:
        return arr
    return np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C", copy=True)


def power_of_two_scale(arr: np.ndarray) -> float:
    """A power of two ``s`` that brings ``max|arr|`` near 1 (1.0 for an all-zero array).

    ``max|arr| / s`` lies in [0.5, 1) for normal magnitudes; ``s`` is kept in
    [2**-1022, 2**1023] so that it is itself a normal, finite number (for
    ``max|arr| >= 2**1023`` the ratio is in [1, 2); for subnormal data it is
    below 0.5 but never below 2**-52, and the division stays exact).

    Quantities homogeneous in the coordinates (distances, costs, deaths) are
    computed on ``arr / s`` and multiplied back by ``s``: dividing by a power
    of two is exact, so squares neither overflow near 1e154 nor underflow
    near 1e-160, and the result is the one exact arithmetic would give at the
    original scale. Divide by ``s``; never multiply by ``1 / s``.

    For one scale shared by several arrays, call it on all of them together
    (or on the largest of their maxima): the 1.0 of an all-zero array is no
    scale, and taking it in a maximum would flush a tiny partner to zero.
    """
    if arr.size == 0:
        return 1.0
    top = float(np.max(np.abs(arr)))
    if not np.isfinite(top):
        raise ValueError("power_of_two_scale needs finite input")
    if top == 0.0:
        return 1.0
    _, exponent = np.frexp(top)
    return float(np.ldexp(1.0, min(max(int(exponent), -1022), 1023)))


def _check_finite(arr: np.ndarray, name: str, *, allow_posinf: bool = False) -> None:
    if allow_posinf:
        bad = np.isnan(arr) | np.isneginf(arr)
    else:
        bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        what = "NaN or -inf" if allow_posinf else "NaN or inf"
        raise ValueError(
            f"{name} must not contain {what}; found {arr[idx].item()!r} at index {idx} "
            f"({int(bad.sum())} such entries)"
        )


def as_points(X: Any, name: str = "X", *, dtype: Any = None) -> np.ndarray:
    """A point cloud: a finite real array of shape (n_points, n_features), n_points >= 1."""
    arr = as_float_array(X, name, dtype=dtype)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_points, n_features); got {arr.ndim}-D "
            f"input of shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one point; got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature; got shape {arr.shape}")
    _check_finite(arr, name)
    return arr


def as_distance_matrix(
    D: Any, name: str = "D", *, symmetric_rtol: float = 1e-9, dtype: Any = None
) -> np.ndarray:
    """A dense dissimilarity matrix: square, finite, non-negative, symmetric, zero diagonal.

    Symmetry is checked up to ``symmetric_rtol`` relative to the largest entry
    (so that matrices produced by floating-point arithmetic pass).
    """
    arr = as_float_array(D, name, dtype=dtype)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(
            f"{name} must be a square 2-D distance matrix of shape (n, n); got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must describe at least one point; got shape {arr.shape}")
    _check_finite(arr, name)
    if (arr < 0).any():
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(f"{name} must be non-negative; found {arr[idx].item()!r} at index {idx}")
    diag = np.diagonal(arr)
    if (diag != 0).any():
        i = int(np.flatnonzero(diag != 0)[0])
        raise ValueError(
            f"{name} must have a zero diagonal (every point is born at 0); "
            f"found {name}[{i}, {i}] = {diag[i].item()!r}"
        )
    scale = float(arr.max()) if arr.size else 0.0
    asym = np.abs(arr - arr.T)
    if asym.size and float(asym.max()) > symmetric_rtol * max(scale, 1e-300):
        i, j = (int(v) for v in np.unravel_index(int(np.argmax(asym)), asym.shape))
        raise ValueError(
            f"{name} must be symmetric; {name}[{i}, {j}] = {arr[i, j].item()!r} but "
            f"{name}[{j}, {i}] = {arr[j, i].item()!r}"
        )
    return arr


def _check_weights(w: np.ndarray, name: str) -> None:
    _check_finite(w, name)
    if (w < 0).any():
        k = int(np.flatnonzero(w < 0)[0])
        raise ValueError(
            f"{name} must be non-negative; found weight {w[k].item()!r} at position {k}"
        )


def as_sparse_graph(G: Any, name: str = "G") -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A weighted undirected graph given as a square scipy.sparse matrix.

    Every *stored* entry ``(i, j, w)`` is an edge, explicit zeros included (they
    are edges of weight 0, as between duplicate points). Entries on the diagonal
    are ignored (self-loops never belong to a spanning forest). An entry and its
    transpose describe the same undirected edge; both are kept and the lighter
    one wins wherever it matters.

    Returns ``(rows, cols, weights, n_vertices)`` with float64 weights.
    """
    import scipy.sparse as sp

    if not sp.issparse(G):
        raise TypeError(f"{name} must be a scipy.sparse matrix or array; got {_describe(G)}")
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"{name} must be a square sparse adjacency matrix; got shape {G.shape}")
    if G.shape[0] == 0:
        raise ValueError(f"{name} must have at least one vertex; got shape {G.shape}")
    if G.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real weights; got dtype {G.dtype}")
    coo = G.tocoo()
    rows = np.asarray(coo.row, dtype=np.int64)
    cols = np.asarray(coo.col, dtype=np.int64)
    w = np.asarray(coo.data, dtype=np.float64)
    _check_weights(w, f"the weights of {name}")
    keep = rows != cols
    return rows[keep], cols[keep], w[keep], int(G.shape[0])


def as_edge_list(
    edges: Any, weights: Any, n_vertices: Any, name: str = "edges"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A weighted undirected graph given as an (m, 2) integer edge list and m weights."""
    e = np.asarray(edges)
    if e.dtype.kind not in "iu":
        if e.size == 0 and e.dtype.kind == "f":
            e = e.astype(np.int64)
        else:
            raise TypeError(
                f"{name} must be an integer array of vertex indices; got {_describe(e)}"
            )
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_edges, 2); got shape {e.shape}")
    w = as_float_array(weights, "weights", dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != e.shape[0]:
        raise ValueError(
            f"weights must have shape ({e.shape[0]},), one per row of {name}; got shape {w.shape}"
        )
    _check_weights(w, "weights")
    if n_vertices is None:
        if e.size == 0:
            raise ValueError(
                f"n_vertices must be given when {name} is empty (the vertex count is unknown)"
            )
        n = int(e.max()) + 1
    else:
        n = check_int(n_vertices, "n_vertices", minimum=1)
    if e.size and (int(e.min()) < 0 or int(e.max()) >= n):
        raise ValueError(
            f"{name} must index vertices in [0, {n}); found indices in "
            f"[{int(e.min())}, {int(e.max())}]"
        )
    e = e.astype(np.int64, copy=False)
    keep = e[:, 0] != e[:, 1]
    return e[keep, 0], e[keep, 1], w[keep], n


def as_diagram(dgm: Any, name: str = "dgm") -> np.ndarray:
    """A persistence diagram: float64 array (k, 2) of (birth, death) with death >= birth.

    Births must be finite; deaths may be ``+inf`` (essential classes). An empty
    diagram (k = 0) is allowed; callers that cannot handle it check ``len``.
    """
    arr = as_float_array(dgm, name, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"{name} must be a persistence diagram of shape (n_points, 2) holding "
            f"(birth, death) rows; got shape {arr.shape}"
        )
    _check_finite(arr[:, 0], f"the births of {name}")
    _check_finite(arr[:, 1], f"the deaths of {name}", allow_posinf=True)
    bad = arr[:, 1] < arr[:, 0]
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must have death >= birth in every row; row {k} is "
            f"(birth={arr[k, 0].item()!r}, death={arr[k, 1].item()!r})"
        )
    return arr


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer (not a bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {v}")
    return v


def check_k(k: Any, n: int, name: str = "k", *, what: str = "X") -> int:
    """A neighbour count ``1 <= k <= n - 1`` (neighbours exclude the point itself).

    Parameters
    ----------
    k : int
        The neighbour count to check.
    n : int
        Number of points of the cloud ``what``.
    name, what : str
        The argument's name and the cloud's name, for the error message.

    Returns
    -------
    k : int
    """
    k = check_int(k, name, minimum=1)
    if k > n - 1:
        raise ValueError(
            f"{name} must be at most n - 1 = {n - 1} for {what} with {n} points (the "
            f"k nearest neighbours of a point exclude the point itself); got {name} = {k}"
        )
    return k


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_inf: bool = False,
) -> float:
    """A real scalar within the given bounds (NaN is always refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
            value = value.item()
        else:
            raise TypeError(
                f"{name} must be a real number; got {value!r} of type {type(value).__name__}"
            )
    v = float(value)
    if np.isnan(v) or (np.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number; got {v!r}")
    if low is not None and (v < low or (v == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}; got {v!r}")
    if high is not None and (v > high or (v == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}; got {v!r}")
    return v


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_random_state(seed: Any, name: str = "seed") -> np.random.Generator:
    """A ``numpy.random.Generator`` from None, an int, a SeedSequence or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"{name} must be None, a non-negative int or a numpy.random.Generator; "
        f"got {seed!r} of type {type(seed).__name__}"
    )


def as_vector(x: Any, name: str, *, min_size: int = 1, dtype: Any = np.float64) -> np.ndarray:
    """A finite real 1-D array with at least ``min_size`` entries (float64 by default)."""
    arr = as_float_array(x, name, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got {arr.ndim}-D input of shape {arr.shape}")
    if arr.shape[0] < min_size:
        raise ValueError(
            f"{name} must have at least {min_size} entr{'y' if min_size == 1 else 'ies'}; "
            f"got shape {arr.shape}"
        )
    _check_finite(arr, name)
    return arr


def as_dims(dims: Any, count: int, name: str) -> np.ndarray:
    """Stalk dimensions: one positive int for all, or one per cell."""
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        d = check_int(dims, name, minimum=1)
        return np.full(count, d, dtype=np.int64)
    arr = np.asarray(dims)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an int or an integer array; got {_describe(arr)}")
    if arr.shape != (count,):
        raise ValueError(f"{name} must be an int or have shape ({count},); got shape {arr.shape}")
    if count and int(arr.min()) < 1:
        k = int(np.flatnonzero(arr < 1)[0])
        raise ValueError(f"{name} must be >= 1 everywhere; {name}[{k}] = {arr[k]}")
    return arr.astype(np.int64)


def as_weights(w: Any, n: int, name: str) -> np.ndarray:
    """Probability weights of length ``n``: None gives uniform weights.

    Weights must be finite, non-negative and sum to one within
    :data:`WEIGHT_SUM_ATOL`; they are then divided by their sum. Weights that
    do not sum to one are refused rather than renormalised, because the total
    mass changes the value of a transport cost.

    Parameters
    ----------
    w : array_like of shape (n,) or None
        The weights; None gives ``1 / n`` each.
    n : int
        Number of points the weights belong to.
    name : str
        The argument's name, for error messages.

    Returns
    -------
    weights : ndarray of shape (n,), float64
        A new array (the input is never modified).
    """
    if w is None:
        return np.full(n, 1.0 / n)
    arr = as_float_array(w, name, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{name} must be a 1-D array of {n} weights (one per point); got shape {arr.shape}"
        )
    _check_finite(arr, name)
    if (arr < 0).any():
        k = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{name} must be non-negative; found {name}[{k}] = {float(arr[k])!r}")
    total = float(arr.sum())
    if abs(total - 1.0) > WEIGHT_SUM_ATOL:
        raise ValueError(
            f"{name} must sum to 1 (within {WEIGHT_SUM_ATOL:g}); got a sum of {total!r}. "
            f"Weights are not renormalised silently: pass {name} / {name}.sum() to compare "
            "normalised measures"
        )
    return arr / total
