"""sheaftopo: topology and algebra for multimodal embedding alignment.

Subpackages (imported on first access, so ``import sheaftopo`` stays light):

``sheaftopo.persistence``
    Minimum spanning trees, 0-dimensional persistence, sparsification bounds,
    diagram distances.
``sheaftopo.sheaf``
    Cellular sheaves on graphs: Laplacians, cohomology, diffusion, learned maps.
``sheaftopo.fiber``
    Polynomial-ring encodings, approximate fiber products, shared subspaces.
``sheaftopo.geometry``
    Optimal transport, SPD geometry, manifold diagnostics.
``sheaftopo.verify``
    Numerical verification of your own statements: instance families,
    worst-ratio checks, adversarial search, shrunk counterexamples.

``sheaftopo.torch`` (differentiable losses, SheafAlign) needs PyTorch and is
imported explicitly, never through this module.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_SUBPACKAGES = ("persistence", "sheaf", "fiber", "geometry", "verify")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
