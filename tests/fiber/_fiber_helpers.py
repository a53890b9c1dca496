"""Brute-force oracles shared by the fiber tests: the harness's canonical distances."""

from __future__ import annotations

import numpy as np

from verification.fiber import _canonical


def canonical(F, G, metric="euclidean"):
    """Brute force with the documented canonical distance (sums in feature order).

    The same oracle as ``python -m verification fiber-product-exact``: unit
    rows by exact power-of-two scaling then the norm, sums of products (not
    ``**2``) in feature order, tiny and overflowing differences rescaled.
    """
    return _canonical(np.asarray(F, np.float64), np.asarray(G, np.float64), metric)
