"""Specs (``path:key``), file suffixes, the optional readers' imports and the one error type."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        raise TypeError(f"spec must be a file name (a string) or a path; got {type(spec).__name__}")
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
