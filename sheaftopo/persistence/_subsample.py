"""Greedy farthest-point subsampling with a certified bottleneck bound on H0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.kernels import kernel_loader
from .._core.scaling import rescaled, scaled_back
from .._core.threads import numba_region
from .._validation import as_distance_matrix, as_points, check_choice, check_int, check_real

__all__ = ["Subsample", "farthest_point_subsample"]


_kernels = kernel_loader("sheaftopo.persistence._subsample_kernels")


@dataclass(frozen=True, eq=False)
class Subsample:
    """A greedy farthest-point subsample.

    Attributes
    ----------
    indices : ndarray of int64, shape (k,)
        Chosen points, in the order chosen.
    insertion_radii : ndarray of float64, shape (k,)
        Distance of each chosen point to the points chosen before it (``inf``
        for the first): non-increasing. ``insertion_radii[j]`` is the covering
        radius of the first ``j`` points, so any prefix of ``indices`` is a
        subsample with a known bound.
    covering_radius : float
        :math:`r = \\max_x \\min_{s \\in S} d(x, s)`, the Hausdorff distance
        between the sample and the whole set.
    """

    indices: np.ndarray
    insertion_radii: np.ndarray
    covering_radius: float

    @property
    def bottleneck_bound(self) -> float:
        """:math:`2r`: bound on the bottleneck distance between the H0 diagrams.

        ``theory/subsample-bound.md``: for a metric (triangle inequality), the
        H0 diagrams of the Rips filtrations of X and of the sample are within
        bottleneck distance 2r, and 2r is attained in the limit.
        """
        return 2.0 * self.covering_radius


def farthest_point_subsample(
    data: Any,
    n_samples: int,
    *,
    metric: str = "euclidean",
    start: int = 0,
    max_radius: float | None = None,
) -> Subsample:
    r"""Greedy farthest-point (Gonzalez) subsample and its covering radius.

    Starting from ``start``, repeatedly add the point farthest from the points
    chosen so far. The result is a 2-approximation of the optimal k-centre
    covering, and its covering radius r certifies
    :math:`d_B(\mathrm{Dgm}_0 X, \mathrm{Dgm}_0 S) \le 2r` (as ripser.py's
    ``n_perm`` does for all dimensions).

    Parameters
    ----------
    data : array_like, shape (n, d) or (n, n)
        Points, or a distance matrix with ``metric="precomputed"`` (it must
        satisfy the triangle inequality for the bound to hold).
    n_samples : int
        Maximum number of points to keep, 1 <= n_samples <= n.
    metric : {"euclidean", "precomputed"}
        For cosine geometry, normalise the rows and use the Euclidean chord
        distance (1 - cos is not a metric, so no bound would follow).
    start : int
        Index of the first point.
    max_radius : float, optional
        Stop early once the covering radius is at most this.

    Returns
    -------
    Subsample
        Indices, insertion radii, covering radius and the bottleneck bound.

    Notes
    -----
    Cost O(n k d) time and O(n) extra memory: every step updates each point's
    distance to the sample exactly (no Gram-identity cancellation), in
    parallel. Points are divided by the power of two that brings their largest
    absolute coordinate into [0.5, 1) (exact) and the radii multiplied back, so
    coordinates of any magnitude (1e-300, 1e300) give the unit-scale radii
    times that magnitude; radii beyond the float64 range raise a
    ``ValueError``.

    References
    ----------
    .. [1] T. Gonzalez, "Clustering to minimize the maximum intercluster
       distance", Theoret. Comput. Sci. 38 (1985).
    .. [2] F. Chazal, D. Cohen-Steiner, L. Guibas, F. Mémoli, S. Oudot,
       "Gromov-Hausdorff stable signatures for shapes using persistence",
       SGP 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sheaftopo.persistence import farthest_point_subsample
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> s = farthest_point_subsample(X, 2)
    >>> s.indices, s.covering_radius, s.bottleneck_bound
    (array([0, 3]), 2.0, 4.0)
    """
    metric = check_choice(metric, "metric", ("euclidean", "precomputed"))
    if metric == "precomputed":
        arr = as_distance_matrix(data, "data")
    else:
        arr = as_points(data, "data")
    n = arr.shape[0]
    k = check_int(n_samples, "n_samples", minimum=1, maximum=n)
    start = check_int(start, "start", minimum=0, maximum=n - 1)
    stop = -1.0 if max_radius is None else check_real(max_radius, "max_radius", low=0.0)
    kern = _kernels()
    if metric == "precomputed":
        with numba_region(arr.size):  # the threading policy: _core/threads.py
            idx, radii, r = kern.farthest_point_matrix(arr, k, start, stop)
    else:
        # distances are homogeneous: compute them on the points divided by a power
        # of two (exact), so their squares neither overflow nor underflow
        scaled, scale = rescaled(arr)
        if stop > 0:
            stop = stop / scale  # inf when max_radius covers any cloud: stop at once
        with numba_region(scaled.size):
            idx, radii, r = kern.farthest_point_points(scaled, k, start, stop)
        radii[1:] = scaled_back(radii[1:], scale, "data")
        r = float(scaled_back(np.array([r]), scale, "data")[0])
    return Subsample(indices=idx, insertion_radii=radii, covering_radius=float(r))
