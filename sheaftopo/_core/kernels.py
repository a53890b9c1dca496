"""Lazy loading of numba kernel modules.

Compiling (or loading from cache) a module of ``@njit`` kernels costs tens to
hundreds of milliseconds, so no wrapper module imports its kernels at import
time: ``import sheaftopo`` stays light and a user who never calls an MST never
pays for numba. Every wrapper that needs kernels holds one loader made here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

__all__ = ["kernel_loader"]


def kernel_loader(module: str) -> Callable[[], ModuleType]:
    """A function that imports the kernel module ``module`` on its first call.

    Parameters
    ----------
    module : str
        Absolute dotted name of the module of numba kernels, e.g.
        ``"sheaftopo._core.mst_kernels"``.

    Returns
    -------
    load : callable () -> module
        Returns the imported module; the import happens once (Python's module
        cache keeps it), later calls are a dictionary lookup.

    Examples
    --------
    >>> from sheaftopo._core.kernels import kernel_loader
    >>> load = kernel_loader("math")
    >>> load().sqrt(4.0)
    2.0
    """
    if not isinstance(module, str) or not module:
        raise TypeError(f"module must be a non-empty dotted module name, got {module!r}")

    def load() -> ModuleType:
        return importlib.import_module(module)

    load.__name__ = "load_kernels"
    load.__qualname__ = "load_kernels"
    load.__doc__ = f"Import and return the kernel module ``{module}``."
    return load
