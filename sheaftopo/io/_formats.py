"""Readers of the array formats (.npy/.npz, .pt/.pth, .safetensors).

Each returns ``{name: ndarray}`` in file order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._files import _IO_EXTRA, _TORCH_EXTRA, EmbeddingFileError, _require

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
