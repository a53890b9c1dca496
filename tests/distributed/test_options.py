"""The one ``options=`` argument of the Dask entry points, and the deprecated keywords."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

pytest.importorskip("dask.array")
pytest.importorskip("pyarrow")

import sheaftopo.distributed as dist
from sheaftopo._core.dask import DaskOptions as CoreOptions
from sheaftopo.distributed import DaskOptions
from sheaftopo.fiber import fiber_profile

RNG = np.random.default_rng(3)
F = RNG.standard_normal((30, 3))
G = F + 0.1 * RNG.standard_normal((30, 3))
GRID = [0.1, 0.5, 2.0]

#: every entry point, called with its data and the given Dask keywords
CALLS = {
    "mst_dask": lambda tmp, **kw: dist.mst_dask(F, **kw).weights,
    "h0_diagram_dask": lambda tmp, **kw: dist.h0_diagram_dask(F, **kw),
    "fiber_product_dask": lambda tmp, **kw: dist.fiber_product_dask(F, G, 0.5, **kw).distances,
    "write_fiber_product_dask": lambda tmp, **kw: (
        dist.write_fiber_product_dask(F, G, 0.5, tmp / str(len(list(tmp.iterdir()))), **kw).n_pairs
    ),
    "fiber_profile_dask": lambda tmp, **kw: (
        dist.fiber_profile_dask(F, G, GRID, true_pairs="diagonal", **kw).counts
    ),
    "true_distances_dask": lambda tmp, **kw: dist.true_distances_dask(F, G, "diagonal", **kw),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_old_keywords_warn_and_give_the_same_result(name, tmp_path):
    call = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = call(tmp_path, options=DaskOptions(block_rows=7, memory_budget=1 << 24))
    match = rf"{name}: .*block_rows.*removed in sheaftopo 0\.3"
    with pytest.warns(DeprecationWarning, match=match):
        old = call(tmp_path, block_rows=7, memory_budget=1 << 24)
    assert np.asarray(old).tobytes() == np.asarray(new).tobytes()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_options_default_and_mistakes(name, tmp_path):
    call = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        call(tmp_path)  # no options: DaskOptions()
    with pytest.raises(TypeError, match="unexpected keyword argument 'blocks'"):
        call(tmp_path, blocks=3)
    with pytest.raises(TypeError, match="not both"):
        call(tmp_path, options=DaskOptions(), block_rows=3)
    with pytest.raises(TypeError, match=r"options must be a sheaftopo\.distributed\.DaskOptions"):
        call(tmp_path, options={"block_rows": 3})


def test_bad_fields_are_named_as_before():
    with pytest.raises(ValueError, match="block_rows"):
        dist.mst_dask(F, options=DaskOptions(block_rows=0))
    with pytest.raises(TypeError, match="memory_budget"):
        dist.fiber_profile_dask(F, G, GRID, options=DaskOptions(memory_budget=1.5e6))
    with pytest.raises(ValueError, match="timeout"):
        dist.true_distances_dask(F, G, "diagonal", options=DaskOptions(timeout=0))
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="block_rows"):
        dist.mst_dask(F, block_rows=0)


def test_one_class_and_its_helpers():
    assert DaskOptions is CoreOptions
    assert "DaskOptions" in dist.__all__ and "true_distances_dask" in dist.__all__
    opts = DaskOptions(client="tcp://scheduler:8786", block_rows=64, progress=True)
    kw = opts.kwargs(None)
    assert kw == {"options": dataclasses.replace(opts, client=None)}
    assert opts.describe(None) == "Dask scheduler at tcp://scheduler:8786"
    assert opts.validated() is opts
    with pytest.raises(ValueError, match="block_rows"):
        DaskOptions(block_rows=0).validated()


def test_true_distances_dask_is_the_profiles():
    ref = fiber_profile(F, G, GRID, true_pairs="diagonal", metric="cosine")
    got = dist.true_distances_dask(
        F, G, "diagonal", metric="cosine", options=DaskOptions(block_rows=8)
    )
    assert got.tobytes() == ref.true_distances.tobytes()
