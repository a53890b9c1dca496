"""``import sheaftopo`` stays light: no torch, gudhi, POT or numba kernels at import."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "torch", "gudhi", "ot", "numba", "sheaftopo._core.mst_kernels",
    "sheaftopo._core.fiber_kernels", "dask",
)


def _modules_after(stmt: str) -> set[str]:
    code = f"import sys; {stmt}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_sheaftopo_is_light():
    mods = _modules_after("import sheaftopo")
    assert not [m for m in HEAVY if m in mods]
    assert "scipy" not in mods


def test_import_persistence_defers_kernels_and_oracles():
    mods = _modules_after("import sheaftopo.persistence")
    assert not [m for m in HEAVY if m in mods]


def test_subpackages_resolve_lazily():
    out = subprocess.run(
        [sys.executable, "-c", "import sheaftopo; print(sheaftopo.persistence.mst.__name__)"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "mst"
