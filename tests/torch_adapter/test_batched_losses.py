"""Stacked (B, n, d) calls of the ToMCLIP term, and the kernels behind the fast H0 path.

A stack is one selection call for all batches; each of its B losses must equal
the loss of its batch alone, value and gradient, bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sheaftopo.torch import sliced_wasserstein, topological_alignment_loss
from sheaftopo.torch._persistence import _selection_matrices
from sheaftopo.torch._sliced import _compare, _compare_segments

CONFIGS = [
    {},
    {"lam": None},
    {"convention": "tomclip"},
    {"kind": "point_cloud"},
    {"convention": "tomclip", "kind": "point_cloud", "lam": 0.0},
    {"dim": 1, "kind": "point_cloud"},
    {"metric": "cosine"},
    {"seed": 3, "p": 2.5},
]


def _stack(seed: int, B: int, n: int, d: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    zt = torch.randn(B, n, d, generator=g, dtype=dtype)
    zs = (zt + 0.2 * torch.randn(B, n, d, generator=g, dtype=dtype)).requires_grad_()
    return zs, zt


@pytest.mark.parametrize("kw", CONFIGS, ids=[str(k) for k in CONFIGS])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stack_equals_each_batch_alone(kw, dtype):
    zs, zt = _stack(0, 5, 40, 6, dtype)
    out = topological_alignment_loss(zs, zt, **kw)
    assert out.shape == (5,) and out.dtype == dtype
    alone = torch.stack([topological_alignment_loss(zs[b], zt[b], **kw) for b in range(5)])
    assert torch.equal(out, alone)
    (g_stack,) = torch.autograd.grad(out.sum(), zs)
    (g_alone,) = torch.autograd.grad(alone.sum(), zs)
    assert torch.equal(g_stack, g_alone)


def test_stack_of_one_and_identical_stacks():
    zs, zt = _stack(1, 1, 30, 4, torch.float64)
    assert topological_alignment_loss(zs, zt).shape == (1,)
    assert torch.equal(
        topological_alignment_loss(zs, zt)[0], topological_alignment_loss(zs[0], zt[0])
    )
    assert torch.equal(topological_alignment_loss(zt, zt), torch.zeros(1, dtype=torch.float64))


@pytest.mark.parametrize(
    ("zs", "zt", "match"),
    [
        (torch.zeros(2, 5, 3), torch.zeros(3, 5, 3), "same number of batches"),
        (torch.zeros(2, 5, 3), torch.zeros(5, 3), "same number of batches"),
        (torch.zeros(2, 5, 3), torch.zeros(2, 6, 3), "same number of rows"),
        (torch.zeros(0, 5, 3), torch.zeros(0, 5, 3), "at least one batch"),
        (torch.zeros(2, 1, 3), torch.zeros(2, 1, 3), "at least 2 embeddings"),
        (torch.zeros(2, 5, 0), torch.zeros(2, 5, 0), "at least one feature"),
        (torch.zeros(1, 2, 5, 3), torch.zeros(1, 2, 5, 3), "2-D or 3-D"),
    ],
)
def test_stack_shapes_are_checked(zs, zt, match):
    with pytest.raises(ValueError, match=match):
        topological_alignment_loss(zs, zt)


def test_stack_with_nan_names_the_argument():
    zs, zt = _stack(2, 3, 10, 2, torch.float64)
    bad = zt.clone()
    bad[2, 4, 1] = float("nan")
    with pytest.raises(ValueError, match=r"z_teacher must be finite.*\(2, 4, 1\)"):
        topological_alignment_loss(zs, bad)


def test_stack_input_not_modified_readonly_and_strided():
    base = torch.randn(3, 20, 8, dtype=torch.float64)
    zt = base[:, :, ::2]  # non-contiguous
    arr = np.random.default_rng(0).standard_normal((3, 20, 4))
    arr.setflags(write=False)
    with warnings.catch_warnings():  # torch warns (once a process) about a read-only array
        warnings.simplefilter("ignore", UserWarning)
        zs = torch.as_tensor(arr)
    before = zt.clone()
    out = topological_alignment_loss(zs, zt)
    assert torch.equal(zt, before) and out.shape == (3,)
    alone = torch.stack([topological_alignment_loss(zs[b], zt[b].contiguous()) for b in range(3)])
    assert torch.equal(out, alone)


def test_stack_at_extreme_magnitudes_is_scale_equivariant():
    zs, zt = _stack(4, 3, 25, 3, torch.float64)
    zs, zt = zs.detach(), zt.detach()
    scales = torch.tensor([1e-300, 1.0, 1e300], dtype=torch.float64)[:, None, None]
    out = topological_alignment_loss(zs * scales, zt * scales)
    unit = topological_alignment_loss(zs, zt)
    assert torch.isfinite(out).all()
    assert torch.allclose(out / scales[:, 0, 0], unit, rtol=1e-12)


def test_selection_matrices_symmetric_exact_near_duplicates():
    g = torch.Generator().manual_seed(5)
    z = torch.randn(2, 60, 9, generator=g)
    z[0, 7] = z[0, 3]  # a duplicate
    z[1, 11] = z[1, 2] + 1e-6  # a near duplicate (the Gram identity cancels there)
    D = _selection_matrices(z, "euclidean")
    assert D.dtype == np.float64 and D.shape == (2, 60, 60)
    assert np.array_equal(D, D.transpose(0, 2, 1))
    assert (np.diagonal(D, axis1=1, axis2=2) == 0).all()
    assert D[0, 7, 3] == 0.0
    exact = np.linalg.norm(z[1, 11].double().numpy() - z[1, 2].double().numpy())
    assert abs(D[1, 11, 2] - exact) <= 1e-12 * exact
    ref = torch.cdist(z.double(), z.double(), compute_mode="donot_use_mm_for_euclid_dist")
    assert np.allclose(D, ref.numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=4),
    p=st.sampled_from([1.0, 2.0, 3.5]),
    ties=st.booleans(),
    data=st.data(),
)
def test_h0_sliced_wasserstein_kernel_equals_the_general_function(sizes, p, ties, data):
    # value and gradient of the merge kernel against the per-direction formula
    sizes = [(a, b) for a, b in sizes if a + b > 0] or [(1, 1)]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))

    def values(k: int) -> torch.Tensor:
        v = rng.integers(0, 3, k).astype(float) if ties else rng.random(k)
        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    a = [values(k) for k, _ in sizes]
    b = [values(k) for _, k in sizes]
    off_a = np.concatenate([[0], np.cumsum([len(x) for x in a])]).astype(np.int64)
    off_b = np.concatenate([[0], np.cumsum([len(x) for x in b])]).astype(np.int64)
    sw = {"n_directions": 20, "seed": None, "directions": None, "kind": "diagram", "p": p}
    out = _compare_segments(torch.cat(a), off_a, torch.cat(b), off_b, 0, **sw)
    for s, (x, y) in enumerate(zip(a, b, strict=True)):
        d1 = torch.stack([torch.zeros_like(x), x], 1)
        d2 = torch.stack([torch.zeros_like(y), y], 1)
        ref = sliced_wasserstein(d1, d2, n_directions=20, p=p)
        assert abs(float(out[s]) - float(ref)) <= 1e-12 * max(1.0, float(ref))
        if not ties:  # a sort's gradient at ties is a choice of subgradient
            got = torch.autograd.grad(out[s], [x, y], retain_graph=True, allow_unused=True)
            want = torch.autograd.grad(ref, [x, y], allow_unused=True)
            for u, v in zip(got, want, strict=True):
                if u is not None and v is not None:
                    assert torch.allclose(u, v, atol=1e-12)


def test_h0_kernel_extreme_and_single():
    for scale in (1e-300, 1e300, 1.7e308):
        a = torch.tensor([0.5, 1.0], dtype=torch.float64) * scale
        b = torch.tensor([0.25], dtype=torch.float64) * scale
        got = _compare(a, b, 0, n_directions=10, seed=None, directions=None, kind="diagram", p=2)
        d1 = torch.stack([torch.zeros_like(a), a], 1) / scale
        d2 = torch.stack([torch.zeros_like(b), b], 1) / scale
        ref = float(sliced_wasserstein(d1, d2, n_directions=10, p=2)) * scale
        assert np.isfinite(float(got)) and abs(float(got) - ref) <= 1e-12 * ref
