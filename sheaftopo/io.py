"""Reading the embedding matrices users bring: .npy .npz .pt/.pth .safetensors .parquet .csv.

Every reader returns fresh NumPy arrays owned by the caller and never modifies
the file. Bad files get an :class:`EmbeddingFileError` (a ``ValueError``) whose
one-line message starts with the file name and says what was wrong; a missing
file gets a ``FileNotFoundError`` with the same shape of message. Optional
readers import their library on first use: torch for .pt/.pth (install torch
yourself), pandas and pyarrow for .parquet/.csv and safetensors for
.safetensors (``pip install "sheaftopo[io]"``); when one is missing the
``ImportError`` names what to install.

A *spec* names a file and optionally one array in it, ``path:key``: an array
of an .npz, a tensor of a .safetensors or of a dict saved with ``torch.save``,
or a column of a .parquet/.csv (a column of lists or of strings like
``"[0.1, 0.2]"``). ``path`` alone reads the only array in the file; for
.parquet/.csv it reads every numeric column (one column per dimension) or the
single column of lists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import check_int

__all__ = [
    "EMBEDDING_SUFFIXES",
    "EmbeddingFileError",
    "check_paired",
    "load_embedding_sets",
    "load_embeddings",
    "load_labels",
    "read_arrays",
    "split_spec",
]

#: File suffixes :func:`load_embeddings` understands, with what reads them.
EMBEDDING_SUFFIXES: dict[str, str] = {
    ".npy": "numpy",
    ".npz": "numpy",
    ".pt": "torch",
    ".pth": "torch",
    ".safetensors": "safetensors",
    ".parquet": "pandas + pyarrow",
    ".csv": "pandas",
}
_LABEL_ONLY_SUFFIXES = (".txt",)


class EmbeddingFileError(ValueError):
    """A file that cannot be used as asked: unreadable, wrong shape, NaN, ...

    Attributes
    ----------
    path : str
        The file (with ``:key`` when one array was named).
    problem : str
        What was wrong, without the file name.
    """

    def __init__(self, path: Any, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(str(problem).split())  # one line
        super().__init__(f"{self.path}: {self.problem}")


def _missing(spec: str) -> FileNotFoundError:
    return FileNotFoundError(f"{spec}: no such file")


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def split_spec(spec: Any) -> tuple[Path, str | None]:
    """Split ``"path:key"`` into the file and the array (or column) name.

    The part after the last colon is a key only when the whole spec is not an
    existing file and the part before it has a known suffix, so Windows drive
    letters and colons inside file names are left alone.

    Parameters
    ----------
    spec : str or path-like
        ``"emb.npz:image"``, ``"emb.npy"``, ...

    Returns
    -------
    tuple of (pathlib.Path, str or None)

    Examples
    --------
    >>> from sheaftopo.io import split_spec
    >>> split_spec("runs/emb.npz:text")
    (PosixPath('runs/emb.npz'), 'text')
    >>> split_spec("emb.npy")
    (PosixPath('emb.npy'), None)
    """
    if isinstance(spec, os.PathLike):
        return Path(spec), None
    if not isinstance(spec, str):
        raise TypeError(
            f"spec must be a file name (a string) or a path; got {type(spec).__name__}"
        )
    p = Path(spec)
    if p.exists() or ":" not in spec:
        return p, None
    head, key = spec.rsplit(":", 1)
    known = (*EMBEDDING_SUFFIXES, *_LABEL_ONLY_SUFFIXES)
    if key and Path(head).suffix.lower() in known:
        return Path(head), key
    return p, None


def _require(module: str, what: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"reading {what} needs the package {module.split('.')[0]!r}, which is not "
            f"installed; {extra}"
        ) from e


_IO_EXTRA = 'install it with: pip install "sheaftopo[io]"'
_TORCH_EXTRA = "install PyTorch (e.g. pip install torch==2.13.0 for the CPU build)"


# ----------------------------------------------------------------------
# format readers: each returns {name: ndarray} in file order
# ----------------------------------------------------------------------


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"  # end of central directory first: an archive of no members


def _read_numpy(path: Path, spec: str) -> dict[str, np.ndarray]:
    """The arrays of a .npy or .npz, never unpickling; every failure names the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as e:
        raise EmbeddingFileError(spec, f"cannot be read ({e.strerror or e})") from e
    if head.startswith(_EMPTY_ZIP_MAGIC):
        raise EmbeddingFileError(spec, "is an .npz archive that holds no arrays")
    if not (head.startswith(_NPY_MAGIC) or head.startswith(_ZIP_MAGIC)):
        raise EmbeddingFileError(spec, "is not a readable NumPy file (no .npy or .npz header)")
    # a damaged file raises any of zipfile.BadZipFile, zlib.error, EOFError, OSError,
    # ValueError, tokenize.TokenError (a mangled header), ...: all mean "unreadable"
    damaged = Exception
    try:
        obj = np.load(path, allow_pickle=False)
    except MemoryError:
        raise
    except damaged as e:
        if isinstance(e, ValueError) and "pickle" in str(e).lower():
            raise EmbeddingFileError(
                spec, "holds Python objects (pickled), not a numeric array; refusing to unpickle"
            ) from e
        kind = "NumPy archive (.npz)" if head.startswith(_ZIP_MAGIC) else "NumPy file"
        raise EmbeddingFileError(
            spec, f"is not a readable {kind}: damaged or truncated ({type(e).__name__}: {e})"
        ) from e
    if isinstance(obj, np.ndarray):
        return {path.stem: np.array(obj)}
    with obj as npz:
        out = {}
        for name in npz.files:
            try:
                out[name] = np.array(npz[name])
            except MemoryError:
                raise
            except damaged as e:
                if isinstance(e, ValueError) and "pickle" in str(e).lower():
                    raise EmbeddingFileError(
                        f"{spec}:{name}", "holds Python objects (pickled), not a numeric array"
                    ) from e
                raise EmbeddingFileError(
                    f"{spec}:{name}",
                    f"cannot be read: the archive member is damaged or truncated "
                    f"({type(e).__name__}: {e})",
                ) from e
        if not out:
            raise EmbeddingFileError(spec, "is an .npz archive that holds no arrays")
        return out


def _tensor_to_numpy(t: Any, where: str) -> np.ndarray:
    import torch

    t = t.detach().cpu()
    if t.is_complex():
        raise EmbeddingFileError(where, f"is a complex tensor ({t.dtype}); expected real numbers")
    if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float32)  # float16 / bfloat16: no NumPy equivalent for bfloat16
    return np.array(t.numpy())


def _read_torch(path: Path, spec: str) -> dict[str, np.ndarray]:
    torch = _require("torch", f"{spec} (a PyTorch file)", _TORCH_EXTRA)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds (UnpicklingError, RuntimeError, ...)
        raise EmbeddingFileError(
            spec,
            "cannot be read by torch.load(weights_only=True) "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})",
        ) from e
    if isinstance(obj, torch.Tensor):
        return {path.stem: _tensor_to_numpy(obj, spec)}
    if isinstance(obj, Mapping):
        items = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(obj)]
    else:
        raise EmbeddingFileError(
            spec, f"holds a {type(obj).__name__}; expected a tensor, or a dict or list of tensors"
        )
    out = {}
    for name, v in items:
        if isinstance(v, torch.Tensor):
            out[str(name)] = _tensor_to_numpy(v, f"{spec}:{name}")
    if not out:
        raise EmbeddingFileError(spec, "holds no tensors")
    return out


def _read_safetensors(path: Path, spec: str) -> dict[str, np.ndarray]:
    _require("safetensors", f"{spec} (a safetensors file)", _IO_EXTRA)
    from safetensors import safe_open

    out = {}
    try:
        with safe_open(str(path), framework="numpy") as fh:
            for name in fh.keys():
                try:
                    out[name] = np.array(fh.get_tensor(name))
                except (TypeError, ValueError) as e:  # bfloat16 has no NumPy dtype
                    out[name] = _safetensor_via_torch(path, spec, name, e)
    except EmbeddingFileError:
        raise
    except Exception as e:  # safetensors raises its own SafetensorError
        raise EmbeddingFileError(spec, f"is not a readable safetensors file ({e})") from e
    return out


def _safetensor_via_torch(path: Path, spec: str, name: str, err: Exception) -> np.ndarray:
    try:
        import torch  # noqa: F401
        from safetensors import safe_open
    except ImportError:
        raise EmbeddingFileError(
            f"{spec}:{name}",
            f"has a dtype NumPy cannot hold ({err}); install torch to read it as float32",
        ) from err
    with safe_open(str(path), framework="pt") as fh:
        return _tensor_to_numpy(fh.get_tensor(name), f"{spec}:{name}")


_NUMBER_SPLIT = re.compile(r"[,\s;]+")


def _parse_vector(s: Any, where: str, row: int) -> np.ndarray:
    if isinstance(s, str):
        body = s.strip().strip("[]()").strip()
        try:
            return np.array([float(t) for t in _NUMBER_SPLIT.split(body) if t], dtype=np.float64)
        except ValueError as e:
            raise EmbeddingFileError(
                where, f"row {row} is not a list of numbers ({s[:40]!r}...)"
            ) from e
    try:
        return np.asarray(s, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise EmbeddingFileError(where, f"row {row} is not a list of numbers") from e


def _stack_list_column(values: Sequence[Any], where: str) -> np.ndarray:
    rows = [_parse_vector(v, where, i) for i, v in enumerate(values)]
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        first = len(rows[0])
        bad = next(i for i, r in enumerate(rows) if len(r) != first)
        raise EmbeddingFileError(
            where,
            f"the vectors of the list column have different lengths (row 0 has {first}, "
            f"row {bad} has {len(rows[bad])})",
        )
    if not rows:
        return np.zeros((0, 0))
    return np.stack(rows)


def _is_list_like(x: Any) -> bool:
    if isinstance(x, str):
        return x.lstrip().startswith(("[", "("))
    return isinstance(x, (list, tuple, np.ndarray))


def _read_table(path: Path, spec: str) -> Any:
    what = f"{spec} (a {_suffix(path)[1:]} table)"
    pd = _require("pandas", what, _IO_EXTRA)
    try:
        if _suffix(path) == ".parquet":
            _require("pyarrow", what, _IO_EXTRA)
            return pd.read_parquet(path)
        df = pd.read_csv(path)
        names = [str(c) for c in df.columns]
        if names and all(_is_number(c) for c in names):  # no header row: re-read it as data
            df = pd.read_csv(path, header=None)
            df.columns = [str(c) for c in df.columns]
        return df
    except ImportError:
        raise
    except Exception as e:  # pandas / pyarrow parser errors
        raise EmbeddingFileError(spec, f"is not a readable table ({type(e).__name__}: {e})") from e


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _table_column(df: Any, key: str, spec: str) -> Any:
    cols = {str(c): c for c in df.columns}
    if key not in cols:
        raise EmbeddingFileError(
            spec, f"has no column {key!r}; its columns are {_short_list(list(cols))}"
        )
    return df[cols[key]]


def _column_values(col: Any, where: str) -> np.ndarray:
    """A column of lists -> (n, d); a numeric column -> (n,)."""
    values = col.tolist()
    if values and all(_is_list_like(v) for v in values):
        return _stack_list_column(values, where)
    try:
        return np.array(col.to_numpy(dtype=np.float64))  # owned, writeable
    except (TypeError, ValueError):
        return np.asarray(values, dtype=object)


def _table_matrix(df: Any, spec: str) -> np.ndarray:
    """Every numeric column (one per dimension), or the single column of lists."""
    import pandas as pd

    if df.shape[1] == 0:
        raise EmbeddingFileError(spec, "has no columns")
    if df.shape[0] == 0:
        raise EmbeddingFileError(
            spec, f"has no rows (only the columns {_short_list([str(c) for c in df.columns])})"
        )
    numeric = [
        c
        for c in df.columns
        if pd.api.types.is_numeric_dtype(df[c].dtype)
        and not pd.api.types.is_bool_dtype(df[c].dtype)
    ]
    list_cols = [
        c
        for c in df.columns
        if c not in numeric and len(df) and all(_is_list_like(v) for v in df[c].tolist())
    ]
    if len(list_cols) == 1 and (len(numeric) == 0 or df.shape[1] == 1):
        return _stack_list_column(df[list_cols[0]].tolist(), f"{spec}:{list_cols[0]}")
    if len(list_cols) > 1:
        raise EmbeddingFileError(
            spec,
            f"has {len(list_cols)} columns of vectors ({_short_list(list_cols)}); "
            f"name one as {spec}:COLUMN",
        )
    other = [c for c in df.columns if c not in numeric]
    if other:
        raise EmbeddingFileError(
            spec,
            f"has non-numeric column(s) {_short_list([str(c) for c in other])}; expected one "
            "numeric column per dimension or a single column of vectors (name it as "
            f"{spec}:COLUMN)",
        )
    return np.array(df[numeric].to_numpy(dtype=np.float64))  # owned, writeable


def _short_list(names: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(repr(str(n)) for n in names[:limit])
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return f"[{shown}{more}]"


def _resolve(spec: Any) -> tuple[Path, str | None, str]:
    path, key = split_spec(spec)
    label = str(path) if key is None else f"{path}:{key}"
    if not path.exists():
        raise _missing(label)
    if path.is_dir():
        raise EmbeddingFileError(label, "is a directory, not a file")
    return path, key, label


def _unknown_suffix(path: Path, label: str, allowed: Sequence[str]) -> EmbeddingFileError:
    suf = _suffix(path) or "(none)"
    return EmbeddingFileError(
        label, f"unknown format {suf!r}; expected one of {', '.join(allowed)}"
    )


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
    arrays = read_arrays(spec)
    if len(arrays) != 1:
        raise EmbeddingFileError(
            label,
            f"holds {len(arrays)} arrays {_short_list(list(arrays))}; pick one as {path}:NAME",
        )
    (arr,) = arrays.values()
    return _as_embedding_matrix(arr, label)


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
                f"sets[{name!r}] must be an array with one row per item; got "
                f"{type(X).__name__}"
            )
    first, A = items[0]
    for name, X in items[1:]:
        if X.shape[0] != A.shape[0]:
            raise EmbeddingFileError(
                name,
                f"has {X.shape[0]} rows but {first} has {A.shape[0]}; the sets must have "
                "paired rows (row i of every set describes the same item)",
            )


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
        raise TypeError(
            f"specs must be a list of file names or paths; got {type(specs).__name__}"
        )
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
            name = _unique_name(path.stem if key is None else f"{path.stem}:{key}", out)
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


def _unique_name(name: str, taken: Any) -> str:
    """``name``, or ``name#2``, ``name#3``, ... : the first not in ``taken``."""
    base, k = name, 2
    while name in taken:
        name = f"{base}#{k}"
        k += 1
    return name


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
        arrays = read_arrays(spec)
        if len(arrays) != 1:
            raise EmbeddingFileError(
                label,
                f"holds {len(arrays)} arrays {_short_list(list(arrays))}; pick one as {path}:NAME",
            )
        (arr,) = arrays.values()
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
