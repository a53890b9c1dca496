"""threads_on_free_cores: torch's count lowered to the free cores in the block, then restored."""

from __future__ import annotations

import pytest
import torch

from sheaftopo._core import threads
from sheaftopo.torch import threads_on_free_cores, topological_alignment_loss


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_lowered_inside_restored_after(monkeypatch, two_threads):
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with threads_on_free_cores():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_never_raised_and_restored_on_error(monkeypatch, two_threads):
    monkeypatch.setattr(threads, "free_cores", lambda: 64)
    with threads_on_free_cores():
        assert torch.get_num_threads() == 2
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with pytest.raises(ValueError), threads_on_free_cores():
        topological_alignment_loss(torch.zeros(3, 2), torch.zeros(4, 2))
    assert torch.get_num_threads() == 2


def test_same_loss_inside(monkeypatch, two_threads):
    g = torch.Generator().manual_seed(0)
    zt = torch.randn(40, 6, generator=g, dtype=torch.float64)
    zs = zt + 0.1 * torch.randn(40, 6, generator=g, dtype=torch.float64)
    outside = topological_alignment_loss(zs, zt)
    monkeypatch.setattr(threads, "free_cores", lambda: 1)
    with threads_on_free_cores():
        inside = topological_alignment_loss(zs, zt)
    assert torch.allclose(inside, outside, rtol=1e-12)
