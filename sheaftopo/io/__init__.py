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

from ._checks import check_distinct_rows, check_paired, unique_name
from ._files import EMBEDDING_SUFFIXES, EmbeddingFileError, split_spec
from ._load import load_embedding_sets, load_embeddings, load_labels, read_arrays

__all__ = [
    "EMBEDDING_SUFFIXES",
    "EmbeddingFileError",
    "check_distinct_rows",
    "check_paired",
    "load_embedding_sets",
    "load_embeddings",
    "load_labels",
    "read_arrays",
    "split_spec",
    "unique_name",
]

# the one error type is documented (and shown in tracebacks) as sheaftopo.io's
EmbeddingFileError.__module__ = __name__
