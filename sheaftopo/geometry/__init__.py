"""Optimal transport, SPD matrix geometry and manifold diagnostics for embeddings.

Optimal transport (built on POT, imported only when a transport function
runs): exact, entropic (log-domain Sinkhorn) and sliced transport between
weighted point clouds, the debiased Sinkhorn divergence, and the closed-form
2-Wasserstein distance between Gaussians; every solver returns a
:class:`TransportResult`.

SPD geometry (native NumPy, batched over leading dimensions): distances,
exponential and logarithm maps, geodesics, Fréchet means (batched; also
the harmonic and log-det means), inner products, parallel transport and
tangent-space vectors for the affine-invariant, log-Euclidean,
Bures–Wasserstein, log-Cholesky, power-Euclidean and Euclidean metrics,
chosen by ``metric=``; the Stein and von Neumann divergences; covariances
with Ledoit–Wolf / OAS shrinkage.

Local geometry and diagnostics of two paired embedding sets: local
covariances of k-nearest neighbourhoods and their alignment term, MMD,
k-nearest-neighbour overlap and Hausdorff mismatch, the modality gap, and
label scores (scikit-learn, imported on use).

Argument order everywhere: data first, base point or reference last
(``spd_log(P, base)``, ``spd_exp(V, base)``); tuning arguments are
keyword-only.
"""

from .._core.deprecation import renamed_attributes
from ._barycenter import Barycenter, fixed_support_barycenter, free_support_barycenter
from ._cost_transport import solve_transport
from ._diagnostics import (
    ManifoldDiagnostics,
    knn_hausdorff,
    knn_overlap,
    manifold_diagnostics,
    modality_gap,
)
from ._divergences import stein_divergence, von_neumann_divergence
from ._entropic import entropic_transport, sinkhorn_divergence
from ._gaussian import GaussianMap, empirical_gaussian_map, gaussian_map, gaussian_wasserstein
from ._label_scores import LabelScores, label_scores
from ._local import (
    LocalAlignment,
    covariance,
    knn_indices,
    local_alignment,
    local_covariances,
)
from ._mmd import MMDTest, median_bandwidth, mmd2, mmd2_test
from ._sliced import sliced_transport
from ._spd import spd_distance, spd_exp, spd_geodesic, spd_log
from ._spd_mean import SPDMean, spd_mean
from ._spd_tangent import spd_from_tangent, spd_inner, spd_to_tangent, spd_transport
from ._transport import TransportResult, cost_matrix, exact_transport

__all__ = [
    "Barycenter",
    "GaussianMap",
    "LabelScores",
    "LocalAlignment",
    "MMDTest",
    "ManifoldDiagnostics",
    "SPDMean",
    "TransportResult",
    "cost_matrix",
    "covariance",
    "empirical_gaussian_map",
    "entropic_transport",
    "exact_transport",
    "fixed_support_barycenter",
    "free_support_barycenter",
    "gaussian_map",
    "gaussian_wasserstein",
    "knn_hausdorff",
    "knn_indices",
    "knn_overlap",
    "label_scores",
    "local_alignment",
    "local_covariances",
    "manifold_diagnostics",
    "median_bandwidth",
    "mmd2",
    "mmd2_test",
    "modality_gap",
    "sinkhorn_divergence",
    "sliced_transport",
    "solve_transport",
    "spd_distance",
    "spd_exp",
    "spd_from_tangent",
    "spd_geodesic",
    "spd_inner",
    "spd_log",
    "spd_mean",
    "spd_to_tangent",
    "spd_transport",
    "stein_divergence",
    "von_neumann_divergence",
]

#: Old names kept for one release (sheaftopo._core.deprecation): old -> (new, why).
__getattr__ = renamed_attributes(
    __name__,
    globals(),
    {
        "sliced_wasserstein": (
            "sliced_transport",
            "it differs from sheaftopo.persistence.sliced_wasserstein, a diagram distance",
        )
    },
)
