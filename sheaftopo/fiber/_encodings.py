"""Encodings of images and token sequences as polynomials over Z_n (Zhao,
arXiv:2412.00373): the intensities of an image patch, or the token ids of a
text, are the coefficients (representation of :mod:`sheaftopo.fiber._polynomial`).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_int
from ._polynomial import _check_modulus, _in_ring

__all__ = ["encode_image", "encode_tokens"]


def _patch_shape(patch_size: Any, H: int, W: int) -> tuple[int, int]:
    if patch_size is None:
        return H, W
    if isinstance(patch_size, numbers.Integral) and not isinstance(patch_size, bool):
        ph = pw = check_int(patch_size, "patch_size", minimum=1)
    else:
        if not isinstance(patch_size, Sequence) or len(patch_size) != 2:
            raise TypeError(
                f"patch_size must be None, an int or a pair (ph, pw); got {patch_size!r}"
            )
        ph = check_int(patch_size[0], "patch_size[0]", minimum=1)
        pw = check_int(patch_size[1], "patch_size[1]", minimum=1)
    if H % ph or W % pw:
        raise ValueError(
            f"patch_size {(ph, pw)} must divide the image size {(H, W)}; crop or pad the "
            "images first"
        )
    return ph, pw


def encode_image(image: Any, *, patch_size: Any = None) -> np.ndarray:
    r"""Encode images as polynomials over Z_256[x]: one per patch, intensities as coefficients.

    Each image is cut into non-overlapping ``ph × pw`` patches (row-major
    order over the grid of patches); the pixels of a patch, read row by row,
    are the coefficients of :math:`x^0, x^1, \dots, x^{ph\,pw - 1}`.

    Parameters
    ----------
    image : array_like of int, shape (..., H, W)
        8-bit intensities (uint8, or any integer dtype with values in
        [0, 255]); leading axes are batch axes (several images, or colour
        channels in channels-first layout).
    patch_size : int or (int, int), optional
        Patch height and width, dividing H and W. Default: the whole image is
        one polynomial.

    Returns
    -------
    ndarray of uint8, shape (..., n_patches, ph * pw)
        ``n_patches = (H // ph) * (W // pw)``; coefficients of Z_256[x].

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (images as elements of :math:`\mathbb{Z}_{256}[x]`).

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.fiber import encode_image
    >>> img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    >>> encode_image(img, patch_size=2)
    array([[ 0,  1,  4,  5],
           [ 2,  3,  6,  7],
           [ 8,  9, 12, 13],
           [10, 11, 14, 15]], dtype=uint8)
    """
    arr = _in_ring(image, 256, "image", min_ndim=2)
    if arr.shape[-2] == 0 or arr.shape[-1] == 0:
        raise ValueError(f"image must have at least one pixel; got shape {arr.shape}")
    H, W = arr.shape[-2:]
    ph, pw = _patch_shape(patch_size, H, W)
    lead = arr.shape[:-2]
    x = arr.reshape(*lead, H // ph, ph, W // pw, pw)
    x = np.moveaxis(x, -3, -2)  # (..., H/ph, W/pw, ph, pw)
    return np.ascontiguousarray(x.reshape(*lead, (H // ph) * (W // pw), ph * pw)).astype(np.uint8)


def encode_tokens(tokens: Any, *, vocab_size: int) -> np.ndarray:
    r"""Encode token-id sequences as polynomials over :math:`\mathbb{Z}_{|V|}[x]`.

    Token k of a sequence is the coefficient of :math:`x^k`.

    Parameters
    ----------
    tokens : array_like of int, shape (L,) or (B, L), or a list of sequences
        Token ids in [0, vocab_size). A list of sequences of different
        lengths is padded on the right with zeros. Trailing zero coefficients
        do not change a polynomial, so sequences that differ only by trailing
        id-0 tokens get the same polynomial: reserve id 0 for padding if that
        matters.
    vocab_size : int
        :math:`|V| \geq 2`, the modulus.

    Returns
    -------
    ndarray of int64, shape (L,) or (B, L_max)

    References
    ----------
    .. [1] Zhao, arXiv:2412.00373 (texts as elements of :math:`\mathbb{Z}_{|V|}[x]`).

    Examples
    --------
    >>> from sheaftopo.fiber import encode_tokens
    >>> encode_tokens([[5, 2, 9], [7]], vocab_size=10)
    array([[5, 2, 9],
           [7, 0, 0]])
    """
    n = _check_modulus(vocab_size, "vocab_size")
    if (
        isinstance(tokens, (list, tuple))
        and tokens
        and all(isinstance(t, (list, tuple, np.ndarray)) for t in tokens)
    ):
        seqs = [_in_ring(t, n, f"tokens[{k}]") for k, t in enumerate(tokens)]
        for k, t in enumerate(seqs):
            if t.ndim != 1:
                raise ValueError(f"tokens[{k}] must be a 1-D sequence; got shape {t.shape}")
        out = np.zeros((len(seqs), max(len(t) for t in seqs)), dtype=np.int64)
        for k, t in enumerate(seqs):
            out[k, : len(t)] = t
        return out
    arr = _in_ring(tokens, n, "tokens")
    if arr.ndim > 2:
        raise ValueError(f"tokens must be 1-D (one sequence) or 2-D (B, L); got shape {arr.shape}")
    return arr
