r"""Approximate fiber products of embeddings, polynomial-ring encodings, shared subspaces.

After Zhao, "Approximate Fiber Product: A Preliminary Algebraic-Geometric
Perspective on Multimodal Embedding Alignment" (arXiv:2412.00373): images are
polynomials over :math:`\mathbb{Z}_{256}[x]`, texts polynomials over
:math:`\mathbb{Z}_{|V|}[x]`; embeddings f, g send both into a shared space Z,
and the approximate fiber product
:math:`\{(P, Q) : \|f(P) - g(Q)\| \le \varepsilon\}` collects the pairs they
align.

Polynomial rings (``_polynomial``, ``_encodings``, ``_poly_embeddings``)
    :func:`encode_image`, :func:`encode_tokens`; batched ring arithmetic
    :func:`poly_add`, :func:`poly_sub`, :func:`poly_mul`, :func:`poly_eval`,
    :func:`poly_reduce`, :func:`poly_degree`, :func:`is_unit`,
    :func:`unit_inverse`; Lipschitz embeddings into a real space
    (:class:`PolynomialEmbedding`, :func:`evaluation_embedding`,
    :func:`projection_embedding`, :func:`poly_distance`).
Fiber products (``_product``)
    :func:`approximate_fiber_product` (exact pair sets, KD-tree or blocked
    BLAS + numba), :func:`fiber_profile` (sizes over a grid of ε in one pass,
    recall, ε*), :func:`epsilon_star`.
Random baselines (``_bounds``)
    :func:`random_pair_fraction` and :func:`fraction_deviation`: the fraction
    of unrelated pairs within ε and its concentration in high dimension.
Shared subspaces (``_subspaces``, ``_principal_angles``, ``_planted``)
    :func:`subspace_decomposition` (Z = Z_s ⊕ Z_I ⊕ Z_T via canonical
    correlations), :func:`principal_angles`, and the planted generator
    :func:`make_planted_subspaces`.

numba kernels are compiled (and cached on disk) on first use, not at import.
"""

from ._bounds import RandomPairFraction, fraction_deviation, random_pair_fraction
from ._encodings import encode_image, encode_tokens
from ._planted import PlantedSubspaces, make_planted_subspaces
from ._poly_embeddings import (
    PolynomialEmbedding,
    evaluation_embedding,
    poly_distance,
    projection_embedding,
)
from ._polynomial import (
    MAX_MODULUS,
    is_unit,
    poly_add,
    poly_degree,
    poly_eval,
    poly_mul,
    poly_reduce,
    poly_sub,
    unit_inverse,
)
from ._principal_angles import principal_angles
from ._product import (
    FiberProduct,
    FiberProfile,
    approximate_fiber_product,
    epsilon_star,
    fiber_profile,
)
from ._subspaces import ModalitySubspaces, SubspaceDecomposition, subspace_decomposition

__all__ = [
    "MAX_MODULUS",
    "FiberProduct",
    "FiberProfile",
    "ModalitySubspaces",
    "PlantedSubspaces",
    "PolynomialEmbedding",
    "RandomPairFraction",
    "SubspaceDecomposition",
    "approximate_fiber_product",
    "encode_image",
    "encode_tokens",
    "epsilon_star",
    "evaluation_embedding",
    "fiber_profile",
    "fraction_deviation",
    "is_unit",
    "make_planted_subspaces",
    "poly_add",
    "poly_degree",
    "poly_distance",
    "poly_eval",
    "poly_mul",
    "poly_reduce",
    "poly_sub",
    "principal_angles",
    "projection_embedding",
    "random_pair_fraction",
    "subspace_decomposition",
    "unit_inverse",
]
