"""The torch adapter: differentiable losses over sheaftopo's kernels.

Import it explicitly (``import sheaftopo.torch``); it needs PyTorch, installed
with the ``torch`` extra (``pip install torch==2.13.0`` first where a CPU
build matters, then ``pip install "sheaftopo[torch]"``).

Functions follow ``torch.nn.functional``: tensors in, tensors out on the
input's device and dtype. Combinatorial choices that are not differentiated
(which edges form a minimum spanning tree, which pairs survive ToMCLIP's
sparsification) are made by numba kernels on a detached CPU copy for CPU
tensors; on another device the H0 term of :func:`topological_alignment_loss`
chooses its pairs there (a Borůvka tree in torch, no host copy), while the
other functions still copy the batch to the host for the choice, the one step
that leaves the GPU. Every differentiated value is computed on the input's
device. Module wrappers in :mod:`sheaftopo.torch` hold settings for training
loops; :func:`threads_on_free_cores` fits a training step's torch threads to
a busy machine.

Inputs are float32 or float64 tensors: numpy arrays, integer, boolean,
complex and half-precision (float16, bfloat16) tensors are refused with a
``TypeError`` naming the argument (cast with ``.float()``), NaN and inf with a
``ValueError``. Quantities homogeneous in the coordinates (distances, costs,
deaths, energies, matrix functions) are computed on the input divided by a
power of two and scaled back, exactly, so magnitudes from 1e-300 to 1e300
work in float64; a value or gradient that does not fit the dtype raises a
``ValueError`` naming the argument instead of returning inf or NaN.
"""

from __future__ import annotations

from .._core.deprecation import renamed_attributes

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "sheaftopo.torch needs PyTorch: install it with `pip install torch` (on CPU-only "
        'machines `pip install torch==2.13.0`) or `pip install "sheaftopo[torch]"`'
    ) from exc

from ._contrastive import info_nce
from ._distances import pairwise_distances
from ._local import local_alignment_loss
from ._modules import (
    InfoNCELoss,
    SheafConsistencyLoss,
    ToMCLIPLoss,
    TopologicalAlignmentLoss,
)
from ._persistence import finite_h0_diagram, sparsified_h1_births
from ._sheaf import (
    laplacian_tensor,
    sheaf_consistency_loss,
    sheaf_energy,
    sheaf_reconstruction_loss,
)
from ._sliced import sliced_wasserstein
from ._spd import expm, invsqrtm, logm, spd_distance, sqrtm, stein_divergence
from ._threading import threads_on_free_cores
from ._tomclip import (
    ToMCLIPTerms,
    distance_matrix_loss,
    tomclip_loss,
    tomclip_loss_terms,
    topological_alignment_loss,
)
from ._transport import sinkhorn_divergence, transport_loss

__all__ = [
    "InfoNCELoss",
    "SheafConsistencyLoss",
    "ToMCLIPLoss",
    "ToMCLIPTerms",
    "TopologicalAlignmentLoss",
    "distance_matrix_loss",
    "expm",
    "finite_h0_diagram",
    "info_nce",
    "invsqrtm",
    "laplacian_tensor",
    "local_alignment_loss",
    "logm",
    "pairwise_distances",
    "sheaf_consistency_loss",
    "sheaf_energy",
    "sheaf_reconstruction_loss",
    "sinkhorn_divergence",
    "sliced_wasserstein",
    "sparsified_h1_births",
    "spd_distance",
    "sqrtm",
    "stein_divergence",
    "threads_on_free_cores",
    "tomclip_loss",
    "tomclip_loss_terms",
    "topological_alignment_loss",
    "transport_loss",
]

#: Old names kept for one release (sheaftopo._core.deprecation): old -> (new, why).
__getattr__ = renamed_attributes(
    __name__,
    globals(),
    {
        "h0_diagram": (
            "finite_h0_diagram",
            "it differs from sheaftopo.persistence.h0_diagram: finite rows only, and lam",
        ),
        "h1_births": (
            "sparsified_h1_births",
            "it differs from sheaftopo.persistence.h1_births, which takes a graph",
        ),
    },
)
