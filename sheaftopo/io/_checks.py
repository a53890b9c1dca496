"""Checks of embedding sets (paired rows, distinct rows) and the naming of sets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._files import EmbeddingFileError


def check_paired(sets: Mapping[str, np.ndarray]) -> None:
    """Check that embedding sets have paired rows (equal row counts).

    Parameters
    ----------
    sets : mapping of str to ndarray
        Name (e.g. the file) to matrix.

    Raises
    ------
    TypeError
        ``sets`` is not a mapping, or one of its values is not an array.
    EmbeddingFileError
        Naming the first set whose row count differs from the first one's.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.io import check_paired
    >>> check_paired({"a.npy": np.zeros((3, 2)), "b.npy": np.zeros((4, 5))})
    Traceback (most recent call last):
    ...
    sheaftopo.io.EmbeddingFileError: b.npy: has 4 rows but a.npy has 3; the sets must
    have paired rows (row i of every set describes the same item)
    """
    if not isinstance(sets, Mapping):
        raise TypeError(
            f"sets must be a mapping of name to array (e.g. {{'a.npy': A, 'b.npy': B}}); got "
            f"{type(sets).__name__}"
        )
    items = list(sets.items())
    if not items:
        return
    for name, X in items:
        if not hasattr(X, "shape") or len(getattr(X, "shape", ())) < 1:
            raise TypeError(
                f"sets[{name!r}] must be an array with one row per item; got {type(X).__name__}"
            )
    first, A = items[0]
    for name, X in items[1:]:
        if X.shape[0] != A.shape[0]:
            raise EmbeddingFileError(
                name,
                f"has {X.shape[0]} rows but {first} has {A.shape[0]}; the sets must have "
                "paired rows (row i of every set describes the same item)",
            )


def check_distinct_rows(X: Any, name: str, *, rows: str = "row") -> None:
    """Check that the rows of an embedding set are not all one vector.

    Every distance, persistence diagram and covariance of such a set is
    degenerate: there is nothing to compare.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        The set (no rows: nothing to check).
    name : str
        What X is (e.g. its file), starting the error message.
    rows : str, default "row"
        What a row of X is called in the message (e.g. "analysed row").

    Raises
    ------
    TypeError
        X is not an array with one row per item.
    EmbeddingFileError
        Every row of X equals the first (a ``ValueError`` starting with ``name``).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.io import check_distinct_rows
    >>> check_distinct_rows(np.eye(2), "a.npy")
    >>> check_distinct_rows(np.ones((3, 2)), "b.npy")
    Traceback (most recent call last):
    ...
    sheaftopo.io.EmbeddingFileError: b.npy: every row is the same vector; distances,
    persistence and covariances are degenerate (nothing to compare)
    """
    if not isinstance(X, np.ndarray) or X.ndim < 1:
        raise TypeError(f"X must be an array with one row per item; got {type(X).__name__}")
    if X.shape[0] and np.all(X == X[0]):
        raise EmbeddingFileError(
            name,
            f"every {rows} is the same vector; distances, persistence and covariances are "
            "degenerate (nothing to compare)",
        )


def unique_name(name: str, taken: Any) -> str:
    """``name``, or ``name#2``, ``name#3``, ...: the first not in ``taken``.

    How :func:`load_embedding_sets` names two sets whose files share a stem.

    Parameters
    ----------
    name : str
        The wanted name.
    taken : container of str
        The names already used (anything supporting ``in``).

    Returns
    -------
    str

    Examples
    --------
    >>> from sheaftopo.io import unique_name
    >>> unique_name("emb", {"emb", "emb#2"})
    'emb#3'
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    base, k = name, 2
    while name in taken:
        name = f"{base}#{k}"
        k += 1
    return name
