"""The paired sets of tests/conftest.py (``paired``), written to files."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def paired_files(tmp_path, paired):
    A, B, labels = paired
    fa, fb, fl = tmp_path / "image.npy", tmp_path / "text.npy", tmp_path / "labels.npy"
    np.save(fa, A)
    np.save(fb, B)
    np.save(fl, labels)
    return fa, fb, fl
