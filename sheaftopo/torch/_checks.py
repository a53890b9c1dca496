"""Validation of tensor arguments: the one place where the torch adapter checks its inputs.

Every public function of :mod:`sheaftopo.torch` passes its tensors through
these helpers, which raise ``TypeError`` (not a tensor, not floating point)
or ``ValueError`` (shape, device, NaN/inf) naming the argument, what was seen
and what was expected.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "as_embeddings",
    "as_matrix_batch",
    "as_tensor",
    "check_finite",
    "check_pair",
    "check_same_device",
    "check_same_dtype",
]

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def as_tensor(x: Any, name: str, *, min_ndim: int = 0, ndim: int | None = None) -> torch.Tensor:
    """A floating-point tensor (no conversion: numpy input is refused, to keep device explicit)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor; got an object of type {type(x).__name__} "
            "(convert with torch.as_tensor and move it to the device you want)"
        )
    if x.dtype not in _FLOATS:
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64); got {x.dtype}"
        )
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D tensor; got shape {tuple(x.shape)}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions; got shape {tuple(x.shape)}"
        )
    return x


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise if ``x`` holds NaN or inf (one device synchronisation)."""
    if not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).nonzero()[0].tolist()
        raise ValueError(
            f"{name} must be finite; it contains NaN or inf (first at index {tuple(bad)})"
        )


def as_embeddings(z: Any, name: str, *, min_points: int = 2) -> torch.Tensor:
    """A batch of embeddings: a finite floating tensor of shape (n, d), n >= ``min_points``."""
    z = as_tensor(z, name)
    if z.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D tensor of shape (batch_size, dim); got shape {tuple(z.shape)}"
        )
    if z.shape[0] < min_points:
        raise ValueError(
            f"{name} must hold at least {min_points} embeddings (rows); got shape "
            f"{tuple(z.shape)}"
        )
    if z.shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature; got shape {tuple(z.shape)}")
    check_finite(z, name)
    return z


def as_matrix_batch(x: Any, name: str) -> torch.Tensor:
    """A finite floating tensor of shape (..., n, n)."""
    x = as_tensor(x, name, min_ndim=2)
    if x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ValueError(
            f"{name} must be a batch of square matrices of shape (..., n, n), n >= 1; got "
            f"shape {tuple(x.shape)}"
        )
    check_finite(x, name)
    return x


def check_same_device(tensors: dict[str, torch.Tensor]) -> torch.device:
    """All tensors on one device; returns it."""
    devices = {name: t.device for name, t in tensors.items()}
    first = next(iter(devices.values()))
    if any(d != first for d in devices.values()):
        seen = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise ValueError(f"tensors must be on the same device; got {seen}")
    return first


def check_same_dtype(tensors: dict[str, torch.Tensor]) -> torch.dtype:
    """All tensors of one dtype; returns it."""
    dtypes = {name: t.dtype for name, t in tensors.items()}
    first = next(iter(dtypes.values()))
    if any(d != first for d in dtypes.values()):
        seen = ", ".join(f"{n} is {d}" for n, d in dtypes.items())
        raise ValueError(f"tensors must have the same dtype; got {seen}")
    return first


def check_pair(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> None:
    """Two embedding batches compared row by row: same device, dtype and number of rows."""
    check_same_device({names[0]: a, names[1]: b})
    check_same_dtype({names[0]: a, names[1]: b})
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of rows (paired samples); "
            f"got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
