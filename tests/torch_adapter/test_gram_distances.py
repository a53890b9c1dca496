"""The CPU distance matrix from one Gram product: accuracy, exact symmetry, gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.torch import pairwise_distances


def _reference(z: torch.Tensor) -> torch.Tensor:
    z64 = z.detach().double()
    D = torch.cdist(z64, z64, compute_mode="donot_use_mm_for_euclid_dist")
    return D - torch.diag_embed(torch.diagonal(D))


def _cloud(seed: int, n: int = 60, d: int = 7, dtype=torch.float64) -> torch.Tensor:
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    z[3] = z[8]  # a duplicate
    z[11] = z[2] + 1e-5  # a near pair: the Gram identity cancels there
    z[20] = z[21] + 1e-2
    return z


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_entries_accurate_and_exactly_symmetric(dtype):
    z = _cloud(0, dtype=dtype)
    D = pairwise_distances(z)
    assert D.dtype == dtype and torch.equal(D, D.T) and (torch.diagonal(D) == 0).all()
    ref = _reference(z)
    eps = torch.finfo(dtype).eps
    rel = ((D.double() - ref).abs() / ref.clamp_min(1e-300)).max()
    assert rel <= 64 * eps
    assert D[3, 8] == 0.0


def test_gradcheck_with_near_pairs():
    z = _cloud(1, n=25, d=4).requires_grad_()
    with torch.no_grad():
        z[7] = z[9] + 1e-4  # near, not coincident: the backward's exact branch
    assert torch.autograd.gradcheck(pairwise_distances, (z,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_equals_difference_formula(dtype):
    z = _cloud(2, dtype=dtype).requires_grad_()
    g = torch.randn(60, 60, generator=torch.Generator().manual_seed(3), dtype=dtype)
    (ours,) = torch.autograd.grad((pairwise_distances(z) * g).sum(), z)
    z64 = z.detach().double().requires_grad_()
    (ref,) = torch.autograd.grad((_reference_diff(z64) * g.double()).sum(), z64)
    scale = ref.abs().max()
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert ((ours.double() - ref).abs() <= tol * scale).all()
    assert torch.isfinite(ours).all() and (ours[3] == ours[3]).all()


def _reference_diff(z: torch.Tensor) -> torch.Tensor:
    diff = z[:, None, :] - z[None, :, :]
    sq = diff.square().sum(-1)
    safe = torch.where(sq > 0, sq, torch.ones_like(sq))
    return torch.where(sq > 0, safe.sqrt(), torch.zeros_like(sq))


@pytest.mark.parametrize("k", [-990, -100, 0, 100, 990])
def test_extreme_magnitudes_scale_exactly(k):
    # a power-of-two scale is exact: the distances scale bit for bit, 1e-298 to 1e298
    z = _cloud(4)
    D = pairwise_distances(z * 2.0**k)
    assert torch.isfinite(D).all()
    assert torch.equal(D, pairwise_distances(z) * 2.0**k)


def test_input_not_modified_strided_readonly():
    base = torch.randn(30, 10, dtype=torch.float64)
    z = base[:, ::2]
    before = z.clone()
    arr = z.numpy().copy()
    arr.setflags(write=False)
    with warnings.catch_warnings():  # torch warns (once a process) about a read-only array
        warnings.simplefilter("ignore", UserWarning)
        zr = torch.as_tensor(arr)
    assert torch.equal(pairwise_distances(z), pairwise_distances(zr))
    assert torch.equal(z, before)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    d=st.integers(1, 5),
    lattice=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_matches_difference_formula(n, d, lattice, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (n, d)) if lattice else rng.standard_normal((n, d))
    z = torch.tensor(x, dtype=torch.float64)
    D = pairwise_distances(z)
    assert torch.equal(D, D.T)
    assert torch.allclose(D, _reference(z), rtol=1e-14, atol=0)
