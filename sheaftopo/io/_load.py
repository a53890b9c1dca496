"""The loaders: one embedding matrix, several paired sets, labels."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_int
from ._checks import check_paired, unique_name
from ._files import (
    EMBEDDING_SUFFIXES,
    EmbeddingFileError,
    _resolve,
    _short_list,
    _suffix,
    _unknown_suffix,
    split_spec,
)
from ._formats import _read_numpy, _read_safetensors, _read_torch
from ._tables import _column_values, _read_table, _table_column, _table_matrix


def read_arrays(spec: Any) -> dict[str, np.ndarray]:
    """Every array in a file, by name, in file order (no shape checks; NaN and inf refused).

    Parameters
    ----------
    spec : str or path-like
        A file with one of the suffixes in :data:`EMBEDDING_SUFFIXES`. A
        ``:key`` part selects that one array (or table column).

    Returns
    -------
    dict of str to ndarray
        For .npy and single tensors the name is the file's stem; tables give
        one entry: their embedding matrix (or the named column).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    EmbeddingFileError
        Unknown suffix, unreadable file, no array of that name, or an array
        holding NaN or inf (the message gives the first bad row or entry).
    ImportError
        The reader's optional dependency is missing.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sheaftopo.io import read_arrays
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "e.npz")
    >>> np.savez(f, img=np.zeros((3, 4)), txt=np.ones((3, 2)))
    >>> {k: v.shape for k, v in read_arrays(f).items()}
    {'img': (3, 4), 'txt': (3, 2)}
    >>> tmp.cleanup()
    """
    path, key, label = _resolve(spec)
    arrays = _read_any(path, key, label)
    for name, arr in arrays.items():
        _check_finite(arr, label if key is not None or len(arrays) == 1 else f"{path}:{name}")
    return arrays


def _read_any(path: Path, key: str | None, label: str) -> dict[str, np.ndarray]:
    """:func:`read_arrays` without the finiteness check."""
    suf = _suffix(path)
    if suf in (".csv", ".parquet"):
        df = _read_table(path, str(path))
        if key is not None:
            return {key: _column_values(_table_column(df, key, str(path)), label)}
        return {path.stem: _table_matrix(df, str(path))}
    if suf in (".npy", ".npz"):
        arrays = _read_numpy(path, str(path))
    elif suf in (".pt", ".pth"):
        arrays = _read_torch(path, str(path))
    elif suf == ".safetensors":
        arrays = _read_safetensors(path, str(path))
    else:
        raise _unknown_suffix(path, label, list(EMBEDDING_SUFFIXES))
    if key is None:
        return arrays
    if key not in arrays:
        raise EmbeddingFileError(
            str(path), f"has no array named {key!r}; it holds {_short_list(list(arrays))}"
        )
    return {key: arrays[key]}


def _as_embedding_matrix(arr: np.ndarray, label: str) -> np.ndarray:
    if arr.dtype.kind not in "fiub":
        raise EmbeddingFileError(
            label, f"holds {arr.dtype} values; embeddings must be real numbers"
        )
    if arr.ndim != 2:
        hint = " (a single vector? embeddings need one row per item)" if arr.ndim == 1 else ""
        raise EmbeddingFileError(
            label,
            f"is {arr.ndim}-D with shape {arr.shape}{hint}; expected a 2-D array of shape "
            "(n_rows, n_dims)",
        )
    n, d = arr.shape
    if n == 0 or d == 0:
        raise EmbeddingFileError(label, f"is empty (shape {arr.shape})")
    if arr.dtype.kind != "f" or arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _check_finite(arr: np.ndarray, label: str) -> None:
    """Refuse NaN and inf in a real or complex array, naming the first bad row."""
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    where = tuple(int(v) for v in np.argwhere(bad)[0])
    value = arr[where]
    if arr.ndim == 2:
        rows = np.flatnonzero(bad.any(axis=1))
        i, j = where
        problem = (
            f"row {i} holds {value} (column {j}); {len(rows)} of {arr.shape[0]} rows contain "
            "NaN or inf"
        )
    else:
        problem = (
            f"entry {where if arr.ndim != 1 else where[0]} is {value}; {int(bad.sum())} of "
            f"{arr.size} entries are NaN or inf"
        )
    raise EmbeddingFileError(label, problem)


def load_embeddings(spec: Any) -> np.ndarray:
    """Load one embedding matrix and check it.

    Parameters
    ----------
    spec : str or path-like
        ``path`` or ``path:key``. .npy; .npz (one array, or ``:key``);
        .pt/.pth (a tensor, or a dict/list of tensors with ``:key``);
        .safetensors (``:key`` unless it holds one tensor); .parquet/.csv
        (one numeric column per dimension, a single column of vectors, or
        ``:column`` naming a column of vectors). A .csv without a header row is
        read as data.

    Returns
    -------
    ndarray, shape (n_rows, n_dims)
        float32 input stays float32 (float16/bfloat16 become float32); every
        other real dtype becomes float64. Finite, at least one row and column.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    EmbeddingFileError
        Unknown format, unreadable file, several arrays and no ``:key``, not
        2-D, non-numeric, empty, or NaN/inf (the message gives a bad row).
    ImportError
        torch, pandas/pyarrow or safetensors is needed and missing.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sheaftopo.io import load_embeddings
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "img.npy")
    >>> np.save(f, np.arange(6, dtype=np.float32).reshape(3, 2))
    >>> load_embeddings(f)
    array([[0., 1.],
           [2., 3.],
           [4., 5.]], dtype=float32)
    >>> np.save(f, np.array([1.0, 2.0]))
    >>> load_embeddings(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sheaftopo.io.EmbeddingFileError: ...img.npy: is 1-D with shape (2,) ...
    >>> np.save(f, np.array([[1.0, 2.0], [np.nan, 0.0]]))
    >>> load_embeddings(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sheaftopo.io.EmbeddingFileError: ...img.npy: row 1 holds nan (column 0); 1 of 2 rows ...
    >>> tmp.cleanup()
    """
    path, _, label = _resolve(spec)
    return _as_embedding_matrix(_single_array(spec, path, label), label)


def load_embedding_sets(
    specs: Sequence[Any], *, exclude: str | Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """Load several embedding sets with paired rows.

    Parameters
    ----------
    specs : sequence of str or path-like
        Two or more files (or ``path:key`` specs), one set each; or a single
        container (.npz, .safetensors, .pt dict) whose arrays are the sets. A
        lone string or path is refused (a ``TypeError``): wrap it in a list.
    exclude : str or sequence of str
        Array names to leave out of a single container (e.g. the labels
        stored next to the embeddings). A name matches only the whole array
        name; a string is one name.

    Returns
    -------
    dict of str to ndarray
        Set name (the file's stem, ``stem:key``, or the array name for a
        single container; made unique) to its checked matrix, in order.

    Raises
    ------
    EmbeddingFileError
        Any problem of :func:`load_embeddings`, fewer than two sets, or row
        counts that differ.
    TypeError
        ``specs`` is a single string or path (not a list), or ``exclude``
        holds something other than names.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sheaftopo.io import load_embedding_sets
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "pairs.npz")
    >>> np.savez(f, image=np.ones((5, 8)), text=np.ones((5, 3)), labels=np.arange(5))
    >>> {k: v.shape for k, v in load_embedding_sets([f], exclude=["labels"]).items()}
    {'image': (5, 8), 'text': (5, 3)}
    >>> tmp.cleanup()
    """
    if isinstance(specs, (str, bytes, os.PathLike)):
        raise TypeError(
            f"specs must be a list of files; got the single {type(specs).__name__} {specs!r} "
            f"(write [{str(specs)!r}] for one container holding several sets)"
        )
    if not isinstance(specs, (Sequence, Iterable)) or isinstance(specs, Mapping):
        raise TypeError(f"specs must be a list of file names or paths; got {type(specs).__name__}")
    specs = list(specs)
    if not specs:
        raise ValueError(
            "specs is empty: no embedding files given; pass two or more (or one .npz with several)"
        )
    excluded = _names(exclude, "exclude")
    out: dict[str, np.ndarray] = {}
    if len(specs) == 1:
        path, key, label = _resolve(specs[0])
        if key is not None:
            raise EmbeddingFileError(
                label, "is one set; give at least two files (or one container of several sets)"
            )
        arrays = {k: v for k, v in _read_any(path, None, label).items() if k not in excluded}
        if len(arrays) < 2:
            raise EmbeddingFileError(
                label,
                f"holds {len(arrays)} usable array(s); give at least two embedding files, or one "
                ".npz/.safetensors/.pt holding two or more sets",
            )
        for name, arr in arrays.items():
            _check_finite(arr, f"{path}:{name}")
            out[name] = _as_embedding_matrix(arr, f"{path}:{name}")
    else:
        for spec in specs:
            path, key, label = _resolve(spec)
            name = unique_name(path.stem if key is None else f"{path.stem}:{key}", out)
            out[name] = load_embeddings(spec)
    check_paired({_display(specs, name, i): X for i, (name, X) in enumerate(out.items())})
    return out


def _names(names: Any, what: str) -> frozenset[str]:
    """A set of whole names from one name (a str) or a sequence of names."""
    if isinstance(names, str):
        return frozenset([names])
    if not isinstance(names, Iterable) or isinstance(names, (bytes, Mapping)):
        raise TypeError(f"{what} must be a name or a list of names; got {type(names).__name__}")
    out = list(names)
    bad = [n for n in out if not isinstance(n, str)]
    if bad:
        raise TypeError(
            f"{what} must hold array names (strings); got {bad[0]!r} of type "
            f"{type(bad[0]).__name__}"
        )
    return frozenset(out)


def _display(specs: Sequence[Any], name: str, i: int) -> str:
    if len(specs) == 1:
        return f"{split_spec(specs[0])[0]}:{name}"
    return str(specs[i])


def load_labels(spec: Any, *, n_rows: int | None = None) -> np.ndarray:
    """Load one label per row: class ids or names.

    Parameters
    ----------
    spec : str or path-like
        .npy/.npz/.pt/.safetensors (a 1-D array, or (n, 1)); .csv/.parquet (a
        single column, or ``:column``); .txt (one label per line).
    n_rows : int, optional
        The number of rows of the embedding sets (an int >= 0); a different
        length is an error.

    Returns
    -------
    ndarray, shape (n_rows,)
        Integer or string labels as stored (a (n, 1) array is flattened).

    Raises
    ------
    FileNotFoundError, EmbeddingFileError, ImportError
        As :func:`load_embeddings`; also for labels that are not 1-D, contain
        NaN, are missing in a table, or number other than ``n_rows``.
    TypeError
        ``n_rows`` is not an integer.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sheaftopo.io import load_labels
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "y.txt")
    >>> _ = open(f, "w").write("cat\\ndog\\ncat\\n")
    >>> load_labels(f, n_rows=3)
    array(['cat', 'dog', 'cat'], dtype='<U3')
    >>> load_labels(f, n_rows=4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sheaftopo.io.EmbeddingFileError: ...y.txt: has 3 labels but the embedding sets have 4 rows
    >>> tmp.cleanup()
    """
    if n_rows is not None:
        n_rows = check_int(n_rows, "n_rows", minimum=0)
    path, key, label = _resolve(spec)
    if _suffix(path) == ".txt":
        if key is not None:
            raise EmbeddingFileError(label, "a .txt label file has no named columns")
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise EmbeddingFileError(label, f"cannot be read as text ({e})") from e
        lines = [s.strip() for s in lines]
        while lines and not lines[-1]:
            lines.pop()
        arr = np.array(lines)
        if arr.size and all(re.fullmatch(r"[+-]?\d+", s) for s in lines):
            arr = arr.astype(np.int64)
    elif _suffix(path) in (".csv", ".parquet"):
        df = _read_table(path, label)
        if key is not None:
            col = _table_column(df, key, str(path))
        elif df.shape[1] == 1:
            col = df.iloc[:, 0]
        else:
            raise EmbeddingFileError(
                label,
                f"has {df.shape[1]} columns {_short_list([str(c) for c in df.columns])}; name the "
                f"label column as {path}:COLUMN",
            )
        missing = np.flatnonzero(col.isna().to_numpy())
        if len(missing):
            raise EmbeddingFileError(
                label, f"label {int(missing[0])} is missing ({len(missing)} missing in all)"
            )
        arr = col.to_numpy()
        if arr.dtype == object:
            arr = np.array([str(v) for v in arr])
    else:
        arr = _single_array(spec, path, label)
    arr = np.asarray(arr)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise EmbeddingFileError(
            label, f"is {arr.ndim}-D with shape {arr.shape}; labels must be 1-D, one per row"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            i = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise EmbeddingFileError(label, f"label {i} is {float(arr[i])}; labels must be finite")
        if np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iubUS":
        raise EmbeddingFileError(label, f"holds {arr.dtype} values; expected integers or strings")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise EmbeddingFileError(
            label, f"has {arr.shape[0]} labels but the embedding sets have {n_rows} rows"
        )
    return np.array(arr)


def _single_array(spec: Any, path: Any, label: str) -> Any:
    """The one array a file holds; an error naming the arrays when it holds several."""
    arrays = read_arrays(spec)
    if len(arrays) != 1:
        raise EmbeddingFileError(
            label,
            f"holds {len(arrays)} arrays {_short_list(list(arrays))}; pick one as {path}:NAME",
        )
    (arr,) = arrays.values()
    return arr
