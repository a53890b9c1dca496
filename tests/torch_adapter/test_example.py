"""The distillation example trains: its loss goes down and its metrics are sane."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tomclip_distillation.py"


def load_example():
    spec = importlib.util.spec_from_file_location("tomclip_distillation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_training_lowers_the_loss_with_and_without_topology():
    ex = load_example()
    for topological in (False, True):
        r = ex.run(topological=topological, epochs=4)
        assert r.losses[-1] < 0.7 * r.losses[0]
        assert r.mse_losses[-1] < r.mse_losses[0]
        assert math.isfinite(r.heldout_sw) and r.heldout_sw > 0
        assert 0.0 <= r.heldout_recall1 <= 1.0
        # far better than chance (1 / 500) after a few epochs
        assert r.heldout_recall1 > 0.2
