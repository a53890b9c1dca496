"""The on-device H0 selection (used off the CPU) equals the CPU path's, pair for pair.

The device path is plain torch, so it runs here on CPU tensors; on a CUDA
device (when one is present) the loss must equal the CPU loss.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.torch import topological_alignment_loss
from sheaftopo.torch._device_selection import device_h0_segments
from sheaftopo.torch._tomclip import _persistence_values

CASES = [
    (lam, conv, metric)
    for lam in (None, 0.5, 0.0, -1.0, 3.0)
    for conv in ("exact", "tomclip")
    for metric in ("euclidean", "cosine")
]


def _sorted_segments(w: torch.Tensor, off: np.ndarray) -> list[torch.Tensor]:
    return [torch.sort(w[i:j]).values for i, j in itertools.pairwise(off)]


@pytest.mark.parametrize(("lam", "convention", "metric"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_device_path_equals_cpu_path(lam, convention, metric, dtype):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 40, 6, generator=g, dtype=dtype)
    z[1] *= 1e-3
    z[2, 5] = z[2, 9]  # a duplicate point
    z = z.requires_grad_()
    a, off_a = device_h0_segments(z, lam, convention, metric)
    b, off_b = _persistence_values(z, 0, lam, convention, metric, "z")
    assert np.array_equal(off_a, off_b)
    for x, y in zip(_sorted_segments(a, off_a), _sorted_segments(b, off_b), strict=True):
        assert torch.equal(x, y)
    (ga,) = torch.autograd.grad(a.square().sum(), z)
    (gb,) = torch.autograd.grad(b.square().sum(), z)
    # the pairs come in another order, so float32 sums round differently
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12}
    assert torch.allclose(ga, gb, **tol)


@settings(max_examples=30, deadline=None)
@given(
    B=st.integers(1, 3),
    n=st.integers(2, 12),
    d=st.integers(1, 4),
    lattice=st.booleans(),
    lam=st.sampled_from([None, 0.5, 0.0]),
    convention=st.sampled_from(["exact", "tomclip"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_device_path_on_ties(B, n, d, lattice, lam, convention, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (B, n, d)) if lattice else rng.standard_normal((B, n, d))
    z = torch.tensor(x, dtype=torch.float64)
    a, off_a = device_h0_segments(z, lam, convention, "euclidean")
    b, off_b = _persistence_values(z, 0, lam, convention, "euclidean", "z")
    assert np.array_equal(off_a, off_b)
    for u, v in zip(_sorted_segments(a, off_a), _sorted_segments(b, off_b), strict=True):
        assert torch.allclose(u, v, rtol=0, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("convention", ["exact", "tomclip"])
def test_loss_on_cuda_equals_cpu(convention):
    g = torch.Generator().manual_seed(1)
    zt = torch.randn(3, 64, 16, generator=g, dtype=torch.float64)
    zs = zt + 0.1 * torch.randn(3, 64, 16, generator=g, dtype=torch.float64)
    cpu = topological_alignment_loss(zs, zt, convention=convention)
    dev = topological_alignment_loss(zs.cuda(), zt.cuda(), convention=convention)
    assert dev.device.type == "cuda"
    assert torch.allclose(dev.cpu(), cpu, rtol=1e-10)
