"""``import sheaftopo.fiber`` stays light: numba kernels, scipy and sympy load on first use."""

from __future__ import annotations

import subprocess
import sys


def test_import_fiber_defers_kernels_scipy_and_sympy():
    code = "import sys, sheaftopo.fiber; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(out.stdout.split())
    heavy = (
        "numba",
        "scipy",
        "sympy",
        "sklearn",
        "threadpoolctl",
        "sheaftopo._core.fiber_kernels",
    )
    assert not [m for m in heavy if m in mods]


def test_public_functions_have_runnable_examples_and_classes_docstrings():
    import inspect

    import sheaftopo.fiber as fiber

    assert len(fiber.__all__) == len(set(fiber.__all__))
    for name in fiber.__all__:
        obj = getattr(fiber, name)
        if inspect.isfunction(obj):
            assert obj.__doc__ and "Examples" in obj.__doc__ and ">>>" in obj.__doc__, name
        elif inspect.isclass(obj):
            assert obj.__doc__ and "Attributes" in obj.__doc__, name
