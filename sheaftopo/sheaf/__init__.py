"""Cellular sheaves on graphs: structure, Laplacians, cohomology, diffusion, spectra.

numba assembly kernels compile (and cache on disk) on first use, not at import.
"""

from ._cohomology import (
    CohomologyDimensions,
    cohomology_dimensions,
    global_sections,
    harmonic_extension,
    project_to_sections,
)
from ._diffusion import diffuse, diffusion_steps
from ._layouts import SheafLayout
from ._learn import RestrictionFit, fit_restriction_maps, learn_sheaf
from ._operators import coboundary, dirichlet_energy, edge_laplacian, laplacian, vertex_blocks
from ._sheaf import CellularSheaf
from ._solvers import NotConvergedError
from ._spectrum import SheafSpectrum, spectrum

__all__ = [
    "CellularSheaf",
    "CohomologyDimensions",
    "NotConvergedError",
    "RestrictionFit",
    "SheafLayout",
    "SheafSpectrum",
    "coboundary",
    "cohomology_dimensions",
    "diffuse",
    "diffusion_steps",
    "dirichlet_energy",
    "edge_laplacian",
    "fit_restriction_maps",
    "global_sections",
    "harmonic_extension",
    "laplacian",
    "learn_sheaf",
    "project_to_sections",
    "spectrum",
    "vertex_blocks",
]
