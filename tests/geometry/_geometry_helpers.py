"""Helpers shared by the geometry tests: seeded SPD matrices with controlled conditioning."""

from __future__ import annotations

import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyriemann.geometry import distance as pr_distance
    from pyriemann.geometry import geodesic as pr_geodesic

#: pyRiemann's distance and geodesic for each of our metric names (the oracle)
PR_DISTANCE = {
    "affine": pr_distance.distance_riemann,
    "log_euclidean": pr_distance.distance_logeuclid,
    "bures": pr_distance.distance_wasserstein,
}
PR_GEODESIC = {
    "affine": pr_geodesic.geodesic_riemann,
    "log_euclidean": pr_geodesic.geodesic_logeuclid,
    "bures": pr_geodesic.geodesic_wasserstein,
}


def random_spd(rng, n, batch=(), *, cond=100.0):
    """SPD matrices, eigenvalues log-uniform in [cond^-1/2, cond^1/2], random eigenvectors."""
    shape = (*tuple(batch), n, n)
    Q, _ = np.linalg.qr(rng.normal(size=shape))
    lo = -0.5 * np.log(cond)
    lam = np.exp(rng.uniform(lo, -lo, size=(*tuple(batch), n)))
    return (Q * lam[..., None, :]) @ np.swapaxes(Q, -1, -2)


def random_sym(rng, n, batch=(), scale=1.0):
    A = rng.normal(size=(*tuple(batch), n, n)) * scale
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def make_rng(*key):
    return np.random.default_rng([20240605, *key])
