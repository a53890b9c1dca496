"""Readers of tables (.parquet, .csv): a column per dimension, or a column of vectors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._files import _IO_EXTRA, EmbeddingFileError, _require, _short_list, _suffix

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
