"""The shared lower layer: what several subpackages use, and nothing else.

Modules here hold the pieces that more than one subpackage needs (MST edge
selection and finishing, pair screening, rounding guards, numba kernel loading,
Dask plumbing, canonical correlations). A subpackage imports another
subpackage only through its public names (``from sheaftopo.persistence import
mst``); what it needs below that line lives here, under a public name in a
module of its own, so the contract is declared in one place.

This package imports nothing at import time; import the module you need
(``from sheaftopo._core.kernels import kernel_loader``). See
``docs/architecture.md`` for the layers and what each may import.
"""
